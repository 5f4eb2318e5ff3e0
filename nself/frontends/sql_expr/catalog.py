"""PostgreSQL 15's built-in catalog (a snapshot shipped as package data) plus the user types
a migration has defined so far, behind one lookup interface.

Types are named by a key: a built-in type's `typname` (`int4`, `_int4`, `varchar`) or a user
type's `schema.name`, with `[]` appended for a user type's array. A `Ty` pairs a key with a
typmod encoded the way PostgreSQL encodes it (`varchar(255)` is 259), so format_type's
output can be reproduced exactly."""

from __future__ import annotations

import json
import weakref
from functools import lru_cache
from typing import Any

from nself.ir.builder import CatalogBuilder
from nself.ir.model import CompositeType, Domain, Enum, Extension, RangeType, Table, View
from nself.ir.names import quote_ident
from nself.ir.record import record

UNKNOWN = "unknown"


@record
class Ty:
    key: str
    typmod: int = -1

    def plain(self) -> Ty:
        return self if self.typmod == -1 else Ty(self.key)


@record
class TypeInfo:
    key: str
    format: str  # format_type(oid, NULL)
    kind: str  # b base, c composite, d domain, e enum, p pseudo, r range, m multirange
    category: str
    preferred: bool
    elem: str | None  # element type of an array type
    array: str | None  # array type of this type
    base: Ty | None  # base type of a domain
    builtin: bool


@record
class Cast:
    context: str  # i implicit, a assignment, e explicit
    method: str  # f function, b binary, i I/O
    function: str


@record
class Operator:
    name: str
    left: str | None
    right: str
    result: str
    function: str
    schema: str = "pg_catalog"
    user: bool = False  # made by CREATE OPERATOR (an IR Operator): pg_depend records its uses


@record
class Func:
    name: str
    args: tuple[str, ...]
    result: str
    variadic: str | None
    retset: bool
    kind: str  # f function, a aggregate, w window, p procedure
    ndefaults: int
    schema: str = "pg_catalog"
    arg_names: tuple[str | None, ...] = ()
    # (name, type key) of the columns of a function with OUT or TABLE parameters
    out_columns: tuple[tuple[str, str], ...] = ()


class Snapshot:
    def __init__(self, data: dict[str, Any]) -> None:
        self.types: dict[str, TypeInfo] = {}
        for key, t in data["types"].items():
            self.types[key] = TypeInfo(
                key=key,
                format=t["format"],
                kind=t["kind"],
                category=t["category"],
                preferred=t["preferred"],
                elem=t["elem"],
                array=t["array"],
                base=Ty(t["base"]) if t["base"] else None,
                builtin=True,
            )
        self.casts: dict[tuple[str, str], Cast] = {
            (s, d): Cast(c, m, f) for s, d, c, m, f in data["casts"]
        }
        self.operators: dict[str, list[Operator]] = {}
        for name, left, right, result, func, _oid, _hash in data["operators"]:
            if right is None:  # postfix operators no longer exist
                continue
            self.operators.setdefault(name, []).append(Operator(name, left, right, result, func))
        self.functions: dict[str, list[Func]] = {}
        for name, args, result, variadic, retset, kind, ndefaults, _oid, outs in data["functions"]:
            out_columns = tuple(tuple(o.rsplit("|", 1)) for o in outs or ())
            self.functions.setdefault(name, []).append(
                Func(name, tuple(args), result, variadic or None, retset, kind, ndefaults, out_columns=out_columns)  # type: ignore[arg-type]
            )
        # format_type name -> key, for reading canonical type text back
        self.by_format: dict[str, str] = {}
        for key, info in self.types.items():
            self.by_format.setdefault(info.format, key)


