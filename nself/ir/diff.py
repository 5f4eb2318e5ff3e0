"""Schema diff: the operations that turn one Catalog into another.

`diff(a, b)` compares two catalogs kind by kind (one registered comparator per object
kind, as Alembic's autogenerate does) and returns a list of operation objects, ordered so
PostgreSQL can apply them. Each operation is a frozen dataclass that knows its own
`reverse()`; a down migration is the reverse of every operation, re-ordered
(`reverse_operations`). Rendering to SQL lives in a backend
(`nself.backends.sql.migration`), not here.

Ordering. Every operation carries `Deps`: the dependency keys it adds and removes, and the
keys it needs in the old state (`before`: it must run before those are removed) and in the
new state (`after`: it must run after those are added). `order_operations` sorts the
operations topologically over those keys, so dependants are dropped before what they
depend on and dependencies are created before their dependants; among operations the
graph leaves free, a fixed phase per operation kind and then the order of emission decide.

References inside expressions (defaults, checks, view bodies, policies) are found by
scanning the canonical text, where everything outside pg_catalog is schema-qualified (see
`nself.ir.model`), for `schema.name` pairs that name an object of either catalog.

Dependants are rebuilt: when an object is dropped and created again, or a column's type
changes, or an enum is rebuilt, every view, function, trigger, policy, index, constraint
or grant that depends on it and would otherwise stay is dropped first and created again
afterwards.

Column order. ALTER TABLE only appends columns. By default a table whose target column
order cannot be reached that way keeps its rows and its order, and the diff says so with a
ColumnOrderNote. With `reorder_columns=True` such a table is rebuilt instead (RebuildTable:
a new table with the columns in order, the rows copied across, dependants recreated), as
is an inheritance child whose parents gain columns or whose columns change between local
and inherited-only, and an inheritance parent with its children. Partitioned tables and
partitions are not rebuilt (they keep the note)."""

from __future__ import annotations

import dataclasses
import heapq
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from nself.ir.identity import identity_of
from nself.ir.model import (
    Catalog,
    CheckConstraint,
    Collation,
    Column,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    Identity,
    Index,
    Policy,
    PrimaryKey,
    Privilege,
    RangeType,
    Schema,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from nself.ir.names import qualified_name, qualified_names_in, unquote_ident, words_in

__all__ = [
    "Deps",
    "Operation",
    "diff",
    "order_operations",
    "reverse_operations",
]

DepKey = tuple[str, ...]


# =========================================================================== dependency keys


@dataclass(frozen=True, slots=True)
class Deps:
    """What an operation does to the dependency graph (see the module docstring)."""

    adds: frozenset[DepKey] = frozenset()
    removes: frozenset[DepKey] = frozenset()
    before: frozenset[DepKey] = frozenset()
    after: frozenset[DepKey] = frozenset()

    def reversed(self) -> Deps:
        return Deps(adds=self.removes, removes=self.adds, before=self.after, after=self.before)


def _schema_key(name: str) -> DepKey:
    return ("schema", name)


def _rel_key(schema: str, name: str) -> DepKey:
    return ("rel", schema, name)


def _type_key(schema: str, name: str) -> DepKey:
    return ("type", schema, name)


def _col_key(schema: str, table: str, column: str) -> DepKey:
    return ("col", schema, table, column)


def _con_key(schema: str, table: str, name: str) -> DepKey:
    return ("con", schema, table, name)


def _func_key(f: Function) -> DepKey:
    return ("func", f.schema, f.name, f.identity_arguments)


def node_key(node: Any) -> DepKey:
    """The dependency key of a top-level IR node."""
    if isinstance(node, Schema):
        return _schema_key(node.name)
    if isinstance(node, Extension):
        return ("ext", node.name)
    if isinstance(node, Collation):
        return ("collation", node.schema, node.name)
    if isinstance(node, (Enum, Domain, CompositeType, RangeType)):
        return _type_key(node.schema, node.name)
    if isinstance(node, Sequence):
        return ("seq", node.schema, node.name)
    if isinstance(node, (Table, View)):
        return _rel_key(node.schema, node.name)
    if isinstance(node, Index):
        return ("index", node.schema, node.name)
    if isinstance(node, Function):
        return _func_key(node)
    if isinstance(node, Trigger):
        return ("trigger", node.schema, node.table, node.name)
    if isinstance(node, Policy):
        return ("policy", node.schema, node.table, node.name)
    if isinstance(node, Privilege):
        return ("priv", *identity_of(node))
    raise TypeError(f"no dependency key for {type(node).__name__}")


def _names(node: Any) -> set[DepKey]:
    """Names a node takes in PostgreSQL's shared namespaces: relations (tables, views,
    sequences, indexes) and types (a table's row type, enums, domains, ...)."""
    out: set[DepKey] = set()
    if isinstance(node, (Table, View, Sequence, Index)):
        out.add(("relname", node.schema, node.name))
    if isinstance(node, (Table, View, Enum, Domain, CompositeType, RangeType)):
        out.add(("typname", node.schema, node.name))
    return out


# =========================================================================== operations


@dataclass(frozen=True, slots=True)
class Operation:
    """One step of a migration. Subclasses add their payload fields; `deps` is filled in
    by the diff and does not take part in equality."""

    deps: Deps = field(default=Deps(), compare=False, kw_only=True)

    # Default place in the order when the dependency graph leaves operations free:
    # drops (low numbers) first, in reverse dependency order of kinds; then creates.
    phase: ClassVar[int] = 50

    def reverse(self) -> Operation:
        raise NotImplementedError

    @property
    def key(self) -> DepKey:
        """The dependency key of the object this operation acts on."""
        raise NotImplementedError

    @property
    def destructive(self) -> str | None:
        """Why this operation can lose data, or None when it cannot."""
        return None

    def _rev(self, op: Operation) -> Operation:
        return dataclasses.replace(op, deps=self.deps.reversed())


# Phases: lower runs first when the graph does not decide.
_P_REVOKE = 1
_P_DROP_POLICY = 2
_P_DROP_TRIGGER = 3
_P_DROP_VIEW = 4
_P_DROP_FK = 5
_P_DROP_INDEX = 6
_P_DROP_CONSTRAINT = 7
_P_DROP_FUNCTION = 8
_P_DETACH = 9
_P_DROP_TABLE = 10
_P_DROP_SEQUENCE = 11
_P_DROP_TYPE = 12
_P_DROP_EXTENSION = 13
_P_DROP_SCHEMA = 14
_P_CREATE_SCHEMA = 20
_P_CREATE_EXTENSION = 21
_P_ALTER_EXTENSION = 22
_P_CREATE_TYPE = 23
_P_ALTER_TYPE = 24
_P_CREATE_SEQUENCE = 25
_P_CREATE_FUNCTION = 26
_P_CREATE_TABLE = 27
_P_ALTER_TABLE = 28
_P_ATTACH = 29
_P_SEQUENCE_OWNER = 30
_P_ADD_CONSTRAINT = 31
_P_ADD_FK = 32
_P_CREATE_INDEX = 33
_P_CREATE_VIEW = 34
_P_CREATE_TRIGGER = 35
_P_CREATE_POLICY = 36
_P_RLS = 37
_P_GRANT = 38
_P_COMMENT = 39


# --------------------------------------------------------------------------- schemas, extensions


@dataclass(frozen=True, slots=True)
class CreateSchema(Operation):
    schema: Schema
    phase: ClassVar[int] = _P_CREATE_SCHEMA

    def reverse(self) -> Operation:
        return self._rev(DropSchema(self.schema))

    @property
    def key(self) -> DepKey:
        return node_key(self.schema)


@dataclass(frozen=True, slots=True)
class DropSchema(Operation):
    schema: Schema
    phase: ClassVar[int] = _P_DROP_SCHEMA

    def reverse(self) -> Operation:
        return self._rev(CreateSchema(self.schema))

    @property
    def key(self) -> DepKey:
        return node_key(self.schema)


@dataclass(frozen=True, slots=True)
class CreateExtension(Operation):
    extension: Extension
    phase: ClassVar[int] = _P_CREATE_EXTENSION

    def reverse(self) -> Operation:
        return self._rev(DropExtension(self.extension))

    @property
    def key(self) -> DepKey:
        return node_key(self.extension)


@dataclass(frozen=True, slots=True)
class DropExtension(Operation):
    extension: Extension
    phase: ClassVar[int] = _P_DROP_EXTENSION

    def reverse(self) -> Operation:
        return self._rev(CreateExtension(self.extension))

    @property
    def key(self) -> DepKey:
        return node_key(self.extension)

    @property
    def destructive(self) -> str | None:
        e = self.extension
        if e.tables:
            return (
                f"drops extension {e.name} and the tables it owns ({', '.join(e.tables)}) "
                "with their rows, and the data of its other objects"
            )
        return f"drops extension {e.name} and the data of its objects"


@dataclass(frozen=True, slots=True)
class AlterExtension(Operation):
    """Version (ALTER EXTENSION ... UPDATE TO) or schema of an extension. Never a drop and
    create: that would destroy the data of the extension's objects (pg_partman's
    configuration tables). Going to an older version is an UPDATE TO as well, which
    PostgreSQL refuses unless the extension ships a script for that path."""

    old: Extension
    new: Extension
    phase: ClassVar[int] = _P_ALTER_EXTENSION

    def reverse(self) -> Operation:
        return self._rev(AlterExtension(self.new, self.old))

    @property
    def downgrade(self) -> bool:
        """Whether the version goes down (extensions rarely ship scripts for that)."""
        return _version_key(self.new.version) < _version_key(self.old.version)

    @property
    def key(self) -> DepKey:
        return node_key(self.new)


def _version_key(version: str | None) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", version or ""))


# --------------------------------------------------------------------------- collations


@dataclass(frozen=True, slots=True)
class CreateCollation(Operation):
    collation: Collation
    phase: ClassVar[int] = _P_CREATE_TYPE

    def reverse(self) -> Operation:
        return self._rev(DropCollation(self.collation))

    @property
    def key(self) -> DepKey:
        return node_key(self.collation)


@dataclass(frozen=True, slots=True)
class DropCollation(Operation):
    collation: Collation
    phase: ClassVar[int] = _P_DROP_TYPE

    def reverse(self) -> Operation:
        return self._rev(CreateCollation(self.collation))

    @property
    def key(self) -> DepKey:
        return node_key(self.collation)


@dataclass(frozen=True, slots=True)
class RebuildCollation(Operation):
    """A collation whose definition changes while columns use it (PostgreSQL has no ALTER
    for it, and refuses to drop it in use): rename the old one away, create the new one,
    move each column across (ALTER COLUMN ... TYPE ... COLLATE, which rebuilds its
    indexes), drop the old one."""

    old: Collation
    new: Collation
    usages: tuple[EnumUsage, ...] = ()  # the columns, with their (unchanged) data type
    phase: ClassVar[int] = _P_ALTER_TYPE

    def reverse(self) -> Operation:
        return self._rev(RebuildCollation(self.new, self.old, self.usages))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)


# --------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class EnumUsage:
    """A table column whose type is an enum that is being changed in place."""

    schema: str
    table: str
    column: str
    data_type: str  # the column's type (`public.mood` or `public.mood[]`)
    old_default: str | None = None
    new_default: str | None = None

    def reversed(self) -> EnumUsage:
        return dataclasses.replace(self, old_default=self.new_default, new_default=self.old_default)


@dataclass(frozen=True, slots=True)
class CreateEnum(Operation):
    enum: Enum
    phase: ClassVar[int] = _P_CREATE_TYPE

    def reverse(self) -> Operation:
        return self._rev(DropEnum(self.enum))

    @property
    def key(self) -> DepKey:
        return node_key(self.enum)


@dataclass(frozen=True, slots=True)
class DropEnum(Operation):
    enum: Enum
    phase: ClassVar[int] = _P_DROP_TYPE

    def reverse(self) -> Operation:
        return self._rev(CreateEnum(self.enum))

    @property
    def key(self) -> DepKey:
        return node_key(self.enum)


