"""What real (Supabase-style) migration folders hold: enums, tables, columns and constraints made
inside idempotent DO blocks, and functions with DEFAULT NULL arguments. PostgreSQL runs each
script; the sql frontend reading it must give the same IR as introspecting the result."""

from __future__ import annotations

import pytest

from nself.frontends.sql import compile_sql, compile_sql_with_warnings
from tests.frontends.test_sql import live_catalog, oracle_url  # noqa: F401  (fixture)
from tests.frontends.test_sql_fidelity import object_diffs

ENUM_IF_NOT_EXISTS = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                 WHERE t.typname = 'status' AND n.nspname = 'public') THEN
    CREATE TYPE public.status AS ENUM ('draft', 'live');
  END IF;
END $$;
-- run twice, as a re-applied migration would: the second time the type exists
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'status') THEN
    CREATE TYPE status AS ENUM ('other');
  END IF;
END $$;
CREATE TABLE post (id int PRIMARY KEY, s status DEFAULT 'draft');
"""

ENUM_EXCEPTION = """
DO $$ BEGIN
  CREATE TYPE mood AS ENUM ('sad', 'ok');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
  CREATE TYPE mood AS ENUM ('happy');
EXCEPTION
  WHEN duplicate_object THEN null;
END $$;
CREATE TABLE person (id int PRIMARY KEY, m mood);
DO $$ BEGIN
  ALTER TABLE person ADD COLUMN m mood;
EXCEPTION WHEN duplicate_column THEN NULL;
END $$;
"""

COLUMNS_AND_CONSTRAINTS = """
CREATE TABLE IF NOT EXISTS post (id int PRIMARY KEY, title text);
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = 'post' AND column_name = 'body') THEN
    ALTER TABLE post ADD COLUMN body text NOT NULL DEFAULT '';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'post_title_len') THEN
    ALTER TABLE post ADD CONSTRAINT post_title_len CHECK (length(title) < 100);
  END IF;
  IF EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'nothere') THEN
    DROP TABLE post;
  ELSIF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'post_body_idx') THEN
    CREATE INDEX post_body_idx ON post (body);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'app') THEN
    CREATE SCHEMA app;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_proc WHERE proname = 'touch') THEN
    CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
  END IF;
  EXECUTE 'CREATE TABLE app.audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)';
END
$$;
"""

DEFAULT_NULL_ARGUMENTS = """
CREATE TYPE mood AS ENUM ('a');
CREATE DOMAIN d AS text;
CREATE FUNCTION search(q text DEFAULT NULL, lim int DEFAULT NULL, c varchar(20) DEFAULT NULL,
                       tags text[] DEFAULT NULL, m mood DEFAULT NULL, x d DEFAULT NULL,
                       amount numeric(10,2) DEFAULT NULL, at timestamptz DEFAULT NULL)
  RETURNS numeric(10,2) LANGUAGE sql AS 'SELECT 1';
CREATE TABLE t (id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE FUNCTION has_role(x text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE POLICY p ON t USING (has_role('x') = TRUE AND public.has_role('y') = FALSE);
"""

CASES = {
    "enum-if-not-exists": ENUM_IF_NOT_EXISTS,
    "enum-exception-duplicate-object": ENUM_EXCEPTION,
    "columns-constraints-indexes-schemas-functions": COLUMNS_AND_CONSTRAINTS,
    "default-null-arguments": DEFAULT_NULL_ARGUMENTS,
}


@pytest.mark.oracle
@pytest.mark.parametrize("sql", CASES.values(), ids=CASES.keys())
def test_sql_frontend_equals_live(sql: str, oracle_url: str) -> None:  # noqa: F811
    compiled = compile_sql_with_warnings(sql, "m.sql")
    assert compiled.warnings == ()
    diffs = object_diffs(live_catalog(oracle_url, sql), compiled.catalog)
    assert not diffs, "objects differ (--- live, +++ sql):\n" + "\n".join(diffs)


def test_an_enum_made_in_a_do_block_is_in_the_ir() -> None:
    assert [(e.name, e.labels) for e in compile_sql(ENUM_IF_NOT_EXISTS).enums] == [("status", ("draft", "live"))]


@pytest.mark.parametrize(
    ("sql", "warning"),
    [
        (
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN CREATE ROLE anon; END IF; END $$;",
            "reads a table the IR cannot answer",
        ),
        (
            "DO $$ BEGIN IF current_setting('x') = 'y' THEN CREATE TABLE t (a int); END IF; END $$;",
            "the condition",
        ),
        ("DO $$ BEGIN EXECUTE format('CREATE TABLE %I (a int)', 't'); END $$;", "built at run time"),
        (
            "DO $$ BEGIN CREATE TABLE t (a int); EXCEPTION WHEN others THEN RAISE NOTICE 'x'; END $$;",
            "EXCEPTION handler for others",
        ),
    ],
)
def test_a_do_block_it_cannot_decide_is_a_warning_with_its_line(sql: str, warning: str) -> None:
    result = compile_sql_with_warnings("\n" + sql, "m.sql")
    assert len(result.warnings) == 1
    assert str(result.warnings[0]).startswith("m.sql:2: DO block not interpreted: ")
    assert warning in str(result.warnings[0])
    assert result.catalog.tables == ()
