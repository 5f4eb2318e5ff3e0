"""What every type backend shares: names and the meaning of PostgreSQL types.

Each language module (typescript, go, python, swift, rust, graphql) decides how a type
family or a name is *spelled*; this module decides what a column *is*:

- identifiers: `split_words`, `pascal_case`, `camel_case`, `snake_case`,
  `screaming_snake_case`, `make_identifier` (leading digits, spaces, non-ASCII) and
  `escape_reserved` (a language's keyword set and its escape form);
- collision-free names: `type_names` for types (same-named tables in two schemas,
  reserved names, derived names such as `UsersInsert`) and `member_names` for fields and
  enum members (labels such as 'read-only', 'Guest User', '2fa_pending');
- types: `TypeResolver.resolve` turns a canonical IR data type (`format_type` text) into a
  `PgType`: domains resolved to their base type (and their NOT NULL), array dimensions,
  enums, composite and range types, and a `family` per built-in type;
- Insert/Update rules: `insert_presence`, `update_presence`, `column_nullable`;
- relations: `ForeignKeyGraph` (each table's keys and those pointing at it) and
  `table_relations` (the rows a table reaches, named as PostgREST and Hasura name them);
- functions: `callable_functions` with their inputs and result shape.

The API is shared with the Go, Rust and Swift backends: change it additively only.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypeVar, cast

from nself.errors import OptionError
from nself.ir.model import (
    Catalog,
    CheckConstraint,
    Column,
    CompositeType,
    Domain,
    ForeignKey,
    Function,
    FunctionArgument,
    PrimaryKey,
    Table,
    UniqueConstraint,
    View,
)
from nself.ir.types import array_dims, split_type_name, unquote_identifier


class TypesWarning(UserWarning):
    """Something a backend changed to make the output valid (a name its language refuses
    renamed): `warnings.warn(message, TypesWarning)`; the CLI prints each as a warning line."""


# --------------------------------------------------------------------------- identifiers

_WORD = re.compile(r"[A-Z0-9]+(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z0-9]+")


@functools.lru_cache(maxsize=65536)
def ascii_fold(text: str) -> str:
    """`text` with accents removed and other non-ASCII characters dropped ('café' -> 'cafe')."""
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


@functools.lru_cache(maxsize=65536)
def _split_words(name: str) -> tuple[str, ...]:
    return tuple(_split(name))


def split_words(name: str) -> list[str]:
    """The words of a database name: separators are any non-alphanumeric characters and
    case changes; digits stay with the letters that follow or precede them.

    'read-only' -> [read, only]; 'Guest User' -> [Guest, User]; '2fa_pending' -> [2fa,
    pending]; 'userID' -> [user, ID]; 'HTTPServer' -> [HTTP, Server]."""
    return list(_split_words(name))


def _split(name: str) -> list[str]:
    words: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", ascii_fold(name)):
        words.extend(_WORD.findall(chunk))
    return words


def _cap(word: str) -> str:
    return word[:1].upper() + word[1:].lower()


@functools.lru_cache(maxsize=65536)
def pascal_case(name: str) -> str:
    """'user_accounts' -> 'UserAccounts'; may start with a digit (see make_identifier)."""
    return "".join(_cap(w) for w in _split_words(name))


@functools.lru_cache(maxsize=65536)
def camel_case(name: str) -> str:
    """'user_accounts' -> 'userAccounts'."""
    words = _split_words(name)
    if not words:
        return ""
    return words[0].lower() + "".join(_cap(w) for w in words[1:])


@functools.lru_cache(maxsize=65536)
def snake_case(name: str) -> str:
    """'UserAccounts' -> 'user_accounts'; 'Guest User' -> 'guest_user'."""
    return "_".join(w.lower() for w in _split_words(name))


@functools.lru_cache(maxsize=65536)
def screaming_snake_case(name: str) -> str:
    """'read-only' -> 'READ_ONLY'."""
    return "_".join(w.upper() for w in _split_words(name))


@functools.lru_cache(maxsize=65536)
def keep_case(name: str) -> str:
    """The name itself, with invalid characters turned into underscores ('Guest User' ->
    'Guest_User'): for languages that keep database names as they are (GraphQL)."""
    folded = ascii_fold(name)
    return re.sub(r"[^A-Za-z0-9_]", "_", folded)


NameStyle = Callable[[str], str]


def as_is(name: str) -> str:
    """The name unchanged: the style for names that are already what the language wants
    (use this rather than a lambda, so identifiers made with it are cached)."""
    return name


@functools.lru_cache(maxsize=65536)
def make_identifier(
    name: str,
    style: NameStyle = snake_case,
    *,
    digit_prefix: str = "_",
    empty: str = "value",
) -> str:
    """A valid identifier (ASCII letters, digits, underscores, not starting with a digit)
    from a database name, in `style`. A leading digit gets `digit_prefix`; a name with no
    letters or digits at all ('-', '🙂') becomes `empty`."""
    converted = style(name)
    converted = re.sub(r"[^A-Za-z0-9_]", "_", converted)
    if not converted.strip("_"):
        converted = empty
    if converted[0].isdigit():
        converted = digit_prefix + converted
    return converted


def escape_reserved(name: str, keywords: Collection[str], template: str = "{}_") -> str:
    """`name`, escaped with `template` when it is one of the language's `keywords`
    ('type' -> 'type_' in Python/Go, 'r#type' with template 'r#{}' in Rust, '`type`' with
    template '`{}`' in Swift)."""
    return template.format(name) if name in keywords else name


def member_names(
    db_names: Sequence[str],
    style: NameStyle,
    *,
    keywords: Collection[str] = (),
    escape: str = "{}_",
    digit_prefix: str = "_",
    empty: str = "value",
    taken: Collection[str] = (),
    fold_case: bool = False,
    separator: str = "_",
) -> list[str]:
    """Unique identifiers, one per database name (fields of a type, members of an enum),
    in the same order. Keywords are escaped with `escape`; names already used (after
    conversion, or in `taken`) get a numeric suffix: 'a-b' and 'a b' -> A_B, A_B_2.
    With `fold_case`, names differing only in case count as the same (for enum members in
    a language that folds case, or files). `separator` goes before the number ('' for
    languages whose style forbids underscores in such names: Rust's ReadOnly2)."""
    # A set given as `taken` is read, not copied: a backend's taken names are tens of
    # thousands at 10,000 tables, and each function's three names asked for them.
    outer: Collection[str] = frozenset()
    if fold_case or not isinstance(taken, (set, frozenset)):
        used = {t.lower() if fold_case else t for t in taken}
    else:
        used, outer = set(), taken
    result: list[str] = []
    for db_name in db_names:
        base = make_identifier(db_name, style, digit_prefix=digit_prefix, empty=empty)
        candidate = escape_reserved(base, keywords, escape)
        number = 2
        while (candidate.lower() if fold_case else candidate) in used or candidate in outer:
            candidate = escape_reserved(f"{base}{separator}{number}", keywords, escape)
            number += 1
        used.add(candidate.lower() if fold_case else candidate)
        result.append(candidate)
    return result


def type_names(
    objects: Iterable[tuple[str, str]],
    style: NameStyle = pascal_case,
    *,
    reserved: Collection[str] = (),
    suffixes: Sequence[str] = ("",),
    digit_prefix: str = "T",
    default_schema: str = "public",
) -> dict[tuple[str, str], str]:
    """Collision-free type names for (schema, name) objects (tables, views, enums,
    composite types: they share one namespace per schema in PostgreSQL).

    A name is `style(name)` unless objects in several schemas share it, in which case the
    objects outside `default_schema` are qualified: `style(schema + '_' + name)`
    (public.users -> Users, auth.users -> AuthUsers). A name counts as taken when any of
    `name + suffix` (for every suffix, e.g. ('', 'Insert', 'Update')) is in `reserved` or
    already given; then it is qualified, and then numbered (Users2). Objects are named in
    a fixed order (the default schema first, lower-case names before quoted mixed-case
    ones), so the result does not depend on the order of `objects`."""
    # Order decides who keeps the plain name: the default schema first, then names as
    # PostgreSQL folds unquoted identifiers (users before "Users"), then by name.
    items = sorted(set(objects), key=lambda o: (o[0] != default_schema, o[0], o[1] != o[1].lower(), o[1]))
    plain = {o: make_identifier(o[1], style, digit_prefix=digit_prefix, empty="Type") for o in items}
    schemas_of: dict[str, set[str]] = {}
    for obj, base in plain.items():
        schemas_of.setdefault(base, set()).add(obj[0])
    used = set(reserved)
    result: dict[tuple[str, str], str] = {}

    def free(base: str) -> bool:
        return all(base + s not in used for s in suffixes)

    for obj in items:
        schema = obj[0]
        qualified = make_identifier(f"{schema}_{obj[1]}", style, digit_prefix=digit_prefix, empty="Type")
        shared = len(schemas_of[plain[obj]]) > 1 and schema != default_schema
        candidates = [qualified] if shared else [plain[obj], qualified]
        chosen = next((c for c in candidates if free(c)), None)
        number = 2
        while chosen is None:
            if free(f"{candidates[-1]}{number}"):
                chosen = f"{candidates[-1]}{number}"
            number += 1
        used.update(chosen + s for s in suffixes)
        result[obj] = chosen
    return result


def qualified_db_name(schema: str, name: str) -> str:
    """'public.users' for messages and comments."""
    return f"{schema}.{name}"


def comment_lines(text: str | None) -> list[str]:
    """A database comment as the lines of a doc comment: line endings normalised, trailing
    spaces and trailing empty lines dropped (empty lines inside kept)."""
    if not text:
        return []
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


# --------------------------------------------------------------------------- types

# Built-in type names as format_type prints them (without modifiers) -> family.
# A family is the PostgreSQL short name every language maps from.
BUILTIN_FAMILIES: dict[str, str] = {
    "smallint": "int2",
    "integer": "int4",
    "bigint": "int8",
    "real": "float4",
    "double precision": "float8",
    "numeric": "numeric",
    "money": "money",
    "boolean": "bool",
    "text": "text",
    "character varying": "text",
    "character": "text",
    '"char"': "text",
    "name": "text",
    "bytea": "bytea",
    "json": "json",
    "jsonb": "jsonb",
    "jsonpath": "text",
    "uuid": "uuid",
    "date": "date",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "interval": "interval",
    "inet": "inet",
    "cidr": "cidr",
    "macaddr": "macaddr",
    "macaddr8": "macaddr",
    "bit": "bit",
    "bit varying": "bit",
    "tsvector": "tsvector",
    "tsquery": "tsquery",
    "xml": "xml",
    "point": "geometric",
    "line": "geometric",
    "lseg": "geometric",
    "box": "geometric",
    "path": "geometric",
    "polygon": "geometric",
    "circle": "geometric",
    "oid": "int4",  # unsigned 32-bit, fits a JS number and an int64
    "xid": "int4",
    "cid": "int4",
    "xid8": "int8",
    "regclass": "text",
    "regtype": "text",
    "regproc": "text",
    "regprocedure": "text",
    "regoper": "text",
    "regoperator": "text",
    "regconfig": "text",
    "regdictionary": "text",
    "regnamespace": "text",
    "regrole": "text",
    "regcollation": "text",
    "pg_lsn": "text",
    "pg_snapshot": "text",
    "txid_snapshot": "text",
    "int4range": "range",
    "int8range": "range",
    "numrange": "range",
    "tsrange": "range",
    "tstzrange": "range",
    "daterange": "range",
    "int4multirange": "multirange",
    "int8multirange": "multirange",
    "nummultirange": "multirange",
    "tsmultirange": "multirange",
    "tstzmultirange": "multirange",
    "datemultirange": "multirange",
    "void": "void",
    "record": "record",
    "trigger": "pseudo",
    "event_trigger": "pseudo",
    "internal": "pseudo",
    "cstring": "pseudo",
    "language_handler": "pseudo",
    "fdw_handler": "pseudo",
    "index_am_handler": "pseudo",
    "table_am_handler": "pseudo",
    "tsm_handler": "pseudo",
    "anyelement": "any",
    "anyarray": "any",
    "anynonarray": "any",
    "anyenum": "any",
    "anyrange": "any",
    "anymultirange": "any",
    "anycompatible": "any",
    "anycompatiblearray": "any",
    "anycompatiblenonarray": "any",
    "anycompatiblerange": "any",
    "anycompatiblemultirange": "any",
    "unknown": "any",
}

# Subtype family of the built-in range and multirange types.
RANGE_SUBTYPES: dict[str, str] = {
    "int4range": "integer",
    "int8range": "bigint",
    "numrange": "numeric",
    "tsrange": "timestamp without time zone",
    "tstzrange": "timestamp with time zone",
    "daterange": "date",
    "int4multirange": "integer",
    "int8multirange": "bigint",
    "nummultirange": "numeric",
    "tsmultirange": "timestamp without time zone",
    "tstzmultirange": "timestamp with time zone",
    "datemultirange": "date",
}

# Types of common extensions: extension objects are not in the IR, so a column of type
# public.citext names a type the catalog does not define. Keyed by unqualified name.
EXTENSION_FAMILIES: dict[str, str] = {
    "citext": "text",
    "ltree": "text",
    "lquery": "text",
    "ltxtquery": "text",
    "hstore": "hstore",
}

TypeKind = Literal["builtin", "enum", "composite", "range", "unknown"]


@dataclass(frozen=True, slots=True)
class PgType:
    """What a data type is, after resolving domains.

    - kind builtin: `name` is format_type's name without modifiers ('character varying',
      'timestamp with time zone'); `family` is its short family ('text', 'timestamptz');
    - kind enum / composite (also a table's or view's row type) / range (user-defined):
      `schema` and `name` of the type in the catalog, `family` equal to the kind;
    - kind unknown: a type the catalog does not define (from an extension): `schema`,
      `name`, and `family` from EXTENSION_FAMILIES or 'unknown'.
    `dims` counts array dimensions (0: not an array). `not_null` is True when a domain on
    the way is NOT NULL; `domain` is the outermost domain as (schema, name).
    `element_not_null` (arrays only) is True when PostgreSQL keeps NULL out of the elements:
    an array of a NOT NULL domain, or a domain over an array whose CHECK forbids NULL
    elements (`null_free_array_subjects`). Otherwise any array may hold NULL elements.
    `subtype` is the element type of a range or multirange. `pinned_dims` is the number
    of dimensions a domain over an array fixes with `CHECK (array_ndims(VALUE) = N)`
    (`pinned_array_dims`); None otherwise, as PostgreSQL enforces no declared dimension."""

    kind: TypeKind
    name: str
    family: str
    schema: str | None = None
    dims: int = 0
    not_null: bool = False
    domain: tuple[str, str] | None = None
    domain_default: str | None = None
    subtype: PgType | None = None
    modifiers: str | None = None  # '(255)', '(10,2)', ...
    element_not_null: bool = False
    pinned_dims: int | None = None  # a domain over an array whose CHECK fixes array_ndims(VALUE)

    @property
    def element_nullable(self) -> bool:
        """True for an array whose elements may be NULL (False for a non-array)."""
        return self.dims > 0 and not self.element_not_null

    @property
    def key(self) -> tuple[str, str]:
        """(schema, name) of a user type, for `type_names` lookups."""
        return (self.schema or "", self.name)

    def element(self) -> PgType:
        """This type without its array dimensions."""
        if not self.dims:
            return self
        return PgType(
            self.kind, self.name, self.family, self.schema, 0, False, None, None, self.subtype, self.modifiers
        )


_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'


class TypeResolver:
    """Resolves canonical data types against one catalog (cached per type text)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._domains: dict[tuple[str, str], Domain] = {(d.schema, d.name): d for d in catalog.domains}
        self._enums = {(e.schema, e.name) for e in catalog.enums}
        self._composites = {(c.schema, c.name) for c in catalog.composite_types}
        self._composites.update((t.schema, t.name) for t in catalog.tables)
        self._composites.update((v.schema, v.name) for v in catalog.views)
        self._ranges = {(r.schema, r.name): r.subtype for r in catalog.range_types}
        self._cache: dict[str, PgType] = {}

    def resolve(self, data_type: str) -> PgType:
        cached = self._cache.get(data_type)
        if cached is None:
            cached = self._resolve(data_type, frozenset())
            self._cache[data_type] = cached
        return cached

    def _resolve(self, data_type: str, seen: frozenset[tuple[str, str]]) -> PgType:
        dims = array_dims(data_type)
        schema, name, modifiers = split_type_name(data_type)
        if schema is None:
            family = BUILTIN_FAMILIES.get(name, "unknown")
            subtype = None
            if name in RANGE_SUBTYPES:
                subtype = self._resolve(RANGE_SUBTYPES[name], seen)
            kind: TypeKind = "builtin" if name in BUILTIN_FAMILIES else "unknown"
            return PgType(kind, name, family, None, dims, modifiers=modifiers, subtype=subtype)
        key = (schema, name)
        domain = self._domains.get(key)
        if domain is not None and key not in seen:
            base = self._resolve(domain.data_type, seen | {key})
            pinned: int | None = None
            if dims == 0:  # the domain's value: an array when its base is one
                element_not_null = base.element_not_null or "VALUE" in null_free_array_subjects(domain.checks)
                if base.dims:
                    pinned = pinned_array_dims(domain.checks).get("VALUE", base.pinned_dims)
            else:  # an array of the domain: PostgreSQL checks its NOT NULL on every element
                element_not_null = base.dims == 0 and (domain.not_null or base.not_null)
            return PgType(
                base.kind,
                base.name,
                base.family,
                base.schema,
                base.dims + dims,
                # A domain's NOT NULL binds the value itself, not the elements of an
                # array of that domain.
                (domain.not_null or base.not_null) if dims == 0 else False,
                key,
                (domain.default or base.domain_default) if dims == 0 else None,
                base.subtype,
                base.modifiers,
                element_not_null,
                pinned,
            )
        if key in self._enums:
            return PgType("enum", name, "enum", schema, dims)
        if key in self._composites:
            return PgType("composite", name, "composite", schema, dims)
        if key in self._ranges:
            subtype = self._resolve(self._ranges[key], seen)
            return PgType("range", name, "range", schema, dims, subtype=subtype)
        return PgType("unknown", name, EXTENSION_FAMILIES.get(name, "unknown"), schema, dims)


# A CHECK conjunct that keeps NULL out of an array's elements, as pg_get_expr prints it:
# `array_position(tags, NULL::text) IS NULL` (array_position also refuses arrays of more
# than one dimension) and `cardinality(array_remove(tags, NULL::text)) = cardinality(tags)`.
_NULL_CAST = r"NULL(?:::[^,()]+(?:\([0-9, ]*\))?(?:\[\])*)?"
_NULL_FREE_CONJUNCTS = (
    re.compile(rf"\(array_position\(({_IDENT}), {_NULL_CAST}\) IS NULL\)"),
    re.compile(rf"\(cardinality\(array_remove\(({_IDENT}), {_NULL_CAST}\)\) = cardinality\(\1\)\)"),
)


def _conjuncts(expression: str) -> list[str]:
    """The operands of a top-level AND in a deparsed expression (the expression itself when
    it is not one): `((a > 0) AND (b < 1))` -> ['(a > 0)', '(b < 1)']."""
    if not (expression.startswith("(") and expression.endswith(")")):
        return [expression]
    inner = expression[1:-1]
    parts: list[str] = []
    depth, start, quoted, i = 0, 0, "", 0
    while i < len(inner):
        char = inner[i]
        if quoted:
            if char == quoted:
                quoted = ""
        elif char in "'\"":
            quoted = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:  # the outer parentheses do not enclose the whole expression
                return [expression]
        elif depth == 0 and inner.startswith(" AND ", i):
            parts.append(inner[start:i])
            start = i + 5
            i += 4
        i += 1
    if not parts:
        return [expression]
    parts.append(inner[start:])
    return [p for part in parts for p in _conjuncts(part)]


# A CHECK conjunct that fixes an array's number of dimensions: `array_ndims(m) = 2` (either
# side). An empty array has no dimension (array_ndims NULL), so the CHECK lets it through,
# and `[]` fits a list of any nesting.
_NDIMS_CONJUNCTS = (
    re.compile(rf"\(array_ndims\(({_IDENT})\) = ([0-9]+)\)"),
    re.compile(rf"\(([0-9]+) = array_ndims\(({_IDENT})\)\)"),
)


def pinned_array_dims(checks: Iterable[CheckConstraint]) -> dict[str, int]:
    """The columns (or `VALUE`, in a domain's checks) whose number of dimensions a validated
    CHECK fixes with a conjunct `array_ndims(col) = N`, read as `null_free_array_subjects`
    reads its conjuncts: {column: N}."""
    pinned: dict[str, int] = {}
    for check in checks:
        if not check.validated or "array_ndims" not in check.expression:
            continue
        for conjunct in _conjuncts(check.expression):
            match = _NDIMS_CONJUNCTS[0].fullmatch(conjunct)
            if match is not None:
                subject, dims = match.group(1), match.group(2)
            else:
                match = _NDIMS_CONJUNCTS[1].fullmatch(conjunct)
                if match is None:
                    continue
                dims, subject = match.group(1), match.group(2)
            if int(dims) > 0:
                pinned[unquote_identifier(subject)] = int(dims)
    return pinned


ArrayMode = Literal["any", "declared"]
ARRAY_MODES: tuple[ArrayMode, ...] = ("any", "declared")


def array_mode(options: Mapping[str, Any], language: str) -> ArrayMode:
    """The `arrays` option of one output: "any" (default: every value PostgreSQL accepts)
    or "declared" (the declared dimensions); a bad value is one OptionError naming it."""
    value = options.get("arrays") or "any"
    if value not in ARRAY_MODES:
        raise OptionError(f"{language} option arrays = {value!r}: one of {', '.join(ARRAY_MODES)}")
    return "declared" if value == "declared" else "any"


def list_depth(pg: PgType, arrays: ArrayMode, pinned: int | None = None) -> int | None:
    """How many list levels the type of a value of `pg` nests: 0 for a non-array; N where
    the dimensions are fixed (`pinned` by a table's CHECK, `pg.pinned_dims` by a domain's,
    or the declared ones with `arrays = "declared"`); None for any number of dimensions and
    the empty array (the language's recursive array type), since PostgreSQL enforces no
    declared dimension. An array of json or jsonb is one list: its element type already
    holds nested JSON arrays, and row_to_json cannot tell a dimension from a JSON array."""
    if not pg.dims:
        return 0
    fixed = pinned or pg.pinned_dims
    if fixed:
        return fixed
    if arrays == "declared":
        return pg.dims
    if pg.family in ("json", "jsonb"):
        return 1
    return None


def null_free_array_subjects(checks: Iterable[CheckConstraint]) -> frozenset[str]:
    """The columns (or `VALUE`, in a domain's checks) whose arrays a validated CHECK keeps
    free of NULL elements. NOT VALID checks promise nothing about existing rows."""
    subjects: set[str] = set()
    for check in checks:
        if not check.validated or "NULL" not in check.expression:
            continue
        for conjunct in _conjuncts(check.expression):
            for pattern in _NULL_FREE_CONJUNCTS:
                match = pattern.fullmatch(conjunct)
                if match is not None:
                    subjects.add(unquote_identifier(match.group(1)))
    return frozenset(subjects)


# --------------------------------------------------------------------------- insert / update

Presence = Literal["required", "optional", "absent"]


def column_nullable(column: Column, resolver: TypeResolver) -> bool:
    """True when the column may hold NULL: no NOT NULL on it nor on its domain."""
    return not (column.not_null or resolver.resolve(column.data_type).not_null)


def writable(column: Column) -> bool:
    """False for columns no INSERT or UPDATE may set: generated columns and GENERATED
    ALWAYS identity columns (those need OVERRIDING SYSTEM VALUE)."""
    if column.generated is not None:
        return False
    return not (column.identity is not None and column.identity.generation == "ALWAYS")


def insert_presence(column: Column, resolver: TypeResolver) -> Presence:
    """How a column appears in an Insert type: absent when not writable; optional when it
    has a default (its own or its domain's, serial's nextval included), is an identity BY
    DEFAULT, or may be NULL; required otherwise."""
    if not writable(column):
        return "absent"
    if column.default is not None or column.identity is not None:
        return "optional"
    resolved = resolver.resolve(column.data_type)
    if resolved.domain_default is not None:
        return "optional"
    if column_nullable(column, resolver):
        return "optional"
    return "required"


class StructField(NamedTuple):
    """One field of a Row, Insert or Update type, before a language spells it."""

    column: str
    data_type: str
    nullable: bool
    optional: bool  # may be left out (Insert: has a default; Update: always)
    comment: str | None
    element_nullable: bool = False  # an array whose elements may be NULL
    ndims: int | None = None  # the dimensions a table's CHECK fixes (pinned_array_dims)


class ColumnRules(NamedTuple):
    """What the Row/Insert/Update rules decide for one column of a table. Few distinct
    values exist, so a backend can spell a column once per (name, data type, comment,
    rules) and reuse the text from table to table (most tables share `id`, `created_at`)."""

    nullable: bool  # column_nullable
    element_nullable: bool  # an array whose elements may be NULL
    insert: Presence  # insert_presence
    update: Presence  # update_presence
    ndims: int | None = None  # the dimensions a table's CHECK fixes (pinned_array_dims)


def table_column_rules(table: Table, resolver: TypeResolver) -> list[ColumnRules]:
    """The rules' decisions for each column of `table`, in column order: column_nullable,
    insert_presence and update_presence (inlined: one resolve per column; test_common
    holds them equal), and whether the table's CHECKs and the type leave NULL in array
    elements."""
    null_free: frozenset[str] | None = None
    pins: dict[str, int] = {}
    resolve = resolver.resolve
    rules: list[ColumnRules] = []
    for c in table.columns:
        pg = resolve(c.data_type)
        nullable = not (c.not_null or pg.not_null)
        elements = pg.dims > 0 and not pg.element_not_null
        if pg.dims:
            if null_free is None:
                checks = [k for k in table.constraints if isinstance(k, CheckConstraint)]
                null_free = null_free_array_subjects(checks)
                pins = pinned_array_dims(checks)
            elements = elements and c.name not in null_free
        insert: Presence
        update: Presence
        if c.generated is not None or (c.identity is not None and c.identity.generation == "ALWAYS"):
            insert = update = "absent"
        else:
            update = "optional"
            optional = (
                nullable or c.default is not None or c.identity is not None or pg.domain_default is not None
            )
            insert = "optional" if optional else "required"
        pinned = pins.get(c.name) if pg.dims else None
        if pinned is None:
            rules.append(_RULES[nullable, elements, insert, update])
        else:
            rules.append(ColumnRules(nullable, elements, insert, update, pinned))
    return rules


# Every ColumnRules value, made once: table_column_rules hands out these instances.
_RULES = {
    (n, e, i, u): ColumnRules(n, e, i, u)
    for n in (False, True)
    for e in (False, True)
    for i in ("required", "optional", "absent")
    for u in ("optional", "absent")
}


def composite_fields(composite: CompositeType, resolver: TypeResolver) -> list[StructField]:
    """The fields of a composite type. PostgreSQL enforces no NOT NULL on attributes: only
    a NOT NULL domain makes one non-null."""
    fields: list[StructField] = []
    for a in composite.attributes:
        pg = resolver.resolve(a.data_type)
        fields.append(StructField(a.name, a.data_type, not pg.not_null, False, None, pg.element_nullable))
    return fields


def table_field_sets(
    table: Table, resolver: TypeResolver
) -> tuple[list[StructField], list[StructField], list[StructField]]:
    """The Row, Insert and Update fields of a table, by `table_column_rules`; each language
    backend only decides how to write them."""
    row: list[StructField] = []
    insert: list[StructField] = []
    update: list[StructField] = []
    for c, rules in zip(table.columns, table_column_rules(table, resolver), strict=True):
        nullable, elements, pinned = rules.nullable, rules.element_nullable, rules.ndims
        row.append(StructField(c.name, c.data_type, nullable, False, c.comment, elements, pinned))
        if rules.insert != "absent":
            insert.append(
                StructField(c.name, c.data_type, nullable, rules.insert == "optional", None, elements, pinned)
            )
        if rules.update != "absent":
            update.append(StructField(c.name, c.data_type, nullable, True, None, elements, pinned))
    return row, insert, update


def update_presence(column: Column) -> Presence:
    """How a column appears in an Update type: every writable column, optional."""
    return "optional" if writable(column) else "absent"


def is_serial(column: Column) -> bool:
    return column.default is not None and column.default.startswith("nextval(")


def view_column_nullable(not_null: bool) -> bool:
    return not not_null


# --------------------------------------------------------------------------- relations

TableKey = tuple[str, str]


class ForeignKeyGraph:
    """Each table's foreign keys (`outgoing`) and those pointing at it (`incoming`), with
    whether the key's columns are unique in their table (one-to-one: a primary key, a
    unique constraint or a unique index without predicate on exactly those columns):
    decided once per key, so relations stay linear in the size of the schema."""

    __slots__ = ("incoming", "outgoing")

    def __init__(self, catalog: Catalog) -> None:
        self.outgoing: dict[TableKey, list[tuple[ForeignKey, bool]]] = {}
        self.incoming: dict[TableKey, list[tuple[Table, ForeignKey, bool]]] = {}
        unique_sets: dict[TableKey, set[frozenset[str]]] = {}
        for table in catalog.tables:
            unique_sets[(table.schema, table.name)] = {
                frozenset(c.columns)
                for c in table.constraints
                if isinstance(c, (PrimaryKey, UniqueConstraint))
            }
        for index in catalog.indexes:
            if index.unique and index.predicate is None and all(k.column for k in index.keys):
                unique_sets.setdefault((index.schema, index.table), set()).add(
                    frozenset(k.column for k in index.keys if k.column)
                )
        for table in catalog.tables:
            key = (table.schema, table.name)
            unique = unique_sets[key]
            outgoing = self.outgoing[key] = []
            for fk in table.foreign_keys:
                one_to_one = frozenset(fk.columns) in unique
                outgoing.append((fk, one_to_one))
                self.incoming.setdefault((fk.ref_schema, fk.ref_table), []).append((table, fk, one_to_one))


_GRAPHS: dict[int, tuple[weakref.ref[Catalog], ForeignKeyGraph]] = {}


def foreign_key_graph(catalog: Catalog) -> ForeignKeyGraph:
    """The ForeignKeyGraph of `catalog`, built once per catalog object: the digests of
    Fragments and the renders read the same one (forked renders inherit it)."""
    known = _GRAPHS.get(id(catalog))
    if known is not None and known[0]() is catalog:
        return known[1]
    graph = ForeignKeyGraph(catalog)
    for key in [k for k, (ref, _) in _GRAPHS.items() if ref() is None]:
        del _GRAPHS[key]
    _GRAPHS[id(catalog)] = (weakref.ref(catalog), graph)
    return graph


@dataclass(frozen=True, slots=True)
class Relation:
    """A row (or rows) a table reaches through one foreign key.

    `name` is the database's spelling of the name PostgREST embeds it by: the other
    table's name, or the key's name when one table is reached through two keys or a column
    (or an earlier relation) takes the name. `many`: the rows of a key pointing here that
    is not unique in its table (an array relationship); otherwise one row, `nullable` when
    it may be absent (a key column of this table may be NULL, or a key pointing here)."""

    name: str
    target: TableKey
    fk: ForeignKey
    outgoing: bool
    many: bool
    nullable: bool


def table_relations(
    table: Table,
    graph: ForeignKeyGraph,
    nullable: Mapping[str, bool],
    keep: Callable[[TableKey], bool],
) -> list[Relation]:
    """The relations of `table` to the tables `keep` accepts: its own keys first (to one
    row each), then the keys pointing at it; `nullable` tells which of its columns may be
    NULL (their names are taken). A relation whose names are both taken is left out."""
    wanted: list[tuple[str, Relation]] = []
    outgoing = [
        (fk, o)
        for fk, o in graph.outgoing.get((table.schema, table.name), [])
        if keep((fk.ref_schema, fk.ref_table))
    ]
    targets = [(fk.ref_schema, fk.ref_table) for fk, _ in outgoing]
    for (fk, _), key in zip(outgoing, targets, strict=True):
        may_be_null = any(nullable.get(column, True) for column in fk.columns)
        name = fk.ref_table if targets.count(key) == 1 else fk.name
        wanted.append((name, Relation(name, key, fk, True, False, may_be_null)))
    incoming = [
        i for i in graph.incoming.get((table.schema, table.name), []) if keep((i[0].schema, i[0].name))
    ]
    sources = [(o.schema, o.name) for o, _, _ in incoming]
    for (other, fk, one_to_one), key in zip(incoming, sources, strict=True):
        name = other.name if sources.count(key) == 1 else fk.name
        wanted.append((name, Relation(name, key, fk, False, not one_to_one, one_to_one)))
    result: list[Relation] = []
    taken = set(nullable)
    for name, relation in wanted:
        for candidate in (name, relation.fk.name):
            if candidate not in taken:
                taken.add(candidate)
                result.append(
                    relation
                    if candidate == relation.name
                    else Relation(
                        candidate,
                        relation.target,
                        relation.fk,
                        relation.outgoing,
                        relation.many,
                        relation.nullable,
                    )
                )
                break
    return result


def row_relations(catalog: Catalog) -> list[tuple[str, str, Table | View]]:
    """Every table and view as (schema, name, node), in catalog order (sorted)."""
    rows: list[tuple[str, str, Table | View]] = [(t.schema, t.name, t) for t in catalog.tables]
    rows.extend((v.schema, v.name, v) for v in catalog.views)
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


def named_type_objects(catalog: Catalog) -> list[tuple[str, str]]:
    """(schema, name) of every object that becomes a named type: tables, views, enums,
    composite types (domains resolve to their base type, so they are not named)."""
    objects = [(t.schema, t.name) for t in catalog.tables]
    objects += [(v.schema, v.name) for v in catalog.views]
    objects += [(e.schema, e.name) for e in catalog.enums]
    objects += [(c.schema, c.name) for c in catalog.composite_types]
    return sorted(objects)


# --------------------------------------------------------------------------- functions

_NOT_CALLABLE_FAMILIES = {"pseudo"}


@dataclass(frozen=True, slots=True)
class FunctionShape:
    """A function as a client calls it.

    `inputs` are (name, argument) with unnamed arguments called arg1, arg2...; an input
    with a default is optional. The result is either one `return_type` (a data type, may
    be 'void' or 'record') or `return_columns` (TABLE(...) or OUT/INOUT columns), and
    `returns_set` tells whether it returns rows (SETOF / TABLE)."""

    function: Function
    inputs: tuple[tuple[str, FunctionArgument], ...]
    returns_set: bool
    return_type: str | None
    return_columns: tuple[tuple[str, str], ...] = field(default=())

    @property
    def schema(self) -> str:
        return self.function.schema

    @property
    def named_inputs(self) -> tuple[tuple[str, FunctionArgument], ...]:
        """The inputs a call may pass by name (`query => 'x'`): PostgreSQL refuses a name for
        an unnamed argument (`arg1 => ...`), which goes by position, before the named ones.
        The named-argument types of every language hold these only."""
        return tuple((n, a) for n, a in self.inputs if a.name)

    @property
    def signature(self) -> str:
        """'public.search_users(query text, max_rows integer)' for doc comments."""
        return f"{self.schema}.{self.name}({self.function.identity_arguments})"

    @property
    def name(self) -> str:
        return self.function.name


def result_nullable(shape: FunctionShape, resolver: TypeResolver) -> bool:
    """Whether a function's result, or each row of a SETOF, may be NULL, as PostgreSQL
    allows: a scalar or composite result (`SETOF integer` may yield NULL rows; a `SETOF
    users` one a NULL row), unless its type is a NOT NULL domain; a non-SETOF record of
    OUT columns may be NULL too (no row). Rows of TABLE(...) or of OUT columns of a SETOF
    function never are NULL as a whole (their columns may be: they are always nullable)."""
    if shape.return_columns:
        return not shape.returns_set
    return not resolver.resolve(shape.return_type or "void").not_null


def function_shape(function: Function) -> FunctionShape:
    inputs: list[tuple[str, FunctionArgument]] = []
    outputs: list[tuple[str, str]] = []
    table_columns: list[tuple[str, str]] = []
    for position, argument in enumerate(function.arguments, start=1):
        name = argument.name or f"arg{position}"
        if argument.mode in ("IN", "INOUT", "VARIADIC"):
            inputs.append((name, argument))
        if argument.mode in ("OUT", "INOUT"):
            outputs.append((argument.name or f"column{position}", argument.data_type))
        if argument.mode == "TABLE":
            table_columns.append((argument.name or f"column{position}", argument.data_type))
    returns = (function.returns or "void").strip()
    returns_set = returns.startswith("SETOF ") or returns.startswith("TABLE(")
    if table_columns:
        return FunctionShape(function, tuple(inputs), True, None, tuple(table_columns))
    if returns.startswith("TABLE("):
        return FunctionShape(function, tuple(inputs), True, None, _parse_table_result(returns))
    if len(outputs) > 1:
        return FunctionShape(function, tuple(inputs), returns_set, None, tuple(outputs))
    if len(outputs) == 1:
        return FunctionShape(function, tuple(inputs), returns_set, outputs[0][1])
    if returns.startswith("SETOF "):
        returns = returns[len("SETOF ") :].strip()
    return FunctionShape(function, tuple(inputs), returns_set, returns)


def _parse_table_result(text: str) -> tuple[tuple[str, str], ...]:
    """Columns of 'TABLE(film_id integer, "Title" text, price numeric(4,2))'."""
    inner = text[len("TABLE(") : -1]
    parts: list[str] = []
    depth = 0
    quoted = False
    current = ""
    for char in inner:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            parts.append(current.strip())
            current = ""
            continue
        current += char
    if current.strip():
        parts.append(current.strip())
    columns: list[tuple[str, str]] = []
    for part in parts:
        match = re.match(rf"^({_IDENT})\s+(.+)$", part)
        if match:
            columns.append((unquote_identifier(match.group(1)), match.group(2).strip()))
    return tuple(columns)


def callable_functions(catalog: Catalog, resolver: TypeResolver | None = None) -> list[FunctionShape]:
    """Functions a client can call (as PostgREST/Hasura expose them): plain functions,
    not procedures, aggregates or window functions, and none that takes or returns a
    pseudo type (trigger, internal, cstring, handlers). Sorted by (schema, name, args)."""
    resolver = resolver or TypeResolver(catalog)
    shapes: list[FunctionShape] = []
    for function in catalog.functions:
        # internal: range constructors and the like, which PostgreSQL makes itself.
        if function.kind != "function" or function.language == "internal":
            continue
        shape = function_shape(function)
        types = [a.data_type for _, a in shape.inputs]
        types += [t for _, t in shape.return_columns]
        if shape.return_type is not None:
            types.append(shape.return_type)
        if any(resolver.resolve(t).family in _NOT_CALLABLE_FAMILIES for t in types):
            continue
        shapes.append(shape)
    return shapes


def function_names(
    shapes: Sequence[FunctionShape],
    style: NameStyle,
    *,
    keywords: Collection[str] = (),
    escape: str = "{}_",
    default_schema: str = "public",
    taken: Collection[str] = (),
    separator: str = "_",
) -> dict[int, str]:
    """Unique identifiers for functions (by index into `shapes`): overloads and functions
    of other schemas are told apart (`search_films`, `search_films_2`,
    `auth_uid`)."""
    db_names = [s.name if s.schema == default_schema else f"{s.schema}_{s.name}" for s in shapes]
    names = member_names(db_names, style, keywords=keywords, escape=escape, taken=taken, separator=separator)
    return dict(enumerate(names))


def lookup(mapping: Mapping[str, str], family: str, default: str) -> str:
    """`mapping[family]`, or `default` for a family the language does not map."""
    return mapping.get(family, default)


@dataclass(frozen=True)
class FunctionTypes:
    """The three type names a language gives one callable function, and what goes in them
    (the same for Rust and Swift: each only spells the fields and the containers)."""

    shape: FunctionShape
    args_name: str
    result_name: str
    returns_name: str
    args_doc: tuple[str, ...]
    args: tuple[StructField, ...]  # the named arguments; one with a default is optional
    result_columns: tuple[StructField, ...]  # TABLE or OUT columns, all nullable
    nullable: bool  # an element of the result may be NULL (result_nullable)

    @property
    def signature(self) -> str:
        return f"`{self.shape.signature}`"


def plan_function_types(
    shapes: Sequence[FunctionShape], resolver: TypeResolver, taken: set[str]
) -> list[FunctionTypes]:
    """`<Name>Args`, `<Name>Result` and `<Name>Returns` for each of `shapes`, PascalCase, none
    of them in `taken` (which gains them)."""
    bases = function_names(shapes, pascal_case, taken=taken, separator="")
    planned: list[FunctionTypes] = []
    for index, shape in enumerate(shapes):
        base = make_identifier(bases[index], as_is, digit_prefix="F")
        args_name, result_name, returns_name = member_names(
            [base + "Args", base + "Result", base + "Returns"], as_is, taken=taken, separator=""
        )
        taken.update((args_name, result_name, returns_name))
        doc = [f"The named arguments of `{shape.signature}`."]
        unnamed = len(shape.inputs) - len(shape.named_inputs)
        if unnamed:
            doc.append(f"Its {unnamed} unnamed argument(s) go by position, before these.")
        args = tuple(
            StructField(
                name,
                argument.data_type,
                False,
                argument.default is not None,
                None,
                resolver.resolve(argument.data_type).element_nullable,
            )
            for name, argument in shape.named_inputs
        )
        columns = tuple(
            StructField(n, t, True, False, None, resolver.resolve(t).element_nullable)
            for n, t in shape.return_columns
        )
        planned.append(
            FunctionTypes(
                shape,
                args_name,
                result_name,
                returns_name,
                tuple(doc),
                args,
                columns,
                result_nullable(shape, resolver),
            )
        )
    return planned


# --------------------------------------------------------------------------- fragments


class Fragments:
    """The rendered pieces of one output kept from an earlier run, so that a run after an
    edit renders only the tables and views the edit touched (`nself types` keeps them in
    the project's cache; the backends only read and fill this object).

    A piece is keyed by `key(node)`: a digest of the table or view itself, of the foreign
    keys that join it to other tables (both ways, with whether each is one-to-one) and of
    what every piece may read from the whole catalog: the named types (tables, views,
    enums, composite types), the enums, domains, composite and range types, which tables
    are partitions. A backend
    stores under that key whatever it needs to lay the piece out again as a cold render
    would, including what the piece adds to the output's shared parts (scalars, imports);
    an edit that adds, drops or renames a named type, or changes an enum, a domain or a
    composite type, changes every key (everything is rendered again). `known`: the pieces
    of the earlier run; `kept`: those this run used or made, what is stored for the
    next."""

    __slots__ = ("_digests", "kept", "known")

    def __init__(
        self, digests: Mapping[tuple[str, str, str], bytes], known: Mapping[bytes, object] | None = None
    ) -> None:
        self._digests = digests
        self.known: Mapping[bytes, object] = known or {}
        self.kept: dict[bytes, object] = {}

    def key(self, node: Table | View) -> bytes:
        kind = "table" if isinstance(node, Table) else "view"
        return self._digests[(kind, node.schema, node.name)]

    def shared_key(self, label: str) -> bytes:
        """The key of a value that depends only on what every piece reads (the type names
        a backend gives the catalog's named types)."""
        return self._digests[("", "", "")] + label.encode()

    def get(self, key: bytes) -> object | None:
        value = self.known.get(key)
        if value is not None:
            self.kept[key] = value
        return value

    def put(self, key: bytes, value: object) -> None:
        self.kept[key] = value


def shared_names(
    fragments: Fragments | None, make: Callable[[], dict[tuple[str, str], str]]
) -> dict[tuple[str, str], str]:
    """The names a backend gives the catalog's named types: `make()`'s, or the earlier run's
    when the pieces hold them (they depend only on what every piece reads)."""
    if fragments is None:
        return make()
    key = fragments.shared_key("names")
    known = fragments.get(key)
    names = cast(dict[tuple[str, str], str], known) if known is not None else make()
    fragments.put(key, names)
    return names


def object_digests(catalog: Catalog) -> dict[tuple[str, str, str], bytes]:
    """Per table and view ('table'/'view', schema, name): the key of its pieces in
    `Fragments` (computed once per catalog, for every language: `digests`); under ('', '',
    ''), the digest of what every piece reads."""
    import hashlib

    shared = hashlib.blake2b(
        repr(
            (
                named_type_objects(catalog),
                catalog.enums,
                catalog.domains,
                catalog.composite_types,
                catalog.range_types,
                [(t.schema, t.name) for t in catalog.tables if t.partition_of is not None],
            )
        ).encode("utf-8", "surrogatepass"),
        digest_size=16,
    ).digest()
    graph = foreign_key_graph(catalog)
    digests: dict[tuple[str, str, str], bytes] = {("", "", ""): shared}
    for table in catalog.tables:
        key = (table.schema, table.name)
        joins = (
            [one for _, one in graph.outgoing.get(key, ())],
            [((o.schema, o.name), fk, one) for o, fk, one in graph.incoming.get(key, ())],
        )
        text = repr((table, joins)).encode("utf-8", "surrogatepass")
        digests[("table", *key)] = hashlib.blake2b(text, digest_size=16, key=shared).digest()
    for view in catalog.views:
        text = repr(view).encode("utf-8", "surrogatepass")
        digests[("view", view.schema, view.name)] = hashlib.blake2b(text, digest_size=16, key=shared).digest()
    return digests


Token = tuple[str, Any]
Value = TypeVar("Value")


class Effects:
    """What the pieces of a render add to its shared parts (a scalar declared, an import, a
    helper type), as tokens, so that a piece reused from `Fragments` adds them again.

    `apply(token)` does what a token says; `emit` applies it and records it in the piece
    being recorded (`recording`). A render memoises work shared by many pieces (a type
    spelled once): with `tracking`, a memo's new entry is computed through `tracked`,
    which keeps the tokens it gave, and a reuse of the entry calls `reused`, which records
    them again: a piece records what it needs even where the memo spared it the work."""

    __slots__ = ("_sinks", "_tokens", "apply", "tracking")

    def __init__(self, apply: Callable[[Token], None], tracking: bool) -> None:
        self.apply = apply
        self.tracking = tracking
        self._sinks: list[set[Token]] = []
        self._tokens: dict[tuple[str, object], frozenset[Token]] = {}

    def emit(self, token: Token) -> None:
        self.apply(token)
        if self._sinks:
            self._sinks[-1].add(token)

    def tracked(self, memo: str, key: object, compute: Callable[[], Value]) -> Value:
        """compute(), for a memo's new entry (only with `tracking`)."""
        self._sinks.append(set())
        try:
            value = compute()
        finally:
            tokens = self._tokens[(memo, key)] = frozenset(self._sinks.pop())
        if self._sinks:
            self._sinks[-1].update(tokens)
        return value

    def reused(self, memo: str, key: object) -> None:
        if self._sinks:
            self._sinks[-1].update(self._tokens.get((memo, key), ()))

    def recording(self, compute: Callable[[], Value]) -> tuple[Value, frozenset[Token]]:
        """compute()'s value and the tokens it gave (a piece's)."""
        self._sinks.append(set())
        try:
            value = compute()
        finally:
            tokens = frozenset(self._sinks.pop())
        return value, tokens

    def replay(self, tokens: Iterable[Token]) -> None:
        for token in tokens:
            self.emit(token)

    def piece(self, fragments: Fragments, node: Table | View, compute: Callable[[], Value]) -> Value:
        """`node`'s rendered piece: the earlier run's, with the tokens it gave replayed, or
        compute()'s, kept in `fragments` with the tokens it gave."""
        key = fragments.key(node)
        known = fragments.get(key)
        if known is not None:
            value, tokens = cast(tuple[Value, frozenset[Token]], known)
            self.replay(tokens)
            return value
        value, tokens = self.recording(compute)
        fragments.put(key, (value, tokens))
        return value
