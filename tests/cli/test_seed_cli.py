"""`nself seed` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.clitools import run_nself
from tests.conftest import run_sql


def test_seed_lifecycle(tmp_path: Path, database: str) -> None:
    run_sql(database, "CREATE TABLE roles (id serial PRIMARY KEY, name text UNIQUE NOT NULL);")
    (tmp_path / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_SEED_URL"\n')
    env = {"NSELF_SEED_URL": database}
    assert run_nself("seed", "init", cwd=tmp_path).code == 0
    created = run_nself("seed", "create", "roles", cwd=tmp_path)
    assert created.code == 0, created.stderr
    seed = tmp_path / "nself/seeds/001_roles.sql"
    seed.write_text("INSERT INTO roles (name) VALUES ('admin'), ('editor');\n")
    (tmp_path / "nself/seeds/staging").mkdir()
    (tmp_path / "nself/seeds/staging/001_demo.sql").write_text("INSERT INTO roles (name) VALUES ('demo');\n")

    listed = run_nself("seed", "list", "--env", "staging", "--json", cwd=tmp_path, env=env)
    assert json.loads(listed.stdout) == ["001_roles.sql", "staging/001_demo.sql"]
    first = run_nself("seed", "--env", "staging", cwd=tmp_path, env=env)
    assert first.code == 0, first.stderr
    status = json.loads(run_nself("seed", "status", "--env", "staging", "--json", cwd=tmp_path, env=env).stdout)
    assert {s["name"]: s["status"] for s in status} == {"001_roles.sql": "ran", "staging/001_demo.sql": "ran"}

    extracted = run_nself("seed", "extract", "roles", "--where", "name <> 'demo'", "-o", "out.sql", "--env", "staging", cwd=tmp_path, env=env)
    assert extracted.code == 0, extracted.stderr
    assert (tmp_path / "out.sql").read_text().count("INSERT INTO") == 2

    fresh = run_nself("seed", "run", "--fresh", "--env", "staging", cwd=tmp_path, env=env)
    assert fresh.code == 0, fresh.stderr
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM roles").fetchone() == (3,)
