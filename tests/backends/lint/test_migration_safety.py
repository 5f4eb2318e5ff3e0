"""Migration safety rules and plpgsql_check, with PostgreSQL as the oracle: a type change
is a rewrite when the table's relfilenode changes; a NOT NULL column without a default
is reported when adding it to a table with a row fails; a plain CREATE INDEX is reported
when it blocks another session's INSERT; a function body is reported when calling the
function fails."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from nself.backends.lint.findings import LintSettings
from nself.backends.lint.migration_safety import PendingMigration, lint_migrations
from nself.frontends.live import introspect
from nself.runtime.lint_live import pending_migrations, plpgsql_findings
from tests.conftest import run_sql

TYPE_CHANGES = [
    ("varchar(10)", "varchar(20)"),
    ("varchar(20)", "varchar(10)"),
    ("varchar(10)", "text"),
    ("varchar(10)", "varchar"),
    ("varchar", "varchar(100)"),
    ("text", "varchar"),
    ("text", "varchar(5)"),
    ("int", "bigint"),
    ("bigint", "int"),
    ("numeric(10,2)", "numeric(12,2)"),
    ("numeric(10,2)", "numeric(12,3)"),
    ("numeric(10,2)", "numeric(8,2)"),
    ("numeric(10,2)", "numeric"),
    ("cidr", "inet"),
    ("int", "int USING c + 0"),
    ("varbit(4)", "varbit(8)"),
    ("text", "integer USING length(c)"),
]

VALUES = {"cidr": "'10.0.0.0/8'", "varbit": "B'1'", "int": "1", "bigint": "1", "numeric": "1.5"}


def _value(old: str) -> str:
    return next((v for k, v in VALUES.items() if old.startswith(k)), "'x'")


def test_type_change_rewrite_matches_relfilenode(database: str) -> None:
    setup = "".join(
        f"CREATE TABLE t{i} (id int PRIMARY KEY, c {old}); INSERT INTO t{i} VALUES (1, {_value(old)});"
        for i, (old, _) in enumerate(TYPE_CHANGES)
    )
    run_sql(database, setup)
    catalog = introspect(database)
    migration = "".join(f"ALTER TABLE t{i} ALTER COLUMN c TYPE {new};\n" for i, (_, new) in enumerate(TYPE_CHANGES))
    findings = lint_migrations(catalog, [PendingMigration("m.sql", migration, 0)])
    reported = {f.name for f in findings if f.rule == "type-change-rewrite"}
    rewritten = set()
    with psycopg.connect(database, autocommit=True) as conn:
        for i, (_, new) in enumerate(TYPE_CHANGES):
            before = conn.execute(f"SELECT relfilenode FROM pg_class WHERE oid = 't{i}'::regclass").fetchone()
            conn.execute(f"ALTER TABLE t{i} ALTER COLUMN c TYPE {new}".encode())
            after = conn.execute(f"SELECT relfilenode FROM pg_class WHERE oid = 't{i}'::regclass").fetchone()
            if before != after:
                rewritten.add(f"t{i}.c")
    assert reported == rewritten
    assert {"t1.c", "t7.c"} <= rewritten and "t0.c" not in rewritten  # the oracle saw both kinds
    line = {f.name: f.message.split(":")[1] for f in findings}
    assert line["t1.c"] == "2"


def test_not_null_column_without_default_fails_on_a_table_with_rows(database: str) -> None:
    run_sql(database, "CREATE TABLE filled (id int); INSERT INTO filled VALUES (1);")
    catalog = introspect(database)
    cases = {
        "a": "ALTER TABLE filled ADD COLUMN a int NOT NULL",
        "b": "ALTER TABLE filled ADD COLUMN b int NOT NULL DEFAULT 0",
        "c": "ALTER TABLE filled ADD COLUMN c int",
        "d": "ALTER TABLE public.filled ADD COLUMN d int PRIMARY KEY",
        "e": "ALTER TABLE filled ADD COLUMN e bigint GENERATED ALWAYS AS IDENTITY",
    }
    findings = lint_migrations(
        catalog, [PendingMigration("m.sql", ";\n".join(cases.values()) + ";", 0)], LintSettings()
    )
    reported = {f.name.split(".")[1] for f in findings if f.rule == "add-not-null-column"}
    failing = set()
    with psycopg.connect(database, autocommit=True) as conn:
        for column, sql in cases.items():
            try:
                with conn.transaction():
                    conn.execute(sql.encode())
                    raise _Rollback
            except psycopg.errors.NotNullViolation:
                failing.add(column)
            except _Rollback:
                pass
    assert reported == failing == {"a", "d"}
    assert all(f.level == "error" for f in findings)
    # A table created by the pending migrations themselves has no rows yet.
    fresh = "CREATE TABLE fresh (id int);\nALTER TABLE fresh ADD COLUMN a int NOT NULL;\nCREATE INDEX ON fresh (id);"
    assert lint_migrations(catalog, [PendingMigration("n.sql", fresh, 0)]) == []


class _Rollback(Exception):
    pass


def test_plain_create_index_blocks_writes_and_is_reported(database: str) -> None:
    run_sql(database, "CREATE TABLE busy (id int); INSERT INTO busy SELECT generate_series(1, 10);")
    catalog = introspect(database)
    sql = "-- a comment\n\nCREATE INDEX busy_id ON busy (id);\nCREATE INDEX CONCURRENTLY busy_id2 ON busy (id);\n"
    findings = lint_migrations(catalog, [PendingMigration("nself/migrations/002_x.sql", sql, 4)])
    assert [(f.rule, f.name) for f in findings] == [("index-not-concurrent", "busy")]
    assert findings[0].message.startswith("nself/migrations/002_x.sql:7: CREATE INDEX busy_id")
    # The oracle: while the plain CREATE INDEX's transaction is open, an INSERT waits.
    builder = psycopg.connect(database)
    try:
        builder.execute("CREATE INDEX busy_id ON busy (id)")
        with psycopg.connect(database, autocommit=True) as writer:
            writer.execute("SET lock_timeout = '50ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                writer.execute("INSERT INTO busy VALUES (11)")
    finally:
        builder.rollback()
        builder.close()


def test_pending_migrations_are_those_not_in_the_history(database: str, tmp_path: Path) -> None:
    from nself.runtime.migrate import apply_migrations

    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_first.sql").write_text("-- migrate:up\nCREATE TABLE a (id int);\n")
    assert [m.path for m in pending_migrations(database, folder)] == [str(folder / "001_first.sql")]
    apply_migrations(database, folder)
    (folder / "002_second.sql").write_text("-- migrate:up\nALTER TABLE a ADD COLUMN b int NOT NULL;\n")
    (pending,) = pending_migrations(database, folder)
    findings = lint_migrations(introspect(database), [pending])
    assert [f.message.split(": ")[0] for f in findings] == [f"{folder / '002_second.sql'}:2"]


PLPGSQL = """
CREATE TABLE items (id int PRIMARY KEY, price numeric);
CREATE FUNCTION good_total() RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT sum(price) FROM items);
END $$;
CREATE FUNCTION bad_total() RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT sum(cost) FROM items);
END $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.nosuch := 1;
  RETURN NEW;
