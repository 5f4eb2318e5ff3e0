"""Go types: one `types.go` in package `models` (option `package`) with, for every table, a
Row struct, an Insert struct and an Update struct, for every view a Row struct, for every
composite type a struct and for every enum a named string type with one constant per label.

Only the standard library is used: nullable columns are pointers (slices, []byte and
json.RawMessage are not wrapped: nil is NULL), and so are array elements that may be NULL
([]*string); bigint is int64; numeric is json.Number (a string that keeps every digit and is
written to JSON as a number); json/jsonb are json.RawMessage; date and timestamps are
time.Time; the other types are strings in PostgreSQL's text form (docs/types.md, Go).

Every field carries the database name in its `json:"..."` tag (a name encoding/json refuses
as a tag, with a quote or a comma, is tagged with those characters turned into underscores,
and a TypesWarning says so). Insert and Update fields that
may be left out are one pointer above the Row field's type, tagged `omitempty`: nil is "left
out", a pointer to nil is NULL (`**string`, `*[]string`), a pointer to a value is the value;
the file's generic helpers Value, NullableValue and Null make them.

Arrays (option `arrays`): by default `PgArray[T]`, a generic struct of the elements and the
dimensions with its own JSON methods, since every array column accepts any number of
dimensions; a slice nested per dimension where a CHECK fixes `array_ndims`, or per declared
dimension with `arrays = "declared"`."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

from nself.backends.types.common import (
    ArrayMode,
    Fragments,
    PgType,
    TypeResolver,
    TypesWarning,
    array_mode,
    callable_functions,
    comment_lines,
    composite_fields,
    function_names,
    list_depth,
    make_identifier,
    member_names,
    named_type_objects,
    pascal_case,
    result_nullable,
    row_relations,
    shared_names,
    split_words,
    table_column_rules,
    type_names,
)
from nself.collector import collector_paused
from nself.errors import OptionError
from nself.ir.model import Catalog, CompositeType, Enum, Table, View
from nself.templating import render_template

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

# The generic functions a file with Insert/Update structs defines (templates/types/go): no
# table, view, enum or composite type takes their names.
HELPERS = ("Value", "NullableValue", "Null")
ARRAY_HELPERS = ("PgArray", "PgArrayOf")

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
# (\w: what str.isalnum accepts, and the underscore.)
_VALID_JSON_TAG = re.compile(r"[\w!#$%&()*+\-./:;<=>?@\[\]^{|}~ ]+")


def go_name(name: str) -> str:
    """An exported Go name in Go's style: 'user_id' -> 'UserID', 'read-only' -> 'ReadOnly',
    'Guest User' -> 'GuestUser'. May start with a digit (callers prefix it)."""
    return "".join(
        w.upper() if w.lower() in INITIALISMS else w[:1].upper() + w[1:].lower() for w in split_words(name)
    )


def field_names(db_names: Sequence[str]) -> list[str]:
    """Unique exported field names; a leading digit gets an 'X' ('2nd_line' -> 'X2ndLine':
    an underscore would make the field unexported and invisible to encoding/json).

    Names that collide in Go's initialism style ('id' and 'ID', 'user_id' and 'userId')
    are told apart by a better name than a number where there is one: the name without
    initialisms ('Id', 'UserId'); then a number without an underscore, as Go names have
    none ('ID2')."""
    names = [_field_identifier(n) for n in db_names]
    if len(set(names)) == len(names):  # nothing collides
        return names
    result: dict[int, str] = {}
    used: set[str] = set()
    # A name nothing else wants keeps it, whatever comes first.
    counts: dict[str, int] = {}
    for name in names:
        counts[name] = counts.get(name, 0) + 1
    used.update(n for n, k in counts.items() if k == 1)

    def spelled_so(index: int) -> bool:
        """The database name already is the Go name but for its first letter ('ID',
        'userID'): that column keeps the Go name ('id' then gets 'Id')."""
        db_name = re.sub(r"[^A-Za-z0-9]", "", db_names[index])
        return db_name[:1].upper() + db_name[1:] == names[index]

    plains = [make_identifier(n, pascal_case, digit_prefix="X", empty="Field") for n in db_names]

    def spelled_plain(index: int) -> bool:
        """The database name is the name without initialisms ('userId' -> 'UserId')."""
        db_name = re.sub(r"[^A-Za-z0-9]", "", db_names[index])
        return db_name[:1].upper() + db_name[1:] == plains[index]

    order = sorted(
        range(len(names)),
        key=lambda i: (counts[names[i]] == 1, not spelled_so(i), not spelled_plain(i), i),
    )
    for index in order:
        name, plain = names[index], plains[index]
        if counts[name] == 1:
            result[index] = name
            continue
        candidates = [plain, name] if spelled_plain(index) else [name, plain]
        chosen = next((c for c in candidates if c not in used), None)
        number = 2
        while chosen is None:
            if f"{name}{number}" not in used:
                chosen = f"{name}{number}"
            number += 1
        used.add(chosen)
        result[index] = chosen
    return [result[i] for i in range(len(names))]


@functools.lru_cache(maxsize=65536)
def _field_identifier(db_name: str) -> str:
    """member_names' identifier for one field name (cached by one argument, which is
    cheaper to look up than make_identifier's keyword arguments)."""
    return make_identifier(db_name, go_name, digit_prefix="X", empty="Field")


