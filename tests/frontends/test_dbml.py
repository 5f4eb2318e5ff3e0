"""The DBML frontend against dbml's own fixtures (../shared/corpus/dbml) and against
PostgreSQL: dbml's PostgreSQL export of a file, applied and introspected, is the oracle
of what the file means."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from nself.backends.dbml import render
from nself.errors import SourceError
from nself.frontends.dbml import _builtin_type, _number_literal, parse_dbml
from nself.ir import Catalog, catalog_to_json
from nself.ir import model as m
from nself.ir.names import quote_ident
from tests.conftest import CORPUS
from tests.tools import node_modules_with

DBML = CORPUS / "dbml"
DATA = Path(__file__).parent / "data" / "dbml"


def _names(folder: str, suffix: str) -> list[str]:
    return sorted(p.name[: -len(suffix)] for p in (DBML / folder).glob(f"*{suffix}"))


INTERPRETER = _names("parse_interpreter/input", ".in.dbml")
EXPORTER = _names("exporter_postgres_exporter/input", ".in.dbml")
IMPORTER = _names("importer_postgres_importer/output", ".out.dbml")

INTERPRETER_XFAIL = {
    "tablepartial_causing_circular_ref": (
        "the partial's inline ref `col1 [ref: > T.col1]` points at its own column once injected "
        "into T; nself refuses it (two endpoints are the same) while dbml-parse only validates "
        "refs of a partial at the partial, not after injection"
    ),
}
EXPORTER_XFAIL = {
    "custom_type": 'dbml\'s export does not load: type "Var Char" does not exist (and "user", "Random"."Rand")',
    "enum": 'dbml\'s export does not load: type "Var Char" does not exist',
    "general_schema": (
        'dbml\'s export does not load: type "datetime" does not exist; hash indexes cannot be unique either'
    ),
    "multiple_schema": (
        "dbml's export does not load: foreign key products.name (character varying) -> "
        "ecommerce.users.id (integer) cannot be implemented"
    ),
    "smallserial_type": 'dbml\'s export does not load: type "varcharacter" does not exist',
}


def _param(name: str, xfails: dict[str, str]) -> Any:
    if name in xfails:
        return pytest.param(name, marks=pytest.mark.xfail(reason=xfails[name], strict=False))
    return name


# =========================================================================== comparator


def _expected_type(t: dict[str, Any], increment: bool, enums: set[tuple[str, str]]) -> str:
    """The format_type text dbml's interpreter output means by a field's type."""
    raw: str = t["type_name"]
    schema = t.get("schemaName") or "public"
    base, _, rest = raw.partition("(")
    args = rest.split(")")[0].split(",") if rest else []
    arrays = raw.count("[")
    name = base.split("[")[0]
    if increment and name.upper() not in ("INT", "INTEGER", "SMALLINT", "BIGINT"):
        builtin = _builtin_type(name, [])
        return builtin.text if builtin is not None and builtin.serial else "integer"
    if (schema, name) in enums:
        return f"{quote_ident(schema)}.{quote_ident(name)}" + "[]" * arrays
    builtin = _builtin_type(name, [a.strip() for a in args if a.strip()])
    if t.get("schemaName") is None and builtin is not None and not (builtin.serial and arrays):
        return builtin.text + "[]" * arrays  # declared dimensions are kept (docs/ir.md)
    prefix = f"{quote_ident(t['schemaName'])}." if t.get("schemaName") else ""
    return prefix + raw


def compare_with_interpreter(catalog: Catalog, expected: dict[str, Any]) -> list[str]:
    """Differences between the IR and dbml-parse's interpreter output (tables, columns,
    types, pk, unique, not null, defaults, notes, indexes, refs, enum values)."""
    problems: list[str] = []
    db = expected["database"]
    enums = {(e.get("schemaName") or "public", e["name"]): e for e in db.get("enums", [])}
    for key, e in enums.items():
        enum = catalog.enum(*key)
        labels = [v["name"] for v in e["values"]]
        if enum is None or list(enum.labels) != labels:
            problems.append(f"enum {key}: {enum and enum.labels} != {labels}")
    if len(catalog.enums) != len(enums):
        problems.append(f"{len(catalog.enums)} enums, expected {len(enums)}")
    partial_fields = {p["name"]: p.get("fields", []) for p in db.get("tablePartials", [])}
    for t in db.get("tables", []):
        schema = t.get("schemaName") or "public"
        table = catalog.table(schema, t["name"])
        if table is None:
            problems.append(f"table {schema}.{t['name']} missing")
            continue
        where = f"{schema}.{t['name']}"
        fields = list(t["fields"])
        if t.get("partials"):
            own = {f["name"] for f in fields}
            for p in t["partials"]:
                fields += [f for f in partial_fields.get(p["name"], []) if f["name"] not in own]
            if sorted(f["name"] for f in fields) != sorted(c.name for c in table.columns):
                problems.append(f"{where}: columns {[c.name for c in table.columns]}")
        elif [f["name"] for f in fields] != [c.name for c in table.columns]:
            problems.append(
                f"{where}: columns {[c.name for c in table.columns]} != {[f['name'] for f in fields]}"
            )
        pk = table.primary_key
        pk_columns = set(pk.columns) if pk else set()
        expected_pk = {f["name"] for f in fields if f.get("pk")}
        for index in t.get("indexes", []):
            if index.get("pk"):
                expected_pk |= {c["value"] for c in index["columns"]}
        if pk_columns != expected_pk:
            problems.append(f"{where}: primary key {sorted(pk_columns)} != {sorted(expected_pk)}")
        uniques = {c.columns for c in table.constraints if isinstance(c, m.UniqueConstraint)}
        for f in fields:
            column = table.column(f["name"])
            if column is None:
                continue
            want = _expected_type(f["type"], bool(f.get("increment")), set(enums))
            if column.data_type != want:
                problems.append(f"{where}.{f['name']}: type {column.data_type!r} != {want!r}")
            # PostgreSQL drops a UNIQUE that repeats the primary key (`id int PK unique`)
            want_unique = bool(f.get("unique")) and pk_columns != {f["name"]}
            if want_unique != ((f["name"],) in uniques):
                problems.append(f"{where}.{f['name']}: unique")
            if f.get("not_null") and not column.not_null:
                problems.append(f"{where}.{f['name']}: not null")
            if f.get("not_null") is False and column.not_null and f["name"] not in pk_columns:
                problems.append(f"{where}.{f['name']}: null")
            default = f.get("dbdefault")
            if default is not None and not f.get("increment"):
                if default["type"] == "boolean" and str(default["value"]).lower() == "null":
                    if column.default is not None:
                        problems.append(f"{where}.{f['name']}: default {column.default!r} for null")
                elif default["type"] == "number":
                    value = default["value"]
                    text = str(int(value)) if float(value).is_integer() else repr(float(value))
                    if column.default != _number_literal(text):
                        problems.append(f"{where}.{f['name']}: default {column.default!r} != {value!r}")
                elif column.default is None:
                    problems.append(f"{where}.{f['name']}: default missing")
                elif default["type"] == "string" and not column.default.startswith(
                    "'" + str(default["value"]).replace("'", "''") + "'"
                ):
                    problems.append(
                        f"{where}.{f['name']}: default {column.default!r} != {default['value']!r}"
                    )
            note = (f.get("note") or {}).get("value")
            if column.comment != note:
                problems.append(f"{where}.{f['name']}: comment {column.comment!r} != {note!r}")
        note = (t.get("note") or {}).get("value")
        if table.comment != note:
            problems.append(f"{where}: comment {table.comment!r} != {note!r}")
        indexes = catalog.indexes_of(schema, t["name"])
        wanted = [i for i in t.get("indexes", []) if not i.get("pk")]
        if len(indexes) != len(wanted):
            problems.append(f"{where}: {len(indexes)} indexes, expected {len(wanted)}")
        for i in wanted:
            keys = tuple(c["value"] if c["type"] == "column" else None for c in i["columns"])
            method = (i.get("type") or "btree").lower()
            match = [
                x
                for x in indexes
                if tuple(k.column for k in x.keys) == keys
                and x.unique == bool(i.get("unique"))
                and x.method == method
                and (i.get("name") is None or x.name == i["name"])
            ]
            if not match:
                problems.append(f"{where}: no index like {i}")
    fks = [(t, fk) for t in catalog.tables for fk in t.foreign_keys]
    for ref in db.get("refs", []):
        a, b = ref["endpoints"]
        ends = [(e.get("schemaName") or "public", e["tableName"], tuple(e["fieldNames"])) for e in (a, b)]
        if a["relation"] == "*" and b["relation"] == "*":
            continue  # a junction table: checked by the PostgreSQL oracle
        one = 0 if a["relation"] == "1" else 1
        referenced, holder = ends[one], ends[1 - one]
        found = [
            fk
            for t, fk in fks
            if (t.schema, t.name, fk.columns) == holder
            and (fk.ref_schema, fk.ref_table, fk.ref_columns) == referenced
        ]
        if not found:
            problems.append(f"no foreign key {holder} -> {referenced}")
    if len(fks) != len(db.get("refs", [])):
        problems.append(f"{len(fks)} foreign keys, expected {len(db.get('refs', []))}")
    return problems


# =========================================================================== the corpus


def test_corpus_is_there(corpus: Path) -> None:
    assert INTERPRETER and EXPORTER and IMPORTER, f"no DBML fixtures under {DBML}"


def _interpreter_case(name: str) -> tuple[str, dict[str, Any]]:
    text = (DBML / "parse_interpreter" / "input" / f"{name}.in.dbml").read_text()
    expected = json.loads((DBML / "parse_interpreter" / "output" / f"{name}.out.json").read_text())
    return text, expected


def _interpreter_problems(name: str) -> list[str]:
    text, expected = _interpreter_case(name)
    if expected.get("errors"):
        try:
            parse_dbml(text, f"{name}.in.dbml")
        except SourceError as exc:
            if exc.line is None or exc.col is None:
                return [f"error without a position: {exc}"]
            return []
        codes = sorted({e["code"] for e in expected["errors"]})
        return [f"dbml reports {codes}, nself accepted the file"]
    try:
        catalog = parse_dbml(text, f"{name}.in.dbml")
    except SourceError as exc:
        return [f"refused: {exc}"]
    return compare_with_interpreter(catalog, expected)


@pytest.mark.parametrize("name", [_param(n, INTERPRETER_XFAIL) for n in INTERPRETER])
def test_parse_interpreter_fixture(corpus: Path, name: str) -> None:
    """Each dbml-parse interpreter fixture parses into the same tables, columns, keys,
    refs and enums; an error fixture raises a SourceError with a position."""
    assert _interpreter_problems(name) == []


def test_parse_interpreter_pass_count(corpus: Path) -> None:
    passed = [n for n in INTERPRETER if not _interpreter_problems(n)]
    errors = sum(1 for n in INTERPRETER if _interpreter_case(n)[1].get("errors"))
    print(
        f"\ndbml parse_interpreter fixtures: {len(passed)}/{len(INTERPRETER)} agree "
        f"({errors} are error fixtures)"
    )
    assert len(passed) >= len(INTERPRETER) - len(INTERPRETER_XFAIL)


@pytest.mark.parametrize("name", IMPORTER)
def test_importer_output_parses(corpus: Path, name: str) -> None:
    """The DBML that dbml's PostgreSQL importer writes is read without error."""
    text = (DBML / "importer_postgres_importer" / "output" / f"{name}.out.dbml").read_text()
    catalog = parse_dbml(text, f"{name}.out.dbml")
    assert any(s.name == "public" for s in catalog.schemas)


