"""Taking over a database another tool migrated (`migrate:adopt`), against a real PostgreSQL:
dbmate itself (npm's dbmate binary) applies its files, then nself adopts its history and
applies only the new file; the histories of Prisma, the Supabase CLI, golang-migrate and
diesel and Atlas are written as those tools write them. `migrate` refuses to run again what another
tool applied, and a history that cannot be taken as it is leaves nothing written."""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from nself.errors import OptionError
from nself.runtime.foreign_history import prisma_checksums
from nself.runtime.migrate import MigrationFailed, adopt_migrations, apply_migrations, migration_status
from nself.runtime.scaffold import init_project
from tests.conftest import NewDatabase, run_sql
from tests.tools import node_modules_with


def statuses(url: str, directory: Path) -> dict[str, str]:
    return {s.version: s.status for s in migration_status(url, directory)}


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def nself_history(url: str) -> list[tuple[object, ...]]:
    return rows(url, "SELECT version FROM _nself.migrations ORDER BY applied_order") if rows(
        url, "SELECT to_regclass('_nself.migrations')"
    ) != [(None,)] else []


def dbmate_files(directory: Path) -> None:
    directory.mkdir(parents=True)
    (directory / "20260101000000_users.sql").write_text(
        "-- migrate:up\nCREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);\n-- migrate:down\nDROP TABLE users;\n"
    )
    (directory / "20260102000000_posts.sql").write_text(
        "-- migrate:up\nCREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users);\n"
        "-- migrate:down\nDROP TABLE posts;\n"
    )


def test_dbmate_history_is_adopted_and_only_the_new_file_runs(database: str, tmp_path: Path) -> None:
    dbmate = node_modules_with(".bin/dbmate", "npm install --prefix .cache/node dbmate") / ".bin" / "dbmate"
    directory = tmp_path / "db" / "migrations"
    dbmate_files(directory)
    subprocess.run(
        [str(dbmate), "--url", database + "?sslmode=disable", "--migrations-dir", str(directory), "--no-dump-schema", "up"],
        check=True,
        capture_output=True,
    )
    run_sql(database, "INSERT INTO users VALUES (1, 'kept@example.com'); INSERT INTO posts VALUES (1, 1);")
    (directory / "20260103000000_comments.sql").write_text(
        "-- migrate:up\nCREATE TABLE comments (id int PRIMARY KEY, post_id int REFERENCES posts);\n"
        "-- migrate:down\nDROP TABLE comments;\n"
    )

    with pytest.raises(MigrationFailed, match=r"2 pending migration\(s\) were already applied by dbmate \(public.schema_migrations\), the first .*20260101000000_users.sql; .*nself db migrate:adopt"):
        apply_migrations(database, directory)
    assert nself_history(database) == []
    assert rows(database, "SELECT to_regclass('comments')") == [(None,)]

    changes = adopt_migrations(database, directory)
    assert [(c.version, c.change) for c in changes] == [("20260101000000", "adopted"), ("20260102000000", "adopted")]
    assert statuses(database, directory) == {
        "20260101000000": "applied",
        "20260102000000": "applied",
        "20260103000000": "pending",
    }
    assert adopt_migrations(database, directory) == []  # once is enough

    runs = apply_migrations(database, directory)
    assert [r.version for r in runs] == ["20260103000000"]
    assert rows(database, "SELECT u.email, p.id FROM users u JOIN posts p ON p.user_id = u.id") == [("kept@example.com", 1)]
    assert rows(database, "SELECT to_regclass('comments')::text") == [("comments",)]
    # dbmate sees the same state: nothing pending for it either, once it records the new file
    listed = subprocess.run(
        [str(dbmate), "--url", database + "?sslmode=disable", "--migrations-dir", str(directory), "status"],
        capture_output=True,
        text=True,
    )
    assert "[X] 20260101000000_users.sql" in listed.stdout and "[ ] 20260103000000_comments.sql" in listed.stdout


PRISMA_TABLE = """CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "_prisma_migrations_pkey" PRIMARY KEY ("id")
)"""