@dataclass(frozen=True, slots=True)
class AddEnumValue(Operation):
    """New labels only, each kept in place: ALTER TYPE ... ADD VALUE ... BEFORE/AFTER;
    then the defaults of the columns using the enum that change in the same diff (the
    usages; none may spell a new label, which ADD VALUE cannot give in its own
    transaction: such an enum is rebuilt instead)."""

    old: Enum
    new: Enum
    usages: tuple[EnumUsage, ...] = ()
    phase: ClassVar[int] = _P_ALTER_TYPE

    def reverse(self) -> Operation:
        return self._rev(RebuildEnum(self.new, self.old, tuple(u.reversed() for u in self.usages)))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)

    def default_changes(self) -> list[EnumUsage]:
        """The usages whose column default changes."""
        return [u for u in self.usages if u.old_default != u.new_default]

    def additions(self) -> list[tuple[str, Literal["BEFORE", "AFTER"], str | None]]:
        """(label, BEFORE/AFTER, neighbour) for each new label, in the order to add them."""
        current = list(self.old.labels)
        out: list[tuple[str, Literal["BEFORE", "AFTER"], str | None]] = []
        for i, label in enumerate(self.new.labels):
            if label in current:
                continue
            following = next((lb for lb in self.new.labels[i + 1 :] if lb in current), None)
            if following is not None:
                out.append((label, "BEFORE", following))
                current.insert(current.index(following), label)
            else:
                previous = current[-1] if current else None
                out.append((label, "AFTER", previous))
                current.append(label)
        return out


@dataclass(frozen=True, slots=True)
class RebuildEnum(Operation):
    """Labels removed or reordered: rename the old type away, create the new one, move
    every column that uses it (arrays and defaults included) across, drop the old one."""

    old: Enum
    new: Enum
    usages: tuple[EnumUsage, ...] = ()
    phase: ClassVar[int] = _P_ALTER_TYPE

    def reverse(self) -> Operation:
        reversed_usages = tuple(u.reversed() for u in self.usages)
        if _is_addition(self.new, self.old):
            return self._rev(AddEnumValue(self.new, self.old, reversed_usages))
        return self._rev(RebuildEnum(self.new, self.old, reversed_usages))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)

    @property
    def destructive(self) -> str | None:
        gone = [lb for lb in self.old.labels if lb not in self.new.labels]
        if gone and self.usages:
            return f"removes label(s) {', '.join(gone)} of {self.new.schema}.{self.new.name}; rows using them fail the cast"
        return None


def _is_addition(old: Enum, new: Enum) -> bool:
    """True when `new` only adds labels to `old`, keeping the old ones in their order."""
    kept = [lb for lb in new.labels if lb in old.labels]
    return kept == list(old.labels) and len(new.labels) > len(old.labels)


@dataclass(frozen=True, slots=True)
class CreateDomain(Operation):
    domain: Domain
    phase: ClassVar[int] = _P_CREATE_TYPE

    def reverse(self) -> Operation:
        return self._rev(DropDomain(self.domain))

    @property
    def key(self) -> DepKey:
        return node_key(self.domain)


@dataclass(frozen=True, slots=True)
class DropDomain(Operation):
    domain: Domain
    phase: ClassVar[int] = _P_DROP_TYPE

    def reverse(self) -> Operation:
        return self._rev(CreateDomain(self.domain))

    @property
    def key(self) -> DepKey:
        return node_key(self.domain)


@dataclass(frozen=True, slots=True)
class RebuildDomain(Operation):
    """A domain's base type (or collation) changes: PostgreSQL cannot alter it, nor drop
    it while columns use it. Rename the old domain away, create the new one, move every
    column that uses it (arrays and defaults included) across with ALTER COLUMN ... TYPE,
    drop the old one. Whatever else depends on it (views over those columns, routines
    taking it) is rebuilt around this operation."""

    old: Domain
    new: Domain
    usages: tuple[EnumUsage, ...] = ()
    phase: ClassVar[int] = _P_ALTER_TYPE

    def reverse(self) -> Operation:
        return self._rev(RebuildDomain(self.new, self.old, tuple(u.reversed() for u in self.usages)))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)

    @property
    def destructive(self) -> str | None:
        if self.usages and not is_widening(self.old.data_type, self.new.data_type):
            return (
                f"changes the base type of {self.new.schema}.{self.new.name} from {self.old.data_type} to "
                f"{self.new.data_type}; values of the columns using it may not convert"
            )
        return None


@dataclass(frozen=True, slots=True)
class AlterDomain(Operation):
    """Default, NOT NULL and checks of a domain whose base type stays."""

    old: Domain
    new: Domain
    phase: ClassVar[int] = _P_ALTER_TYPE

    def reverse(self) -> Operation:
        return self._rev(AlterDomain(self.new, self.old))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)


@dataclass(frozen=True, slots=True)
class CreateCompositeType(Operation):
    type: CompositeType
    phase: ClassVar[int] = _P_CREATE_TYPE

    def reverse(self) -> Operation:
        return self._rev(DropCompositeType(self.type))

    @property
    def key(self) -> DepKey:
        return node_key(self.type)


@dataclass(frozen=True, slots=True)
class DropCompositeType(Operation):
    type: CompositeType
    phase: ClassVar[int] = _P_DROP_TYPE

    def reverse(self) -> Operation:
        return self._rev(CreateCompositeType(self.type))

    @property
    def key(self) -> DepKey:
        return node_key(self.type)


@dataclass(frozen=True, slots=True)
class AlterCompositeType(Operation):
    """ADD / DROP / ALTER ATTRIBUTE."""

    old: CompositeType
    new: CompositeType
    phase: ClassVar[int] = _P_ALTER_TYPE

    def reverse(self) -> Operation:
        return self._rev(AlterCompositeType(self.new, self.old))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)


@dataclass(frozen=True, slots=True)
class CreateRangeType(Operation):
    type: RangeType
    phase: ClassVar[int] = _P_CREATE_TYPE

    def reverse(self) -> Operation:
        return self._rev(DropRangeType(self.type))

    @property
    def key(self) -> DepKey:
        return node_key(self.type)


@dataclass(frozen=True, slots=True)
class DropRangeType(Operation):
    type: RangeType
    phase: ClassVar[int] = _P_DROP_TYPE

    def reverse(self) -> Operation:
        return self._rev(CreateRangeType(self.type))

    @property
    def key(self) -> DepKey:
        return node_key(self.type)


# --------------------------------------------------------------------------- sequences


@dataclass(frozen=True, slots=True)
class CreateSequence(Operation):
    sequence: Sequence  # created without OWNED BY; see SetSequenceOwner
    phase: ClassVar[int] = _P_CREATE_SEQUENCE

    def reverse(self) -> Operation:
        return self._rev(DropSequence(self.sequence))

    @property
    def key(self) -> DepKey:
        return node_key(self.sequence)


@dataclass(frozen=True, slots=True)
class DropSequence(Operation):
    sequence: Sequence
    phase: ClassVar[int] = _P_DROP_SEQUENCE

    def reverse(self) -> Operation:
        return self._rev(CreateSequence(self.sequence))

    @property
    def key(self) -> DepKey:
        return node_key(self.sequence)


@dataclass(frozen=True, slots=True)
class AlterSequence(Operation):
    """Type, bounds, increment, cache and cycle (not OWNED BY, not the comment)."""

    old: Sequence
    new: Sequence
    phase: ClassVar[int] = _P_CREATE_SEQUENCE

    def reverse(self) -> Operation:
        return self._rev(AlterSequence(self.new, self.old))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)


@dataclass(frozen=True, slots=True)
class SetSequenceOwner(Operation):
    schema: str
    name: str
    old: tuple[str, str] | None
    new: tuple[str, str] | None
    phase: ClassVar[int] = _P_SEQUENCE_OWNER

    def reverse(self) -> Operation:
        return self._rev(SetSequenceOwner(self.schema, self.name, self.new, self.old))

    @property
    def key(self) -> DepKey:
        return ("seqowner", self.schema, self.name)


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True, slots=True)
class CreateTable(Operation):
    """CREATE TABLE with its columns and its non-foreign-key constraints (foreign keys are
    AddConstraint operations, so cycles between tables cannot block creation)."""

    table: Table
    parent: Table | None = None  # the partitioned parent, for a partition
    phase: ClassVar[int] = _P_CREATE_TABLE

    def reverse(self) -> Operation:
        return self._rev(DropTable(self.table, self.parent))

    @property
    def key(self) -> DepKey:
        return node_key(self.table)


@dataclass(frozen=True, slots=True)
class DropTable(Operation):
    table: Table
    parent: Table | None = None
    phase: ClassVar[int] = _P_DROP_TABLE

    def reverse(self) -> Operation:
        return self._rev(CreateTable(self.table, self.parent))

    @property
    def key(self) -> DepKey:
        return node_key(self.table)

    @property
    def destructive(self) -> str | None:
        return f"drops table {self.table.schema}.{self.table.name} and its rows"


@dataclass(frozen=True, slots=True)
class AddColumn(Operation):
    schema: str
    table: str
    column: Column
    # For an inheritance child keeping a column it only inherited (Column.inherited) and
    # its parent drops: the child loses it along with the parent, so it is added back
    # (IF NOT EXISTS, for an IR that does not record the column's standing).
    if_not_exists: bool = False
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(DropColumn(self.schema, self.table, self.column))

    @property
    def key(self) -> DepKey:
        return _col_key(self.schema, self.table, self.column.name)


@dataclass(frozen=True, slots=True)
class DropColumn(Operation):
    schema: str
    table: str
    column: Column
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(AddColumn(self.schema, self.table, self.column))

    @property
    def key(self) -> DepKey:
        return _col_key(self.schema, self.table, self.column.name)

    @property
    def destructive(self) -> str | None:
        return f"drops column {self.schema}.{self.table}.{self.column.name} and its values"


_WIDENINGS: dict[str, tuple[str, ...]] = {
    "smallint": ("integer", "bigint", "numeric", "real", "double precision", "text"),
    "integer": ("bigint", "numeric", "double precision", "text"),
    "bigint": ("numeric", "text"),
    "real": ("double precision", "text"),
    "date": ("timestamp without time zone", "timestamp with time zone", "text"),
    "timestamp without time zone": ("timestamp with time zone",),
    "character varying": ("text",),
    "character": ("text", "character varying"),
    "text": (),
    "boolean": ("text",),
    "uuid": ("text",),
}
_TYPMOD = re.compile(r"^(?P<base>[a-z ]+?)(?:\((?P<args>[0-9, ]+)\))?(?P<array>(?:\[\])*)$")


def is_widening(old: str, new: str) -> bool:
    """True when every value of type `old` converts to `new` without loss (a known
    widening: int -> bigint, varchar(n) -> varchar(m >= n) or text, ...)."""
    if old == new:
        return True
    mo, mn = _TYPMOD.match(old), _TYPMOD.match(new)
    if mo is None or mn is None or mo["array"] != mn["array"]:
        return False
    bo, bn = mo["base"], mn["base"]
    if bo == bn:
        if mn["args"] is None:
            return True  # varchar(10) -> varchar, numeric(5,2) -> numeric
        if mo["args"] is None:
            return False
        ao = [int(x) for x in mo["args"].split(",")]
        an = [int(x) for x in mn["args"].split(",")]
        if bo == "numeric":
            po, so = ao[0], ao[1] if len(ao) > 1 else 0
            pn, sn = an[0], an[1] if len(an) > 1 else 0
            return sn >= so and pn - sn >= po - so
        return an[0] >= ao[0]
    return bn in _WIDENINGS.get(bo, ())


@dataclass(frozen=True, slots=True)
class AlterColumnType(Operation):
    """ALTER COLUMN ... TYPE (and COLLATE), with USING when PostgreSQL has no implicit
    assignment cast between the two types."""

    schema: str
    table: str
    old: Column
    new: Column
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(AlterColumnType(self.schema, self.table, self.new, self.old))

    @property
    def key(self) -> DepKey:
        return _col_key(self.schema, self.table, self.new.name)

    @property
    def using(self) -> str | None:
        """The USING expression's cast, or None when a plain TYPE change works."""
        if is_widening(self.old.data_type, self.new.data_type):
            return None
        return self.new.data_type

    @property
    def via_text(self) -> bool:
        """Cast through text (enum and other user types have no direct casts)."""
        return _user_type_of(self.old.data_type) is not None or _user_type_of(self.new.data_type) is not None

    @property
    def destructive(self) -> str | None:
        if is_widening(self.old.data_type, self.new.data_type):
            return None
        return (
            f"changes type of {self.schema}.{self.table}.{self.new.name} from {self.old.data_type} "
            f"to {self.new.data_type}; values may not convert"
        )


