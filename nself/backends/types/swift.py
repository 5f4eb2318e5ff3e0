"""Swift types: one `Types.swift` with, for every table, a Row struct, an Insert struct and an
Update struct, for every view a Row struct, for every composite type a struct and for every
enum a `String`-backed enum, all `Codable`, `Hashable` and `Sendable`.

Types are Foundation's: `Int64` for bigint, `Decimal` for numeric, `Date` for dates and
timestamps, `UUID`, `Data` for bytea, `[T]` per array dimension, `T?` for NULL; json/jsonb
are a `JSONValue` enum the file declares when a column needs it (docs/types.md, Swift).

Properties are lowerCamelCase; `CodingKeys` keep the database names on the wire. Keywords
are escaped with backticks (`` `default` ``); the few that cannot name a member (`self`,
`init`, ...) get a trailing underscore. Each struct has a public memberwise initialiser.

Insert and Update properties that may be left out are optionals that the synthesised
encoder skips when nil; for a nullable column that is `T??`, so `.some(nil)` writes NULL."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nself.backends.types.common import (
    NameStyle,
    PgType,
    TypeResolver,
    camel_case,
    comment_lines,
    member_names,
    named_type_objects,
    pascal_case,
    render_template,
    row_relations,
    table_field_sets,
    type_names,
)
from nself.ir.model import Catalog, CompositeType, Enum, Table, View

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


def property_names(db_names: Sequence[str]) -> list[str]:
    """Unique lowerCamelCase property names: 'Display Name' -> displayName, 'default' ->
    `default`, 'self' -> self_, '3d_model' -> _3dModel."""
    return member_names(
        db_names,
        _member_style(camel_case, SYNTHESISED_PROPERTIES),
        keywords=SWIFT_KEYWORDS,
        escape="`{}`",
        separator="",
    )


def case_names(labels: Sequence[str]) -> list[str]:
    """Unique lowerCamelCase enum cases: 'read-only' -> readOnly, 'Guest User' -> guestUser,
    '2fa_pending' -> _2faPending, 'default' -> `default`."""
    return member_names(
        labels,
        _member_style(camel_case, SYNTHESISED_CASES),
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


@dataclass
class SwiftProperty:
    name: str
    type: str
    key: str  # the CodingKeys case: the name, or `name = "db name"`
    optional: bool
    doc: list[str] = field(default_factory=list)

    @property
    def parameter(self) -> str:
        return f"{self.name}: {self.type}" + (" = nil" if self.optional else "")


@dataclass
class SwiftStruct:
    name: str
    doc: list[str]
    properties: list[SwiftProperty]


@dataclass
class SwiftEnum:
    name: str
    qualified: str
    doc: list[str]
    cases: list[tuple[str, str]]  # (case, raw value literal)


class SwiftRenderer:
    def __init__(self, catalog: Catalog, options: Mapping[str, Any]) -> None:
        self.catalog = catalog
        self.resolver = TypeResolver(catalog)
        self.names = type_names(
            named_type_objects(catalog),
            pascal_case,
            reserved=RESERVED_TYPE_NAMES,
            suffixes=TYPE_SUFFIXES,
            digit_prefix="T",
        )
        self.uses_json = False

    # ------------------------------------------------------------------ types

    def value_type(self, pg: PgType) -> str:
        element = pg.element()
        if element.kind in ("enum", "composite"):
            text = self.names[element.key]
        elif element.kind == "builtin" and element.name in NAME_TYPES:
            text = NAME_TYPES[element.name]
        else:
            text = FAMILY_TYPES.get(element.family, "String")
        if text == "JSONValue":
            self.uses_json = True
        for _ in range(pg.dims):
            text = f"[{text}]"
        return text

    def property_type(self, pg: PgType, nullable: bool, optional: bool) -> str:
        text = self.value_type(pg)
        if nullable:
            text += "?"
        if optional:
            text += "?"
        return text

    # ------------------------------------------------------------------ structs

    def struct(
        self,
        name: str,
        doc: list[str],
        columns: Sequence[tuple[str, str, bool, bool, str | None]],
        names: Mapping[str, str] | None = None,
    ) -> SwiftStruct:
        """columns: (db name, data type, nullable, optional, comment)."""
        if names is None:
            names = dict(zip([c[0] for c in columns], property_names([c[0] for c in columns]), strict=True))
        properties = []
        for swift_name, (db_name, data_type, nullable, optional, comment, *_) in (
            (names[c[0]], c) for c in columns
        ):
            key = swift_name if bare(swift_name) == db_name else f"{swift_name} = {swift_string(db_name)}"
            swift_type = self.property_type(self.resolver.resolve(data_type), nullable, optional)
            properties.append(
                SwiftProperty(swift_name, swift_type, key, nullable or optional, comment_lines(comment))
            )
        return SwiftStruct(name, doc, properties)

    def table_structs(self, table: Table) -> list[SwiftStruct]:
        name = self.names[(table.schema, table.name)]
        # One name per column for all three structs, so a column is the same field in each.
        fields = dict(
            zip([c.name for c in table.columns], property_names([c.name for c in table.columns]), strict=True)
        )
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
        return self.struct(
            name, doc, [(c.name, c.data_type, not c.not_null, False, c.comment) for c in view.columns]
        )

    def composite_struct(self, composite: CompositeType) -> SwiftStruct:
        name = self.names[(composite.schema, composite.name)]
        doc = [
            f"The composite type `{composite.schema}.{composite.name}`.",
            *comment_lines(composite.comment),
        ]
        # PostgreSQL enforces no NOT NULL on attributes: only a NOT NULL domain makes one non-null.
        columns = [
            (a.name, a.data_type, not self.resolver.resolve(a.data_type).not_null, False, None)
            for a in composite.attributes
        ]
        return self.struct(name, doc, columns)

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

    # ------------------------------------------------------------------ file

    def render(self) -> str:
        enums = [self.enum(e) for e in self.catalog.enums]
        structs = [self.composite_struct(c) for c in self.catalog.composite_types]
        for _, _, node in row_relations(self.catalog):
            if isinstance(node, Table):
                structs.extend(self.table_structs(node))
            else:
                structs.append(self.view_struct(node))
        return render_template(
            "types/swift/Types.swift.jinja2",
            enums=enums,
            structs=structs,
            conformances=CONFORMANCES,
            uses_json=self.uses_json,
        )


def render_swift(catalog: Catalog, options: Mapping[str, Any]) -> str:
    return SwiftRenderer(catalog, options).render()


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    return {FILE_NAME: render_swift(catalog, options)}
