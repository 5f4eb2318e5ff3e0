"""nself/ir/platform.py: which objects of a catalog are the platform's own."""

from __future__ import annotations

from nself.frontends.sql import compile_sql
from nself.ir import identity_of
from nself.ir.model import Catalog
from nself.ir.platform import without_objects_of, without_platform

BASE = """
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ select null::uuid $$;
CREATE ROLE anon;
GRANT USAGE ON SCHEMA auth TO anon;
CREATE EXTENSION pgcrypto;
"""
SCHEMAS = ("auth",)


def base_catalog() -> Catalog:
    """What the base adds to an empty database (as nself.frontends.sql.platform_catalog)."""
    return without_objects_of(compile_sql(BASE), compile_sql(""))


def names(catalog: Catalog) -> set[str]:
    return {
        f"{kind}:{'.'.join(identity_of(node))}"
        for kind in ("schemas", "tables", "functions", "triggers", "policies", "extensions", "privileges", "enums")
        for node in getattr(catalog, kind)
    }


def test_the_base_alone_leaves_what_an_empty_database_has() -> None:
    assert names(without_platform(compile_sql(BASE), base_catalog(), SCHEMAS)) == {
        "schemas:public",
        "privileges:SCHEMA.public.public..PUBLIC.USAGE",
    }


def test_the_projects_objects_stay_and_platform_tables_it_references_can_stay() -> None:
    base = base_catalog()
    project = compile_sql(
        BASE
        + """
        CREATE TABLE todos (id int PRIMARY KEY, user_id uuid REFERENCES auth.users);
        CREATE FUNCTION on_user() RETURNS trigger LANGUAGE plpgsql AS $$ begin return new; end $$;
        CREATE TRIGGER created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION on_user();
        ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own ON todos USING (auth.uid() = user_id);
        GRANT SELECT ON todos TO anon;
        CREATE EXTENSION citext;
        """
    )
    kept = names(without_platform(project, base, SCHEMAS))
    # auth.users was changed (RLS enabled): it is the project's business, whole
    assert "tables:auth.users" in kept
    assert {"tables:public.todos", "triggers:auth.users.created", "policies:public.todos.own"} <= kept
    assert {"privileges:TABLE.public.todos..anon.SELECT", "extensions:public.citext"} <= kept
    assert not {"schemas:auth", "functions:auth.uid.", "extensions:public.pgcrypto"} & kept


def test_a_referenced_platform_table_is_kept_only_when_asked() -> None:
    base = base_catalog()
    project = compile_sql(BASE + "CREATE TABLE todos (id int PRIMARY KEY, user_id uuid REFERENCES auth.users);")
    assert "tables:auth.users" in names(without_platform(project, base, SCHEMAS))
    stripped = without_platform(project, base, SCHEMAS, keep_referenced=False)
    assert "tables:auth.users" not in names(stripped)
    # the project's foreign key still names it
    [todos] = stripped.tables
    assert [(fk.ref_schema, fk.ref_table) for fk in todos.foreign_keys] == [("auth", "users")]


def test_what_a_real_platform_holds_beyond_the_base_in_its_schemas_is_the_platforms() -> None:
    base = base_catalog()
    real = compile_sql(
        BASE
        + """
        CREATE TYPE auth.aal_level AS ENUM ('aal1', 'aal2');
        CREATE TABLE auth.sessions (id uuid PRIMARY KEY, user_id uuid REFERENCES auth.users);
        GRANT SELECT ON auth.sessions TO anon;
        GRANT SELECT ON auth.users TO anon;
        CREATE SCHEMA realtime;
        """
    )
    kept = names(without_platform(real, base, (*SCHEMAS, "realtime"), keep_referenced=False))
    assert not {"enums:auth.aal_level", "tables:auth.sessions", "schemas:realtime"} & kept
    assert "privileges:TABLE.auth.sessions..anon.SELECT" not in kept
    # a grant the project adds on a table of the base is the project's
    assert "privileges:TABLE.auth.users..anon.SELECT" in kept