@dataclass(frozen=True, slots=True)
class SetGenerated(Operation):
    """A stored generated column's expression changes. Dropping it (the column keeps its
    values) is ALTER COLUMN ... DROP EXPRESSION; adding or changing one is not possible in
    place, so the column is dropped and added again and its values computed anew."""

    schema: str
    table: str
    old: Column
    new: Column
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(SetGenerated(self.schema, self.table, self.new, self.old))

    @property
    def key(self) -> DepKey:
        return _col_key(self.schema, self.table, self.new.name)

    @property
    def in_place(self) -> bool:
        return self.new.generated is None

    @property
    def destructive(self) -> str | None:
        if self.in_place:
            return None
        return (
            f"drops and re-adds generated column {self.schema}.{self.table}.{self.new.name}; "
            "values are recomputed and its position moves to the end"
        )


@dataclass(frozen=True, slots=True)
class SetColumnDefault(Operation):
    schema: str
    table: str
    column: str
    old: str | None
    new: str | None
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(SetColumnDefault(self.schema, self.table, self.column, self.new, self.old))

    @property
    def key(self) -> DepKey:
        return _col_key(self.schema, self.table, self.column)


@dataclass(frozen=True, slots=True)
class SetNotNull(Operation):
    schema: str
    table: str
    column: str
    not_null: bool
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(SetNotNull(self.schema, self.table, self.column, not self.not_null))

    @property
    def key(self) -> DepKey:
        return _col_key(self.schema, self.table, self.column)


@dataclass(frozen=True, slots=True)
class SetIdentity(Operation):
    """ADD GENERATED ... AS IDENTITY, DROP IDENTITY, or SET GENERATED / sequence options."""

    schema: str
    table: str
    column: str
    old: Identity | None
    new: Identity | None
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(SetIdentity(self.schema, self.table, self.column, self.new, self.old))

    @property
    def key(self) -> DepKey:
        return _col_key(self.schema, self.table, self.column)


@dataclass(frozen=True, slots=True)
class ColumnOrderNote(Operation):
    """The target's column order cannot be reached: ALTER TABLE appends columns and never
    reorders them, and the diff keeps a table's rows rather than rebuilding it. Renders
    as a comment, so that a reader (and --exit-code) sees the difference."""

    schema: str
    table: str
    reached: tuple[str, ...]  # the order the migration leaves
    wanted: tuple[str, ...]
    phase: ClassVar[int] = _P_COMMENT

    def reverse(self) -> Operation:
        return self._rev(ColumnOrderNote(self.schema, self.table, self.wanted, self.reached))

    @property
    def key(self) -> DepKey:
        return ("column-order", self.schema, self.table)


@dataclass(frozen=True, slots=True)
class RebuildTable(Operation):
    """Reach the target's exact column order by rebuilding the table (only with
    `diff(..., reorder_columns=True)`): create it under a temporary name with the target's
    columns in order (defaults, identity, generated expressions, collations, NOT NULL),
    copy the rows across (the surviving columns, cast where the type changes), carry the
    identity sequences' positions, drop the old table and rename the new one into place.
    Everything that depends on the table (its constraints and indexes, foreign keys
    pointing at it, views, triggers, policies, grants, sequence ownership) is dropped
    before and created again after, by the diff's dependant rebuilding. The table's rows
    are kept; it takes an ACCESS EXCLUSIVE lock for the copy."""

    old: Table
    new: Table
    old_parents: tuple[Table, ...] = ()  # inheritance parents of each side (for CREATE ... INHERITS)
    new_parents: tuple[Table, ...] = ()
    # Columns an inheritance child only inherited and loses with its parents' column
    # before the rebuild runs (it runs once the parents have their new columns).
    old_gone: tuple[str, ...] = ()
    new_gone: tuple[str, ...] = ()
    # Inheritance children (rebuilt after it): detached from the old table first.
    children: tuple[tuple[str, str], ...] = ()
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(
            RebuildTable(
                self.new,
                self.old,
                self.new_parents,
                self.old_parents,
                self.new_gone,
                self.old_gone,
                self.children,
            )
        )

    @property
    def key(self) -> DepKey:
        return _rel_key(self.new.schema, self.new.name)

    def copied(self) -> list[tuple[str, str | None, bool]]:
        """(column, cast type or None, cast via text) for each column whose values are
        copied: the target's columns that exist in the old table and are not generated."""
        out: list[tuple[str, str | None, bool]] = []
        for c in self.new.columns:
            old = self.old.column(c.name)
            if old is None or c.generated is not None or c.name in self.old_gone:
                continue
            if old.data_type == c.data_type:
                out.append((c.name, None, False))
            else:
                via_text = _user_type_of(old.data_type) is not None or _user_type_of(c.data_type) is not None
                out.append((c.name, c.data_type, via_text))
        return out

    def carried_identities(self) -> list[Column]:
        """The target's identity columns whose old column was an identity too: their
        sequence position is carried to the new table."""
        out = []
        for c in self.new.columns:
            old = self.old.column(c.name)
            if c.identity is not None and old is not None and old.identity is not None:
                out.append(c)
        return out

    @property
    def destructive(self) -> str | None:
        t = f"{self.new.schema}.{self.new.name}"
        lost = [c.name for c in self.old.columns if self.new.column(c.name) is None]
        narrowed = [
            c.name
            for c in self.new.columns
            if (o := self.old.column(c.name)) is not None
            and c.generated is None
            and not is_widening(o.data_type, c.data_type)
        ]
        reasons = []
        if lost:
            reasons.append(f"drops column(s) {', '.join(lost)} of {t} and their values")
        if narrowed:
            reasons.append(f"changes the type of {t}.{', '.join(narrowed)}; values may not convert")
        return "; ".join(reasons) or None


@dataclass(frozen=True, slots=True)
class AlterTableStorage(Operation):
    """UNLOGGED / LOGGED and storage parameters."""

    schema: str
    table: str
    old_unlogged: bool
    new_unlogged: bool
    old_options: tuple[str, ...]
    new_options: tuple[str, ...]
    phase: ClassVar[int] = _P_ALTER_TABLE

    def reverse(self) -> Operation:
        return self._rev(
            AlterTableStorage(
                self.schema,
                self.table,
                self.new_unlogged,
                self.old_unlogged,
                self.new_options,
                self.old_options,
            )
        )

    @property
    def key(self) -> DepKey:
        return _rel_key(self.schema, self.table)


@dataclass(frozen=True, slots=True)
class SetRowLevelSecurity(Operation):
    schema: str
    table: str
    old_enabled: bool
    new_enabled: bool
    old_forced: bool
    new_forced: bool
    phase: ClassVar[int] = _P_RLS

    def reverse(self) -> Operation:
        return self._rev(
            SetRowLevelSecurity(
                self.schema, self.table, self.new_enabled, self.old_enabled, self.new_forced, self.old_forced
            )
        )

    @property
    def key(self) -> DepKey:
        return ("rls", self.schema, self.table)


@dataclass(frozen=True, slots=True)
class AttachPartition(Operation):
    table: Table  # the table as a partition (its partition_of set)
    phase: ClassVar[int] = _P_ATTACH

    def reverse(self) -> Operation:
        return self._rev(DetachPartition(self.table))

    @property
    def key(self) -> DepKey:
        return ("partition", self.table.schema, self.table.name)


@dataclass(frozen=True, slots=True)
class DetachPartition(Operation):
    table: Table
    phase: ClassVar[int] = _P_DETACH

    def reverse(self) -> Operation:
        return self._rev(AttachPartition(self.table))

    @property
    def key(self) -> DepKey:
        return ("partition", self.table.schema, self.table.name)


@dataclass(frozen=True, slots=True)
class AddInherit(Operation):
    schema: str
    table: str
    parent_schema: str
    parent: str
    phase: ClassVar[int] = _P_ATTACH

    def reverse(self) -> Operation:
        return self._rev(DropInherit(self.schema, self.table, self.parent_schema, self.parent))

    @property
    def key(self) -> DepKey:
        return ("inherit", self.schema, self.table, self.parent_schema, self.parent)


@dataclass(frozen=True, slots=True)
class DropInherit(Operation):
    schema: str
    table: str
    parent_schema: str
    parent: str
    phase: ClassVar[int] = _P_DETACH

    def reverse(self) -> Operation:
        return self._rev(AddInherit(self.schema, self.table, self.parent_schema, self.parent))

    @property
    def key(self) -> DepKey:
        return ("inherit", self.schema, self.table, self.parent_schema, self.parent)


@dataclass(frozen=True, slots=True)
class AddConstraint(Operation):
    schema: str
    table: str
    constraint: Constraint

    @property
    def phase(self) -> int:  # type: ignore[override]
        return _P_ADD_FK if isinstance(self.constraint, ForeignKey) else _P_ADD_CONSTRAINT

    def reverse(self) -> Operation:
        return self._rev(DropConstraint(self.schema, self.table, self.constraint))

    @property
    def key(self) -> DepKey:
        return _con_key(self.schema, self.table, self.constraint.name)


@dataclass(frozen=True, slots=True)
class DropConstraint(Operation):
    schema: str
    table: str
    constraint: Constraint

    @property
    def phase(self) -> int:  # type: ignore[override]
        return _P_DROP_FK if isinstance(self.constraint, ForeignKey) else _P_DROP_CONSTRAINT

    def reverse(self) -> Operation:
        return self._rev(AddConstraint(self.schema, self.table, self.constraint))

    @property
    def key(self) -> DepKey:
        return _con_key(self.schema, self.table, self.constraint.name)


# --------------------------------------------------------------------------- indexes, views


@dataclass(frozen=True, slots=True)
class CreateIndex(Operation):
    index: Index
    phase: ClassVar[int] = _P_CREATE_INDEX

    def reverse(self) -> Operation:
        return self._rev(DropIndex(self.index))

    @property
    def key(self) -> DepKey:
        return node_key(self.index)


@dataclass(frozen=True, slots=True)
class DropIndex(Operation):
    index: Index
    phase: ClassVar[int] = _P_DROP_INDEX

    def reverse(self) -> Operation:
        return self._rev(CreateIndex(self.index))

    @property
    def key(self) -> DepKey:
        return node_key(self.index)


@dataclass(frozen=True, slots=True)
class CreateView(Operation):
    view: View
    phase: ClassVar[int] = _P_CREATE_VIEW

    def reverse(self) -> Operation:
        return self._rev(DropView(self.view))

    @property
    def key(self) -> DepKey:
        return node_key(self.view)


@dataclass(frozen=True, slots=True)
class DropView(Operation):
    view: View
    phase: ClassVar[int] = _P_DROP_VIEW

    def reverse(self) -> Operation:
        return self._rev(CreateView(self.view))

    @property
    def key(self) -> DepKey:
        return node_key(self.view)


# --------------------------------------------------------------------------- routines


@dataclass(frozen=True, slots=True)
class CreateFunction(Operation):
    function: Function
    phase: ClassVar[int] = _P_CREATE_FUNCTION

    def reverse(self) -> Operation:
        return self._rev(DropFunction(self.function))

    @property
    def key(self) -> DepKey:
        return node_key(self.function)


@dataclass(frozen=True, slots=True)
class DropFunction(Operation):
    function: Function
    phase: ClassVar[int] = _P_DROP_FUNCTION

    def reverse(self) -> Operation:
        return self._rev(CreateFunction(self.function))

    @property
    def key(self) -> DepKey:
        return node_key(self.function)


@dataclass(frozen=True, slots=True)
class ReplaceFunction(Operation):
    """CREATE OR REPLACE: same arguments and result, new body or attributes."""

    old: Function
    new: Function
    phase: ClassVar[int] = _P_CREATE_FUNCTION

    def reverse(self) -> Operation:
        return self._rev(ReplaceFunction(self.new, self.old))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)


# --------------------------------------------------------------------------- table-scoped


@dataclass(frozen=True, slots=True)
class CreateTrigger(Operation):
    trigger: Trigger
    phase: ClassVar[int] = _P_CREATE_TRIGGER

    def reverse(self) -> Operation:
        return self._rev(DropTrigger(self.trigger))

    @property
    def key(self) -> DepKey:
        return node_key(self.trigger)


@dataclass(frozen=True, slots=True)
class DropTrigger(Operation):
    trigger: Trigger
    phase: ClassVar[int] = _P_DROP_TRIGGER

    def reverse(self) -> Operation:
        return self._rev(CreateTrigger(self.trigger))

    @property
    def key(self) -> DepKey:
        return node_key(self.trigger)


