"""GraphQL schema (SDL): `schema.graphql`.

Without options: an object type per table, view and composite type, an enum per enum
type, `<Type>InsertInput` / `<Type>UpdateInput` per table, and root types: Query holds a
list field per table and view and the STABLE/IMMUTABLE functions, Mutation an insert
field per table and the VOLATILE functions.

Each table's object type has a field per foreign key, both ways (common.table_relations:
named after the other table, as PostgREST and Hasura name them): to-one the row, to-many
a list.

Option `with_hasura`: Hasura's conventions instead (hasura.io/docs/latest/api-reference/
graphql-api/query): root types `query_root` and `mutation_root`; type names are the
database names (`users`, `auth_users` outside public), scalars named after PostgreSQL types
(`bigint`, `timestamptz`, `jsonb`, ...), a native enum a scalar of its name (Hasura maps
enum *tables* to GraphQL enums, not native enums), and per table or view `<t>_bool_exp`
(columns and relationships), `<t>_order_by`, `<t>_select_column` (`distinct_on`),
`<t>_aggregate` with `<t>_aggregate_fields` (`count`, `min`/`max`, and `sum`, `avg`, ...
over numeric columns); per table `<t>_insert_input`, `<t>_set_input`,
`<t>_pk_columns_input`, `<t>_mutation_response`, with the root fields `<t>`,
`<t>_aggregate`, `<t>_by_pk`, `insert_<t>`, `insert_<t>_one`, `update_<t>`,
`update_<t>_by_pk`, `delete_<t>`, `delete_<t>_by_pk`. Object relationships are fields
of the related type, array relationships a list field with the select arguments and a
`<rel>_aggregate` field. Functions as Hasura tracks them: those returning a table's or
view's rows, their arguments in `args: <f>_args`, a SETOF one selected like the table.
Upserts: `on_conflict: <t>_on_conflict` (`<t>_constraint`, `<t>_update_column`) on the
inserts of a table with a primary key or unique constraint. Updates take `_inc`
(`<t>_inc_input`, numeric columns) and the jsonb operators (`<t>_append_input`, ...) beside
`_set`; `subscription_root` repeats `query_root`'s fields (live queries) and adds per table
or view `<t>_stream(batch_size: Int!, cursor: [<t>_stream_cursor_input]!, where:
<t>_bool_exp)` (streaming subscriptions, Hasura 2.7 and later) with
`<t>_stream_cursor_input`, `<t>_stream_cursor_value_input` and the enum `cursor_ordering`.

Arrays (option `arrays`, default "any"): PostgreSQL enforces no declared dimension, and
GraphQL has no type for lists of any depth, so an array column is the scalar `PgArray`
(nested JSON lists) unless a CHECK fixes `array_ndims` (then lists nested that many times);
with `with_hasura`, one list level, as Hasura (2.29 and later) serves every array column.
`arrays = "declared"` nests lists per declared dimension in both.

Functions: arguments are passed by name, so a function's field takes its named arguments
only (PostgreSQL refuses `arg1 => ...`); a function with an unnamed argument that has no
default cannot be called that way and is left out. Each element of a SETOF result may be
NULL where PostgreSQL allows it (common.result_nullable).

Field names are the column names (they are what a GraphQL response carries); a column
whose name is not a GraphQL name gets a valid one, and its description says the database
name."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property, partial
from typing import Any, Literal, cast

from nself.backends.types.common import (
    ArrayMode,
    ColumnRules,
    Effects,
    ForeignKeyGraph,
    Fragments,
    FunctionShape,
    PgType,
    Relation,
    Token,
    TypeResolver,
    array_mode,
    as_is,
    callable_functions,
    foreign_key_graph,
    function_names,
    keep_case,
    list_depth,
    member_names,
    named_type_objects,
    pascal_case,
    result_nullable,
    screaming_snake_case,
    shared_names,
    table_column_rules,
    table_relations,
    type_names,
)
from nself.ir.model import Catalog, Column, CompositeType, PrimaryKey, Table, UniqueConstraint, View
from nself.templating import render_template

BUILTIN_SCALARS = frozenset({"Int", "Float", "String", "Boolean", "ID"})
ROOT_TYPES = frozenset({"Query", "Mutation", "Subscription"})
SUBSCRIPTION_ROOT = "subscription_root"
HASURA_ROOT_TYPES = frozenset({"query_root", "mutation_root", SUBSCRIPTION_ROOT})

# Hasura's aggregate functions: min/max over comparable columns, the others over numeric
# ones (sum keeps the column's type, the statistics are Float).
COMPARABLE_FAMILIES = frozenset(
    {"int2", "int4", "int8", "float4", "float8", "numeric", "money", "text", "uuid", "date"}
    | {"timestamp", "timestamptz", "time", "timetz", "interval", "inet", "cidr", "macaddr", "bit"}
)
NUMERIC_FAMILIES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric"})
STATISTICS = ("avg", "stddev", "stddev_pop", "stddev_samp", "var_pop", "var_samp", "variance")
# Names an enum value cannot take.
ENUM_KEYWORDS = frozenset({"true", "false", "null"})
# Hasura's update operators on jsonb columns: (operator, the value's type, what it does).
JSONB_UPDATE_OPERATORS = (
    ("append", "jsonb", "Values appended (||) to jsonb columns"),
    ("prepend", "jsonb", "Values prepended (||) to jsonb columns"),
    ("delete_key", "String", "Keys deleted (- text) from jsonb columns"),
    ("delete_elem", "Int", "Array elements deleted by index (- integer) from jsonb columns"),
    ("delete_at_path", "[String!]", "Values deleted at a path (#-) from jsonb columns"),
)
HASURA_SUFFIXES = (
    "",
    "_bool_exp",
    "_order_by",
    "_insert_input",
    "_set_input",
    "_pk_columns_input",
    "_mutation_response",
    "_input",
    "_comparison_exp",
    "_array_comparison_exp",
    "_stream_cursor_input",
    "_stream_cursor_value_input",
    "_select_column",
    "_aggregate",
    "_aggregate_fields",
    "_aggregate_order_by",
    "_max_fields",
    "_min_fields",
    "_sum_fields",
    "_max_order_by",
    "_min_order_by",
    "_constraint",
    "_update_column",
    "_on_conflict",
    "_inc_input",
    *(f"_{op}_input" for op, _, _ in JSONB_UPDATE_OPERATORS),
    *(f"_{s}_fields" for s in STATISTICS),
)

# Family -> scalar (plain mode). Text-like values PostgreSQL sends as strings are String.
PLAIN_SCALARS: dict[str, str] = {
    "int2": "Int",
    "int4": "Int",
    "int8": "BigInt",
    "float4": "Float",
    "float8": "Float",
    "numeric": "BigFloat",
    "money": "String",
    "bool": "Boolean",
    "text": "String",
    "bytea": "Bytea",
    "json": "JSON",
    "jsonb": "JSON",
    "uuid": "UUID",
    "date": "Date",
    "timestamp": "Datetime",
    "timestamptz": "Datetime",
    "time": "Time",
    "timetz": "Time",
    "interval": "Interval",
    "inet": "String",
    "cidr": "String",
    "macaddr": "String",
    "bit": "String",
    "tsvector": "String",
    "tsquery": "String",
    "xml": "String",
    "geometric": "String",
    "range": "String",
    "multirange": "String",
    "hstore": "JSON",
    "record": "JSON",
    "void": "Boolean",
    "any": "JSON",
    "unknown": "String",
}

PLAIN_SCALAR_DOCS: dict[str, str] = {
    "BigInt": "A 64-bit integer, sent as a string so no digit is lost.",
    "BigFloat": "An arbitrary-precision decimal (numeric), sent as a string.",
    "Bytea": "Binary data, as PostgreSQL's hex text (\\x...).",
    "JSON": "Any JSON value.",
    "UUID": "A UUID, as text.",
    "Date": "A date, ISO 8601 (YYYY-MM-DD).",
    "Datetime": "A timestamp, ISO 8601; with an offset for timestamp with time zone.",
    "Time": "A time of day, ISO 8601.",
    "Interval": "An interval, as PostgreSQL prints it.",
    "PgArray": "A PostgreSQL array of any number of dimensions, or empty: nested JSON lists of the "
    "element type (PostgreSQL enforces no declared dimension; a CHECK (array_ndims(c) = N) "
    "gives a list type nested N times instead).",
}
# The scalar of an array of any number of dimensions (plain GraphQL).
ARRAY_SCALAR = "PgArray"

# Family -> scalar (Hasura mode): Hasura names scalars after the PostgreSQL type.
HASURA_SCALARS: dict[str, str] = {
    "int2": "smallint",
    "int4": "Int",
    "int8": "bigint",
    "float4": "Float",
    "float8": "float8",
    "numeric": "numeric",
    "money": "money",
    "bool": "Boolean",
    "text": "String",
    "bytea": "bytea",
    "json": "json",
    "jsonb": "jsonb",
    "uuid": "uuid",
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
    "time": "time",
    "timetz": "timetz",
    "interval": "interval",
    "inet": "inet",
    "cidr": "cidr",
    "macaddr": "macaddr",
    "bit": "bit",
    "tsvector": "tsvector",
    "tsquery": "tsquery",
    "xml": "xml",
    "geometric": "String",
    "range": "String",
    "multirange": "String",
    "hstore": "jsonb",
    "record": "jsonb",
    "void": "Boolean",
    "any": "jsonb",
    "unknown": "String",
}

# Streaming subscriptions (Hasura): the order of a cursor.
CURSOR_ORDERING = "cursor_ordering"
CURSOR_ORDERING_VALUES = (
    ("ASC", "ascending ordering of the cursor"),
    ("DESC", "descending ordering of the cursor"),
)

ORDER_BY_VALUES = (
    ("asc", "in ascending order, nulls last"),
    ("asc_nulls_first", "in ascending order, nulls first"),
    ("asc_nulls_last", "in ascending order, nulls last"),
    ("desc", "in descending order, nulls first"),
    ("desc_nulls_first", "in descending order, nulls first"),
    ("desc_nulls_last", "in descending order, nulls last"),
)

_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]*$")


# Text that JSON writes between quotes unchanged: no quote, backslash or control character.
_JSON_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')
# A name `member_names` keeps as it is (when no other member takes it).
_PLAIN_MEMBER = re.compile(r"[A-Za-z][A-Za-z0-9_]*|_[A-Za-z0-9][A-Za-z0-9_]*")


def graphql_string(text: str) -> str:
    """A GraphQL string literal (its escapes are JSON's)."""
    if _JSON_PLAIN.fullmatch(text):
        return f'"{text}"'
    return json.dumps(text, ensure_ascii=False)


def field_name(db_name: str) -> str:
    """A GraphQL name for a column or argument: the database name when it is one (names
    starting with '__' are reserved for introspection)."""
    if _NAME.match(db_name) and not db_name.startswith("__"):
        return db_name
    name = re.sub(r"^_+", "_", keep_case(db_name))
    if not name.strip("_"):
        return "_value"
    return "_" + name if name[0].isdigit() else name


def member_line(name: str, type_: str, arguments: str = "", description: str | None = None) -> str:
    """One field of a type or input, as the template places it between the braces:
    indented, after its description, ending its line."""
    line = f"  {name}{arguments}: {type_}\n"
    return f"  {graphql_string(description)}\n{line}" if description else line


def enum_value_line(value: str, description: str | None) -> str:
    """One value of an enum, as the template places it between the braces."""
    return f"  {graphql_string(description)}\n  {value}\n" if description else f"  {value}\n"


EMPTY_MEMBER = member_line("_empty", "Boolean", description="Nothing to hold: always null.")

Kind = Literal["scalar", "enum", "type", "input"]


# A definition of the SDL, by name: (kind, description literal or None, head, body), laid
# out as the template writes it when the definition is added (so that a reused piece holds
# it ready). The body is its members as whole lines (member_line, enum_value_line), joined:
# plain strings, which the cyclic GC need not follow (a render holds some 7,000
# definitions); a scalar has none (None), and as GraphQL has no empty object or input
# types (a table without columns, an update input of a table whose columns are all
# generated), an empty one holds one `_empty` field.
Definition = tuple[Kind, str | None, str, str | None]

# What a piece of the render adds to the schema's shared parts (common.Effects): ("s",
# scalar), ("i", (schema, name)): a composite's input type, ("c", (scalar, array)): a
# comparison type.

# A table's or view's piece (Fragments): its definitions, tokens, and its parts of the
# root types: (definitions, tokens, pk_arguments, update_operators, upsert, query fields,
# mutation fields, stream fields), each root part as (names, lines).
Piece = tuple[
    list[tuple[str, Definition]],
    frozenset[Token],
    str | None,
    str | None,
    bool,
    tuple[list[str], list[str]],
    tuple[list[str], list[str]],
    tuple[list[str], list[str]],
]


class RootFields:
    """The fields of a root type (Query, Mutation): their names, and their member lines
    (some 8,000 with Hasura's conventions, made straight into lines)."""

    __slots__ = ("lines", "names")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.lines: list[str] = []

    def add(self, name: str, arguments: str, type_: str, description: str) -> None:
        self.names.append(name)
        self.lines.append(member_line(name, type_, arguments, description))


class _Renderer:
    def __init__(
        self, catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
    ) -> None:
        self.catalog = catalog
        self.fragments = fragments
        # With fragments, each memo below keeps the tokens its entries gave.
        self.effects = Effects(self.apply, fragments is not None)
        self.emit = self.effects.emit
        self._record: list[tuple[str, Definition]] | None = None
        self.hasura = bool(options.get("with_hasura", False))
        self.arrays: ArrayMode = array_mode(options, "graphql")
        self.resolver = TypeResolver(catalog)
        self.scalars = HASURA_SCALARS if self.hasura else PLAIN_SCALARS
        self.names = shared_names(fragments, lambda: self._type_names(catalog))
        self.definitions: dict[str, Definition] = {}
        self._fields: dict[tuple[str, ...], list[str]] = {}
        self._field_names: dict[str, tuple[str, bool]] = {}  # field_name, and kept by member_names
        # A schema has few distinct types and fields (the same `id`, `created_at` in every
        # table): each type reference and each member line is spelled once.
        self._types: dict[tuple[str, bool, bool | None, bool, int | None], str] = {}
        self._lines: dict[tuple[str, str, str, str | None], str] = {}
        self._filters: dict[str, tuple[str, str | None]] = {}
        self._aggregable: dict[str, tuple[str, bool, bool]] = {}  # scalar, comparable, numeric
        self._columns: dict[tuple[object, ...], tuple[str, str, str, str, str]] = {}
        self.pk_arguments: dict[tuple[str, str], str] = {}  # "(id: bigint!)" per table
        # ", _inc: t_inc_input, ..." per table: the update operators beside _set (Hasura)
        self.update_operators: dict[tuple[str, str], str] = {}
        self.used_scalars: set[str] = set()
        self.streams = RootFields()  # Hasura's <t>_stream subscription fields
        self.needed_inputs: list[tuple[str, str]] = []  # composite (schema, name) used in inputs
        self.comparisons: set[tuple[str, bool]] = set()  # (scalar or enum name, array)
        self.upserts: set[tuple[str, str]] = set()  # tables with `<t>_on_conflict`
        self.table_keys = {(t.schema, t.name) for t in catalog.tables}
        self.query_root = "query_root" if self.hasura else "Query"
        self.mutation_root = "mutation_root" if self.hasura else "Mutation"

    def _type_names(self, catalog: Catalog) -> dict[tuple[str, str], str]:
        reserved = set(BUILTIN_SCALARS | ROOT_TYPES) | set(self.scalars.values())
        if self.hasura:
            reserved |= {"order_by", CURSOR_ORDERING} | {f"{s}_comparison_exp" for s in self.scalars.values()}
            reserved |= HASURA_ROOT_TYPES
            # Hasura prefixes the names of tables outside public with their schema.
            objects = [(s, n if s == "public" else f"{s}_{n}") for s, n in named_type_objects(catalog)]
            names = type_names(objects, keep_case, reserved=reserved, suffixes=HASURA_SUFFIXES, digit_prefix="_")
            return {(s, n if s == "public" else n[len(s) + 1 :]): v for (s, n), v in names.items()}
        reserved.add(ARRAY_SCALAR)
        return type_names(
            named_type_objects(catalog),
            pascal_case,
            reserved=reserved,
            suffixes=("", "InsertInput", "UpdateInput", "Input"),
        )

    @cached_property
    def graph(self) -> ForeignKeyGraph:
        """The foreign keys (built on first use: a render whose every table is reused from
        fragments needs none)."""
        return foreign_key_graph(self.catalog)

    # ------------------------------------------------------------------ names

    def relations(self) -> list[Table | View]:
        return [*self.catalog.tables, *self.catalog.views]

    def input_suffix(self) -> str:
        return "_input" if self.hasura else "Input"

    # ------------------------------------------------------------------ tokens

    def apply(self, token: Token) -> None:
        """Add to the schema's shared parts what `token` says."""
        kind, value = token
        if kind == "s":
            self.used_scalars.add(value)
        elif kind == "i":
            if value not in self.needed_inputs:
                self.needed_inputs.append(value)
        else:
            self.comparisons.add(value)

    def fields_of(self, db_names: Sequence[str]) -> list[str]:
        key = tuple(db_names)
        cached = self._fields.get(key)
        if cached is None:
            names = []
            plain = True
            for db_name in db_names:
                known = self._field_names.get(db_name)
                if known is None:
                    gql = field_name(db_name)
                    known = self._field_names[db_name] = (gql, _PLAIN_MEMBER.fullmatch(gql) is not None)
                names.append(known[0])
                plain = plain and known[1]
            # member_names keeps plain, distinct names as they are.
            if plain and len(set(names)) == len(names):
                cached = names
            else:
                cached = member_names(names, as_is, escape="{}", digit_prefix="_")
            self._fields[key] = cached
        return cached

    # ------------------------------------------------------------------ types

    def named(self, pg: PgType, *, as_input: bool = False) -> str:
        """The GraphQL named type of one element of `pg`."""
        element = pg.element()
        if element.kind == "enum":
            return self.names.get(element.key, "String")
        if element.kind == "composite":
            name = self.names.get(element.key)
            if name is None:
                return self.scalar("record")
            if as_input:
                self.emit(("i", element.key))
                return name + self.input_suffix()
            return name
        return self.scalar(element.family)

    def scalar(self, family: str) -> str:
        name = self.scalars.get(family, "String")
        if name not in BUILTIN_SCALARS:
            self.emit(("s", name))
        return name

    def type_ref(
        self,
        data_type: str,
        nullable: bool,
        *,
        element_nullable: bool | None = None,
        as_input: bool = False,
        ndims: int | None = None,
    ) -> str:
        """A type reference: `[T]` for an array whose elements may be NULL, `[T!]` when
        PostgreSQL keeps NULL out of them (`element_nullable` None: as the type itself
        says; tables pass what their CHECKs add, and in `ndims` the dimensions a CHECK
        fixes); a sub-array of a multi-dimensional array is never NULL: `[[T]!]`; an array
        of any number of dimensions is `PgArray` (Hasura: one list level). Spelled once per
        distinct reference: `named` registers the scalar or input type it needs on the
        first spelling, which is all it needs."""
        key = (data_type, nullable, element_nullable, as_input, ndims)
        text = self._types.get(key)
        if text is None:
            if self.fragments is not None:
                text = self._types[key] = self.effects.tracked("type", key, lambda: self.spell_type(*key))
            else:
                text = self._types[key] = self.spell_type(*key)
        elif self.fragments is not None:
            self.effects.reused("type", key)
        return text

    def spell_type(
        self, data_type: str, nullable: bool, element_nullable: bool | None, as_input: bool, ndims: int | None
    ) -> str:
        """type_ref's text, on its first spelling."""
        pg = self.resolver.resolve(data_type)
        depth = list_depth(pg, self.arrays, ndims)
        if pg.dims and self.hasura and self.arrays == "any":
            depth = 1  # Hasura serves every array column as one list
        if depth is None:
            self.emit(("s", ARRAY_SCALAR))
            text = ARRAY_SCALAR
        else:
            text = self.named(pg, as_input=as_input)
        if depth:
            elements = pg.element_nullable if element_nullable is None else element_nullable
            text = f"[{text}]" if elements else f"[{text}!]"
            for _ in range(depth - 1):
                text = f"[{text}!]"
        if not nullable:
            text += "!"
        return text

    def description(self, db_name: str, gql_name: str, comment: str | None) -> str | None:
        if db_name == gql_name:
            return comment or None
        return (
            f"Column {graphql_string(db_name)}. {comment}"
            if comment
            else f"Column {graphql_string(db_name)}."
        )

    def member(self, name: str, type_: str, arguments: str = "", description: str | None = None) -> str:
        key = (name, type_, arguments, description)
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = member_line(name, type_, arguments, description)
        return line

    def add(self, kind: Kind, name: str, description: str | None, lines: Iterable[str]) -> None:
        definition = self.definitions[name] = (
            kind,
            graphql_string(description) if description else None,
            f"{kind} {name}",
            None if kind == "scalar" else "".join(lines) or EMPTY_MEMBER,
        )
        if self._record is not None:
            self._record.append((name, definition))

    # ------------------------------------------------------------------ objects

    def row_lines(self, columns: Sequence[tuple[str, str, bool, str | None]]) -> list[str]:
        """Member lines of an object type from (name, data type, nullable, comment)."""
        names = self.fields_of([c[0] for c in columns])
        return [
            self.member(n, self.type_ref(data_type, nullable), "", self.description(db, n, comment))
            for n, (db, data_type, nullable, comment) in zip(names, columns, strict=True)
        ]

    def table_lines(
        self, table: Table, names: Sequence[str], rules: Sequence[ColumnRules]
    ) -> tuple[list[str], ...]:
        """The member lines a table's columns give (GraphQL `names`): its object type,
        insert input, update input and, with Hasura, `_bool_exp` and `_order_by` (the fields
        of `table_field_sets`, the filters of `filter_types`). A column's lines are spelled
        once per distinct (GraphQL name, name, type, comment, rules)."""
        memo = self._columns
        row: list[str] = []
        insert: list[str] = []
        update: list[str] = []
        filters: list[str] = []
        order: list[str] = []
        for c, gql, column_rules in zip(table.columns, names, rules, strict=True):
            key = (gql, c.name, c.data_type, c.comment, column_rules)
            lines = memo.get(key)
            if lines is None:
                if self.fragments is not None:
                    lines = memo[key] = self.effects.tracked(
                        "column", key, partial(self.column_lines, c, gql, column_rules)
                    )
                else:
                    lines = memo[key] = self.column_lines(c, gql, column_rules)
            elif self.fragments is not None:
                self.effects.reused("column", key)
            row.append(lines[0])
            if lines[1]:
                insert.append(lines[1])
            if lines[2]:
                update.append(lines[2])
            if lines[3]:
                filters.append(lines[3])
            if lines[4]:
                order.append(lines[4])
        return row, insert, update, filters, order

    def column_lines(self, column: Column, gql: str, rules: ColumnRules) -> tuple[str, str, str, str, str]:
        """A column's lines in the object type, insert input, update input, `_bool_exp` and
        `_order_by` ('' where it is absent)."""
        data_type, elements, ndims = column.data_type, rules.element_nullable, rules.ndims
        doc = self.description(column.name, gql, None)
        row = member_line(
            gql,
            self.type_ref(data_type, rules.nullable, element_nullable=elements, ndims=ndims),
            "",
            self.description(column.name, gql, column.comment),
        )
        insert = ""
        if rules.insert != "absent":
            optional = rules.insert == "optional"
            text = self.type_ref(data_type, optional, element_nullable=elements, as_input=True, ndims=ndims)
            insert = member_line(gql, text, "", doc)
        update = ""
        if rules.update != "absent":
            text = self.type_ref(data_type, True, element_nullable=elements, as_input=True, ndims=ndims)
            update = member_line(gql, text, "", doc)
        filter_line = order_line = ""
        if self.hasura:
            filter_type, order_type = self.filter_types(data_type)
            filter_line = member_line(gql, filter_type) if filter_type else ""
            order_line = member_line(gql, order_type) if order_type else ""
        return row, insert, update, filter_line, order_line

    def table(self, table: Table) -> None:
        name = self.names[(table.schema, table.name)]
        names = self.fields_of([c.name for c in table.columns])
        rules = table_column_rules(table, self.resolver)
        row, insert, update, filters, order = self.table_lines(table, names, rules)
        related = self.relation_lines(table, names, rules)
        self.add(
            "type",
            name,
            self.object_doc("table", table.schema, table.name, table.comment),
            row + related[0],
        )
        where = f"{table.schema}.{table.name}"
        if not self.hasura:
            self.add("input", f"{name}InsertInput", f"Values to insert into {where}.", insert)
            self.add("input", f"{name}UpdateInput", f"Values to set in {where}.", update)
            return
        self.add("input", f"{name}_insert_input", f"Values to insert into {where}.", insert)
        self.add("input", f"{name}_set_input", f"Values to set in {where}.", update)
        self.hasura_update_operators(table, name, names, rules, where)
        self.add_filters(name, filters + related[1], order + related[2], where)
        self.on_conflict(table, name, names, rules, where)
        self.hasura_aggregates(
            name, [(c.data_type, n) for c, n in zip(table.columns, names, strict=True)], where
        )
        pk = table.primary_key
        if pk is not None:
            position = {c: i for i, c in enumerate(pk.columns)}
            found = [
                (
                    position[c.name],
                    n,
                    self.type_ref(c.data_type, False, element_nullable=r.element_nullable, ndims=r.ndims),
                )
                for c, n, r in zip(table.columns, names, rules, strict=True)
                if c.name in position
            ]
            keys = [(n, t) for _, n, t in sorted(found, key=lambda k: k[0])]
            self.pk_arguments[(table.schema, table.name)] = (
                "(" + ", ".join(f"{n}: {t}" for n, t in keys) + ")"
            )
            self.add(
                "input",
                f"{name}_pk_columns_input",
                f"Primary key of {where}.",
                [self.member(n, t) for n, t in keys],
            )
        self.add(
            "type",
            f"{name}_mutation_response",
            f"Response of a mutation on {where}.",
            [
                self.member("affected_rows", "Int!", "", "Number of rows affected by the mutation."),
                self.member("returning", f"[{name}!]!", "", "Data from the rows affected."),
            ],
        )

    def on_conflict(
        self, table: Table, name: str, names: Sequence[str], rules: Sequence[ColumnRules], where: str
    ) -> None:
        """Hasura's upsert types for a table with a primary key or unique constraint:
        `<t>_constraint` (their names), `<t>_update_column` (the columns an update may set)
        and `<t>_on_conflict`, the `on_conflict` argument of `insert_<t>` and
        `insert_<t>_one`."""
        constraints = [c.name for c in table.constraints if isinstance(c, (PrimaryKey, UniqueConstraint))]
        if not constraints:
            return
        self.upserts.add((table.schema, table.name))
        values = member_names(constraints, as_is, keywords=ENUM_KEYWORDS, escape="{}_", digit_prefix="_")
        self.add(
            "enum",
            f"{name}_constraint",
            f"Unique or primary key constraints of {where}.",
            [
                enum_value_line(v, None if v == c else f"Constraint {graphql_string(c)}.")
                for v, c in zip(values, constraints, strict=True)
            ],
        )
        columns = [n for n, r in zip(names, rules, strict=True) if r.update != "absent"]
        if not ENUM_KEYWORDS.isdisjoint(columns):
            columns = member_names(columns, as_is, keywords=ENUM_KEYWORDS, escape="{}_")
        self.add(
            "enum",
            f"{name}_update_column",
            f"Columns of {where} an upsert may update.",
            [enum_value_line(c, None) for c in columns]
            or [enum_value_line("_PLACEHOLDER", "No column can be updated (placeholder, do not use).")],
        )
        self.add(
            "input",
            f"{name}_on_conflict",
            f"What an insert into {where} does on a conflict: update these columns (none: do nothing).",
            [
                self.member("constraint", f"{name}_constraint!"),
                self.member("update_columns", f"[{name}_update_column!]! = []"),
                self.member("where", f"{name}_bool_exp"),
            ],
        )

    def relation_lines(
        self, table: Table, names: Sequence[str], rules: Sequence[ColumnRules]
    ) -> tuple[list[str], list[str], list[str]]:
        """The relationship fields of a table's object type, `_bool_exp` and `_order_by`
        (common.table_relations; GraphQL names beside its columns' `names`)."""
        nullable = {c.name: r.nullable for c, r in zip(table.columns, rules, strict=True)}
        relations = table_relations(table, self.graph, nullable, self.table_keys.__contains__)
        if not relations:
            return [], [], []
        wanted = [field_name(r.name) for r in relations]
        taken = set(names)
        if len(set(wanted)) == len(wanted) and taken.isdisjoint(wanted):
            gql_names = wanted  # (member_names keeps distinct, free names as they are)
        else:
            gql_names = member_names(wanted, as_is, escape="{}", digit_prefix="_", taken=taken)
        fields: list[str] = []
        filters: list[str] = []
        order: list[str] = []
        for relation, gql in zip(relations, gql_names, strict=True):
            target = self.names[relation.target]
            doc = self.relation_doc(relation, gql)
            if not relation.many:
                fields.append(self.member(gql, target if relation.nullable else target + "!", "", doc))
                if self.hasura:
                    filters.append(self.member(gql, f"{target}_bool_exp"))
                    order.append(self.member(gql, f"{target}_order_by"))
                continue
            if not self.hasura:
                fields.append(self.member(gql, f"[{target}!]!", "(limit: Int, offset: Int)", doc))
                continue
            arguments = self.select_arguments(target)
            fields.append(self.member(gql, f"[{target}!]!", arguments, doc))
            aggregate = gql + "_aggregate"
            if aggregate in taken or aggregate in gql_names:
                aggregate = member_names([aggregate], as_is, escape="{}", taken=taken | set(gql_names))[0]
            fields.append(
                self.member(aggregate, f"{target}_aggregate!", arguments, f"Aggregates over {gql}.")
            )
            filters.append(self.member(gql, f"{target}_bool_exp"))
            order.append(self.member(aggregate, f"{target}_aggregate_order_by"))
        return fields, filters, order

    @staticmethod
    def relation_doc(relation: Relation, gql: str) -> str:
        fk = relation.fk
        where = f"{relation.target[0]}.{relation.target[1]}"
        if relation.outgoing:
            return f"The row of {where} that {fk.name} references."
        kind = "The rows" if relation.many else "The row"
        return f"{kind} of {where} whose {fk.name} references this row."

    def select_arguments(self, name: str) -> str:
        """Hasura's arguments of a list of `name` rows (a root field, an array relationship)."""
        return (
            f"(distinct_on: [{name}_select_column!], limit: Int, offset: Int,"
            f" order_by: [{name}_order_by!], where: {name}_bool_exp)"
        )

    def hasura_aggregates(self, name: str, columns: Sequence[tuple[str, str]], where: str) -> None:
        """`<name>_select_column`, `<name>_aggregate`, `<name>_aggregate_fields` with the
        min/max and numeric aggregate types, and `<name>_aggregate_order_by`, over
        (data type, GraphQL name) of the columns."""
        gql_names = [gql for _, gql in columns]
        values = gql_names
        if not ENUM_KEYWORDS.isdisjoint(gql_names):  # not enum values: escaped (distinct names)
            values = member_names(gql_names, as_is, keywords=ENUM_KEYWORDS, escape="{}_")
        self.add(
            "enum",
            f"{name}_select_column",
            f"Columns of {where}, for distinct_on and count.",
            [
                enum_value_line(v, None if v == gql else f"Column {graphql_string(gql)}.")
                for v, gql in zip(values, gql_names, strict=True)
            ]
            or [enum_value_line("_EMPTY", "The relation has no columns.")],
        )
        comparable: list[tuple[str, str]] = []  # (GraphQL name, scalar)
        numeric: list[tuple[str, str]] = []
        for data_type, gql in columns:
            kinds = self._aggregable.get(data_type)
            if kinds is None:
                if self.fragments is not None:
                    kinds = self._aggregable[data_type] = self.effects.tracked(
                        "aggregable", data_type, partial(self.aggregable, data_type)
                    )
                else:
                    kinds = self._aggregable[data_type] = self.aggregable(data_type)
            elif self.fragments is not None:
                self.effects.reused("aggregable", data_type)
            if kinds[1]:
                comparable.append((gql, kinds[0]))
            if kinds[2]:
                numeric.append((gql, kinds[0]))
        aggregate = [
            self.member(
                "count",
                "Int!",
                f"(columns: [{name}_select_column!], distinct: Boolean)",
                "Number of rows (with columns: of rows where they are not null).",
            )
        ]
        order = [self.member("count", "order_by")]
        if comparable:
            for function in ("max", "min"):
                self.add(
                    "type",
                    f"{name}_{function}_fields",
                    f"The {function} of each comparable column of {where}.",
                    [self.member(gql, scalar) for gql, scalar in comparable],
                )
                self.add(
                    "input",
                    f"{name}_{function}_order_by",
                    f"Ordering by the {function} of columns of {where}.",
                    [self.member(gql, "order_by") for gql, _ in comparable],
                )
                aggregate.append(self.member(function, f"{name}_{function}_fields"))
                order.append(self.member(function, f"{name}_{function}_order_by"))
        if numeric:
            self.add(
                "type",
                f"{name}_sum_fields",
                f"The sum of each numeric column of {where}.",
                [self.member(gql, scalar) for gql, scalar in numeric],
            )
            aggregate.append(self.member("sum", f"{name}_sum_fields"))
            statistics = ["".join(self.member(gql, "Float") for gql, _ in numeric)]  # one body for all
            for function in STATISTICS:
                self.add(
                    "type",
                    f"{name}_{function}_fields",
                    f"The {function} of each numeric column of {where}.",
                    statistics,
                )
                aggregate.append(self.member(function, f"{name}_{function}_fields"))
        self.add("type", f"{name}_aggregate_fields", f"Aggregates over rows of {where}.", aggregate)
        self.add(
            "type",
            f"{name}_aggregate",
            f"Aggregated rows of {where}.",
            [
                self.member("aggregate", f"{name}_aggregate_fields"),
                self.member("nodes", f"[{name}!]!"),
            ],
        )
        self.add(
            "input",
            f"{name}_aggregate_order_by",
            f"Ordering by aggregates of rows of {where}.",
            order,
        )

    def aggregable(self, data_type: str) -> tuple[str, bool, bool]:
        """(scalar, comparable, numeric) of a column of `data_type` in Hasura's aggregates."""
        pg = self.resolver.resolve(data_type)
        plain = not pg.dims and pg.kind == "builtin"
        return (
            self.named(pg) if plain else "",
            plain and pg.family in COMPARABLE_FAMILIES,
            plain and pg.family in NUMERIC_FAMILIES,
        )

    def hasura_update_operators(
        self, table: Table, name: str, names: Sequence[str], rules: Sequence[ColumnRules], where: str
    ) -> None:
        """Hasura's update operators beside `_set`: `_inc` over the numeric columns an
        update may set, and `_append`, `_prepend`, `_delete_key`, `_delete_elem`,
        `_delete_at_path` over its jsonb ones; each an input type, an argument of
        update_<t> and update_<t>_by_pk."""
        numeric: list[tuple[str, str]] = []
        jsonb: list[str] = []
        for column, gql, column_rules in zip(table.columns, names, rules, strict=True):
            if column_rules.update == "absent":
                continue
            pg = self.resolver.resolve(column.data_type)
            if pg.dims or pg.kind != "builtin":
                continue
            if pg.family in NUMERIC_FAMILIES:
                numeric.append((gql, self.named(pg, as_input=True)))
            elif pg.family == "jsonb":
                jsonb.append(gql)
        arguments = ""
        if numeric:
            self.add(
                "input",
                f"{name}_inc_input",
                f"Numbers added to columns of {where}.",
                [self.member(gql, scalar) for gql, scalar in numeric],
            )
            arguments += f", _inc: {name}_inc_input"
        for operator, value_type, doc in JSONB_UPDATE_OPERATORS if jsonb else ():
            if value_type == "jsonb":
                self.emit(("s", "jsonb"))
            self.add(
                "input",
                f"{name}_{operator}_input",
                f"{doc} of {where}.",
                [self.member(gql, value_type) for gql in jsonb],
            )
            arguments += f", _{operator}: {name}_{operator}_input"
        self.update_operators[(table.schema, table.name)] = arguments

    def view(self, view: View) -> None:
        name = self.names[(view.schema, view.name)]
        kind = "materialized view" if view.materialized else "view"
        columns = [(c.name, c.data_type, not c.not_null, c.comment) for c in view.columns]
        self.add(
            "type",
            name,
            self.object_doc(kind, view.schema, view.name, view.comment),
            self.row_lines(columns),
        )
        if self.hasura:
            names = self.fields_of([c.name for c in view.columns])
            where = f"{view.schema}.{view.name}"
            self.hasura_relation(name, [(c.name, c.data_type) for c in view.columns], names, where)
            self.hasura_aggregates(
                name, [(c.data_type, n) for c, n in zip(view.columns, names, strict=True)], where
            )

    def composite(self, composite: CompositeType) -> None:
        name = self.names[(composite.schema, composite.name)]
        columns = [(a.name, a.data_type, True, None) for a in composite.attributes]
        self.add(
            "type",
            name,
            self.object_doc("composite type", composite.schema, composite.name, composite.comment),
            self.row_lines(columns),
        )

    def composite_input(self, key: tuple[str, str]) -> None:
        """An input version of a composite type or a table's row type (for function
        arguments and columns of that type). A value of a table's row type is not checked
        by the table's constraints: its array elements are as their types say."""
        name = self.names[key] + self.input_suffix()
        if name in self.definitions:
            return
        attributes: list[tuple[str, str]]
        composite = next((c for c in self.catalog.composite_types if (c.schema, c.name) == key), None)
        if composite is not None:
            attributes = [(a.name, a.data_type) for a in composite.attributes]
        else:
            relation = self.catalog.table(*key)
            columns = relation.columns if relation is not None else ()
            attributes = [(c.name, c.data_type) for c in columns]
            view = self.catalog.view(*key)
            if view is not None:
                attributes = [(c.name, c.data_type) for c in view.columns]
        description = f"Input value of {key[0]}.{key[1]}."
        self.add("input", name, description, [])  # taken: an input that refers to itself stops here
        names = self.fields_of([a[0] for a in attributes])
        lines = [
            self.member(n, self.type_ref(t, True, as_input=True), "", self.description(db, n, None))
            for n, (db, t) in zip(names, attributes, strict=True)
        ]
        self.add("input", name, description, lines)

    def enum(self, schema: str, name: str, labels: tuple[str, ...], comment: str | None) -> None:
        if self.hasura:
            # Hasura exposes a native enum as a scalar of its name (its GraphQL enums are
            # enum tables'): the labels are its values, as strings.
            doc = self.object_doc("enum", schema, name, comment)
            listed = ", ".join(graphql_string(label) for label in labels)
            self.add("scalar", self.names[(schema, name)], f"{doc} One of: {listed}." if labels else doc, [])
            return
        values = member_names(labels, screaming_snake_case, digit_prefix="_", empty="EMPTY")
        lines = [
            enum_value_line(v, None if v == label else f"Label {graphql_string(label)}.")
            for v, label in zip(values, labels, strict=True)
        ]
        if not labels:
            lines = [enum_value_line("_EMPTY", "The enum has no labels.")]
        self.add("enum", self.names[(schema, name)], self.object_doc("enum", schema, name, comment), lines)

    @staticmethod
    def object_doc(kind: str, schema: str, name: str, comment: str | None) -> str:
        text = f"The {kind} {schema}.{name}."
        return f"{text} {comment}" if comment else text

    # ------------------------------------------------------------------ hasura

    def hasura_relation(
        self, name: str, columns: Sequence[tuple[str, str]], names: Sequence[str], where: str
    ) -> None:
        """`<name>_bool_exp` and `<name>_order_by` over (column, data type) with GraphQL
        `names` (a view's: a table's come with its other lines, from table_lines)."""
        filters: list[str] = []
        order: list[str] = []
        for (_, data_type), gql in zip(columns, names, strict=True):
            filter_type, order_type = self.filter_types(data_type)
            if filter_type:
                filters.append(self.member(gql, filter_type))
            if order_type:
                order.append(self.member(gql, order_type))
        self.add_filters(name, filters, order, where)

    def add_filters(self, name: str, filters: list[str], order: list[str], where: str) -> None:
        logic = [
            self.member("_and", f"[{name}_bool_exp!]"),
            self.member("_or", f"[{name}_bool_exp!]"),
            self.member("_not", f"{name}_bool_exp"),
        ]
        self.add(
            "input", f"{name}_bool_exp", f"Boolean expression to filter rows of {where}.", logic + filters
        )
        self.add("input", f"{name}_order_by", f"Ordering of rows of {where}.", order)

    def filter_types(self, data_type: str) -> tuple[str, str | None]:
        """The comparison type of a column of `data_type` in `_bool_exp` ('' for none: Hasura
        filters and sorts on scalar columns only) and its `_order_by` type (None: not
        sortable)."""
        cached = self._filters.get(data_type)
        if cached is None:
            if self.fragments is not None:
                cached = self.effects.tracked("filter", data_type, lambda: self.spell_filter(data_type))
            else:
                cached = self.spell_filter(data_type)
            self._filters[data_type] = cached
        elif self.fragments is not None:
            self.effects.reused("filter", data_type)
        return cached

    def spell_filter(self, data_type: str) -> tuple[str, str | None]:
        """filter_types' answer, on its first use."""
        pg = self.resolver.resolve(data_type)
        if pg.kind == "composite":
            return ("", None)
        element = self.named(pg)
        array = pg.dims > 0
        self.emit(("c", (element, array)))
        suffix = "_array_comparison_exp" if array else "_comparison_exp"
        sortable = not array and pg.family not in ("json", "jsonb", "hstore")
        return (element + suffix, "order_by" if sortable else None)

    def comparison(self, element: str, array: bool) -> None:
        # The operand of an array comparison is a value, not a column: PostgreSQL takes
        # NULL elements in it whatever the column holds (`'{a,NULL}' = tags` is true for a
        # row holding {a,NULL}), so its elements are nullable.
        item = f"[{element}]" if array else element
        name = f"{element}_array_comparison_exp" if array else f"{element}_comparison_exp"
        ops = [(op, item) for op in ("_eq", "_neq", "_gt", "_gte", "_lt", "_lte")]
        ops += [("_in", f"[{item}!]"), ("_nin", f"[{item}!]"), ("_is_null", "Boolean")]
        if array:
            ops += [("_contains", item), ("_contained_in", item)]
        elif element == "String":
            ops += [
                (op, "String")
                for op in (
                    "_like",
                    "_nlike",
                    "_ilike",
                    "_nilike",
                    "_similar",
                    "_nsimilar",
                    "_regex",
                    "_nregex",
                    "_iregex",
                    "_niregex",
                )
            ]
        elif element == "jsonb":
            ops += [
                ("_contains", "jsonb"),
                ("_contained_in", "jsonb"),
                ("_has_key", "String"),
                ("_has_keys_any", "[String!]"),
                ("_has_keys_all", "[String!]"),
            ]
        self.add(
            "input",
            name,
            f"Boolean expression to compare values of type {element}.",
            [member_line(op, t) for op, t in ops],
        )

    def stream_cursor(self, relation: Table | View, name: str, where: str) -> None:
        """`<name>_stream_cursor_input` and `<name>_stream_cursor_value_input`, as Hasura
        serves them for streaming subscriptions: the value input holds every column, each
        optional (the columns given make the cursor)."""
        gql_names = self.fields_of([c.name for c in relation.columns])
        values: list[str] = []
        if isinstance(relation, Table):
            rules = table_column_rules(relation, self.resolver)
            for column, gql, rule in zip(relation.columns, gql_names, rules, strict=True):
                text = self.type_ref(
                    column.data_type,
                    True,
                    element_nullable=rule.element_nullable,
                    as_input=True,
                    ndims=rule.ndims,
                )
                values.append(member_line(gql, text, "", self.description(column.name, gql, None)))
        else:
            for view_column, gql in zip(relation.columns, gql_names, strict=True):
                text = self.type_ref(view_column.data_type, True, as_input=True)
                values.append(member_line(gql, text, "", self.description(view_column.name, gql, None)))
        self.add(
            "input",
            f"{name}_stream_cursor_input",
            f"Streaming cursor of {where}.",
            [
                member_line(
                    "initial_value",
                    f"{name}_stream_cursor_value_input!",
                    "",
                    "Stream column input with initial value",
                ),
                member_line("ordering", CURSOR_ORDERING, "", "cursor ordering"),
            ],
        )
        self.add(
            "input",
            f"{name}_stream_cursor_value_input",
            "Initial value of the column from where the streaming should start",
            values,
        )

    def hasura_roots(self, relation: Table | View, query: RootFields, mutation: RootFields) -> None:
        """The fields of Query and Mutation of one table or view; the streaming
        subscriptions go to `self.streams`."""
        name = self.names[(relation.schema, relation.name)]
        where = f"{relation.schema}.{relation.name}"
        select_args = self.select_arguments(name)
        query.add(name, select_args, f"[{name}!]!", f"Rows of {where}.")
        query.add(
            f"{name}_aggregate", select_args, f"{name}_aggregate!", f"Aggregates over rows of {where}."
        )
        self.streams.add(
            f"{name}_stream",
            f"(batch_size: Int!, cursor: [{name}_stream_cursor_input]!, where: {name}_bool_exp)",
            f"[{name}!]!",
            f"Rows of {where}, streamed in batches of batch_size from the cursor on.",
        )
        self.stream_cursor(relation, name, where)
        if not isinstance(relation, Table):
            return
        pk = relation.primary_key
        pk_args = ""
        operators = self.update_operators.get((relation.schema, relation.name), "")
        conflict = (
            f", on_conflict: {name}_on_conflict"
            if (relation.schema, relation.name) in self.upserts
            else ""
        )
        if pk is not None:
            pk_args = self.pk_arguments[(relation.schema, relation.name)]
            query.add(f"{name}_by_pk", pk_args, name, f"One row of {where} by its primary key.")
        mutation.add(
            f"insert_{name}",
            f"(objects: [{name}_insert_input!]!{conflict})",
            f"{name}_mutation_response",
            f"Insert rows into {where}.",
        )
        mutation.add(
            f"insert_{name}_one",
            f"(object: {name}_insert_input!{conflict})",
            name,
            f"Insert one row into {where}.",
        )
        mutation.add(
            f"update_{name}",
            f"(_set: {name}_set_input{operators}, where: {name}_bool_exp!)",
            f"{name}_mutation_response",
            f"Update rows of {where}.",
        )
        if pk is not None:
            mutation.add(
                f"update_{name}_by_pk",
                f"(_set: {name}_set_input{operators}, pk_columns: {name}_pk_columns_input!)",
                name,
                f"Update one row of {where} by its primary key.",
            )
        mutation.add(
            f"delete_{name}",
            f"(where: {name}_bool_exp!)",
            f"{name}_mutation_response",
            f"Delete rows of {where}.",
        )
        if pk is not None:
            mutation.add(
                f"delete_{name}_by_pk", pk_args, name, f"Delete one row of {where} by its primary key."
            )

    def plain_roots(self, relation: Table | View, query: RootFields, mutation: RootFields) -> None:
        name = self.names[(relation.schema, relation.name)]
        where = f"{relation.schema}.{relation.name}"
        root = name[:1].lower() + name[1:]
        query.add(root, "(limit: Int, offset: Int)", f"[{name}!]!", f"Rows of {where}.")
        if isinstance(relation, Table):
            mutation.add(
                f"insert{name}", f"(object: {name}InsertInput!)", name, f"Insert one row into {where}."
            )

    def relation(self, relation: Table | View, query: RootFields, mutation: RootFields) -> None:
        """A table's or view's definitions and root fields: from `fragments` when an
        earlier run rendered the same piece, else rendered (and kept there)."""
        if self.fragments is None:
            self.relation_parts(relation, query, mutation)
            return
        key = self.fragments.key(relation)
        piece = self.fragments.get(key)
        if piece is not None:
            self.replay(relation, cast(Piece, piece), query, mutation)
            return
        marks = (len(query.lines), len(mutation.lines), len(self.streams.lines))
        definitions: list[tuple[str, Definition]] = []
        self._record = definitions
        try:
            _, tokens = self.effects.recording(partial(self.relation_parts, relation, query, mutation))
        finally:
            self._record = None
        table = (relation.schema, relation.name)
        self.fragments.put(
            key,
            (
                definitions,
                tokens,
                self.pk_arguments.get(table),
                self.update_operators.get(table),
                table in self.upserts,
                *(
                    (fields.names[mark:], fields.lines[mark:])
                    for fields, mark in zip((query, mutation, self.streams), marks, strict=True)
                ),
            ),
        )

    def relation_parts(self, relation: Table | View, query: RootFields, mutation: RootFields) -> None:
        if isinstance(relation, Table):
            self.table(relation)
        else:
            self.view(relation)
        if self.hasura:
            self.hasura_roots(relation, query, mutation)
        else:
            self.plain_roots(relation, query, mutation)

    def replay(self, relation: Table | View, piece: Piece, query: RootFields, mutation: RootFields) -> None:
        """What relation_parts did when it rendered `piece`."""
        definitions, tokens, pk_arguments, update_operators, upsert, *roots = piece
        self.definitions.update(definitions)
        self.effects.replay(tokens)
        table = (relation.schema, relation.name)
        if pk_arguments is not None:
            self.pk_arguments[table] = pk_arguments
        if update_operators is not None:
            self.update_operators[table] = update_operators
        if upsert:
            self.upserts.add(table)
        for fields, (names, lines) in zip((query, mutation, self.streams), roots, strict=True):
            fields.names += names
            fields.lines += lines

    # ------------------------------------------------------------------ functions

    def function_fields(self, query: RootFields, mutation: RootFields) -> None:
        """The callable functions, after the tables' and views' fields (whose names they
        do not take): STABLE and IMMUTABLE ones in Query, VOLATILE ones in Mutation."""
        taken = {*query.names, *mutation.names}
        shapes = [
            shape
            for shape in callable_functions(self.catalog, self.resolver)
            if all(argument.name or argument.default is not None for _, argument in shape.inputs)
        ]
        if self.hasura:
            # Hasura tracks only functions that return a table's or view's rows.
            shapes = [shape for shape in shapes if self.returned_relation(shape) is not None]
        names = function_names(shapes, keep_case, escape="{}", taken=taken)
        for index, shape in enumerate(shapes):
            gql_name = names[index]
            if gql_name[0].isdigit():
                gql_name = "_" + gql_name
            doc = f"The function {shape.schema}.{shape.name}({shape.function.identity_arguments})."
            if len(shape.named_inputs) < len(shape.inputs):
                doc += " Its unnamed arguments take their defaults."
            if shape.function.comment:
                doc += f" {shape.function.comment}"
            target = mutation if shape.function.volatility == "VOLATILE" else query
            relation = self.returned_relation(shape) if self.hasura else None
            if relation is None:
                target.add(
                    gql_name, self.function_arguments(shape), self.function_returns(shape, gql_name), doc
                )
                continue
            # Hasura's shape: the arguments in one `args` input, and a SETOF function's
            # rows selected as a table's (where, order_by, ...), with an aggregate beside.
            arguments = self.hasura_function_args(shape, gql_name)
            if not shape.returns_set:
                target.add(gql_name, f"({arguments})" if arguments else "", relation, doc)
                continue
            select = self.select_arguments(relation)
            arguments = f"({arguments}, {select[1:]}" if arguments else select
            target.add(gql_name, arguments, f"[{relation}!]!", doc)
            target.add(
                f"{gql_name}_aggregate", arguments, f"{relation}_aggregate!", f"Aggregates over {gql_name}."
            )

    def returned_relation(self, shape: FunctionShape) -> str | None:
        """The GraphQL type of the table or view whose rows `shape` returns (None: other)."""
        if shape.return_type is None or shape.return_columns:
            return None
        pg = self.resolver.resolve(shape.return_type)
        if pg.kind != "composite" or pg.dims:
            return None
        key = pg.key
        if self.catalog.table(*key) is None and self.catalog.view(*key) is None:
            return None
        return self.names.get(key)

    def hasura_function_args(self, shape: FunctionShape, gql_name: str) -> str:
        """`args: <function>_args` (required when an argument is) and its input type; ''
        for a function without named arguments."""
        inputs = shape.named_inputs
        if not inputs:
            return ""
        name = member_names([f"{gql_name}_args"], as_is, escape="{}", taken=set(self.definitions))[0]
        names = self.fields_of([n for n, _ in inputs])
        self.add(
            "input",
            name,
            f"The arguments of {shape.schema}.{shape.name}.",
            [
                self.member(n, self.type_ref(a.data_type, a.default is not None, as_input=True))
                for n, (_, a) in zip(names, inputs, strict=True)
            ],
        )
        required = any(a.default is None for _, a in inputs)
        return f"args: {name}{'!' if required else ''}"

    def function_arguments(self, shape: FunctionShape) -> str:
        """The named arguments (a field's arguments are passed by name)."""
        inputs = shape.named_inputs
        if not inputs:
            return ""
        names = self.fields_of([n for n, _ in inputs])
        parts = [
            f"{n}: {self.type_ref(argument.data_type, argument.default is not None, as_input=True)}"
            for n, (_, argument) in zip(names, inputs, strict=True)
        ]
        return "(" + ", ".join(parts) + ")"

    def function_returns(self, shape: FunctionShape, gql_name: str) -> str:
        if shape.return_columns:
            base = f"{gql_name}_result" if self.hasura else pascal_case(gql_name) + "Result"
            taken = set(self.definitions) | set(self.names.values())
            result_name = member_names([base], as_is, escape="{}", taken=taken)[0]
            columns = [(n, t, True, None) for n, t in shape.return_columns]
            self.add(
                "type",
                result_name,
                f"A row returned by {shape.schema}.{shape.name}.",
                self.row_lines(columns),
            )
            return f"[{result_name}!]!" if shape.returns_set else result_name
        data_type = shape.return_type or "void"
        if shape.returns_set:
            return f"[{self.type_ref(data_type, result_nullable(shape, self.resolver))}]!"
        return self.type_ref(data_type, True)

    # ------------------------------------------------------------------ all

    def render(self) -> str:
        for enum in self.catalog.enums:
            self.enum(enum.schema, enum.name, enum.labels, enum.comment)
        for composite in self.catalog.composite_types:
            self.composite(composite)
        query, mutation = RootFields(), RootFields()
        for relation in self.relations():
            self.relation(relation, query, mutation)
        self.function_fields(query, mutation)
        while self.needed_inputs:
            self.composite_input(self.needed_inputs.pop(0))
        if self.hasura:
            for element, array in sorted(self.comparisons):
                self.comparison(element, array)
            self.add(
                "enum",
                "order_by",
                "Column ordering options.",
                [enum_value_line(v, d) for v, d in ORDER_BY_VALUES],
            )
        if not query.lines:
            query.add("_empty", "", "Boolean", "The schema has no tables, views or functions.")
        self.add("type", self.query_root, "Root of every query.", query.lines)
        if mutation.lines:
            self.add("type", self.mutation_root, "Root of every mutation.", mutation.lines)
        if self.hasura:
            # Hasura serves every query field as a live query too (subscription_root), and
            # a streaming subscription per table and view (a stream field whose name a
            # query field already takes, of a table named `<t>_stream`, is left out).
            taken = set(query.names)
            streams = [
                line for n, line in zip(self.streams.names, self.streams.lines, strict=True) if n not in taken
            ]
            self.add(
                "type",
                SUBSCRIPTION_ROOT,
                "Root of every subscription (live queries and streams).",
                [*query.lines, *streams],
            )
            if streams:
                self.add(
                    "enum",
                    CURSOR_ORDERING,
                    "ordering argument of a cursor",
                    [enum_value_line(v, d) for v, d in CURSOR_ORDERING_VALUES],
                )
        for scalar in sorted(self.used_scalars):
            doc = PLAIN_SCALAR_DOCS.get(scalar) if not self.hasura else f"PostgreSQL {scalar}."
            self.add("scalar", scalar, doc, [])
        # Scalars, enums, object types, inputs, each by name; the root types last.
        groups: dict[str, list[str]] = {"scalar": [], "enum": [], "type": [], "input": []}
        roots: list[str] = []
        root_types = {self.query_root, self.mutation_root, SUBSCRIPTION_ROOT}
        for name, (kind, _, _, _) in self.definitions.items():
            (roots if name in root_types else groups[kind]).append(name)
        ordered = [name for group in groups.values() for name in sorted(group)] + sorted(roots)
        definitions = self.definitions
        laid_out = [definitions[name] for name in ordered]  # (kind, description, head, body)
        return render_template(
            "types/graphql/schema.graphql.jinja2",
            definitions=laid_out,
            hasura=self.hasura,
            mutation=self.mutation_root if mutation.lines else None,
        )


def render_graphql(catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None) -> str:
    return _Renderer(catalog, options, fragments).render()


def render(
    catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
) -> dict[str, str]:
    """`fragments`: the pieces of an earlier run to reuse, filled with this run's."""
    return {"schema.graphql": render_graphql(catalog, options, fragments)}
