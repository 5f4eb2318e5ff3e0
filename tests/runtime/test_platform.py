"""nself/runtime/platform.py: a database of the managed cluster given a platform's base."""

from __future__ import annotations

from pathlib import Path

import psycopg

from nself.frontends.migration_files import discover_migrations
from nself.platforms import platform_named
from nself.runtime.migrate import create_migration, drop_everything
from nself.runtime.platform import ensure_platform

SUPABASE = platform_named("supabase")


def one(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0]


def test_the_base_is_applied_once_with_roles_and_the_search_path(database: str) -> None:
    assert ensure_platform(database, SUPABASE) is True
    assert ensure_platform(database, SUPABASE) is False
    # a new session starts with the database's search_path, extensions on it
    assert one(database, "SHOW search_path") == '"$user", public, extensions'
    assert one(database, "SELECT uuid_generate_v4() IS NOT NULL") is True
    roles = one(
        database,
        "SELECT array_agg(rolname ORDER BY rolname)::text[] FROM pg_roles WHERE rolname IN "
        "('anon', 'authenticated', 'service_role', 'supabase_auth_admin', 'supabase_storage_admin', 'authenticator')",
    )
    assert roles == sorted(["anon", "authenticated", "service_role", "supabase_auth_admin", "supabase_storage_admin", "authenticator"])
    assert one(database, "SELECT pg_has_role('authenticator', 'authenticated', 'MEMBER')") is True
    assert one(database, "SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime'") == 1


def test_auth_helpers_read_the_request_claims(database: str) -> None:
    ensure_platform(database, SUPABASE)
    claims = '{"sub": "6f1f1f6e-8a0c-4d4b-9d3e-1c2b3a4d5e6f", "role": "authenticated", "email": "a@example.com"}'
    with psycopg.connect(database) as conn:
        conn.execute("SELECT set_config('request.jwt.claims', %s, false)", (claims,))
        row = conn.execute("SELECT auth.uid()::text, auth.role(), auth.email(), auth.jwt() ->> 'email'").fetchone()
    assert row == ("6f1f1f6e-8a0c-4d4b-9d3e-1c2b3a4d5e6f", "authenticated", "a@example.com", "a@example.com")


def test_a_database_emptied_by_drop_everything_gets_it_again(database: str) -> None:
    ensure_platform(database, SUPABASE)
    drop_everything(database)  # migrate:fresh and data reset: the base goes with the rest
    assert one(database, "SELECT to_regclass('auth.users') IS NULL") is True
    assert ensure_platform(database, SUPABASE) is True  # roles and publication already there
    assert one(database, "SELECT to_regclass('auth.users') IS NOT NULL") is True


def test_a_copy_without_the_setting_gets_the_search_path_back(database: str) -> None:
    ensure_platform(database, SUPABASE)
    with psycopg.connect(database, autocommit=True) as conn:
        name = one(database, "SELECT current_database()")
        conn.execute(f'ALTER DATABASE "{name}" RESET search_path')  # as CREATE DATABASE ... TEMPLATE leaves it
    assert one(database, "SHOW search_path") == '"$user", public'
    assert ensure_platform(database, SUPABASE) is False
    assert one(database, "SHOW search_path") == '"$user", public, extensions'


def test_a_new_migration_in_a_supabase_folder_is_timestamped_and_runs_whole(tmp_path: Path) -> None:
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20990101000000_future.sql").write_text("create table t (id int);\n")
    path = create_migration(folder, "Add Notes", up_sql="CREATE TABLE notes (id int);", down_sql="DROP TABLE notes;", platform_layout=True)
    # after every version there, even one later than now: it must sort last
    assert path.name == "20990101000001_add_notes.sql"
    text = path.read_text()
    assert text.startswith("CREATE TABLE notes (id int);\n") and "-- DROP TABLE notes;" in text
    assert "migrate:" not in text  # Supabase's tooling would run a down section as part of the file
    [_, created] = discover_migrations(folder)
    assert created.path == path and created.down_sql is None
