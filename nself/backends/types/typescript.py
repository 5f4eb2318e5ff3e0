"""TypeScript types: one `types.ts` with a named interface per table (Row, Insert, Update),
view, composite type and enum, and a `Database` type in the shape supabase-js and
postgrest-js expect (schema -> Tables/Views/Functions/Enums/CompositeTypes, keyed by the
database names, so serialisation needs no renaming).

Options: `with_relations` (bool) adds each table's foreign keys to `Database` (the
`Relationships` tuple postgrest-js reads) and a `<Table>WithRelations` interface with the
related rows as optional fields (to-one: the row, to-many: an array).

Decisions (docs/types.md): bigint, numeric and money are strings (a JS number loses
digits past 2^53); json/jsonb are `Json`; dates, times, timestamps and intervals are ISO
strings, as PostgreSQL sends them in JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nself.backends.types.common import (
    ColumnRules,
    FunctionShape,
    PgType,
    TypeResolver,
    as_is,
    callable_functions,
    member_names,
    named_type_objects,
    screaming_snake_case,
    table_column_rules,
    type_names,
)
from nself.ir.model import (
    Catalog,
    Column,
    ForeignKey,
    PrimaryKey,
    Table,
    UniqueConstraint,
    View,
)
from nself.templating import render_template

# Names a generated type must not take: the helpers declared here, and global types a
# reader expects to mean the built-in one.
RESERVED_TYPE_NAMES = frozenset(
    {
        "Json",
        "Database",
        "Tables",
        "Views",
        "Enums",
        "CompositeTypes",
        "Functions",
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


# What the template lays out, as plain tuples (no attribute lookups in its loops):
# - an interface: (doc comment or None, head: name and `extends` clause, body: its member
#   lines, see member_line);
# - a table of `Database`: (key, type name, relationships); a relationship: (foreign key
#   literal, columns, isOneToOne, referenced relation literal, referenced columns);
# - an enum: (database name, key, type name, union, [(member, label literal)]);
# - a function: (key, [(args type, returns type)]); a view or composite type: (key, type
#   name).
InterfaceModel = tuple[str | None, str, str]
RelationshipModel = tuple[str, str, str, str, str]
TableModel = tuple[str, str, list[RelationshipModel]]
EnumModel = tuple[str, str, str, str, list[tuple[str, str]]]
FunctionModel = tuple[str, list[tuple[str, str]]]


@dataclass(slots=True)
class SchemaModel:
    key: str
    interfaces: list[InterfaceModel] = field(default_factory=list)
    tables: list[TableModel] = field(default_factory=list)
    views: list[tuple[str, str]] = field(default_factory=list)
    functions: list[FunctionModel] = field(default_factory=list)
    enums: list[EnumModel] = field(default_factory=list)
    composites: list[tuple[str, str]] = field(default_factory=list)


class _Renderer:
    def __init__(self, catalog: Catalog, options: Mapping[str, Any]) -> None:
        self.catalog = catalog
        self.with_relations = bool(options.get("with_relations", False))
        self.resolver = TypeResolver(catalog)
        self.names = type_names(
            named_type_objects(catalog), reserved=RESERVED_TYPE_NAMES, suffixes=TYPE_SUFFIXES
        )
        # A schema has few distinct (type, nullable, elements nullable) combinations and
        # few distinct fields (the same `id`, `created_at` in every table): each is spelled
        # once.
        self._types: dict[tuple[str, bool, bool | None], str] = {}
        self._lines: dict[tuple[object, ...], tuple[str, str, str]] = {}
        self._json_lists: dict[tuple[str, ...], str] = {}
        # Each table's foreign keys (outgoing) and those pointing at it (incoming), with
        # whether the key's columns are unique in their table (one-to-one): decided once per
        # key, so relations stay linear in the size of the schema.
        self.outgoing: dict[tuple[str, str], list[tuple[ForeignKey, bool]]] = {}
        self.incoming: dict[tuple[str, str], list[tuple[Table, ForeignKey, bool]]] = {}
        if self.with_relations:
            unique_sets: dict[tuple[str, str], set[frozenset[str]]] = {}
            for other in catalog.tables:
                unique_sets[(other.schema, other.name)] = {
                    frozenset(c.columns)
                    for c in other.constraints
                    if isinstance(c, (PrimaryKey, UniqueConstraint))
                }
            for index in catalog.indexes:
                if index.unique and index.predicate is None and all(k.column for k in index.keys):
                    unique_sets.setdefault((index.schema, index.table), set()).add(
                        frozenset(k.column for k in index.keys if k.column)
                    )
            for other in catalog.tables:
                key = (other.schema, other.name)
                unique = unique_sets[key]
                outgoing = self.outgoing[key] = []
                for fk in other.foreign_keys:
                    one_to_one = frozenset(fk.columns) in unique
                    outgoing.append((fk, one_to_one))
                    self.incoming.setdefault((fk.ref_schema, fk.ref_table), []).append(
                        (other, fk, one_to_one)
                    )

    # ------------------------------------------------------------------ types

    def value_type(self, pg: PgType, element_nullable: bool) -> str:
        """The TypeScript type of a value of `pg` (without the value's own `| null`); the
        innermost elements of an array get `| null` when they may be NULL (a sub-array of a
        multi-dimensional array never is): `(number | null)[][]`."""
        element = pg.element()
        if element.kind in ("enum", "composite"):
            base = self.names.get(element.key, "unknown")
        else:
            base = FAMILY_TYPES.get(element.family, "unknown")
        if pg.dims:
            if element_nullable and base != "unknown":
                base = f"{base} | null"
            wrapped = f"({base})" if " " in base else base
            return wrapped + "[]" * pg.dims
        return base

    def column_type(self, data_type: str, nullable: bool, element_nullable: bool | None = None) -> str:
        """The type of a column, attribute or argument; `element_nullable` None: as the type
        itself says (tables pass what their CHECKs add)."""
        key = (data_type, nullable, element_nullable)
        text = self._types.get(key)
        if text is None:
            pg = self.resolver.resolve(data_type)
            elements = pg.element_nullable if element_nullable is None else element_nullable
            text = self.value_type(pg, elements)
            if nullable and text != "unknown":
                text += " | null"
            self._types[key] = text
        return text

    def field_lines(self, table: Table) -> tuple[list[str], list[str], list[str], dict[str, bool]]:
        """The member lines of a table's Row, Insert and Update interfaces (the fields of
        `table_field_sets`), and which columns may be NULL. A column's three lines are
        spelled once per distinct (name, type, comment, rules)."""
        memo = self._lines
        row: list[str] = []
        insert: list[str] = []
        update: list[str] = []
        nullable: dict[str, bool] = {}
        for c, rules in zip(table.columns, table_column_rules(table, self.resolver), strict=True):
            key = (c.name, c.data_type, c.comment, rules)
            lines = memo.get(key)
            if lines is None:
                lines = memo[key] = self.column_lines(c, rules)
            row.append(lines[0])
            if lines[1]:
                insert.append(lines[1])
            if lines[2]:
                update.append(lines[2])
            nullable[c.name] = rules.nullable
        return row, insert, update, nullable

    def column_lines(self, column: Column, rules: ColumnRules) -> tuple[str, str, str]:
        """A column's Row, Insert and Update member lines ('' where it is absent)."""
        text = self.column_type(column.data_type, rules.nullable, rules.element_nullable)
        key = property_key(column.name)
        return (
            member_line(key, False, text, doc_comment(column.comment)),
            "" if rules.insert == "absent" else member_line(key, rules.insert == "optional", text),
            "" if rules.update == "absent" else member_line(key, True, text),
        )

    # ------------------------------------------------------------------ relations

    def table(self, table: Table, name: str, target: SchemaModel) -> None:
        row, insert, update, nullable = self.field_lines(table)
        where = f"Table {table.schema}.{table.name}" + (f": {table.comment}" if table.comment else "")
        target.interfaces.append((doc_comment(where), name, "".join(row)))
        target.interfaces.append((None, name + "Insert", "".join(insert)))
        target.interfaces.append((None, name + "Update", "".join(update)))
        relationships: list[RelationshipModel] = []
        if self.with_relations:
            outgoing = self.outgoing[(table.schema, table.name)]
            relationships = [self.relationship(fk, one_to_one) for fk, one_to_one in outgoing]
            related = "".join(
                [member_line(k, True, t) for k, t in self.related_fields(table, outgoing, nullable)]
            )
            target.interfaces.append((None, f"{name}WithRelations extends {name}", related))
        target.tables.append((property_key(table.name), name, relationships))

    def view(self, view: View, name: str, target: SchemaModel) -> None:
        kind = "Materialized view" if view.materialized else "View"
        where = f"{kind} {view.schema}.{view.name}" + (f": {view.comment}" if view.comment else "")
        body = "".join(
            member_line(
                property_key(c.name),
                False,
                self.column_type(c.data_type, not c.not_null),
                doc_comment(c.comment),
            )
            for c in view.columns
        )
        target.interfaces.append((doc_comment(where), name, body))
        target.views.append((property_key(view.name), name))

    def relationship(self, fk: ForeignKey, one_to_one: bool) -> RelationshipModel:
        columns = self._json_lists.get(fk.columns)
        if columns is None:
            columns = self._json_lists[fk.columns] = json_strings(fk.columns)
        referenced = self._json_lists.get(fk.ref_columns)
        if referenced is None:
            referenced = self._json_lists[fk.ref_columns] = json_strings(fk.ref_columns)
        return (
            string_literal(fk.name),
            columns,
            "true" if one_to_one else "false",
            string_literal(fk.ref_table),
            referenced,
        )

    def related_fields(
        self, table: Table, outgoing: Sequence[tuple[ForeignKey, bool]], nullable: Mapping[str, bool]
    ) -> list[tuple[str, str]]:
        """(key, type) of the rows reachable through foreign keys, named as PostgREST embeds
        them: the related table's name, or the foreign key's name when one table is reached
        twice. To-one (this table's keys, `outgoing`): the row, `| null` when a key column
        may be NULL (`nullable` tells which); to-many (keys pointing here): an array, or the
        row `| null` when that key is unique in its table."""
        wanted: list[tuple[str, str]] = []  # (db name candidate, type)
        targets = [(fk.ref_schema, fk.ref_table) for fk, _ in outgoing]
        for (fk, _), key in zip(outgoing, targets, strict=True):
            target = self.names.get(key)
            if target is None:
                continue
            may_be_null = any(nullable.get(column, True) for column in fk.columns)
            name = fk.ref_table if targets.count(key) == 1 else fk.name
            wanted.append((name, f"{target} | null" if may_be_null else target))
        incoming = self.incoming.get((table.schema, table.name), [])
        sources = [(o.schema, o.name) for o, _, _ in incoming]
        for (other, fk, one_to_one), key in zip(incoming, sources, strict=True):
            source = self.names[key]
            name = other.name if sources.count(key) == 1 else fk.name
            wanted.append((name, f"{source} | null" if one_to_one else f"{source}[]"))
        if not wanted:
            return []
        names = [n for n, _ in wanted]
        # member_names gives plain, distinct names that no column takes back unchanged.
        if (
            len(set(names)) == len(names)
            and nullable.keys().isdisjoint(names)
            and all(_PLAIN_MEMBER.fullmatch(n) for n in names)
        ):
            keys = names
        else:
            keys = member_names(names, as_is, taken=list(nullable), escape="{}", digit_prefix="_")
        return [(property_key(k), t) for k, (_, t) in zip(keys, wanted, strict=True)]

    # ------------------------------------------------------------------ other objects

    def functions(self, shapes: list[FunctionShape]) -> list[FunctionModel]:
        by_name: dict[str, FunctionModel] = {}
        for shape in shapes:
            args = [
                (
                    property_key(name),
                    argument.default is not None,
                    self.column_type(argument.data_type, False),
                )
                for name, argument in shape.inputs
            ]
            model = by_name.setdefault(shape.name, (property_key(shape.name), []))
            model[1].append((object_type(args), self.returns(shape)))
        return list(by_name.values())

    def returns(self, shape: FunctionShape) -> str:
        if shape.return_columns:
            row = object_type(
                [(property_key(n), False, self.column_type(t, True)) for n, t in shape.return_columns]
            )
            return row + "[]" if shape.returns_set else row
        text = self.column_type(shape.return_type or "void", False)
        if shape.returns_set:
            wrapped = f"({text})" if " " in text else text
            return wrapped + "[]"
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
            target.interfaces.append((doc_comment(doc), name, body))
        names = self.names
        for table in self.catalog.tables:
            self.table(table, names[(table.schema, table.name)], schema_model(table.schema))
        for view in self.catalog.views:
            self.view(view, names[(view.schema, view.name)], schema_model(view.schema))
        shapes = callable_functions(self.catalog, self.resolver)
        for schema_name in sorted({s.schema for s in shapes}):
            schema_model(schema_name).functions = self.functions(
                [s for s in shapes if s.schema == schema_name]
            )
        ordered = [schemas[k] for k in sorted(schemas)]
        return render_template("types/typescript/types.ts.jinja2", schemas=ordered)


def render_typescript(catalog: Catalog, options: Mapping[str, Any]) -> str:
    return _Renderer(catalog, options).render()


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    return {"types.ts": render_typescript(catalog, options)}
