"""`nself data export --format parquet` and `nself data import` of the files, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.clitools import run_nself
from tests.conftest import NewDatabase, run_sql

pytest.importorskip("pyarrow")

SCHEMA = (
    "CREATE TYPE mood AS ENUM ('ok', 'sad');"
    "CREATE TABLE t (id int PRIMARY KEY, n numeric(8,3), at timestamptz, m mood, tags text[], doc jsonb, b bytea);"
)
ROWS = (
    "INSERT INTO t VALUES (1, 12.5, '2024-01-02 03:04:05+02', 'ok', '{a,\"b c\"}', '{\"k\": [1, 2]}', '\\x00ff'),"
    " (2, NULL, NULL, NULL, NULL, NULL, NULL)"
)


def test_export_parquet_then_import(tmp_path: Path, new_database: NewDatabase) -> None:
    (tmp_path / "nself.toml").write_text(
        '[environments.a]\nurl = "env:T_A_URL"\n[environments.b]\nurl = "env:T_B_URL"\n'
    )
    env = {"T_A_URL": new_database("pa"), "T_B_URL": new_database("pb")}
    run_sql(env["T_A_URL"], SCHEMA + ROWS)
    run_sql(env["T_B_URL"], SCHEMA)
    out = run_nself(
        "data", "export", "--env", "a", "--format", "parquet", "-o", "out", "--json", cwd=tmp_path, env=env
    )
    assert out.code == 0, out.stderr
    assert json.loads(out.stdout)["tables"] == [
        {"table": "public.t", "path": "out/public.t.parquet", "rows": 2}
    ]
    back = run_nself("data", "import", "out", "--env", "b", cwd=tmp_path, env=env)
    assert back.code == 0, back.stderr
    query = "SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM t"
    with psycopg.connect(env["T_A_URL"]) as a, psycopg.connect(env["T_B_URL"]) as b:
        assert a.execute(query).fetchone() == b.execute(query).fetchone()
    (tmp_path / "bad.parquet").write_text("not parquet")
    bad = run_nself("data", "import", "bad.parquet", "--env", "b", "--table", "t", cwd=tmp_path, env=env)
    assert bad.code == 1
    assert bad.stderr.startswith("error: bad.parquet: not a Parquet file") and bad.stderr.count("\n") == 1
