"""Rust types: one `types.rs` module with, for every table, a Row struct, an Insert struct
and an Update struct, for every view a Row struct, for every composite type a struct and
for every enum a Rust enum, all deriving serde's Serialize and Deserialize.

The types are the ones Rust users expect from serde, chrono, uuid, serde_json and
rust_decimal: `Option<T>` for NULL, `Vec<T>` per array dimension, `i64` for bigint,
`rust_decimal::Decimal` for numeric, `chrono::DateTime<chrono::Utc>` for timestamptz,
`uuid::Uuid`, `serde_json::Value` for json/jsonb (docs/types.md, Rust).

Names follow Rust's style (snake_case fields, CamelCase types and variants); whenever that
changes a database name, `#[serde(rename = "...")]` keeps the name on the wire. Keywords
become raw identifiers (`r#type`), except the four that cannot (`self`, `Self`, `crate`,
`super` -> `self_`).

An array is `PgArray<T>` (option `arrays`, default "any"): an untagged enum of the elements
or the sub-arrays, since every array column accepts any number of dimensions; `Vec<T>` per
dimension where a CHECK fixes `array_ndims`, or per declared dimension with
`arrays = "declared"`. An array's elements are `Option<T>` unless PostgreSQL keeps NULL out of them (a NOT NULL
element domain, a CHECK that forbids NULL elements); in a rectangular array only the
innermost elements can be NULL: `integer[][]` -> `Vec<Vec<Option<i32>>>`.

Insert and Update fields that may be left out are `Option<...>` skipped when `None`; for a
nullable column that is `Option<Option<T>>`, so `Some(None)` writes NULL (serde writes
`null`). Reading `null` back gives `Some(None)` through the file's `double_option`: serde
alone reads it as `None`, which would turn "set NULL" into "leave out"."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

from nself.backends.types.common import (
    ArrayMode,
    Effects,
    Fragments,
    PgType,
    StructField,
    Token,
    TypeResolver,
    array_mode,
    callable_functions,
    comment_lines,
    composite_fields,
    list_depth,
    member_names,
    named_type_objects,
    pascal_case,
    plan_function_types,
    row_relations,
    shared_names,
    snake_case,
    table_field_sets,
    type_names,
)
from nself.ir.model import Catalog, CompositeType, Enum, Table, View
from nself.templating import render_template

FILE_NAME = "types.rs"

# Strict and reserved keywords of Rust 2021 (and `gen`, reserved in 2024): a field named
# after one is written as a raw identifier.
RUST_KEYWORDS = frozenset(
    [
        "as",
        "async",
        "await",
        "break",
        "const",
        "continue",
        "crate",
        "dyn",
        "else",
        "enum",
        "extern",
        "false",
        "fn",
        "for",
        "if",
        "impl",
        "in",
        "let",
        "loop",
        "match",
        "mod",
        "move",
        "mut",
        "pub",
        "ref",
        "return",
        "self",
        "Self",
        "static",
        "struct",
        "super",
        "trait",
        "true",
        "type",
        "unsafe",
        "use",
        "where",
        "while",
        "abstract",
        "become",
        "box",
        "do",
        "final",
        "macro",
        "override",
        "priv",
        "typeof",
        "unsized",
        "virtual",
        "yield",
        "try",
        "gen",
    ]
)
# Keywords that cannot be raw identifiers.
NOT_RAW = frozenset({"self", "Self", "crate", "super", "_"})

# Type names the generated code itself refers to unqualified, so a table may not take them.
RESERVED_TYPE_NAMES = frozenset(
    {
        "Self",
        "Option",
        "PgArray",
        "Some",
        "None",
        "String",
        "Vec",
        "Box",
        "Result",
        "Ok",
        "Err",
        "Serialize",
        "Deserialize",
    }
)

TYPE_SUFFIXES = ("", "Insert", "Update")

DERIVE_ENUM = "Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize"
DERIVE_STRUCT = "Debug, Clone, PartialEq, Serialize, Deserialize"
DERIVE_UPDATE = "Debug, Clone, Default, PartialEq, Serialize, Deserialize"

# The file's function that reads a field that may be left out or set to NULL (snake_case, so
# no type, variant or field of the file can take its name).
DOUBLE_OPTION = "double_option"

# Family (nself.backends.types.common) -> Rust type of one value.
FAMILY_TYPES: dict[str, str] = {
    "int2": "i16",
    "int4": "i32",
    "int8": "i64",
    "float4": "f32",
    "float8": "f64",
    "numeric": "rust_decimal::Decimal",
    "money": "String",
    "bool": "bool",
    "text": "String",
    "bytea": "Vec<u8>",
    "json": "serde_json::Value",
    "jsonb": "serde_json::Value",
    "uuid": "uuid::Uuid",
    "date": "chrono::NaiveDate",
    "timestamp": "chrono::NaiveDateTime",
    "timestamptz": "chrono::DateTime<chrono::Utc>",
    "time": "chrono::NaiveTime",
    "timetz": "String",
    "interval": "String",
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
    "hstore": "String",
    "record": "String",
    "unknown": "String",
}

# The unsigned system types (common.py files oid under int4, which would overflow an i32).
NAME_TYPES: dict[str, str] = {"oid": "u32", "xid": "u32", "cid": "u32", "xid8": "u64"}


def rust_field_style(name: str) -> str:
    """snake_case, with the keywords that cannot be raw identifiers suffixed."""
    converted = snake_case(name)
    return converted + "_" if converted in NOT_RAW else converted


def field_names(db_names: Sequence[str]) -> list[str]:
    """Unique snake_case field names: 'Display Name' -> display_name, 'type' -> r#type,
    'self' -> self_, '3d_model' -> _3d_model; a second 'userId' -> user_id2 (no separator:
    self__2 would not be snake case)."""
    return member_names(
        db_names, rust_field_style, keywords=RUST_KEYWORDS - NOT_RAW, escape="r#{}", separator=""
    )


def variant_names(labels: Sequence[str]) -> list[str]:
    """Unique CamelCase variants: 'read-only' -> ReadOnly, '2fa_pending' -> V2faPending,
    a second 'read_only' -> ReadOnly2, 'Self' -> Self_ (the one CamelCase keyword)."""
    return member_names(
        labels, pascal_case, keywords={"Self"}, escape="{}_", digit_prefix="V", empty="Value", separator=""
    )


def unraw(identifier: str) -> str:
    return identifier[2:] if identifier.startswith("r#") else identifier


def rust_string(text: str) -> str:
    """A Rust string literal."""
    out = []
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


MAX_WIDTH = 100  # rustfmt's max_width
# rustfmt's attr_fn_like_width: an attribute's arguments (two or more) on one line.
ATTRIBUTE_ARGUMENTS_WIDTH = 70


def display_width(text: str) -> int:
    """Columns a line takes as rustfmt counts them (wide East Asian characters count two)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def serde_attribute(arguments: Sequence[str]) -> list[str]:
    """`#[serde(...)]` at an indent of four: one line, or one argument per line when the
    line would reach rustfmt's max_width or, with several arguments, the arguments would pass
    its attr_fn_like_width (a single argument stays on the line while the line fits)."""
    if not arguments:
        return []
    inner = ", ".join(arguments)
    line = f"    #[serde({inner})]"
    # rustfmt breaks an attribute that would reach column 100 itself (checked against
    # rustfmt 1.x: 99 columns stay, 100 break), unlike a field line.
    if display_width(line) < MAX_WIDTH and (
        len(arguments) == 1 or display_width(inner) <= ATTRIBUTE_ARGUMENTS_WIDTH
    ):
        return [line]
    return ["    #[serde(", *(f"        {a}," for a in arguments[:-1]), f"        {arguments[-1]}", "    )]"]


