"""TypeScript types: a golden file for rich_schema.sql, and `tsc --noEmit --strict` on the
output for rich_schema.sql, every_case.sql and each corpus schema, with a usage file that
assigns Rows, Inserts and Updates (arrays with NULL elements where PostgreSQL allows them,
`@ts-expect-error` where it does not; explicit NULLs) and real rows as PostgreSQL writes
them in JSON.

Against the real clients: the usage files in clients/ (client_schema.sql, pagila,
rich_schema.sql) compiled with the real @supabase/supabase-js and kysely typings from npm:
selects, embeds, inserts, updates and rpc calls typed exactly (`never` fails `exactly<>`),
and `@ts-expect-error` lines that must fire (a generated column or an ALWAYS identity
written, a required column left out, a wrong enum label, a missing rpc argument)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from nself.backends.types import typescript
from nself.backends.types.common import StructField, TypeResolver, table_field_sets
from nself.backends.types.typescript import (
    _Renderer,
    doc_comment,
    member_line,
    property_key,
    render,
    render_typescript,
)
from nself.errors import OptionError
from nself.frontends.live import introspect
from nself.ir import Catalog, CatalogBuilder, catalog_from_json, catalog_to_json
from nself.ir.model import Column, Schema, Table
from tests.backends.types.conftest import CorpusCatalogs, SessionDatabases, assert_golden
from tests.backends.types.toolchain import CORPUS_SCHEMAS, load_rich, tsc_path
from tests.conftest import run_sql
from tests.tools import REPO, in_ci

HERE = Path(__file__).resolve().parent
CLIENTS = HERE / "clients"


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
        "  c_bigint: number;",  # PostgREST sends int8 as a JSON number (option int8)
        "  c_numeric: number | null;",
        "  c_money: string | null;",  # money is text in JSON
        "  c_jsonb: Json;",
        "  c_timestamptz: string | null;",
        "  c_text_array: PgArray<string | null>;",  # elements of any array may be NULL
        "  c_int_matrix: PgArray<number | null> | null;",  # any dimension, declared or not
        "  c_labels: PgArray<string> | null;",  # an array of a NOT NULL domain
        "  c_checked_texts: PgArray<string> | null;",  # CHECK (array_position(c, NULL) IS NULL)
        "  c_composite: MoneyAmount | null;",
        "  c_composite_array: PgArray<MoneyAmount | null> | null;",
        '  "Display Name": string | null;',
        "  roles: PgArray<Access | null>;",
        "  score: number | null;",  # a domain over a domain over integer
        "  email: string;",  # a NOT NULL domain
    ]:
        assert line in text
    assert 'export type Access = "read-only" | "Guest User" | "2fa_pending"' in text
    assert '  _2FA_PENDING: "2fa_pending",' in text
    # same table name in two schemas
    assert "export type Users = {" in text and "export type AuthUsers = {" in text
    assert "export type Class = {" in text and "export type AuthClass = {" in text
    assert "export interface" not in text  # postgrest-js needs Record<string, unknown>: aliases


def interface(text: str, name: str) -> str:
    """The body of a generated type alias."""
    return text.split(f"export type {name} = {{\n")[1].split("\n}")[0]


def test_insert_and_update_optionality(rich: Catalog) -> None:
    text = render_typescript(rich, {})
    insert = interface(text, "UsersInsert")
    update = interface(text, "UsersUpdate")
    assert "  id" not in insert and "  id" not in update  # GENERATED ALWAYS identity
    assert "  email: string;" in insert  # NOT NULL domain without default: required
    assert "  access?: Access;" in insert  # default
    assert "  score?: number | null;" in insert  # domain default
    all_types = interface(text, "AllTypesInsert")
    assert "  id?: number;" in all_types  # serial
    assert "c_doubled" not in all_types  # generated column
    assert "  c_smallint: number;" in all_types
    klass = interface(text, "ClassInsert")
    assert "  id?: number;" in klass  # identity BY DEFAULT


def test_functions(rich: Catalog) -> None:
    text = render_typescript(rich, {})
    assert (
        "search_users:\n        { Args: { query: string; max_rows?: number; }; Returns: (Users | null)[]; SetofOptions: "
        '{ from: "*"; to: "users"; isOneToOne: false; isSetofReturn: true }; };' in text
    )
    assert (
        "| { Args: { tags: PgArray<string | null>; tag: number; }; Returns: PgArray<string | null> | null; }"
        in text
    )
    assert "Returns: { result: PgArray<string | null> | null; size: number | null; }; };" in text
    assert "{ Args: { nums: PgArray<number | null>; }; Returns: number | null; };" in text
    assert '"Last Seen": string | null; }[]' in text
    assert "set_created" not in text  # trigger functions are not callable


def test_rpc_arguments_are_the_named_ones(functions_catalog: Catalog, tmp_path: Path) -> None:
    """PostgreSQL refuses a name for an unnamed argument (`arg1 => ...`), and PostgREST
    calls by name: shout(text, suffix text) cannot be called and is left out; an unnamed
    argument with a default takes it; a lone unnamed json/jsonb/text argument receives the
    request body (key "", as supabase gen types writes it)."""
    from nself.frontends.sql import compile_migrations

    text = render_typescript(functions_catalog, {})
    assert "shout" not in text and "arg1" not in text
    assert (
        "people_named:\n        { Args: { pattern: string; max_rows?: number; }; Returns: (People | null)[];"
        in text
    )
    assert "maybe_numbers:\n        { Args: { n: number; }; Returns: (number | null)[]; };" in text
    script = tmp_path / "rpc.sql"
    script.write_text(
        "CREATE FUNCTION public.echo(jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT $1 $$;\n"
        "CREATE FUNCTION public.greet(text DEFAULT 'hi', who text DEFAULT 'you') RETURNS text"
        " LANGUAGE sql AS $$ SELECT $1 || who $$;\n"
        "CREATE FUNCTION public.pair(integer, integer) RETURNS integer LANGUAGE sql AS $$ SELECT $1 + $2 $$;\n"
    )
    text = render_typescript(compile_migrations(script, None), {})
    assert 'echo:\n        { Args: { "": Json; }; Returns: Json | null; };' in text
    assert "greet:\n        { Args: { who?: string; }; Returns: string | null; };" in text
    assert "pair" not in text


def any_dims(line: str) -> str:
    """An expected line of `arrays = "declared"` as the default spells it: `(T | null)[][]`
    and `T[]` become `PgArray<T | null>` and `PgArray<T>`."""
    line = re.sub(r"\(([^()]+)\)(?:\[\])+", r"PgArray<\1>", line)
    return re.sub(r"(?<![\w<])(\w+)(?:\[\])+", r"PgArray<\1>", line)


@pytest.mark.parametrize("arrays", ["declared", "any"])
def test_array_elements_are_nullable_unless_postgresql_keeps_null_out(
    every_case_catalog: Catalog, arrays: str
) -> None:
    text = render_typescript(every_case_catalog, {"arrays": arrays})
    spell = (lambda line: line) if arrays == "declared" else any_dims
    table = interface(text, "ArrayElements")
    for line in [
        "  plain: (string | null)[] | null;",
        "  numbers: (number | null)[];",  # NOT NULL binds the array, not its elements
        "  matrix: (number | null)[][] | null;",  # a sub-array is never NULL
        "  moods: (Mood | null)[] | null;",
        "  labels: string[] | null;",  # label is a NOT NULL domain
        "  strict: string[] | null;",  # a domain whose CHECK keeps NULL out
        "  checked: number[] | null;",  # the column's CHECK does (bigint[]: JSON numbers)
    ]:
        assert spell(line) in table, table
    insert = interface(text, "ArrayElementsInsert")
    assert (
        spell("  plain?: (string | null)[] | null;") in insert
        and spell("  labels?: string[] | null;") in insert
    )
    all_types = interface(text, "AllTypes")
    for line in [
        "  c_strict_tags: string[];",
        "  c_checked_ints: number[];",
        '  "c_Checked Texts": string[] | null;',  # one operand of a top-level AND
        "  c_unchecked_ints: (number | null)[] | null;",  # under OR: promises nothing
    ]:
        assert spell(line) in all_types, all_types
    composite = interface(text, "LineItem")  # attributes: as their types say
    assert (
        spell("  moods: (Mood | null)[] | null;") in composite
        and spell("  matrix: (number | null)[][] | null;") in composite
    )


def field_set_lines(catalog: Catalog) -> list[tuple[list[str], list[str], list[str], dict[str, bool]]]:
    """The member lines of every table, spelled from common.table_field_sets."""
    renderer = _Renderer(catalog, {})
    result = []
    for table in catalog.tables:
        row, insert, update = table_field_sets(table, renderer.resolver)

        def line(f: StructField, comment: bool) -> str:
            return member_line(
                property_key(f.column),
                f.optional,
                renderer.column_type(f.data_type, f.nullable, f.element_nullable, f.ndims),
                doc_comment(f.comment) if comment else None,
            )

        result.append(
            (
                [line(f, True) for f in row],
                [line(f, False) for f in insert],
                [line(f, False) for f in update],
                {f.column: f.nullable for f in row},
            )
        )
    return result


@pytest.mark.parametrize("source", ["rich", "every_case", *CORPUS_SCHEMAS])
def test_field_lines_decide_as_table_field_sets(
    source: str, rich: Catalog, every_case_catalog: Catalog, corpus_catalogs: CorpusCatalogs
) -> None:
    """The renderer spells each distinct column once (field_lines); what it decides must
    stay what common.table_field_sets decides."""
    catalog = {"rich": rich, "every_case": every_case_catalog}.get(source) or corpus_catalogs.get(source)
    renderer = _Renderer(catalog, {})
    assert [renderer.field_lines(t) for t in catalog.tables] == field_set_lines(catalog)


def test_options_are_checked() -> None:
    assert typescript.parse_options({}).int8 == "number"  # supabase: PostgREST's JSON numbers
    assert typescript.parse_options({"flavor": "kysely"}).numeric == "string"  # node-postgres
    assert typescript.parse_options({"flavor": "kysely", "int8": "bigint"}).int8 == "bigint"
    for bad, named in [
        ({"flavor": "prisma"}, "flavor"),
        ({"int8": "float"}, "int8"),
        ({"numeric": "x"}, "numeric"),
    ]:
        with pytest.raises(OptionError, match=f"typescript option {named} = "):
            typescript.parse_options(bad)


def test_relationships_stay_within_a_schema(rich: Catalog) -> None:
    """postgrest-js looks referencedRelation up in the table's own schema (and PostgREST
    embeds only within one): auth.users' key to public.users is not listed, or it would
    name auth.users itself. Turned off with relationships = false."""
    text = render_typescript(rich, {})
    database = text.split("export type Database = {")[1]
    auth = database.split("  auth: {")[1].split("  public: {")[0]
    assert "foreignKeyName" not in auth
    assert '"class_teacher_id_fkey"' in database
    assert "foreignKeyName" not in render_typescript(rich, {"relationships": False})


def test_with_relations_keep_the_database_names(rich: Catalog) -> None:
    text = render_typescript(rich, {"with_relations": True})
    assert (
        "export type UsersWithRelations = Users & {\n  users?: AuthUsers[];\n  class?: Class[];\n};" in text
    )
    assert "export type ClassWithRelations = Class & {\n  users?: Users | null;\n};" in text


def test_views_and_helpers(rich: Catalog) -> None:
    text = render_typescript(rich, {})
    # a join and a materialized view: rows only (PostgreSQL updates neither)
    assert "user_emails: {\n        Row: UserEmails;\n        Relationships: [];" in text
    assert "UserEmailsInsert" not in text
    for helper in ["Tables<", "TablesInsert<", "TablesUpdate<", "Enums<", "CompositeTypes<"]:
        assert f"export type {helper}" in text
    assert (
        'access: ["read-only", "Guest User", "2fa_pending", "admin", "READ_ONLY", "class", "true"],' in text
    )


def test_helpers_default_to_the_first_schema_without_public() -> None:
    catalog = CatalogBuilder()
    catalog.add(Schema("Sales Dept"))
    catalog.add(Table("Sales Dept", "orders", (Column("id", "integer", not_null=True),)))
    text = render_typescript(catalog.freeze(), {})
    assert 'type DefaultSchema = DatabaseWithoutInternals[Extract<keyof Database, "Sales Dept">];' in text


def test_kysely_flavor(rich: Catalog) -> None:
    text = render_typescript(rich, {"flavor": "kysely"})
    users = text.split("export interface Users {\n")[1].split("\n}")[0]
    assert "  id: GeneratedAlways<Int8>;" in users  # bigint ALWAYS identity, a string from node-postgres
    assert "  access: Generated<Access>;" in users  # NOT NULL with a default
    assert "  created_at: Generated<Timestamp>;" in users  # Date when read
    assert "  display_name: string | null;" in users  # kysely makes it optional in inserts
    assert '  "auth.users": AuthUsers;' in text and "  users: Users;" in text
    assert "export type Database" not in text


def test_partitions_are_emitted_as_their_parent(corpus_catalogs: CorpusCatalogs) -> None:
    pagila = corpus_catalogs.get("pagila")
    assert any(t.partition_of for t in pagila.tables)
    for flavor in ("supabase", "kysely"):
        text = render_typescript(pagila, {"flavor": flavor})
        assert "payment:" in text and "payment_p2022_01" not in text
        assert "payment_p2022_01:" in render_typescript(pagila, {"flavor": flavor, "partitions": True})


def test_output_is_deterministic(rich: Catalog) -> None:
    first = render(rich, {"with_relations": True})
    again = render(catalog_from_json(catalog_to_json(rich)), {"with_relations": True})
    assert first == again


def test_golden(rich: Catalog) -> None:
    assert_golden("typescript/rich.ts", render_typescript(rich, {"with_relations": True}))
    assert_golden("typescript/rich_kysely.ts", render_typescript(rich, {"flavor": "kysely"}))
    # `arrays = "declared"`: the declared dimensions, as before arrays admitted any.
    declared = {"arrays": "declared"}
    assert_golden(
        "typescript/rich_declared.ts", render_typescript(rich, {"with_relations": True, **declared})
    )
    assert_golden(
        "typescript/rich_kysely_declared.ts", render_typescript(rich, {"flavor": "kysely", **declared})
    )


# --------------------------------------------------------------------------- tsc

USAGE = """\
import type {
  Database, Users, UsersInsert, UsersUpdate, AllTypesInsert, AllTypesUpdate, ClassWithRelations,
} from "./rich";
import { Access } from "./rich";

