"""A small hand-written Catalog that uses most object kinds: shared by the SQL and text
backend tests. Its texts follow the IR's canonical forms (what PostgreSQL 15 prints)."""

from __future__ import annotations

from nself.ir import CatalogBuilder
from nself.ir.model import (
    Catalog,
    CheckConstraint,
    Column,
    CompositeAttribute,
    CompositeType,
    Domain,
    Enum,
    ExclusionConstraint,
    ExclusionElement,
    Extension,
    ForeignKey,
    Function,
    FunctionArgument,
    Identity,
    Index,
    IndexKey,
    PartitionOf,
    PartitionSpec,
    Policy,
    PrimaryKey,
    Privilege,
    RangeType,
    Schema,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
    ViewColumn,
)


def sample_catalog() -> Catalog:
    b = CatalogBuilder()
    for node in [
        Schema("public", "standard public schema"),
        Schema("app", "application"),
        Schema("Weird Schema"),
        Extension(
            "pg_trgm", "public", "1.6", "text similarity measurement and index searching based on trigrams"
        ),
        Enum("app", "mood", ("sad", "ok", "it's great")),
        Domain(
            "app",
            "positive",
            "integer",
            not_null=True,
            default="1",
            checks=(CheckConstraint("positive_check", "(VALUE > 0)"),),
            comment="> 0",
        ),
        Domain(
            "app",
            "small",
            "app.positive",
            checks=(CheckConstraint("small_check", "(VALUE < 100)", validated=False),),
        ),
        CompositeType(
            "app",
            "pair",
            (CompositeAttribute("a", "app.small"), CompositeAttribute("b", "text", collation="C")),
        ),
        RangeType("app", "floatrange", "double precision"),
        Sequence("app", "users_id_seq", data_type="integer", max_value=2147483647, owned_by=("users", "id")),
        Table(
            "app",
            "users",
            columns=(
                Column("id", "integer", not_null=True, default="nextval('app.users_id_seq'::regclass)"),
                Column("email", "text", not_null=True, comment="login"),
                Column("mood", "app.mood", default="'ok'::app.mood"),
                Column("order", "app.positive"),
                Column("Name", "character varying(40)", collation="C"),
                Column("email_lower", "text", generated="lower(email)"),
                Column("n", "bigint", identity=Identity("BY DEFAULT")),
            ),
            constraints=(
                PrimaryKey("users_pkey", ("id",)),
                UniqueConstraint("users_email_key", ("email",), comment="one per person"),
                CheckConstraint("users_email_check", "(length(email) > 3)"),
                CheckConstraint("users_nv", "(id > 0)", validated=False),
            ),
            rls_enabled=True,
            comment="people",
        ),
        Table(
            "app",
            "posts",
            columns=(
                Column("id", "integer", not_null=True, identity=Identity("ALWAYS", max_value=2147483647)),
                Column("user_id", "integer", not_null=True),
                Column("during", "tstzrange"),
                Column("body", "text"),
            ),
            constraints=(
                PrimaryKey("posts_pkey", ("id",)),
                ForeignKey("posts_user_id_fkey", ("user_id",), "app", "users", ("id",), on_delete="CASCADE"),
                ExclusionConstraint("posts_excl", "gist", (ExclusionElement("during", "&&"),)),
            ),
        ),
        Table(
            "app",
            "events",
            columns=(Column("at", "date", not_null=True), Column("x", "integer")),
            partition_by=PartitionSpec("RANGE", "(at)"),
        ),
        Table(
            "app",
            "events_2024",
            columns=(Column("at", "date", not_null=True), Column("x", "integer", default="0")),
            partition_of=PartitionOf("app", "events", "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"),
        ),
        Table("Weird Schema", "Select", columns=(Column("from", "integer"),)),
        Index(
            "app",
            "users_lower_email_idx",
            "users",
            (IndexKey(expression="lower(email)"),),
            unique=True,
            predicate="(id > 10)",
            comment="ci",
        ),
        Index(
            "app",
            "posts_body_trgm",
            "posts",
            (IndexKey(column="body", opclass="public.gin_trgm_ops"),),
            method="gin",
        ),
        View(
            "app",
            "user_emails",
            " SELECT users.id,\n    users.email\n   FROM app.users;",
            columns=(
                ViewColumn("id", "integer", not_null=True),
                ViewColumn("email", "text", comment="login"),
            ),
            comment="v",
        ),
        View("app", "user_emails2", " SELECT user_emails.id\n   FROM app.user_emails;", materialized=True),
        View("app", "a_first", " SELECT user_emails2.id\n   FROM app.user_emails2;"),
        Function(
            "app",
            "touch",
            returns="trigger",
            language="plpgsql",
            body="\nBEGIN\n  RETURN NEW;\nEND;\n",
            config=("search_path=app, pg_temp",),
        ),
        Function(
            "app",
            "add",
            (FunctionArgument("a", "integer"), FunctionArgument("b", "integer", default="1")),
            returns="integer",
            body="SELECT a + b",
            volatility="IMMUTABLE",
            strict=True,
            parallel="SAFE",
            comment="adds",
        ),
        Function(
            "app", "emails", returns="SETOF app.user_emails", body="SELECT * FROM app.user_emails", rows=100.0
        ),
        Function(
            "app",
            "proc",
            (FunctionArgument("x", "integer"),),
            kind="procedure",
            returns=None,
            body="BEGIN ATOMIC\n SELECT 1;\nEND",
        ),
        Trigger(
            "app",
            "users",
            "users_touch",
            "BEFORE",
            ("INSERT", "UPDATE"),
            "app",
            "touch",
            update_columns=("email",),
            enabled="D",
        ),
        Policy("app", "users", "own", command="SELECT", using="(id = 1)"),
        Privilege("TABLE", "app", "users", "PUBLIC", "SELECT"),
        Privilege("SCHEMA", "app", "app", "PUBLIC", "USAGE"),
        Privilege("FUNCTION", "app", "add(integer, integer)", "PUBLIC", "EXECUTE"),
    ]:
        b.add(node)
    return b.freeze()
