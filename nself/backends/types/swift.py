"""Swift types: one `Types.swift` with, for every table, a Row struct, an Insert struct and an
Update struct, for every view a Row struct, for every composite type a struct and for every
enum a `String`-backed enum, all `Codable`, `Hashable` and `Sendable`.

Types are Foundation's: `Int64` for bigint, `Decimal` for numeric, `Date` for dates and
timestamps, `UUID`, `Data` for bytea, `[T]` per array dimension, `T?` for NULL; json/jsonb
are a `JSONValue` enum the file declares when a column needs it (docs/types.md, Swift).

Properties are lowerCamelCase; `CodingKeys` keep the database names on the wire. Keywords
are escaped with backticks (`` `default` ``); the few that cannot name a member (`self`,
`init`, ...) get a trailing underscore. Each struct has a public memberwise initialiser.

An array's elements are `T?` unless PostgreSQL keeps NULL out of them (a NOT NULL element
domain, a CHECK that forbids NULL elements); in a rectangular array only the innermost
elements can be NULL: `integer[][]` -> `[[Int32?]]`.

Insert and Update properties that may be left out are optionals that the synthesised
encoder skips when nil (encodeIfPresent); for a nullable column that is `T??`, so
`.some(nil)` writes NULL: encodeIfPresent hands the inner nil to encode, and Optional's
encode(to:) writes null. The synthesised decoder would read null as nil (decodeIfPresent),
so a struct with a `T??` gets an `init(from:)` that reads it as `.some(nil)`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, NamedTuple

from nself.backends.types.common import (
    ArrayMode,
    Effects,
    Fragments,
    NameStyle,
    PgType,
    StructField,
    Token,
    TypeResolver,
    array_mode,
    callable_functions,
    camel_case,
    comment_lines,
    composite_fields,
    list_depth,
    member_names,
    named_type_objects,
    pascal_case,
    plan_function_types,
    row_relations,
    shared_names,
    table_field_sets,
    type_names,
)
from nself.ir.model import Catalog, CompositeType, Enum, Table, View
from nself.templating import render_template

FILE_NAME = "Types.swift"

# Swift's keywords, reserved and contextual: backticks make any of them an identifier, and
# escaping a contextual one is harmless, so all are escaped.
SWIFT_KEYWORDS = frozenset(
    [
        "associatedtype",
        "class",
        "deinit",
        "enum",
        "extension",
        "fileprivate",
        "func",
        "import",
        "init",
        "inout",
        "internal",
        "let",
        "open",
        "operator",
        "private",
        "precedencegroup",
        "protocol",
        "public",
        "rethrows",
        "static",
        "struct",
        "subscript",
        "typealias",
        "var",
        "break",
        "case",
        "catch",
        "continue",
        "default",
        "defer",
        "do",
        "else",
        "fallthrough",
        "for",
        "guard",
        "if",
        "in",
        "repeat",
        "return",
        "throw",
        "switch",
        "where",
        "while",
        "Any",
        "as",
        "await",
        "false",
        "is",
        "nil",
        "self",
        "Self",
        "super",
        "throws",
        "true",
        "try",
        "_",
        "associativity",
        "convenience",
        "didSet",
        "dynamic",
        "final",
        "get",
        "indirect",
        "infix",
        "lazy",
        "left",
        "mutating",
        "none",
        "nonmutating",
        "optional",
        "override",
        "postfix",
        "precedence",
        "prefix",
        "Protocol",
        "required",
        "right",
        "set",
        "some",
        "Type",
        "unowned",
        "weak",
        "willSet",
        "actor",
        "async",
        "any",
        "borrowing",
        "consuming",
        "copy",
        "discard",
        "each",
        "isolated",
        "macro",
        "nonisolated",
        "package",
    ]
)
# Names that even in backticks would mean something else as a member (`x.self`, `.init`).
NOT_ESCAPABLE = frozenset({"self", "Self", "init", "deinit", "Type", "Protocol", "_"})
# Members the conformances synthesise: a property or case of that name would clash.
SYNTHESISED_PROPERTIES = frozenset({"hashValue"})
SYNTHESISED_CASES = frozenset({"allCases", "rawValue", "hashValue"})

# Type names the generated code refers to, and Foundation's that a table must not shadow.
RESERVED_TYPE_NAMES = frozenset(
    [
        "Any",
        "AnyObject",
        "PgArray",
        "Array",
        "Bool",
        "Character",
        "Codable",
        "CodingKey",
        "CodingKeys",
        "Data",
        "Date",
        "Decimal",
        "Decodable",
        "Decoder",
        "DecodingError",
        "Dictionary",
        "Double",
        "Encodable",
        "Encoder",
        "Equatable",
        "Error",
        "Float",
        "Foundation",
        "Hashable",
        "Int",
        "Int16",
        "Int32",
        "Int64",
        "JSONValue",
        "KeyedDecodingContainer",
        "Never",
        "Optional",
        "Protocol",
        "Self",
        "Sendable",
        "Set",
        "String",
        "Type",
        "UInt32",
        "UInt64",
        "UUID",
        "Void",
    ]
)

TYPE_SUFFIXES = ("", "Insert", "Update")
CONFORMANCES = "Codable, Hashable, Sendable"

# Family (nself.backends.types.common) -> Swift type of one value.
FAMILY_TYPES: dict[str, str] = {
    "int2": "Int16",
    "int4": "Int32",
    "int8": "Int64",
    "float4": "Float",
    "float8": "Double",
    "numeric": "Decimal",
    "money": "String",
    "bool": "Bool",
    "text": "String",
    "bytea": "Data",
    "json": "JSONValue",
    "jsonb": "JSONValue",
    "uuid": "UUID",
    "date": "Date",
    "timestamp": "Date",
    "timestamptz": "Date",
    "time": "String",
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

# The unsigned system types (common.py files oid under int4, which would overflow an Int32).
NAME_TYPES: dict[str, str] = {"oid": "UInt32", "xid": "UInt32", "cid": "UInt32", "xid8": "UInt64"}


def _member_style(style: NameStyle, taken: frozenset[str]) -> NameStyle:
    """`style`, with a trailing underscore on names that cannot be members (`self_`, `init_`,
    and the members Hashable / CaseIterable / RawRepresentable synthesise)."""

    def convert(name: str) -> str:
        converted = style(name)
        return converted + "_" if converted in NOT_ESCAPABLE or converted in taken else converted

    return convert


# Made once, so make_identifier's cache (keyed by the style function) serves every table.
_PROPERTY_STYLE = _member_style(camel_case, SYNTHESISED_PROPERTIES)
_CASE_STYLE = _member_style(camel_case, SYNTHESISED_CASES)


def property_names(db_names: Sequence[str]) -> list[str]:
    """Unique lowerCamelCase property names: 'Display Name' -> displayName, 'default' ->
    `default`, 'self' -> self_, '3d_model' -> _3dModel."""
    return member_names(
        db_names,
        _PROPERTY_STYLE,
        keywords=SWIFT_KEYWORDS,
        escape="`{}`",
        separator="",
    )


def case_names(labels: Sequence[str]) -> list[str]:
    """Unique lowerCamelCase enum cases: 'read-only' -> readOnly, 'Guest User' -> guestUser,
    '2fa_pending' -> _2faPending, 'default' -> `default`."""
    return member_names(
        labels,
        _CASE_STYLE,
        keywords=SWIFT_KEYWORDS,
        escape="`{}`",
        empty="value",
        separator="",
    )


def bare(identifier: str) -> str:
    return identifier.strip("`")


_SWIFT_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f]*')


def swift_string(text: str) -> str:
    """A Swift string literal."""
    if _SWIFT_PLAIN.fullmatch(text):
        return f'"{text}"'
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
        elif char == "\0":
            out.append("\\0")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{{{ord(char):x}}}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


class SwiftStruct(NamedTuple):
    """A struct's parts, each laid out in Python (one piece per property) so the template only
    places blocks: `properties` the declarations with their doc comments, `parameters` the
    memberwise initialiser's parameter list, `assignments` its body, `keys` the CodingKeys
    cases, `decoding` the body of `init(from:)` (empty when the synthesised one is right)."""

    name: str
    doc: list[str]
    properties: str
    parameters: str
    assignments: str
    keys: str
    decoding: str
    alias: str = ""  # `public typealias name = alias` instead of a struct


class SwiftEnum(NamedTuple):
    name: str
    qualified: str
    doc: list[str]
    cases: list[tuple[str, str]]  # (case, raw value literal)


class SwiftProperty(NamedTuple):
    """One property's pieces of text (see SwiftStruct)."""

    declaration: str
    parameter: str
    assignment: str
    key: str
    decoding: str  # its line of `init(from:)`
    leave_out_or_null: bool  # `T??`: may be left out, may be NULL