def valid_json_tag(name: str) -> bool:
    """True when encoding/json accepts `name` as a tag name (its isValidTag)."""
    return _VALID_JSON_TAG.fullmatch(name) is not None


def tag_name(db_name: str) -> str:
    """`db_name` as a json tag name: itself when encoding/json accepts it, else with every
    character it refuses (quotes, backslashes, commas, control characters) turned into an
    underscore ('a,b' -> 'a_b')."""
    if valid_json_tag(db_name):
        return db_name
    renamed = "".join(c if _VALID_JSON_TAG.fullmatch(c) else "_" for c in db_name)
    return renamed


def tag_warning(db_name: str, owner: str) -> str:
    """What a user is told when `db_name` cannot be a json tag (see tag_name)."""
    renamed = tag_name(db_name)
    return (
        f"{owner}: the name {db_name!r} cannot be a Go json tag (encoding/json allows no quotes,"
        f" backslashes, commas or control characters in one); its field is tagged {renamed!r}"
        f" instead: select the column AS {renamed!r} to decode it"
    )


def json_tag(db_name: str, *, omitempty: bool, owner: str, quoted: bool = False) -> str:
    """The struct tag naming the column; `quoted` adds `,string` (a number that JSON carries
    as a string, as PostgreSQL writes oid). A name encoding/json refuses is renamed
    (tag_name) with a TypesWarning naming `owner`."""
    if not valid_json_tag(db_name):
        warnings.warn(tag_warning(db_name, owner), TypesWarning, stacklevel=2)
        db_name = tag_name(db_name)
    suffix = (",omitempty" if omitempty else "") + (",string" if quoted else "")
    tag = f'json:"{db_name}{suffix}"'
    return f"`{tag}`" if "`" not in tag else '"' + tag.replace('"', '\\"') + '"'


def column_tags(db_name: str, row_quoted: bool, optional_quoted: bool, owner: str) -> tuple[str, str]:
    """A table column's tags in its Row field and in an Insert/Update field that may be left
    out (`json_tag` without and with omitempty), the name checked once."""
    if row_quoted or optional_quoted or "`" in db_name:
        return (
            json_tag(db_name, omitempty=False, owner=owner, quoted=row_quoted),
            json_tag(db_name, omitempty=True, owner=owner, quoted=optional_quoted),
        )
    # An ASCII identifier is a valid tag; the check costs more than the tags for other names.
    if not (db_name.isascii() and db_name.isidentifier()) and not valid_json_tag(db_name):
        return (
            json_tag(db_name, omitempty=False, owner=owner),
            json_tag(db_name, omitempty=True, owner=owner),
        )
    return f'`json:"{db_name}"`', f'`json:"{db_name},omitempty"`'


