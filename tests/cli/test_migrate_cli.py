"""`nself db migrate` / `migrate:rollback` through the real CLI: files printed as they
complete (a failure still shows the ones before it, --json too), edited applied files stop
the run, and permission errors on `_nself` are one line with exit 1."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nself.runtime.migrate import apply_migrations
from nself.runtime.seeds import run_seeds
from tests.clitools import Result, run_nself


def write(directory: Path, name: str, up: str, down: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f"-- migrate:up\n{up}\n-- migrate:down\n{down}\n")
    return path


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_MIGRATE_URL"\n')
    migrations = tmp_path / "nself" / "migrations"
    write(migrations, "001_20260101_a.sql", "CREATE TABLE a (x int);", "DROP TABLE a;")
    write(migrations, "002_20260102_b.sql", "CREATE TABLE b (x int);", "DROP TABLE b;\nSELECT nope;")
    write(migrations, "003_20260103_c.sql", "CREATE TABLE c (x int);\nSELECT nope;", "DROP TABLE c;")
    return tmp_path


def nself(project: Path, url: str, *args: str) -> Result:
    return run_nself(*args, "--env", "staging", cwd=project, env={"NSELF_MIGRATE_URL": url})


def one_line_error(result: Result) -> str:
    assert result.code == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "internal error" not in lines[0], result.stderr
    return lines[0]


def test_a_failure_still_shows_the_files_applied_before_it(project_dir: Path, database: str) -> None:
    failed = nself(project_dir, database, "db", "migrate")
    assert "003_20260103_c.sql:3:8: column \"nope\" does not exist" in one_line_error(failed)
    assert "applied nself/migrations/001_20260101_a.sql" in failed.stdout
    assert "applied nself/migrations/002_20260102_b.sql" in failed.stdout

    (project_dir / "nself/migrations/003_20260103_c.sql").write_text("CREATE TABLE c (x int);\nSELECT nope;\n")
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("DELETE FROM _nself.migrations WHERE version = '002'; DROP TABLE b")
    as_json = nself(project_dir, database, "db", "migrate", "--json")
    one_line_error(as_json)
    assert [run["version"] for run in json.loads(as_json.stdout)] == ["002"]


def test_rollback_shows_each_file_as_it_completes(project_dir: Path, database: str) -> None:
    (project_dir / "nself/migrations/003_20260103_c.sql").write_text(
        "-- migrate:up\nCREATE TABLE c (x int);\n-- migrate:down\nDROP TABLE c;\n"
    )
    assert nself(project_dir, database, "db", "migrate").code == 0
    rolled = nself(project_dir, database, "db", "migrate:rollback", "--steps", "2", "--yes", "--json")
    assert "002_20260102_b.sql:5:8" in one_line_error(rolled)
    assert [run["version"] for run in json.loads(rolled.stdout)] == ["003"]


def test_an_edited_applied_file_stops_migrate(project_dir: Path, database: str) -> None:
    (project_dir / "nself/migrations/003_20260103_c.sql").unlink()
    assert nself(project_dir, database, "db", "migrate").code == 0
    first = project_dir / "nself/migrations/001_20260101_a.sql"
    first.write_text(first.read_text().replace("x int", "x bigint"))
    write(project_dir / "nself/migrations", "003_20260103_d.sql", "CREATE TABLE d (x int);")
    stopped = nself(project_dir, database, "db", "migrate")
    assert "001_20260101_a.sql" in one_line_error(stopped) and "--allow-changed" in stopped.stderr
    allowed = nself(project_dir, database, "db", "migrate", "--allow-changed")
    assert allowed.code == 0 and "003_20260103_d.sql" in allowed.stdout


@pytest.fixture
def unprivileged(database: str) -> Iterator[str]:
    """The URL of `database` for a role that may log in and nothing else."""
    role = f"u_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    yield database.replace("postgres@", f"{role}@", 1)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_permission_errors_on_nself_history_are_one_line(project_dir: Path, database: str, unprivileged: str) -> None:
    (project_dir / "nself/migrations/003_20260103_c.sql").unlink()
    seeds = project_dir / "nself" / "seeds"
    seeds.mkdir(parents=True)
    (seeds / "001_a.sql").write_text("INSERT INTO a VALUES (1);\n")
    apply_migrations(database, project_dir / "nself" / "migrations")
    run_seeds(database, seeds, "staging")
    # The runtime tests cover rollback and the other entry points; here, one per command group.
    for args in (("db", "migrate"), ("seed", "--fresh", "--yes"), ("data", "reset", "--yes")):
        line = one_line_error(nself(project_dir, unprivileged, *args))
        assert "permission denied" in line or "must be owner" in line, (args, line)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM _nself.migrations").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM a").fetchone() == (1,)


def test_fresh_shows_each_file_and_runs_them_from_clean_sessions(project_dir: Path, database: str) -> None:
    migrations = project_dir / "nself/migrations"
    (migrations / "003_20260103_c.sql").unlink()
    write(migrations, "000_20251231_settings.sql", "SELECT set_config('search_path', '', false);")
    fresh = nself(project_dir, database, "db", "migrate:fresh", "--yes")
    assert fresh.code == 0, fresh.stderr
    assert [line.split()[1] for line in fresh.stdout.splitlines() if line.startswith("applied")] == [
        "nself/migrations/000_20251231_settings.sql",
        "nself/migrations/001_20260101_a.sql",
        "nself/migrations/002_20260102_b.sql",
    ]


def test_baseline_and_repair_through_the_cli(project_dir: Path, database: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("CREATE TABLE a (x int); CREATE TABLE b (x int)")  # a database made before nself
    refused = nself(project_dir, database, "db", "migrate:baseline", "002")
    assert refused.code != 0 and "--yes" in refused.stderr  # no terminal, no --yes: asks nobody
    done = nself(project_dir, database, "db", "migrate:baseline", "002", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert [(c["version"], c["change"]) for c in json.loads(done.stdout)] == [("001", "baselined"), ("002", "baselined")]
    first = project_dir / "nself" / "migrations" / "001_20260101_a.sql"
    first.write_text(first.read_text() + "-- a comment\n")
    done = nself(project_dir, database, "db", "migrate:repair", "--yes")
    assert done.code == 0, done.stderr
    assert "checksum realigned 001" in done.stdout
    status = json.loads(nself(project_dir, database, "db", "migrate:status", "--json").stdout)
    assert [s["status"] for s in status] == ["applied", "applied", "pending"]


def test_syntax_newer_than_15_is_refused_by_migrate_and_lint_before_anything_runs(
    project_dir: Path, database: str
) -> None:
    """Files are read with PostgreSQL 15's grammar (nself.pg15) by the runner and by lint, as
    by the sql frontend: a virtual generated column (PostgreSQL 18) in the third file stops
    `migrate` before the first is applied, and `lint` at the same file:line:col. Words that
    are keywords only after 15 are the identifiers 15 reads, and a BEGIN ATOMIC body beside
    them stays one statement."""
    migrations = project_dir / "nself/migrations"
    write(
        migrations,
        "003_20260103_c.sql",
        "CREATE TABLE c (\n  x int,\n  y int GENERATED ALWAYS AS (x) VIRTUAL\n);",
    )
    where = "nself/migrations/003_20260103_c.sql:4:"
    refused = one_line_error(nself(project_dir, database, "db", "migrate"))
    assert where in refused and "PostgreSQL 15 refuses it" in refused, refused
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT to_regclass('a')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM _nself.migrations").fetchone() == (0,)
    linted = one_line_error(nself(project_dir, database, "db", "lint"))
    assert linted[linted.index(where) :] == refused[refused.index(where) :], (linted, refused)
    write(
        migrations,
        "003_20260103_c.sql",
        "CREATE TABLE c (system_user text, json int);\n"
        "CREATE FUNCTION c_count() RETURNS bigint LANGUAGE sql\n"
        "  BEGIN ATOMIC SELECT count(*) FROM c WHERE json > 0; SELECT 1; END;",
    )
    assert nself(project_dir, database, "db", "migrate").code == 0
    assert "error:" not in nself(project_dir, database, "db", "lint").stderr


def test_adopt_and_the_refusal_it_answers_through_the_cli(project_dir: Path, database: str) -> None:
    # a database dbmate migrated up to 002 (its table, as dbmate creates it)
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
            "INSERT INTO schema_migrations VALUES ('001'), ('002'); CREATE TABLE a (x int); CREATE TABLE b (x int)"
        )
    refused = nself(project_dir, database, "db", "migrate")
    assert refused.code == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1 and "were already applied by dbmate" in refused.stderr and "nself db migrate:adopt" in refused.stderr
    assert nself(project_dir, database, "db", "migrate:adopt").code != 0  # asks first: no terminal, no --yes
    done = nself(project_dir, database, "db", "migrate:adopt", "--yes", "--json")
    assert done.code == 0, done.stderr
    assert [(c["version"], c["change"]) for c in json.loads(done.stdout)] == [("001", "adopted"), ("002", "adopted")]
    again = nself(project_dir, database, "db", "migrate:adopt", "--from", "dbmate", "--yes")
    assert again.code == 0 and "nothing to adopt" in again.stdout
    wrong = nself(project_dir, database, "db", "migrate:adopt", "--from", "flyway", "--yes")
    assert wrong.code == 1 and wrong.stderr == "error: --from: 'flyway' is not one of prisma, supabase, dbmate, golang-migrate, goose, diesel, atlas\n"
