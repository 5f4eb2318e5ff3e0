"""The operations of a migration: one frozen dataclass per change, each with its reverse() and
the key of the object it acts on. A Create and its Drop (and Grant and Revoke) are pairs of
one generic base, NodeOperation: each is the other's reverse."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import field
from typing import Any, ClassVar, Literal

from nself.ir.diff.deps import DepKey, Deps, _col_key, _con_key, _rel_key, node_key
from nself.ir.diff.references import _user_type_of
from nself.ir.model import (
    Collation,
    Column,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    Extension,
    ForeignKey,
    Function,
    Identity,
    Index,
    Operator,
    Policy,
    Privilege,
    Publication,
    RangeType,
    ReplicaIdentity,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)
from nself.ir.record import record


@record
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


@record
class NodeOperation(Operation):
    """Creates or drops (grants or revokes) one whole node, held in its first field. Each
    such class has a partner with the same fields (CreateTable and DropTable, Grant and
    Revoke, paired by `_pair` below): its reverse is the partner over the same node."""

    partner: ClassVar[type[NodeOperation]]

    def _payload(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "deps"}

    def reverse(self) -> Operation:
        return self._rev(self.partner(**self._payload()))

    @property
    def key(self) -> DepKey:
        return node_key(next(iter(self._payload().values())))


def _pair(create: type[NodeOperation], drop: type[NodeOperation]) -> None:
    create.partner, drop.partner = drop, create


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


@record
class CreateSchema(NodeOperation):
    schema: Schema
    phase: ClassVar[int] = _P_CREATE_SCHEMA


@record
class DropSchema(NodeOperation):
    schema: Schema
    phase: ClassVar[int] = _P_DROP_SCHEMA


@record
class CreateExtension(NodeOperation):
    extension: Extension
    phase: ClassVar[int] = _P_CREATE_EXTENSION


@record
class DropExtension(NodeOperation):
    extension: Extension
    phase: ClassVar[int] = _P_DROP_EXTENSION

    @property
    def destructive(self) -> str | None:
        e = self.extension
        if e.tables:
            return (
                f"drops extension {e.name} and the tables it owns ({', '.join(e.tables)}) "
                "with their rows, and the data of its other objects"
            )
        return f"drops extension {e.name} and the data of its objects"


@record
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


@record
class CreateCollation(NodeOperation):
    collation: Collation
    phase: ClassVar[int] = _P_CREATE_TYPE


@record
class DropCollation(NodeOperation):
    collation: Collation
    phase: ClassVar[int] = _P_DROP_TYPE


@record
class RebuildCollation(Operation):
    """A collation whose definition changes while columns or domains use it (PostgreSQL
    has no ALTER for it, and refuses to drop it in use): rename the old one away, create
    the new one, rebuild each domain of that collation (as RebuildDomain: renamed away,
    created again, its columns moved across), move each column across (ALTER COLUMN ...
    TYPE ... COLLATE, which rebuilds its indexes), drop the old one."""

    old: Collation
    new: Collation
    usages: tuple[EnumUsage, ...] = ()  # the columns, with their (unchanged) data type
    # the domains of the collation (unchanged otherwise), with the columns that use them
    domains: tuple[tuple[Domain, tuple[EnumUsage, ...]], ...] = ()
    phase: ClassVar[int] = _P_ALTER_TYPE

    def reverse(self) -> Operation:
        domains = tuple((dom, tuple(u.reversed() for u in usages)) for dom, usages in self.domains)
        return self._rev(RebuildCollation(self.new, self.old, self.usages, domains))

    @property
    def key(self) -> DepKey:
        return node_key(self.new)


@record
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


@record
class CreateEnum(NodeOperation):
    enum: Enum
    phase: ClassVar[int] = _P_CREATE_TYPE


@record
class DropEnum(NodeOperation):
    enum: Enum
    phase: ClassVar[int] = _P_DROP_TYPE


@record
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


@record
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


@record
class CreateDomain(NodeOperation):
    domain: Domain
    phase: ClassVar[int] = _P_CREATE_TYPE


@record
class DropDomain(NodeOperation):
    domain: Domain
    phase: ClassVar[int] = _P_DROP_TYPE


@record
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


@record
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


@record
class CreateCompositeType(NodeOperation):
    type: CompositeType
    phase: ClassVar[int] = _P_CREATE_TYPE


@record
class DropCompositeType(NodeOperation):
    type: CompositeType
    phase: ClassVar[int] = _P_DROP_TYPE


@record
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


@record
class CreateRangeType(NodeOperation):
    type: RangeType
    phase: ClassVar[int] = _P_CREATE_TYPE


@record
class DropRangeType(NodeOperation):
    type: RangeType
    phase: ClassVar[int] = _P_DROP_TYPE


@record
class CreateSequence(NodeOperation):
    sequence: Sequence  # created without OWNED BY; see SetSequenceOwner
    phase: ClassVar[int] = _P_CREATE_SEQUENCE


@record
class DropSequence(NodeOperation):
    sequence: Sequence
    phase: ClassVar[int] = _P_DROP_SEQUENCE


@record
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


@record
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


@record
class CreateTable(NodeOperation):
    """CREATE TABLE with its columns and its non-foreign-key constraints (foreign keys are
    AddConstraint operations, so cycles between tables cannot block creation)."""

    table: Table
    parent: Table | None = None  # the partitioned parent, for a partition
    phase: ClassVar[int] = _P_CREATE_TABLE


@record
class DropTable(NodeOperation):
    table: Table
    parent: Table | None = None
    phase: ClassVar[int] = _P_DROP_TABLE

    @property
    def destructive(self) -> str | None:
        return f"drops table {self.table.schema}.{self.table.name} and its rows"


@record
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


@record
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


@record
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


@record
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


@record
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


@record
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


@record
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


@record
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


@record
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


@record
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


@record
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


@record
class AttachPartition(Operation):
    table: Table  # the table as a partition (its partition_of set)
    phase: ClassVar[int] = _P_ATTACH

    def reverse(self) -> Operation:
        return self._rev(DetachPartition(self.table))

    @property
    def key(self) -> DepKey:
        return ("partition", self.table.schema, self.table.name)


@record
class DetachPartition(Operation):
    table: Table
    phase: ClassVar[int] = _P_DETACH

    def reverse(self) -> Operation:
        return self._rev(AttachPartition(self.table))

    @property
    def key(self) -> DepKey:
        return ("partition", self.table.schema, self.table.name)


@record
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


@record
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


@record
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


@record
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


@record
class CreateIndex(NodeOperation):
    index: Index
    phase: ClassVar[int] = _P_CREATE_INDEX


@record
class DropIndex(NodeOperation):
    index: Index
    phase: ClassVar[int] = _P_DROP_INDEX


@record
class CreateView(NodeOperation):
    view: View
    phase: ClassVar[int] = _P_CREATE_VIEW


@record
class DropView(NodeOperation):
    view: View
    phase: ClassVar[int] = _P_DROP_VIEW


@record
class CreateFunction(NodeOperation):
    function: Function
    phase: ClassVar[int] = _P_CREATE_FUNCTION


@record
class DropFunction(NodeOperation):
    function: Function
    phase: ClassVar[int] = _P_DROP_FUNCTION


@record
class CreateOperator(NodeOperation):
    operator: Operator
    phase: ClassVar[int] = _P_CREATE_FUNCTION


@record
class DropOperator(NodeOperation):
    operator: Operator
    phase: ClassVar[int] = _P_DROP_FUNCTION


@record
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


@record
class PartitionKeyNote(Operation):
    """A routine that a partitioned table's key uses is replaced in place (CREATE OR REPLACE:
    its body or attributes change, its signature and result stay). PostgreSQL lets it, but
    the rows already stored were routed by the old routine: some may now belong to another
    partition. Renders as a comment and is told as a warning; it changes nothing."""

    schema: str
    table: str
    partition_key: str  # `RANGE (app.bucket(n))`
    routine: str  # the routine's signature
    phase: ClassVar[int] = _P_COMMENT

    def reverse(self) -> Operation:
        return self._rev(PartitionKeyNote(self.schema, self.table, self.partition_key, self.routine))

    @property
    def key(self) -> DepKey:
        return ("partition-key-note", self.schema, self.table, self.routine)

    def message(self) -> str:
        return (
            f"{self.schema}.{self.table}: its partition key {self.partition_key} uses {self.routine}, "
            "replaced in place "
            "(CREATE OR REPLACE): rows already stored may now belong to another partition"
        )


@record
class CreateTrigger(NodeOperation):
    trigger: Trigger
    phase: ClassVar[int] = _P_CREATE_TRIGGER


@record
class DropTrigger(NodeOperation):
    trigger: Trigger
    phase: ClassVar[int] = _P_DROP_TRIGGER


@record
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


@record
class CreatePolicy(NodeOperation):
    policy: Policy
    phase: ClassVar[int] = _P_CREATE_POLICY


@record
class DropPolicy(NodeOperation):
    policy: Policy
    phase: ClassVar[int] = _P_DROP_POLICY


@record
class Grant(NodeOperation):
    privilege: Privilege
    phase: ClassVar[int] = _P_GRANT


@record
class Revoke(NodeOperation):
    privilege: Privilege
    phase: ClassVar[int] = _P_REVOKE


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
    "OPERATOR",
    "TRIGGER",
    "POLICY",
    "PUBLICATION",
]


@record
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


for _create, _drop in (
    (CreateSchema, DropSchema),
    (CreateExtension, DropExtension),
    (CreateCollation, DropCollation),
    (CreateOperator, DropOperator),
    (CreateEnum, DropEnum),
    (CreateDomain, DropDomain),
    (CreateCompositeType, DropCompositeType),
    (CreateRangeType, DropRangeType),
    (CreateSequence, DropSequence),
    (CreateTable, DropTable),
    (CreateIndex, DropIndex),
    (CreateView, DropView),
    (CreateFunction, DropFunction),
    (CreateTrigger, DropTrigger),
    (CreatePolicy, DropPolicy),
    (Grant, Revoke),
):
    _pair(_create, _drop)


# --------------------------------------------------------------------------- publications


@record
class CreatePublication(NodeOperation):
    publication: Publication
    phase: ClassVar[int] = _P_GRANT


@record
class DropPublication(NodeOperation):
    publication: Publication
    phase: ClassVar[int] = _P_REVOKE


_pair(CreatePublication, DropPublication)


@record
class AlterPublication(Operation):
    """The same publication (not FOR ALL TABLES on one side only) with other tables,
    schemas or options: ALTER PUBLICATION ... SET."""

    old: Publication
    new: Publication
    phase: ClassVar[int] = _P_GRANT

    def reverse(self) -> Operation:
        return self._rev(AlterPublication(self.new, self.old))

    @property
    def key(self) -> DepKey:
        return ("publication", self.new.name)


@record
class SetReplicaIdentity(Operation):
    schema: str
    table: str
    old_identity: ReplicaIdentity
    old_index: str | None
    new_identity: ReplicaIdentity
    new_index: str | None
    phase: ClassVar[int] = _P_RLS

    def reverse(self) -> Operation:
        return self._rev(
            SetReplicaIdentity(
                self.schema, self.table, self.new_identity, self.new_index, self.old_identity, self.old_index
            )
        )

    @property
    def key(self) -> DepKey:
        return ("replident", self.schema, self.table)
