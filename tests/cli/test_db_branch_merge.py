"""`nself db branch merge` through the real CLI. The oracle is PostgreSQL: the parent's
catalog and rows, its migration history and `migrate:status`; a refused merge leaves every
table of the parent (history included) with the same rows, and its schema the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nself.runtime.branches import create_branch
from nself.runtime.migrate import apply_migrations
from nself.runtime.project import load_project
from tests.clitools import Result, run_nself
from tests.conftest import NewDatabase, run_sql
from tests.corpus import row_checksums

CONFIG = """
[environments.dev]
url = "env:NSELF_MERGE_DEV_URL"
"""

FIRST = """-- migrate:up
CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);
INSERT INTO notes (body) VALUES ('first'), ('second');
-- migrate:down
DROP TABLE notes;
"""
ADD_TAGS = """-- migrate:up
ALTER TABLE notes ADD COLUMN tag text NOT NULL DEFAULT 'none';
CREATE TABLE tags (name text PRIMARY KEY);
-- migrate:down
DROP TABLE tags;
ALTER TABLE notes DROP COLUMN tag;
"""
ADD_AUTHORS = """-- migrate:up
CREATE TABLE authors (id int PRIMARY KEY, name text);
ALTER TABLE notes ADD COLUMN author_id int REFERENCES authors (id);
-- migrate:down
ALTER TABLE notes DROP COLUMN author_id;
DROP TABLE authors;
"""
CONCURRENT_INDEX = """-- nself:no-transaction
-- migrate:up
CREATE INDEX CONCURRENTLY notes_body_idx ON notes (body);
-- migrate:down
DROP INDEX notes_body_idx;
"""


def snapshot(url: str) -> dict[str, object]:
    """Every table's row count and md5 of its rows (the history included), and the
    columns and indexes of the database."""
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            )
        ]
        rows = row_checksums(conn, tables, separator="\n")
        columns = conn.execute(
            "SELECT table_schema, table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, 3"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog') ORDER BY 1"
        ).fetchall()
    return {"rows": rows, "columns": columns, "indexes": indexes}


def history(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [
            (row[0], row[1])
            for row in conn.execute("SELECT version, checksum FROM _nself.migrations ORDER BY applied_order")
        ]


@pytest.fixture
def project(tmp_path: Path, new_database: NewDatabase) -> Iterator[tuple[Path, dict[str, str]]]:
    (tmp_path / "nself.toml").write_text(CONFIG)
    (tmp_path / "nself" / "migrations").mkdir(parents=True)
    (tmp_path / "nself" / "migrations" / "001_20260101_notes.sql").write_text(FIRST)
    env = {"NSELF_MERGE_DEV_URL": new_database("merge")}
    yield tmp_path, env
    url = env["NSELF_MERGE_DEV_URL"]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        prefix = url.rsplit("/", 1)[1] + "\\_\\_%"
        for (name,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix,)
        ).fetchall():
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def nself(root: Path, env: dict[str, str], *args: str, ok: bool = True) -> Result:
    result = run_nself("db", *args, "--env", "dev", cwd=root, env=env)
    if ok:
        assert result.code == 0, result.stderr
    return result


def migrate_on_branch(root: Path, env: dict[str, str], branch: str, *files: tuple[str, str]) -> None:
    """Migrate main, create `branch` from it, add `files` and migrate the branch (through the
    library: the CLI of these is tested in test_db_branch_cli.py and test_migrate_cli.py)."""
    main = env["NSELF_MERGE_DEV_URL"]
    directory = root / "nself" / "migrations"
    apply_migrations(main, directory)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NSELF_MERGE_DEV_URL", main)
        project = load_project(root)
        create_branch(project, project.environment("dev"), branch)
    for name, text in files:
        (directory / name).write_text(text)
    apply_migrations(f"{main}__{branch}", directory)


def test_the_branch_migrations_land_on_the_parent(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    main = env["NSELF_MERGE_DEV_URL"]
    migrate_on_branch(
        root, env, "feat", ("002_20260102_tags.sql", ADD_TAGS), ("003_20260103_authors.sql", ADD_AUTHORS)
    )
    before = json.loads(nself(root, env, "migrate:status", "--json").stdout)
    assert [s["status"] for s in before] == ["applied", "pending", "pending"]

    checked = json.loads(nself(root, env, "branch", "merge", "feat", "--check", "--json").stdout)
    assert checked["to_merge"] == [
        "nself/migrations/002_20260102_tags.sql",
        "nself/migrations/003_20260103_authors.sql",
    ]
    assert checked["migrations"] == [] and checked["checked_on"] == "transaction"
    assert [version for version, _ in history(main)] == ["001"]  # --check applied nothing

    out = nself(root, env, "branch", "merge", "feat").stdout
    assert "applied nself/migrations/002_20260102_tags.sql to main" in out
    after = json.loads(nself(root, env, "migrate:status", "--json").stdout)
    assert [(s["version"], s["status"]) for s in after] == [
        ("001", "applied"),
        ("002", "applied"),
        ("003", "applied"),
    ]
    # The parent's history holds the branch's rows (same versions, same checksums, same order).
    branch_url = main + "__feat"
    assert history(main) == history(branch_url)
    assert snapshot(main)["columns"] == snapshot(branch_url)["columns"]
    with psycopg.connect(main) as conn:
        assert conn.execute("SELECT body, tag, author_id FROM notes ORDER BY id").fetchall() == [
            ("first", "none", None),
            ("second", "none", None),
        ]
    # A second merge has nothing left to apply.
    again = nself(root, env, "branch", "merge", "feat").stdout
    assert "has every migration of branch feat" in again


def test_a_conflicting_merge_changes_nothing(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    main = env["NSELF_MERGE_DEV_URL"]
    migrate_on_branch(
        root, env, "feat", ("002_20260102_tags.sql", ADD_TAGS), ("003_20260103_authors.sql", ADD_AUTHORS)
    )
    # The parent moved on: its own `authors` table (rows in it) makes 003 fail after 002 applied.
    run_sql(main, "CREATE TABLE authors (id int PRIMARY KEY); INSERT INTO authors VALUES (7);")
    before = snapshot(main)
    result = nself(root, env, "branch", "merge", "feat", ok=False)
    assert result.code != 0
    assert "003_20260103_authors.sql no longer applies" in result.stderr
    assert 'relation "authors" already exists' in result.stderr
    assert "nothing was applied" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert snapshot(main) == before
    status = json.loads(nself(root, env, "migrate:status", "--json").stdout)
    assert [s["status"] for s in status] == ["applied", "pending", "pending"]


def test_a_non_transactional_migration_is_checked_on_a_scratch_copy(
    project: tuple[Path, dict[str, str]],
) -> None:
    root, env = project
    main = env["NSELF_MERGE_DEV_URL"]
    migrate_on_branch(
        root,
        env,
        "idx",
        ("002_20260102_tags.sql", ADD_TAGS),
        ("003_20260103_body_index.sql", CONCURRENT_INDEX),
    )
    # Conflict first: the parent's notes lost `body`, so the concurrent index cannot be built.
    run_sql(main, "ALTER TABLE notes RENAME COLUMN body TO text")
    before = snapshot(main)
    result = nself(root, env, "branch", "merge", "idx", ok=False)
    assert "003_20260103_body_index.sql no longer applies" in result.stderr, result.stderr
    assert snapshot(main) == before
    with psycopg.connect(main) as conn:  # the scratch copy is gone
        assert conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'nself_merge_check%'"
        ).fetchone() == (0,)
    # Once the parent accepts them again, the merge applies both, the index outside a transaction.
    run_sql(main, "ALTER TABLE notes RENAME COLUMN text TO body")
    merged = json.loads(nself(root, env, "branch", "merge", "idx", "--json").stdout)
    assert merged["checked_on"] == "scratch copy"
    assert [run["version"] for run in merged["migrations"]] == ["002", "003"]
    assert history(main) == history(main + "__idx")
    assert any("notes_body_idx" in row[0] for row in snapshot(main)["indexes"])  # type: ignore[attr-defined]


def test_edited_file_and_main_are_refused(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    main = env["NSELF_MERGE_DEV_URL"]
    migrate_on_branch(root, env, "feat", ("002_20260102_tags.sql", ADD_TAGS))
    (root / "nself" / "migrations" / "002_20260102_tags.sql").write_text(
        ADD_TAGS.replace("'none'", "'other'")
    )
    before = snapshot(main)
    result = nself(root, env, "branch", "merge", "feat", ok=False)
    assert "002_20260102_tags.sql was edited since the branch applied it" in result.stderr
    assert snapshot(main) == before
    assert "no parent" in nself(root, env, "branch", "merge", "main", ok=False).stderr
