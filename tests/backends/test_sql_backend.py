"""The SQL backend: quoting checked against PostgreSQL's own quote_ident, a table of DDL
renderings, and the sample catalog's script applied to a real empty database."""

from __future__ import annotations

import subprocess

import psycopg
import pytest

from nself.backends.sql import ddl, qualified_names_in, render
from nself.ir import names
from nself.ir.model import (
    Catalog,
    CheckConstraint,
    Column,
    Domain,
    ExclusionConstraint,
    ExclusionElement,
    ForeignKey,
    Function,
    FunctionArgument,
    Identity,
    Index,
    IndexKey,
    Policy,
    PrimaryKey,
    Privilege,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
    ViewDependency,
)
from nself.runtime.cluster import find_pg_program
from tests.backends.sample_catalog import sample_catalog

# quote_ident against PostgreSQL itself: tests/ir/test_names_postgresql.py


@pytest.mark.parametrize(
    ("got", "expected"),
    [
        (names.qualified_name("public", "user"), 'public."user"'),
        (names.qualified_name("My Schema", "t"), '"My Schema".t'),
        (names.quote_literal("it's"), "'it''s'"),
        (ddl.parenthesised("(a > 0)"), "(a > 0)"),
        (ddl.parenthesised("(a > 0) AND (b > 0)"), "((a > 0) AND (b > 0))"),
        (ddl.parenthesised("lower(x)"), "(lower(x))"),
        (ddl.parenthesised("(')(')"), "(')(')"),
        (
            ddl.column_definition(Column("id", "bigint", not_null=True, identity=Identity("ALWAYS"))),
            "id bigint GENERATED ALWAYS AS IDENTITY (START WITH 1 INCREMENT BY 1 MINVALUE 1 "
            "MAXVALUE 9223372036854775807 CACHE 1) NOT NULL",
        ),
        (
            ddl.column_definition(Column("Total", "numeric(10,2)", generated="(price * (qty)::numeric)")),
            '"Total" numeric(10,2) GENERATED ALWAYS AS ((price * (qty)::numeric)) STORED',
        ),
        (
            ddl.constraint_definition(PrimaryKey("t_pkey", ("a", "b"), include=("c",))),
            "CONSTRAINT t_pkey PRIMARY KEY (a, b) INCLUDE (c)",
        ),
        (
            ddl.constraint_definition(
                UniqueConstraint(
                    "u", ("a",), nulls_not_distinct=True, deferrable=True, initially_deferred=True
                )
            ),
            "CONSTRAINT u UNIQUE NULLS NOT DISTINCT (a) DEFERRABLE INITIALLY DEFERRED",
        ),
        (
            ddl.constraint_definition(CheckConstraint("c", "(a > 0)", no_inherit=True)),
            "CONSTRAINT c CHECK (a > 0) NO INHERIT",
        ),
        (
            ddl.constraint_definition(
                ExclusionConstraint(
                    "ex",
                    "gist",
                    (
                        ExclusionElement("room", "="),
                        ExclusionElement("tsrange(a, b)", "&&"),
                        ExclusionElement("(c)::text", "="),
                    ),
                )
            ),
            "CONSTRAINT ex EXCLUDE USING gist (room WITH =, (tsrange(a, b)) WITH &&, ((c)::text) WITH =)",
        ),
        (
            ddl.add_constraint(
                Table("public", "b"),
                ForeignKey(
                    "b_a_fkey",
                    ("a_id",),
                    "public",
                    "a",
                    ("id",),
                    on_delete="SET NULL",
                    match="FULL",
                    validated=False,
                ),
            ),
            "ALTER TABLE public.b ADD CONSTRAINT b_a_fkey FOREIGN KEY (a_id) REFERENCES public.a(id) "
            "MATCH FULL ON DELETE SET NULL NOT VALID;",
        ),
        (
            ddl.create_index(
                Index(
                    "public",
                    "i",
                    "t",
                    (
                        IndexKey(column="a", descending=True, nulls_first=False),
                        IndexKey(expression="lower(b)"),
                    ),
                    include=("c",),
                    predicate="(a IS NOT NULL)",
                )
            ),
            "CREATE INDEX i ON public.t USING btree (a DESC NULLS LAST, (lower(b))) INCLUDE (c) "
            "WHERE (a IS NOT NULL);",
        ),
        (ddl.drop_table(Table("public", "group")), 'DROP TABLE public."group";'),
        (
            ddl.create_sequence(Sequence("s", "q", data_type="integer", max_value=100, cycle=True)),
            "CREATE SEQUENCE s.q\n    AS integer\n    START WITH 1\n    INCREMENT BY 1\n    MINVALUE 1\n"
            "    MAXVALUE 100\n    CACHE 1\n    CYCLE;",
        ),
        (
            ddl.create_domain(
                Domain("public", "d", "text", checks=(CheckConstraint("d_check", "(VALUE <> '')"),))
            ),
            ["CREATE DOMAIN public.d AS text\n    CONSTRAINT d_check CHECK (VALUE <> '');"],
        ),
        (
            ddl.create_function(
                Function(
                    "public",
                    "f",
                    (FunctionArgument("x", "integer"), FunctionArgument("y", "text", mode="OUT")),
                    returns="text",
                    body="SELECT $$a$$::text",
                    config=('search_path="$user", public',),
                )
            ),
            "CREATE FUNCTION public.f(x integer, OUT y text)\n    RETURNS text\n    LANGUAGE sql\n"
            "    SET search_path TO '$user', 'public'\n    AS $_$SELECT $$a$$::text$_$;",
        ),
        (
            ddl.create_function(
                Function(
                    "public",
                    "group_concat",
                    (FunctionArgument(None, "text"),),
                    kind="aggregate",
                    returns="text",
                    body="SFUNC = public._group_concat, STYPE = text",
                )
            ),
            "CREATE AGGREGATE public.group_concat(text) (\n    SFUNC = public._group_concat, STYPE = text\n);",
        ),
        (
            ddl.constraint_definition(
                ExclusionConstraint(
                    "ex", "gist", (ExclusionElement("c", "public.&&"), ExclusionElement("d", '"="'))
                )
            ),
            "CONSTRAINT ex EXCLUDE USING gist (c WITH OPERATOR(public.&&), d WITH =)",
        ),
        (
            ddl.create_trigger(
                Trigger(
                    "public",
                    "t",
                    "trg",
                    "AFTER",
                    ("INSERT", "DELETE"),
                    "public",
                    "f",
                    for_each_row=False,
                    arguments=("a'b",),
                    new_table="n",
                    enabled="A",
                )
            ),
            [
                "CREATE TRIGGER trg AFTER INSERT OR DELETE ON public.t REFERENCING NEW TABLE AS n "
                "FOR EACH STATEMENT EXECUTE FUNCTION public.f('a''b');",
                "ALTER TABLE public.t ENABLE ALWAYS TRIGGER trg;",
            ],
        ),
        (
            ddl.create_policy(
                Policy(
                    "public",
                    "t",
                    "p",
                    permissive=False,
                    command="UPDATE",
                    roles=("admin",),
                    with_check="true",
                )
            ),
            "CREATE POLICY p ON public.t AS RESTRICTIVE FOR UPDATE TO admin WITH CHECK (true);",
        ),
        (
            ddl.grant(Privilege("TABLE", "public", "t", "app", "UPDATE", column="a", grantable=True)),
            "GRANT UPDATE (a) ON TABLE public.t TO app WITH GRANT OPTION;",
        ),
        (
            ddl.create_view(View("public", "mv", " SELECT 1 AS one;", materialized=True)),
            "CREATE MATERIALIZED VIEW public.mv AS\nSELECT 1 AS one\nWITH NO DATA;",
        ),
        (
            ddl.comment_on("COLUMN", f"{ddl.qualified_name('public', 't')}.{ddl.quote_ident('A')}", None),
            'COMMENT ON COLUMN public.t."A" IS NULL;',
        ),
    ],
)
def test_ddl_rendering(got: object, expected: object) -> None:
    assert got == expected