const row: Users = {
  id: 1, email: "a@b", display_name: null, "Display Name": null, access: Access.GUEST_USER,
  roles: ["read-only", null, "2fa_pending"], created_at: "2024-01-01T00:00:00Z", "2fa_secret": null,
  score: 1, tags: ["a", null],
};
const insert: UsersInsert = { email: "x@y" };
const allTypes: Database["public"]["Tables"]["all_types"]["Insert"] = { c_smallint: 1, c_integer: 2, c_bigint: 3 };
const same: AllTypesInsert = allTypes;
const related: ClassWithRelations = {
  id: 1, type: "t", from: null, import: true, interface: null, def: null, let: null, func: null,
  fn: null, struct: null, self: null, None: null, string: null, model_config: null, _private: null,
  teacher_id: null, users: null,
};
type Search = Database["public"]["Functions"]["search_users"];
const args: Search["Args"] = { query: "%a%" };
const result: Search["Returns"] = [row];
const sumArgs: Database["public"]["Functions"]["sum_ints"]["Args"] = { nums: [1, null] };

// Array elements: NULL where PostgreSQL allows it, refused where it keeps NULL out.
const arrays: AllTypesInsert = {
  c_smallint: 1, c_integer: 2, c_bigint: 3, c_int_array: [1, null], c_int_matrix: [[1, null], [null, 4]],
  c_text_array: ["a", null], c_labels: ["x"], c_checked_texts: ["y"], c_composite_array: [null],
};
// @ts-expect-error: an array of a NOT NULL domain holds no NULL element
const nullLabel: AllTypesUpdate = { c_labels: ["x", null] };
// @ts-expect-error: CHECK (array_position(c_checked_texts, NULL) IS NULL)
const nullChecked: AllTypesUpdate = { c_checked_texts: [null] };
// PostgreSQL enforces no declared dimension: '{NULL}' fits integer[][], '{{1,2},{3,NULL}}' integer[].
const oneDim: AllTypesUpdate = { c_int_matrix: [null] };
const twoDims: AllTypesUpdate = { c_int_array: [[1, 2], [3, null]], c_text_array: [] };
// @ts-expect-error: a sub-array is never NULL, only the innermost elements
const nullRow: AllTypesUpdate = { c_int_matrix: [[1], null] };
// An element may be a sub-array: narrow before using it as a number.
const first = row.roles[0];
const label: string = first === undefined || first === null || Array.isArray(first) ? "" : first;

