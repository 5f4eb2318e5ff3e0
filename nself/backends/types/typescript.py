"""TypeScript types: one `types.ts` with a named type alias per table (Row, Insert, Update),
view, composite type and enum, and a `Database` type in the shape supabase-js and
postgrest-js read (schema -> Tables/Views/Functions/Enums/CompositeTypes, keyed by the
database names, so serialisation needs no renaming), with the helpers `supabase gen types`
writes (`Tables<>`, `TablesInsert<>`, `TablesUpdate<>`, `Enums<>`, `CompositeTypes<>`,
`Constants`). Aliases, not interfaces: postgrest-js requires `Record<string, unknown>`,
which an interface does not satisfy (every query would type as `never`).

Options (docs/types.md):
- `flavor`: "supabase" (default) or "kysely" (a `DB` interface with `ColumnType<>` and
  `Generated<>`, as kysely-codegen writes, for node-postgres);
- `relationships` (bool, default true): each foreign key within one schema in
  `Relationships` (PostgREST embeds only within a schema);
- `with_relations` (bool): a `<Table>WithRelations` type with the related rows as optional
  fields (to-one: the row, to-many: an array);
- `int8`, `numeric`: "number", "string" or "bigint" (default: number for supabase, which
  receives JSON numbers from PostgREST; string for kysely, as node-postgres sends them);
- `partitions` (bool): also emit each partition (by default only its parent);
- `arrays`: "any" (default: an array is `PgArray<T>`, any number of dimensions, unless a
  CHECK fixes `array_ndims`) or "declared" (`T[]` nested per declared dimension).

Dates, times, timestamps and intervals are ISO strings, as PostgreSQL sends them in JSON
(kysely: `Date` for date and timestamps, as node-postgres parses them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import pglast
from pglast import ast

from nself.backends.types.common import (
    ArrayMode,
    ColumnRules,
    Effects,
    Fragments,
    FunctionShape,
    PgType,
    Token,
    TypeResolver,
    array_mode,
    callable_functions,
    foreign_key_graph,
    list_depth,
    member_names,
    named_type_objects,
    result_nullable,
    screaming_snake_case,
    shared_names,
    table_column_rules,
    table_relations,
    type_names,
)
from nself.errors import OptionError
from nself.ir.model import (
    Catalog,
    Column,
    ForeignKey,
    FunctionArgument,
    Table,
    View,
    ViewColumn,
)
from nself.templating import render_template

# Names a generated type must not take: the helpers declared here, and global types a
# reader expects to mean the built-in one.
RESERVED_TYPE_NAMES = frozenset(
    {
        "Json",
        "Database",
        "DatabaseWithoutInternals",
        "DefaultSchema",
        "Tables",
        "TablesInsert",
        "TablesUpdate",
        "Views",
        "Enums",
        "CompositeTypes",
        "Constants",
        "Functions",
        "DB",
        "ColumnType",
        "Generated",
        "GeneratedAlways",
        "Int8",
        "Numeric",
        "PgArray",
        "Timestamp",
        "Array",
        "Boolean",
        "Date",
        "Error",
        "Function",
        "Map",
        "Number",
        "Object",
        "Partial",
        "Promise",
        "Record",
        "Required",
        "Set",
        "String",
        "Symbol",
    }
)

TYPE_SUFFIXES = ("", "Insert", "Update", "WithRelations")

FLAVORS = ("supabase", "kysely")
NUMBER_FORMS = ("number", "string", "bigint")


@dataclass(frozen=True, slots=True)
class TypeScriptOptions:
    flavor: str = "supabase"
    relationships: bool = True
    with_relations: bool = False
    int8: str = "number"
    numeric: str = "number"
    partitions: bool = False
    arrays: ArrayMode = "any"


def parse_options(options: Mapping[str, Any]) -> TypeScriptOptions:
    """The options of one output, checked: a bad value is one OptionError naming it."""
    flavor = options.get("flavor") or "supabase"
    if flavor not in FLAVORS:
        raise OptionError(f"typescript option flavor = {flavor!r}: one of {', '.join(FLAVORS)}")
    default_number = "number" if flavor == "supabase" else "string"
    forms: dict[str, str] = {}
    for key in ("int8", "numeric"):
        value = options.get(key) or default_number
        if value not in NUMBER_FORMS:
            raise OptionError(f"typescript option {key} = {value!r}: one of {', '.join(NUMBER_FORMS)}")
        forms[key] = value
    relationships = options.get("relationships")
    return TypeScriptOptions(
        flavor=flavor,
        relationships=True if relationships is None else bool(relationships),
        with_relations=bool(options.get("with_relations", False)),
        int8=forms["int8"],
        numeric=forms["numeric"],
        partitions=bool(options.get("partitions", False)),
        arrays=array_mode(options, "typescript"),
    )


# Family -> TypeScript type of one value (docs/types.md, TypeScript).
FAMILY_TYPES: dict[str, str] = {
    "int2": "number",
    "int4": "number",
    "float4": "number",
    "float8": "number",
    "int8": "string",
    "numeric": "string",
    "money": "string",
    "bool": "boolean",
    "text": "string",
    "bytea": "string",
    "json": "Json",
    "jsonb": "Json",
    "uuid": "string",
    "date": "string",
    "timestamp": "string",
    "timestamptz": "string",
    "time": "string",
    "timetz": "string",
    "interval": "string",
    "inet": "string",
    "cidr": "string",
    "macaddr": "string",
    "bit": "string",
    "tsvector": "string",
    "tsquery": "string",
    "xml": "string",
    "geometric": "string",
    "range": "string",
    "multirange": "string",
    "hstore": "Record<string, string | null>",
    "record": "Record<string, unknown>",
    "void": "undefined",
    "any": "unknown",
    "unknown": "unknown",
}

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
# A name that `member_names` keeps as it is (when no other member takes it).
_PLAIN_MEMBER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


# What PostgREST passes a function's lone unnamed argument: the request body.
_BODY_FAMILIES = frozenset({"json", "jsonb", "text"})


def property_key(name: str) -> str:
    """A property name as written in an interface: bare when it is an identifier (reserved
    words are valid property names), else a string literal."""
    return name if _IDENTIFIER.match(name) else json.dumps(name, ensure_ascii=False)


# Text that JSON writes between quotes unchanged: no quote, backslash or control character.
_JSON_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')
# ...and that jinja2's `tojson` also leaves alone (it writes ASCII, and escapes <>&').
_TOJSON_PLAIN = re.compile(r"[ !#-%(-;=?-\[\]-~]*")


def string_literal(text: str) -> str:
    """A TypeScript string literal (JSON's escapes; other characters as they are)."""
    if _JSON_PLAIN.fullmatch(text):
        return f'"{text}"'
    return json.dumps(text, ensure_ascii=False)


def object_type(members: list[tuple[str, bool, str]]) -> str:
    """An inline object type of (key, optional, type) members; a function without
    arguments takes an empty object."""
    if not members:
        return "Record<PropertyKey, never>"
    return (
        "{ " + " ".join(f"{key}{'?' if optional else ''}: {text};" for key, optional, text in members) + " }"
    )


def doc_comment(text: str | None) -> str | None:
    """Text safe inside a /** */ comment, on one line."""
    if not text:
        return None
    return " ".join(text.replace("*/", "*\\/").split())


def member_line(key: str, optional: bool, text: str, comment: str | None = None) -> str:
    """One member of an interface, as the template places it between the braces: indented,
    after its doc comment, ending its line."""
    line = f"  {key}{'?' if optional else ''}: {text};\n"
    return f"  /** {comment} */\n{line}" if comment else line


def json_strings(texts: Iterable[str]) -> str:
    """Strings as JSON literals, comma-separated, escaped the way jinja2's `tojson` filter
    escapes them (the form earlier outputs used for Relationships columns)."""
    return ", ".join(
        f'"{t}"'
        if _TOJSON_PLAIN.fullmatch(t)
        else json.dumps(t)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
        for t in texts
    )


# Built-in aggregates a view's select list may call (with the catalog's own aggregates, a
# view that calls one is not auto-updatable), and set-returning functions (nor is one
# that calls these in its select list).
_AGGREGATES = frozenset(
    [
        "avg",
        "bit_and",
        "bit_or",
        "bit_xor",
        "bool_and",
        "bool_or",
        "count",
        "every",
        "max",
        "min",
        "sum",
        "array_agg",
        "string_agg",
        "json_agg",
        "jsonb_agg",
        "json_object_agg",
        "jsonb_object_agg",
        "xmlagg",
        "range_agg",
        "range_intersect_agg",
        "corr",
        "covar_pop",
        "covar_samp",
        "regr_avgx",
        "regr_avgy",
        "regr_count",
        "regr_intercept",
        "regr_r2",
        "regr_slope",
        "regr_sxx",
        "regr_sxy",
        "regr_syy",
        "stddev",
        "stddev_pop",
        "stddev_samp",
        "variance",
        "var_pop",
        "var_samp",
        "mode",
        "percentile_cont",
        "percentile_disc",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
    ]
)
_SET_RETURNING = frozenset(
    [
        "unnest",
        "generate_series",
        "generate_subscripts",
        "json_array_elements",
        "jsonb_array_elements",
        "json_array_elements_text",
        "jsonb_array_elements_text",
        "json_each",
        "jsonb_each",
        "json_each_text",
        "jsonb_each_text",
        "json_object_keys",
        "jsonb_object_keys",
        "regexp_matches",
        "regexp_split_to_table",
        "jsonb_path_query",
        "json_populate_recordset",
        "jsonb_populate_recordset",
    ]
)


@dataclass(frozen=True, slots=True)
class ViewBase:
    """What a simple view reads: its one base table, each view column's base column (None:
    computed, not writable), and whether PostgreSQL updates the view itself (an
    auto-updatable view: one table in FROM; no aggregate, window, DISTINCT, GROUP BY,
    HAVING, LIMIT, OFFSET, WITH, set operation or set-returning function)."""

    table: Table
    columns: dict[str, str | None]
    updatable: bool


def _calls(node: object) -> Iterable[ast.FuncCall]:
    """Every function call under `node` (subqueries included)."""
    if isinstance(node, ast.FuncCall):
        yield node
    if isinstance(node, ast.Node):
        for name in node:
            yield from _calls(getattr(node, name))
    elif isinstance(node, tuple):
        for item in node:
            yield from _calls(item)


def _call_name(call: ast.FuncCall) -> str:
    last = call.funcname[-1] if call.funcname else None
    return last.sval if isinstance(last, ast.String) and last.sval else ""


def view_base(
    view: View, tables: Mapping[tuple[str, str], Table], aggregates: frozenset[str]
) -> ViewBase | None:
    """The base table of a view over exactly one table (None for any other view: joins,
    subqueries, VALUES, a materialized view, a definition pglast cannot read)."""
    if view.materialized:
        return None
    try:
        statements = pglast.parse_sql(view.definition)
    except Exception:  # an unreadable definition: no base (read-only, no relationships)
        return None
    if len(statements) != 1 or not isinstance(statements[0].stmt, ast.SelectStmt):
        return None
    select = statements[0].stmt
    from_clause = select.fromClause or ()
    if select.op != 0 or len(from_clause) != 1 or not isinstance(from_clause[0], ast.RangeVar):
        return None
    relation = from_clause[0]
    name = relation.relname or ""
    schemas = [relation.schemaname] if relation.schemaname else [view.schema, "public"]
    table = next((tables[(s, name)] for s in schemas if (s, name) in tables), None)
    if table is None:
        return None
    targets = select.targetList or ()
    if len(targets) != len(view.columns) or any(
        isinstance(getattr(t, "val", None), ast.ColumnRef) and isinstance(t.val.fields[-1], ast.A_Star)
        for t in targets
    ):
        return None  # `*` not expanded (PostgreSQL's own definition lists every column)
    known = {c.name for c in table.columns}
    columns: dict[str, str | None] = {}
    for target, column in zip(targets, view.columns, strict=True):
        value = getattr(target, "val", None)
        source = None
        if isinstance(value, ast.ColumnRef) and value.fields and isinstance(value.fields[-1], ast.String):
            source = value.fields[-1].sval if value.fields[-1].sval in known else None
        columns[column.name] = source
    calls = list(_calls(select.targetList))
    updatable = not (
        select.distinctClause
        or select.groupClause
        or select.havingClause
        or select.limitCount
        or select.limitOffset
        or select.withClause
        or select.windowClause
        or any(
            c.over is not None or c.agg_star or _call_name(c) in aggregates or _call_name(c) in _SET_RETURNING
            for c in calls
        )
    )
    return ViewBase(table, columns, updatable)


# What the template lays out, as plain tuples (no attribute lookups in its loops):
# - a type: (doc comment or None, head: `Name = ` or `NameWithRelations = Name & `, body:
#   its member lines, see member_line);
# - a table or view of `Database`: (key, type name, relationships, whether it has Insert and
#   Update); a relationship: (foreign key literal, columns, isOneToOne, referenced relation
#   literal, referenced columns);
# - an enum: (database name, key, type name, union, [(member, label literal)]);
# - a function: (key, [(args type, returns type, SetofOptions or "")]); a composite type:
#   (key, type name);
# - kysely: a table (DB key, type name).
InterfaceModel = tuple[str | None, str, str]
RelationshipModel = tuple[str, str, str, str, str]
TableModel = tuple[str, str, list[RelationshipModel], bool]
EnumModel = tuple[str, str, str, str, list[tuple[str, str]]]
FunctionModel = tuple[str, list[tuple[str, str, str]]]


@dataclass(slots=True)
class SchemaModel:
    key: str
    interfaces: list[InterfaceModel] = field(default_factory=list)
    tables: list[TableModel] = field(default_factory=list)
    views: list[TableModel] = field(default_factory=list)
    functions: list[FunctionModel] = field(default_factory=list)
    enums: list[EnumModel] = field(default_factory=list)
    composites: list[tuple[str, str]] = field(default_factory=list)


# kysely (node-postgres): what a value is when read; a column's own type may be a
# ColumnType alias that also says what may be written (KYSELY_ALIASES).
KYSELY_FAMILIES = {
    **FAMILY_TYPES,
    "date": "Date",
    "timestamp": "Date",
    "timestamptz": "Date",
    "bytea": "Uint8Array",
    "interval": "PostgresInterval",
    "hstore": "string",
    "record": "string",
}
# The geometric types node-postgres parses (pg-types); the others arrive as text.
KYSELY_GEOMETRY = {"point": "{ x: number; y: number }", "circle": "{ x: number; y: number; radius: number }"}
KYSELY_ALIASES = {
    "date": "Timestamp",
    "timestamp": "Timestamp",
    "timestamptz": "Timestamp",
    "interval": "Interval",
}


# A table's piece (Fragments): the interfaces and the table entry it adds to its schema,
# and its tokens (("flag", "uses_pg_array")).
Piece = tuple[list[InterfaceModel], list[TableModel], frozenset[Token]]


class _Renderer:
    def __init__(
        self, catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
    ) -> None:
        self.catalog = catalog
        self.fragments = fragments
        # With fragments, the memos below keep the tokens their entries gave.
        self.effects = Effects(self.apply, fragments is not None)
        self.options = parse_options(options)
        self.kysely = self.options.flavor == "kysely"
        self.with_relations = self.options.with_relations and not self.kysely
        self.relationships = self.options.relationships and not self.kysely
        self.families = dict(KYSELY_FAMILIES if self.kysely else FAMILY_TYPES)
        self.aliases: dict[str, str] = dict(KYSELY_ALIASES) if self.kysely else {}
        for family, form in (("int8", self.options.int8), ("numeric", self.options.numeric)):
            self.families[family] = form
            if self.kysely and form == "string":
                self.aliases[family] = "Int8" if family == "int8" else "Numeric"
        self.tables = [t for t in catalog.tables if self.options.partitions or t.partition_of is None]
        self.table_keys = {(t.schema, t.name) for t in self.tables}
        self.relation_keys = self.table_keys | {(v.schema, v.name) for v in catalog.views}
        self.resolver = TypeResolver(catalog)
        self.names = shared_names(
            fragments,
            lambda: type_names(
                named_type_objects(catalog), reserved=RESERVED_TYPE_NAMES, suffixes=TYPE_SUFFIXES
            ),
        )
        # A schema has few distinct (type, nullable, elements nullable) combinations and
        # few distinct fields (the same `id`, `created_at` in every table): each is spelled
        # once.
        self._types: dict[tuple[str, bool, bool | None, int | None], str] = {}
        self.arrays = self.options.arrays
        self.uses_pg_array = False  # a PgArray<T> was spelled: the file declares it
        self._lines: dict[tuple[object, ...], tuple[str, str, str]] = {}
        self._json_lists: dict[tuple[str, ...], str] = {}
        self._rules: dict[tuple[str, str], list[ColumnRules]] = {}
        by_key = {(t.schema, t.name): t for t in catalog.tables}
        aggregates = _AGGREGATES | {f.name for f in catalog.functions if f.kind == "aggregate"}
        self.view_bases: dict[tuple[str, str], ViewBase] = {}
        for view in catalog.views:
            base = view_base(view, by_key, aggregates)
            if base is not None:
                self.view_bases[(view.schema, view.name)] = base
        self.graph = foreign_key_graph(catalog)
        self.outgoing = self.graph.outgoing

    def apply(self, token: Token) -> None:
        setattr(self, token[1], True)

    # ------------------------------------------------------------------ types

    def value_type(self, pg: PgType, element_nullable: bool, ndims: int | None = None) -> str:
        """The TypeScript type of a value of `pg` (without the value's own `| null`); the
        innermost elements of an array get `| null` when they may be NULL (a sub-array of a
        multi-dimensional array never is): `PgArray<number | null>` for any number of
        dimensions, `(number | null)[][]` where they are fixed (common.list_depth; `ndims`:
        what a table's CHECK fixes)."""
        element = pg.element()
        if self.kysely and (
            element.kind == "composite" or (pg.dims and element.kind in ("enum", "unknown", "range"))
        ):
            # node-postgres parses neither composite values nor arrays of types it does
            # not know: they arrive as PostgreSQL's text.
            return "string"
        if self.kysely and element.name in KYSELY_GEOMETRY:
            base = KYSELY_GEOMETRY[element.name]
        elif element.kind in ("enum", "composite"):
            base = self.names.get(element.key, "unknown")
        elif not pg.dims and element.family in self.aliases:
            return self.aliases[element.family]
        else:
            base = self.families.get(element.family, "unknown")
        if pg.dims:
            if element_nullable and base != "unknown":
                base = f"{base} | null"
            depth = list_depth(pg, self.arrays, ndims)
            if depth is None:
                self.effects.emit(("flag", "uses_pg_array"))
                return f"PgArray<{base}>"
            wrapped = f"({base})" if " " in base else base
            return wrapped + "[]" * depth
        return base

    def column_type(
        self, data_type: str, nullable: bool, element_nullable: bool | None = None, ndims: int | None = None
    ) -> str:
        """The type of a column, attribute or argument; `element_nullable` None: as the type
        itself says (tables pass what their CHECKs add, and in `ndims` the dimensions a
        CHECK fixes)."""
        key = (data_type, nullable, element_nullable, ndims)
        text = self._types.get(key)
        if text is None:
            if self.fragments is not None:
                text = self.effects.tracked("type", key, partial(self.spell_type, *key))
            else:
                text = self.spell_type(*key)
            self._types[key] = text
        elif self.fragments is not None:
            self.effects.reused("type", key)
        return text

    def spell_type(self, data_type: str, nullable: bool, element_nullable: bool | None, ndims: int | None) -> str:
        pg = self.resolver.resolve(data_type)
        elements = pg.element_nullable if element_nullable is None else element_nullable
        text = self.value_type(pg, elements, ndims)
        if nullable and text != "unknown":
            text += " | null"
        return text

    def table_rules(self, table: Table) -> list[ColumnRules]:
        key = (table.schema, table.name)
        rules = self._rules.get(key)
        if rules is None:
            rules = self._rules[key] = table_column_rules(table, self.resolver)
        return rules

    def field_lines(self, table: Table) -> tuple[list[str], list[str], list[str], dict[str, bool]]:
        """The member lines of a table's Row, Insert and Update types (the fields of
        `table_field_sets`), and which columns may be NULL. A column's three lines are
        spelled once per distinct (name, type, comment, rules)."""
        memo = self._lines
        row: list[str] = []
        insert: list[str] = []
        update: list[str] = []
        nullable: dict[str, bool] = {}
        for c, rules in zip(table.columns, self.table_rules(table), strict=True):
            key = (c.name, c.data_type, c.comment, rules)
            lines = memo.get(key)
            if lines is None:
                if self.fragments is not None:
                    lines = memo[key] = self.effects.tracked("lines", key, partial(self.column_lines, c, rules))
                else:
                    lines = memo[key] = self.column_lines(c, rules)
            elif self.fragments is not None:
                self.effects.reused("lines", key)
            row.append(lines[0])
            if lines[1]:
                insert.append(lines[1])
            if lines[2]:
                update.append(lines[2])
            nullable[c.name] = rules.nullable
        return row, insert, update, nullable

    def column_lines(self, column: Column | ViewColumn, rules: ColumnRules) -> tuple[str, str, str]:
        """A column's Row, Insert and Update member lines ('' where it is absent)."""
        text = self.column_type(column.data_type, rules.nullable, rules.element_nullable, rules.ndims)
        key = property_key(column.name)
        return (
            member_line(key, False, text, doc_comment(column.comment)),
            "" if rules.insert == "absent" else member_line(key, rules.insert == "optional", text),
            "" if rules.update == "absent" else member_line(key, True, text),
        )

    def kysely_line(self, column: Column | ViewColumn, rules: ColumnRules | None) -> str:
        """A column of a kysely table: its Row type, wrapped in Generated<> when an insert may
        leave it out and in GeneratedAlways<> when PostgreSQL refuses a value (kysely makes
        a nullable column optional in inserts by itself)."""
        if rules is None:  # a view's column
            text = self.column_type(column.data_type, not getattr(column, "not_null", False))
        else:
            text = self.column_type(column.data_type, rules.nullable, rules.element_nullable, rules.ndims)
            if rules.insert == "absent" and rules.update == "absent":
                text = f"GeneratedAlways<{text}>"
            elif rules.insert == "optional" and not rules.nullable:
                text = f"Generated<{text}>"
        return member_line(property_key(column.name), False, text, doc_comment(column.comment))

    # ------------------------------------------------------------------ relations

    def table(self, table: Table, name: str, target: SchemaModel) -> None:
        where = f"Table {table.schema}.{table.name}" + (f": {table.comment}" if table.comment else "")
        if self.kysely:
            body = "".join(
                self.kysely_line(c, r) for c, r in zip(table.columns, self.table_rules(table), strict=True)
            )
            target.interfaces.append((doc_comment(where), name, body))
            return
        row, insert, update, nullable = self.field_lines(table)
        target.interfaces.append((doc_comment(where), f"{name} = ", "".join(row)))
        target.interfaces.append((None, f"{name}Insert = ", "".join(insert)))
        target.interfaces.append((None, f"{name}Update = ", "".join(update)))
        outgoing = self.outgoing.get((table.schema, table.name), [])
        relationships: list[RelationshipModel] = []
        if self.relationships:
            # PostgREST embeds only within one schema, and postgrest-js looks a
            # referencedRelation up in the table's own schema: a key to another schema
            # would name a table there that is not the one referenced.
            relationships = [
                self.relationship(fk, one_to_one, fk.columns)
                for fk, one_to_one in outgoing
                if fk.ref_schema == table.schema
            ]
        if self.with_relations:
            related = "".join([member_line(k, True, t) for k, t in self.related_fields(table, nullable)])
            target.interfaces.append((None, f"{name}WithRelations = {name} & ", related))
        target.tables.append((property_key(table.name), name, relationships, True))

    def table_piece(self, table: Table, target: SchemaModel) -> None:
        """A table's interfaces and entry: from `fragments` when an earlier run rendered
        the same piece, else rendered (and kept there). (A view's read its base table:
        they are always rendered.)"""
        name = self.names[(table.schema, table.name)]
        if self.fragments is None:
            self.table(table, name, target)
            return
        key = self.fragments.key(table)
        piece = self.fragments.get(key)
        if piece is not None:
            interfaces, tables, tokens = cast(Piece, piece)
            target.interfaces += interfaces
            target.tables += tables
            self.effects.replay(tokens)
            return
        marks = len(target.interfaces), len(target.tables)
        _, tokens = self.effects.recording(partial(self.table, table, name, target))
        self.fragments.put(key, (target.interfaces[marks[0] :], target.tables[marks[1] :], tokens))

    def view(self, view: View, name: str, target: SchemaModel) -> None:
        kind = "Materialized view" if view.materialized else "View"
        where = f"{kind} {view.schema}.{view.name}" + (f": {view.comment}" if view.comment else "")
        if self.kysely:
            body = "".join(self.kysely_line(c, None) for c in view.columns)
            target.interfaces.append((doc_comment(where), name, body))
            return
        base = self.view_bases.get((view.schema, view.name))
        rules_of: dict[str, ColumnRules] = {}
        if base is not None:
            table_rules = dict(
                zip([c.name for c in base.table.columns], self.table_rules(base.table), strict=True)
            )
            rules_of = {v: table_rules[b] for v, b in base.columns.items() if b is not None}
        row: list[str] = []
        insert: list[str] = []
        update: list[str] = []
        for c in view.columns:
            rules = rules_of.get(c.name)
            text = self.column_type(c.data_type, not c.not_null)
            row.append(member_line(property_key(c.name), False, text, doc_comment(c.comment)))
            if rules is not None and base is not None and base.updatable:
                # Written through the view into its base column: the base column's rules.
                _, ins, upd = self.column_lines(ViewColumn(c.name, c.data_type), rules)
                insert.append(ins)
                update.append(upd)
        target.interfaces.append((doc_comment(where), f"{name} = ", "".join(row)))
        writable = base is not None and base.updatable
        if writable:
            target.interfaces.append((None, f"{name}Insert = ", "".join(insert)))
            target.interfaces.append((None, f"{name}Update = ", "".join(update)))
        relationships: list[RelationshipModel] = []
        if self.relationships and base is not None:
            renamed = {b: v for v, b in reversed(base.columns.items()) if b is not None}
            for fk, one_to_one in self.outgoing.get((base.table.schema, base.table.name), []):
                if fk.ref_schema == view.schema and all(c in renamed for c in fk.columns):
                    columns = tuple(renamed[c] for c in fk.columns)
                    relationships.append(self.relationship(fk, one_to_one, columns))
        target.views.append((property_key(view.name), name, relationships, writable))

    def json_list(self, texts: tuple[str, ...]) -> str:
        listed = self._json_lists.get(texts)
        if listed is None:
            listed = self._json_lists[texts] = json_strings(texts)
        return listed

    def relationship(self, fk: ForeignKey, one_to_one: bool, columns: tuple[str, ...]) -> RelationshipModel:
        return (
            string_literal(fk.name),
            self.json_list(columns),
            "true" if one_to_one else "false",
            string_literal(fk.ref_table),
            self.json_list(fk.ref_columns),
        )

    def related_fields(self, table: Table, nullable: Mapping[str, bool]) -> list[tuple[str, str]]:
        """(key, type) of the rows reachable through foreign keys (common.table_relations):
        to-one, the row, `| null` when it may be absent; to-many, an array."""
        result: list[tuple[str, str]] = []
        for relation in table_relations(table, self.graph, nullable, self.table_keys.__contains__):
            target = self.names[relation.target]
            text = f"{target}[]" if relation.many else f"{target} | null" if relation.nullable else target
            result.append((property_key(relation.name), text))
        return result

    # ------------------------------------------------------------------ other objects

    def rpc_inputs(self, shape: FunctionShape) -> list[tuple[str, FunctionArgument]] | None:
        """The arguments an rpc call passes, by name (None: PostgREST cannot call it).
        PostgreSQL refuses a name for an unnamed argument (`arg1 => ...`): one with a
        default takes it and is left out; a lone unnamed json, jsonb or text argument
        receives the request's body (key `""`, as `supabase gen types` writes it); any
        other unnamed argument leaves the function out."""
        unnamed = [a for _, a in shape.inputs if not a.name]
        if not unnamed:
            return list(shape.inputs)
        if len(shape.inputs) == 1 and self.resolver.resolve(unnamed[0].data_type).family in _BODY_FAMILIES:
            return [("", unnamed[0])]
        if any(a.default is None for a in unnamed):
            return None
        return list(shape.named_inputs)

    def functions(self, shapes: list[FunctionShape]) -> list[FunctionModel]:
        by_name: dict[str, FunctionModel] = {}
        for shape in shapes:
            inputs = self.rpc_inputs(shape)
            if inputs is None:
                continue
            args = [
                (
                    property_key(name),
                    argument.default is not None,
                    self.column_type(argument.data_type, False),
                )
                for name, argument in inputs
            ]
            model = by_name.setdefault(shape.name, (property_key(shape.name), []))
            model[1].append((object_type(args), self.returns(shape), self.setof_options(shape)))
        return list(by_name.values())

    def setof_options(self, shape: FunctionShape) -> str:
        """`SetofOptions` of a function whose result is a table's or view's rows in its own
        schema (postgrest-js then types the result as that relation's Row and lets a select
        embed through its Relationships): `from` is the relation of a one-argument function
        on a row type (a computed relationship), `"*"` otherwise."""
        if shape.return_type is None:
            return ""
        pg = self.resolver.resolve(shape.return_type)
        relations = self.relation_keys
        if pg.kind != "composite" or pg.dims or pg.key not in relations or pg.schema != shape.schema:
            return ""
        source = '"*"'
        if len(shape.inputs) == 1:
            argument = self.resolver.resolve(shape.inputs[0][1].data_type)
            if argument.kind == "composite" and argument.key in relations and argument.schema == shape.schema:
                source = string_literal(argument.name)
        one = "false" if shape.returns_set else "true"
        many = "true" if shape.returns_set else "false"
        return (
            f"SetofOptions: {{ from: {source}; to: {string_literal(pg.name)}; "
            f"isOneToOne: {one}; isSetofReturn: {many} }}; "
        )

    def returns(self, shape: FunctionShape) -> str:
        if shape.return_columns:
            row = object_type(
                [(property_key(n), False, self.column_type(t, True)) for n, t in shape.return_columns]
            )
            return row + "[]" if shape.returns_set else row
        if shape.returns_set:
            # An element may be NULL where PostgreSQL allows it (`SETOF integer` yields
            # NULLs, `SETOF users` a NULL row), as every language types it.
            text = self.column_type(shape.return_type or "void", result_nullable(shape, self.resolver))
            wrapped = f"({text})" if " " in text else text
            return wrapped + "[]"
        text = self.column_type(shape.return_type or "void", False)
        if text in ("undefined", "unknown"):
            return text
        return f"{text} | null"

    def enum_model(self, schema: str, name: str, labels: tuple[str, ...]) -> EnumModel:
        members = member_names(labels, screaming_snake_case, digit_prefix="_")
        literals = [string_literal(label) for label in labels]
        union = " | ".join(literals) if literals else "never"
        return (
            name,
            property_key(name),
            self.names[(schema, name)],
            union,
            list(zip(members, literals, strict=True)),
        )

    def render(self) -> str:
        schemas: dict[str, SchemaModel] = {}

        def schema_model(name: str) -> SchemaModel:
            model = schemas.get(name)
            if model is None:
                model = schemas[name] = SchemaModel(property_key(name))
            return model

        for schema in self.catalog.schemas:
            schema_model(schema.name)
        for enum in self.catalog.enums:
            schema_model(enum.schema).enums.append(self.enum_model(enum.schema, enum.name, enum.labels))
        for composite in self.catalog.composite_types:
            name = self.names[(composite.schema, composite.name)]
            body = "".join(
                member_line(property_key(a.name), False, self.column_type(a.data_type, True))
                for a in composite.attributes
            )
            target = schema_model(composite.schema)
            target.composites.append((property_key(composite.name), name))
            doc = f"Composite type {composite.schema}.{composite.name}"
            target.interfaces.append((doc_comment(doc), name if self.kysely else f"{name} = ", body))
        for table in self.tables:
            self.table_piece(table, schema_model(table.schema))
        for view in self.catalog.views:
            self.view(view, self.names[(view.schema, view.name)], schema_model(view.schema))
        ordered = [schemas[k] for k in sorted(schemas)]
        if self.kysely:
            return self.render_kysely(ordered)
        shapes = callable_functions(self.catalog, self.resolver)
        for schema_name in sorted({s.schema for s in shapes}):
            schema_model(schema_name).functions = self.functions(
                [s for s in shapes if s.schema == schema_name]
            )
        ordered = [schemas[k] for k in sorted(schemas)]
        default_schema = "public" if "public" in schemas else min(schemas, default=None)
        return render_template(
            "types/typescript/types.ts.jinja2",
            schemas=ordered,
            default_schema=string_literal(default_schema) if default_schema else None,
            header=self.header(),
            pg_array=self.uses_pg_array,
        )

    def header(self) -> str:
        forms = {"number": "numbers", "string": "strings", "bigint": "bigints"}
        if self.options.int8 == self.options.numeric:
            return f"bigint and numeric are {forms[self.options.int8]}"
        return f"bigint is {forms[self.options.int8]}, numeric {forms[self.options.numeric]}"

    def render_kysely(self, schemas: list[SchemaModel]) -> str:
        tables: list[tuple[str, str]] = []
        for schema, name, _ in sorted(
            [(t.schema, t.name, t) for t in self.tables]
            + [(v.schema, v.name, v) for v in self.catalog.views],
            key=lambda r: (r[0], r[1]),
        ):
            key = name if schema == "public" else f"{schema}.{name}"
            tables.append(
                (string_literal(key) if not _IDENTIFIER.match(key) else key, self.names[(schema, name)])
            )
        return render_template(
            "types/typescript/kysely.ts.jinja2",
            schemas=schemas,
            tables=tables,
            int8=self.options.int8,
            numeric=self.options.numeric,
            header=self.header(),
            pg_array=self.uses_pg_array,
        )


def render_typescript(catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None) -> str:
    return _Renderer(catalog, options, fragments).render()


def render(
    catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
) -> dict[str, str]:
    """`fragments`: the pieces of an earlier run to reuse, filled with this run's."""
    return {"types.ts": render_typescript(catalog, options, fragments)}
