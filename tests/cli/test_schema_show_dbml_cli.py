"""`schema show --format dbml` says on stderr what DBML cannot hold, and never writes a
stricter schema than the database's: rows PostgreSQL accepts in the source are accepted by
the schema the DBML file makes (PostgreSQL is the oracle, through a round trip)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from tests.clitools import run_nself
from tests.conftest import NewDatabase, run_sql

SCHEMA = """
CREATE TABLE account (id int PRIMARY KEY, email text NOT NULL, deleted_at timestamptz);
CREATE UNIQUE INDEX account_live_email ON account (email) WHERE deleted_at IS NULL;
CREATE VIEW live_account AS SELECT id, email FROM account WHERE deleted_at IS NULL;
"""
# Two rows with one email: allowed, since one of them is deleted.
ROWS = "INSERT INTO account VALUES (1, 'a@x', now()), (2, 'a@x', NULL)"


def test_dbml_warns_about_what_it_leaves_out_and_is_never_stricter(tmp_path: Path, new_database: NewDatabase) -> None:
    source, roundtrip = new_database("src"), new_database("rt")
    run_sql(source, SCHEMA + ROWS)
    done = run_nself("schema", "show", "--from", source, "--format", "dbml", "-o", str(tmp_path / "s.dbml"), cwd=tmp_path)
    assert done.code == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert any("account_live_email" in w and "WHERE" in w and "deleted_at IS NULL" in w for w in warnings), done.stderr
    assert any("view" in w and "live_account" in w for w in warnings), done.stderr
    assert "account_live_email" not in (tmp_path / "s.dbml").read_text()

    sql = run_nself("schema", "show", "--from", str(tmp_path / "s.dbml"), "--format", "sql", cwd=tmp_path)
    assert sql.code == 0, sql.stderr
    run_sql(roundtrip, sql.stdout)
    run_sql(roundtrip, ROWS)  # raises if the DBML made the index unique on every row
    with psycopg.connect(roundtrip) as conn:
        assert conn.execute("SELECT count(*) FROM account").fetchone() == (2,)


def test_a_schema_dbml_holds_whole_gives_no_warning(tmp_path: Path, database: str) -> None:
    run_sql(database, "CREATE TABLE t (id int PRIMARY KEY, name text UNIQUE)")
    done = run_nself("schema", "show", "--from", database, "--format", "dbml", cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "warning" not in done.stderr