// Insert and Update: leave a column out, write NULL, write a value.
const leaveOut: UsersUpdate = {};
const writeNull: UsersUpdate = { display_name: null, score: null, tags: null };
const writeValue: UsersUpdate = { display_name: "x", score: 2 };
const insertNull: UsersInsert = { email: "x@y", display_name: null, score: null };
// @ts-expect-error: email is a NOT NULL domain: NULL is refused
const nullEmail: UsersUpdate = { email: null };
// @ts-expect-error: access is NOT NULL (with a default): leave it out, never NULL
const nullAccess: UsersInsert = { email: "x@y", access: null };
// @ts-expect-error: email has no default: an Insert must write it
const noEmail: UsersInsert = {};
export {
  row, insert, same, related, args, result, sumArgs, arrays, nullLabel, nullChecked, oneDim, twoDims, nullRow,
  label, leaveOut,
  writeNull, writeValue, insertNull, nullEmail, nullAccess, noEmail,
};
"""

BAD_USAGE = """\
import type { UsersInsert } from "./rich";
const insert: UsersInsert = { id: 1, email: "x@y" };
export { insert };
"""


# As an application using the clients compiles: ES modules resolved as a bundler does
# (supabase-js's `exports`), the clients' own .d.ts files trusted.
CLIENT_FLAGS = ["--module", "esnext", "--moduleResolution", "bundler", "--skipLibCheck"]


def run_tsc(
    directory: Path, files: list[str], flags: tuple[str, ...] = ("--moduleResolution", "node")
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tsc_path()), "--noEmit", "--strict", "--target", "es2020", *flags, *files],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.oracle
def test_tsc_accepts_the_rich_schema_and_its_usage(tsc_session: TscSession) -> None:
    """rich.ts, plain.ts, every_case.ts and usage.ts of the session's tsc run."""
    assert tsc_session.errors_of("rich_usage") == ""


