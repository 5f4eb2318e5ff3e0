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

    fresh = run_nself("seed", "run", "--fresh", "--yes", "--env", "staging", cwd=tmp_path, env=env)
    assert fresh.code == 0, fresh.stderr
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM roles").fetchone() == (3,)


def seed_project(tmp_path: Path, database: str) -> dict[str, str]:
    run_sql(
        database,
        "CREATE TABLE users (id serial PRIMARY KEY, email text); "
        "CREATE TABLE review (id serial PRIMARY KEY, user_id int REFERENCES users, body text);",
    )
    (tmp_path / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_SEED_URL"\n')
    seeds = tmp_path / "nself" / "seeds"
    seeds.mkdir(parents=True)
    (seeds / "001_users.sql").write_text("INSERT INTO users (email) VALUES ('a@x.org');\n")
    return {"NSELF_SEED_URL": database}


def test_fresh_names_what_it_would_empty_and_cascade_says_what_it_emptied(tmp_path: Path, database: str) -> None:
    env = seed_project(tmp_path, database)
    assert run_nself("seed", "--env", "staging", cwd=tmp_path, env=env).code == 0
    run_sql(database, "INSERT INTO review (user_id, body) VALUES (1, 'kept');")
    refused = run_nself("seed", "--fresh", "--yes", "--env", "staging", cwd=tmp_path, env=env)
    assert refused.code == 1 and refused.stderr.count("\n") == 1
    assert "public.review" in refused.stderr and "--cascade" in refused.stderr
    cascade = run_nself("seed", "run", "--fresh", "--cascade", "--yes", "--env", "staging", cwd=tmp_path, env=env)
    assert cascade.code == 0, cascade.stderr
    assert "emptied public.review, public.users" in cascade.stdout
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM review)").fetchone() == (1, 0)


def test_extract_where_cannot_change_anything(tmp_path: Path, database: str) -> None:
    env = seed_project(tmp_path, database)
    for where in ("1=1; drop table review; --", "true; DROP TABLE review; SELECT '' --"):
        result = run_nself("seed", "extract", "users", "--where", where, "-o", "x.sql", "--env", "staging", cwd=tmp_path, env=env)
        assert result.code == 1 and result.stderr.startswith("error: --where: ") and result.stderr.count("\n") == 1
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regclass('review') IS NOT NULL").fetchone() == (True,)
    ok = run_nself("seed", "extract", "users", "--where", "email LIKE '%@x.org'", "-o", "x.sql", "--env", "staging", cwd=tmp_path, env=env)
    assert ok.code == 0, ok.stderr
    bad_name = run_nself("seed", "extract", "a..b", "--env", "staging", cwd=tmp_path, env=env)
    assert bad_name.code == 1 and "a..b" in bad_name.stderr and "internal error" not in bad_name.stderr


def test_fresh_is_refused_on_production(tmp_path: Path, database: str) -> None:
    env = seed_project(tmp_path, database)
    (tmp_path / "nself.toml").write_text('[environments.prod]\nurl = "env:NSELF_SEED_URL"\nproduction = true\n')
    assert run_nself("seed", "--env", "prod", cwd=tmp_path, env=env).code == 0
    refused = run_nself("seed", "--fresh", "--env", "prod", cwd=tmp_path, env=env)
    assert refused.code == 1 and "production" in refused.stderr
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (1,)
