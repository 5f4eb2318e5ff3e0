"""TypeScript types: a golden file for rich_schema.sql, and `tsc --noEmit --strict` on the
output for rich_schema.sql, every_case.sql and each corpus schema, with a usage file that
assigns a Row and an Insert."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nself.backends.types.common import TypeResolver
from nself.backends.types.typescript import property_key, render, render_typescript
from nself.ir import Catalog, catalog_from_json, catalog_to_json
from tests.backends.types.conftest import CorpusCatalogs, SessionDatabases, assert_golden
from tests.backends.types.toolchain import CORPUS_SCHEMAS, load_rich, tsc_path


@pytest.fixture(scope="module")
def rich(types_databases: SessionDatabases) -> Catalog:
    return load_rich(types_databases)[1]


# --------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("name", "key"),
    [("id", "id"), ("class", "class"), ("Display Name", '"Display Name"'), ("2fa", '"2fa"'), ("$x", "$x")],
)
def test_property_key(name: str, key: str) -> None:
    assert property_key(name) == key


def test_type_mapping_of_the_rich_schema(rich: Catalog) -> None:
    text = render_typescript(rich, {})
    for line in [
        "  c_bigint: string;",  # int8 as a string: a JS number loses digits past 2^53
        "  c_numeric: string | null;",
        "  c_jsonb: Json;",
        "  c_timestamptz: string | null;",
        "  c_text_array: string[];",
        "  c_composite: MoneyAmount | null;",
        '  "Display Name": string | null;',
        "  roles: Access[];",
        "  score: number | null;",  # a domain over a domain over integer
        "  email: string;",  # a NOT NULL domain
    ]:
        assert line in text
    assert 'export type Access = "read-only" | "Guest User" | "2fa_pending"' in text
    assert '  _2FA_PENDING: "2fa_pending",' in text
    # same table name in two schemas
    assert "export interface Users {" in text and "export interface AuthUsers {" in text
    assert "export interface Class {" in text and "export interface AuthClass {" in text


def test_insert_and_update_optionality(rich: Catalog) -> None:
    text = render_typescript(rich, {})
    insert = text.split("export interface UsersInsert {")[1].split("}")[0]
    update = text.split("export interface UsersUpdate {")[1].split("}")[0]
    assert "  id" not in insert and "  id" not in update  # GENERATED ALWAYS identity
    assert "  email: string;" in insert  # NOT NULL domain without default: required
    assert "  access?: Access;" in insert  # default
    assert "  score?: number | null;" in insert  # domain default
    all_types = text.split("export interface AllTypesInsert {")[1].split("}")[0]
    assert "  id?: number;" in all_types  # serial
    assert "c_doubled" not in all_types  # generated column
    assert "  c_smallint: number;" in all_types
    klass = text.split("export interface ClassInsert {")[1].split("}")[0]
    assert "  id?: number;" in klass  # identity BY DEFAULT


def test_functions(rich: Catalog) -> None:
    text = render_typescript(rich, {})
    assert "search_users:\n        { Args: { query: string; max_rows?: number; }; Returns: Users[] };" in text
    assert "| { Args: { tags: string[]; tag: number; }; Returns: string[] | null }" in text
    assert "Returns: { result: string[] | null; size: number | null; } };" in text
    assert '"Last Seen": string | null; }[]' in text
    assert "set_created" not in text  # trigger functions are not callable


def test_output_is_deterministic(rich: Catalog) -> None:
    first = render(rich, {"with_relations": True})
    again = render(catalog_from_json(catalog_to_json(rich)), {"with_relations": True})
    assert first == again


def test_golden(rich: Catalog) -> None:
    assert_golden("typescript/rich.ts", render_typescript(rich, {"with_relations": True}))


# --------------------------------------------------------------------------- tsc

USAGE = """\
import type { Database, Users, UsersInsert, AllTypesInsert, ClassWithRelations } from "./rich";
import { Access } from "./rich";

const row: Users = {
  id: "1", email: "a@b", display_name: null, "Display Name": null, access: Access.GUEST_USER,
  roles: ["read-only", "2fa_pending"], created_at: "2024-01-01T00:00:00Z", "2fa_secret": null,
  score: 1, tags: null,
};
const insert: UsersInsert = { email: "x@y" };
const allTypes: Database["public"]["Tables"]["all_types"]["Insert"] = { c_smallint: 1, c_integer: 2, c_bigint: "3" };
const same: AllTypesInsert = allTypes;
const related: ClassWithRelations = {
  id: 1, type: "t", from: null, import: true, interface: null, def: null, let: null, func: null,
  fn: null, struct: null, self: null, None: null, string: null, model_config: null, _private: null,
  teacher_id: null, users: null,
};
type Search = Database["public"]["Functions"]["search_users"];
const args: Search["Args"] = { query: "%a%" };
const result: Search["Returns"] = [row];
export { row, insert, same, related, args, result };
"""

BAD_USAGE = """\
import type { UsersInsert } from "./rich";
const insert: UsersInsert = { id: "1", email: "x@y" };
export { insert };
"""


def run_tsc(directory: Path, files: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tsc_path()), "--noEmit", "--strict", "--target", "es2020", "--moduleResolution", "node", *files],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.oracle
def test_tsc_accepts_the_rich_schema_and_its_usage(
    rich: Catalog, every_case_catalog: Catalog, tmp_path: Path
) -> None:
    tsc_path()
    (tmp_path / "rich.ts").write_text(render_typescript(rich, {"with_relations": True}))
    (tmp_path / "plain.ts").write_text(render_typescript(rich, {}))
    (tmp_path / "every_case.ts").write_text(render_typescript(every_case_catalog, {"with_relations": True}))
    (tmp_path / "usage.ts").write_text(USAGE)
    done = run_tsc(tmp_path, ["rich.ts", "plain.ts", "every_case.ts", "usage.ts"])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.oracle
def test_tsc_rejects_a_generated_identity_in_insert(rich: Catalog, tmp_path: Path) -> None:
    tsc_path()
    (tmp_path / "rich.ts").write_text(render_typescript(rich, {}))
    (tmp_path / "bad.ts").write_text(BAD_USAGE)
    done = run_tsc(tmp_path, ["rich.ts", "bad.ts"])
    assert done.returncode != 0 and "'id' does not exist in type 'UsersInsert'" in done.stdout


@pytest.mark.oracle
def test_tsc_accepts_every_corpus_schema(corpus_catalogs: CorpusCatalogs, tmp_path: Path) -> None:
    tsc_path()
    files = []
    for name in CORPUS_SCHEMAS:
        catalog = corpus_catalogs.get(name)
        for relations in (False, True):
            file = f"{name}{'_rel' if relations else ''}.ts"
            (tmp_path / file).write_text(render_typescript(catalog, {"with_relations": relations}))
            files.append(file)
    done = run_tsc(tmp_path, files)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr
    print(f"tsc --strict: {len(files)} outputs of {len(CORPUS_SCHEMAS)} corpus schemas accepted")


def test_resolver_is_shared(rich: Catalog) -> None:
    # every column type of the rich schema resolves to a known family (nothing is 'unknown')
    resolver = TypeResolver(rich)
    unknown = [
        (t.name, c.name)
        for t in rich.tables
        for c in t.columns
        if resolver.resolve(c.data_type).family == "unknown"
    ]
    assert unknown == []