def check_package(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in GO_KEYWORDS or name in GO_PREDECLARED:
        raise OptionError(
            f"go --package {name!r}: a Go package name is lower-case letters, digits and"
            " underscores, not starting with a digit, and not a Go keyword or predeclared name"
        )
    return name


class GoStruct(NamedTuple):
    """One struct: its name, doc comment lines and fields as parallel lists (the fields'
    Go names, types and json tags), and the comment lines above fields by field index."""

    name: str
    doc: list[str]
    names: list[str]
    types: list[str]
    tags: list[str]
    comments: Mapping[int, list[str]] | None = None

    def body(self) -> str:
        """The struct's body as gofmt lays it out: one line per field behind a tab, fields
        aligned in runs that comment lines interrupt."""
        if not self.names:
            return ""
        if not self.comments:
            return aligned(self.names, self.types, self.tags)
        blocks: list[str] = []
        starts = sorted(i for i in self.comments if i)
        for start, end in zip([0, *starts], [*starts, len(self.names)], strict=True):
            blocks.extend(f"\t// {c}".rstrip() for c in self.comments.get(start, ()))
            blocks.append(aligned(self.names[start:end], self.types[start:end], self.tags[start:end]))
        return "\n".join(blocks)


def aligned(names: list[str], types: list[str], tags: list[str]) -> str:
    """Field lines behind a tab, names and types padded to the widest, as gofmt aligns a run."""
    name_width = max(map(len, names))
    type_width = max(map(len, types))
    return "\n".join(
        [
            f"\t{n.ljust(name_width)} {t.ljust(type_width)} {g}"
            for n, t, g in zip(names, types, tags, strict=True)
        ]
    )


class GoEnum(NamedTuple):
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


def nilable(go_type: str) -> bool:
    """True for Go types whose nil already is NULL (slices, []byte, json.RawMessage)."""
    return go_type.startswith("[]") or go_type == "json.RawMessage"


# (db name, data type, nullable, optional, comment, element_nullable, ndims): the shape of
# common.StructField, which views and composite types follow too.
FieldSpec = tuple[str, str, bool, bool, "str | None", bool, "int | None"]


# A table's or view's piece (Fragments): its structs as the template takes them, the Go
# types of their fields (what the file imports, and PgArray) and the TypesWarnings its
# render gave.
Piece = tuple[list[tuple[str, list[str], str, None]], frozenset[str], tuple[str, ...]]


class GoRenderer:
    def __init__(
        self, catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
    ) -> None:
        self.catalog = catalog
        self.package = check_package(str(options.get("package") or DEFAULT_PACKAGE))
        self.arrays: ArrayMode = array_mode(options, "go")
        self.uses_pg_array = False  # a PgArray[T] was spelled: the file declares it
        self.resolver = TypeResolver(catalog)
        self.fragments = fragments
        self.reused_types: set[str] = set()  # the field types of the pieces reused
        self.names = shared_names(
            fragments,
            lambda: type_names(
                named_type_objects(catalog),
                go_name,
                reserved=HELPERS + ARRAY_HELPERS,
                suffixes=TYPE_SUFFIXES,
                digit_prefix="T",
            ),
        )
        # A schema has few distinct (data type, nullable, optional, element_nullable)
        # combinations: each is spelled once.
        self._spelled: dict[tuple[str, bool, bool, bool, int | None], tuple[str, bool]] = {}
        self._tags: dict[tuple[str, bool, bool], str] = {}
        # (data type, nullable, element_nullable) -> the Row field's type and `quoted`, then
        # those of a field that may be left out.
        self._spelled_columns: dict[tuple[str, bool, bool, int | None], tuple[str, bool, str, bool]] = {}
        # signature ('public.f(integer)') -> names of its Args, Result and Returns types
        self.function_types: dict[str, tuple[str, str, str]] = {}

    @functools.cached_property
    def taken(self) -> set[str]:
        """Names enum constants must not take: every type's (with its derived names) and the
        helpers'; built on first use, as only a schema with enums needs it."""
        return {n + s for n in self.names.values() for s in TYPE_SUFFIXES} | set(HELPERS + ARRAY_HELPERS)

    # ------------------------------------------------------------------ types

    def value_type(self, pg: PgType, element_nullable: bool = False, ndims: int | None = None) -> str:
        """The Go type of a (non-null) value of `pg`, arrays included; elements that may be
        NULL are pointers (unless nil already is NULL: [][]byte, []json.RawMessage). An
        array of any number of dimensions is a PgArray, one of fixed dimensions a slice per
        dimension (common.list_depth; `ndims`: what a table's CHECK fixes)."""
        element = pg.element()
        if element.kind in ("enum", "composite"):
            base = self.names[element.key]
        elif element.kind == "builtin" and element.name in NAME_TYPES:
            base = NAME_TYPES[element.name]
        else:
            base = FAMILY_TYPES.get(element.family, "string")
        if pg.dims and element_nullable and not nilable(base):
            base = "*" + base
        depth = list_depth(pg, self.arrays, ndims)
        if depth is None:
            self.uses_pg_array = True
            return f"PgArray[{base}]"
        return "[]" * depth + base

    def field_type(
        self,
        pg: PgType,
        nullable: bool,
        optional: bool,
        element_nullable: bool = False,
        ndims: int | None = None,
    ) -> str:
        """Row fields: a pointer when nullable (unless nil already means NULL). Insert/Update
        fields that may be left out: one pointer above the Row field's type, tagged
        omitempty, so nil is 'left out', a pointer to nil is NULL (`**string`, `*[]string`)
        and an empty slice is still sent."""
        go_type = self.value_type(pg, element_nullable, ndims)
        if nullable and not nilable(go_type):
            go_type = "*" + go_type
        return "*" + go_type if optional else go_type

    def spell(
        self, data_type: str, nullable: bool, optional: bool, element_nullable: bool, ndims: int | None = None
    ) -> tuple[str, bool]:
        """(Go type, quoted) of a field; quoted: the json tag needs `,string`."""
        key = (data_type, nullable, optional, element_nullable, ndims)
        spelled = self._spelled.get(key)
        if spelled is None:
            pg = self.resolver.resolve(data_type)
            go_type = self.field_type(pg, nullable, optional, element_nullable, ndims)
            # PostgreSQL's JSON writes oid, xid, cid and xid8 as strings ("42"), which
            # encoding/json reads into an integer only with `,string`. Not inside arrays, and
            # not behind two pointers (encoding/json looks through one only): a `**uint32`
            # Insert/Update field is written as a number, which PostgreSQL accepts too.
            quoted = (
                pg.kind == "builtin"
                and pg.name in NAME_TYPES
                and not pg.dims
                and not go_type.startswith("**")
            )
            spelled = self._spelled[key] = (go_type, quoted)
        return spelled

    def spell_column(
        self, data_type: str, nullable: bool, element_nullable: bool, ndims: int | None = None
    ) -> tuple[str, bool, str, bool]:
        """A table column's (Row type, quoted, Insert/Update type, quoted)."""
        spelled = self._spelled_columns[(data_type, nullable, element_nullable, ndims)] = (
            *self.spell(data_type, nullable, False, element_nullable, ndims),
            *self.spell(data_type, nullable, True, element_nullable, ndims),
        )
        return spelled

    def tag(self, db_name: str, omitempty: bool, quoted: bool, owner: str) -> str:
        key = (db_name, omitempty, quoted)
        tag = self._tags.get(key)
        if tag is None:
            tag = json_tag(db_name, omitempty=omitempty, owner=owner, quoted=quoted)
            if valid_json_tag(db_name):  # a renamed one warns for every struct it is in
                self._tags[key] = tag
        return tag

    # ------------------------------------------------------------------ structs

    def struct(
        self,
        name: str,
        doc: list[str],
        specs: Sequence[FieldSpec],
        owner: str,
        names: Mapping[str, str] | None = None,
    ) -> GoStruct:
        """A struct of `specs`; `names`: the Go name of each column (a table's, shared by its
        Row, Insert and Update structs). Called once per struct of the schema, so the loop
        looks up what it can rather than calling helpers per field."""
        if names is None:
            db_names = [s[0] for s in specs]
            names = dict(zip(db_names, field_names(db_names), strict=True))
        spelled, tags = self._spelled, self._tags
        go_names: list[str] = []
        go_types: list[str] = []
        go_tags: list[str] = []
        comments: dict[int, list[str]] = {}
        for i, (db_name, data_type, nullable, optional, comment, elements, ndims) in enumerate(specs):
            go_type, quoted = spelled.get((data_type, nullable, optional, elements, ndims)) or self.spell(
                data_type, nullable, optional, elements, ndims
            )
            tag = tags.get((db_name, optional, quoted)) or self.tag(db_name, optional, quoted, owner)
            if comment:
                comments[i] = comment_lines(comment)
            go_names.append(names[db_name])
            go_types.append(go_type)
            go_tags.append(tag)
        return GoStruct(name, doc, go_names, go_types, go_tags, comments)

    def table_structs(self, table: Table) -> list[GoStruct]:
        """The Row, Insert and Update structs of a table, in one pass over its columns: the
        fields of common.table_field_sets, by its rules, without building its named tuples
        (they cost a fifth of a render of a large schema)."""
        name = self.names[(table.schema, table.name)]
        qualified = f"{table.schema}.{table.name}"
        owner = f"table {qualified}"
        # One name per column for all three structs, so a column is the same field in each.
        go_names = field_names([c.name for c in table.columns])
        row_types: list[str] = []
        row_tags: list[str] = []
        insert_names: list[str] = []
        insert_types: list[str] = []
        insert_tags: list[str] = []
        update_names: list[str] = []
        update_types: list[str] = []
        update_tags: list[str] = []
        comments: dict[int, list[str]] = {}
        spelled = self._spelled_columns
        rules = table_column_rules(table, self.resolver)
        for i, (go, c, r) in enumerate(zip(go_names, table.columns, rules, strict=True)):
            db_name, data_type = c.name, c.data_type
            # A column is spelled once for the three structs: as in the Row and as a field
            # that may be left out.
            row_type, row_quoted, optional_type, optional_quoted = spelled.get(
                (data_type, r.nullable, r.element_nullable, r.ndims)
            ) or self.spell_column(data_type, r.nullable, r.element_nullable, r.ndims)
            row_tag, optional_tag = column_tags(db_name, row_quoted, optional_quoted, owner)
            row_types.append(row_type)
            row_tags.append(row_tag)
            if c.comment:
                comments[i] = comment_lines(c.comment)
            if r.update == "absent":
                continue  # not writable: in neither Insert nor Update
            insert_names.append(go)
            update_names.append(go)
            update_types.append(optional_type)  # every Update field may be left out
            update_tags.append(optional_tag)
            if r.insert == "optional":
                insert_types.append(optional_type)
                insert_tags.append(optional_tag)
            else:
                insert_types.append(row_type)
                insert_tags.append(row_tag)
        return [
            GoStruct(
                name,
                [f"{name} is a row of the table {qualified}.", *comment_lines(table.comment)],
                go_names,
                row_types,
                row_tags,
                comments,
            ),
            GoStruct(
                name + "Insert",
                [
                    f"{name}Insert is a row to insert into {qualified}; nil fields are left out,",
                    "so the column's default (or NULL) applies; for a nullable column, a pointer to nil writes NULL.",
                ],
                insert_names,
                insert_types,
                insert_tags,
            ),
            GoStruct(
                name + "Update",
                [
                    f"{name}Update holds the columns an UPDATE of {qualified} sets; nil fields are left unchanged;",
                    "for a nullable column, a pointer to nil sets NULL.",
                ],
                update_names,
                update_types,
                update_tags,
            ),
        ]

    def view_struct(self, view: View) -> GoStruct:
        name = self.names[(view.schema, view.name)]
        kind = "materialized view" if view.materialized else "view"
        doc = [f"{name} is a row of the {kind} {view.schema}.{view.name}.", *comment_lines(view.comment)]
        resolve = self.resolver.resolve
        specs = [
            (
                c.name,
                c.data_type,
                not c.not_null,
                False,
                c.comment,
                resolve(c.data_type).element_nullable,
                None,
            )
            for c in view.columns
        ]
        return self.struct(name, doc, specs, f"{kind} {view.schema}.{view.name}")

    def composite_struct(self, composite: CompositeType) -> GoStruct:
        name = self.names[(composite.schema, composite.name)]
        doc = [f"{name} is the composite type {composite.schema}.{composite.name}."]
        doc += comment_lines(composite.comment)
        specs = composite_fields(composite, self.resolver)
        return self.struct(name, doc, specs, f"type {composite.schema}.{composite.name}")

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

    # ------------------------------------------------------------------ functions

    def function_value_type(self, data_type: str, nullable: bool) -> str:
        """The Go type of a function's argument or result: a record or a polymorphic type
        (anyelement) is whatever JSON PostgreSQL sends, kept as json.RawMessage."""
        pg = self.resolver.resolve(data_type)
        if pg.element().family in ("record", "any"):
            # Any JSON: one slice of raw values holds an array of any dimension.
            go_type = "[]" * (pg.dims if self.arrays == "declared" else min(pg.dims, 1)) + "json.RawMessage"
            self._spelled[(data_type, nullable, False, False, None)] = (go_type, False)
            return go_type
        return self.spell(data_type, nullable, False, pg.element_nullable)[0]

    def functions(self) -> list[tuple[str, list[str], str, str | None]]:
        """For every callable function: a `<Name>Args` struct of its named arguments (the
        JSON body of a PostgREST rpc call, or `name => value` in SQL; an argument with a
        default is a pointer, omitted when nil), a `<Name>Result` struct for its TABLE or
        OUT columns (all nullable), and the alias `<Name>Returns` of what it returns (a
        slice for SETOF, elements nullable where PostgreSQL allows NULL: common.result_nullable)."""
        shapes = callable_functions(self.catalog, self.resolver)
        taken = self.taken
        bases = function_names(shapes, go_name, taken=taken, separator="")
        # (name, doc, struct body, None) or (name, doc, "", aliased type), by function
        items: list[tuple[str, list[str], str, str | None]] = []
        for index, shape in enumerate(shapes):
            base = make_identifier(bases[index], lambda n: n, digit_prefix="F")
            args_name, result_name, returns_name = member_names(
                [base + "Args", base + "Result", base + "Returns"], lambda n: n, taken=taken, separator=""
            )
            taken.update((args_name, result_name, returns_name))
            self.function_types[shape.signature] = (args_name, result_name, returns_name)
            owner = f"function {shape.schema}.{shape.name}"
            unnamed = len(shape.inputs) - len(shape.named_inputs)
            doc = [f"{args_name} are the named arguments of {shape.signature}."]
            if unnamed:
                doc.append(
                    f"Its {unnamed} unnamed argument(s) go by position, before these (PostgreSQL takes no name for them)."
                )
            specs: list[FieldSpec] = []
            for name, argument in shape.named_inputs:
                pg = self.resolver.resolve(argument.data_type)
                specs.append(
                    (
                        name,
                        argument.data_type,
                        False,
                        argument.default is not None,
                        None,
                        pg.element_nullable,
                        None,
                    )
                )
            args = self.struct(args_name, doc, specs, owner)
            if shape.named_inputs and any(
                self.resolver.resolve(a.data_type).element().family in ("record", "any")
                for _, a in shape.named_inputs
            ):
                args = args._replace(
                    types=[
                        ("*" if a.default is not None else "") + self.function_value_type(a.data_type, False)
                        for _, a in shape.named_inputs
                    ]
                )
            items.append((args.name, args.doc, args.body(), None))
            nullable = result_nullable(shape, self.resolver)
            if shape.return_columns:
                row_specs: list[FieldSpec] = [
                    (n, t, True, False, None, self.resolver.resolve(t).element_nullable, None)
                    for n, t in shape.return_columns
                ]
                result = self.struct(
                    result_name, [f"{result_name} is a row returned by {shape.signature}."], row_specs, owner
                )
                items.append((result.name, result.doc, result.body(), None))
                element = "*" + result_name if nullable else result_name
            elif (shape.return_type or "void") == "void":
                continue
            else:
                element = self.function_value_type(shape.return_type or "void", nullable)
            returned = "[]" + element if shape.returns_set else element
            kind = "the rows" if shape.returns_set else "the value"
            items.append(
                (returns_name, [f"{returns_name} is {kind} {shape.signature} returns."], "", returned)
            )
        return items

    # ------------------------------------------------------------------ file

    def relation_structs(self, node: Table | View) -> list[tuple[str, list[str], str, None]]:
        """A table's structs or a view's, as the template takes them: from `fragments`
        when an earlier run rendered the same piece, else rendered (and kept there)."""
        if self.fragments is None:
            structs = self.table_structs(node) if isinstance(node, Table) else [self.view_struct(node)]
            return [(s.name, s.doc, s.body(), None) for s in structs]
        key = self.fragments.key(node)
        piece = self.fragments.get(key)
        if piece is not None:
            items, types, messages = cast(Piece, piece)
            for message in messages:
                warnings.warn(message, TypesWarning, stacklevel=2)
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TypesWarning)
                structs = self.table_structs(node) if isinstance(node, Table) else [self.view_struct(node)]
            messages = tuple(str(w.message) for w in caught if issubclass(w.category, TypesWarning))
            for warning in caught:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
            items = [(s.name, s.doc, s.body(), None) for s in structs]
            # Every type a field of the piece was spelled with, or one pointer less (a
            # column no insert or update sets): the same imports.
            types = frozenset(t for s in structs for t in s.types)
            self.fragments.put(key, (items, types, messages))
        self.reused_types |= types
        return items

    def render(self) -> str:
        enums = [self.enum(e) for e in self.catalog.enums]
        structs = [(s.name, s.doc, s.body(), None) for s in map(self.composite_struct, self.catalog.composite_types)]
        for _, _, node in row_relations(self.catalog):
            structs.extend(self.relation_structs(node))
        functions = self.functions()
        # Every field's type was spelled through self._spelled, or is one of a piece reused.
        if any("PgArray[" in t for t in self.reused_types):
            self.uses_pg_array = True
        used_types = " ".join(
            {go_type for go_type, _ in self._spelled.values()}
            | self.reused_types
            | {f[3] for f in functions if f[3]}
        )
        imports = sorted(
            {path for prefix, path in IMPORTS.items() if re.search(rf"\b{re.escape(prefix)}", used_types)}
            | ({"encoding/json", "fmt"} if self.uses_pg_array else set())
        )
        return render_template(
            "types/go/types.go.jinja2",
            package=self.package,
            imports=imports,
            enums=enums,
            structs=structs + functions,
            helpers=bool(self.catalog.tables),
            pg_array=self.uses_pg_array,
        )


def render_go(catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None) -> str:
    """types.go for `catalog`, with the cyclic garbage collector paused meanwhile: a render
    of a large schema allocates tens of thousands of lists that reference counting frees,
    and a full collection landing in it would cost nearly as much as the render."""
    with collector_paused():
        return GoRenderer(catalog, options, fragments).render()


def render(
    catalog: Catalog, options: Mapping[str, Any], fragments: Fragments | None = None
) -> dict[str, str]:
    """`fragments`: the pieces of an earlier run to reuse, filled with this run's."""
    return {FILE_NAME: render_go(catalog, options, fragments)}
