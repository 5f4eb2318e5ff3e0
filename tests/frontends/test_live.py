"""The live frontend against a real PostgreSQL 15: a hand-written schema with every kind
of object (expected values are what psql shows for it), every corpus schema, query counts
and connection errors."""

from __future__ import annotations

import dataclasses
import os
import random
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from nself.errors import ConnectionFailed
from nself.frontends.live import (
    _NODE_TOKEN,
    Q_FUNCTIONS,
    Q_INDEXES,
    for_server_version,
    introspect,
    introspect_connection,
    trigger_when,
)
from nself.ir import catalog_to_json
from nself.ir import model as m
from nself.ir.model import Catalog
from nself.runtime.cluster import LocalCluster
from tests.conftest import CORPUS, run_sql
from tests.corpus import CorpusCase, all_cases, create_loaded, ensure_roles

pytestmark = pytest.mark.oracle

SCHEMA_SQL = Path(__file__).with_name("live_schema.sql")
# The whole IR of live_schema.sql; regenerate with NSELF_UPDATE_GOLDEN=1 and review the diff.
GOLDEN_JSON = Path(__file__).with_name("live_schema.json")


def _create_database(cluster: LocalCluster, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return name


def _drop_database(cluster: LocalCluster, name: str) -> None:
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rich_url(pg_cluster: LocalCluster) -> Iterator[str]:
    name = _create_database(pg_cluster, "live_rich")
    url = pg_cluster.url(name)
    ensure_roles(url, ("live_reader",))
    CorpusCase("live_schema", (SCHEMA_SQL,)).load(url)
    yield url
    _drop_database(pg_cluster, name)


@pytest.fixture(scope="module")
def rich(rich_url: str) -> Catalog:
    return introspect(rich_url)


def _table(catalog: Catalog, name: str) -> m.Table:
    table = catalog.table("app", name)
    assert table is not None, name
    return table


def _constraint(table: m.Table, name: str) -> Any:
    return next(c for c in table.constraints if c.name == name)


# --------------------------------------------------------------------------- the rich schema


def test_schemas_and_extensions(rich: Catalog) -> None:
    assert rich.schemas == (
        m.Schema("app", comment="application objects"),
        m.Schema("public", comment="standard public schema"),
    )
    assert [(e.name, e.schema) for e in rich.extensions] == [("btree_gist", "app"), ("citext", "app")]
    assert all(e.version for e in rich.extensions)
    assert "plpgsql" not in {e.name for e in rich.extensions}
    # objects of extensions (citext's type and functions, btree_gist's opclasses) are hidden
    assert not [f for f in rich.functions if f.name.startswith(("citext", "gbt_"))]


def test_types(rich: Catalog) -> None:
    assert rich.enums == (m.Enum("app", "mood", ("sad", "meh", "ok", "happy"), comment="how one feels"),)
    assert rich.domains == (
        m.Domain("app", "code", "text", collation='"C"'),
        m.Domain(
            "app",
            "posint",
            "integer",
            not_null=True,
            default="1",
            checks=(
                m.CheckConstraint("posint_positive", "(VALUE > 0)"),
                m.CheckConstraint("posint_small", "(VALUE < 1000000)", validated=False),
            ),
        ),
    )
    assert rich.composite_types == (
        m.CompositeType(
            "app",
            "pair",
            (
                m.CompositeAttribute("x", "integer"),
                m.CompositeAttribute("label", "text", collation='"C"'),
                m.CompositeAttribute("m", "app.mood"),
            ),
            comment="a pair",
        ),
    )
    assert rich.range_types == (m.RangeType("app", "floatrange", "double precision"),)
    # the range's constructor functions are PostgreSQL's, not the user's
    assert not [f for f in rich.functions if "range" in f.name]


def test_sequences(rich: Catalog) -> None:
    assert rich.sequences == (
        m.Sequence(
            "app",
            "counter",
            "integer",
            start=10,
            increment=5,
            min_value=5,
            max_value=5000,
            cache=3,
            cycle=True,
            comment="counts",
        ),
        m.Sequence("app", "users_id_seq", owned_by=("users", "id")),
    )  # identity sequences of app.orders are Column.identity, not sequences


def test_table_columns(rich: Catalog) -> None:
    users = _table(rich, "users")
    assert users.comment == "people"
    assert users.columns == (
        m.Column("id", "bigint", not_null=True, default="nextval('app.users_id_seq'::regclass)"),
        m.Column("email", "app.citext", not_null=True, comment="where to write"),
        m.Column("name", "character varying(100)", not_null=True, default="'anon'::character varying"),
        m.Column("mood", "app.mood", default="'ok'::app.mood"),
        m.Column("score", "numeric(10,2)"),
        m.Column("code", "text", collation='"C"'),
        m.Column("tags", "text[]", default="'{}'::text[]"),
        m.Column("created", "timestamp with time zone", not_null=True, default="now()"),
    )
    orders = _table(rich, "orders")
    assert orders.columns == (
        m.Column(
            "id",
            "integer",
            not_null=True,
            identity=m.Identity("ALWAYS", start=100, increment=2, max_value=2147483647),
        ),
        m.Column("user_id", "bigint", not_null=True),
        m.Column("ref", "integer", not_null=True, identity=m.Identity("BY DEFAULT", max_value=2147483647)),
        m.Column("qty", "app.posint"),
        m.Column("price", "numeric", not_null=True),
        m.Column("total", "numeric", generated="(price * (2)::numeric)"),
        m.Column("note", "text"),
    )


def test_table_constraints(rich: Catalog) -> None:
    users = _table(rich, "users")
    assert users.constraints == (
        m.UniqueConstraint("users_email_key", ("email",), comment="one account per address"),
        m.PrimaryKey("users_pkey", ("id",)),
        m.CheckConstraint("users_score_check", "(score >= (0)::numeric)"),
    )
    orders = _table(rich, "orders")
    assert orders.constraints == (
        m.CheckConstraint("orders_note_check", "(note <> ''::text)", validated=False),
        m.PrimaryKey("orders_pkey", ("id",)),
        m.CheckConstraint("orders_price_check", "(price > (0)::numeric)", no_inherit=True),
        m.UniqueConstraint("orders_ref_uq", ("ref", "note"), include=("qty",), nulls_not_distinct=True),
        m.ForeignKey(
            "orders_user_fk",
            ("user_id",),
            "app",
            "users",
            ("id",),
            on_update="SET NULL",
            on_delete="CASCADE",
            match="FULL",
            deferrable=True,
            initially_deferred=True,
        ),
    )
    assert orders.options == ("fillfactor=70",)
    assert orders.rls_enabled and orders.rls_forced
    assert _table(rich, "bookings").constraints == (
        m.ExclusionConstraint(
            "no_overlap",
            "gist",
            (m.ExclusionElement("room", "="), m.ExclusionElement("during", "&&")),
            predicate="(room > 0)",
        ),
        m.ExclusionConstraint(
            "no_same_lower",
            "gist",
            (
                m.ExclusionElement("(lower(during))", "="),
                m.ExclusionElement("((room + 1))", "="),
            ),
        ),
    )
    scratch = _table(rich, "scratch")
    assert scratch.unlogged
    assert scratch.constraints == (m.PrimaryKey("scratch_pkey", ("k",), deferrable=True),)


def test_partitions_and_inheritance(rich: Catalog) -> None:
    events = _table(rich, "events")
    assert events.partition_by == m.PartitionSpec("RANGE", "at")
    assert events.constraints == (m.PrimaryKey("events_pkey", ("id", "at")),)
    part = _table(rich, "events_2024")
    assert part.partition_of == m.PartitionOf(
        "app", "events", "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2025-01-01 00:00:00+00')"
    )
    # the partition's own copy of the primary key is PostgreSQL's doing, not listed
    assert part.constraints == ()
    assert [c.name for c in part.columns] == ["id", "at", "payload"]
    assert _table(rich, "events_other").partition_of == m.PartitionOf("app", "events", "DEFAULT")
    derived = _table(rich, "derived")
    assert derived.inherits == (("app", "base"),)
    assert [c.name for c in derived.columns] == ["id", "label", "extra"]
    assert [c.inherited for c in derived.columns] == [True, True, False]
    # a partition's columns all come from its parent: not marked
    assert not any(c.inherited for c in part.columns)
    assert derived.constraints == ()  # the CHECK is only inherited
    assert _table(rich, "base").inherits == ()


def test_indexes(rich: Catalog) -> None:
    # partition indexes of events_payload, and constraint indexes, are not listed
    assert [i.name for i in rich.indexes] == [
        "events_payload",
        "order_totals_user",
        "users_code_idx",
        "users_lower_name",
    ]
    by_name = {i.name: i for i in rich.indexes}
    assert by_name["events_payload"] == m.Index(
        "app", "events_payload", "events", (m.IndexKey("payload"),), method="gin"
    )
    assert by_name["users_lower_name"] == m.Index(
        "app",
        "users_lower_name",
        "users",
        (
            m.IndexKey(
                expression="lower((name)::text)",
                opclass="text_pattern_ops",
                descending=True,
                nulls_first=False,
            ),
        ),
        include=("mood",),
        predicate="(score > (10)::numeric)",
        comment="search",
    )
    assert by_name["users_code_idx"] == m.Index(
        "app",
        "users_code_idx",
        "users",
        (
            m.IndexKey("code", collation='"POSIX"'),
            m.IndexKey(expression="(score + (1)::numeric)", nulls_first=True),
        ),
        unique=True,
        options=("fillfactor=80",),
    )
    assert by_name["order_totals_user"].table == "order_totals"


def test_views(rich: Catalog) -> None:
    view = rich.view("app", "active_users")
    assert view == m.View(
        "app",
        "active_users",
        " SELECT users.id,\n    users.email,\n    upper(users.name::text) AS shout\n   FROM app.users\n"
        "  WHERE users.mood <> 'sad'::app.mood;",
        columns=(
            m.ViewColumn("id", "bigint", not_null=True),
            m.ViewColumn("email", "app.citext", not_null=True),
            m.ViewColumn("shout", "text", comment="loud"),
        ),
        options=("security_barrier=true", "check_option=local"),
        comment="the living",
        # from pg_depend: the columns used, and the type of the constant 'sad'::app.mood
        depends_on=(
            *(m.ViewDependency("column", "app", "users", c) for c in ("email", "id", "mood", "name")),
            m.ViewDependency("type", "app", "mood"),
        ),
    )
    totals = rich.view("app", "order_totals")
    assert totals is not None and totals.materialized
    assert totals.columns == (
        m.ViewColumn("user_id", "bigint", not_null=True),
        m.ViewColumn("total", "numeric"),
    )


@pytest.mark.parametrize(
    ("view", "not_null"),
    [
        ("active_users", {"id": True, "email": True, "shout": False}),  # shout is computed
        ("active_ids", {"id": True, "shout": False, "name": True}),  # through a view and USING
        ("user_orders", {"id": False, "price": False}),  # an outer join
        ("all_ids", {"id": False}),  # a set operation
        ("order_totals", {"user_id": True, "total": False}),  # grouped column, aggregate
        ("nested", {"id": True, "name": True, "top": False, "one": False}),  # subquery, CTE, sublinks
        ("rolled", {"id": False, "n": False}),  # grouping sets
        ("crossed", {"id": True, "price": True}),  # a cross join is an inner join
    ],
)
def test_view_column_nullability(rich: Catalog, view: str, not_null: dict[str, bool]) -> None:
    found = rich.view("app", view)
    assert found is not None
    assert {c.name: c.not_null for c in found.columns} == not_null


def test_functions(rich: Catalog) -> None:
    functions = {f.name: f for f in rich.functions}
    assert sorted(functions) == ["add", "biggest", "rank_it", "reset", "total_price", "touch", "user_names"]
    assert functions["add"] == m.Function(
        "app",
        "add",
        (m.FunctionArgument("a", "integer"), m.FunctionArgument("b", "integer", default="1")),
        returns="integer",
        body="RETURN (a + b)",
        volatility="IMMUTABLE",
        strict=True,
        leakproof=True,
        parallel="SAFE",
        cost=5.0,
        comment="adds",
    )
    assert functions["user_names"] == m.Function(
        "app",
        "user_names",
        (
            m.FunctionArgument("ids", "bigint[]", mode="VARIADIC"),
            m.FunctionArgument("id", "bigint", mode="OUT"),
            m.FunctionArgument("name", "text", mode="OUT"),
        ),
        returns="SETOF record",
        body=" SELECT id, name FROM app.users WHERE id = ANY (ids) ",
        volatility="STABLE",
        security_definer=True,
        rows=10.0,
        config=("search_path=app, pg_temp",),
    )
    assert functions["user_names"].signature == "app.user_names(bigint[])"
    assert functions["reset"].kind == "procedure" and functions["reset"].returns is None
    assert functions["reset"].arguments == (m.FunctionArgument("n", "integer", mode="INOUT"),)
    assert functions["rank_it"].kind == "window" and functions["rank_it"].cost is None
    assert functions["touch"].language == "plpgsql" and functions["touch"].returns == "trigger"


def test_aggregates(rich: Catalog) -> None:
    aggregates = {f.name: f for f in rich.functions if f.kind == "aggregate"}
    # ordered-set aggregates (app.pct) are left out: the IR cannot say which arguments are ORDER BY
    assert sorted(aggregates) == ["biggest", "total_price"]
    assert aggregates["biggest"] == m.Function(
        "app",
        "biggest",
        (m.FunctionArgument(None, "integer"),),
        kind="aggregate",
        returns="integer",
        language="internal",
        body="SFUNC = int4larger, STYPE = integer, SORTOP = OPERATOR(pg_catalog.>)",
        volatility="IMMUTABLE",
        comment="the largest",
    )
    assert aggregates["total_price"].body == (
        "SFUNC = numeric_add, STYPE = numeric, INITCOND = '0', COMBINEFUNC = numeric_add, "
        "MSFUNC = numeric_add, MINVFUNC = numeric_sub, MSTYPE = numeric, MINITCOND = '0', PARALLEL = safe"
    )


def test_aggregate_options_are_accepted_by_postgresql(rich: Catalog, database: str) -> None:
    """The option list kept as an aggregate's body recreates the same aggregate."""
    aggregates = [f for f in rich.functions if f.kind == "aggregate"]
    run_sql(database, "CREATE SCHEMA app")
    for f in aggregates:
        args = ", ".join(a.data_type for a in f.arguments)
        run_sql(database, f"CREATE AGGREGATE app.{f.name}({args}) ({f.body})")
    assert [f for f in introspect(database).functions if f.kind == "aggregate"] == [
        dataclasses.replace(f, comment=None) for f in aggregates
    ]


def test_triggers(rich: Catalog) -> None:
    triggers = {t.name: t for t in rich.triggers}
    assert triggers["orders_touch"] == m.Trigger(
        "app",
        "orders",
        "orders_touch",
        "BEFORE",
        ("INSERT", "UPDATE"),
        "app",
        "touch",
        arguments=("none", "it's"),
        update_columns=("note", "price"),
        when="(new.price > (100)::numeric)",
        comment="keeps notes",
    )
    assert triggers["orders_audit"] == m.Trigger(
        "app",
        "orders",
        "orders_audit",
        "AFTER",
        ("DELETE", "TRUNCATE"),
        "app",
        "touch",
        for_each_row=False,
        enabled="D",
    )
    assert triggers["users_new"].new_table == "fresh" and triggers["users_new"].old_table is None
    assert triggers["users_check"] == m.Trigger(
        "app",
        "users",
        "users_check",
        "AFTER",
        ("UPDATE",),
        "app",
        "touch",
        constraint=True,
        deferrable=True,
        initially_deferred=True,
    )
    assert triggers["active_users_ins"].timing == "INSTEAD OF"
    assert triggers["active_users_ins"].table == "active_users"


def test_policies(rich: Catalog) -> None:
    assert rich.policies == (
        m.Policy("app", "orders", "everyone", using="true", comment="open"),
        m.Policy(
            "app",
            "orders",
            "own_orders",
            permissive=False,
            command="UPDATE",
            roles=("live_reader",),
            using="(user_id = 1)",
            with_check="(price < (1000)::numeric)",
        ),
    )


def test_privileges(rich: Catalog) -> None:
    assert set(rich.privileges) == {
        m.Privilege("SCHEMA", "app", "app", "live_reader", "USAGE"),
        m.Privilege("SCHEMA", "public", "public", "PUBLIC", "USAGE"),
        m.Privilege("TABLE", "app", "users", "live_reader", "SELECT", grantable=True),
        m.Privilege("TABLE", "app", "users", "live_reader", "INSERT", grantable=True),
        m.Privilege("TABLE", "app", "orders", "live_reader", "UPDATE", column="note"),
        m.Privilege("TABLE", "app", "active_users", "PUBLIC", "SELECT"),
        m.Privilege("SEQUENCE", "app", "counter", "live_reader", "USAGE"),
        m.Privilege("FUNCTION", "app", "add(integer, integer)", "live_reader", "EXECUTE"),
        m.Privilege("FUNCTION", "app", "biggest(integer)", "live_reader", "EXECUTE"),
        m.Privilege("TYPE", "app", "mood", "live_reader", "USAGE"),
    }


def test_same_grant_from_two_grantors_is_one_privilege(database: str) -> None:
    ensure_roles(database, ("live_reader", "live_writer"))
    run_sql(
        database,
        "CREATE TABLE t (a int); GRANT SELECT ON t TO live_writer WITH GRANT OPTION;"
        " SET ROLE live_writer; GRANT SELECT ON t TO live_reader; RESET ROLE;"
        " GRANT SELECT ON t TO live_reader WITH GRANT OPTION;",
    )
    assert introspect(database).privileges == (
        m.Privilege("SCHEMA", "public", "public", "PUBLIC", "USAGE"),
        m.Privilege("TABLE", "public", "t", "live_reader", "SELECT", grantable=True),
        m.Privilege("TABLE", "public", "t", "live_writer", "SELECT", grantable=True),
    )


def test_objects_of_extensions_are_hidden(database: str) -> None:
    """Every extension the server offers, installed together: the IR lists the extensions
    and nothing they made (types, functions, operators' functions, tables, views, grants)."""
    installed = []
    with psycopg.connect(database, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM pg_available_extensions ORDER BY name")]
        for name in names:
            try:
                conn.execute(f'CREATE EXTENSION IF NOT EXISTS "{name}" CASCADE')  # type: ignore[arg-type]
            except psycopg.Error:
                continue  # needs a preloaded library or another server setting
        installed = [
            r[0] for r in conn.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'")
        ]
    catalog = introspect(database)
    assert sorted(e.name for e in catalog.extensions) == sorted(installed)
    # A schema CREATE EXTENSION made because the control file names it (PostGIS's topology,
    # tiger, tiger_data) is no member of the extension: it outlives DROP EXTENSION, so it is the
    # database's own and the IR lists it. PostgreSQL is the judge: drop every extension.
    made_for = {s.name for s in catalog.schemas} - {"public"}
    with psycopg.connect(database, autocommit=True) as conn:
        for name in installed:
            conn.execute(f'DROP EXTENSION IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]
        left = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
    assert made_for <= left
    catalog = dataclasses.replace(
        catalog,
        schemas=tuple(s for s in catalog.schemas if s.name not in made_for),
        privileges=tuple(p for p in catalog.privileges if p.schema not in made_for),
    )
    assert dataclasses.replace(catalog, extensions=()) == Catalog(
        schemas=(m.Schema("public", comment="standard public schema"),),
        privileges=(m.Privilege("SCHEMA", "public", "public", "PUBLIC", "USAGE"),),
    )


def test_empty_database(database: str) -> None:
    catalog = introspect(database)
    assert catalog == Catalog(
        schemas=(m.Schema("public", comment="standard public schema"),),
        privileges=(m.Privilege("SCHEMA", "public", "public", "PUBLIC", "USAGE"),),
    )


COLLATIONS_AND_INHERITANCE = """
CREATE SCHEMA s;
CREATE COLLATION s.posix FROM "POSIX";
CREATE COLLATION public.mixed (provider = libc, lc_collate = 'C', lc_ctype = 'POSIX');
CREATE COLLATION public.numeric (provider = icu, locale = 'en-u-kn-true');
CREATE COLLATION public.nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
COMMENT ON COLLATION public.numeric IS 'numbers sort by value';
CREATE TABLE public.t (a text COLLATE s.posix, b text COLLATE public.numeric);
CREATE TABLE public.p1 (id integer, x text, y text);
CREATE TABLE public.p2 (id integer, z text);
CREATE TABLE public.child (x text, own integer) INHERITS (public.p1, public.p2);
CREATE TABLE public.joined (id integer, x text, y text);
ALTER TABLE public.joined INHERIT public.p1;
ALTER TABLE public.p1 ADD COLUMN late integer;
CREATE TABLE public.parted (k integer, v text) PARTITION BY LIST (k);
CREATE TABLE public.parted_1 PARTITION OF public.parted FOR VALUES IN (1);
CREATE EXTENSION citext;
"""


def test_collations_and_inherited_columns(database: str) -> None:
    run_sql(database, COLLATIONS_AND_INHERITANCE)
    catalog = introspect(database)
    assert catalog.collations == (
        m.Collation("public", "mixed", "libc", lc_collate="C", lc_ctype="POSIX"),
        m.Collation("public", "nocase", "icu", locale="und-u-ks-level2", deterministic=False),
        m.Collation("public", "numeric", "icu", locale="en-u-kn-true", comment="numbers sort by value"),
        m.Collation("s", "posix", "libc", lc_collate="POSIX", lc_ctype="POSIX"),
    )
    t = catalog.table("public", "t")
    assert t is not None and [c.collation for c in t.columns] == ["s.posix", 'public."numeric"']

    def inherited(name: str) -> list[tuple[str, bool]]:
        table = catalog.table("public", name)
        assert table is not None
        return [(c.name, c.inherited) for c in table.columns]

    # merged with the child's own `x`: local; `id` from two parents; `late` added to p1 later
    assert inherited("child") == [
        ("id", True),
        ("x", False),
        ("y", True),
        ("z", True),
        ("own", False),
        ("late", True),
    ]
    # INHERIT leaves a table's own columns local; ADD COLUMN on the parent adds an inherited one
    assert inherited("joined") == [("id", False), ("x", False), ("y", False), ("late", True)]
    assert inherited("p1") == [("id", False), ("x", False), ("y", False), ("late", False)]
    assert inherited("parted_1") == [("k", False), ("v", False)]


def test_golden_json(rich: Catalog) -> None:
    text = catalog_to_json(rich)
    if os.environ.get("NSELF_UPDATE_GOLDEN") == "1":
        GOLDEN_JSON.write_text(text, encoding="utf-8")
    assert text == GOLDEN_JSON.read_text(encoding="utf-8")


def test_introspect_is_deterministic(rich_url: str, rich: Catalog) -> None:
    assert catalog_to_json(introspect(rich_url)) == catalog_to_json(rich)


def test_unprivileged_role_sees_the_same(rich_url: str, rich: Catalog) -> None:
    """A role without privileges on anything reads the same catalog (no superuser-only
    catalogs are used)."""
    ensure_roles(rich_url, ("live_nobody",), login=True)
    url = rich_url.replace("postgres@", "live_nobody@", 1)
    assert catalog_to_json(introspect(url)) == catalog_to_json(rich)


def test_queries_for_older_servers() -> None:
    """Columns PostgreSQL 13 and 14 lack are replaced; PostgreSQL 15 queries are unchanged."""
    assert "indnullsnotdistinct" not in for_server_version(Q_INDEXES, 140000)
    assert "sqlbody" not in for_server_version(Q_FUNCTIONS, 130000)
    assert for_server_version(Q_FUNCTIONS, 150000) == Q_FUNCTIONS


# --------------------------------------------------------------------------- query counts


class CountingConnection(psycopg.Connection[Any]):
    """A connection that counts the statements it runs."""

    statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        type(self).statements += 1
        return super().execute(*args, **kwargs)


def _count_queries(url: str) -> int:
    CountingConnection.statements = 0
    with CountingConnection.connect(url, autocommit=True) as conn:
        introspect_connection(conn)
        assert conn.autocommit and conn.row_factory is not dict_row  # left as it was found
    return CountingConnection.statements


def _many_tables(n: int) -> str:
    parts = [
        "CREATE TYPE kind AS ENUM ('a', 'b');",
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';",
    ]
    for i in range(n):
        parts.append(
            f"CREATE TABLE t{i} (id serial PRIMARY KEY, k kind, v int CHECK (v > 0), "
            f"parent int REFERENCES t{max(i - 1, 0)}(id), UNIQUE (v));"
            f"CREATE INDEX t{i}_k ON t{i} (k) WHERE v > 1; COMMENT ON TABLE t{i} IS 'table {i}';"
            f"CREATE VIEW v{i} AS SELECT id FROM t{i};"
            f"CREATE TRIGGER tr{i} BEFORE INSERT ON t{i} FOR EACH ROW EXECUTE FUNCTION f();"
            f"ALTER TABLE t{i} ENABLE ROW LEVEL SECURITY; CREATE POLICY p{i} ON t{i} USING (v > 0);"
        )
    return "\n".join(parts)


def test_query_count_does_not_grow_with_tables(new_database: Any) -> None:
    small, large = new_database("live_small"), new_database("live_large")
    run_sql(small, _many_tables(2))
    run_sql(large, _many_tables(40))
    assert len(introspect(large).tables) == 40
    counted_small, counted_large = _count_queries(small), _count_queries(large)
    assert counted_small == counted_large
    assert counted_large <= 20


def test_connection_inside_a_transaction_is_refused(rich_url: str) -> None:
    with psycopg.connect(rich_url) as conn:
        conn.execute("SELECT 1")
        with pytest.raises(ValueError, match="outside any transaction"):
            introspect_connection(conn)


# --------------------------------------------------------------------------- errors


def test_unreachable_server_hides_password() -> None:
    url = "postgresql://alice:s3cretpw@127.0.0.1:1/db"
    with pytest.raises(ConnectionFailed) as caught:
        introspect(url)
    message = str(caught.value)
    assert "s3cretpw" not in message
    assert "postgresql://alice:***@127.0.0.1:1/db" in message
    assert "\n" not in message


def test_bad_url_hides_password() -> None:
    with pytest.raises(ConnectionFailed) as caught:
        introspect("postgresql://bob:hunter22@127.0.0.1:1/db?sslmode=sometimes")
    assert "hunter22" not in str(caught.value)
    with pytest.raises(ConnectionFailed) as caught:
        introspect("host=127.0.0.1 port=1 password=hunter22 dbname=x connect_timeout=2")
    assert "hunter22" not in str(caught.value)


def test_wrong_password_hides_it(pg_cluster: LocalCluster) -> None:
    url = f"postgresql://nosuchuser:pw12345@127.0.0.1:{pg_cluster.port}/nodb"
    with pytest.raises(ConnectionFailed) as caught:
        introspect(url)
    assert "pw12345" not in str(caught.value)


@pytest.mark.parametrize(
    ("triggerdef", "when"),
    [
        (
            "CREATE TRIGGER t BEFORE UPDATE ON public.x FOR EACH ROW WHEN ((new.a > 1)) EXECUTE FUNCTION f()",
            "(new.a > 1)",
        ),
        (
            "CREATE TRIGGER t BEFORE UPDATE ON public.x FOR EACH ROW WHEN ((new.a = ')(')) EXECUTE FUNCTION f(')')",
            "(new.a = ')(')",
        ),
        ("CREATE TRIGGER t BEFORE UPDATE ON public.x FOR EACH ROW EXECUTE FUNCTION f()", None),
    ],
)
def test_trigger_when(triggerdef: str, when: str | None) -> None:
    assert trigger_when(triggerdef) == when


# pg_strtok's tokens in the plainest form: a brace or parenthesis, else a run of characters
# other than whitespace and those, a backslash taking the next character with it.
_PLAIN_NODE_TOKEN = re.compile(r"[(){}]|(?:\\.|[^\s(){}\\])+")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ('{VAR :varno 1 :varattno 2} ("a b" <>)', ["{", "VAR", ":varno", "1", ":varattno", "2", "}", "(", '"a', 'b"', "<>", ")"]),
        ("a\\ b\\(c) \\\\ d", ["a\\ b\\(c", ")", "\\\\", "d"]),
        ("x\\", ["x"]),
        ("x\\\ny", ["x", "y"]),
    ],
)
def test_node_tokens(text: str, tokens: list[str]) -> None:
    assert _NODE_TOKEN.findall(text) == tokens


def test_node_tokens_as_the_plain_pattern_reads_them() -> None:
    """The tokenizer (written for speed: possessive runs) splits any text as the plain
    pattern does, on every mix of the characters that matter."""
    rng = random.Random(14)
    for _ in range(20_000):
        text = "".join(rng.choice("ab :\\(){}\n\t\"<>") for _ in range(rng.randint(0, 24)))
        assert _NODE_TOKEN.findall(text) == _PLAIN_NODE_TOKEN.findall(text), text


# --------------------------------------------------------------------------- the corpus


def _corpus_params() -> list[Any]:
    if not (CORPUS / "README.md").exists():
        return [pytest.param(None, id="corpus-missing")]
    return [pytest.param(case, id=case.name) for case in all_cases(CORPUS)]


CORPUS_RESULTS: dict[str, bool] = {}


@pytest.fixture(scope="module")
def corpus_summary(request: pytest.FixtureRequest) -> Iterator[dict[str, bool]]:
    yield CORPUS_RESULTS
    if CORPUS_RESULTS:
        line = f"live corpus: {sum(CORPUS_RESULTS.values())}/{len(CORPUS_RESULTS)} cases introspected twice identically"
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
                reporter.write_line("")
                reporter.write_line(line)


@pytest.mark.parametrize("case", _corpus_params())
def test_corpus_introspects(
    case: CorpusCase | None, corpus: Path, pg_cluster: LocalCluster, corpus_summary: dict[str, bool]
) -> None:
    assert case is not None
    corpus_summary[case.name] = False
    name = f"live_corpus_{uuid.uuid4().hex[:12]}"
    try:
        url = create_loaded(pg_cluster, name, case)
        first = introspect(url)
        assert first.schemas
        assert catalog_to_json(introspect(url)) == catalog_to_json(first)
        corpus_summary[case.name] = True
    finally:
        _drop_database(pg_cluster, name)


def test_the_columns_read_on_a_helper_connection_match_one_connection(rich_url: str) -> None:
    """introspect(url) reads the columns on a second connection in the first one's snapshot:
    the same Catalog as every query on one connection, and the same again when the helper
    cannot connect (its queries then run on the first connection)."""
    from nself.frontends.live import connect as live_connect

    with live_connect(rich_url) as conn:
        alone = introspect_connection(conn)

    def broken() -> Any:
        raise ConnectionFailed("cannot connect to the helper")

    with live_connect(rich_url) as conn:
        without_helper = introspect_connection(conn, helper=broken)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert introspect(rich_url) == alone == without_helper

    opened: list[Any] = []

    def helper() -> Any:
        opened.append(live_connect(rich_url))
        return opened[-1]

    with live_connect(rich_url) as conn:
        with_helpers = introspect_connection(conn, helper=helper)
    # the helpers were used (the snapshot was exported: not from a subtransaction, where
    # PostgreSQL refuses to), and closed
    assert len(opened) >= 2 and all(c.closed for c in opened)
    assert with_helpers == alone


def test_an_expression_key_whose_opclass_stores_another_type_has_no_collation_of_its_own(database: str) -> None:
    # crates.io: gin (canon_crate_name(name) gin_trgm_ops); the index's column is int4 trigrams,
    # the expression's collation the text's default, which pg_get_indexdef does not print
    run_sql(
        database,
        "CREATE EXTENSION pg_trgm; CREATE TABLE crates (id int PRIMARY KEY, name varchar NOT NULL);"
        "CREATE FUNCTION canon(text) RETURNS text LANGUAGE sql AS $$ SELECT lower($1) $$;"
        "CREATE INDEX trgm ON crates USING gin (canon(name) gin_trgm_ops);"
        'CREATE INDEX trgm_c ON crates USING gin (canon(name) COLLATE "C" gin_trgm_ops);',
    )
    keys = {i.name: i.keys[0].collation for i in introspect(database).indexes}
    with psycopg.connect(database) as conn:
        printed = dict(conn.execute("SELECT relname, pg_get_indexdef(oid) FROM pg_class WHERE relname LIKE 'trgm%'").fetchall())
    assert "COLLATE" not in printed["trgm"] and keys["trgm"] is None
    assert 'COLLATE "C"' in printed["trgm_c"] and keys["trgm_c"] == '"C"'