@dataclass(frozen=True, slots=True)
class SetTriggerEnabled(Operation):
    trigger: Trigger
    old: Literal["O", "D", "R", "A"]
    new: Literal["O", "D", "R", "A"]
    phase: ClassVar[int] = _P_CREATE_TRIGGER

    def reverse(self) -> Operation:
        return self._rev(SetTriggerEnabled(self.trigger, self.new, self.old))

    @property
    def key(self) -> DepKey:
        return node_key(self.trigger)


@dataclass(frozen=True, slots=True)
class CreatePolicy(Operation):
    policy: Policy
    phase: ClassVar[int] = _P_CREATE_POLICY

    def reverse(self) -> Operation:
        return self._rev(DropPolicy(self.policy))

    @property
    def key(self) -> DepKey:
        return node_key(self.policy)


@dataclass(frozen=True, slots=True)
class DropPolicy(Operation):
    policy: Policy
    phase: ClassVar[int] = _P_DROP_POLICY

    def reverse(self) -> Operation:
        return self._rev(CreatePolicy(self.policy))

    @property
    def key(self) -> DepKey:
        return node_key(self.policy)


@dataclass(frozen=True, slots=True)
class Grant(Operation):
    privilege: Privilege
    phase: ClassVar[int] = _P_GRANT

    def reverse(self) -> Operation:
        return self._rev(Revoke(self.privilege))

    @property
    def key(self) -> DepKey:
        return node_key(self.privilege)


@dataclass(frozen=True, slots=True)
class Revoke(Operation):
    privilege: Privilege
    phase: ClassVar[int] = _P_REVOKE

    def reverse(self) -> Operation:
        return self._rev(Grant(self.privilege))

    @property
    def key(self) -> DepKey:
        return node_key(self.privilege)


CommentKind = Literal[
    "SCHEMA",
    "EXTENSION",
    "COLLATION",
    "TYPE",
    "DOMAIN",
    "SEQUENCE",
    "TABLE",
    "VIEW",
    "MATERIALIZED VIEW",
    "COLUMN",
    "CONSTRAINT",
    "DOMAIN CONSTRAINT",
    "INDEX",
    "FUNCTION",
    "PROCEDURE",
    "AGGREGATE",
    "TRIGGER",
    "POLICY",
]


@dataclass(frozen=True, slots=True)
class SetComment(Operation):
    """COMMENT ON an object that exists on both sides. `schema` is None for schemas and
    extensions; `sub` names the part (a column, a constraint, a trigger or policy name)
    and `name` the object holding it; `arguments` is a routine's identity arguments."""

    kind: CommentKind
    schema: str | None
    name: str
    old: str | None
    new: str | None
    sub: str | None = None
    arguments: str | None = None
    phase: ClassVar[int] = _P_COMMENT

    def reverse(self) -> Operation:
        return self._rev(dataclasses.replace(self, old=self.new, new=self.old))

    @property
    def key(self) -> DepKey:
        return ("comment", self.kind, self.schema or "", self.name, self.sub or "", self.arguments or "")


# =========================================================================== references


_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_TYPE_NAME = re.compile(rf"({_IDENT})\.({_IDENT})")


def _unquote(ident: str) -> str:
    return unquote_ident(ident, fold=True)


def _user_type_of(data_type: str) -> tuple[str, str] | None:
    """(schema, name) of a schema-qualified type (`public.mood[]`), else None."""
    text = data_type.strip()
    while text.endswith("[]"):
        text = text[:-2].rstrip()
    m = _TYPE_NAME.fullmatch(text)
    if m is None:
        return None
    return _unquote(m.group(1)), _unquote(m.group(2))


def _words(text: str | None) -> set[str]:
    if not text:
        return set()
    return set(words_in(text))


class _References:
    """Resolves names found in IR text to dependency keys, over both catalogs."""

    def __init__(self, *catalogs: Catalog) -> None:
        self.names: dict[tuple[str, str], set[DepKey]] = {}
        self.extension_schemas: dict[str, set[DepKey]] = {}
        for catalog in catalogs:
            for kind in (
                "collations",
                "enums",
                "domains",
                "composite_types",
                "range_types",
                "sequences",
                "tables",
                "views",
            ):
                for node in getattr(catalog, kind):
                    self.names.setdefault((node.schema, node.name), set()).add(node_key(node))
            for f in catalog.functions:
                self.names.setdefault((f.schema, f.name), set()).add(_func_key(f))
            for e in catalog.extensions:
                self.extension_schemas.setdefault(e.schema, set()).add(node_key(e))
        self._cache: dict[str, frozenset[DepKey]] = {}

    def in_text(self, text: str | None) -> frozenset[DepKey]:
        if not text:
            return frozenset()
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        found: set[DepKey] = set()
        for schema, name in qualified_names_in(text, fold=True):
            keys = self.names.get((schema, name))
            if keys:
                found |= keys
            elif schema in self.extension_schemas and schema != "pg_catalog":
                found |= self.extension_schemas[schema]
        result = frozenset(found)
        self._cache[text] = result
        return result

    def in_type(self, data_type: str) -> frozenset[DepKey]:
        ref = _user_type_of(data_type)
        if ref is None:
            return frozenset()
        keys = self.names.get(ref)
        if keys:
            return frozenset(keys)
        return frozenset(self.extension_schemas.get(ref[0], ()))


# =========================================================================== the diff