def wrap(line: str, head: str) -> list[str]:
    """`line`, or `head` with the rest on the next line at an indent of eight (rustfmt's
    break after a field's colon) when `line` is too wide."""
    if display_width(line) <= MAX_WIDTH:
        return [line]
    return [head, "        " + line[len(head) :].lstrip()]


class RustStruct(NamedTuple):
    name: str
    doc: list[str]
    derive: str
    body: str  # the fields, laid out as rustfmt would, one per line with their attributes
    alias: str | None = None  # `pub type name = alias;` instead of a struct


class RustEnum(NamedTuple):
    name: str
    doc: list[str]
    variants: list[tuple[str, list[str]]]  # (variant, its #[serde(...)] lines)


def doc_block(lines: Sequence[str], indent: str) -> str:
    """`///` doc comment lines (empty lines without a trailing space)."""
    return "".join(f"{indent}/// {line}\n" if line else f"{indent}///\n" for line in lines)


class RustRenderer:
    def __init__(
        self, catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
    ) -> None:
        self.catalog = catalog
        self.arrays: ArrayMode = array_mode(options, "rust")
        self.uses_pg_array = False  # a PgArray<T> was spelled: the file declares it
        self.resolver = TypeResolver(catalog)
        self.fragments = fragments
        # What the pieces add to the file (a flag each: ("flag", attribute)); with
        # fragments, the memos below keep the tokens their entries gave.
        self.effects = Effects(self.apply, fragments is not None)
        self.names = shared_names(
            fragments,
            lambda: type_names(
                named_type_objects(catalog),
                pascal_case,
                reserved=RESERVED_TYPE_NAMES,
                suffixes=TYPE_SUFFIXES,
                digit_prefix="T",
            ),
        )
        # A schema repeats few (field name, column) combinations (id, created_at, ...): each
        # field's text is decided once, keyed by name then column (no key tuple per field).
        self._field_text: dict[str, dict[StructField, str]] = {}
        self._types: dict[tuple[str, bool, bool, bool, int | None], str] = {}
        self.uses_double_option = False
        # signature ('public.f(integer)') -> names of its Args, Result and Returns types
        self.function_types: dict[str, tuple[str, str, str]] = {}

    def apply(self, token: Token) -> None:
        setattr(self, token[1], True)

    # ------------------------------------------------------------------ types

    def value_type(self, pg: PgType, element_nullable: bool = False, ndims: int | None = None) -> str:
        """The Rust type of a value: `Option<...>` around the innermost elements of an array
        whose elements may be NULL (a sub-array of a rectangular array is never NULL);
        `PgArray<...>` for any number of dimensions, `Vec<...>` per dimension where they
        are fixed (common.list_depth; `ndims`: what a table's CHECK fixes)."""
        element = pg.element()
        if element.kind in ("enum", "composite"):
            text = self.names[element.key]
        elif element.kind == "builtin" and element.name in NAME_TYPES:
            text = NAME_TYPES[element.name]
        else:
            text = FAMILY_TYPES.get(element.family, "String")
        if pg.dims and element_nullable:
            text = f"Option<{text}>"
        depth = list_depth(pg, self.arrays, ndims)
        if depth is None:
            self.effects.emit(("flag", "uses_pg_array"))
            return f"PgArray<{text}>"
        for _ in range(depth):
            text = f"Vec<{text}>"
        return text

    def field_type(
        self, data_type: str, nullable: bool, optional: bool, element_nullable: bool, ndims: int | None = None
    ) -> str:
        key = (data_type, nullable, optional, element_nullable, ndims)
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

    def spell_type(
        self, data_type: str, nullable: bool, optional: bool, element_nullable: bool, ndims: int | None
    ) -> str:
        text = self.value_type(self.resolver.resolve(data_type), element_nullable, ndims)
        if nullable:
            text = f"Option<{text}>"
        if optional:
            text = f"Option<{text}>"
        return text

    # ------------------------------------------------------------------ structs

    def field_text(self, rust_name: str, column: StructField) -> str:
        """A field's doc comment, attribute and declaration, indented by four, as rustfmt
        lays them out."""
        by_column = self._field_text.get(rust_name)
        if by_column is None:
            by_column = self._field_text[rust_name] = {}
        text = by_column.get(column)
        if text is None:
            if self.fragments is not None:
                text = self.effects.tracked(
                    "field", (rust_name, column), partial(self.spell_field, rust_name, column)
                )
            else:
                text = self.spell_field(rust_name, column)
            by_column[column] = text
        elif self.fragments is not None:
            self.effects.reused("field", (rust_name, column))
        return text

    def spell_field(self, rust_name: str, column: StructField) -> str:
        db_name, data_type, nullable, optional, comment, element_nullable, ndims = column
        arguments = []
        if unraw(rust_name) != db_name:
            arguments.append(f"rename = {rust_string(db_name)}")
        if optional:
            arguments.append('skip_serializing_if = "Option::is_none"')
        attributes = serde_attribute(arguments)
        if nullable and optional:
            # serde reads `null` into an Option<Option<T>> as None, as if left out; this
            # reads it as Some(None), NULL, and a missing field as None (`default`). An
            # attribute of its own, so that rustfmt keeps both on one line.
            attributes += serde_attribute(["default", f'deserialize_with = "{DOUBLE_OPTION}"'])
            self.effects.emit(("flag", "uses_double_option"))
        rust_type = self.field_type(data_type, nullable, optional, element_nullable, ndims)
        lines = [
            *attributes,
            *wrap(f"    pub {rust_name}: {rust_type},", f"    pub {rust_name}:"),
        ]
        text = doc_block(comment_lines(comment), "    ") + "".join(line + "\n" for line in lines)
        return text

    def struct(
        self,
        name: str,
        doc: list[str],
        derive: str,
        columns: Sequence[StructField],
        names: Mapping[str, str] | None = None,
    ) -> RustStruct:
        if names is None:
            names = dict(zip([c[0] for c in columns], field_names([c[0] for c in columns]), strict=True))
        field_text = self.field_text
        body = "".join([field_text(names[c[0]], c) for c in columns])
        return RustStruct(name, doc, derive, body)

    def table_structs(self, table: Table) -> list[RustStruct]:
        name = self.names[(table.schema, table.name)]
        # One name per column for all three structs, so a column is the same field in each.
        column_names = [c.name for c in table.columns]
        fields = dict(zip(column_names, field_names(column_names), strict=True))
        qualified = f"`{table.schema}.{table.name}`"
        row, insert, update = table_field_sets(table, self.resolver)
        return [
            self.struct(
                name,
                [f"A row of the table {qualified}.", *comment_lines(table.comment)],
                DERIVE_STRUCT,
                row,
                names=fields,
            ),
            self.struct(
                name + "Insert",
                [
                    f"A row to insert into {qualified}: `None` fields are left out, so the column's",
                    "default (or NULL) applies; `Some(None)` writes NULL.",
                ],
                DERIVE_STRUCT,
                insert,
                names=fields,
            ),
            self.struct(
                name + "Update",
                [f"The columns an UPDATE of {qualified} sets: `None` fields are left unchanged."],
                DERIVE_UPDATE,
                update,
                names=fields,
            ),
        ]

    def view_struct(self, view: View) -> RustStruct:
        name = self.names[(view.schema, view.name)]
        kind = "materialized view" if view.materialized else "view"
        doc = [f"A row of the {kind} `{view.schema}.{view.name}`.", *comment_lines(view.comment)]
        resolve = self.resolver.resolve
        columns = [
            StructField(
                c.name, c.data_type, not c.not_null, False, c.comment, resolve(c.data_type).element_nullable
            )
            for c in view.columns
        ]
        return self.struct(name, doc, DERIVE_STRUCT, columns)

    def composite_struct(self, composite: CompositeType) -> RustStruct:
        name = self.names[(composite.schema, composite.name)]
        doc = [
            f"The composite type `{composite.schema}.{composite.name}`.",
            *comment_lines(composite.comment),
        ]
        return self.struct(name, doc, DERIVE_STRUCT, composite_fields(composite, self.resolver))

    def enum(self, enum: Enum) -> RustEnum:
        name = self.names[(enum.schema, enum.name)]
        variants = variant_names(enum.labels)
        doc = [f"The enum `{enum.schema}.{enum.name}`.", *comment_lines(enum.comment)]
        return RustEnum(
            name,
            doc,
            [
                (variant, [] if variant == label else serde_attribute([f"rename = {rust_string(label)}"]))
                for variant, label in zip(variants, enum.labels, strict=True)
            ],
        )

    # ------------------------------------------------------------------ functions

    def function_type(self, data_type: str, nullable: bool) -> str:
        """The Rust type of a function's result: a record or a polymorphic type is whatever
        JSON PostgreSQL sends (serde_json::Value, which holds null itself)."""
        pg = self.resolver.resolve(data_type)
        if pg.element().family in ("record", "any"):
            text = "serde_json::Value"
            # A Value holds nested arrays itself: one Vec takes an array of any dimension.
            for _ in range(pg.dims if self.arrays == "declared" else min(pg.dims, 1)):
                text = f"Vec<{text}>"
            return text
        return self.field_type(data_type, nullable, False, pg.element_nullable)

    def functions(self) -> list[RustStruct]:
        """For every callable function: `<Name>Args` with its named arguments (the JSON body
        of a PostgREST rpc call, or `name => value` in SQL; one with a default is an Option
        skipped when None), `<Name>Result` for its TABLE or OUT columns (all Option), and
        `<Name>Returns`, what it returns (a Vec for SETOF; Option where PostgreSQL allows
        NULL: common.result_nullable)."""
        shapes = callable_functions(self.catalog, self.resolver)
        taken = {n + s for n in self.names.values() for s in TYPE_SUFFIXES} | set(RESERVED_TYPE_NAMES)
        items: list[RustStruct] = []
        for planned in plan_function_types(shapes, self.resolver, taken):
            shape = planned.shape
            for _, argument in shape.inputs:  # a polymorphic argument takes any JSON
                pg = self.resolver.resolve(argument.data_type)
                if pg.element().family in ("record", "any"):
                    self.function_type(argument.data_type, False)
                    for optional in (False, True):
                        key = (argument.data_type, False, optional, pg.element_nullable, None)
                        self._types[key] = "Option<serde_json::Value>" if optional else "serde_json::Value"
            self.function_types[shape.signature] = (
                planned.args_name,
                planned.result_name,
                planned.returns_name,
            )
            items.append(
                self.struct(planned.args_name, list(planned.args_doc), DERIVE_STRUCT, list(planned.args))
            )
            if planned.result_columns:
                items.append(
                    self.struct(
                        planned.result_name,
                        [f"A row returned by {planned.signature}."],
                        DERIVE_STRUCT,
                        list(planned.result_columns),
                    )
                )
                element = f"Option<{planned.result_name}>" if planned.nullable else planned.result_name
            elif (shape.return_type or "void") == "void":
                continue
            else:
                element = self.function_type(shape.return_type or "void", planned.nullable)
            returned = f"Vec<{element}>" if shape.returns_set else element
            kind = "The rows" if shape.returns_set else "What"
            items.append(
                RustStruct(planned.returns_name, [f"{kind} {planned.signature} returns."], "", "", returned)
            )
        return items

    # ------------------------------------------------------------------ file

    def relation_structs(self, node: Table | View) -> list[RustStruct]:
        """A table's structs or a view's: from `fragments` when an earlier run rendered
        the same piece, else rendered (and kept there with the flags it set)."""
        if self.fragments is None:
            return self.table_structs(node) if isinstance(node, Table) else [self.view_struct(node)]
        return self.effects.piece(
            self.fragments,
            node,
            partial(self.table_structs, node) if isinstance(node, Table) else lambda: [self.view_struct(node)],
        )

    def render(self) -> str:
        structs = [self.composite_struct(c) for c in self.catalog.composite_types]
        for _, _, node in row_relations(self.catalog):
            structs.extend(self.relation_structs(node))
        enums = [self.enum(e) for e in self.catalog.enums]
        structs.extend(self.functions())
        return render_template(
            "types/rust/types.rs.jinja2",
            enums=enums,
            structs=structs,
            derive_enum=DERIVE_ENUM,
            double_option=DOUBLE_OPTION if self.uses_double_option else None,
            pg_array=self.uses_pg_array,
        )


def render_rust(catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None) -> str:
    return RustRenderer(catalog, options, fragments).render()


def render(
    catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
) -> dict[str, str]:
    """`fragments`: the pieces of an earlier run to reuse, filled with this run's."""
    return {FILE_NAME: render_rust(catalog, options, fragments)}
