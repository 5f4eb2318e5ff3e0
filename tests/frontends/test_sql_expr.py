"""Oracle tests of the expression canonicaliser: every case is created in a real PostgreSQL 15
and the text PostgreSQL prints (format_type, pg_get_expr, pg_get_constraintdef,
pg_get_indexdef, pg_get_viewdef) is compared with what nself computes offline from the
pglast tree. One line per case: add a line to grow coverage."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pglast
import psycopg
import pytest
from pglast import ast

from nself.frontends.sql_expr import (
    ExprScope,
    canonical_type,
    check_expression,
    default_expression,
    generated_expression,
    index_expression,
    partition_bound,
    partition_key,
    predicate_expression,
    view_definition,
)
from nself.frontends.sql_expr.analyze import is_node
from nself.ir.builder import CatalogBuilder
from nself.ir.model import (
    Column,
    CompositeAttribute,
    CompositeType,
    Domain,
    Enum,
    Extension,
    Function,
    FunctionArgument,
    Table,
    ViewDependency,
)
from nself.runtime.cluster import LocalCluster

pytestmark = pytest.mark.oracle

PRELUDE = """
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN public.year AS integer CHECK (VALUE >= 1901);
CREATE DOMAIN public.email AS text;
CREATE TYPE public.pair AS (a integer, b text);
CREATE FUNCTION public.add_one(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';
CREATE FUNCTION public.label(x text, y text DEFAULT 'z') RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT x || y';
CREATE FUNCTION public.total(VARIADIC xs integer[]) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 1';
CREATE SEQUENCE public."Mixed_Seq";
CREATE FUNCTION public.pairs(n integer) RETURNS TABLE(a integer, b text) LANGUAGE sql AS 'SELECT 1, $$x$$';
CREATE SEQUENCE public.users_id_seq;
CREATE SCHEMA "Other";
CREATE TYPE "Other"."Mixed Case" AS ENUM ('a');
CREATE EXTENSION citext;
CREATE EXTENSION pg_trgm;
CREATE EXTENSION "uuid-ossp";
CREATE EXTENSION ltree;
CREATE EXTENSION hstore;
CREATE EXTENSION pgcrypto;
"""

EXTENSIONS = ("citext", "pg_trgm", "uuid-ossp", "ltree", "hstore", "pgcrypto")


def prelude_builder() -> CatalogBuilder:
    builder = CatalogBuilder()
    builder.add(Enum("public", "mood", ("sad", "ok", "happy")))
    builder.add(Enum("Other", "Mixed Case", ("a",)))
    from nself.ir.model import Sequence

    builder.add(Sequence("public", "users_id_seq"))
    builder.add(Sequence("public", "Mixed_Seq"))
    builder.add(Domain("public", "year", "integer"))
    builder.add(Domain("public", "email", "text"))
    builder.add(CompositeType("public", "pair", (CompositeAttribute("a", "integer"), CompositeAttribute("b", "text"))))
    builder.add(Function("public", "add_one", (FunctionArgument("x", "integer"),), returns="integer"))
    builder.add(
        Function(
            "public", "label", (FunctionArgument("x", "text"), FunctionArgument("y", "text", default="'z'::text")),
            returns="text",
        )
    )
    builder.add(Function("public", "total", (FunctionArgument("xs", "integer[]", "VARIADIC"),), returns="integer"))
    builder.add(
        Function(
            "public", "pairs",
            (FunctionArgument("n", "integer"), FunctionArgument("a", "integer", "TABLE"), FunctionArgument("b", "text", "TABLE")),
            returns="TABLE(a integer, b text)",
        )
    )
    for name in EXTENSIONS:
        builder.add(Extension(name, "public"))
    return builder


@dataclass
class Oracle:
    url: str

    def run(self, sql: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET search_path = pg_catalog; SET TimeZone = 'UTC'")
            return list(conn.execute(sql, params))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def oracle(pg_cluster: LocalCluster) -> Iterator[Oracle]:
    name = f"sqlexpr_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    o = Oracle(pg_cluster.url(name))
    o.run(PRELUDE)
    yield o
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


def parse_one(sql: str) -> Any:
    """The one statement of `sql` (typed Any: pglast types every field Optional)."""
    return pglast.parse_sql(sql)[0].stmt


def table_scope(create: Any, builder: CatalogBuilder) -> ExprScope:
    scope = ExprScope(("public",), builder, strict=True)
    columns: dict[str, str] = {}
    for elt in create.tableElts or ():
        if is_node(elt, ast.ColumnDef):
            columns[elt.colname] = canonical_type(elt.typeName, scope)
    return ExprScope(("public",), builder, columns, strict=True)


def create_table(oracle: Oracle, ddl: str) -> tuple[str, Any]:
    name = f"t_{uuid.uuid4().hex[:8]}"
    sql = f"CREATE TABLE public.{name} ({ddl})"
    oracle.run(sql)
    stmt = parse_one(sql)
    assert isinstance(stmt, ast.CreateStmt)
    return name, stmt


# --------------------------------------------------------------------------- types

TYPES = [
    "int", "integer", "int4", "int8", "bigint", "smallint", "int2", "serial4", "real", "float",
    "float(10)", "float(30)", "double precision", "float8", "numeric", "numeric(10)", "numeric(10,2)",
    "decimal(5,1)", "boolean", "bool", "text", "varchar", "varchar(255)", "character varying(3)",
    "char", "char(3)", "character(2)", "bpchar", "name", '"char"', "bytea", "uuid", "json", "jsonb",
    "date", "time", "time(3)", "time with time zone", "timetz", "timestamp", "timestamp(0)",
    "timestamptz", "timestamp(3) with time zone", "timestamp without time zone", "interval",
    "interval(2)", "interval year to month", "interval day to second(3)", "interval hour",
    "bit", "bit(5)", "bit varying", "varbit(5)", "inet", "cidr", "macaddr", "money", "tsvector",
    "tsquery", "xml", "point", "int[]", "integer[][]", "text[]", "varchar(10)[]", "int4range",
    "tstzrange", "oid", "regclass", "mood", "public.mood", "mood[]", '"Other"."Mixed Case"',
    "pg_catalog.int4", "pg_catalog.varchar(5)", "double precision[]", "timestamptz[]",
]


@pytest.mark.parametrize("declared", [t for t in TYPES if t != "serial4"])
def test_canonical_type(oracle: Oracle, declared: str) -> None:
    name, stmt = create_table(oracle, f"c {declared}")
    col = stmt.tableElts[0]
    mine = canonical_type(col.typeName, ExprScope(("public",), prelude_builder(), strict=True))
    (theirs,) = oracle.query(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attname = 'c'",
        f"public.{name}",
    )[0]
    assert mine == theirs


# --------------------------------------------------------------------------- defaults

DEFAULTS = [
    ("varchar(255)", "'x'"),
    ("integer", "0"),
    ("bigint", "0"),
    ("numeric", "0"),
    ("numeric(10,2)", "1.5"),
    ("numeric(10,2)", "0.00"),
    ("integer", "-1"),
    ("bigint", "-1"),
    ("timestamptz", "now()"),
    ("timestamp with time zone", "CURRENT_TIMESTAMP"),
    ("timestamp(3) with time zone", "CURRENT_TIMESTAMP(3)"),
    ("timestamp(0) without time zone", "now()"),
    ("timestamp", "LOCALTIMESTAMP"),
    ("date", "CURRENT_DATE"),
    ("name", "CURRENT_USER"),
    ("text", "SESSION_USER"),
    ("jsonb", "'{}'::jsonb"),
    ("jsonb", """'{"b":1, "a": [1,2], "aa": null}'"""),
    ("json", """'{"a":1}'"""),
    ("boolean", "true"),
    ("boolean", "false"),
    ("boolean", "(true and not false)"),
    ("text[]", "'{}'::text[]"),
    ("text[]", "'{}'"),
    ("text[]", """'{"a b",c}'"""),
    ("integer[]", "ARRAY[1,2]"),
    ("int[]", "'{1,2,3}'"),
    ("varchar[]", "ARRAY['a','b']"),
    ("varchar(10)[]", "'{}'::varchar[]"),
    ("interval", "interval '1 day'"),
    ("interval", "'24 hours'"),
    ("interval", "'1 week'"),
    ("interval", "'1 year 2 months 3 days 04:05:06'"),
    ("interval", "'90 minutes'"),
    ("timestamptz", "'2020-01-01'"),
    ("timestamptz", "'2020-01-01 10:00+02'"),
    ("timestamp", "'2020-01-01 10:00:00.5'"),
    ("date", "'2020-1-1'"),
    ("time", "'10:00'"),
    ("double precision", "1e3"),
    ("double precision", "0"),
    ("real", "1.5"),
    ("bigint", "10000000000"),
    ("smallint", "1"),
    ("text", "extract(year from now())::text"),
    ("char(3)", "'a'"),
    ("char", "'a'"),
    ("varchar", "'it''s'"),
    ("uuid", "gen_random_uuid()"),
    ("uuid", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'"),
    ("text", "lower('ABC')"),
    ("text", "'a' || 'b'"),
    ("integer", "1 + 2 * 3"),
    ("integer", "(1 + 2) * 3"),
    ("numeric", "1.50"),
    ("int", "(1)"),
    ("text", "CASE WHEN true THEN 'a' ELSE 'b' END"),
    ("text", "CASE WHEN true THEN 'a' END"),
    ("text", "coalesce(null, 'x')"),
    ("bit(3)", "B'101'"),
    ("varbit(5)", "B'1'"),
    ("varchar(10)", "'abc'::varchar(10)"),
    ("varchar(10)", "''::character varying"),
    ("integer", "nextval('users_id_seq')"),
    ("bigint", "nextval('public.users_id_seq'::regclass)"),
    ("text", "'x'::text"),
    ("integer", "'1'::integer"),
    ("bigint", "0::bigint"),
    ("bigint", "-1::bigint"),
    ("int", "2147483647"),
    ("timestamptz", "now() + interval '1 hour'"),
    ("date", "now()::date"),
    ("date", "(now() + '30 days'::interval)::date"),
    ("text", "md5(random()::text)"),
    ("text", "upper(left('abc', 2))"),
    ("text", "concat('a', 'b', 1)"),
    ("text", "format('%s', 1)"),
    ("inet", "'127.0.0.1'"),
    ("int", "greatest(1,2)"),
    ("text", "to_char(now(), 'YYYY')"),
    ("timestamp", "timezone('utc', now())"),
    ("timestamp", "(now() AT TIME ZONE 'utc')"),
    ("text", "substring('abc' from 1 for 2)"),
    ("text", "trim(both ' ' from ' a ')"),
    ("text", "current_setting('foo')"),
    ("text", "''"),
    ("mood", "'ok'"),
    ("mood", "'ok'::mood"),
    ("mood[]", "'{}'"),
    ("bytea", "'\\xDEAD'"),
    ("integer", "NULL"),
    ("text", "NULL::text"),
    ("varchar(5)", "NULL"),
    ("int", "NULL::int"),
    ("text", "position('a' in 'abc')::text"),
    ("int", "position('a' in 'abc')"),
    ("text", "overlay('abc' placing 'x' from 2)"),
    ("text", "trim('  a ')"),
    ("text", "ltrim(' a')"),
    ("int", "extract(dow from now())::int"),
    ("text", "current_schema"),
    ("text", "repeat('ab', 2)"),
    ("text", "replace('abc', 'b', 'x')"),
    ("text", "split_part('a,b', ',', 1)"),
    ("text", "'a' || 1"),
    ("text", "1 || 'a'"),
    ("jsonb", "jsonb_build_object('a', 1)"),
    ("jsonb", "'[]'::jsonb || '{}'::jsonb"),
    ("json", "json_build_array(1, 'a')"),
    ("int[]", "array[]::int[]"),
    ("text[]", "ARRAY[]::text[]"),
    ("int[]", "array_append('{}', 1)"),
    ("bigint", "floor(random() * 100)::bigint"),
    ("date", "current_date + 7"),
    ("date", "current_date + interval '7 days'"),
    ("timestamptz", "date_trunc('day', now())"),
    ("timestamp", "date_trunc('day', localtimestamp)"),
    ("interval", "make_interval(days => 1)"),
    ("numeric", "-1.5"),
    ("numeric", "'-1.5'"),
    ("float8", "-1.5"),
    ("int", "- 1"),
    ("int", "+1"),
    ("tsvector", "to_tsvector('english', 'a b')"),
    ("int", "length('abc')"),
    ("numeric", "round(1.234, 2)"),
    ("float8", "random()"),
    ("bigint", "(extract(epoch from now()) * 1000)::bigint"),
    ("timestamptz", "'infinity'"),
    ("text", "gen_random_uuid()::text"),
    ("int", "abs(-5)"),
    ("uuid", "uuid_generate_v4()"),
    ("uuid", "public.uuid_generate_v4()"),
    ("bytea", "gen_random_bytes(16)"),
    ("text", "encode(gen_random_bytes(8), 'hex')"),
    ("citext", "'X'"),
    ("citext[]", "'{}'"),
    ("ltree", "'a.b'"),
    ("hstore", "''"),
    ("text", "crypt('x', gen_salt('bf'))"),
    ("text", "digest('x', 'sha256')::text"),
    ("year", "2000"),
    ("public.year", "'2000'"),
    ("email", "'a@b'"),
    ("int", "add_one(1)"),
    ("int", "public.add_one(1)"),
    ("text", "label('a')"),
    ("text", "label('a', 'b')"),
    ("int", "total(1, 2, 3)"),
    ("int", "total(VARIADIC ARRAY[1, 2])"),
    ("bigint", "nextval('\"Mixed_Seq\"')"),
    ("interval", "INTERVAL '1' DAY"),
    ("interval day to second", "'1 day'"),
    ("interval", "INTERVAL '2 hours 30 minutes'"),
    ("date", "CURRENT_TIMESTAMP::date"),
    ("date", "CURRENT_DATE + 1"),
    ("timestamp(0)", "now()::timestamp(0)"),
    ("timestamptz", "'epoch'"),
    ("bigint[]", "ARRAY[1,2]::bigint[]"),
    ("mood[]", "ARRAY['ok'::mood]"),
    ("mood[]", "'{ok,sad}'"),
    ("text", "'abc' COLLATE \"C\""),
    ("bit(8)", "X'FF'"),
    ("regclass", "'users_id_seq'"),
    ("pair", "ROW(1, 'a')"),
    ("int", "(ROW(1, 'a')::pair).a"),
    ("int", "(ARRAY[1,2])[1]"),
    ("int[]", "(ARRAY[1,2,3])[1:2]"),
    ("text", "NULLIF('a', 'b')"),
    ("varchar(5)", "coalesce(NULL::varchar, 'x')"),
    ("text", "greatest('a'::varchar, 'b'::text)"),
    ("numeric(10,2)", "'1.5'::numeric(10,2)"),
    ("numeric(10,2)", "1.5::numeric(10,2)"),
    ("varchar(3)", "'abcdef'::varchar(3)"),
    ("time(0)", "'10:00:00.5'::time(0)"),
    ("interval(0)", "'1.5 seconds'::interval(0)"),
    ("json", "'[1, 2]'::json -> 0"),
    ("jsonb", "'{\"a\": {\"b\": 1}}'::jsonb #> '{a}'"),
    ("text", "'{\"a\": 1}'::jsonb ->> 'a'"),
    ("boolean", "'{\"a\": 1}'::jsonb @> '{\"a\": 1}'"),
    ("boolean", "'{\"a\": 1}'::jsonb ?| ARRAY['a', 'b']"),
    ("float8", "pi() * 2"),
    ("int", "2 ^ 3"),
    ("float8", "2 ^ 3"),
    ("int8", "9223372036854775807"),
    ("numeric", "9223372036854775808"),
    ("text", "E'a\\nb'"),
    ("text", "U&'\\0041'"),
    ("text", "$$dollar$$"),
    ("smallint", "-32768"),
    ("real", "'1e-5'"),
    ("float8", "1e300"),
    ("float8", "'0.1'"),
    ("float4", "0.1"),
    ("real", "'16777217'"),
    ("real", "'3.14159265'"),
    ("real", "'1000000'"),
    ("real", "'123456'"),
    ("real", "'0.0001'"),
    ("double precision", "'1e15'"),
    ("double precision", "'123456789012345'"),
    ("double precision", "'0.00001'"),
    ("money", "12.5"),
    ("uuid", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'"),
    ("inet", "'10.0.0.1/8'"),
    ("cidr", "'10.0.0.0/8'"),
    ("bytea", "'abc'"),
    ("timestamptz", "'2020-06-01 12:00:00 America/New_York'"),
    ("timestamptz", "'2020-06-01T12:00:00Z'"),
    ("timestamp", "'2020-06-01 12:00:00+05'"),
    ("date", "'20200601'"),
    ("tsquery", "'a & b'"),
    ("int4range", "'[1,10)'"),
    ("int4range", "int4range(1, 10)"),
    ("point", "'(1,2)'"),
    ("interval", "'1.5 seconds'::interval(0)"),
    ("interval", "'1 day'::interval day to second"),
    ("interval", "interval '3' hour"),
    ("interval", "interval '1:30' hour to minute"),
    ("interval", "interval '90' minute"),
    ("interval(2)", "interval '1.2345 seconds'"),
    ("interval", "'1.2345 seconds'::interval(2)"),
    ("interval", "interval '1 year 5 months' year"),
    ("interval", "interval '2 days 3 hours' day"),
    ("interval", "'-1 day'"),
    ("interval", "'1 day ago'"),
    ("interval", "'-01:30:00'"),
    ("interval", "'1 mon -2 days'"),
    ("tsvector", "'b a c a'"),
    ("tsquery", "'a & !b | c'"),
    ("varchar", "'abc'::varchar(2)"),
]


@pytest.mark.parametrize(("declared", "source"), DEFAULTS)
def test_default_expression(oracle: Oracle, declared: str, source: str) -> None:
    name, stmt = create_table(oracle, f"c {declared} DEFAULT {source}")
    col = stmt.tableElts[0]
    builder = prelude_builder()
    scope = ExprScope(("public",), builder, strict=True)
    data_type = canonical_type(col.typeName, scope)
    mine = default_expression(col.constraints[0].raw_expr, data_type, scope)
    rows = oracle.query(
        "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid = %s::regclass AND adnum = 1",
        f"public.{name}",
    )
    theirs = rows[0][0] if rows else None
    assert mine == theirs


# --------------------------------------------------------------------------- checks

CHECK_COLUMNS = (
    "ci citext, path ltree, kv hstore, price numeric, qty int, big bigint, small smallint, name varchar(20), body text, code char(2), "
    "status varchar, flag boolean, at timestamptz, day date, m mood, tags text[], data jsonb, "
    "score double precision, ratio real, \"Mixed\" int, email varchar(255), y year, e email"
)

CHECKS = [
    "price > 0",
    "price >= 0.5",
    "qty > 0",
    "qty BETWEEN 1 AND 10",
    "qty NOT BETWEEN 1 AND 10",
    "big > 0",
    "small > 0",
    "status IN ('a', 'b')",
    "status NOT IN ('a', 'b')",
    "body IN ('a', 'b')",
    "qty IN (1, 2, 3)",
    "name <> ''",
    "char_length(name) > 2",
    "length(body) < 100",
    "length(name) < 100",
    "code ~ '^[A-Z]+$'",
    "name ~* 'x'",
    "body LIKE 'a%'",
    "name LIKE 'a%'",
    "body NOT LIKE 'a%'",
    "body ILIKE 'a%'",
    "qty > 0 AND price > 0",
    "qty > 0 AND price > 0 AND big > 0",
    "qty > 0 OR price > 0 AND big > 0",
    "(qty > 0 OR price > 0) AND big > 0",
    "NOT flag",
    "flag",
    "flag IS TRUE",
    "body IS NOT NULL",
    "body IS NULL OR qty > 0",
    "at > '2020-01-01'",
    "day >= '2020-01-01'::date",
    "at < now()",
    "m <> 'sad'",
    "m IN ('ok', 'happy')",
    "cardinality(tags) < 5",
    "array_length(tags, 1) < 5",
    "data ? 'a'",
    "jsonb_typeof(data) = 'object'",
    "score > 0",
    "ratio > 0.5",
    "\"Mixed\" > 0",
    "qty <> ALL (ARRAY[1, 2])",
    "qty = ANY ('{1,2}')",
    "status = ANY (ARRAY['a', 'b'])",
    "coalesce(qty, 0) > 0",
    "CASE WHEN flag THEN qty > 0 ELSE true END",
    "qty IS DISTINCT FROM 3",
    "qty IS NOT DISTINCT FROM 3",
    "price * 2 > qty + 1",
    "qty % 2 = 0",
    "-qty < 0",
    "lower(email) = email",
    "email ~* '^[^@]+@[^@]+$'",
    "upper(code) = code",
    "body <> ALL (ARRAY['x'])",
    "name IS NOT NULL AND name <> ''",
    "octet_length(body) <= 1000",
    "qty::text <> ''",
    "trim(body) <> ''",
    "num_nonnulls(qty, price) = 1",
    "price IS NULL = (qty IS NULL)",
    "ci <> ''",
    "ci = 'abc'",
    "length(ci) < 10",
    "ci ~ '^a'",
    "body % 'abc'",
    "similarity(body, 'abc') > 0.5",
    "path <@ 'a.b'",
    "nlevel(path) < 5",
    "kv ? 'a'",
    "kv -> 'a' = 'b'",
    "lower(ci::text) = 'a'",
    "y > 1900",
    "y::int > 1900",
    "e <> ''",
    "m::text = 'ok'",
    "body LIKE 'a!%' ESCAPE '!'",
    "body SIMILAR TO 'a%'",
    "qty BETWEEN SYMMETRIC 10 AND 1",
    "flag IS NOT TRUE",
    "flag IS UNKNOWN",
    "(qty, price) > (1, 2)",
    "body COLLATE \"C\" > 'a'",
    "tags @> ARRAY['a']",
    "tags && '{a,b}'",
    "'a' = ANY (tags)",
    "add_one(qty) > 0",
    "data -> 'a' ->> 'b' = 'c'",
    "data @> '{\"a\": 1}'",
    "at::date > '2020-01-01'",
    "day + 1 > day",
    "at - interval '1 day' < at",
    "extract(year from day) > 2000",
    "date_part('year', at) > 2000",
    "char_length(code) = 2",
    "code = 'ab'",
    "code IN ('ab', 'cd')",
    "name::text = body",
    "name = body",
    "name || body <> ''",
    "qty::numeric = price",
    "big = qty",
    "small = qty",
    "score = ratio",
    "score > 1",
    "ratio > 1",
    "price > 1.5",
    "big > 1.5",
    "email LIKE '%@%'",
    "octet_length(email) < 300",
    "position('@' in email) > 0",
    "substring(email from 1 for 1) <> '@'",
    "upper(substr(body, 1, 1)) = 'A'",
    "body ~ '[a-z]' AND body !~ '[0-9]'",
    "array_position(tags, 'x') IS NULL",
    "COALESCE(array_length(tags, 1), 0) < 10",
    "jsonb_array_length(data) < 5",
    "num_nulls(qty, price, big) < 3",
    "NOT (qty > 0 AND price > 0)",
    "NOT (qty > 0) OR NOT (price > 0)",
]


@pytest.mark.parametrize("source", CHECKS)
def test_check_expression(oracle: Oracle, source: str) -> None:
    name, stmt = create_table(oracle, f"{CHECK_COLUMNS}, CONSTRAINT c CHECK ({source})")
    builder = prelude_builder()
    scope = table_scope(stmt, builder)
    constraint = stmt.tableElts[-1]
    mine = check_expression(constraint.raw_expr, scope)
    ((theirs, definition),) = oracle.query(
        "SELECT pg_get_expr(conbin, conrelid), pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND conname = 'c'",
        f"public.{name}",
    )
    assert mine == theirs
    assert definition == f"CHECK ({mine})"


# --------------------------------------------------------------------------- index keys and predicates

INDEX_KEYS = [
    "lower(email)",
    "lower(name)",
    "(lower(body))",
    "(qty + 1)",
    "((qty + 1) * 2)",
    "(qty * 2 + 1)",
    "coalesce(qty, 0)",
    "(data ->> 'a')",
    "((data ->> 'a')::int)",
    "date(at AT TIME ZONE 'UTC')",
    "upper(code)",
    "(price * qty)",
    "md5(body)",
    "(body || name)",
    "to_tsvector('english', body)",
    "(data -> 'a')",
    "(tags[1])",
    "lower(NORMALIZE(name, NFKC))",
    "lower(ci)",
    "subpath(path, 0, 1)",
    "(kv -> 'a')",
    "(body IS NFC NORMALIZED)",
]


@pytest.mark.parametrize("source", INDEX_KEYS)
def test_index_expression(oracle: Oracle, source: str) -> None:
    name, stmt = create_table(oracle, CHECK_COLUMNS)
    oracle.run(f"CREATE INDEX ON public.{name} ({source})")
    key = parse_one(f"CREATE INDEX ON t ({source})").indexParams[0].expr
    mine = index_expression(key, table_scope(stmt, prelude_builder()))
    ((theirs,),) = oracle.query(
        "SELECT pg_get_indexdef(indexrelid, 1, false) FROM pg_index WHERE indrelid = %s::regclass",
        f"public.{name}",
    )
    if not isinstance(key, (ast.FuncCall, ast.CoalesceExpr, ast.MinMaxExpr, ast.SQLValueFunction)):
        mine = f"({mine})"
    assert mine == theirs


PREDICATES = [
    "qty > 0",
    "body IS NOT NULL",
    "status = 'a'",
    "status IN ('a', 'b')",
    "NOT flag",
    "flag",
    "at > '2020-01-01'",
    "qty > 0 AND body IS NOT NULL",
    "m = 'ok'",
    "day IS NULL OR qty = 1",
]


@pytest.mark.parametrize("source", PREDICATES)
def test_predicate_expression(oracle: Oracle, source: str) -> None:
    name, stmt = create_table(oracle, CHECK_COLUMNS)
    oracle.run(f"CREATE INDEX ON public.{name} (qty) WHERE {source}")
    where = parse_one(f"CREATE INDEX ON t (qty) WHERE {source}").whereClause
    mine = predicate_expression(where, table_scope(stmt, prelude_builder()))
    ((theirs,),) = oracle.query(
        "SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indrelid = %s::regclass",
        f"public.{name}",
    )
    assert mine == theirs


POLICIES = [
    "qty > 0",
    "status = current_user",
    "name = current_setting('app.user')",
    "m = 'ok' AND flag",
    "EXISTS (SELECT 1 FROM public.v_u u WHERE u.t_id = qty)",
    "qty IN (SELECT t_id FROM v_u WHERE note = body)",
    "EXISTS (SELECT 1 FROM v_u WHERE v_u.t_id = {table}.qty AND v_u.note IS NOT NULL)",
]


@pytest.mark.parametrize("source", POLICIES)
def test_policy_expression(oracle: Oracle, source: str) -> None:
    name, stmt = create_table(oracle, CHECK_COLUMNS)
    source = source.format(table=name)
    builder = prelude_builder()
    if "v_u" in source:
        ensure_view_tables(oracle, builder)
    oracle.run(f"CREATE POLICY p ON public.{name} USING ({source}) WITH CHECK ({source})")
    policy = parse_one(f"CREATE POLICY p ON t USING ({source})")
    scope = table_scope(stmt, builder)
    scope.relation = ("public", name)
    mine = predicate_expression(policy.qual, scope)
    ((using, with_check),) = oracle.query(
        "SELECT pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid) FROM pg_policy "
        "WHERE polrelid = %s::regclass",
        f"public.{name}",
    )
    assert mine == using == with_check


TRIGGER_WHENS = [
    "NEW.qty > 0",
    "OLD.status IS DISTINCT FROM NEW.status",
    "OLD.* IS DISTINCT FROM NEW.*",
    "NEW.flag",
    "pg_trigger_depth() = 0",
]


@pytest.mark.parametrize("source", TRIGGER_WHENS)
def test_trigger_when(oracle: Oracle, source: str) -> None:
    name, stmt = create_table(oracle, CHECK_COLUMNS)
    oracle.run(
        "CREATE OR REPLACE FUNCTION public.noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
        f"CREATE TRIGGER tr BEFORE UPDATE ON public.{name} FOR EACH ROW WHEN ({source}) EXECUTE FUNCTION public.noop()"
    )
    trigger = parse_one(f"CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW WHEN ({source}) EXECUTE FUNCTION f()")
    mine = predicate_expression(trigger.whenClause, table_scope(stmt, prelude_builder()))
    ((definition,),) = oracle.query(
        "SELECT pg_get_triggerdef(oid, false) FROM pg_trigger WHERE tgrelid = %s::regclass", f"public.{name}"
    )
    assert f" WHEN ({mine}) EXECUTE" in definition, definition


DOMAINS = [
    ("integer", "VALUE >= 1901 AND VALUE <= 2155"),
    ("text", "VALUE ~ '^[0-9]{5}$'"),
    ("varchar(10)", "VALUE IN ('a', 'b')"),
    ("numeric", "VALUE > 0"),
    ("text", "char_length(VALUE) < 10"),
]


@pytest.mark.parametrize(("base", "source"), DOMAINS)
def test_domain_check(oracle: Oracle, base: str, source: str) -> None:
    from nself.frontends.sql_expr import domain_check_expression

    name = f"d_{uuid.uuid4().hex[:8]}"
    oracle.run(f"CREATE DOMAIN public.{name} AS {base} CHECK ({source})")
    create = parse_one(f"CREATE DOMAIN d AS {base} CHECK ({source})")
    scope = ExprScope(("public",), prelude_builder(), strict=True)
    mine = domain_check_expression(create.constraints[0].raw_expr, canonical_type(create.typeName, scope), scope)
    ((theirs,),) = oracle.query(
        "SELECT pg_get_expr(conbin, 0) FROM pg_constraint WHERE contypid = %s::regtype", f"public.{name}"
    )
    assert mine == theirs


GENERATED = [
    ("int", "qty * 2"),
    ("numeric", "price * qty"),
    ("text", "lower(body)"),
    ("text", "name || ' ' || body"),
    ("tsvector", "to_tsvector('english', coalesce(body, ''))"),
    ("bigint", "qty"),
]


@pytest.mark.parametrize(("declared", "source"), GENERATED)
def test_generated_expression(oracle: Oracle, declared: str, source: str) -> None:
    name, stmt = create_table(oracle, f"{CHECK_COLUMNS}, g {declared} GENERATED ALWAYS AS ({source}) STORED")
    scope = table_scope(stmt, prelude_builder())
    col = stmt.tableElts[-1]
    generated = next(c for c in col.constraints if c.contype == pglast.enums.ConstrType.CONSTR_GENERATED)
    mine = generated_expression(generated.raw_expr, scope, scope.columns["g"])
    ((theirs,),) = oracle.query(
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
        "ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = %s::regclass AND a.attname = 'g'",
        f"public.{name}",
    )
    assert mine == theirs


# --------------------------------------------------------------------------- partitions

PARTITIONS = [
    ("a timestamptz, b int", "RANGE (a)", "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')"),
    ("a date, b int", "RANGE (a)", "FOR VALUES FROM ('2020-01-01') TO ('2020-02-01')"),
    ("a int, b int", "RANGE (a, b)", "FOR VALUES FROM (1, MINVALUE) TO (10, MAXVALUE)"),
    ("a text, b int", "LIST (a)", "FOR VALUES IN ('x', 'y')"),
    ("a int, b int", "LIST (a)", "FOR VALUES IN (1, 2)"),
    ("a int, b int", "HASH (a)", "FOR VALUES WITH (MODULUS 4, REMAINDER 1)"),
    ("a int, b int", "LIST (a)", "DEFAULT"),
    ("a bigint, b int", "RANGE (a)", "FOR VALUES FROM (0) TO (100)"),
    ("a int, b text", "LIST ((a + 1))", "FOR VALUES IN (1)"),
    ("a int, b text", "LIST (lower(b))", "FOR VALUES IN ('x')"),
]


@pytest.mark.parametrize(("columns", "key", "bound"), PARTITIONS)
def test_partition(oracle: Oracle, columns: str, key: str, bound: str) -> None:
    parent = f"p_{uuid.uuid4().hex[:8]}"
    oracle.run(f"CREATE TABLE public.{parent} ({columns}) PARTITION BY {key}")
    oracle.run(f"CREATE TABLE public.{parent}_1 PARTITION OF public.{parent} {bound}")
    create = parse_one(f"CREATE TABLE {parent} ({columns}) PARTITION BY {key}")
    builder = prelude_builder()
    scope = table_scope(create, builder)
    spec = partition_key(create.partspec, scope)
    table = Table(
        "public", parent, tuple(Column(k, v) for k, v in scope.columns.items()), partition_by=spec
    )
    builder.add(table)
    child = parse_one(f"CREATE TABLE c PARTITION OF {parent} {bound}")
    mine_bound = partition_bound(child.partbound, scope, table)
    ((their_key, their_bound),) = oracle.query(
        "SELECT pg_get_partkeydef(%s::regclass), "
        "(SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = %s::regclass)",
        f"public.{parent}",
        f"public.{parent}_1",
    )
    assert (f"{spec.strategy} ({spec.key})", mine_bound) == (their_key, their_bound)


# --------------------------------------------------------------------------- views

VIEW_TABLES = """
CREATE TABLE public.v_t (id int PRIMARY KEY, name varchar(20) NOT NULL, body text, qty int, price numeric(10,2),
  at timestamptz, m public.mood, flag boolean);
CREATE TABLE public.v_u (id int PRIMARY KEY, t_id int NOT NULL, note text);
"""

VIEWS: list[Any] = [
    # what the view uses (compared with pg_depend): a relation none of whose columns is read,
    # a literal and an alias named like a table, a function, a regclass constant
    "SELECT count(*) AS n FROM v_u",
    "SELECT u.id FROM v_u u WHERE u.note = 'public.v_t'",
    "SELECT v_t.note FROM v_u v_t",
    "SELECT add_one(qty) AS q FROM v_t",
    "SELECT 'v_u'::regclass AS r, id FROM v_t",
    "SELECT '{sad}'::mood[] AS moods, 'ok'::mood AS m, NULL::email AS e, 5::year AS y, ROW(1, 'x')::pair AS p",
    "SELECT id FROM v_t WHERE m = ANY ('{sad,ok}') AND m::text <> 'x'",
    "SELECT id, name FROM v_t",
    "SELECT * FROM v_t",
    "SELECT id, name FROM v_t WHERE qty > 0",
    "SELECT t.id, u.note FROM v_t t JOIN v_u u ON u.t_id = t.id",
    "SELECT t.id, u.note FROM v_t t LEFT JOIN v_u u ON u.t_id = t.id WHERE t.flag",
    "SELECT name, count(*) AS n FROM v_t GROUP BY name",
    "SELECT name, sum(price) AS total, max(at) AS last FROM v_t GROUP BY name HAVING count(*) > 1",
    "SELECT id AS ident, lower(name) AS lname FROM v_t ORDER BY id",
    "SELECT id, name || ' ' || body AS full FROM v_t",
    "SELECT DISTINCT name FROM v_t",
    "SELECT id, CASE WHEN qty > 0 THEN 'pos' ELSE 'neg' END AS sign FROM v_t",
    "SELECT id FROM v_t WHERE name IN ('a', 'b') AND qty BETWEEN 1 AND 5",
    "SELECT id, qty * price AS amount FROM v_t",
    "SELECT 1 AS one",
    "SELECT id FROM v_t UNION SELECT id FROM v_u",
    "SELECT t.id FROM v_t t WHERE EXISTS (SELECT 1 FROM v_u u WHERE u.t_id = t.id)",
    "SELECT id, m FROM v_t WHERE m = 'ok'",
    "SELECT id, name FROM v_t LIMIT 10",
    "SELECT id, coalesce(body, '') AS body FROM v_t",
    "SELECT v_t.id, v_u.note FROM v_t, v_u WHERE v_u.t_id = v_t.id",
    "SELECT id, row_number() OVER (ORDER BY id) AS rn FROM v_t",
    "SELECT id, rank() OVER (PARTITION BY name ORDER BY qty DESC) AS r FROM v_t",
    "SELECT id, sum(qty) OVER (PARTITION BY name) AS s FROM v_t",
    "SELECT s.id, s.total FROM (SELECT id, qty * 2 AS total FROM v_t) s",
    "WITH x AS (SELECT id, name FROM v_t) SELECT id, name FROM x",
    "WITH x AS (SELECT id FROM v_t), y AS (SELECT id FROM x) SELECT y.id FROM y JOIN x ON x.id = y.id",
    "SELECT DISTINCT ON (name) name, id FROM v_t ORDER BY name, id DESC",
    "SELECT id::text AS tid, qty::bigint AS q, price::int AS p FROM v_t",
    "SELECT name, string_agg(body, ', ' ORDER BY id) AS bodies FROM v_t GROUP BY name",
    "SELECT name, count(*) FILTER (WHERE flag) AS flagged FROM v_t GROUP BY name",
    "SELECT name, count(DISTINCT qty) AS n FROM v_t GROUP BY name",
    "SELECT id FROM v_t ORDER BY at DESC NULLS LAST, id",
    "SELECT id FROM v_t ORDER BY name DESC",
    "SELECT id FROM v_t WHERE id IN (SELECT t_id FROM v_u)",
    "SELECT id, (SELECT count(*) FROM v_u WHERE v_u.t_id = v_t.id) AS n FROM v_t",
    "SELECT id FROM v_t LIMIT 5 OFFSET 10",
    "SELECT t.id, u.note FROM v_t t RIGHT JOIN v_u u ON u.t_id = t.id",
    "SELECT t.id, u.note FROM v_t t FULL JOIN v_u u ON u.t_id = t.id",
    "SELECT t.id, u.note FROM v_t t CROSS JOIN v_u u",
    "SELECT id, note FROM v_t JOIN v_u USING (id)",
    "SELECT a.id, b.id AS other FROM v_t a JOIN v_t b ON a.qty = b.qty",
    "SELECT id FROM v_t UNION ALL SELECT id FROM v_u",
    "SELECT id FROM v_t EXCEPT SELECT t_id FROM v_u",
    "SELECT id FROM v_t UNION SELECT id FROM v_u UNION SELECT t_id FROM v_u",
    "SELECT id, name FROM v_t UNION SELECT id, note FROM v_u ORDER BY 1",
    "SELECT t.* FROM v_t t",
    "SELECT t.*, u.note FROM v_t t JOIN v_u u ON u.t_id = t.id",
    "SELECT id, name AS title, now() AS at, CURRENT_DATE AS today FROM v_t",
    "SELECT id, upper(name::text) AS n, length(body) AS l FROM v_t WHERE body LIKE 'a%'",
    "SELECT id, coalesce(qty, 0) + 1 AS q FROM v_t WHERE NOT flag OR flag IS NULL",
    "SELECT id, price * 1.1 AS p, round(price, 1) AS r FROM v_t",
    "SELECT id, at AT TIME ZONE 'UTC' AS utc, date_trunc('day', at) AS d FROM v_t",
    "SELECT id, EXTRACT(year FROM at) AS y FROM v_t",
    "SELECT id, ARRAY[qty, id] AS arr, m::text AS mood FROM v_t",
    "SELECT count(*) AS n, max(price) AS mx, min(name) AS mn, avg(qty) AS a FROM v_t",
    "SELECT name, sum(qty) AS total FROM v_t GROUP BY 1 ORDER BY 2 DESC",
    "SELECT id, qty FROM v_t WHERE qty > (SELECT avg(qty) FROM v_t)",
    "SELECT id, greatest(qty, 0) AS g, nullif(qty, 0) AS nz FROM v_t",
    "SELECT id, CASE m WHEN 'ok' THEN 1 WHEN 'sad' THEN 2 ELSE 0 END AS code FROM v_t",
    "SELECT id FROM v_t WHERE at > now() - interval '1 day'",
    "SELECT id FROM v_t t WHERE NOT EXISTS (SELECT 1 FROM v_u u WHERE u.t_id = t.id)",
    "SELECT id, name FROM v_t WHERE name = ANY (ARRAY['a', 'b']) AND id <> ALL (ARRAY[1, 2])",
    "SELECT id, coalesce(name, 'x') AS n, coalesce(name, name) AS same FROM v_t",
    "SELECT id, CASE WHEN flag THEN name ELSE name END AS n FROM v_t",
    "SELECT id, name::varchar(5) AS short, price::numeric(6,1) AS p FROM v_t",
    "SELECT id, sum(qty) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM v_t",
    "SELECT id, sum(qty) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) AS s FROM v_t",
    "SELECT id, avg(qty) OVER (PARTITION BY m ORDER BY at RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS a FROM v_t",
    "SELECT id, lag(qty, 1) OVER (ORDER BY id) AS prev, first_value(name) OVER (PARTITION BY m) AS f FROM v_t",
    "SELECT v_t.id, tag FROM v_t, unnest(ARRAY['a', 'b']) tag",
    "SELECT x FROM generate_series(1, 3) x",
    "SELECT g FROM generate_series(1, 3) g WHERE g > 1",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT x, n FROM unnest(ARRAY[1, 2]) WITH ORDINALITY AS u(x, n)",
    "SELECT t.a, t.b FROM v_t t(a, b)",
    "SELECT v_t.id, part FROM v_t, regexp_split_to_table(v_t.body, ',') part",
    "SELECT v_t.id, p.part FROM v_t CROSS JOIN LATERAL regexp_split_to_table(v_t.body, ',') p(part)",
    "SELECT id, NULL AS note FROM v_t UNION ALL SELECT id, note FROM v_u",
    "SELECT id, 'a' AS kind FROM v_t UNION SELECT id, 'b' FROM v_u",
    "SELECT id, NULL::int AS n FROM v_t UNION ALL SELECT id, NULL FROM v_u",
    "SELECT t.id, x.n FROM v_t t CROSS JOIN LATERAL (SELECT count(*) AS n FROM v_u u WHERE u.t_id = t.id) x",
    "SELECT s.a, s.b FROM (SELECT id, name FROM v_t) s(a, b)",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT t.id, t.name FROM (VALUES (1, 'a'), (2, NULL)) t(id, name)",
    "SELECT * FROM (VALUES (1, 'a')) t",
    "SELECT id, note FROM v_t NATURAL JOIN v_u",
    "SELECT name, array_agg(id ORDER BY id DESC) AS ids FROM v_t GROUP BY name",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY qty) AS med, mode() WITHIN GROUP (ORDER BY name) AS md FROM v_t",
    "SELECT name, m, count(*) AS n FROM v_t GROUP BY ROLLUP (name, m)",
    "SELECT name, count(*) AS n FROM v_t GROUP BY GROUPING SETS ((name), ())",
    "SELECT name, m, count(*) AS n FROM v_t GROUP BY CUBE (name, m), qty",
    "SELECT name, m, grouping(name) AS g FROM v_t GROUP BY GROUPING SETS ((name, m), (name))",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT n FROM r",
    "WITH RECURSIVE r AS (SELECT id, 1 AS depth FROM v_t WHERE id = 1 UNION ALL "
    "SELECT t.id, r.depth + 1 FROM v_t t JOIN r ON r.id = t.qty) SELECT id, depth FROM r",
    "SELECT id, rank() OVER w AS r FROM v_t WINDOW w AS (ORDER BY qty)",
    "SELECT id, rank() OVER w AS r, sum(qty) OVER (w ROWS UNBOUNDED PRECEDING) AS s FROM v_t WINDOW w AS (ORDER BY qty)",
    "SELECT id FROM v_t ORDER BY id FETCH FIRST 3 ROWS WITH TIES",
    "(a, b) SELECT id, name FROM v_t",
    "SELECT e.key, e.value FROM jsonb_each('{\"a\": 1}'::jsonb) e",
    "SELECT v_t.id, k FROM v_t, jsonb_each_text('{\"a\": \"b\"}') AS j(k, v)",
    "SELECT key FROM json_each('{}'::json) WITH ORDINALITY",
    "SELECT p.a, p.b FROM pairs(3) p",
    "SELECT t FROM v_t t",
    "SELECT x.a, x.b FROM json_to_record('{\"a\": 1}'::json) AS x(a int, b varchar(5))",
    "SELECT t.id, row_to_json(t) AS j, (t).name AS nm FROM v_t t",
    "SELECT v_t.id, p.b FROM v_t JOIN LATERAL pairs(v_t.id) p ON p.a = v_t.id",
    "(a) SELECT id, name FROM v_t",
    "(x, y) SELECT id, name FROM v_t UNION SELECT id, note FROM v_u",
    "SELECT id FROM v_t ORDER BY id FETCH FIRST 3 ROWS ONLY",
    "SELECT count(*) AS n FROM v_t HAVING count(*) > 0",
    "SELECT id, bool_and(flag) OVER () AS all_flags FROM v_t",
    "SELECT json_agg(t) AS j FROM v_t t",
    "SELECT jsonb_build_object('id', id, 'name', name) AS j FROM v_t",
    "SELECT id, to_json(t.*) AS j FROM v_t t",
    "SELECT id, (SELECT array_agg(note) FROM v_u WHERE v_u.t_id = v_t.id) AS notes FROM v_t",
    "SELECT id, ARRAY(SELECT note FROM v_u WHERE v_u.t_id = v_t.id) AS notes FROM v_t",
    "SELECT id FROM v_t WHERE qty > ALL (SELECT t_id FROM v_u)",
    "SELECT id FROM v_t WHERE (id, qty) IN (SELECT id, t_id FROM v_u)",
]


@pytest.mark.parametrize("source", VIEWS)
def test_view_definition(oracle: Oracle, source: str) -> None:
    builder = prelude_builder()
    ensure_view_tables(oracle, builder)
    name = f"v_{uuid.uuid4().hex[:8]}"
    aliases = ""
    if source.startswith("("):  # a column list: "(a, b) SELECT ..."
        aliases, source = source[: source.index(")") + 1], source[source.index(")") + 2 :]
    oracle.run(f"CREATE VIEW public.{name} {aliases} AS {source}")
    scope = ExprScope(("public",), builder, strict=True)
    stmt = parse_one(f"CREATE VIEW x {aliases} AS {source}")
    text, columns, depends_on = view_definition(stmt.query, scope, [a.sval for a in stmt.aliases or ()])
    ((theirs,),) = oracle.query("SELECT pg_get_viewdef(%s::regclass, true)", f"public.{name}")
    # what the view uses, as pg_depend records it for its rule (the live frontend's query)
    recorded = {
        ViewDependency(kind, schema, dep_name, column if kind == "column" else None)
        for kind, schema, dep_name, column in oracle.query(
            "SELECT CASE WHEN d.refclassid = 'pg_proc'::regclass THEN 'function'"
            " WHEN d.refclassid = 'pg_type'::regclass THEN 'type' WHEN d.refobjsubid > 0"
            " THEN 'column' ELSE 'relation' END, n.nspname, coalesce(c.relname, p.proname, t.typname), a.attname"
            " FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid"
            " AND d.deptype = 'n'"
            " AND d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass)"
            " LEFT JOIN pg_class c ON d.refclassid = 'pg_class'::regclass AND c.oid = d.refobjid"
            " LEFT JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid"
            " LEFT JOIN pg_type y ON d.refclassid = 'pg_type'::regclass AND y.oid = d.refobjid"
            " LEFT JOIN pg_type t ON t.oid = CASE WHEN y.typcategory = 'A' AND y.typelem <> 0"
            " THEN y.typelem ELSE y.oid END"
            " JOIN pg_namespace n ON n.oid = coalesce(c.relnamespace, p.pronamespace, t.typnamespace)"
            " LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0"
            " WHERE r.ev_class = %s::regclass AND r.rulename = '_RETURN' AND d.refobjid <> r.ev_class",
            f"public.{name}",
        )
    }
    assert depends_on is not None and set(depends_on) == recorded
    their_cols = oracle.query(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
        f"public.{name}",
    )
    assert text == theirs
    assert [(c.name, c.data_type) for c in columns] == [(a, b) for a, b, _ in their_cols]


def ensure_view_tables(oracle: Oracle, builder: CatalogBuilder) -> None:
    """The tables views and policies read: made once per database, added to `builder`."""
    if not _view_tables_made.get(oracle.url):
        oracle.run(VIEW_TABLES)
        _view_tables_made[oracle.url] = True
    scope = ExprScope(("public",), builder, strict=True)
    for raw in pglast.parse_sql(VIEW_TABLES):
        create: Any = raw.stmt
        cols = []
        for elt in create.tableElts:
            if is_node(elt, ast.ColumnDef):
                not_null = any(
                    c.contype in (pglast.enums.ConstrType.CONSTR_NOTNULL, pglast.enums.ConstrType.CONSTR_PRIMARY)
                    for c in elt.constraints or ()
                )
                cols.append(Column(elt.colname, canonical_type(elt.typeName, scope), not_null=not_null))
        builder.add(Table("public", create.relation.relname, tuple(cols)))


_view_tables_made: dict[str, bool] = {}