END $$;
CREATE TRIGGER items_touch BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION touch();
CREATE FUNCTION first_of(a anyelement, b anyelement) RETURNS anyelement LANGUAGE plpgsql AS $$
BEGIN
  RETURN coalesce(a, b);
END $$;
CREATE FUNCTION unused_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
"""


def test_plpgsql_check_finds_what_calling_the_function_finds(database: str) -> None:
    run_sql(database, PLPGSQL)
    findings, why = plpgsql_findings(database)
    if why is not None and "not available" in why:
        pytest.skip(why)  # CI installs postgresql-15-plpgsql-check (.ci/run)
    assert why is None
    reported = {f.name for f in findings if f.level == "error"}
    failing = set()
    with psycopg.connect(database, autocommit=True) as conn:
        for name, call in (
            ("good_total()", "SELECT good_total()"),
            ("bad_total()", "SELECT bad_total()"),
            ("touch()", "INSERT INTO items VALUES (1, 2)"),
        ):
            try:
                with conn.transaction():
                    conn.execute(call.encode())
                    raise _Rollback
            except psycopg.errors.UndefinedColumn:
                failing.add(name)
            except _Rollback:
                pass
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'plpgsql_check'").fetchone() == (0,)
        assert conn.execute("SELECT to_regnamespace('nself_plpgsql_check')").fetchone() == (None,)
    assert reported == failing == {"bad_total()", "touch()"}
    bad = next(f for f in findings if f.name == "bad_total()")
    assert bad.message.startswith("line 3: ") and "cost" in bad.message
    assert plpgsql_findings(database, LintSettings(skip=frozenset({"plpgsql-check"}))) == ([], None)