class _Diff:
    """One comparison of `a` (from) with `b` (to)."""

    def __init__(self, a: Catalog, b: Catalog, *, reorder_columns: bool = False) -> None:
        self.a, self.b = a, b
        self.reorder_columns = reorder_columns
        self.refs = _References(a, b)
        self.ops: list[Operation] = []
        self.tables_a = {(t.schema, t.name): t for t in a.tables}
        self.tables_b = {(t.schema, t.name): t for t in b.tables}
        self.indexes_by_table: tuple[dict[tuple[str, str], list[Index]], ...] = ({}, {})
        for catalog, into in zip((a, b), self.indexes_by_table, strict=True):
            for ix in catalog.indexes:
                into.setdefault((ix.schema, ix.table), []).append(ix)
        self._requires: dict[int, frozenset[DepKey]] = {}
        # Objects that are dropped and created again, or altered so that whatever depends
        # on them must be rebuilt (see _rebuild_dependants).
        self.rebuilt: set[DepKey] = set()
        self.altered: set[DepKey] = set()
        # Columns whose type changes in place through an enum rebuild.
        self.enum_columns: set[tuple[str, str, str]] = set()

    # ------------------------------------------------------------------ requirements

    def requires(self, node: Any) -> frozenset[DepKey]:
        """Dependency keys that `node` needs to exist."""
        r = self.refs
        out: set[DepKey] = set()
        schema = getattr(node, "schema", None)
        if isinstance(schema, str) and not isinstance(node, Privilege):
            out.add(_schema_key(schema))
        if isinstance(node, Domain):
            out |= r.in_type(node.data_type) | r.in_text(node.default) | r.in_text(node.collation)
            for check in node.checks:
                out |= r.in_text(check.expression)
        elif isinstance(node, CompositeType):
            for a in node.attributes:
                out |= r.in_type(a.data_type) | r.in_text(a.collation)
        elif isinstance(node, RangeType):
            out |= r.in_type(node.subtype)
        elif isinstance(node, Table):
            for c in node.columns:
                out |= self.column_requires(c)
            for con in node.constraints:
                if not isinstance(con, ForeignKey):
                    out |= self.constraint_requires(node.schema, node.name, con) - {
                        _rel_key(node.schema, node.name)
                    }
            if node.partition_of is not None:
                out.add(_rel_key(node.partition_of.parent_schema, node.partition_of.parent))
            for ps, pn in node.inherits:
                out.add(_rel_key(ps, pn))
            out.discard(_rel_key(node.schema, node.name))
        elif isinstance(node, View):
            out |= r.in_text(node.definition)
            for vc in node.columns:
                out |= r.in_type(vc.data_type)
            out.discard(_rel_key(node.schema, node.name))
        elif isinstance(node, Index):
            out.add(_rel_key(node.schema, node.table))
            for k in node.keys:
                out |= r.in_text(k.expression) | r.in_text(k.opclass) | r.in_text(k.collation)
                if k.column is not None:
                    out.add(_col_key(node.schema, node.table, k.column))
                else:
                    out |= self._columns_named(node.schema, node.table, k.expression)
            out |= r.in_text(node.predicate) | self._columns_named(node.schema, node.table, node.predicate)
        elif isinstance(node, Function):
            for arg in node.arguments:
                out |= r.in_type(arg.data_type) | r.in_text(arg.default)
            if node.returns:
                out |= r.in_text(node.returns)
            # SQL bodies name what they use; an aggregate's body is its option list
            # (SFUNC = public.f, ...).
            if (
                node.body.lstrip().upper().startswith("BEGIN ATOMIC")
                or node.language == "sql"
                or node.kind == "aggregate"
            ):
                out |= r.in_text(node.body)
            out.discard(_func_key(node))
        elif isinstance(node, Trigger):
            out.add(_rel_key(node.schema, node.table))
            out |= {k for k in r.names.get((node.function_schema, node.function), ()) if k[0] == "func"}
            out |= r.in_text(node.when)
        elif isinstance(node, Policy):
            out.add(_rel_key(node.schema, node.table))
            for text in (node.using, node.with_check):
                out |= r.in_text(text) | self._columns_named(node.schema, node.table, text)
        elif isinstance(node, Privilege):
            out |= self.privilege_target(node)
        elif isinstance(node, Extension):
            pass
        elif isinstance(node, Sequence):
            out |= r.in_type(node.data_type)
        return frozenset(out)

    def _cached_requires(self, node: Any) -> frozenset[DepKey]:
        if isinstance(node, tuple):  # a constraint: (schema, table, constraint)
            return self.constraint_requires(*node)
        found = self._requires.get(id(node))
        if found is None:
            found = self._requires[id(node)] = self.requires(node)
        return found

    def column_requires(self, column: Column) -> set[DepKey]:
        r = self.refs
        return set(
            r.in_type(column.data_type)
            | r.in_text(column.default)
            | r.in_text(column.generated)
            | r.in_text(column.collation)
        )

    def constraint_requires(self, schema: str, table: str, con: Constraint) -> frozenset[DepKey]:
        out: set[DepKey] = {_rel_key(schema, table)}
        if isinstance(con, (PrimaryKey, UniqueConstraint)):
            out |= {_col_key(schema, table, c) for c in (*con.columns, *con.include)}
        elif isinstance(con, CheckConstraint):
            out |= self.refs.in_text(con.expression) | self._columns_named(schema, table, con.expression)
        elif isinstance(con, ForeignKey):
            out |= {_col_key(schema, table, c) for c in con.columns}
            out.add(_rel_key(con.ref_schema, con.ref_table))
            out |= {_col_key(con.ref_schema, con.ref_table, c) for c in con.ref_columns}
            # The unique constraint or index the reference rests on, on either side.
            for tables, indexes in zip((self.tables_a, self.tables_b), self.indexes_by_table, strict=True):
                ref = tables.get((con.ref_schema, con.ref_table))
                if ref is not None:
                    for c in ref.constraints:
                        if isinstance(c, (PrimaryKey, UniqueConstraint)) and set(c.columns) == set(
                            con.ref_columns
                        ):
                            out.add(_con_key(con.ref_schema, con.ref_table, c.name))
                for ix in indexes.get((con.ref_schema, con.ref_table), ()):
                    if ix.unique and {k.column for k in ix.keys} == set(con.ref_columns):
                        out.add(node_key(ix))
        else:  # exclusion
            for e in con.elements:
                out |= self.refs.in_text(e.expression) | self._columns_named(schema, table, e.expression)
            out |= self.refs.in_text(con.predicate)
        return frozenset(out)

    def _columns_named(self, schema: str, table: str, text: str | None) -> set[DepKey]:
        if not text:
            return set()
        words = _words(text)
        columns: set[str] = set()
        for t in (self.tables_a.get((schema, table)), self.tables_b.get((schema, table))):
            if t is not None:
                columns |= {c.name for c in t.columns}
        return {_col_key(schema, table, c) for c in words & columns}

    def privilege_target(self, p: Privilege) -> frozenset[DepKey]:
        if p.object_kind == "SCHEMA":
            return frozenset({_schema_key(p.object_name)})
        if p.object_kind == "FUNCTION":
            name, _, args = p.object_name.partition("(")
            return frozenset({("func", p.schema, name, args.rstrip(")"))})
        keys = self.refs.names.get((p.schema, p.object_name), set())
        out = set(keys) or {_rel_key(p.schema, p.object_name)}
        if p.column:
            out.add(_col_key(p.schema, p.object_name, p.column))
        return frozenset(out)

    # ------------------------------------------------------------------ emitting

    def create(self, op: Operation, node: Any, *, adds: Iterable[DepKey] = ()) -> None:
        self.ops.append(
            dataclasses.replace(
                op,
                deps=Deps(adds=frozenset({node_key(node), *_names(node), *adds}), after=self.requires(node)),
            )
        )

    def drop(self, op: Operation, node: Any, *, removes: Iterable[DepKey] = ()) -> None:
        self.ops.append(
            dataclasses.replace(
                op,
                deps=Deps(
                    removes=frozenset({node_key(node), *_names(node), *removes}), before=self.requires(node)
                ),
            )
        )

    def emit(self, op: Operation, deps: Deps) -> None:
        self.ops.append(dataclasses.replace(op, deps=deps))

    # ------------------------------------------------------------------ running

    def run(self) -> list[Operation]:
        for comparator in COMPARATORS.values():
            comparator(self)
        if self.reorder_columns:
            self._rebuild_for_column_order()
        self._rebuild_dependants()
        return order_operations(self.ops)

    # ------------------------------------------------------------------ column order

    def _rebuildable(self, old: Table, new: Table) -> bool:
        """Tables a RebuildTable can handle: neither partitioned nor a partition, with the
        same parents on both sides; an inheritance parent when each child it has on both
        sides can be rebuilt too (with it) and no child joins or leaves it."""
        if old.partition_of or new.partition_of or old.partition_by or new.partition_by:
            return False
        if old.inherits != new.inherits:
            return False
        key = (new.schema, new.name)
        for k, ta in self.tables_a.items():
            if key in ta.inherits:
                tb = self.tables_b.get(k)
                if tb is not None and (tb.inherits != ta.inherits or not self._rebuildable(ta, tb)):
                    return False
        for k, child in self.tables_b.items():
            if key in child.inherits:
                was = self.tables_a.get(k)
                if was is not None and was.inherits != child.inherits:
                    return False
        return True

    def _children(self, key: tuple[str, str]) -> list[tuple[str, str]]:
        """The inheritance children of `key` on both sides."""
        return [k for k, t in self.tables_b.items() if key in t.inherits and k in self.tables_a]

    def _rebuild_for_column_order(self, forced: Iterable[tuple[str, str]] = ()) -> None:
        """Replace the column operations of each table whose column order ALTER TABLE
        cannot reach (its ColumnOrderNote), and of each table in `forced`, with one
        RebuildTable."""
        notes = {(op.schema, op.table): op for op in self.ops if isinstance(op, ColumnOrderNote)}
        done = {(op.new.schema, op.new.name) for op in self.ops if isinstance(op, RebuildTable)}
        by_note = [k for k in notes if k not in done] if self.reorder_columns else []
        wanted = list(dict.fromkeys([*forced, *by_note]))
        # An inheritance child also when a parent gains a column (PostgreSQL appends it
        # to the child) or a column's local/inherited-only standing changes (ALTER TABLE
        # cannot make a local column inherited-only).
        gaining = {(op.schema, op.table) for op in self.ops if isinstance(op, AddColumn)}
        for key, child in self.tables_b.items():
            was = self.tables_a.get(key)
            if not self.reorder_columns or was is None or not child.inherits or key in done or key in wanted:
                continue
            standing_old = {c.name: _inherited_only(c) for c in was.columns}
            standing_new = {c.name: _inherited_only(c) for c in child.columns}
            changed = any(standing_old.get(name, flag) != flag for name, flag in standing_new.items())
            if changed or any(p in gaining for p in child.inherits):
                wanted.append(key)
        # An inheritance parent is rebuilt with its children: they are detached from the
        # old parent (keeping every column, now local) and rebuilt under the new one.
        chosen: list[tuple[str, str]] = []
        for key in wanted:
            old, new = self.tables_a.get(key), self.tables_b.get(key)
            if old is None or new is None or key in chosen or not self._rebuildable(old, new):
                continue
            chosen.append(key)
            wanted.extend(k for k in self._children(key) if k not in done)
        for key in chosen:
            old, new = self.tables_a[key], self.tables_b[key]
            note = notes.get(key)
            self.ops = [op for op in self.ops if op is not note and not _rebuild_replaces(op, key)]
            s, n = key
            rel = _rel_key(s, n)
            before: set[DepKey] = set()
            after: set[DepKey] = set()
            for c in old.columns:
                before |= self.column_requires(c)
            for c in new.columns:
                after |= self.column_requires(c)
            # once the parents have their new columns (CREATE TABLE ... INHERITS takes them)
            after |= {_rel_key(*p) for p in new.inherits} | {_schema_key(s)}
            old_parents = tuple(p for p in (self.tables_a.get(x) for x in old.inherits) if p is not None)
            new_parents = tuple(p for p in (self.tables_b.get(x) for x in new.inherits) if p is not None)
            detached = any(p in chosen for p in new.inherits)  # its columns all stay
            old_gone = tuple(
                c.name
                for c in old.columns
                if not detached and _inherited_only(c) and not any(p.column(c.name) for p in new_parents)
            )
            new_gone = tuple(
                c.name
                for c in new.columns
                if _inherited_only(c) and not any(p.column(c.name) for p in old_parents)
            )
            self.emit(
                RebuildTable(
                    old, new, old_parents, new_parents, old_gone, new_gone, tuple(self._children(key))
                ),
                Deps(
                    adds=frozenset({rel, *(_col_key(s, n, c.name) for c in new.columns)}),
                    removes=frozenset({rel, *(_col_key(s, n, c.name) for c in old.columns)}),
                    # a type changed in place (an enum rebuilt, a domain altered) is
                    # needed after, not before: the table is copied once it is done
                    before=frozenset(before - after),
                    after=frozenset(after),
                ),
            )
            # DROP TABLE would take the sequences the table owns along: release them
            # first and claim them again (ownership that changes has its own operations)
            owned_b = {(q.schema, q.name): q.owned_by for q in self.b.sequences}
            handled = {(op.schema, op.name) for op in self.ops if isinstance(op, SetSequenceOwner)}
            for q in self.a.sequences:
                if q.schema != s or q.owned_by is None or q.owned_by[0] != n:
                    continue
                if (q.schema, q.name) in handled:
                    continue
                if owned_b.get((q.schema, q.name)) != q.owned_by:
                    continue
                owner = frozenset({node_key(q), _col_key(s, *q.owned_by)})
                self.emit(SetSequenceOwner(q.schema, q.name, q.owned_by, None), Deps(before=owner))
                self.emit(SetSequenceOwner(q.schema, q.name, None, q.owned_by), Deps(after=owner))

    # ------------------------------------------------------------------ rebuilding dependants

    def _rebuild_dependants(self) -> None:
        """Drop and recreate whatever depends on something rebuilt or altered in place and
        is not already dropped or created by an operation of its own."""
        touched: set[DepKey] = set()
        for op in self.ops:
            if isinstance(
                op,
                (
                    DropView,
                    DropFunction,
                    DropIndex,
                    DropTrigger,
                    DropPolicy,
                    Revoke,
                    DropConstraint,
                    DropTable,
                ),
            ):
                touched |= op.deps.removes
            if isinstance(op, (CreateView, CreateFunction, CreateIndex, CreateTrigger, CreatePolicy, Grant)):
                touched |= op.deps.adds
            if isinstance(op, (AddConstraint,)):
                touched.add(op.key)
            if isinstance(op, ReplaceFunction):
                touched.add(op.key)
        for op in self.ops:
            self.altered |= _breaks(op)
            if isinstance(op, RebuildTable):
                self.rebuilt.add(op.key)
        # Pure drops of objects that are created again count as rebuilt.
        adds = {k for op in self.ops for k in op.deps.adds}
        for op in self.ops:
            rebuildable = (
                DropTable,
                DropView,
                DropFunction,
                DropEnum,
                DropDomain,
                DropCompositeType,
                DropCollation,
            )
            if isinstance(op, rebuildable) and op.key in adds:
                self.rebuilt.add(op.key)
        strong_kinds = ("type", "func", "collation")
        dependants = list(self._dependants())
        changed = bool(self.rebuilt or self.altered)
        while changed:
            changed = False
            broken = self.rebuilt | self.altered
            strong = self.rebuilt | {k for k in self.altered if k[0] in strong_kinds}
            for kind, nodes_a, nodes_b in dependants:
                for key, node in nodes_a.items():
                    if key in touched or key not in nodes_b:
                        continue
                    needs = self._cached_requires(node)
                    hit = needs & (broken if kind in ("view", "function", "policy") else strong)
                    if not hit:
                        continue
                    self._rebuild(node, nodes_b[key])
                    touched.add(key)
                    self.rebuilt.add(key)
                    changed = True

    def _dependants(self) -> Iterator[tuple[str, dict[DepKey, Any], dict[DepKey, Any]]]:
        def keyed(nodes: Iterable[Any]) -> dict[DepKey, Any]:
            return {node_key(n): n for n in nodes}

        yield "view", keyed(self.a.views), keyed(self.b.views)
        yield "function", keyed(self.a.functions), keyed(self.b.functions)
        yield "policy", keyed(self.a.policies), keyed(self.b.policies)
        yield "trigger", keyed(self.a.triggers), keyed(self.b.triggers)
        yield "index", keyed(self.a.indexes), keyed(self.b.indexes)
        yield "privilege", keyed(self.a.privileges), keyed(self.b.privileges)
        cons_a: dict[DepKey, Any] = {}
        cons_b: dict[DepKey, Any] = {}
        for catalog, into in ((self.a, cons_a), (self.b, cons_b)):
            for t in catalog.tables:
                for c in t.constraints:
                    into[_con_key(t.schema, t.name, c.name)] = (t.schema, t.name, c)
        yield "constraint", cons_a, cons_b

    def _rebuild(self, old: Any, new: Any) -> None:
        if isinstance(old, tuple):  # a constraint: (schema, table, constraint)
            schema, table, con_old = old
            con_new = new[2]
            self.emit(
                DropConstraint(schema, table, con_old),
                Deps(
                    removes=frozenset(_constraint_keys(schema, table, con_old)),
                    before=self.constraint_requires(schema, table, con_old),
                ),
            )
            self.emit(
                AddConstraint(schema, table, con_new),
                Deps(
                    adds=frozenset(_constraint_keys(schema, table, con_new)),
                    after=self.constraint_requires(schema, table, con_new),
                ),
            )
            return
        drop_op, create_op = _DROP_CREATE[type(old)]
        self.drop(drop_op(old), old)
        self.create(create_op(new), new)


def _breaks(op: Operation) -> set[DepKey]:
    """Keys that an in-place change invalidates for dependants (PostgreSQL refuses to
    change a column's type under a view or a policy, or to drop a type still in use)."""
    if isinstance(op, (RebuildEnum, RebuildDomain, RebuildCollation)):
        out = {node_key(op.new)}
        for u in op.usages:
            out |= {_rel_key(u.schema, u.table), _col_key(u.schema, u.table, u.column)}
        return out
    if isinstance(op, AlterColumnType):
        return {_rel_key(op.schema, op.table), _col_key(op.schema, op.table, op.new.name)}
    if isinstance(op, (DropColumn, SetGenerated)):
        return {_col_key(op.schema, op.table, op.column.name if isinstance(op, DropColumn) else op.new.name)}
    return set()


def _inherited_only(column: Column) -> bool:
    """The column comes only from the table's parents (pg_attribute.attislocal false)."""
    return column.inherited


def _rebuild_replaces(op: Operation, table: tuple[str, str]) -> bool:
    """An operation on `table` that a RebuildTable of it makes redundant: column changes,
    storage and row-level security (the new table is created with the target's)."""
    column_ops = (
        AddColumn,
        DropColumn,
        AlterColumnType,
        SetGenerated,
        SetColumnDefault,
        SetNotNull,
        SetIdentity,
        AlterTableStorage,
        SetRowLevelSecurity,
    )
    return isinstance(op, column_ops) and (op.schema, op.table) == table


