"""The migrations runner against a real PostgreSQL: apply, status, rollback, failure
mid-file, concurrency and drift."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import psycopg
import pytest

from nself.errors import NselfError, SourceError
from nself.runtime.migrate import (
    MigrationFailed,
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


# --------------------------------------------------------------------------- issue 12


def history_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM _nself.migrations").fetchone()
    return int(row[0]) if row else 0


def test_session_state_does_not_leak_from_one_file_into_the_next(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_a.sql", "SELECT set_config('search_path', '', false);\nCREATE TEMP TABLE scratch (x int);\nCREATE TABLE public.a (x int);")
    write(directory, "002_20260102_b.sql", "CREATE TEMP TABLE scratch (x int);\nCREATE TABLE b (x int);")
    assert [r.version for r in apply_migrations(database, directory)] == ["001", "002"]
    # migrate:fresh (drop everything, apply all in one process) gives the same.
    drop_everything(database)
    assert [r.version for r in apply_migrations(database, directory)] == ["001", "002"]
    assert tables(database) == {"a", "b"}


def test_a_role_set_by_a_file_does_not_reach_the_next(database: str, tmp_path: Path) -> None:
    role = f"r_{uuid.uuid4().hex[:8]}"
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_role.sql", f"CREATE ROLE {role};\nSET ROLE {role};")
    write(directory, "002_20260102_t.sql", "CREATE TABLE t (x int);")
    try:
        apply_migrations(database, directory)
        with psycopg.connect(database) as conn:
            assert conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 't'").fetchone() == ("postgres",)
    finally:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS t; DROP ROLE IF EXISTS {role}")


@pytest.mark.parametrize("control", ["COMMIT;", "end;", "BEGIN;", "ROLLBACK;", "START TRANSACTION;", "PREPARE TRANSACTION 'x';"])
def test_transaction_control_is_refused_before_anything_runs(database: str, project_migrations: Path, control: str) -> None:
    bad = write(project_migrations, "003_20260103_half.sql", f"CREATE TABLE half (x int);\n  {control}\nCREATE TABLE other (x int);")
    with pytest.raises(SourceError) as refused:
        apply_migrations(database, project_migrations)
    # Line 3 of the file (the up section starts on line 2), column 3.
    assert str(refused.value).startswith(f"{bad}:3:3: {control.split()[0].rstrip(';').upper()}")
    assert tables(database) == set() and history_rows(database) == 0


def test_begin_commit_blocks_fold_into_the_files_transaction(database: str, tmp_path: Path) -> None:
    """Supabase projects wrap a few statements in BEGIN; ... COMMIT;. Inside nself's own
    transaction the block's statements commit with the rest of the file, all or nothing."""
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_block.sql", "begin;\n  CREATE TABLE a (x int);\ncommit;\nCREATE TABLE b (x int);\nSELEC 1;")
    with pytest.raises(SourceError, match=r"001_20260101_block.sql:6:1: syntax error"):
        apply_migrations(database, directory)
    assert tables(database) == set() and history_rows(database) == 0  # the block went too
    write(directory, "001_20260101_block.sql", "begin;\n  CREATE TABLE a (x int);\ncommit;\nCREATE TABLE b (x int);\nSTART TRANSACTION;\nCREATE TABLE c (x int);\nEND;")
    apply_migrations(database, directory)
    assert tables(database) == {"a", "b", "c"} and history_rows(database) == 1


@pytest.mark.parametrize(
    "block",
    ["BEGIN ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE a (x int);\nCOMMIT;", "BEGIN;\nCREATE TABLE a (x int);\nROLLBACK;", "BEGIN;\nBEGIN;\nCOMMIT;\nCOMMIT;"],
)
def test_other_transaction_blocks_are_still_refused(database: str, tmp_path: Path, block: str) -> None:
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_block.sql", block)
    with pytest.raises(SourceError, match=r"001_20260101_block.sql:\d+:1: (BEGIN|ROLLBACK|COMMIT) inside a migration"):
        apply_migrations(database, directory)
    assert tables(database) == set() and history_rows(database) == 0