def test_qualified_names_in() -> None:
    text = 'SELECT a.x FROM public.film f JOIN "My S"."T ""q""" USING (id)'
    assert {("public", "film"), ("My S", 'T "q"'), ("a", "x")} <= qualified_names_in(text)


def test_schemas_of_objects_are_created_and_public_kept_when_used() -> None:
    catalog = Catalog(tables=(Table("public", "a"), Table("other", "b")))
    script = render(catalog, {})["schema.sql"]
    assert "CREATE SCHEMA other;" in script
    assert "DROP SCHEMA" not in script
    assert "DROP SCHEMA IF EXISTS public;" in render(Catalog(), {})["schema.sql"]


def test_render_is_deterministic() -> None:
    assert render(sample_catalog(), {}) == render(sample_catalog(), {})


def test_views_and_functions_in_dependency_order() -> None:
    script = render(sample_catalog(), {})["schema.sql"]
    order = [
        "CREATE VIEW app.user_emails ",
        "CREATE FUNCTION app.emails()",
        "CREATE MATERIALIZED VIEW app.user_emails2 ",
        "CREATE VIEW app.a_first ",
        "ALTER SEQUENCE app.users_id_seq OWNED BY",
    ]
    # A row type of a table, a SQL-standard body reading a table, a view calling it.
    assert script.index("CREATE TABLE app.users ") < script.index("CREATE TYPE app.wrapped ")
    assert script.index("CREATE TABLE app.users ") < script.index("CREATE FUNCTION app.user_total()")
    assert script.index("CREATE FUNCTION app.user_total()") < script.index("CREATE VIEW app.totals ")
    positions = [script.index(s) for s in order]
    assert positions == sorted(positions)
    assert script.index("CREATE TABLE app.events ") < script.index("CREATE TABLE app.events_2024 ")