@pytest.mark.oracle
def test_tsc_accepts_real_rows_with_null_elements(
    every_case_rows: tuple[str, Catalog], tmp_path: Path
) -> None:
    """Rows of public.array_elements as PostgreSQL writes them in JSON (NULL elements, a
    2-D array with NULL elements, empty arrays) are values of the Row type; a NULL element
    where PostgreSQL refuses one is not. bigint comes as a JSON number, as PostgREST sends it."""
    tsc_path()
    url, _ = every_case_rows
    with psycopg.connect(url) as conn:
        rows = [
            r[0]
            for r in conn.execute(
                "SELECT json_build_object('id', id, 'plain', plain, 'numbers', numbers, 'matrix', matrix,"
                " 'moods', moods, 'labels', labels, 'strict', strict, 'checked', checked)::text"
                " FROM public.array_elements ORDER BY id"
            ).fetchall()
        ]
    assert '"plain" : ["a",null,"c"]' in rows[0] and '"matrix" : [[1,null],[null,4]]' in rows[0]
    (tmp_path / "every_case.ts").write_text(render_typescript(introspect(url), {}))
    (tmp_path / "rows.ts").write_text(
        'import type { ArrayElements } from "./every_case";\n'
        f"const rows: ArrayElements[] = [{', '.join(rows)}];\n"
        "// @ts-expect-error: labels is an array of a NOT NULL domain\n"
        "const bad: ArrayElements = { ...rows[0], labels: [null] };\n"
        "export { rows, bad };\n"
    )
    done = run_tsc(tmp_path, ["every_case.ts", "rows.ts"])
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.oracle
def test_tsc_rejects_a_generated_identity_in_insert(tsc_session: TscSession) -> None:
    errors = tsc_session.errors_of("identity_in_insert")
    assert "identity_in_insert/bad.ts(2," in errors, errors
    assert "'id' does not exist in type 'UsersInsert'" in errors, errors


