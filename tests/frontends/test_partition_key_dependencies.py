"""What a partition key uses (PartitionSpec.depends_on), oracle-checked: the live frontend's
is pg_depend's (read here independently, through pg_identify_object_as_address, and checked
against pg_partitioned_table's own partattrs and partexprs), the sql frontend's equals the
live one. Then the diff's policy (issue 12): a routine or type a key uses that a diff would
drop, or a key column whose type it would change, is refused in one line (PostgreSQL would
have to drop the table and its partitions with their rows); a body-only change is replaced
in place with a warning, and applies up and down with every row kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.frontends.sql import compile_sql
from nself.ir import catalog_to_json
from nself.ir.model import Catalog
from nself.runtime.cluster import LocalCluster
from nself.runtime.schema_diff import diff_catalogs
from tests.clitools import run_nself

pytestmark = pytest.mark.oracle

SCHEMA = """
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('ok', 'sad');
CREATE DOMAIN app.code AS text;
CREATE FUNCTION app.bucket(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT n / 10 $$;
CREATE FUNCTION app.norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$;
CREATE TABLE app.ev (id int, n int, name text, feel app.mood)
    PARTITION BY RANGE (app.bucket(n), ((name)::app.code), feel);
CREATE TABLE app.ev_low PARTITION OF app.ev FOR VALUES FROM (0, 'a', 'ok') TO (5, 'z', 'sad');
CREATE TABLE app.by_name (id int, name text) PARTITION BY LIST (app.norm(name));
CREATE TABLE app.by_name_ab PARTITION OF app.by_name FOR VALUES IN ('a', 'b');
-- a string literal naming a function is a decoy
CREATE TABLE app.decoy (id int, name text) PARTITION BY LIST ((coalesce(name, 'app.bucket')));
CREATE TABLE app.hashed (id int, name text) PARTITION BY HASH (id);
CREATE TABLE app.hashed_0 PARTITION OF app.hashed FOR VALUES WITH (MODULUS 2, REMAINDER 0)
    PARTITION BY LIST (((lower(name))::app.code));
CREATE TABLE app.hashed_1 PARTITION OF app.hashed FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO app.ev SELECT g, g % 50, chr(97 + g % 20), CASE WHEN g % 3 = 0 THEN 'sad' ELSE 'ok' END::app.mood
    FROM generate_series(1, 40) g WHERE app.bucket(g % 50) < 5;
INSERT INTO app.by_name SELECT g, CASE WHEN g % 2 = 0 THEN 'A' ELSE 'b' END FROM generate_series(1, 30) g;
"""

# pg_depend's rows for each partitioned table: what the key's expressions use (the table's
# own row, deptype 'n'), and the columns the key names (each internally on its table).
ORACLE = """
SELECT c.relname, a.type, a.object_names,
       CASE WHEN d.refclassid = 'pg_type'::regclass
            THEN (SELECT ARRAY[n.nspname::text, t.typname::text] FROM pg_type t
                  JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = d.refobjid) END
FROM pg_partitioned_table p
JOIN pg_class c ON c.oid = p.partrelid
JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = p.partrelid AND d.objsubid = 0
     AND d.deptype = 'n' AND d.refclassid IN ('pg_proc'::regclass, 'pg_type'::regclass),
     pg_identify_object_as_address(d.refclassid, d.refobjid, d.refobjsubid) a
UNION ALL
SELECT c.relname, 'table column', ARRAY['app', c.relname::text, att.attname::text], NULL
FROM pg_partitioned_table p
JOIN pg_class c ON c.oid = p.partrelid
JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = p.partrelid AND d.refobjsubid = 0
     AND d.classid = 'pg_class'::regclass AND d.objid = p.partrelid AND d.objsubid > 0 AND d.deptype = 'i'
JOIN pg_attribute att ON att.attrelid = p.partrelid AND att.attnum = d.objsubid
"""

Dep = tuple[str, ...]


@pytest.fixture(scope="module")
def url(pg_cluster: LocalCluster) -> Iterator[str]:
    name = f"partkey_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(pg_cluster.url(name), autocommit=True) as conn:
        conn.execute(SCHEMA)
    yield pg_cluster.url(name)
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def live(url: str) -> Catalog:
    return introspect(url)


def _compiled(sql: str) -> Catalog:
    return compile_sql(sql, strict=True)


def recorded(catalog: Catalog) -> dict[str, set[Dep]]:
    out: dict[str, set[Dep]] = {}
    for t in catalog.tables:
        if t.partition_by is not None:
            assert t.partition_by.depends_on is not None, t.name
            out[t.name] = {
                tuple(x for x in (d.kind, d.schema, d.name, d.column) if x is not None)
                for d in t.partition_by.depends_on
            }
    return out


def _pg_depend(url: str) -> dict[str, set[Dep]]:
    out: dict[str, set[Dep]] = {}
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute("SELECT partrelid::regclass::text FROM pg_partitioned_table")]
        for table in tables:
            out[table.split(".")[-1]] = set()
        for table, kind, names, type_name in conn.execute(ORACLE).fetchall():
            if kind == "table column":
                dep: Dep = ("column", *names)
            elif kind == "function":
                dep = ("function", *names)
            else:
                dep = ("type", *type_name)
            out[table].add(dep)
    return out


def test_live_partition_keys_are_pg_depends(url: str, live: Catalog) -> None:
    got = recorded(live)
    assert got == _pg_depend(url)
    assert got["ev"] == {
        ("column", "app", "ev", "n"),
        ("column", "app", "ev", "name"),
        ("column", "app", "ev", "feel"),
        ("function", "app", "bucket"),
        ("type", "app", "code"),
    }
    assert got["by_name"] == {("column", "app", "by_name", "name"), ("function", "app", "norm")}
    assert got["decoy"] == {("column", "app", "decoy", "name")}  # the literal names nothing
    assert got["hashed"] == {("column", "app", "hashed", "id")}
    assert got["hashed_0"] == {("column", "app", "hashed_0", "name"), ("type", "app", "code")}
    # the same from pg_partitioned_table itself: partattrs and the Vars and function calls of
    # partexprs (the node text)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, ARRAY(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = p.partrelid"
            " AND (a.attnum = ANY (p.partattrs::int2[]) OR a.attnum::text = ANY ("
            "   SELECT (regexp_matches(coalesce(p.partexprs::text, ''), ':varattno (\\d+)', 'g'))[1]))),"
            " ARRAY(SELECT f.proname::text FROM pg_proc f WHERE f.oid::text = ANY ("
            "   SELECT (regexp_matches(coalesce(p.partexprs::text, ''), ':funcid (\\d+)', 'g'))[1])"
            "   AND f.pronamespace <> 'pg_catalog'::regnamespace)"
            " FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
        ).fetchall()
    for table, columns, functions in rows:
        assert {d[3] for d in got[table] if d[0] == "column"} == set(columns), table
        assert {d[2] for d in got[table] if d[0] == "function"} == set(functions), table


def test_sql_frontend_partition_keys_equal_live(live: Catalog) -> None:
    compiled = _compiled(SCHEMA)
    assert recorded(compiled) == recorded(live)
    # followed through renames (PostgreSQL keeps attnums: its rows follow by themselves)
    renamed = _compiled(
        SCHEMA + "ALTER TABLE app.by_name RENAME TO names; ALTER TABLE app.hashed RENAME COLUMN id TO key;"
    )
    got = recorded(renamed)
    assert got["names"] == {("column", "app", "names", "name"), ("function", "app", "norm")}
    assert got["hashed"] == {("column", "app", "hashed", "key")}


def _rows(url: str) -> dict[str, tuple[int, str]]:
    """Per table (its own rows, ONLY): a count and a checksum."""
    out = {}
    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT oid::regclass::text FROM pg_class WHERE relkind = 'r' AND relnamespace = 'app'::regnamespace"
            )
        ]
        for name in names:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM ONLY {name} t"
            ).fetchone()
            assert row is not None
            out[name] = (row[0], row[1])
    return out


def _applied(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.encode())


def _strip(catalog: Catalog) -> str:
    return catalog_to_json(catalog)


REFUSED = {
    # a changed signature: the routine is dropped
    "signature": (
        SCHEMA.replace("app.bucket(n int) RETURNS int", "app.bucket(n bigint) RETURNS int").replace(
            "(app.bucket(n),", "(app.bucket(n::bigint),"
        ),
        "uses function app.bucket(integer), which this change drops",
    ),
    # a changed result type: dropped and created again
    "result": (
        SCHEMA.replace("bucket(n int) RETURNS int", "bucket(n int) RETURNS bigint"),
        "uses function app.bucket(integer), which this change drops and creates again",
    ),
    # a key column's enum rebuilt (a label removed): its type would change
    "enum": (
        SCHEMA.replace("('ok', 'sad')", "('sad', 'ok')"),
        "uses column feel, whose type this change alters",
    ),
    # the domain of a key's cast rebuilt on another base type
    "domain": (
        SCHEMA.replace("DOMAIN app.code AS text", "DOMAIN app.code AS varchar(20)"),
        "uses type app.code, which this change rebuilds",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_diff_refuses_to_drop_what_a_partition_key_uses(
    case: str, url: str, live: Catalog, tmp_path: Path
) -> None:
    target, words = REFUSED[case]
    (tmp_path / "b.sql").write_text(target, encoding="utf-8")
    before = _rows(url)
    result = run_nself("schema", "diff", url, "b.sql", cwd=tmp_path)
    assert result.code == 1, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "refused: the partition key" in line and words in line, line
    assert "app.ev" in line or "app.hashed_0" in line
    assert "rows" in line and "swap the names" in line and "Traceback" not in result.stderr
    assert "CASCADE" not in result.stdout + result.stderr
    # nothing applied: the database as it was
    assert _rows(url) == before
    assert _strip(introspect(url)) == _strip(live)


def test_body_only_change_is_replaced_with_a_warning_and_keeps_rows(
    url: str, live: Catalog, tmp_path: Path
) -> None:
    target = SCHEMA.replace("SELECT n / 10", "SELECT n / 10 + 0").replace(
        "SELECT lower(t)", "SELECT lower(trim(t))"
    )
    (tmp_path / "b.sql").write_text(target, encoding="utf-8")
    shown = run_nself("schema", "diff", url, "b.sql", cwd=tmp_path)
    assert shown.code == 0, shown.stderr
    assert "DROP" not in shown.stdout
    assert shown.stdout.count("CREATE OR REPLACE FUNCTION") == 2
    warnings = [line for line in shown.stderr.splitlines() if "may now belong to another partition" in line]
    assert len(warnings) == 2, shown.stderr
    assert any("app.ev: its partition key RANGE (" in w and "app.bucket(integer)" in w for w in warnings)
    assert any("app.by_name" in w and "app.norm(text)" in w for w in warnings)

    b = _compiled(target)
    result = diff_catalogs(live, b)
    before = _rows(url)
    _applied(url, result.up_sql)
    assert _rows(url) == before
    after_up = introspect(url)
    assert {f.name: f.body for f in after_up.functions} == {f.name: f.body for f in b.functions}
    _applied(url, result.down_sql)
    assert _rows(url) == before
    assert _strip(introspect(url)) == _strip(live)


def test_a_way_down_that_would_retype_a_key_column_is_refused(live: Catalog) -> None:
    """An enum label added under a key column goes up in place (ALTER TYPE ... ADD VALUE);
    the way down would rebuild the enum and retype the column: refused in one line when
    asked for (--create-migration writes both ways)."""
    from nself.errors import NselfError

    result = diff_catalogs(live, _compiled(SCHEMA.replace("('ok', 'sad')", "('ok', 'sad', 'meh')")))
    assert "ADD VALUE 'meh'" in result.up_sql
    with pytest.raises(
        NselfError, match=r"the way down: refused: the partition key RANGE .* uses column feel"
    ):
        _ = result.down_sql
