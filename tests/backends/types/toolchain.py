"""Shared by the type tests: the rich schema (rich_schema.sql) loaded and introspected once
per module, where to find tsc, and the check of real rows against generated Row types
(Rust and Swift, whose compilers do not run here)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from nself.frontends.live import introspect
from nself.ir import Catalog, CatalogBuilder
from nself.ir.model import CheckConstraint, Column, Domain, Schema, Table
from tests.backends.types.conftest import SessionDatabases
from tests.conftest import run_sql
from tests.tools import node_modules_with

HERE = Path(__file__).resolve().parent
RICH_SQL = HERE / "rich_schema.sql"
CORPUS_SCHEMAS = ["pagila", "openstreetmap", "lemmy"]


def load_rich(databases: SessionDatabases) -> tuple[str, Catalog]:
    """A database holding rich_schema.sql, and its introspected catalog."""
    url = databases.new("types_rich")
    run_sql(url, RICH_SQL.read_text(encoding="utf-8"))
    return url, introspect(url)


def tsc_path() -> Path:
    """tsc from the node_modules .ci/run installs: skips locally, fails in CI (tests/tools.py)."""
    return node_modules_with(".bin/tsc", "npm install --prefix .cache/node typescript@5") / ".bin" / "tsc"


# --------------------------------------------------------------------------- real rows


@dataclass(frozen=True)
class WireTypes:
    """How a language spells the types a row from PostgreSQL's JSON is read into, for
    `json_misfit`: its optional and array wrappers and its scalar type names."""

    optional: Callable[[str], str | None]  # the type inside an optional, or None
    array: Callable[[str], str | None]  # the element type of an array, or None
    any_json: str  # takes any JSON, null included (a jsonb 'null')
    bytes: str  # bytea: PostgreSQL's JSON writes hex
    strings: frozenset[str]
    integers: frozenset[str]
    oids: frozenset[str]  # unsigned: also an oid's digits as a string (docs/types.md)
    numbers: frozenset[str]
    boolean: str
    # the element type of an array of any number of dimensions (PgArray), or None
    any_array: Callable[[str], str | None] = lambda _: None


Shapes = tuple[dict[str, dict[str, str]], set[str]]  # ({struct: {JSON key: type}}, enums)


def json_misfit(type_name: str, value: object, wire: WireTypes, shapes: Shapes) -> str | None:
    """Why a JSON value from PostgreSQL does not fit a generated type (None when it does):
    above all, a null where the type is not optional."""
    structs, enums = shapes
    if type_name == wire.any_json:
        return None
    inner = wire.optional(type_name)
    if inner is not None:
        return None if value is None else json_misfit(inner, value, wire, shapes)
    if value is None:
        return f"null in a {type_name}"
    if type_name == wire.bytes:
        return None if isinstance(value, str) else f"{value!r} is not bytea"
    element = wire.any_array(type_name)
    if element is not None:  # any dimension: all sub-arrays, or all elements
        if not isinstance(value, list):
            return f"{value!r} is not an array"
        if value and all(isinstance(v, list) for v in value):
            return next((r for r in (json_misfit(type_name, v, wire, shapes) for v in value) if r), None)
        return next((r for r in (json_misfit(element, v, wire, shapes) for v in value) if r), None)
    element = wire.array(type_name)
    if element is not None:
        if not isinstance(value, list):
            return f"{value!r} is not an array"
        return next((r for r in (json_misfit(element, v, wire, shapes) for v in value) if r), None)
    if type_name in wire.strings or type_name in enums:
        return None if isinstance(value, str) else f"{value!r} is not a string"
    if type_name in wire.oids and isinstance(value, str):
        return None if value.isdigit() else f"{value!r} is not an oid"
    if type_name in wire.integers:
        return (
            None if isinstance(value, int) and not isinstance(value, bool) else f"{value!r} is not an integer"
        )
    if type_name in wire.numbers:
        return (
            None
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool)
            else f"{value!r} is not a number"
        )
    if type_name == wire.boolean:
        return None if isinstance(value, bool) else f"{value!r} is not a {wire.boolean}"
    if type_name in structs:
        if not isinstance(value, dict):
            return f"{value!r} is not an object"
        fields = structs[type_name]
        if set(value) != set(fields):
            return f"{sorted(value)} are not the fields {sorted(fields)} of {type_name}"
        return next(
            (f"{k}: {r}" for k, v in value.items() if (r := json_misfit(fields[k], v, wire, shapes))), None
        )
    return f"unknown type {type_name}"


def row_misfits(
    url: str, catalog: Catalog, row_type: Mapping[tuple[str, str], str], wire: WireTypes, shapes: Shapes
) -> tuple[int, list[str]]:
    """Every row of every table as PostgreSQL writes it in JSON (row_to_json, numbers as
    Decimal) against the table's Row type (`row_type`: (schema, table) -> type name): how
    many rows were read, and each misfit."""
    problems: list[str] = []
    checked = 0
    with psycopg.connect(url) as conn:
        for table in catalog.tables:
            qualified = '"{}"."{}"'.format(table.schema.replace('"', '""'), table.name.replace('"', '""'))
            name = row_type[(table.schema, table.name)]
            for (row,) in conn.execute(f"SELECT row_to_json(t)::text FROM {qualified} t").fetchall():  # type: ignore[arg-type]
                checked += 1
                problem = json_misfit(name, json.loads(row, parse_float=Decimal), wire, shapes)
                if problem:
                    problems.append(f"{name}: {problem}")
    return checked, problems


# A NOT NULL element domain, and a domain over an array whose CHECK forbids NULL elements.
ELEMENT_DOMAINS = (
    Domain("public", "label", "text", not_null=True),
    Domain(
        "public",
        "strict_tags",
        "text[]",
        checks=(CheckConstraint("strict_tags_check", "(array_position(VALUE, NULL::text) IS NULL)"),),
    ),
)


def one_table_catalog(columns: Sequence[Column], checks: Sequence[str] = ()) -> Catalog:
    """A catalog with the table public.t of `columns` and CHECKs `checks`, beside
    ELEMENT_DOMAINS (public.label, public.strict_tags)."""
    builder = CatalogBuilder()
    builder.add(Schema("public"))
    for domain in ELEMENT_DOMAINS:
        builder.add(domain)
    constraints = tuple(CheckConstraint(f"t_check{i}", check) for i, check in enumerate(checks))
    builder.add(Table("public", "t", tuple(columns), constraints=constraints))
    return builder.freeze()


# --------------------------------------------------------------------------- functions

FUNCTIONS_SQL = HERE / "functions_schema.sql"

# Calls of functions_schema.sql's functions: (function, named arguments as JSON, unnamed
# arguments as SQL literals). Each result is fetched as PostgreSQL's JSON of what a
# client receives: a SETOF as an array (NULL rows kept as null), else the one value.
FUNCTION_CALLS: list[tuple[str, dict[str, object], list[str]]] = [
    ("people_named", {"pattern": "%"}, []),
    ("people_named", {"pattern": "A%", "max_rows": 5}, []),
    ("maybe_numbers", {"n": 4}, []),
    ("stats", {"since": 1}, []),
    ("split_name", {"full_name": "Ann Lee"}, []),
    ("split_name", {"full_name": "Bob"}, []),
    ("double_it", {"x": 21}, []),
    ("shout", {}, ["'hey'"]),
    ("shout", {"suffix": "?"}, ["'hey'"]),
    ("one", {}, []),
    ("total", {"nums": [1, 2, 3]}, []),
]


def call_function(
    conn: psycopg.Connection[Any],
    name: str,
    args: Mapping[str, object],
    unnamed: Sequence[str],
    returns_set: bool,
) -> str:
    """The JSON text of a call of public.`name`, its named arguments passed by name (as
    PostgREST does: PostgreSQL refuses a name for an unnamed one), from a JSON object."""
    named = []
    for key in args:
        argument_type, variadic = _argument_type(conn, name, key)
        named.append(f'{"VARIADIC " if variadic else ""}"{key}" => %s::{argument_type}')
    values = ", ".join([*unnamed, *named])
    parameters = list(args.values())
    call = f"public.{name}({values})"
    query = (
        f"SELECT coalesce(json_agg(r), '[]')::text FROM (SELECT {call} AS r) s"
        if returns_set
        else f"SELECT to_json({call})::text"
    )
    row = conn.execute(query, parameters).fetchone()  # type: ignore[call-overload]
    assert row is not None
    return json.dumps(json.loads(row[0]))  # one line (json_agg writes several)


def _argument_type(conn: psycopg.Connection[Any], function: str, argument: str) -> tuple[str, bool]:
    """(type, VARIADIC) of a function's argument."""
    row = conn.execute(
        "SELECT format_type(t, NULL), a.n = p.proargnames[p.pronargs] AND p.provariadic <> 0"
        " FROM pg_proc p, unnest(p.proargnames, coalesce(p.proallargtypes, p.proargtypes::oid[])) AS a(n, t)"
        " WHERE p.proname = %s AND a.n = %s LIMIT 1",
        (function, argument),
    ).fetchone()
    assert row is not None, (function, argument)
    return str(row[0]), bool(row[1])


def function_misfits(
    url: str,
    function_types: Mapping[str, tuple[str, str, str]],
    aliases: Mapping[str, str],
    wire: WireTypes,
    shapes: Shapes,
) -> list[str]:
    """Each call of FUNCTION_CALLS against the generated types: its named arguments fit the
    Args struct (every key a field), and what PostgreSQL returns fits the Returns alias
    (`aliases`: alias name -> the type it stands for). Signatures are looked up by name."""
    from nself.backends.types.common import callable_functions

    shapes_by_name = {s.name: s for s in callable_functions(introspect(url))}
    problems: list[str] = []
    with psycopg.connect(url) as conn:
        for name, args, unnamed in FUNCTION_CALLS:
            shape = shapes_by_name[name]
            args_type, _, returns_type = function_types[shape.signature]
            fields = shapes[0].get(args_type, {})  # an empty struct may not be in the shapes
            problems += [f"{args_type}: no field {key!r}" for key in args if key not in fields]
            value = json.loads(
                call_function(conn, name, args, unnamed, shape.returns_set), parse_float=Decimal
            )
            misfit = json_misfit(aliases[returns_type], value, wire, shapes)
            if misfit is not None:
                problems.append(f"{returns_type}: {misfit} ({value!r})")
    return problems