_DROP_CREATE: dict[type, tuple[Callable[[Any], Operation], Callable[[Any], Operation]]] = {
    View: (DropView, CreateView),
    Function: (DropFunction, CreateFunction),
    Policy: (DropPolicy, CreatePolicy),
    Trigger: (DropTrigger, CreateTrigger),
    Index: (DropIndex, CreateIndex),
    Privilege: (Revoke, Grant),
}


# =========================================================================== comparators

Comparator = Callable[[_Diff], None]
COMPARATORS: dict[str, Comparator] = {}


def comparator(kind: str) -> Callable[[Comparator], Comparator]:
    """Register the comparator for one object kind (run in registration order)."""

    def register(fn: Comparator) -> Comparator:
        COMPARATORS[kind] = fn
        return fn

    return register


def _pairs(a: Iterable[Any], b: Iterable[Any]) -> tuple[list[Any], list[Any], list[tuple[Any, Any]]]:
    """(only in a, only in b, in both) by identity."""
    ia = {identity_of(n): n for n in a}
    ib = {identity_of(n): n for n in b}
    return (
        [n for k, n in ia.items() if k not in ib],
        [n for k, n in ib.items() if k not in ia],
        [(n, ib[k]) for k, n in ia.items() if k in ib],
    )


def _comment(
    d: _Diff,
    kind: CommentKind,
    schema: str | None,
    name: str,
    old: str | None,
    new: str | None,
    *,
    sub: str | None = None,
    arguments: str | None = None,
    after: Iterable[DepKey] = (),
) -> None:
    if old != new:
        d.emit(SetComment(kind, schema, name, old, new, sub, arguments), Deps(after=frozenset(after)))


@comparator("schemas")
def _compare_schemas(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.schemas, d.b.schemas)
    for s in gone:
        d.drop(DropSchema(s), s)
    for s in new:
        d.create(CreateSchema(s), s)
    for old, s in both:
        if old == s:
            continue
        _comment(d, "SCHEMA", None, s.name, old.comment, s.comment, after=[node_key(s)])


@comparator("extensions")
def _compare_extensions(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.extensions, d.b.extensions)
    for e in gone:
        d.drop(DropExtension(e), e)
    for e in new:
        d.create(CreateExtension(e), e)
    for old, e in both:
        if old == e:
            continue
        # An unknown version (and, with it, an unknown absent comment) is no change.
        known = old.known and e.known
        version_changes = known and old.version != e.version
        if version_changes or old.schema != e.schema:
            d.emit(
                AlterExtension(old, e if version_changes else dataclasses.replace(e, version=old.version)),
                Deps(adds=frozenset({node_key(e)}), after=frozenset({_schema_key(e.schema)})),
            )
        unknown_comment = (not old.known and old.comment is None) or (not e.known and e.comment is None)
        if not unknown_comment:
            _comment(d, "EXTENSION", None, e.name, old.comment, e.comment, after=[node_key(e)])


def _enum_usages(d: _Diff, old: Enum | Domain, new: Enum | Domain) -> tuple[EnumUsage, ...]:
    """Columns typed with the enum or domain (or an array of it) that exist with that type
    on both sides, in tables that are neither dropped nor created."""
    usages = []
    for key, ta in d.tables_a.items():
        tb = d.tables_b.get(key)
        if tb is None:
            continue
        for ca in ta.columns:
            cb = tb.column(ca.name)
            if (
                cb is None
                or ca.data_type != cb.data_type
                or _user_type_of(ca.data_type) != (old.schema, old.name)
            ):
                continue
            if ta.partition_of is not None or (ta.inherits and _inherited(d, ta, ca.name)):
                continue  # the parent's change carries to it
            usages.append(EnumUsage(ta.schema, ta.name, ca.name, ca.data_type, ca.default, cb.default))
            d.enum_columns.add((ta.schema, ta.name, ca.name))
    return tuple(usages)


def _inherited(d: _Diff, table: Table, column: str) -> bool:
    parents = [d.tables_a.get(p) for p in table.inherits]
    if table.partition_of is not None:
        parents.append(d.tables_a.get((table.partition_of.parent_schema, table.partition_of.parent)))
    return any(p is not None and p.column(column) is not None for p in parents)


def _uses_new_label(d: _Diff, old: Enum, new: Enum) -> bool:
    """Whether some expression of `b` spells a label that `new` adds: ALTER TYPE ... ADD
    VALUE cannot be used in the transaction that adds it, so such an enum is rebuilt."""
    added = [lb for lb in new.labels if lb not in old.labels]
    # the type as canonical text spells it (`public."order"`, `"s$1"."e$x"`)
    qualified = qualified_name(new.schema, new.name)
    return any(
        qualified in text and any(_spells_label(text, label) for label in added) for text in _texts(d.b)
    )


def _spells_label(text: str, label: str) -> bool:
    """Whether `text` holds `label` as a string constant or an element of an array
    constant (`'c'`, `'{a,c}'`, `'{"c d"}'`). It may over-match (the enum is then
    rebuilt rather than extended, which is sound either way); it never misses."""
    for needle in {
        label.replace("'", "''"),
        label.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''"),
    }:
        start = text.find(needle)
        while start != -1:
            end = start + len(needle)
            before = text[start - 1] if start > 0 else ""
            after = text[end] if end < len(text) else ""
            if before in ("'", "{", ",", '"') and after in ("'", "}", ",", '"'):
                return True
            start = text.find(needle, start + 1)
    return False


def _texts(catalog: Catalog) -> Iterator[str]:
    for t in catalog.tables:
        for c in t.columns:
            if c.default:
                yield c.default
        for con in t.constraints:
            if isinstance(con, CheckConstraint):
                yield con.expression
    for v in catalog.views:
        yield v.definition
    for i in catalog.indexes:
        if i.predicate:
            yield i.predicate
    for p in catalog.policies:
        yield p.using or ""
        yield p.with_check or ""
    for f in catalog.functions:
        yield f.body
    for dom in catalog.domains:
        if dom.default:
            yield dom.default


def _collation_usages(d: _Diff, c: Collation) -> tuple[EnumUsage, ...]:
    """Table columns with collation `c` on both sides (same type), in tables neither
    dropped nor created; a partition's or inheritance child's column follows its parent."""
    key = node_key(c)
    usages = []
    for tkey, ta in d.tables_a.items():
        tb = d.tables_b.get(tkey)
        if tb is None or ta.partition_of is not None:
            continue
        for ca in ta.columns:
            cb = tb.column(ca.name)
            if cb is None or (ca.data_type, ca.collation) != (cb.data_type, cb.collation):
                continue
            if key not in d.refs.in_text(ca.collation) or (ta.inherits and _inherited(d, ta, ca.name)):
                continue
            usages.append(EnumUsage(ta.schema, ta.name, ca.name, ca.data_type))
    return tuple(usages)


@comparator("collations")
def _compare_collations(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.collations, d.b.collations)
    for c in gone:
        d.drop(DropCollation(c), c)
    for c in new:
        d.create(CreateCollation(c), c)
    for old, c in both:
        if old == c:
            continue
        if dataclasses.replace(old, comment=None) != dataclasses.replace(c, comment=None):
            usages = _collation_usages(d, c)
            if not usages:
                d.drop(DropCollation(old), old)
                d.create(CreateCollation(c), c)
                continue
            key = node_key(c)
            columns = {_col_key(u.schema, u.table, u.column) for u in usages}
            d.emit(
                RebuildCollation(old, c, usages),
                Deps(
                    adds=frozenset({key, *columns}),
                    removes=frozenset({key, *columns}),
                    after=frozenset({_rel_key(u.schema, u.table) for u in usages} | {_schema_key(c.schema)}),
                ),
            )
        else:
            _comment(d, "COLLATION", c.schema, c.name, old.comment, c.comment, after=[node_key(c)])


@comparator("types")
def _compare_types(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.enums, d.b.enums)
    for e in gone:
        d.drop(DropEnum(e), e)
    for e in new:
        d.create(CreateEnum(e), e)
    for old, e in both:
        if old == e:
            continue
        if old.labels != e.labels:
            usages = _enum_usages(d, old, e)
            key = node_key(e)
            tables = {_rel_key(u.schema, u.table) for u in usages}
            columns = {_col_key(u.schema, u.table, u.column) for u in usages}
            deps = Deps(
                adds=frozenset({key, *columns}),
                removes=frozenset({key, *columns}),
                after=frozenset(tables | {_schema_key(e.schema)}),
            )
            if _is_addition(old, e) and not _uses_new_label(d, old, e):
                # the columns' default changes are its own (the column comparator leaves
                # them to it, as it does for a rebuild)
                before: set[DepKey] = set()
                after: set[DepKey] = {_schema_key(e.schema)}
                for u in usages:
                    if u.old_default != u.new_default:
                        before |= d.refs.in_text(u.old_default)
                        after |= d.refs.in_text(u.new_default) | {_rel_key(u.schema, u.table)}
                d.emit(
                    AddEnumValue(old, e, usages),
                    Deps(
                        adds=frozenset({key}),
                        before=frozenset(before - {key}),
                        after=frozenset(after - {key}),
                    ),
                )
            else:
                d.emit(RebuildEnum(old, e, usages), deps)
        _comment(d, "TYPE", e.schema, e.name, old.comment, e.comment, after=[node_key(e)])

    gone_d, new_d, both_d = _pairs(d.a.domains, d.b.domains)
    for dom in gone_d:
        d.drop(DropDomain(dom), dom)
    for dom in new_d:
        d.create(CreateDomain(dom), dom)
    for old_d, dom in both_d:
        if old_d == dom:
            continue
        if (old_d.data_type, old_d.collation) != (dom.data_type, dom.collation):
            usages = _enum_usages(d, old_d, dom)
            key = node_key(dom)
            tables = {_rel_key(u.schema, u.table) for u in usages}
            columns = {_col_key(u.schema, u.table, u.column) for u in usages}
            needs_old, needs_new = d.requires(old_d), d.requires(dom)
            d.emit(
                RebuildDomain(old_d, dom, usages),
                Deps(
                    adds=frozenset({key, *columns}),
                    removes=frozenset({key, *columns}),
                    before=needs_old - needs_new,
                    after=frozenset(tables | needs_new),
                ),
            )
            continue
        if dataclasses.replace(old_d, comment=None) != dataclasses.replace(dom, comment=None):
            d.emit(
                AlterDomain(old_d, dom),
                Deps(
                    adds=frozenset({node_key(dom)}),
                    removes=frozenset({node_key(dom)}),
                    before=d.requires(old_d),
                    after=d.requires(dom),
                ),
            )
        _comment(d, "DOMAIN", dom.schema, dom.name, old_d.comment, dom.comment, after=[node_key(dom)])

    gone_c, new_c, both_c = _pairs(d.a.composite_types, d.b.composite_types)
    for ct in gone_c:
        d.drop(DropCompositeType(ct), ct)
    for ct in new_c:
        d.create(CreateCompositeType(ct), ct)
    for old_c, ct in both_c:
        if old_c == ct:
            continue
        if old_c.attributes != ct.attributes:
            d.emit(
                AlterCompositeType(old_c, ct),
                Deps(
                    adds=frozenset({node_key(ct)}),
                    removes=frozenset({node_key(ct)}),
                    before=d.requires(old_c),
                    after=d.requires(ct),
                ),
            )
        _comment(d, "TYPE", ct.schema, ct.name, old_c.comment, ct.comment, after=[node_key(ct)])

    gone_r, new_r, both_r = _pairs(d.a.range_types, d.b.range_types)
    for rt in gone_r:
        d.drop(DropRangeType(rt), rt)
    for rt in new_r:
        d.create(CreateRangeType(rt), rt)
    for old_r, rt in both_r:
        if old_r == rt:
            continue
        if old_r.subtype != rt.subtype:
            d.drop(DropRangeType(old_r), old_r)
            d.create(CreateRangeType(rt), rt)
        else:
            _comment(d, "TYPE", rt.schema, rt.name, old_r.comment, rt.comment, after=[node_key(rt)])