def prisma_project(url: str, root: Path, *, crlf: bool = False) -> Path:
    """prisma/migrations with two folders, applied and recorded as `prisma migrate deploy`
    records them: one row per folder, the SHA-256 of migration.sql, finished_at set."""
    directory = root / "prisma" / "migrations"
    texts = {
        "20260101000000_init": 'CREATE TABLE "User" (id text PRIMARY KEY, email text NOT NULL);\n',
        "20260102000000_post": 'CREATE TABLE "Post" (id text PRIMARY KEY, "authorId" text REFERENCES "User"(id));\n',
    }
    run_sql(url, PRISMA_TABLE)
    for name, text in texts.items():
        (directory / name).mkdir(parents=True)
        data = text.replace("\n", "\r\n").encode() if crlf else text.encode()
        (directory / name / "migration.sql").write_bytes(data)
        run_sql(url, text)
        # Prisma hashes the text it read; git may have turned the file's line endings since
        checksum = hashlib.sha256(text.encode()).hexdigest()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, applied_steps_count)"
                " VALUES (%s, %s, now(), %s, 1)",
                (str(uuid.uuid4()), checksum, name),
            )
    (directory / "migration_lock.toml").write_text('provider = "postgresql"\n')
    return directory


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf-after-checkout"])
def test_prisma_history_is_adopted(database: str, tmp_path: Path, crlf: bool) -> None:
    directory = prisma_project(database, tmp_path, crlf=crlf)
    (directory / "20260103000000_tag").mkdir()
    (directory / "20260103000000_tag" / "migration.sql").write_text('CREATE TABLE "Tag" (id text PRIMARY KEY);\n')
    with pytest.raises(MigrationFailed, match="already applied by Prisma"):
        apply_migrations(database, directory)
    changes = adopt_migrations(database, directory, "prisma")
    assert [c.version for c in changes] == ["20260101000000", "20260102000000"]
    assert [r.version for r in apply_migrations(database, directory)] == ["20260103000000"]


def test_prisma_history_that_cannot_be_taken_leaves_nothing_written(database: str, tmp_path: Path) -> None:
    directory = prisma_project(database, tmp_path)
    edited = directory / "20260102000000_post" / "migration.sql"
    edited.write_text(edited.read_text() + "CREATE INDEX ON \"Post\" (\"authorId\");\n")
    with pytest.raises(MigrationFailed, match=r"20260102000000_post/migration.sql: edited since Prisma applied it"):
        adopt_migrations(database, directory)
    assert nself_history(database) == []

    edited.write_text('CREATE TABLE "Post" (id text PRIMARY KEY, "authorId" text REFERENCES "User"(id));\n')
    run_sql(
        database,
        "INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('x', 'y', '20260104000000_failed')",
    )
    with pytest.raises(MigrationFailed) as refused:
        adopt_migrations(database, directory)
    assert "20260104000000_failed failed under Prisma and was not resolved" in str(refused.value)
    assert nself_history(database) == []

    # `prisma migrate resolve --rolled-back` marks it; a folder for it is still missing here
    run_sql(database, "UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = 'x'")
    assert [c.version for c in adopt_migrations(database, directory)] == ["20260101000000", "20260102000000"]


def test_prisma_accepts_checksums_older_prisma_wrote() -> None:
    text = b"SELECT 1;\n"
    digest = hashlib.sha256(text).digest()
    assert digest.hex() in prisma_checksums(text)
    assert "".join(f"{b:x}" for b in digest) in prisma_checksums(text)
    assert hashlib.sha256(b"SELECT 1;\r\n").hexdigest() in prisma_checksums(text)


