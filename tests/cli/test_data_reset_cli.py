"""`nself data reset` through the real CLI: JSON report, confirmation, production refusal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.clitools import run_nself
from tests.conftest import NewDatabase, run_sql

CONFIG = """
[environments.staging]
url = "env:NSELF_TEST_STAGING_URL"

[environments.prod]
url = "env:NSELF_TEST_PROD_URL"
production = true
"""


@pytest.fixture
def project(tmp_path: Path, new_database: NewDatabase) -> tuple[Path, dict[str, str]]:
    (tmp_path / "nself.toml").write_text(CONFIG)
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_20260101_t.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (id serial PRIMARY KEY, v text);\n-- migrate:down\nDROP TABLE t;\n"
    )
    seeds = tmp_path / "nself" / "seeds" / "staging"
    seeds.mkdir(parents=True)
    (seeds / "001_t.sql").write_text("INSERT INTO t (v) VALUES ('seeded');\n")
    env = {"NSELF_TEST_STAGING_URL": new_database("staging"), "NSELF_TEST_PROD_URL": new_database("prod")}
    for url in env.values():
        run_sql(url, "CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) VALUES ('a'), ('b');")
    return tmp_path, env


def rows(url: str) -> list[tuple[int, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, v FROM t ORDER BY id").fetchall()


def test_keep_schema_keep_seeds_json(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    result = run_nself(
        "data",
        "reset",
        "--env",
        "staging",
        "--keep-schema",
        "--keep-seeds",
        "--yes",
        "--json",
        cwd=root,
        env=env,
    )
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout) == {
        "environment": "staging",
        "mode": "truncated",
        "tables": ["public.t"],
        "migrations": [],
        "seeds": ["staging/001_t.sql"],
    }
    assert rows(env["NSELF_TEST_STAGING_URL"]) == [(1, "seeded")]


def test_rebuild_prints_a_summary(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    result = run_nself("data", "reset", "--env", "staging", "--yes", cwd=root, env=env)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "staging: dropped everything, applied 1 migration(s)"
    assert rows(env["NSELF_TEST_STAGING_URL"]) == []


def test_without_yes_and_no_terminal_it_refuses(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    done = subprocess.run(
        [sys.executable, "-P", "-m", "nself", "data", "reset", "--env", "staging"],
        cwd=root,
        env={**os.environ, "NO_COLOR": "1", **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "error: refusing to reset the data on 'staging' without --yes: stdin is not a terminal"
    ]
    assert rows(env["NSELF_TEST_STAGING_URL"]) == [(1, "a"), (2, "b")]


def test_production_is_refused_before_connecting(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    result = run_nself("data", "reset", "--env", "prod", "--keep-schema", "--yes", cwd=root, env=env)
    assert result.code == 1
    assert "refusing to reset the data on 'prod'" in result.stderr
    assert rows(env["NSELF_TEST_PROD_URL"]) == [(1, "a"), (2, "b")]