@pytest.mark.oracle
def test_views_are_ordered_by_what_they_use_not_by_their_text(database: str) -> None:
    """b_middle's literal names a_top, which reads b_middle: read from the text, the two
    would form a cycle and a_top could come first; View.depends_on says b_middle first."""
    middle = View(
        "public",
        "b_middle",
        " SELECT t.id,\n    'public.a_top'::text AS note\n   FROM public.t;",
        depends_on=(ViewDependency("column", "public", "t", "id"),),
    )
    top = View(
        "public",
        "a_top",
        " SELECT b_middle.id\n   FROM public.b_middle;",
        depends_on=(ViewDependency("column", "public", "b_middle", "id"),),
    )
    catalog = Catalog(tables=(Table("public", "t", (Column("id", "integer"),)),), views=(top, middle))
    script = render(catalog, {})["schema.sql"]
    assert script.index("CREATE VIEW public.b_middle ") < script.index("CREATE VIEW public.a_top ")
    result = subprocess.run(
        [str(find_pg_program("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.oracle
def test_sample_script_applies_to_empty_database(database: str) -> None:
    script = render(sample_catalog(), {})["schema.sql"]
    result = subprocess.run(
        [str(find_pg_program("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    with psycopg.connect(database) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'app' AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY 1"
        ).fetchall()
        assert rows == [
            ("Order Items", "r"),
            ("a_first", "v"),
            ("active_users", "v"),
            ("audit", "r"),
            ("audit_archive", "r"),
            ("cache", "r"),
            ("events", "p"),
            ("events_2024", "r"),
            ("posts", "r"),
            ("totals", "v"),
            ("user_emails", "v"),
            ("user_emails2", "m"),
            ("users", "r"),
        ]
        enabled = conn.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = 'users_touch'").fetchone()
        assert enabled == ("D",)