def test_supabase_golang_migrate_and_diesel_histories(new_database: NewDatabase, tmp_path: Path) -> None:
    make = new_database
    # Supabase CLI: supabase_migrations.schema_migrations, keyed by the file's version
    supabase = make()
    directory = tmp_path / "supabase" / "migrations"
    directory.mkdir(parents=True)
    (directory / "20260101000000_todos.sql").write_text("CREATE TABLE todos (id bigint PRIMARY KEY);\n")
    (directory / "20260102000000_done.sql").write_text("ALTER TABLE todos ADD COLUMN done boolean;\n")
    run_sql(
        supabase,
        "CREATE SCHEMA supabase_migrations; CREATE TABLE supabase_migrations.schema_migrations "
        "(version text PRIMARY KEY, statements text[], name text);"
        "CREATE TABLE todos (id bigint PRIMARY KEY);"
        "INSERT INTO supabase_migrations.schema_migrations VALUES ('20260101000000', '{}', 'todos');",
    )
    assert [c.version for c in adopt_migrations(supabase, directory)] == ["20260101000000"]
    assert [r.version for r in apply_migrations(supabase, directory)] == ["20260102000000"]

    # golang-migrate: one row, the version the database is at; every file up to it is applied
    gomigrate = make()
    directory = tmp_path / "go"
    directory.mkdir()
    for n, sql in enumerate(["CREATE TABLE a (x int);", "CREATE TABLE b (x int);", "CREATE TABLE c (x int);"], 1):
        (directory / f"{n:06d}_t{n}.up.sql").write_text(sql + "\n")
        (directory / f"{n:06d}_t{n}.down.sql").write_text(f"DROP TABLE {'abc'[n - 1]};\n")
    run_sql(
        gomigrate,
        "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);"
        "CREATE TABLE a (x int); CREATE TABLE b (x int); INSERT INTO schema_migrations VALUES (2, true);",
    )
    with pytest.raises(MigrationFailed, match="dirty at version 2"):
        adopt_migrations(gomigrate, directory)
    run_sql(gomigrate, "UPDATE schema_migrations SET dirty = false")
    assert [c.version for c in adopt_migrations(gomigrate, directory)] == ["000001", "000002"]
    assert [r.version for r in apply_migrations(gomigrate, directory)] == ["000003"]

    # diesel: the folder's version without its dashes
    diesel = make()
    directory = tmp_path / "migrations"
    for name, sql in [("2026-01-01-000000_users", "CREATE TABLE users (id int);"), ("2026-01-02-000000_x", "SELECT 1;")]:
        (directory / name).mkdir(parents=True)
        (directory / name / "up.sql").write_text(sql + "\n")
        (directory / name / "down.sql").write_text("SELECT 1;\n")
    run_sql(
        diesel,
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, "
        "run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);"
        "CREATE TABLE users (id int); INSERT INTO __diesel_schema_migrations (version) VALUES ('20260101000000');",
    )
    assert [c.version for c in adopt_migrations(diesel, directory)] == ["2026-01-01-000000"]


ATLAS_TABLE = """CREATE SCHEMA atlas_schema_revisions;
CREATE TABLE atlas_schema_revisions.atlas_schema_revisions (
    version character varying NOT NULL PRIMARY KEY, description character varying NOT NULL,
    type bigint NOT NULL DEFAULT 2, applied bigint NOT NULL DEFAULT 0, total bigint NOT NULL DEFAULT 0,
    executed_at timestamptz NOT NULL, execution_time bigint NOT NULL, error text NULL, error_stmt text NULL,
    hash character varying NOT NULL, partial_hashes jsonb NULL, operator_version character varying NOT NULL
)"""