@comparator("sequences")
def _compare_sequences(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.sequences, d.b.sequences)

    def owner_deps(seq: Sequence) -> frozenset[DepKey]:
        if seq.owned_by is None:
            return frozenset({node_key(seq)})
        return frozenset({node_key(seq), _col_key(seq.schema, *seq.owned_by)})

    for s in gone:
        if s.owned_by is not None:
            d.emit(SetSequenceOwner(s.schema, s.name, s.owned_by, None), Deps(before=owner_deps(s)))
        d.drop(DropSequence(s), s)
    for s in new:
        d.create(CreateSequence(s), s)
        if s.owned_by is not None:
            d.emit(SetSequenceOwner(s.schema, s.name, None, s.owned_by), Deps(after=owner_deps(s)))
    for old, s in both:
        if old == s:
            continue
        plain_old = dataclasses.replace(old, owned_by=None, comment=None)
        plain_new = dataclasses.replace(s, owned_by=None, comment=None)
        if plain_old != plain_new:
            d.emit(
                AlterSequence(old, s),
                Deps(adds=frozenset({node_key(s)}), after=frozenset({_schema_key(s.schema)})),
            )
        if old.owned_by != s.owned_by:
            # Released and claimed in two steps: the old owner may be dropped only after
            # the release (or the sequence goes with it), the new one exists only later.
            if old.owned_by is not None:
                d.emit(SetSequenceOwner(s.schema, s.name, old.owned_by, None), Deps(before=owner_deps(old)))
            if s.owned_by is not None:
                d.emit(SetSequenceOwner(s.schema, s.name, None, s.owned_by), Deps(after=owner_deps(s)))
        _comment(d, "SEQUENCE", s.schema, s.name, old.comment, s.comment, after=[node_key(s)])


def _table_shape(t: Table) -> tuple[Any, ...]:
    """What cannot change without rebuilding the table."""
    return (t.partition_by,)


@comparator("tables")
def _compare_tables(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.tables, d.b.tables)
    rebuild = [(old, t) for old, t in both if _table_shape(old) != _table_shape(t)]
    for old, t in rebuild:
        gone.append(old)
        new.append(t)
    both = [(old, t) for old, t in both if _table_shape(old) == _table_shape(t)]

    for t in gone:
        _drop_table(d, t)
    for t in new:
        _create_table(d, t)
    for old, t in both:
        _alter_table(d, old, t)
    for old, _t in rebuild:
        d.rebuilt.add(node_key(old))


def _parent(catalog: Catalog, t: Table) -> Table | None:
    if t.partition_of is None:
        return None
    return catalog.table(t.partition_of.parent_schema, t.partition_of.parent)


def _table_subkeys(t: Table) -> set[DepKey]:
    keys = {_col_key(t.schema, t.name, c.name) for c in t.columns}
    for c in t.constraints:
        if not isinstance(c, ForeignKey):
            keys |= _constraint_keys(t.schema, t.name, c)
    return keys


def _constraint_keys(schema: str, table: str, con: Constraint) -> set[DepKey]:
    """A constraint's key, and the name of the index behind it (indexes share one
    namespace with tables, so a drop of the old holder must precede the new one)."""
    keys = {_con_key(schema, table, con.name)}
    if isinstance(con, (PrimaryKey, UniqueConstraint, ExclusionConstraint)):
        keys.add(("relname", schema, con.name))
    return keys


def _create_table(d: _Diff, t: Table) -> None:
    d.create(CreateTable(t, _parent(d.b, t)), t, adds=_table_subkeys(t))
    for con in t.constraints:
        if isinstance(con, ForeignKey):
            _add_constraint(d, t, con)
    if t.rls_enabled or t.rls_forced:
        d.emit(
            SetRowLevelSecurity(t.schema, t.name, False, t.rls_enabled, False, t.rls_forced),
            Deps(after=frozenset({node_key(t)})),
        )


def _drop_table(d: _Diff, t: Table) -> None:
    if t.rls_enabled or t.rls_forced:
        d.emit(
            SetRowLevelSecurity(t.schema, t.name, t.rls_enabled, False, t.rls_forced, False),
            Deps(before=frozenset({node_key(t)})),
        )
    for con in t.constraints:
        if isinstance(con, ForeignKey):
            _drop_constraint(d, t, con)
    d.drop(DropTable(t, _parent(d.a, t)), t, removes=_table_subkeys(t))


def _add_constraint(d: _Diff, t: Table, con: Constraint) -> None:
    d.emit(
        AddConstraint(t.schema, t.name, con),
        Deps(
            adds=frozenset(_constraint_keys(t.schema, t.name, con)),
            after=d.constraint_requires(t.schema, t.name, con),
        ),
    )


def _drop_constraint(d: _Diff, t: Table, con: Constraint) -> None:
    d.emit(
        DropConstraint(t.schema, t.name, con),
        Deps(
            removes=frozenset(_constraint_keys(t.schema, t.name, con)),
            before=d.constraint_requires(t.schema, t.name, con),
        ),
    )


def _column_follows_parent(d: _Diff, old: Table, new: Table) -> bool:
    """Partitions take their columns from the parent: adding, dropping or retyping a
    column there carries to every partition."""
    return old.partition_of is not None and new.partition_of is not None


def _alter_table(d: _Diff, old: Table, t: Table) -> None:
    if old == t and all(d.tables_a.get(p) == d.tables_b.get(p) for p in old.inherits):
        return  # (a child's columns may need care when a parent changes)
    first_op = len(d.ops)
    s, n = t.schema, t.name
    rel = node_key(t)
    # Partitioning and inheritance: detach before column changes, attach after.
    if old.partition_of != t.partition_of:
        if old.partition_of is not None:
            d.emit(
                DetachPartition(old),
                Deps(
                    removes=frozenset({("partition", s, n)}),
                    before=frozenset({_rel_key(old.partition_of.parent_schema, old.partition_of.parent)}),
                ),
            )
        if t.partition_of is not None:
            d.emit(
                AttachPartition(t),
                Deps(
                    adds=frozenset({("partition", s, n)}),
                    after=frozenset({rel, _rel_key(t.partition_of.parent_schema, t.partition_of.parent)}),
                ),
            )
    for ps, pn in old.inherits:
        if (ps, pn) not in t.inherits:
            d.emit(DropInherit(s, n, ps, pn), Deps(before=frozenset({_rel_key(ps, pn)})))
    for ps, pn in t.inherits:
        if (ps, pn) not in old.inherits:
            d.emit(AddInherit(s, n, ps, pn), Deps(after=frozenset({_rel_key(ps, pn)})))

    follows = _column_follows_parent(d, old, t)
    inherited_b = {
        c for p in t.inherits if (pt := d.tables_b.get(p)) is not None for c in (x.name for x in pt.columns)
    }
    inherited_a = {
        c for p in old.inherits if (pt := d.tables_a.get(p)) is not None for c in (x.name for x in pt.columns)
    }
    names_old = {c.name for c in old.columns}
    names_new = {c.name for c in t.columns}
    for c in old.columns:
        if (
            c.name not in names_new
            and not follows
            and not (c.name in inherited_a and _parent_drops(d, old, c.name))
        ):
            d.emit(
                DropColumn(s, n, c),
                Deps(
                    removes=frozenset({_col_key(s, n, c.name), rel}),
                    adds=frozenset({rel}),
                    before=frozenset(d.column_requires(c)),
                ),
            )
    for c in t.columns:
        if (
            c.name not in names_old
            and not follows
            and not (c.name in inherited_b and _parent_adds(d, t, c.name))
        ):
            d.emit(
                AddColumn(s, n, c),
                Deps(
                    adds=frozenset({_col_key(s, n, c.name), rel}),
                    removes=frozenset({rel}),
                    after=frozenset(d.column_requires(c)),
                ),
            )
    for co in old.columns:
        cn = t.column(co.name)
        if cn is not None:
            _alter_column(d, old, t, co, cn, follows)
            if co.inherited and co.name in inherited_a and _parent_drops(d, old, co.name):
                # a column the child only inherited goes with its parent's: add it back
                # (a column of its own stays, and needs nothing)
                parents = frozenset(_rel_key(*p) for p in old.inherits)
                d.emit(
                    AddColumn(s, n, cn, if_not_exists=True),
                    Deps(adds=frozenset({rel}), removes=frozenset({rel}), after=parents),
                )

    # Constraints by name; a changed one is dropped and added again.
    cons_old = {c.name: c for c in old.constraints}
    cons_new = {c.name: c for c in t.constraints}
    parent = _partition_parent(d, old, t)
    for name, con in cons_old.items():
        other = cons_new.get(name)
        if other is None and parent is not None and _mirrors(con, parent.constraints):
            continue  # attaching the partition takes this one over as the parent's
        if other is None or (other != con and _strip_comment(other) != _strip_comment(con)):
            _drop_constraint(d, old, con)
    for name, con in cons_new.items():
        other = cons_old.get(name)
        if other is None and parent is not None and _mirrors(con, parent.constraints):
            continue  # detaching the partition leaves the parent's copy behind as its own
        if other is None or (other != con and _strip_comment(other) != _strip_comment(con)):
            _add_constraint(d, t, con)
        elif other.comment != con.comment:
            _comment(
                d, "CONSTRAINT", s, n, other.comment, con.comment, sub=name, after=[_con_key(s, n, name)]
            )

    _note_column_order(d, old, t, d.ops[first_op:])
    if (old.unlogged, old.options) != (t.unlogged, t.options):
        d.emit(AlterTableStorage(s, n, old.unlogged, t.unlogged, old.options, t.options), Deps())
    if (old.rls_enabled, old.rls_forced) != (t.rls_enabled, t.rls_forced):
        d.emit(
            SetRowLevelSecurity(s, n, old.rls_enabled, t.rls_enabled, old.rls_forced, t.rls_forced), Deps()
        )
    _comment(d, "TABLE", s, n, old.comment, t.comment, after=[rel])


def _note_column_order(d: _Diff, old: Table, t: Table, ops: Iterable[Operation]) -> None:
    """Compare the column order that `ops` (the table's operations) leave with the
    target's."""
    if t.partition_of is not None:
        return  # a partition's columns follow its parent
    moved: set[str] = set()  # dropped and added again by an operation (so now last)
    added: list[str] = []
    for op in ops:
        if isinstance(op, (AddColumn, DropColumn, SetGenerated)) and (op.schema, op.table) == (
            t.schema,
            t.name,
        ):
            name = op.column.name if isinstance(op, (AddColumn, DropColumn)) else op.new.name
            if isinstance(op, DropColumn):
                moved.add(name)
            elif isinstance(op, SetGenerated) and not op.in_place:
                moved.add(name)
                added.append(name)
            elif isinstance(op, AddColumn) and name not in added:
                added.append(name)
    wanted = tuple(c.name for c in t.columns)
    kept = [c.name for c in old.columns if c.name in wanted and c.name not in moved and c.name not in added]
    reached = tuple(kept + [n for n in added if n in wanted])
    if sorted(reached) == sorted(wanted) and reached != wanted:
        d.emit(ColumnOrderNote(t.schema, t.name, reached, wanted), Deps())


def _partition_parent(d: _Diff, old: Table, new: Table) -> Table | None:
    """The partitioned parent when the table is attached or detached in this diff."""
    if old.partition_of == new.partition_of:
        return None
    p = new.partition_of or old.partition_of
    assert p is not None
    return d.tables_b.get((p.parent_schema, p.parent)) or d.tables_a.get((p.parent_schema, p.parent))


def _con_shape(con: Constraint) -> Constraint:
    return dataclasses.replace(con, name="", comment=None)


def _mirrors(con: Constraint, parents: tuple[Constraint, ...]) -> bool:
    """`con` is the partition's copy of one of the parent's constraints."""
    shape = _con_shape(con)
    return any(_con_shape(p) == shape for p in parents)


def _index_shape(index: Index) -> Index:
    return dataclasses.replace(index, name="", table="", comment=None)


def _mirrored_index(d: _Diff, index: Index, catalog: Catalog) -> bool:
    """`index` is a partition's copy of an index of its parent (attached or detached
    along with the partition in this diff)."""
    ta, tb = d.tables_a.get((index.schema, index.table)), d.tables_b.get((index.schema, index.table))
    if ta is None or tb is None:
        return False
    parent = _partition_parent(d, ta, tb)
    if parent is None:
        return False
    shape = _index_shape(index)
    by_table = d.indexes_by_table[0 if catalog is d.a else 1]
    return any(_index_shape(p) == shape for p in by_table.get((parent.schema, parent.name), ()))


def _parent_drops(d: _Diff, table: Table, column: str) -> bool:
    for p in table.inherits:
        pa, pb = d.tables_a.get(p), d.tables_b.get(p)
        if pa is not None and pa.column(column) is not None and (pb is None or pb.column(column) is None):
            return True
    return False