# =========================================================================== oracle


# One database for the whole module, emptied before each case (creating a database per
# case would cost most of this module's time).
_EMPTY_IT = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT nspname FROM pg_namespace
           WHERE nspname NOT IN ('public', 'information_schema') AND nspname NOT LIKE 'pg\\_%'
  LOOP
    EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
  END LOOP;
  FOR r IN SELECT relname FROM pg_class
           WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')
  LOOP
    EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', r.relname);
  END LOOP;
  FOR r IN SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'S'
  LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS public.%I CASCADE', r.relname);
  END LOOP;
  FOR r IN SELECT typname FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype = 'e'
  LOOP
    EXECUTE format('DROP TYPE IF EXISTS public.%I CASCADE', r.typname);
  END LOOP;
END $$;
"""


@pytest.fixture(scope="module")
def scratch(pg_cluster: Any) -> Iterator[str]:
    """The URL of one database this module reuses; `_apply` empties it first."""
    name = f"dbml_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    yield pg_cluster.url(name)
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def _apply(url: str, sql: str) -> str | None:
    """Empty the database at `url`, then run `sql`; PostgreSQL's message if it fails."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(_EMPTY_IT)  # type: ignore[arg-type]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]
    return None


def _introspect() -> Callable[[str], Catalog]:
    live = pytest.importorskip("nself.frontends.live")
    introspect: Callable[[str], Catalog] = live.introspect
    return introspect