def atlas_revision(url: str, version: str, kind: int, applied: int, total: int, error: str | None = None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO atlas_schema_revisions.atlas_schema_revisions (version, description, type, applied, total,"
            " executed_at, execution_time, error, hash, operator_version) VALUES (%s, '', %s, %s, %s, now(), 0, %s, '', 'Atlas CLI')",
            (version, kind, applied, total, error),
        )


def test_atlas_history_baseline_executed_failed_and_resolved(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    directory.mkdir()
    for n in range(1, 5):
        (directory / f"2026010{n}000000_t{n}.sql").write_text(f"CREATE TABLE t{n} (x int);\n")
    (directory / "atlas.sum").write_text("h1:...\n")
    run_sql(database, ATLAS_TABLE + "; CREATE TABLE t1 (x int); CREATE TABLE t2 (x int); CREATE TABLE t3 (x int);")
    atlas_revision(database, "20260101000000", 1, 0, 0)  # baseline: the database was made up to here
    atlas_revision(database, "20260102000000", 2, 1, 1)  # executed, every statement
    atlas_revision(database, "20260103000000", 2, 0, 1, "relation already exists")  # failed
    with pytest.raises(MigrationFailed, match=r"20260103000000 failed under Atlas and was not resolved \(`atlas migrate set`\)"):
        adopt_migrations(database, directory)
    assert nself_history(database) == []
    run_sql(database, "UPDATE atlas_schema_revisions.atlas_schema_revisions SET type = 6 WHERE version = '20260103000000'")
    assert [c.version for c in adopt_migrations(database, directory, "atlas")] == [
        "20260101000000",
        "20260102000000",
        "20260103000000",
    ]
    assert [r.version for r in apply_migrations(database, directory)] == ["20260104000000"]


def test_which_history_to_take(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "m"
    dbmate_files(directory)
    with pytest.raises(OptionError, match="no migration history of prisma, supabase, dbmate"):
        adopt_migrations(database, directory)
    with pytest.raises(OptionError, match="--from: 'flyway' is not one of"):
        adopt_migrations(database, directory, "flyway")
    run_sql(
        database,
        "CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
        "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY, run_on timestamp DEFAULT now());"
        "INSERT INTO schema_migrations VALUES ('20260101000000');",
    )
    with pytest.raises(OptionError, match=r"more than one tool's migration history here: .*choose one with --from"):
        adopt_migrations(database, directory)
    assert [c.version for c in adopt_migrations(database, directory, "dbmate")] == ["20260101000000"]


def test_an_unrelated_schema_migrations_table_stops_nothing(database: str, tmp_path: Path) -> None:
    # Rails' table has dbmate's shape; its versions name none of these files
    run_sql(
        database,
        "CREATE TABLE schema_migrations (version varchar PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20100101000000');",
    )
    directory = tmp_path / "m"
    dbmate_files(directory)
    assert [r.version for r in apply_migrations(database, directory)] == ["20260101000000", "20260102000000"]
    with pytest.raises(MigrationFailed, match=r"20100101000000 is recorded in public\.schema_migrations but no migration"):
        adopt_migrations(database, directory)


def test_init_points_at_another_tools_migrations(tmp_path: Path) -> None:
    for folder, marker, tool in [
        ("prisma/migrations", "20260101000000_init/migration.sql", "Prisma"),
        ("db/migrations", "20260101000000_init.sql", "dbmate"),
        ("migrations", "atlas.sum", "Atlas"),
        ("migrations", "2026-01-01-000000_init/up.sql", "diesel"),
        ("migrations", "000001_init.up.sql", "golang-migrate"),
    ]:
        root = tmp_path / tool
        (root / folder / marker).parent.mkdir(parents=True)
        (root / folder / marker).write_text("SELECT 1;\n")
        created = init_project(root)
        config = (root / "nself.toml").read_text()
        assert f'migrations = "{folder}"' in config and f"The migrations {tool} wrote" in config, tool
        assert root / "nself" / "migrations" not in created and (root / "nself" / "seeds").is_dir()


GOOSE = """-- A goose file: nothing before the first annotation runs
-- +goose Up
-- +goose StatementBegin
CREATE TABLE accounts (id int PRIMARY KEY, note text);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION touch();
DROP TABLE accounts;
"""


def test_goose_files_run_their_up_part_and_roll_back_with_the_down_part(database: str, tmp_path: Path) -> None:
    from nself.runtime.migrate import rollback_migrations

    directory = tmp_path / "goose"
    directory.mkdir()
    (directory / "00001_accounts.sql").write_text(GOOSE)
    (directory / "00002_index.sql").write_text(
        "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY accounts_note ON accounts (note);\n"
        "-- +goose Down\nDROP INDEX CONCURRENTLY accounts_note;\n"
    )
    from nself.frontends.migration_files import discover_migrations

    first = discover_migrations(directory)[0]
    assert (first.up_line, first.down_line) == (3, 9) and "DROP" not in first.up_sql and "DROP TABLE" in (first.down_sql or "")
    assert [r.version for r in apply_migrations(database, directory)] == ["00001", "00002"]
    # before, the whole file ran: the down part dropped what the up part made
    assert rows(database, "SELECT to_regclass('accounts')::text, to_regclass('accounts_note')::text") == [
        ("accounts", "accounts_note")
    ]
    run_sql(database, "INSERT INTO accounts VALUES (1, 'kept')")
    rollback_migrations(database, directory)
    assert rows(database, "SELECT to_regclass('accounts_note'), count(*) FROM accounts") == [(None, 1)]


def test_goose_envsub_is_refused_at_its_line(database: str, tmp_path: Path) -> None:
    from nself.errors import SourceError

    directory = tmp_path / "goose"
    directory.mkdir()
    (directory / "00001_grant.sql").write_text("-- +goose Up\n-- +goose ENVSUB ON\nGRANT SELECT ON pg_class TO ${APP_ROLE};\n")
    with pytest.raises(SourceError, match=r"00001_grant.sql:2:1: goose's ENVSUB .* is not supported"):
        apply_migrations(database, directory)


def test_goose_history_is_adopted(database: str, tmp_path: Path) -> None:
    directory = tmp_path / "goose"
    directory.mkdir()
    for n in (1, 2, 3):
        (directory / f"2026010{n}000000_t{n}.sql").write_text(
            f"-- +goose Up\nCREATE TABLE t{n} (x int);\n-- +goose Down\nDROP TABLE t{n};\n"
        )
    # as goose writes it: a row per up or down, the initial version 0 first
    run_sql(
        database,
        "CREATE TABLE goose_db_version (id serial NOT NULL, version_id bigint NOT NULL, is_applied boolean NOT NULL,"
        " tstamp timestamp NULL default now(), PRIMARY KEY(id));"
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (20260101000000, true),"
        " (20260102000000, true), (20260102000000, false);"  # the second one rolled back since
        "CREATE TABLE t1 (x int);",
    )
    assert [c.version for c in adopt_migrations(database, directory, "goose")] == ["20260101000000"]
    assert [r.version for r in apply_migrations(database, directory)] == ["20260102000000", "20260103000000"]


GOOSE_GO = """package migrations

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
)

func init() {
	goose.AddMigrationNoTxContext(up2, down2)
}
"""


def test_a_goose_migration_in_go_stops_migrate_before_anything_runs(database: str, tmp_path: Path) -> None:
    # hatchet's migrations: 224 SQL files and 9 in Go, in one sequence
    directory = tmp_path / "goose"
    directory.mkdir()
    (directory / "00001_a.sql").write_text("-- +goose Up\nCREATE TABLE a (x int);\n-- +goose Down\nDROP TABLE a;\n")
    (directory / "00002_backfill.go").write_text(GOOSE_GO)
    (directory / "00003_b.sql").write_text("-- +goose Up\nCREATE TABLE b (x int);\n-- +goose Down\nDROP TABLE b;\n")
    (directory / "helpers.go").write_text("package migrations\n")  # no version, no migration
    with pytest.raises(MigrationFailed, match=r"00002_backfill.go is a goose migration written in Go, which nself cannot run, and it is pending: nothing was applied"):
        apply_migrations(database, directory)
    assert rows(database, "SELECT to_regclass('a')") == [(None,)]

    # goose ran them; its history names the Go one too, which is no file nself lacks
    run_sql(
        database,
        "CREATE TABLE a (x int); CREATE TABLE b (x int);"
        "CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL,"
        " tstamp timestamp DEFAULT now());"
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (3, true);",
    )
    assert [c.version for c in adopt_migrations(database, directory)] == ["00001", "00003"]
    (directory / "00004_c.sql").write_text("-- +goose Up\nCREATE TABLE c (x int);\n-- +goose Down\nDROP TABLE c;\n")
    assert [r.version for r in apply_migrations(database, directory)] == ["00004"]


def test_init_finds_the_migrations_of_a_monorepos_prisma_package(tmp_path: Path) -> None:
    # documenso: packages/prisma/schema.prisma and packages/prisma/migrations
    package = tmp_path / "packages" / "prisma"
    (package / "migrations" / "20230404095503_initial_migration").mkdir(parents=True)
    (package / "migrations" / "20230404095503_initial_migration" / "migration.sql").write_text("SELECT 1;\n")
    (package / "schema.prisma").write_text("datasource db {}\n")
    (tmp_path / "node_modules" / "x" / "prisma").mkdir(parents=True)  # a dependency's own is not the project's
    (tmp_path / "node_modules" / "x" / "prisma" / "schema.prisma").write_text("")
    init_project(tmp_path)
    assert 'migrations = "packages/prisma/migrations"' in (tmp_path / "nself.toml").read_text()
