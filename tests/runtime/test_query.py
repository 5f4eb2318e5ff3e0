"""`nself db query` and `nself db shell` plumbing against a real PostgreSQL."""

from __future__ import annotations

import subprocess

import pytest

from nself.errors import SourceError
from nself.runtime.query import psql_environment, run_query
from tests.conftest import run_sql


def test_query_returns_every_result_set(database: str) -> None:
    run_sql(database, "CREATE TABLE t (id int, name text); INSERT INTO t VALUES (1, 'a'), (2, NULL);")
    first, result = run_query(database, "SELECT 1; SELECT id, name FROM t ORDER BY id")
    assert (first.columns, first.rows, first.status) == (["?column?"], [("1",)], "SELECT 1")
    assert result.columns == ["id", "name"]
    assert result.rows == [("1", "a"), ("2", None)]  # PostgreSQL's text, as psql prints it
    assert [r.status for r in run_query(database, "UPDATE t SET name = 'b'; DELETE FROM t")] == [
        "UPDATE 2",
        "DELETE 2",
    ]


def test_query_errors_name_line_and_column(database: str) -> None:
    with pytest.raises(SourceError, match=r"^q.sql:2:8: column \"nope\" does not exist"):
        run_query(database, "SELECT 1;\nSELECT nope FROM pg_class;", "q.sql")


def test_shell_passes_the_password_in_the_environment_not_argv(database: str) -> None:
    url = database.replace("postgres@", "postgres:s3cret@")
    env = psql_environment(url)
    assert env["PGPASSWORD"] == "s3cret"
    assert "s3cret" not in env["PGHOST"] + env["PGDATABASE"] + env["PGUSER"]
    done = subprocess.run(["psql", "-tAc", "select current_database()"], env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == env["PGDATABASE"]