def _oracle(url: str, dbml_path: Path, sql_path: Path) -> str | None:
    """None when the IR of the DBML equals what PostgreSQL holds after the SQL; else why not."""
    failure = _apply(url, sql_path.read_text())
    if failure is not None:
        return f"the export does not load: {failure}"
    live = _introspect()(url)
    mine = parse_dbml(dbml_path.read_text(), dbml_path.name)
    if live == mine:
        return None
    a, b = catalog_to_json(live).splitlines(), catalog_to_json(mine).splitlines()
    import difflib

    return "IR differs:\n" + "\n".join(
        list(difflib.unified_diff(a, b, "postgresql", "dbml", lineterm=""))[:80]
    )


def _exporter_paths(name: str) -> tuple[Path, Path]:
    folder = DBML / "exporter_postgres_exporter"
    return folder / "input" / f"{name}.in.dbml", folder / "output" / f"{name}.out.sql"


@pytest.mark.oracle
@pytest.mark.parametrize("name", [_param(n, EXPORTER_XFAIL) for n in EXPORTER])
def test_exporter_oracle(corpus: Path, scratch: str, name: str) -> None:
    """dbml's PostgreSQL export of each fixture, applied to an empty database and
    introspected, equals parse_dbml of the fixture."""
    problem = _oracle(scratch, *_exporter_paths(name))
    assert problem is None, problem