def _parent_adds(d: _Diff, table: Table, column: str) -> bool:
    for p in table.inherits:
        pa, pb = d.tables_a.get(p), d.tables_b.get(p)
        if pb is not None and pb.column(column) is not None and (pa is None or pa.column(column) is None):
            return True
    return False


def _strip_comment(con: Constraint) -> Constraint:
    return dataclasses.replace(con, comment=None)


def _alter_column(d: _Diff, old_t: Table, t: Table, co: Column, cn: Column, follows: bool) -> None:
    s, n = t.schema, t.name
    key = _col_key(s, n, cn.name)
    rel = _rel_key(s, n)
    if co.generated != cn.generated:
        d.emit(
            SetGenerated(s, n, co, cn),
            Deps(
                adds=frozenset({key, rel}),
                removes=frozenset({key, rel}),
                before=frozenset(d.column_requires(co)),
                after=frozenset(d.column_requires(cn)),
            ),
        )
        if cn.generated is not None or co.data_type == cn.data_type:
            return
        co = dataclasses.replace(co, generated=None)
    type_changes = (co.data_type, co.collation) != (cn.data_type, cn.collation) and not follows
    in_enum = (s, n, cn.name) in d.enum_columns
    default_changes = co.default != cn.default and not in_enum
    # Order within a column (reversing the list reverses it correctly too): drop the old
    # default and identity, change the type, then set nullability, identity and default.
    if (default_changes or (type_changes and co.default is not None)) and co.default is not None:
        d.emit(
            SetColumnDefault(s, n, cn.name, co.default, None),
            Deps(before=frozenset(d.refs.in_text(co.default))),
        )
    if co.identity != cn.identity and co.identity is not None and cn.identity is None:
        d.emit(SetIdentity(s, n, cn.name, co.identity, None), Deps())
    if type_changes:
        d.emit(
            AlterColumnType(s, n, co, cn),
            Deps(
                adds=frozenset({key, rel}),
                removes=frozenset({key, rel}),
                before=frozenset(d.refs.in_type(co.data_type) | d.refs.in_text(co.collation)),
                after=frozenset(d.refs.in_type(cn.data_type) | d.refs.in_text(cn.collation)),
            ),
        )
    if co.not_null != cn.not_null:
        d.emit(SetNotNull(s, n, cn.name, cn.not_null), Deps())
    if co.identity != cn.identity and cn.identity is not None:
        d.emit(SetIdentity(s, n, cn.name, co.identity, cn.identity), Deps())
    if (default_changes or (type_changes and co.default is not None)) and cn.default is not None:
        d.emit(
            SetColumnDefault(s, n, cn.name, None, cn.default),
            Deps(after=frozenset(d.refs.in_text(cn.default))),
        )
    if co.comment != cn.comment:
        _comment(d, "COLUMN", s, n, co.comment, cn.comment, sub=cn.name, after=[key])


@comparator("indexes")
def _compare_indexes(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.indexes, d.b.indexes)
    for i in gone:
        if not _mirrored_index(d, i, d.b):
            d.drop(DropIndex(i), i)
    for i in new:
        if not _mirrored_index(d, i, d.a):
            d.create(CreateIndex(i), i)
    for old, i in both:
        if old == i:
            continue
        if dataclasses.replace(old, comment=None) != dataclasses.replace(i, comment=None):
            d.drop(DropIndex(old), old)
            d.create(CreateIndex(i), i)
        else:
            _comment(d, "INDEX", i.schema, i.name, old.comment, i.comment, after=[node_key(i)])


def _view_comments(d: _Diff, old: View, v: View) -> None:
    kind: CommentKind = "MATERIALIZED VIEW" if v.materialized else "VIEW"
    _comment(d, kind, v.schema, v.name, old.comment, v.comment, after=[node_key(v)])
    old_cols = {c.name: c for c in old.columns}
    for c in v.columns:
        oc = old_cols.get(c.name)
        if oc is not None:
            _comment(d, "COLUMN", v.schema, v.name, oc.comment, c.comment, sub=c.name, after=[node_key(v)])


def _view_shape(v: View) -> View:
    return dataclasses.replace(
        v, comment=None, columns=tuple(dataclasses.replace(c, comment=None) for c in v.columns)
    )


@comparator("views")
def _compare_views(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.views, d.b.views)
    for v in gone:
        d.drop(DropView(v), v)
    for v in new:
        d.create(CreateView(v), v)
    for old, v in both:
        if old == v:
            continue
        if _view_shape(old) != _view_shape(v):
            d.drop(DropView(old), old)
            d.create(CreateView(v), v)
        else:
            _view_comments(d, old, v)


def _replaceable(old: Function, new: Function) -> bool:
    return (old.kind, old.returns, old.arguments) == (
        new.kind,
        new.returns,
        new.arguments,
    ) and new.kind != "aggregate"


@comparator("functions")
def _compare_functions(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.functions, d.b.functions)
    for f in gone:
        d.drop(DropFunction(f), f)
    for f in new:
        d.create(CreateFunction(f), f)
    for old, f in both:
        if old == f:
            continue
        if dataclasses.replace(old, comment=None) == dataclasses.replace(f, comment=None):
            kind: CommentKind = "PROCEDURE" if f.kind == "procedure" else "FUNCTION"
            _comment(
                d,
                kind,
                f.schema,
                f.name,
                old.comment,
                f.comment,
                arguments=f.identity_arguments,
                after=[node_key(f)],
            )
        elif _replaceable(old, f):
            d.emit(
                ReplaceFunction(old, f),
                Deps(
                    adds=frozenset({node_key(f)}),
                    removes=frozenset({node_key(f)}),
                    before=d.requires(old),
                    after=d.requires(f),
                ),
            )
        else:
            d.drop(DropFunction(old), old)
            d.create(CreateFunction(f), f)


@comparator("triggers")
def _compare_triggers(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.triggers, d.b.triggers)
    for t in gone:
        d.drop(DropTrigger(t), t)
    for t in new:
        d.create(CreateTrigger(t), t)
    for old, t in both:
        if old == t:
            continue
        if dataclasses.replace(old, comment=None, enabled="O") != dataclasses.replace(
            t, comment=None, enabled="O"
        ):
            d.drop(DropTrigger(old), old)
            d.create(CreateTrigger(t), t)
            continue
        if old.enabled != t.enabled:
            d.emit(SetTriggerEnabled(t, old.enabled, t.enabled), Deps(after=frozenset({node_key(t)})))
        _comment(d, "TRIGGER", t.schema, t.table, old.comment, t.comment, sub=t.name, after=[node_key(t)])


@comparator("policies")
def _compare_policies(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.policies, d.b.policies)
    for p in gone:
        d.drop(DropPolicy(p), p)
    for p in new:
        d.create(CreatePolicy(p), p)
    for old, p in both:
        if old == p:
            continue
        if dataclasses.replace(old, comment=None) != dataclasses.replace(p, comment=None):
            d.drop(DropPolicy(old), old)
            d.create(CreatePolicy(p), p)
        else:
            _comment(d, "POLICY", p.schema, p.table, old.comment, p.comment, sub=p.name, after=[node_key(p)])


@comparator("privileges")
def _compare_privileges(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.privileges, d.b.privileges)
    for p in gone:
        d.drop(Revoke(p), p)
    for p in new:
        d.create(Grant(p), p)
    for old, p in both:
        if old == p:
            continue
        if old != p:  # grant option changed
            d.drop(Revoke(old), old)
            d.create(Grant(p), p)


# =========================================================================== ordering


def order_operations(ops: list[Operation]) -> list[Operation]:
    """Sort topologically over the operations' Deps (see the module docstring); free
    choices go by phase, then by the order given. A cycle (which sound input should not
    produce) is broken at the operation that comes first by phase."""
    n = len(ops)
    adders: dict[DepKey, list[int]] = {}
    removers: dict[DepKey, list[int]] = {}
    for i, op in enumerate(ops):
        for k in op.deps.adds:
            adders.setdefault(k, []).append(i)
        for k in op.deps.removes:
            removers.setdefault(k, []).append(i)
    edges: list[set[int]] = [set() for _ in range(n)]
    for i, op in enumerate(ops):
        for k in op.deps.before:  # i uses k in the old state: before whatever removes it
            for j in removers.get(k, ()):
                if j != i:
                    edges[i].add(j)
        for k in op.deps.after:  # i uses k in the new state: after whatever adds it
            for j in adders.get(k, ()):
                if j != i:
                    edges[j].add(i)
        for k in op.deps.removes - op.deps.adds:  # a pure drop before a pure create
            for j in adders.get(k, ()):
                if j != i and k not in ops[j].deps.removes:
                    edges[i].add(j)
    indegree = [0] * n
    for targets in edges:
        for j in targets:
            indegree[j] += 1
    ready = [(ops[i].phase, i) for i in range(n) if indegree[i] == 0]
    heapq.heapify(ready)
    done = [False] * n
    out: list[Operation] = []
    while len(out) < n:
        if not ready:  # a cycle: take the earliest remaining by phase
            _, i = min((ops[i].phase, i) for i in range(n) if not done[i])
            indegree[i] = 0
            heapq.heappush(ready, (ops[i].phase, i))
        _, i = heapq.heappop(ready)
        if done[i]:
            continue
        done[i] = True
        out.append(ops[i])
        for j in edges[i]:
            if done[j]:
                continue
            indegree[j] -= 1
            if indegree[j] == 0:
                heapq.heappush(ready, (ops[j].phase, j))
    return out


def _columns_in_target_order(d: _Diff) -> None:
    """Columns dropped one after the other come back (reversed) in the opposite order:
    put each table's added columns back in the order its target declares them."""
    slots: dict[tuple[str, str], list[int]] = {}
    for i, op in enumerate(d.ops):
        if isinstance(op, AddColumn) and not op.if_not_exists:
            slots.setdefault((op.schema, op.table), []).append(i)
    for key, indexes in slots.items():
        target = d.tables_b.get(key)
        if target is None or len(indexes) < 2:
            continue
        order = {c.name: i for i, c in enumerate(target.columns)}
        added = sorted(
            (d.ops[i] for i in indexes),
            key=lambda op: order.get(op.column.name, len(order)) if isinstance(op, AddColumn) else 0,
        )
        for i, op in zip(indexes, added, strict=True):
            d.ops[i] = op


def reverse_operations(
    ops: list[Operation], a: Catalog, b: Catalog, *, reorder_columns: bool = False
) -> list[Operation]:
    """The operations that undo `ops` = diff(a, b): a down migration from `b` back to `a`,
    ordered. Each operation's reverse(), plus the dependants that the reversed changes
    need rebuilt (an added enum label is undone by rebuilding the enum, which the views
    over its columns must make way for, while adding it needed no such thing). With
    `reorder_columns`, a table whose old column order the reversed operations cannot
    reach is rebuilt (as diff() does)."""
    d = _Diff(b, a, reorder_columns=reorder_columns)
    d.ops = [op.reverse() for op in reversed(ops) if not isinstance(op, ColumnOrderNote)]
    _columns_in_target_order(d)
    # A table rebuilt one way is rebuilt the other way too, its dependencies worked out
    # anew (it runs once the parents of an inheritance child have their new columns,
    # which is no reversal of the way up).
    rebuilt_tables = {(op.new.schema, op.new.name) for op in d.ops if isinstance(op, RebuildTable)}
    d.ops = [op for op in d.ops if not isinstance(op, RebuildTable)]
    by_table: dict[tuple[str, str], list[Operation]] = {}
    for op in d.ops:
        if isinstance(op, (AddColumn, DropColumn, SetGenerated)):
            by_table.setdefault((op.schema, op.table), []).append(op)
    for key, ops_of_table in by_table.items():
        old, new = d.tables_a.get(key), d.tables_b.get(key)
        if old is not None and new is not None and key not in rebuilt_tables:
            _note_column_order(d, old, new, ops_of_table)
    if reorder_columns or rebuilt_tables:
        d._rebuild_for_column_order(sorted(rebuilt_tables))
    d._rebuild_dependants()
    return order_operations(d.ops)


def diff(a: Catalog, b: Catalog, *, reorder_columns: bool = False) -> list[Operation]:
    """The ordered operations that turn catalog `a` into catalog `b`.

    ALTER TABLE only appends columns, so by default a table whose target column order
    cannot be reached that way keeps its order and gets a ColumnOrderNote. With
    `reorder_columns`, such a table is rebuilt instead (RebuildTable: its rows are copied
    into a new table with the columns in order)."""
    return _Diff(a, b, reorder_columns=reorder_columns).run()
