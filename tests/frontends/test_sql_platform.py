"""Oracle tests of the sql frontend on a platform's base: nself's definition of Supabase,
and Supabase projects' migrations compiled on it, against the same files applied to a real
PostgreSQL 15 that was given the base (nself.runtime.platform) and introspected."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.frontends.live import introspect
from nself.frontends.sql import compile_migrations, compile_migrations_with_warnings, initial_state
from nself.ir.model import Catalog
from nself.platforms import platform_named
from nself.runtime.migrate import apply_migrations
from nself.runtime.platform import ensure_platform
from nself.runtime.sources import strip_platform
from tests.conftest import NewDatabase
from tests.frontends.test_sql_fidelity import object_diffs

pytestmark = pytest.mark.oracle

SUPABASE = platform_named("supabase")
EXAMPLES = ("todo-list", "user-management", "slack-clone")

# A project of our own using what the platform gives: unqualified extension functions
# (the extensions schema is on the database's search_path), auth.jwt() and storage helpers
# in policies, the API roles' default privileges on new tables, sequences and functions.
OWN_PROJECT = """
create table public.notes (
  id uuid primary key default uuid_generate_v4(),
  owner uuid not null references auth.users on delete cascade,
  secret bytea default gen_random_bytes(16),
  body text,
  serial_no bigserial
);
alter table public.notes enable row level security;
create policy "own notes" on public.notes for all to authenticated
  using (owner = auth.uid()) with check ((auth.jwt() ->> 'email') is not null);
create policy "note files" on storage.objects for select to authenticated
  using (bucket_id = 'notes' and (storage.foldername(name))[1] = auth.uid()::text);
create function public.note_count(who uuid default null) returns bigint
  language sql stable as $$ select count(*) from public.notes where who is null or owner = who $$;
begin;
  alter publication supabase_realtime add table public.notes;
commit;
"""


def examples(corpus: Path) -> Path:
    return corpus / "supabase-examples"


def applied(new_database: NewDatabase, migrations: Path) -> Catalog:
    url = new_database("platform")
    assert ensure_platform(url, SUPABASE)
    assert not ensure_platform(url, SUPABASE)  # once
    apply_migrations(url, migrations)
    return introspect(url)


def test_the_base_compiles_to_what_postgresql_builds_from_it(new_database: NewDatabase) -> None:
    url = new_database("platform")
    ensure_platform(url, SUPABASE)
    live = introspect(url)
    compiled = initial_state(SUPABASE, strict=True).catalog()
    assert object_diffs(live, compiled, limit=10) == []
    assert live.table("auth", "users") is not None and live.table("storage", "objects") is not None
    # all of it is the platform's: what is left is what an empty database has
    for catalog in (live, compiled):
        stripped = strip_platform(catalog, SUPABASE)
        assert stripped.tables == () and stripped.functions == () and stripped.extensions == ()
        assert [s.name for s in stripped.schemas] == ["public"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_a_supabase_example_compiles_to_what_postgresql_builds(
    example: str, corpus: Path, new_database: NewDatabase
) -> None:
    migrations = examples(corpus) / example / "supabase" / "migrations"
    live = applied(new_database, migrations)
    # supabase/migrations is recognised: compiled on the platform's base
    compiled = compile_migrations(migrations, strict=True)  # with no canonicaliser fallback
    assert object_diffs(live, compiled, limit=10) == []
    stripped_live, stripped_sql = strip_platform(live, SUPABASE), strip_platform(compiled, SUPABASE)
    assert object_diffs(stripped_live, stripped_sql, limit=10) == []
    # the project's tables, and of the platform's only auth.users, which they reference
    tables = {(t.schema, t.name) for t in stripped_sql.tables}
    assert ("auth", "users") in tables and not any(s == "storage" for s, _ in tables)
    assert {s for s, _ in tables} == {"auth", "public"}
    assert not any(f.schema == "auth" for f in stripped_sql.functions)


def test_a_project_of_our_own_using_the_platform(tmp_path: Path, new_database: NewDatabase) -> None:
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20240101000000_notes.sql").write_text(OWN_PROJECT)
    live = applied(new_database, migrations)
    result = compile_migrations_with_warnings(migrations, strict=True)
    assert object_diffs(live, result.catalog, limit=10) == []
    notes = result.catalog.table("public", "notes")
    assert notes is not None
    assert [c.default for c in notes.columns[:3]] == [
        "extensions.uuid_generate_v4()",
        None,
        "extensions.gen_random_bytes(16)",
    ]
    granted = {(p.object_kind, p.object_name, p.grantee) for p in result.catalog.privileges if p.privilege in ("SELECT", "EXECUTE")}
    for role in ("anon", "authenticated", "service_role"):
        assert {("TABLE", "notes", role), ("SEQUENCE", "notes_serial_no_seq", role)} <= granted
        assert ("FUNCTION", "note_count(uuid)", role) in granted


def test_without_the_platform_auth_users_does_not_exist(corpus: Path) -> None:
    from nself.errors import SourceError

    migrations = examples(corpus) / "todo-list" / "supabase" / "migrations"
    with pytest.raises(SourceError, match=r'_init\.sql:\d+:\d+: relation "auth\.users" does not exist'):
        compile_migrations(migrations, None)


# Extensions Supabase ships that this server lacks, as projects use them: enabled, called
# from a SQL function (whose body PostgreSQL checks when it is created), from a trigger
# function, and a function in plv8.
STAND_INS_PROJECT = """
create extension if not exists pg_net;
create extension if not exists pgjwt with schema extensions;
create extension if not exists pg_graphql;
create extension if not exists plv8;
create table public.hooks (id bigserial primary key, url text not null);
create function public.ping(target text) returns bigint language sql
  as $$ select net.http_post(url := target, body := '{"ping": true}'::jsonb, params := '{"q": "a b&c"}'::jsonb) $$;
