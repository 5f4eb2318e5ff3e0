"""Go types: one `types.go` in package `models` (option `package`) with, for every table, a
Row struct, an Insert struct and an Update struct, for every view a Row struct, for every
composite type a struct and for every enum a named string type with one constant per label.

Only the standard library is used: nullable columns are pointers (slices, []byte and
json.RawMessage are not wrapped: nil is NULL); bigint is int64; numeric is json.Number (a
string that keeps every digit and is written to JSON as a number); json/jsonb are
json.RawMessage; date and timestamps are time.Time; the other types are strings in
PostgreSQL's text form (docs/types.md, Go).

Every field carries the database name in its `json:"..."` tag; Insert and Update fields that
may be left out are pointers tagged `omitempty`, so nil means "not sent"."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nself.backends.types.common import (
    PgType,
    TypeResolver,
    comment_lines,
    member_names,
    named_type_objects,
    render_template,
    row_relations,
    split_words,
    table_field_sets,
    type_names,
)
from nself.errors import NselfError, OptionError
from nself.ir.model import Catalog, CompositeType, Enum, Table, View

FILE_NAME = "types.go"
DEFAULT_PACKAGE = "models"

# The Go specification's keywords and the predeclared identifiers a package name must not
# shadow (a package clause named `string` compiles but confuses every reader).
GO_KEYWORDS = frozenset(
    [
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
    ]
)
GO_PREDECLARED = frozenset(
    [
        "any",
        "bool",
        "byte",
        "comparable",
        "complex64",
        "complex128",
        "error",
        "float32",
        "float64",
        "int",
        "int8",
        "int16",
        "int32",
        "int64",
        "rune",
        "string",
        "uint",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "uintptr",
        "true",
        "false",
        "iota",
        "nil",
        "append",
        "cap",
        "close",
        "complex",
        "copy",
        "delete",
        "imag",
        "len",
        "make",
        "new",
        "panic",
        "print",
        "println",
        "real",
        "recover",
    ]
)

# Words written in capitals in Go names (Go's own style: UserID, APIURL, not UserId).
INITIALISMS = frozenset(
    [
        "acl",
        "api",
        "ascii",
        "cpu",
        "css",
        "dns",
        "eof",
        "guid",
        "html",
        "http",
        "https",
        "id",
        "ip",
        "json",
        "lhs",
        "qps",
        "ram",
        "rhs",
        "rpc",
        "sla",
        "smtp",
        "sql",
        "ssh",
        "tcp",
        "tls",
        "ttl",
        "udp",
        "ui",
        "uid",
        "uri",
        "url",
        "utf8",
        "uuid",
        "vm",
        "xml",
        "xmpp",
        "xsrf",
        "xss",
    ]
)

# Suffixes of the derived struct names; a type name is chosen so none of them collide.
TYPE_SUFFIXES = ("", "Insert", "Update")

# Family (nself.backends.types.common) -> Go type of one value; `None` entries need an
# import, listed in IMPORTS.
FAMILY_TYPES: dict[str, str] = {
    "int2": "int16",
    "int4": "int32",
    "int8": "int64",
    "float4": "float32",
    "float8": "float64",
    "numeric": "json.Number",
    "money": "string",
    "bool": "bool",
    "text": "string",
    "bytea": "[]byte",
    "json": "json.RawMessage",
    "jsonb": "json.RawMessage",
    "uuid": "string",
    "date": "time.Time",
    "timestamp": "time.Time",
    "timestamptz": "time.Time",
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
    "hstore": "string",
    "record": "string",
    "unknown": "string",
}

# Built-in types whose family is wider or narrower than their Go type: the unsigned
# system types (common.py files oid under int4, which would overflow an int32).
NAME_TYPES: dict[str, str] = {
    "oid": "uint32",
    "xid": "uint32",
    "cid": "uint32",
    "xid8": "uint64",
}

IMPORTS: dict[str, str] = {"json.": "encoding/json", "time.": "time"}

# encoding/json ignores a tag name with other characters (and falls back to the Go name).
_JSON_TAG_PUNCTUATION = set("!#$%&()*+-./:;<=>?@[]^_{|}~ ")


def go_name(name: str) -> str:
    """An exported Go name in Go's style: 'user_id' -> 'UserID', 'read-only' -> 'ReadOnly',
    'Guest User' -> 'GuestUser'. May start with a digit (callers prefix it)."""
    return "".join(
        w.upper() if w.lower() in INITIALISMS else w[:1].upper() + w[1:].lower() for w in split_words(name)
    )


def field_names(db_names: Sequence[str]) -> list[str]:
    """Unique exported field names; a leading digit gets an 'X' ('2nd_line' -> 'X2ndLine':
    an underscore would make the field unexported and invisible to encoding/json)."""
    return member_names(db_names, go_name, digit_prefix="X", empty="Field")


def valid_json_tag(name: str) -> bool:
    """True when encoding/json accepts `name` as a tag name (its isValidTag)."""
    return bool(name) and all(c.isalnum() or c in _JSON_TAG_PUNCTUATION for c in name)


def json_tag(db_name: str, *, omitempty: bool, owner: str, quoted: bool = False) -> str:
    """The struct tag naming the column; `quoted` adds `,string` (a number that JSON carries
    as a string, as PostgreSQL writes oid)."""
    if not valid_json_tag(db_name):
        raise NselfError(
            f"{owner}: the name {db_name!r} cannot be a Go json tag (encoding/json allows no"
            " quotes, backslashes, commas or control characters in one); rename it to generate Go types"
        )
    suffix = (",omitempty" if omitempty else "") + (",string" if quoted else "")
    tag = f'json:"{db_name}{suffix}"'
    return f"`{tag}`" if "`" not in tag else '"' + tag.replace('"', '\\"') + '"'


def check_package(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in GO_KEYWORDS or name in GO_PREDECLARED:
        raise OptionError(
            f"go --package {name!r}: a Go package name is lower-case letters, digits and"
            " underscores, not starting with a digit, and not a Go keyword or predeclared name"
        )
    return name


@dataclass
class GoField:
    name: str
    type: str
    tag: str
    comment: list[str] = field(default_factory=list)


@dataclass
class GoStruct:
    name: str
    doc: list[str]
    fields: list[GoField]

    def body(self) -> list[str]:
        """The struct's lines (without the leading tab) as gofmt lays them out: fields
        aligned in runs that comment lines interrupt."""
        lines: list[str] = []
        run: list[GoField] = []

        def flush() -> None:
            if run:
                name_width = max(len(f.name) for f in run)
                type_width = max(len(f.type) for f in run)
                lines.extend(f"{f.name.ljust(name_width)} {f.type.ljust(type_width)} {f.tag}" for f in run)
                run.clear()

        for f in self.fields:
            if f.comment:
                flush()
                lines.extend(f"// {c}".rstrip() for c in f.comment)
            run.append(f)
        flush()
        return lines


@dataclass
class GoEnum:
    name: str
    doc: list[str]
    constants: list[tuple[str, str]]  # (name, Go string literal)

    def lines(self) -> list[str]:
        width = max((len(n) for n, _ in self.constants), default=0)
        return [f"{n.ljust(width)} {self.name} = {literal}" for n, literal in self.constants]


def go_string(text: str) -> str:
    """A Go interpreted string literal."""
    out = []
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


class GoRenderer:
    def __init__(self, catalog: Catalog, options: Mapping[str, Any]) -> None:
        self.catalog = catalog
        self.package = check_package(str(options.get("package") or DEFAULT_PACKAGE))
        self.resolver = TypeResolver(catalog)
        self.names = type_names(
            named_type_objects(catalog), go_name, suffixes=TYPE_SUFFIXES, digit_prefix="T"
        )
        self.taken = {n + s for n in self.names.values() for s in TYPE_SUFFIXES}

    # ------------------------------------------------------------------ types

    def value_type(self, pg: PgType) -> str:
        """The Go type of a (non-null) value of `pg`, arrays included."""
        element = pg.element()
        if element.kind in ("enum", "composite"):
            base = self.names[element.key]
        elif element.kind == "builtin" and element.name in NAME_TYPES:
            base = NAME_TYPES[element.name]
        else:
            base = FAMILY_TYPES.get(element.family, "string")
        return "[]" * pg.dims + base

    def quoted(self, data_type: str) -> bool:
        """PostgreSQL's JSON writes oid, xid, cid and xid8 as strings ("42"), which encoding/json
        reads into an integer field only with the `,string` option (not inside arrays)."""
        pg = self.resolver.resolve(data_type)
        return pg.kind == "builtin" and pg.name in NAME_TYPES and pg.dims == 0

    @staticmethod
    def nilable(go_type: str) -> bool:
        return go_type.startswith("[]") or go_type == "json.RawMessage"

    def field_type(self, pg: PgType, nullable: bool, optional: bool) -> str:
        """Row fields: pointer when nullable (unless nil already means NULL); Insert/Update
        fields that may be left out: always a pointer, so nil means 'not sent' and an empty
        slice is still sent."""
        go_type = self.value_type(pg)
        if optional or (nullable and not self.nilable(go_type)):
            return "*" + go_type
        return go_type

    # ------------------------------------------------------------------ structs

    def struct(
        self,
        name: str,
        doc: list[str],
        columns: Sequence[tuple[str, str, bool, bool, str | None]],
        owner: str,
        names: Mapping[str, str] | None = None,
    ) -> GoStruct:
        """columns: (db name, data type, nullable, optional, comment)."""
        if names is None:
            names = dict(zip([c[0] for c in columns], field_names([c[0] for c in columns]), strict=True))
        fields = [
            GoField(
                go,
                self.field_type(self.resolver.resolve(data_type), nullable, optional),
                json_tag(db_name, omitempty=optional, owner=owner, quoted=self.quoted(data_type)),
                comment_lines(comment),
            )
            for go, (db_name, data_type, nullable, optional, comment, *_) in ((names[c[0]], c) for c in columns)
        ]
        return GoStruct(name, doc, fields)

    def table_structs(self, table: Table) -> list[GoStruct]:
        name = self.names[(table.schema, table.name)]
        # One name per column for all three structs, so a column is the same field in each.
        fields = dict(
            zip([c.name for c in table.columns], field_names([c.name for c in table.columns]), strict=True)
        )
        owner = f"table {table.schema}.{table.name}"
        qualified = f"{table.schema}.{table.name}"
        row_columns, insert_columns, update_columns = table_field_sets(table, self.resolver)
        row_doc = [f"{name} is a row of the table {qualified}.", *comment_lines(table.comment)]
        return [
            self.struct(name, row_doc, row_columns, owner, names=fields),
            self.struct(
                name + "Insert",
                [
                    f"{name}Insert is a row to insert into {qualified}; nil fields are left out,",
                    "so the column's default (or NULL) applies.",
                ],
                insert_columns,
                owner,
                names=fields,
            ),
            self.struct(
                name + "Update",
                [
                    f"{name}Update holds the columns an UPDATE of {qualified} sets; nil fields are left unchanged."
                ],
                update_columns,
                owner,
                names=fields,
            ),
        ]

    def view_struct(self, view: View) -> GoStruct:
        name = self.names[(view.schema, view.name)]
        kind = "materialized view" if view.materialized else "view"
        doc = [f"{name} is a row of the {kind} {view.schema}.{view.name}.", *comment_lines(view.comment)]
        columns = [(c.name, c.data_type, not c.not_null, False, c.comment) for c in view.columns]
        return self.struct(name, doc, columns, f"{kind} {view.schema}.{view.name}")

    def composite_struct(self, composite: CompositeType) -> GoStruct:
        name = self.names[(composite.schema, composite.name)]
        doc = [f"{name} is the composite type {composite.schema}.{composite.name}."]
        doc += comment_lines(composite.comment)
        # PostgreSQL enforces no NOT NULL on attributes: only a NOT NULL domain makes one non-null.
        columns = [
            (a.name, a.data_type, not self.resolver.resolve(a.data_type).not_null, False, None)
            for a in composite.attributes
        ]
        return self.struct(name, doc, columns, f"type {composite.schema}.{composite.name}")

    def enum(self, enum: Enum) -> GoEnum:
        name = self.names[(enum.schema, enum.name)]
        constants = member_names(
            enum.labels,
            lambda label: name + (go_name(label) or "Value"),
            taken=self.taken - {name},
        )
        self.taken.update(constants)
        doc = [f"{name} is the enum {enum.schema}.{enum.name}.", *comment_lines(enum.comment)]
        return GoEnum(
            name, doc, [(c, go_string(label)) for c, label in zip(constants, enum.labels, strict=True)]
        )

    # ------------------------------------------------------------------ file

    def render(self) -> str:
        enums = [self.enum(e) for e in self.catalog.enums]
        composites = [self.composite_struct(c) for c in self.catalog.composite_types]
        relations: list[GoStruct] = []
        for _, _, node in row_relations(self.catalog):
            if isinstance(node, Table):
                relations.extend(self.table_structs(node))
            else:
                relations.append(self.view_struct(node))
        used_types = " ".join(f.type for s in composites + relations for f in s.fields)
        imports = sorted(
            path for prefix, path in IMPORTS.items() if re.search(rf"\b{re.escape(prefix)}", used_types)
        )
        return render_template(
            "types/go/types.go.jinja2",
            package=self.package,
            imports=imports,
            enums=enums,
            structs=composites + relations,
        )


def render_go(catalog: Catalog, options: Mapping[str, Any]) -> str:
    return GoRenderer(catalog, options).render()


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    return {FILE_NAME: render_go(catalog, options)}