@pytest.mark.oracle
def test_tsc_accepts_every_corpus_schema(tsc_session: TscSession) -> None:
    assert tsc_session.errors_of("corpus") == ""
    files = tsc_session.files["corpus"]
    assert len(files) == 2 * len(CORPUS_SCHEMAS)
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


# --------------------------------------------------------------------------- real clients


def client_modules() -> Path:
    """node_modules holding @supabase/supabase-js and kysely (next to tsc: .ci/run installs
    them with it). Skips locally when missing, fails in CI."""
    modules = tsc_path().parent.parent
    if not ((modules / "@supabase" / "supabase-js").is_dir() and (modules / "kysely").is_dir()):
        message = f"@supabase/supabase-js and kysely not in {modules}: see .ci/run's npm install line"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return modules


SUPABASE_EXAMPLES = ("todo-list", "user-management", "slack-clone")


def supabase_catalogs(corpus: Path, tmp_path: Path) -> dict[str, Catalog]:
    """Each corpus Supabase example, and supabase_project.sql (rpc arguments with DEFAULT
    NULL), as a user's `nself types` reads them: `supabase/migrations` compiled by the sql
    frontend on the Supabase base, the platform's own objects left out (auth.users stays:
    the projects' keys reference it)."""
    from nself.frontends.sql import compile_migrations
    from nself.platforms import platform_named
    from nself.runtime.sources import strip_platform

    own = tmp_path / "own" / "supabase" / "migrations"
    own.mkdir(parents=True)
    (own / "20240101000000_init.sql").write_text((HERE / "supabase_project.sql").read_text(encoding="utf-8"))
    folders = {
        n.replace("-", "_"): corpus / "supabase-examples" / n / "supabase" / "migrations"
        for n in SUPABASE_EXAMPLES
    }
    folders["supabase_project"] = own
    supabase = platform_named("supabase")
    return {name: strip_platform(compile_migrations(folder), supabase) for name, folder in folders.items()}