class SwiftRenderer:
    def __init__(
        self, catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
    ) -> None:
        self.catalog = catalog
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
        self.uses_json = False
        self.uses_decode_nullable = False
        self.arrays: ArrayMode = array_mode(options, "swift")
        self.uses_pg_array = False  # a PgArray<T> was spelled: the file declares it
        # A schema repeats few (property name, column) combinations (id, created_at, ...):
        # each property's text is decided once, keyed by name then column (no key tuple per
        # property).
        self._properties: dict[str, dict[StructField, SwiftProperty]] = {}
        self._types: dict[tuple[str, bool, bool, bool, int | None], str] = {}
        # signature ('public.f(integer)') -> names of its Args, Result and Returns types
        self.function_types: dict[str, tuple[str, str, str]] = {}

    def apply(self, token: Token) -> None:
        setattr(self, token[1], True)

    # ------------------------------------------------------------------ types

    def value_type(self, pg: PgType, element_nullable: bool = False, ndims: int | None = None) -> str:
        """The Swift type of a value: `T?` for the innermost elements of an array whose
        elements may be NULL (a sub-array of a rectangular array is never NULL);
        `PgArray<T>` for any number of dimensions, `[T]` per dimension where they are
        fixed (common.list_depth; `ndims`: what a table's CHECK fixes)."""
        element = pg.element()
        if element.kind in ("enum", "composite"):
            text = self.names[element.key]
        elif element.kind == "builtin" and element.name in NAME_TYPES:
            text = NAME_TYPES[element.name]
        else:
            text = FAMILY_TYPES.get(element.family, "String")
        if text == "JSONValue":
            self.effects.emit(("flag", "uses_json"))
        if pg.dims and element_nullable:
            text += "?"
        depth = list_depth(pg, self.arrays, ndims)
        if depth is None:
            self.effects.emit(("flag", "uses_pg_array"))
            return f"PgArray<{text}>"
        for _ in range(depth):
            text = f"[{text}]"
        return text

    def property_type(
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
            text += "?"
        if optional:
            text += "?"
        return text

    # ------------------------------------------------------------------ structs

    def property(self, swift_name: str, column: StructField) -> SwiftProperty:
        by_column = self._properties.get(swift_name)
        if by_column is None:
            by_column = self._properties[swift_name] = {}
        pieces = by_column.get(column)
        if pieces is None:
            if self.fragments is not None:
                pieces = self.effects.tracked(
                    "property", (swift_name, column), partial(self.spell_property, swift_name, column)
                )
            else:
                pieces = self.spell_property(swift_name, column)
            by_column[column] = pieces
        elif self.fragments is not None:
            self.effects.reused("property", (swift_name, column))
        return pieces

    def spell_property(self, swift_name: str, column: StructField) -> SwiftProperty:
        db_name, data_type, nullable, optional, comment, element_nullable, ndims = column
        swift_type = self.property_type(data_type, nullable, optional, element_nullable, ndims)
        doc = "".join(f"    /// {line}\n" if line else "    ///\n" for line in comment_lines(comment))
        coding_key = (
            swift_name if bare(swift_name) == db_name else f"{swift_name} = {swift_string(db_name)}"
        )
        # What init(from:) reads: the synthesised one reads a `T??` with decodeIfPresent,
        # which takes `null` for an absent key, so NULL would become "left out".
        if nullable and optional:
            read = "decodeNullable("  # T inferred from the property's type
        elif nullable or optional:
            read = f"decodeIfPresent({swift_type[:-1]}.self, "
        else:
            read = f"decode({swift_type}.self, "
        pieces = SwiftProperty(
            f"{doc}    public var {swift_name}: {swift_type}\n",
            f"{swift_name}: {swift_type}" + (" = nil" if nullable or optional else ""),
            f"        self.{swift_name} = {swift_name}\n",
            f"        case {coding_key}\n",
            f"        self.{swift_name} = try container.{read}forKey: .{swift_name})\n",
            nullable and optional,
        )
        return pieces

    def struct(
        self,
        name: str,
        doc: list[str],
        columns: Sequence[StructField],
        names: Mapping[str, str] | None = None,
    ) -> SwiftStruct:
        if names is None:
            names = dict(zip([c[0] for c in columns], property_names([c[0] for c in columns]), strict=True))
        if not columns:
            return SwiftStruct(name, doc, "", "", "", "", "")
        prop = self.property
        declarations, parameters, assignments, keys, decodings, leave_out_or_null = zip(
            *[prop(names[c[0]], c) for c in columns], strict=True
        )
        decoding = ""
        if any(leave_out_or_null):
            self.effects.emit(("flag", "uses_decode_nullable"))
            decoding = "".join(decodings)
        return SwiftStruct(
            name,
            doc,
            "".join(declarations),
            ", ".join(parameters),
            "".join(assignments),
            "".join(keys),
            decoding,
        )

    def table_structs(self, table: Table) -> list[SwiftStruct]:
        name = self.names[(table.schema, table.name)]
        # One name per column for all three structs, so a column is the same field in each.
        column_names = [c.name for c in table.columns]
        fields = dict(zip(column_names, property_names(column_names), strict=True))
        qualified = f"`{table.schema}.{table.name}`"
        row, insert, update = table_field_sets(table, self.resolver)
        return [
            self.struct(
                name, [f"A row of the table {qualified}.", *comment_lines(table.comment)], row, names=fields
            ),
            self.struct(
                name + "Insert",
                [
                    f"A row to insert into {qualified}: nil properties are left out, so the column's",
                    "default (or NULL) applies; `.some(nil)` writes NULL.",
                ],
                insert,
                names=fields,
            ),
            self.struct(
                name + "Update",
                [f"The columns an UPDATE of {qualified} sets: nil properties are left unchanged."],
                update,
                names=fields,
            ),
        ]

    def view_struct(self, view: View) -> SwiftStruct:
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
        return self.struct(name, doc, columns)

    def composite_struct(self, composite: CompositeType) -> SwiftStruct:
        name = self.names[(composite.schema, composite.name)]
        doc = [
            f"The composite type `{composite.schema}.{composite.name}`.",
            *comment_lines(composite.comment),
        ]
        return self.struct(name, doc, composite_fields(composite, self.resolver))

    def enum(self, enum: Enum) -> SwiftEnum:
        name = self.names[(enum.schema, enum.name)]
        cases = case_names(enum.labels)
        doc = [f"The enum `{enum.schema}.{enum.name}`.", *comment_lines(enum.comment)]
        return SwiftEnum(
            name,
            f"{enum.schema}.{enum.name}",
            doc,
            [(case, swift_string(label)) for case, label in zip(cases, enum.labels, strict=True)],
        )

    # ------------------------------------------------------------------ functions

    def function_type(self, data_type: str, nullable: bool) -> str:
        """The Swift type of a function's result: a record or a polymorphic type is whatever
        JSON PostgreSQL sends (JSONValue, which holds null itself)."""
        pg = self.resolver.resolve(data_type)
        if pg.element().family in ("record", "any"):
            self.uses_json = True
            # A JSONValue holds nested arrays itself: one array takes any dimension.
            dims = pg.dims if self.arrays == "declared" else min(pg.dims, 1)
            return "[" * dims + "JSONValue" + "]" * dims
        return self.property_type(data_type, nullable, False, pg.element_nullable)

    def functions(self) -> list[SwiftStruct]:
        """For every callable function: `<Name>Args` with its named arguments (the JSON body
        of a PostgREST rpc call, or `name => value` in SQL; one with a default is an
        optional the encoder skips when nil), `<Name>Result` for its TABLE or OUT columns
        (all optional), and `<Name>Returns`, what it returns (an array for SETOF; optional
        where PostgreSQL allows NULL: common.result_nullable)."""
        shapes = callable_functions(self.catalog, self.resolver)
        taken = {n + s for n in self.names.values() for s in TYPE_SUFFIXES} | set(RESERVED_TYPE_NAMES)
        items: list[SwiftStruct] = []
        for planned in plan_function_types(shapes, self.resolver, taken):
            shape = planned.shape
            for _, argument in shape.inputs:  # a polymorphic argument takes any JSON
                pg = self.resolver.resolve(argument.data_type)
                if pg.element().family in ("record", "any"):
                    self.function_type(argument.data_type, False)
                    for optional in (False, True):
                        key = (argument.data_type, False, optional, pg.element_nullable, None)
                        self._types[key] = "JSONValue?" if optional else "JSONValue"
            self.function_types[shape.signature] = (
                planned.args_name,
                planned.result_name,
                planned.returns_name,
            )
            items.append(self.struct(planned.args_name, list(planned.args_doc), list(planned.args)))
            if planned.result_columns:
                items.append(
                    self.struct(
                        planned.result_name,
                        [f"A row returned by {planned.signature}."],
                        list(planned.result_columns),
                    )
                )
                element = planned.result_name + "?" if planned.nullable else planned.result_name
            elif (shape.return_type or "void") == "void":
                continue
            else:
                element = self.function_type(shape.return_type or "void", planned.nullable)
            returned = f"[{element}]" if shape.returns_set else element
            kind = "The rows" if shape.returns_set else "What"
            items.append(
                SwiftStruct(
                    planned.returns_name,
                    [f"{kind} {planned.signature} returns."],
                    "",
                    "",
                    "",
                    "",
                    "",
                    returned,
                )
            )
        return items

    # ------------------------------------------------------------------ file

    def relation_structs(self, node: Table | View) -> list[SwiftStruct]:
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
        enums = [self.enum(e) for e in self.catalog.enums]
        structs = [self.composite_struct(c) for c in self.catalog.composite_types]
        for _, _, node in row_relations(self.catalog):
            structs.extend(self.relation_structs(node))
        structs.extend(self.functions())
        return render_template(
            "types/swift/Types.swift.jinja2",
            enums=enums,
            structs=structs,
            conformances=CONFORMANCES,
            uses_json=self.uses_json,
            uses_decode_nullable=self.uses_decode_nullable,
            uses_pg_array=self.uses_pg_array,
        )


def render_swift(catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None) -> str:
    return SwiftRenderer(catalog, options, fragments).render()


def render(
    catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
) -> dict[str, str]:
    """`fragments`: the pieces of an earlier run to reuse, filled with this run's."""
    return {FILE_NAME: render_swift(catalog, options, fragments)}
