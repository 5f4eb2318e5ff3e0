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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nself.backends.types.common import (
    FunctionShape,
    PgType,
    TypeResolver,
    as_is,
    callable_functions,
    column_nullable,
    insert_presence,
    member_names,
    named_type_objects,
    render_template,
    screaming_snake_case,
    type_names,
    update_presence,
)
from nself.ir.model import Catalog, ForeignKey, PrimaryKey, Table, UniqueConstraint, View

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


def property_key(name: str) -> str:
    """A property name as written in an interface: bare when it is an identifier (reserved
    words are valid property names), else a string literal."""
    return name if _IDENTIFIER.match(name) else json.dumps(name, ensure_ascii=False)


def string_literal(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def object_type(fields: list[Field]) -> str:
    """An inline object type; a function without arguments takes an empty object."""
    if not fields:
        return "Record<PropertyKey, never>"
    return "{ " + " ".join(f"{f.key}{'?' if f.optional else ''}: {f.type};" for f in fields) + " }"


def doc_comment(text: str | None) -> str | None:
    """Text safe inside a /** */ comment, on one line."""
    if not text:
        return None
    return " ".join(text.replace("*/", "*\\/").split())


@dataclass(slots=True)
class Field:
    key: str
    type: str
    optional: bool = False
    comment: str | None = None  # already safe for a /** */ comment


@dataclass(slots=True)
class Interface:
    """One `export interface` of the file."""

    name: str
    doc: str | None
    fields: list[Field]
    extends: str | None = None


@dataclass(slots=True)
class Relationship:
    foreign_key: str
    columns: list[str]
    one_to_one: bool
    referenced_relation: str
    referenced_columns: list[str]


@dataclass(slots=True)
class RelatedField:
    key: str
    type: str


@dataclass(slots=True)
class Relation:
    """A table or view with what the template prints for it."""

    db_name: str
    key: str
    type_name: str
    row: list[Field]
    insert: list[Field] | None = None
    update: list[Field] | None = None
    relationships: list[Relationship] = field(default_factory=list)
    related: list[RelatedField] = field(default_factory=list)
    comment: str | None = None


@dataclass(slots=True)
class EnumModel:
    db_name: str
    key: str
    type_name: str
    labels: list[tuple[str, str]]  # (member, label literal)
    union: str


@dataclass(slots=True)
class CompositeModel:
    db_name: str
    key: str
    type_name: str
    fields: list[Field]


@dataclass(slots=True)
class FunctionModel:
    key: str
    variants: list[tuple[str, str]]  # (args type, returns type)


@dataclass(slots=True)
class SchemaModel:
    key: str
    interfaces: list[Interface] = field(default_factory=list)
    tables: list[Relation] = field(default_factory=list)
    views: list[Relation] = field(default_factory=list)
    functions: list[FunctionModel] = field(default_factory=list)
    enums: list[EnumModel] = field(default_factory=list)
    composites: list[CompositeModel] = field(default_factory=list)


class _Renderer:
    def __init__(self, catalog: Catalog, options: Mapping[str, Any]) -> None:
        self.catalog = catalog
        self.with_relations = bool(options.get("with_relations", False))
        self.resolver = TypeResolver(catalog)
        self.names = type_names(
            named_type_objects(catalog), reserved=RESERVED_TYPE_NAMES, suffixes=TYPE_SUFFIXES
        )
        # Foreign keys pointing at each table, and each table's unique column sets: looked
        # up once per table, so relations stay linear in the size of the schema.
        self.incoming: dict[tuple[str, str], list[tuple[Table, ForeignKey]]] = {}
        self.unique_sets: dict[tuple[str, str], set[frozenset[str]]] = {}
        if self.with_relations:
            for other in catalog.tables:
                for fk in other.foreign_keys:
                    self.incoming.setdefault((fk.ref_schema, fk.ref_table), []).append((other, fk))
                self.unique_sets[(other.schema, other.name)] = {
                    frozenset(c.columns)
                    for c in other.constraints
                    if isinstance(c, (PrimaryKey, UniqueConstraint))
                }
            for index in catalog.indexes:
                if index.unique and index.predicate is None and all(k.column for k in index.keys):
                    self.unique_sets.setdefault((index.schema, index.table), set()).add(
                        frozenset(k.column for k in index.keys if k.column)
                    )

    # ------------------------------------------------------------------ types

    def value_type(self, pg: PgType) -> str:
        element = pg.element()
        if element.kind in ("enum", "composite"):
            base = self.names.get(element.key, "unknown")
        else:
            base = FAMILY_TYPES.get(element.family, "unknown")
        if pg.dims:
            wrapped = f"({base})" if " " in base else base
            return wrapped + "[]" * pg.dims
        return base

    def column_type(self, data_type: str, nullable: bool) -> str:
        text = self.value_type(self.resolver.resolve(data_type))
        return f"{text} | null" if nullable and text != "unknown" else text

    # ------------------------------------------------------------------ relations

    def table(self, table: Table) -> Relation:
        name = self.names[(table.schema, table.name)]
        row: list[Field] = []
        insert: list[Field] = []
        update: list[Field] = []
        for column in table.columns:
            key = property_key(column.name)
            nullable = column_nullable(column, self.resolver)
            text = self.column_type(column.data_type, nullable)
            row.append(Field(key, text, comment=doc_comment(column.comment)))
            presence = insert_presence(column, self.resolver)
            if presence != "absent":
                insert.append(Field(key, text, optional=presence == "optional"))
            if update_presence(column) != "absent":
                update.append(Field(key, text, optional=True))
        relation = Relation(
            table.name, property_key(table.name), name, row, insert, update, comment=table.comment
        )
        if self.with_relations:
            relation.relationships = [self.relationship(table, fk) for fk in table.foreign_keys]
            relation.related = self.related_fields(table)
        return relation

    def view(self, view: View) -> Relation:
        name = self.names[(view.schema, view.name)]
        row = [
            Field(
                property_key(c.name),
                self.column_type(c.data_type, not c.not_null),
                comment=doc_comment(c.comment),
            )
            for c in view.columns
        ]
        return Relation(view.name, property_key(view.name), name, row, comment=view.comment)

    def _one_to_one(self, table: Table, columns: tuple[str, ...]) -> bool:
        """True when the columns are unique in `table` (a primary key, a unique constraint
        or a full unique index on exactly them)."""
        return frozenset(columns) in self.unique_sets.get((table.schema, table.name), set())

    def relationship(self, table: Table, fk: ForeignKey) -> Relationship:
        return Relationship(
            fk.name,
            list(fk.columns),
            self._one_to_one(table, fk.columns),
            fk.ref_table,
            list(fk.ref_columns),
        )

    def related_fields(self, table: Table) -> list[RelatedField]:
        """Rows reachable through foreign keys, named as PostgREST embeds them: the
        related table's name, or the foreign key's name when one table is reached twice."""
        wanted: list[tuple[str, str]] = []  # (db name candidate, type)
        outgoing = table.foreign_keys
        targets = [(fk.ref_schema, fk.ref_table) for fk in outgoing]
        for fk in outgoing:
            target = self.names.get((fk.ref_schema, fk.ref_table))
            if target is None:
                continue
            nullable = any(
                (c := table.column(col)) is None or column_nullable(c, self.resolver) for col in fk.columns
            )
            name = fk.ref_table if targets.count((fk.ref_schema, fk.ref_table)) == 1 else fk.name
            wanted.append((name, f"{target} | null" if nullable else target))
        incoming = self.incoming.get((table.schema, table.name), [])
        sources = [(o.schema, o.name) for o, _ in incoming]
        for other, fk in incoming:
            source = self.names[(other.schema, other.name)]
            name = other.name if sources.count((other.schema, other.name)) == 1 else fk.name
            if self._one_to_one(other, fk.columns):
                wanted.append((name, f"{source} | null"))
            else:
                wanted.append((name, f"{source}[]"))
        taken = [c.name for c in table.columns]
        keys = (
            member_names([n for n, _ in wanted], as_is, taken=taken, escape="{}", digit_prefix="_")
            if wanted
            else []
        )
        return [RelatedField(property_key(k), t) for k, (_, t) in zip(keys, wanted, strict=True)]

    # ------------------------------------------------------------------ other objects

    def functions(self, shapes: list[FunctionShape]) -> list[FunctionModel]:
        by_name: dict[str, FunctionModel] = {}
        for shape in shapes:
            args = [
                Field(
                    property_key(name),
                    self.value_type(self.resolver.resolve(argument.data_type)),
                    optional=argument.default is not None,
                )
                for name, argument in shape.inputs
            ]
            model = by_name.setdefault(shape.name, FunctionModel(property_key(shape.name), []))
            model.variants.append((object_type(args), self.returns(shape)))
        return list(by_name.values())

    def returns(self, shape: FunctionShape) -> str:
        if shape.return_columns:
            row = object_type(
                [Field(property_key(n), self.column_type(t, True)) for n, t in shape.return_columns]
            )
            return row + "[]" if shape.returns_set else row
        pg = self.resolver.resolve(shape.return_type or "void")
        text = self.value_type(pg)
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
        return EnumModel(
            name,
            property_key(name),
            self.names[(schema, name)],
            list(zip(members, literals, strict=True)),
            union,
        )

    def render(self) -> str:
        schemas: dict[str, SchemaModel] = {}

        def schema_model(name: str) -> SchemaModel:
            return schemas.setdefault(name, SchemaModel(property_key(name)))

        for schema in self.catalog.schemas:
            schema_model(schema.name)
        for enum in self.catalog.enums:
            schema_model(enum.schema).enums.append(self.enum_model(enum.schema, enum.name, enum.labels))
        for composite in self.catalog.composite_types:
            fields = [
                Field(property_key(a.name), self.column_type(a.data_type, True)) for a in composite.attributes
            ]
            model = CompositeModel(
                composite.name,
                property_key(composite.name),
                self.names[(composite.schema, composite.name)],
                fields,
            )
            target = schema_model(composite.schema)
            target.composites.append(model)
            doc = f"Composite type {composite.schema}.{composite.name}"
            target.interfaces.append(Interface(model.type_name, doc_comment(doc), fields))
        for table in self.catalog.tables:
            relation = self.table(table)
            target = schema_model(table.schema)
            target.tables.append(relation)
            where = f"Table {table.schema}.{table.name}" + (f": {table.comment}" if table.comment else "")
            target.interfaces.append(Interface(relation.type_name, doc_comment(where), relation.row))
            target.interfaces.append(Interface(relation.type_name + "Insert", None, relation.insert or []))
            target.interfaces.append(Interface(relation.type_name + "Update", None, relation.update or []))
            if self.with_relations:
                related = [Field(r.key, r.type, optional=True) for r in relation.related]
                target.interfaces.append(
                    Interface(relation.type_name + "WithRelations", None, related, extends=relation.type_name)
                )
        for view in self.catalog.views:
            relation = self.view(view)
            target = schema_model(view.schema)
            target.views.append(relation)
            kind = "Materialized view" if view.materialized else "View"
            where = f"{kind} {view.schema}.{view.name}" + (f": {view.comment}" if view.comment else "")
            target.interfaces.append(Interface(relation.type_name, doc_comment(where), relation.row))
        shapes = callable_functions(self.catalog, self.resolver)
        for schema_name in sorted({s.schema for s in shapes}):
            schema_model(schema_name).functions = self.functions(
                [s for s in shapes if s.schema == schema_name]
            )
        ordered = [schemas[k] for k in sorted(schemas)]
        return render_template(
            "types/typescript/types.ts.jinja2",
            schemas=ordered,
            with_relations=self.with_relations,
            string_literal=string_literal,
        )


def render_typescript(catalog: Catalog, options: Mapping[str, Any]) -> str:
    return _Renderer(catalog, options).render()


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    return {"types.ts": render_typescript(catalog, options)}