@pytest.mark.oracle
def test_the_real_clients_type_every_query(
    rich: Catalog,
    corpus_catalogs: CorpusCatalogs,
    corpus: Path,
    types_databases: SessionDatabases,
    tmp_path: Path,
) -> None:
    """One tsc run over every usage file in clients/, each against its schema's output
    (supabase and kysely flavors), with the real supabase-js and kysely typings: the
    schemas of this folder, pagila, and the Supabase projects (the corpus examples and
    supabase_project.sql: selects, embeds beside auth.users keys, rpc with optional
    arguments)."""
    modules = client_modules()
    url = types_databases.new("types_clients")
    run_sql(url, (HERE / "client_schema.sql").read_text(encoding="utf-8"))
    catalogs = {"client": introspect(url), "pagila": corpus_catalogs.get("pagila"), "rich": rich}
    catalogs.update(supabase_catalogs(corpus, tmp_path))
    # The same folder in every run, so tsc's incremental state of the last run (its
    # .tsbuildinfo: each file's hash and diagnostics) is reused: tsc still reads every file
    # and checks again what changed and what depends on it (5.7 -> 2.3 s of CPU when
    # nothing did).
    project = REPO / ".cache" / "tsc" / "clients"
    project.mkdir(parents=True, exist_ok=True)
    link = project / "node_modules"
    if not link.is_symlink() or link.resolve() != Path(modules).resolve():
        link.unlink(missing_ok=True)
        link.symlink_to(modules, target_is_directory=True)
    sources = {usage.name: usage.read_text(encoding="utf-8") for usage in sorted(CLIENTS.glob("*.ts"))}
    for name, catalog in catalogs.items():
        for flavor in ("supabase", "kysely"):
            sources[f"{name}_{flavor}_types.ts"] = render_typescript(catalog, {"flavor": flavor})
    for old in project.glob("*.ts"):
        if old.name not in sources:
            old.unlink()
    for file, text in sources.items():
        (project / file).write_text(text, encoding="utf-8")
    flags = (*CLIENT_FLAGS, "--incremental", "--tsBuildInfoFile", "clients.tsbuildinfo")
    done = run_tsc(project, list(sources), flags)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr


# Every table's Row/Insert/Update is a Record<string, unknown> (what postgrest-js requires
# of a table; an interface is not), and every Relationships entry names a table or view of
# its own schema (where postgrest-js looks it up).
SHAPE_CHECK = """\
import type { Database } from "./SCHEMA";
type Schemas = Omit<Database, "__InternalSupabase">;
type Generic = { Row: Record<string, unknown>; Insert: Record<string, unknown>; Update: Record<string, unknown> };
type NotGeneric = {
  [S in keyof Schemas]: {
    [T in keyof Schemas[S]["Tables"]]: Schemas[S]["Tables"][T] extends Generic ? never : T;
  }[keyof Schemas[S]["Tables"]];
}[keyof Schemas];
type Unresolved = {
  [S in keyof Schemas]: {
    [T in keyof Schemas[S]["Tables"]]: Schemas[S]["Tables"][T] extends {
      Relationships: infer R extends { referencedRelation: string }[];
    }
      ? Exclude<R[number]["referencedRelation"], keyof Schemas[S]["Tables"] | keyof Schemas[S]["Views"]>
      : T;
  }[keyof Schemas[S]["Tables"]];
}[keyof Schemas];
export const generic: [NotGeneric] extends [never] ? true : false = true;
export const resolved: [Unresolved] extends [never] ? true : false = true;
"""


@pytest.mark.oracle
def test_every_corpus_schema_has_the_shape_postgrest_js_reads(tsc_session: TscSession) -> None:
    """Each corpus schema's and every_case's output with SHAPE_CHECK beside it."""
    assert tsc_session.errors_of("shape") == ""
    assert len(tsc_session.files["shape"]) == 2 * (len(CORPUS_SCHEMAS) + 1)


# --------------------------------------------------------------------------- one tsc run