create function public.token_for(who uuid) returns text language sql stable
  as $$ select extensions.sign(json_build_object('sub', who), 'secret') $$;
create function public.ask(q text) returns jsonb language sql
  as $$ select graphql_public.graphql(query := q) $$;
create function public.js_add(a integer, b integer) returns integer language plv8 immutable
  as $$ return a + b; $$;
"""


def test_extensions_the_server_lacks_compile_with_a_warning_and_make_no_difference(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    """pg_net, pgjwt, pg_graphql and plv8 are not on this server: the base defines what
    projects call from them (net.http_post, extensions.sign, graphql_public.graphql); each
    CREATE EXTENSION and the plv8 function are a warning naming file:line, in the sql
    frontend and in `db migrate` alike, and the compiled schema equals the database's."""
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20240101000000_hooks.sql").write_text(STAND_INS_PROJECT)
    result = compile_migrations_with_warnings(migrations)
    warned = [(w.line, w.message) for w in result.warnings]
    assert [line for line, _ in warned] == [2, 3, 4, 5, 13], warned
    assert "extension pg_net is not available on this server: not created" in warned[0][1]
    assert "net.http_post()" in warned[0][1] and "extensions.sign()" in warned[1][1]
    assert warned[4][1] == "function public.js_add is in language plv8, which this server lacks: not created"
    url = new_database("platform")
    ensure_platform(url, SUPABASE)
    runs = apply_migrations(url, migrations)
    assert [w.split(": ", 1)[1] for w in runs[0].warnings] == [m for _, m in warned]
    assert runs[0].warnings[0].startswith(f"{migrations / '20240101000000_hooks.sql'}:2: ")
    live = introspect(url)
    assert object_diffs(live, result.catalog, limit=10) == []
    assert {f.name for f in strip_platform(live, SUPABASE).functions} == {"ping", "token_for", "ask"}
    import psycopg

    with psycopg.connect(url) as conn:
        # pgjwt's own SQL: a token it signs, it verifies.
        token = conn.execute("SELECT public.token_for('00000000-0000-0000-0000-000000000001')").fetchone()[0]  # type: ignore[index]
        assert conn.execute("SELECT valid FROM extensions.verify(%s, 'secret')", [token]).fetchone() == (True,)
        assert conn.execute("SELECT valid FROM extensions.verify(%s, 'other')", [token]).fetchone() == (False,)
        # pg_net queues the request as its SQL does (no worker sends it here).
        request = conn.execute("SELECT public.ping('http://example.test/hook')").fetchone()[0]  # type: ignore[index]
        queued = conn.execute(
            "SELECT method, url, convert_from(body, 'UTF8') FROM net.http_request_queue WHERE id = %s", [request]
        ).fetchone()
        assert queued == ("POST", "http://example.test/hook?q=a%20b%26c", '{"ping": true}')
        answer = conn.execute("SELECT public.ask('{ __typename }')").fetchone()[0]  # type: ignore[index]
        assert answer == {"errors": [{"message": "pg_graphql extension is not enabled."}]}