@pytest.mark.oracle
def test_exporter_oracle_pass_count(corpus: Path, scratch: str) -> None:
    _introspect()
    passed = [n for n in EXPORTER if _oracle(scratch, *_exporter_paths(n)) is None]
    print(f"\ndbml exporter oracle: {len(passed)}/{len(EXPORTER)} equal to PostgreSQL: {passed}")
    assert len(passed) >= len(EXPORTER) - len(EXPORTER_XFAIL)


@pytest.mark.oracle
def test_features_oracle(scratch: str) -> None:
    """A schema using most of DBML (defaults of every kind, checks, expression and
    composite indexes, serial and identity, composite refs with actions, notes, quoted
    and schema-qualified names) against the SQL dbml's exporter writes for it."""
    problem = _oracle(scratch, DATA / "features.dbml", DATA / "features.sql")
    assert problem is None, problem


# =========================================================================== @dbml/core oracle
#
# With node and @dbml/core (npm install @dbml/core; NSELF_NODE_PATH=<its node_modules>),
# dbml's own PostgreSQL exporter turns any DBML into SQL: every corpus file, features.dbml,
# and nself's DBML backend output of each, applied to PostgreSQL and introspected, must
# equal what parse_dbml reads. A file whose export PostgreSQL refuses has nothing to
# compare and is skipped with PostgreSQL's message.


def _core_cases() -> list[Any]:
    files = [
        DATA / "features.dbml",
        *sorted(DBML.glob("*/input/*.dbml")),
        *sorted(DBML.glob("*/output/*.dbml")),
    ]
    cases = []
    for path in files:
        label = path.name if path.parent == DATA else f"{path.parent.parent.name}/{path.name}"
        for variant in ("as written", "rendered by nself"):
            cases.append(pytest.param(path, variant, id=f"{label}:{variant}"))
    return cases


