"""The migrations runner against a real PostgreSQL: apply, status, rollback, failure
mid-file, concurrency and drift."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from nself.errors import SourceError
from nself.runtime.migrate import (
    apply_migrations,
    create_migration,
    drop_everything,
    migration_status,
    rollback_migrations,
)


def write(directory: Path, name: str, up: str, down: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"-- migrate:up\n{up}\n-- migrate:down\n{down}\n")
    return path


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def statuses(url: str, directory: Path) -> dict[str, str]:
    return {s.version: s.status for s in migration_status(url, directory)}


@pytest.fixture
def project_migrations(tmp_path: Path) -> Path:
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_users.sql", "CREATE TABLE users (id serial PRIMARY KEY, email text);", "DROP TABLE users;")
    write(
        directory,
        "002_20260102_posts.sql",
        "CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users);\nCREATE INDEX ON posts (user_id);",
        "DROP TABLE posts;",
    )
    return directory


def test_apply_status_rollback(database: str, project_migrations: Path) -> None:
    assert statuses(database, project_migrations) == {"001": "pending", "002": "pending"}
    runs = apply_migrations(database, project_migrations)
    assert [r.version for r in runs] == ["001", "002"]
    assert tables(database) == {"users", "posts"}
    assert statuses(database, project_migrations) == {"001": "applied", "002": "applied"}
    assert apply_migrations(database, project_migrations) == []

    rolled = rollback_migrations(database, project_migrations)
    assert [r.version for r in rolled] == ["002"]
    assert tables(database) == {"users"}
    assert statuses(database, project_migrations) == {"001": "applied", "002": "pending"}
    apply_migrations(database, project_migrations)
    rollback_migrations(database, project_migrations, steps=2)
    assert tables(database) == set()


def test_failure_mid_file_leaves_schema_and_history_as_they_were(database: str, project_migrations: Path) -> None:
    apply_migrations(database, project_migrations)
    bad = write(
        project_migrations,
        "003_20260103_broken.sql",
        "CREATE TABLE tags (id int);\nALTER TABLE tags ADD COLUMN name text;\n\nINSERT INTO tags VALUES (1, 'a', 'too many');",
    )
    with pytest.raises(SourceError) as info:
        apply_migrations(database, project_migrations)
    # The up section starts on line 2 of the file; the INSERT is its 4th line.
    assert str(info.value).startswith(f"{bad}:5:")
    assert "INSERT has more expressions than target columns" in str(info.value)
    assert "tags" not in tables(database)
    assert statuses(database, project_migrations)["003"] == "pending"


def test_checksum_drift_is_reported(database: str, project_migrations: Path) -> None:
    apply_migrations(database, project_migrations)
    first = project_migrations / "001_20260101_users.sql"
    first.write_text(first.read_text().replace("email text", "email text NOT NULL"))
    assert statuses(database, project_migrations) == {"001": "changed", "002": "applied"}
    first.unlink()
    assert statuses(database, project_migrations)["001"] == "missing"


def test_concurrent_runs_apply_each_file_once(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_slow.sql", "CREATE TABLE runs (n int);\nSELECT pg_sleep(0.5);\nINSERT INTO runs VALUES (1);")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            apply_migrations(database, directory)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM _nself.migrations").fetchone() == (1,)


def test_no_transaction_marker_allows_concurrent_index(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_t.sql", "CREATE TABLE t (x int);")
    (directory / "002_20260102_idx.sql").write_text(
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY t_x_idx ON t (x);\n-- migrate:down\nDROP INDEX t_x_idx;\n"
    )
    apply_migrations(database, directory)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 't_x_idx'").fetchone() == (1,)


def test_drop_everything_then_reapply(database: str, project_migrations: Path) -> None:
    apply_migrations(database, project_migrations)
    drop_everything(database)
    assert tables(database) == set()
    assert [r.version for r in apply_migrations(database, project_migrations)] == ["001", "002"]


def test_create_migration_numbers_follow_the_highest(tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    write(directory, "007_20260101_x.sql", "")
    path = create_migration(directory, "Add Posts!")
    assert path.name.startswith("008_") and path.name.endswith("_add_posts.sql")
    text = path.read_text()
    assert text.index("-- migrate:up") < text.index("-- migrate:down")


def test_rollback_without_down_section_is_refused(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_t.sql", "CREATE TABLE t (x int);")
    apply_migrations(database, directory)
    with pytest.raises(Exception, match="has no down section"):
        rollback_migrations(database, directory)
    assert tables(database) == {"t"}