def test_savepoints_and_sql_function_bodies_are_not_transaction_control(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    write(
        directory,
        "001_20260101_ok.sql",
        "CREATE TABLE t (x int);\nSAVEPOINT s;\nINSERT INTO t VALUES (1);\nROLLBACK TO SAVEPOINT s;\nRELEASE s;\n"
        "CREATE FUNCTION one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\n"
        "DO $$ BEGIN PERFORM 1; END $$;",
    )
    apply_migrations(database, directory)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT one(), (SELECT count(*) FROM t)").fetchone() == (1, 0)


def test_no_transaction_files_may_hold_whole_transactions_but_not_open_ones(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    (directory).mkdir()
    (directory / "001_20260101_whole.sql").write_text(
        "-- migrate:up transaction:false\nBEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\nCREATE INDEX CONCURRENTLY t_x ON t (x);\n"
    )
    apply_migrations(database, directory)
    assert tables(database) == {"t"}
    open_one = directory / "002_20260102_open.sql"
    open_one.write_text("-- nself:no-transaction\nCREATE TABLE u (x int);\nBEGIN;\nCREATE TABLE v (x int);\n")
    with pytest.raises(SourceError, match=r"002_20260102_open.sql:3:1: BEGIN opens a transaction"):
        apply_migrations(database, directory)
    assert tables(database) == {"t"} and history_rows(database) == 1


def test_rollback_refuses_transaction_control_in_a_down_section(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    write(directory, "001_20260101_t.sql", "CREATE TABLE t (x int);", "DROP TABLE t;\nCOMMIT;")
    apply_migrations(database, directory)
    with pytest.raises(SourceError, match=r":5:1: COMMIT"):
        rollback_migrations(database, directory)
    assert tables(database) == {"t"} and history_rows(database) == 1


def test_an_edited_applied_file_stops_migrate_unless_allowed(database: str, project_migrations: Path) -> None:
    apply_migrations(database, project_migrations)
    first = project_migrations / "001_20260101_users.sql"
    first.write_text(first.read_text().replace("email text", "email text NOT NULL"))
    write(project_migrations, "003_20260103_tags.sql", "CREATE TABLE tags (id int);")
    with pytest.raises(MigrationFailed, match=r"status changed.*001_20260101_users.sql.*--allow-changed"):
        apply_migrations(database, project_migrations)
    assert "tags" not in tables(database)
    assert [r.version for r in apply_migrations(database, project_migrations, allow_changed=True)] == ["003"]


def test_files_are_reported_as_they_complete(database: str, project_migrations: Path) -> None:
    write(project_migrations, "003_20260103_bad.sql", "SELECT nope;")
    done: list[str] = []
    with pytest.raises(SourceError):
        apply_migrations(database, project_migrations, on_done=lambda run: done.append(run.version))
    assert done == ["001", "002"] and history_rows(database) == 2


def test_permission_denied_on_the_history_is_one_line(database: str, project_migrations: Path) -> None:
    apply_migrations(database, project_migrations)
    role = f"u_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        as_role = database.replace("postgres@", f"{role}@", 1)
        for call in (
            lambda: apply_migrations(as_role, project_migrations),
            lambda: rollback_migrations(as_role, project_migrations),
            lambda: drop_everything(as_role),
        ):
            with pytest.raises(NselfError) as failure:
                call()
            assert "permission denied" in str(failure.value) or "must be owner" in str(failure.value)
            assert "\n" not in str(failure.value)
        assert history_rows(database) == 2
    finally:
        with psycopg.connect(database, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_syntax_error_beside_transaction_control_is_reported_before_anything_runs(
    database: str, tmp_path: Path
) -> None:
    directory = tmp_path / "migrations"
    bad = write(directory, "001_20260101_t.sql", "CREATE TABLE t (x int);\nCOMMIT;\nSELEC 1;")
    with pytest.raises(SourceError) as refused:
        apply_migrations(database, directory)
    assert str(refused.value) == f'{bad}:4:1: syntax error at or near "SELEC"'
    assert tables(database) == set()


def history(url: str) -> list[tuple[str, str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT version, checksum, duration_ms FROM _nself.migrations ORDER BY applied_order").fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_baseline_adopts_an_existing_database_without_running_anything(database: str, project_migrations: Path) -> None:
    from nself.runtime.migrate import baseline_migrations

    # The database already holds what 001 creates (made by hand, before nself).
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, email text); INSERT INTO users (email) VALUES ('kept')")
    with pytest.raises(NselfError, match=r"^VERSION: no migration '009' in .* \(known: 001 \.\. 002\)"):
        baseline_migrations(database, project_migrations, "009")
    changes = baseline_migrations(database, project_migrations, "001")
    assert [(c.version, c.change) for c in changes] == [("001", "baselined")]
    assert statuses(database, project_migrations) == {"001": "applied", "002": "pending"}
    assert baseline_migrations(database, project_migrations, "001") == []  # already there
    # migrate then runs only 002 (001's CREATE TABLE would have failed), and the row survives.
    assert [r.version for r in apply_migrations(database, project_migrations)] == ["002"]
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("kept",)]


def test_repair_realigns_edited_files_and_removes_missing_ones_only_when_asked(
    database: str, project_migrations: Path
) -> None:
    from nself.runtime.migrate import repair_migrations

    apply_migrations(database, project_migrations)
    before = history(database)
    first = project_migrations / "001_20260101_users.sql"
    first.write_text(first.read_text().replace("CREATE TABLE users", "-- the accounts\nCREATE TABLE users"))
    (project_migrations / "002_20260102_posts.sql").unlink()
    write(project_migrations, "003_20260103_tags.sql", "CREATE TABLE tags (id int);", "DROP TABLE tags;")
    with pytest.raises(MigrationFailed, match="edited since"):
        apply_migrations(database, project_migrations)

    changes = repair_migrations(database, project_migrations)
    assert [(c.version, c.change) for c in changes] == [("001", "checksum realigned")]
    assert statuses(database, project_migrations) == {"001": "applied", "002": "missing", "003": "pending"}
    assert history(database)[1] == before[1] and history(database)[0][1] != before[0][1]
    assert tables(database) == {"users", "posts"}  # repair runs nothing on the schema

    changes = repair_migrations(database, project_migrations, remove_missing=True)
    assert [(c.version, c.change) for c in changes] == [("002", "removed")]
    assert [r.version for r in apply_migrations(database, project_migrations)] == ["003"]
    assert repair_migrations(database, project_migrations, remove_missing=True) == []