def session_projects(request: pytest.FixtureRequest) -> dict[str, dict[str, str]]:
    """The files of every test that shares the session's tsc run (same flags), by the
    folder each test owns: folder -> file name -> text."""
    types_databases: SessionDatabases = request.getfixturevalue("types_databases")
    corpus_catalogs: CorpusCatalogs = request.getfixturevalue("corpus_catalogs")
    every_case: Catalog = request.getfixturevalue("every_case_catalog")
    rich = load_rich(types_databases)[1]
    corpus = {}
    for name in CORPUS_SCHEMAS:
        for relations in (False, True):
            file = f"{name}{'_rel' if relations else ''}.ts"
            corpus[file] = render_typescript(corpus_catalogs.get(name), {"with_relations": relations})
    shapes = {}
    catalogs = {name: corpus_catalogs.get(name) for name in CORPUS_SCHEMAS}
    catalogs["every_case"] = every_case
    for name, catalog in catalogs.items():
        shapes[f"{name}.ts"] = render_typescript(catalog, {})
        shapes[f"{name}_shape.ts"] = SHAPE_CHECK.replace("SCHEMA", name)
    return {
        "rich_usage": {
            "rich.ts": render_typescript(rich, {"with_relations": True}),
            "plain.ts": render_typescript(rich, {}),
            "every_case.ts": render_typescript(every_case, {"with_relations": True}),
            "usage.ts": USAGE,
        },
        "identity_in_insert": {"rich.ts": render_typescript(rich, {}), "bad.ts": BAD_USAGE},
        "corpus": corpus,
        "shape": shapes,
    }


def tsc_errors(stdout: str) -> dict[str, list[str]]:
    """tsc's errors (with their continuation lines) by the first folder of the file they
    name; "" for those that name no file."""
    found: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        start = re.match(r"^(\S[^(]*)\(\d+,\d+\): error ", line) or re.match(r"^error ", line)
        if start is not None:
            file = start.group(1) if start.groups() else ""
            folder = file.split("/", 1)[0] if "/" in file else ""
            found.setdefault(folder, []).append(line)
        elif found and line.startswith(" "):
            errors = found[list(found)[-1]]
            errors[-1] += "\n" + line
    return found


class TscSession:
    """The result of the session's one tsc run over every folder of session_projects (under
    xdist by the first worker that asks, under a file lock; the others read its result)."""

    def __init__(self, root: Path, result: dict[str, object]) -> None:
        self.root = root
        self.returncode = int(str(result["returncode"]))
        self.files: dict[str, list[str]] = dict(result["files"])  # type: ignore[call-overload]
        self.errors: dict[str, list[str]] = dict(result["errors"])  # type: ignore[call-overload]

    def errors_of(self, folder: str) -> str:
        """The errors in `folder`'s files, one text (empty when none); an error naming no
        file fails every test."""
        assert folder in self.files, f"no folder {folder} in the session's tsc project"
        assert not self.errors.get(""), "\n".join(self.errors[""])
        return "\n".join(self.errors.get(folder, []))


def open_tsc_session(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> TscSession:
    import fcntl
    import json

    tsc_path()
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    # The same folder in every run, with tsc's incremental state (as the real clients' run).
    root = REPO / ".cache" / "tsc" / "session"
    done = shared / "tsc-session.json"
    with open(shared / "tsc-session.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            files: dict[str, list[str]] = {}
            for folder, texts in session_projects(request).items():
                (root / folder).mkdir(parents=True, exist_ok=True)
                for name, text in texts.items():
                    (root / folder / name).write_text(text, encoding="utf-8")
                files[folder] = [f"{folder}/{name}" for name in texts]
            wanted = {file for names in files.values() for file in names}
            for old in root.rglob("*.ts"):
                if old.relative_to(root).as_posix() not in wanted:
                    old.unlink()
            flags = ("--moduleResolution", "node", "--incremental", "--tsBuildInfoFile", "session.tsbuildinfo")
            ran = run_tsc(root, sorted(wanted), flags)
            result = {
                "returncode": ran.returncode,
                "files": files,
                "errors": tsc_errors(ran.stdout + ran.stderr),
            }
            done.write_text(json.dumps(result), encoding="utf-8")
    return TscSession(root, json.loads(done.read_text(encoding="utf-8")))
