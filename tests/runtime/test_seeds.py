"""Seeds against a real PostgreSQL: skip unchanged, re-run changed, --fresh, and
extract-then-run giving back exactly the same rows."""

from __future__ import annotations

from pathlib import Path

import psycopg

from nself.runtime.seeds import create_seed, discover_seeds, extract_seed, run_seeds, seed_status
from tests.conftest import NewDatabase, run_sql

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a integer, b text);
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, mood mood);
CREATE TABLE posts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id int REFERENCES users,
    title text,
    tags text[],
    grid integer[][],
    meta jsonb,
    raw bytea,
    p pair,
    at timestamptz,
    price numeric(10, 2),
    slug text GENERATED ALWAYS AS (lower(title)) STORED
);
"""

ROWS = """
INSERT INTO users (email, mood) VALUES ('a@x.org', 'happy'), ('b@x.org', NULL), ('o''brien@x.org', 'sad');
INSERT INTO posts (user_id, title, tags, grid, meta, raw, p, at, price) VALUES
  (1, 'Hello, "World"', '{a,"b c",NULL}', '{{1,2},{3,4}}', '{"k": [1, null, "x\\\\y"]}', '\\x00ff5c27', ROW(1, 'x,y'), '2026-01-02 03:04:05+02', 12.5),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (2, E'tab\\there\\nnewline', '{}', '{}', 'null', '', ROW(NULL, ''), 'infinity', -0.01);
"""


def checksum(url: str, table: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t").fetchone()
    assert row is not None
    return str(row[0])


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def test_extract_then_run_gives_back_the_same_rows(new_database: NewDatabase, tmp_path: Path) -> None:
    source, target = new_database(), new_database()
    run_sql(source, SCHEMA + ROWS)
    run_sql(target, SCHEMA)
    seeds = tmp_path / "seeds"
    # Children named first: the extract must still put parents first.
    create_seed(seeds, "all", body=extract_seed(source, ["posts", "public.users"]))
    runs = run_seeds(target, seeds, "local")
    assert [r.action for r in runs] == ["ran"]
    for table in ("users", "posts"):
        assert checksum(target, table) == checksum(source, table)
    # Sequences moved past the extracted ids: new rows do not collide.
    run_sql(target, "INSERT INTO users (email) VALUES ('new@x.org'); INSERT INTO posts (title) VALUES ('new');")


def test_extract_with_where(new_database: NewDatabase, tmp_path: Path) -> None:
    source = new_database()
    run_sql(source, SCHEMA + ROWS)
    text = extract_seed(source, ["users"], where="mood = 'happy'")
    assert text.count("INSERT INTO") == 1 and "a@x.org" in text


def test_skip_rerun_and_fresh(database: str, tmp_path: Path) -> None:
    run_sql(database, SCHEMA)
    seeds = tmp_path / "seeds"
    first = create_seed(seeds, "users", body="INSERT INTO users (email) VALUES ('a@x.org');\n")
    create_seed(seeds, "demo", environment="local", body="INSERT INTO users (email) VALUES ('local@x.org');\n")
    create_seed(seeds, "staging_only", environment="staging", body="INSERT INTO users (email) VALUES ('s@x.org');\n")
    assert [s.name for s in discover_seeds(seeds, "local")] == ["001_users.sql", "local/001_demo.sql"]

    assert [r.action for r in run_seeds(database, seeds, "local")] == ["ran", "ran"]
    assert [r.action for r in run_seeds(database, seeds, "local")] == ["skipped", "skipped"]
    assert {s.status for s in seed_status(database, seeds, "local")} == {"ran"}

    first.write_text("INSERT INTO users (email) VALUES ('b@x.org');\n")
    assert [s.status for s in seed_status(database, seeds, "local")] == ["changed", "ran"]
    assert [r.action for r in run_seeds(database, seeds, "local")] == ["ran", "skipped"]
    assert count(database, "users") == 3

    assert [r.action for r in run_seeds(database, seeds, "local", fresh=True)] == ["ran", "ran"]
    assert count(database, "users") == 2


def test_a_failing_seed_names_its_line_and_changes_nothing(database: str, tmp_path: Path) -> None:
    run_sql(database, SCHEMA)
    seeds = tmp_path / "seeds"
    bad = create_seed(seeds, "bad", body="INSERT INTO users (email) VALUES ('a@x.org');\nINSERT INTO users (nope) VALUES (1);\n")
    try:
        run_seeds(database, seeds, "local")
    except Exception as exc:
        assert str(exc).startswith(f"{bad}:2:")
    else:
        raise AssertionError("the seed should have failed")
    assert count(database, "users") == 0
    assert [s.status for s in seed_status(database, seeds, "local")] == ["new"]