@lru_cache(maxsize=1)
def _snapshot_data() -> dict[str, Any]:
    from nself.platforms import DATA  # the package's data folder, without importlib.resources

    text = (DATA / "pg15_catalog.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def snapshot() -> Snapshot:
    return Snapshot(_snapshot_data())


@record(frozen=False, slots=False)
class ExtensionObjects:
    """The member objects of the contrib extensions a schema has created, placed in the
    schema each extension was created in."""

    types: dict[str, TypeInfo]
    functions: dict[str, list[Func]]
    operators: dict[str, list[Operator]]
    casts: dict[tuple[str, str], Cast]


@lru_cache(maxsize=64)
def extension_objects(installed: tuple[tuple[str, str], ...]) -> ExtensionObjects:
    known = _snapshot_data().get("extensions", {})
    objects = ExtensionObjects({}, {}, {}, {})
    type_schema: dict[str, str] = {}
    for name, schema in installed:
        for typname in known.get(name, {}).get("types", {}):
            type_schema.setdefault(typname, schema)
    for name, schema in installed:
        ext = known.get(name)
        if ext is None:
            continue

        def key(ref: str | None, schema: str = schema) -> str | None:
            if ref is None or not ref.startswith("@/"):
                return ref
            typname = ref[2:]
            if typname.startswith("_") and typname[1:] in type_schema:
                return f"{type_schema[typname[1:]]}.{typname}"
            return f"{type_schema.get(typname, schema)}.{typname}"

        for typname, t in ext["types"].items():
            k = f"{schema}.{typname}"
            fmt = f"{quote_ident(schema)}.{quote_ident(typname)}"
            array = key(t["array"])
            objects.types[k] = TypeInfo(k, fmt, t["kind"], t["category"], t["preferred"], key(t["elem"]), array, None, False)
            if array is not None:
                objects.types[array] = TypeInfo(array, fmt + "[]", "b", "A", False, k, None, None, False)
        for fname, args, result, variadic, retset, kind, ndefaults in ext["functions"]:
            objects.functions.setdefault(fname, []).append(
                Func(fname, tuple(key(a) or a for a in args), key(result) or result, key(variadic) or None, retset, kind, ndefaults, schema)
            )
        for oname, left, right, result, func in ext["operators"]:
            objects.operators.setdefault(oname, []).append(
                Operator(oname, key(left), key(right) or right, key(result) or result, func, schema)
            )
        for src, dst, context, method, func in ext["casts"]:
            objects.casts[(key(src) or src, key(dst) or dst)] = Cast(context, method, func)
    return objects


# Type names the grammar accepts that are not pg_type names (gram.y's SystemTypeName).
TYPE_ALIASES = {
    "int": "int4",
    "integer": "int4",
    "smallint": "int2",
    "bigint": "int8",
    "real": "float4",
    "float": "float8",
    "double precision": "float8",
    "decimal": "numeric",
    "dec": "numeric",
    "boolean": "bool",
    "character varying": "varchar",
    "character": "bpchar",
    "char": "bpchar",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time with time zone": "timetz",
    "time without time zone": "time",
    "bit varying": "varbit",
}


def installed_extensions(builder: CatalogBuilder) -> tuple[tuple[str, str], ...]:
    """(name, schema) of the extensions the builder holds, sorted."""
    return tuple(sorted((e.name, e.schema) for e in builder.all(Extension)))


def type_catalog(builder: CatalogBuilder) -> TypeCatalog:
    """The TypeCatalog of `builder`, made once and shared by every expression analysed
    against it: a TypeCatalog reads user types from its builder as it is asked, so only a
    change in the builder's extensions (which it reads once) calls for a new one."""
    changes = builder.changes(Extension)
    found = _TYPE_CATALOGS.get(builder)
    if found is None or found[0] != changes:
        found = (changes, TypeCatalog(builder))
        _TYPE_CATALOGS[builder] = found
    return found[1]


# Where a user type can come from, in the order _read_user_type looks.
_USER_TYPE_SOURCES: tuple[type, ...] = (Enum, Domain, CompositeType, Table, View, RangeType)


class TypeCatalog:
    """Built-in types from the snapshot, user types from the builder."""

    def __init__(self, builder: CatalogBuilder) -> None:
        self.snap = snapshot()
        # weak: type_catalog keeps a TypeCatalog for as long as its builder lives, in a
        # WeakKeyDictionary whose entry would never go if its value held the key
        self._builder = weakref.ref(builder)
        installed = installed_extensions(builder)
        self.ext = extension_objects(installed)
        self.installed = installed
        # canonical texts of simple expressions analysed against this builder, kept by
        # sql_expr (its _memo_key says what they depend on)
        self.memo: dict[tuple[Any, ...], Any] = {}
        # (schema, name) -> (TypeInfo or None, the collections it was read from, their change counts)
        self._user_types: dict[tuple[str, str], tuple[TypeInfo | None, tuple[type, ...], tuple[int, ...]]] = {}
        # operator resolutions over enums and domains, by sql_expr.analyze (see enum_stamp)
        self.operators: dict[tuple[Any, ...], Any] = {}

    @property
    def builder(self) -> CatalogBuilder:
        builder = self._builder()
        if builder is None:
            raise ReferenceError("the CatalogBuilder of this TypeCatalog is gone")
        return builder

    def info(self, key: str) -> TypeInfo | None:
        found = self.snap.types.get(key) or self.ext.types.get(key)
        if found is not None:
            return found
        if key.endswith("[]"):
            elem = self.info(key[:-2])
            if elem is None:
                return None
            return TypeInfo(key, elem.format + "[]", "b", "A", False, key[:-2], None, None, False)
        schema, _, name = key.partition(".")
        if not name:
            return None
        return self._user_type(schema, name)

    def _user_type(self, schema: str, name: str) -> TypeInfo | None:
        """The user type `schema.name`, kept until the builder's objects it was read from
        change. Resolving one operator over an enum asks for it thousands of times (each
        candidate's coercion), and a schema's every CREATE TABLE changes the tables: an enum
        or a domain is looked up before any table, so it depends only on the enums (and the
        domains), and stays cached while tables come and go."""
        b = self.builder
        cached = self._user_types.get((schema, name))
        if cached is not None:
            kept, read_from, counts = cached
            if all(b.changes(source) == count for source, count in zip(read_from, counts, strict=True)):
                return kept
        found = self._read_user_type(schema, name)
        if found is not None and found.kind == "e":
            sources: tuple[type, ...] = (Enum,)
        elif found is not None and found.kind == "d" and found.base is not None and self.is_builtin(found.base.key):
            sources = (Enum, Domain)
        else:
            sources = _USER_TYPE_SOURCES
        self._user_types[(schema, name)] = (found, sources, tuple(b.changes(source) for source in sources))
        return found

    def enum_stamp(self, *keys: str | None) -> tuple[int, int] | None:
        """When every one of `keys` is built in, an enum, or a domain over a built-in type:
        the change counts of the builder's enums and domains, which what is derived from these
        types (an operator's resolution) depends on and nothing else. None otherwise."""
        for key in keys:
            if self.is_builtin(key):
                continue
            info = self.info(key)  # type: ignore[arg-type]
            if info is None or not (
                info.kind == "e" or (info.kind == "d" and info.base is not None and self.is_builtin(info.base.key))
            ):
                return None
        b = self.builder
        return (b.changes(Enum), b.changes(Domain))

    def _read_user_type(self, schema: str, name: str) -> TypeInfo | None:
        key = f"{schema}.{name}"
        fmt = f"{quote_ident(schema)}.{quote_ident(name)}"
        b = self.builder
        if b.get(Enum, schema, name) is not None:
            return TypeInfo(key, fmt, "e", "E", False, None, key + "[]", None, False)
        domain = b.get(Domain, schema, name)
        if domain is not None:
            base = self.parse_format(domain.data_type)
            base_info = self.info(base.key)
            category = base_info.category if base_info else "U"
            return TypeInfo(key, fmt, "d", category, False, None, key + "[]", base, False)
        if b.get(CompositeType, schema, name) is not None or b.get(Table, schema, name) is not None:
            return TypeInfo(key, fmt, "c", "C", False, None, key + "[]", None, False)
        if b.get(View, schema, name) is not None:
            return TypeInfo(key, fmt, "c", "C", False, None, key + "[]", None, False)
        if b.get(RangeType, schema, name) is not None:
            return TypeInfo(key, fmt, "r", "R", False, None, key + "[]", None, False)
        return None

    def user_exists(self, schema: str, name: str) -> bool:
        return f"{schema}.{name}" in self.ext.types or self._user_type(schema, name) is not None

    def cast(self, source: str, target: str) -> Cast | None:
        return self.snap.casts.get((source, target)) or self.ext.casts.get((source, target))

    def array_of(self, key: str) -> str:
        info = self.info(key)
        if info is not None and info.array:
            return info.array
        if key in self.snap.types:
            return key  # no array type: leave alone
        return key + "[]"

    def elem_of(self, key: str) -> str | None:
        info = self.info(key)
        return info.elem if info is not None else None

    def base_of(self, ty: Ty) -> Ty:
        """getBaseTypeAndTypmod: the type under any domains."""
        seen = 0
        while seen < 20:
            info = self.info(ty.key)
            if info is None or info.kind != "d" or info.base is None:
                return ty
            ty = info.base
            seen += 1
        return ty

    def category(self, key: str) -> str:
        info = self.info(key)
        return info.category if info else "U"

    def preferred(self, key: str) -> bool:
        info = self.info(key)
        return bool(info and info.preferred)

    def is_array(self, key: str) -> bool:
        return self.elem_of(key) is not None

    # ------------------------------------------------------------------ format_type

    def format(self, ty: Ty) -> str:
        """format_type_extended(oid, typmod, FORMAT_TYPE_TYPEMOD_GIVEN)."""
        info = self.info(ty.key)
        if info is None:
            return ty.key
        if info.elem is not None and info.kind != "p" and ty.key not in ("int2vector", "oidvector"):
            return self.format(Ty(info.elem, ty.typmod)) + "[]"
        return format_builtin(ty.key, ty.typmod, info.format)

    def parse_format(self, text: str) -> Ty:
        """The Ty of a canonical type text (format_type output), the inverse of `format`.
        Cached: the answer depends on the text and the extensions only."""
        key = (self.installed, text)
        found = _PARSED.get(key)
        if found is None:
            found = self._parse_format(text.strip())
            if len(_PARSED) > 50_000:
                _PARSED.clear()
            _PARSED[key] = found
        return found

    def _parse_format(self, text: str) -> Ty:
        if text.endswith("[]"):
            elem = self._parse_format(text[:-2])
            return Ty(self.array_of(elem.key), elem.typmod)
        return parse_format_text(text, self)

    def is_builtin(self, key: str | None) -> bool:
        return key is None or key in self.snap.types


_PARSED: dict[tuple[tuple[tuple[str, str], ...], str], Ty] = {}
# builder -> (its changes of extensions, its shared TypeCatalog) (see type_catalog); an
# entry goes with its builder
_TYPE_CATALOGS: weakref.WeakKeyDictionary[CatalogBuilder, tuple[int, TypeCatalog]] = (
    weakref.WeakKeyDictionary()
)


def format_builtin(key: str, typmod: int, default: str) -> str:
    with_mod = typmod >= 0
    if key == "bit":
        return f"bit({typmod})" if with_mod else '"bit"'
    if key == "bpchar":
        return f"character({typmod - 4})" if with_mod else "bpchar"
    if key == "varchar":
        return f"character varying({typmod - 4})" if with_mod else "character varying"
    if key == "varbit":
        return f"bit varying({typmod})" if with_mod else "bit varying"
    if key == "numeric":
        if with_mod:
            t = typmod - 4
            precision = (t >> 16) & 0xFFFF
            scale = ((t & 0x7FF) ^ 1024) - 1024
            return f"numeric({precision},{scale})"
        return "numeric"
    if key in ("time", "timetz", "timestamp", "timestamptz"):
        base = "time" if key.startswith("time") and not key.startswith("timestamp") else "timestamp"
        zone = " with time zone" if key.endswith("tz") else " without time zone"
        return f"{base}({typmod}){zone}" if with_mod else f"{base}{zone}"
    if key == "interval":
        return "interval" + (interval_typmod_out(typmod) if with_mod else "")
    return default


INTERVAL_FULL_RANGE = 0x7FFF
INTERVAL_FULL_PRECISION = 0xFFFF
_MASK = {"YEAR": 1 << 2, "MONTH": 1 << 1, "DAY": 1 << 3, "HOUR": 1 << 10, "MINUTE": 1 << 11, "SECOND": 1 << 12}
_INTERVAL_FIELDS = {
    _MASK["YEAR"]: " year",
    _MASK["MONTH"]: " month",
    _MASK["DAY"]: " day",
    _MASK["HOUR"]: " hour",
    _MASK["MINUTE"]: " minute",
    _MASK["SECOND"]: " second",
    _MASK["YEAR"] | _MASK["MONTH"]: " year to month",
    _MASK["DAY"] | _MASK["HOUR"]: " day to hour",
    _MASK["DAY"] | _MASK["HOUR"] | _MASK["MINUTE"]: " day to minute",
    _MASK["DAY"] | _MASK["HOUR"] | _MASK["MINUTE"] | _MASK["SECOND"]: " day to second",
    _MASK["HOUR"] | _MASK["MINUTE"]: " hour to minute",
    _MASK["HOUR"] | _MASK["MINUTE"] | _MASK["SECOND"]: " hour to second",
    _MASK["MINUTE"] | _MASK["SECOND"]: " minute to second",
    INTERVAL_FULL_RANGE: "",
}


def interval_typmod_out(typmod: int) -> str:
    fields = (typmod >> 16) & 0x7FFF
    precision = typmod & 0xFFFF
    text = _INTERVAL_FIELDS.get(fields, "")
    if precision != INTERVAL_FULL_PRECISION:
        text += f"({precision})"
    return text


def interval_typmod(fields: int, precision: int | None) -> int:
    return ((fields & 0x7FFF) << 16) | (INTERVAL_FULL_PRECISION if precision is None else precision)


def parse_format_text(text: str, types: TypeCatalog) -> Ty:
    import re

    snap = types.snap
    m = re.fullmatch(r"(character varying|character|bit varying|bit|numeric)\((\d+)(?:,(-?\d+))?\)", text)
    if m:
        name, a, b = m.groups()
        key = TYPE_ALIASES.get(name, name)
        if key == "numeric":
            return Ty("numeric", ((int(a) << 16) | (int(b or 0) & 0x7FF)) + 4)
        if key in ("varchar", "bpchar"):
            return Ty(key, int(a) + 4)
        return Ty(key, int(a))
    m = re.fullmatch(r"(time|timestamp)(?:\((\d+)\))? (with|without) time zone", text)
    if m:
        base, p, zone = m.groups()
        key = base + ("tz" if zone == "with" else "")
        return Ty(key, int(p) if p is not None else -1)
    if text.startswith("interval"):
        rest = text[len("interval") :]
        precision: int | None = None
        pm = re.search(r"\((\d+)\)$", rest)
        if pm:
            precision = int(pm.group(1))
            rest = rest[: pm.start()]
        if not rest and precision is None:
            return Ty("interval")
        fields = next((f for f, t in _INTERVAL_FIELDS.items() if t == rest), INTERVAL_FULL_RANGE)
        return Ty("interval", interval_typmod(fields, precision))
    if text == '"bit"':
        return Ty("bit")
    if text in snap.by_format:
        return Ty(snap.by_format[text])
    if text in snap.types:
        return Ty(text)
    if text in TYPE_ALIASES:
        return Ty(TYPE_ALIASES[text])
    parts = split_qualified(text)
    if len(parts) == 2:
        return Ty(f"{parts[0]}.{parts[1]}")
    if len(parts) == 1 and parts[0] in snap.types:
        return Ty(parts[0])
    return Ty(text)


def split_qualified(text: str) -> list[str]:
    """Split `schema."Na.me"` into its identifiers, unquoting."""
    parts: list[str] = []
    i = 0
    current = ""
    while i < len(text):
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < len(text):
                if text[j] == '"':
                    if j + 1 < len(text) and text[j + 1] == '"':
                        current += '"'
                        j += 2
                        continue
                    break
                current += text[j]
                j += 1
            i = j + 1
            continue
        if ch == ".":
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    parts.append(current)
    return parts