@pytest.fixture(scope="module")
def dbml_core_exports() -> dict[tuple[Path, str], dict[str, str]]:
    """dbml's PostgreSQL export of every case, made in one node process."""
    node_path = str(node_modules_with("@dbml/core/package.json", "npm install --prefix .cache/node @dbml/core@10.2.0"))
    node = shutil.which("node")
    keys: list[tuple[Path, str]] = []
    texts: list[str] = []
    for case in _core_cases():
        path, variant = case.values
        text = path.read_text()
        if variant != "as written":
            try:
                text = render(parse_dbml(text, path.name), {})["schema.dbml"]
            except SourceError:
                continue
        keys.append((path, variant))
        texts.append(text)
    result = subprocess.run(
        [node, str(DATA / "export.js")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": node_path},
        check=True,
    )
    return dict(zip(keys, json.loads(result.stdout), strict=True))


_CORE_RESULTS: dict[str, str] = {}


@pytest.mark.oracle
@pytest.mark.parametrize(("path", "variant"), _core_cases())
def test_dbml_core_oracle(
    corpus: Path,
    dbml_core_exports: dict[tuple[Path, str], dict[str, str]],
    scratch: str,
    path: Path,
    variant: str,
) -> None:
    text = path.read_text()
    try:
        catalog = parse_dbml(text, path.name)
    except SourceError:
        pytest.skip("an error fixture")
    if variant != "as written":
        text = render(catalog, {})["schema.dbml"]
        catalog = parse_dbml(text, "rendered.dbml")
    export = dbml_core_exports[(path, variant)]
    if "error" in export:
        # nself's own output must be DBML that dbml accepts
        assert variant == "as written", f"@dbml/core refuses nself's DBML: {export['error']}\n{text}"
        pytest.skip(f"@dbml/core refuses the file: {export['error']}")
    failure = _apply(scratch, export["sql"])
    if failure is not None:
        _CORE_RESULTS[f"{path.name}:{variant}"] = "skipped"
        pytest.skip(f"dbml's export does not load in PostgreSQL: {failure}")
    live = _introspect()(scratch)
    ok = live == catalog
    _CORE_RESULTS[f"{path.name}:{variant}"] = "passed" if ok else "failed"
    if not ok:
        a, b = catalog_to_json(live).splitlines(), catalog_to_json(catalog).splitlines()
        import difflib

        diff = "\n".join(list(difflib.unified_diff(a, b, "postgresql", "dbml", lineterm=""))[:80])
        pytest.fail(f"IR differs from PostgreSQL after dbml's export:\n{diff}")


def test_dbml_core_oracle_pass_count(dbml_core_exports: dict[tuple[Path, str], dict[str, str]]) -> None:
    """Prints the figures of test_dbml_core_oracle (run after it in file order)."""
    counts = {k: sum(1 for v in _CORE_RESULTS.values() if v == k) for k in ("passed", "failed", "skipped")}
    print(
        f"\n@dbml/core oracle: {counts['passed']} equal to PostgreSQL, {counts['failed']} differ, "
        f"{counts['skipped']} exports PostgreSQL refuses (of {len(dbml_core_exports)} exports)"
    )
    assert counts["failed"] == 0


# =========================================================================== bad input


BAD = [
    ("Table users {\n  id int [pk\n}\n", 3, 1, "unexpected '}'"),
    ("Table users {\n  id int [note: 'it's']\n}\n", 2, 22, "unterminated string"),
    ("Table users {\n  id int\n", 3, 1, "unexpected end of file"),
    ("Table users {\n  id int [default: 'x]\n}\n", 2, 20, "unterminated string"),
    ("Table users {\n  id int [primary]\n}\n", 2, 11, "unknown column setting 'primary'"),
    ("Table a {\n  id int\n}\nRef: a.id > b.id\n", 4, 13, "table 'b' does not exist"),
    ("Table a {\n  id int\n}\nRef: a.id > a.nope\n", 4, 13, "column 'nope' does not exist"),
    ("Table a {\n  id int\n}\nTable a {\n  id int\n}\n", 4, 1, "already exists"),
    ("Tabel a {\n  id int\n}\n", 1, 1, "unknown element 'Tabel'"),
    ("/* never closed\nTable a {\n  id int\n}\n", 1, 1, "unterminated comment"),
    ("Table a {\n  id int [ref: > a.id]\n}\n", 2, 11, "two endpoints are the same"),
    ("Enum e {\n}\n", 1, 1, "has no values"),
]


@pytest.mark.parametrize(("text", "line", "col", "message"), BAD)
def test_bad_input_gives_one_line_position(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(SourceError) as info:
        parse_dbml(text, "bad.dbml")
    error = info.value
    assert (error.file, error.line, error.col) == ("bad.dbml", line, col), str(error)
    assert message in error.message
    rendered = str(error)
    assert rendered.startswith(f"bad.dbml:{line}:{col}: ")
    assert "\n" not in rendered


# =========================================================================== details


def test_public_schema_and_defaults() -> None:
    catalog = parse_dbml("Table t {\n  id int [pk]\n}\n", "t.dbml")
    assert catalog.schemas == (m.Schema("public", "standard public schema"),)
    table = catalog.table("public", "t")
    assert table is not None
    assert table.columns == (m.Column("id", "integer", not_null=True),)
    assert table.constraints == (m.PrimaryKey("t_pkey", ("id",)),)


def test_multiline_note_is_dedented() -> None:
    text = "Table t {\n  id int [note: '''\n    # Title\n      body\n  ''']\n}\n"
    table = parse_dbml(text, "t.dbml").table("public", "t")
    assert table is not None
    assert table.columns[0].comment == "# Title\n  body\n"


def test_grammar_ships_with_the_package(tmp_path: Path, installed_package: Path) -> None:
    """`pip install .` puts dbml.lark inside the installed package, and parse_dbml works
    from there without the source tree."""
    import sys

    site = installed_package
    assert (site / "nself" / "frontends" / "dbml.lark").is_file()
    script = (
        "import nself.frontends.dbml as d; "
        "print(d.__file__); print(d.parse_dbml('Table t {\\n  id int [pk]\\n}', 't.dbml').tables[0].name)"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    where, table = done.stdout.split()
    assert where.startswith(str(site)) and table == "t"
