"""Seeds against a real PostgreSQL: skip unchanged, re-run changed, --fresh, and
extract-then-run giving back exactly the same rows."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from nself.errors import OptionError, SourceError
from nself.runtime.seeds import create_seed, discover_seeds, extract_seed, run_seeds, seed_status
from nself.runtime.session import ADVISORY_LOCK_KEY
from tests.conftest import REPO, NewDatabase, run_sql

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


# --------------------------------------------------------------------------- issue 12


def history(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT name, checksum FROM _nself.seeds").fetchall())  # type: ignore[arg-type]


FK_SCHEMA = """
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL);
CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users, title text);
CREATE TABLE comments (id serial PRIMARY KEY, post_id int REFERENCES posts, body text);
CREATE TABLE audit (id serial PRIMARY KEY, what text);
"""


def test_fresh_refuses_to_empty_referencing_tables_unless_cascade(database: str, tmp_path: Path) -> None:
    run_sql(database, FK_SCHEMA)
    seeds = tmp_path / "seeds"
    create_seed(seeds, "users", body="INSERT INTO users (email) VALUES ('a@x.org');\n")
    run_seeds(database, seeds, "local")
    run_sql(
        database,
        "INSERT INTO posts (user_id, title) VALUES (1, 'kept'); INSERT INTO comments (post_id, body) VALUES (1, 'c');"
        "INSERT INTO audit (what) VALUES ('never seeded');",
    )
    before = {t: checksum(database, t) for t in ("users", "posts", "comments", "audit")}
    seen: list[list[str]] = []
    with pytest.raises(OptionError) as refused:
        run_seeds(database, seeds, "local", fresh=True, on_emptied=seen.append)
    # Both referencing tables are named (comments through posts), the unrelated one is not.
    assert "public.posts" in str(refused.value) and "public.comments" in str(refused.value)
    assert "audit" not in str(refused.value) and "--cascade" in str(refused.value)
    assert {t: checksum(database, t) for t in before} == before and seen == []

    runs = run_seeds(database, seeds, "local", fresh=True, cascade=True, on_emptied=seen.append)
    assert [r.action for r in runs] == ["ran"]
    assert seen == [["public.comments", "public.posts", "public.users"]]
    assert (count(database, "users"), count(database, "posts"), count(database, "comments")) == (1, 0, 0)
    assert checksum(database, "audit") == before["audit"]


def test_fresh_takes_empty_referencing_tables_along(database: str, tmp_path: Path) -> None:
    run_sql(database, FK_SCHEMA)
    seeds = tmp_path / "seeds"
    create_seed(seeds, "users", body="WITH u AS (INSERT INTO users (email) VALUES ('a@x.org') RETURNING id) SELECT 1;\n")
    run_seeds(database, seeds, "local")
    seen: list[list[str]] = []
    run_seeds(database, seeds, "local", fresh=True, on_emptied=seen.append)
    assert seen == [["public.comments", "public.posts", "public.users"]]
    with psycopg.connect(database) as conn:  # RESTART IDENTITY: ids start again
        assert conn.execute("SELECT id FROM users").fetchall() == [(1,)]


def test_a_failing_fresh_run_leaves_rows_and_history_as_they_were(database: str, tmp_path: Path) -> None:
    run_sql(database, FK_SCHEMA)
    seeds = tmp_path / "seeds"
    create_seed(seeds, "users", body="INSERT INTO users (email) VALUES ('a@x.org'), ('b@x.org');\n")
    second = create_seed(seeds, "posts", body="INSERT INTO posts (user_id, title) VALUES (1, 'p');\n")
    run_seeds(database, seeds, "local")
    before, recorded = checksum(database, "users"), history(database)
    second.write_text("INSERT INTO posts (user_id, title) VALUES (1, 'p');\nINSERT INTO posts (nope) VALUES (1);\n")
    with pytest.raises(SourceError, match=r"002_posts.sql:2:"):
        run_seeds(database, seeds, "local", fresh=True)
    assert checksum(database, "users") == before and count(database, "posts") == 1
    assert history(database) == recorded


def test_fresh_with_one_seed_forgets_the_seeds_whose_rows_it_removed(database: str, tmp_path: Path) -> None:
    run_sql(database, FK_SCHEMA)
    seeds = tmp_path / "seeds"
    create_seed(seeds, "admins", body="INSERT INTO users (email) VALUES ('admin@x.org');\n")
    create_seed(seeds, "more", body="INSERT INTO users (email) VALUES ('more@x.org');\n")
    create_seed(seeds, "audit", body="INSERT INTO audit (what) VALUES ('x');\n")
    run_seeds(database, seeds, "local")
    run_seeds(database, seeds, "local", only="001_admins", fresh=True)
    # 002's rows went with the TRUNCATE: it is new again; 003 wrote elsewhere and still ran.
    assert [s.status for s in seed_status(database, seeds, "local")] == ["ran", "new", "ran"]


def test_session_state_does_not_leak_from_one_seed_into_the_next(database: str, tmp_path: Path) -> None:
    run_sql(database, FK_SCHEMA)
    seeds = tmp_path / "seeds"
    create_seed(seeds, "a", body="SELECT set_config('search_path', '', false);\nCREATE TEMP TABLE scratch (x int);\n")
    create_seed(seeds, "b", body="CREATE TEMP TABLE scratch (x int);\nINSERT INTO users (email) VALUES ('b@x.org');\n")
    assert [r.action for r in run_seeds(database, seeds, "local")] == ["ran", "ran"]
    # The same inside one transaction (--fresh), where DISCARD ALL cannot run.
    assert [r.action for r in run_seeds(database, seeds, "local", fresh=True)] == ["ran", "ran"]
    assert count(database, "users") == 1


def test_transaction_control_in_a_seed_is_refused_before_anything_runs(database: str, tmp_path: Path) -> None:
    run_sql(database, FK_SCHEMA)
    seeds = tmp_path / "seeds"
    create_seed(seeds, "first", body="INSERT INTO users (email) VALUES ('a@x.org');\n")
    bad = create_seed(seeds, "bad", body="INSERT INTO audit (what) VALUES ('x');\n  -- done\n  COMMIT;\n")
    with pytest.raises(SourceError) as refused:
        run_seeds(database, seeds, "local")
    assert str(refused.value).startswith(f"{bad}:3:3: COMMIT inside a seed")
    assert count(database, "users") == 0 and count(database, "audit") == 0
    assert [s.status for s in seed_status(database, seeds, "local")] == ["new", "new"]


def test_concurrent_seed_processes_apply_a_new_seed_once(database: str, tmp_path: Path) -> None:
    """Two real `nself seed` processes, released at the same moment: the test holds nself's
    advisory lock until both wait on it."""
    run_sql(database, "CREATE TABLE hits (n int);")
    (tmp_path / "nself.toml").write_text('[environments.local]\nurl = "env:NSELF_SEED_URL"\n')
    create_seed(tmp_path / "nself" / "seeds", "hit", body="INSERT INTO hits VALUES (1);\n")
    environ = {**os.environ, "NSELF_SEED_URL": database, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    with psycopg.connect(database, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        procs = [
            subprocess.Popen(
                [sys.executable, "-P", "-m", "nself", "seed"],
                cwd=tmp_path,
                env=environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        try:
            for _ in range(600):
                waiting = holder.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ).fetchone()
                if waiting == (2,) or any(p.poll() is not None for p in procs):
                    break
                time.sleep(0.1)
            assert waiting == (2,), [p.communicate() for p in procs]
        finally:
            holder.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
        outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert count(database, "hits") == 1
    assert sorted("ran" in out for out, _ in outputs) == [False, True]


@pytest.mark.parametrize(
    "where",
    [
        "1=1; drop table posts; --",
        "true; DROP TABLE posts; SELECT '' --",
        "true) OR (true",
        "true ORDER BY 1",
        "true UNION SELECT 'x'",
        "true FOR UPDATE",
        "",
    ],
)
def test_extract_where_is_one_expression(new_database: NewDatabase, where: str) -> None:
    source = new_database()
    run_sql(source, SCHEMA + ROWS)
    with pytest.raises(OptionError, match=r"^--where: "):
        extract_seed(source, ["users"], where=where)
    assert count(source, "users") == 3 and count(source, "posts") == 3


def test_extract_reads_in_a_read_only_transaction(new_database: NewDatabase) -> None:
    source = new_database()
    run_sql(source, SCHEMA + ROWS + "CREATE SEQUENCE s;")
    with pytest.raises(OptionError, match="read-only transaction"):
        extract_seed(source, ["users"], where="nextval('s') > 0")
    with psycopg.connect(source) as conn:
        assert conn.execute("SELECT last_value, is_called FROM s").fetchone() == (1, False)
    with pytest.raises(OptionError, match=r"a\.\.b"):
        extract_seed(source, ["a..b"])


def test_fresh_empties_partitions_with_their_table_and_leaves_views_alone(database: str, tmp_path: Path) -> None:
    run_sql(
        database,
        "CREATE TABLE m (at date NOT NULL, v int) PARTITION BY RANGE (at);"
        "CREATE TABLE m_2026 PARTITION OF m FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
        "CREATE TABLE base (id int); CREATE VIEW through AS SELECT id FROM base;"
        "INSERT INTO base VALUES (7);",
    )
    seeds = tmp_path / "seeds"
    create_seed(seeds, "m", body="INSERT INTO m VALUES ('2026-05-01', 1);\nINSERT INTO through VALUES (8);\n")
    run_seeds(database, seeds, "local")
    seen: list[list[str]] = []
    run_seeds(database, seeds, "local", fresh=True, on_emptied=seen.append)
    assert seen == [["public.m"]]
    assert count(database, "m_2026") == 1 and count(database, "base") == 3
