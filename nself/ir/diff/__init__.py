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

What a view, a column default or generation expression, a CHECK constraint (of a table
or a domain), a domain's default, an exclusion constraint, an index, a policy, a trigger or
a SQL-standard routine uses is its `depends_on` (relations, columns, functions, types,
operators, those CREATE OPERATOR made being objects of the diff: from pg_depend and
pg_constraint, or from the sql frontend's analysed expressions); what a `LANGUAGE sql`
body in a string uses is its `body_depends_on` (analysed by both frontends: PostgreSQL
checks it at creation, records nothing, and never asks for the routine to be rebuilt for
it). Where neither is known
(None: an IR document written before it, a body statement the frontends do not model,
which the sql frontend warns of), references are found by scanning the canonical text,
where everything outside pg_catalog is schema-qualified (see `nself.ir.model`), for
`schema.name` pairs that name an object of either catalog. Text is read otherwise only for
what has no depends_on in the IR: names in name fields (types, collations, operator
classes). The collations an expression uses (a COLLATE clause, a binary-coercible cast's
result collation, an index or partition key's, a view column's) are `collation`
dependencies. An aggregate uses what its depends_on lists
(its functions, SORTOP and state types).
A partitioned table's key uses what its `PartitionSpec.depends_on` lists: the diff refuses
(UnsafeDiff) to drop a routine or type a key uses, or to change a key column's type, on a
table that stays (PostgreSQL would drop the table and its partitions with their rows), and
a routine the key uses replaced in place gets a PartitionKeyNote (a warning: stored rows
may now belong to another partition).
A publication's row filter and column list use what its `PublicationTable.depends_on` lists;
a routine's argument defaults use what its `defaults_depends_on`
(any body but a SQL-standard one, which holds them in `depends_on`) lists.

Dependants are rebuilt: when an object is dropped and created again, or a column's type
changes, or an enum is rebuilt, every view, function, trigger, policy, index, constraint,
column default or generation expression, or grant that depends on it and would otherwise
stay is dropped first and created again afterwards.

Column order. ALTER TABLE only appends columns. By default a table whose target column
order cannot be reached that way keeps its rows and its order, and the diff says so with a
ColumnOrderNote. With `reorder_columns=True` such a table is rebuilt instead (RebuildTable:
a new table with the columns in order, the rows copied across, dependants recreated), as
is an inheritance child whose parents gain columns or whose columns change between local
and inherited-only, and an inheritance parent with its children. Partitioned tables and
partitions are not rebuilt (they keep the note).

Layout (the parts, as Alembic splits its autogenerate):
- `operations`: the operation classes, each with reverse() and its key; Create/Drop pairs
  share one generic base (NodeOperation);
- `deps`: dependency keys; `references`: names inside IR text resolved to keys;
- `context`: one comparison (state, requirements, emitting, the comparator registry, and
  the rebuilding of tables and dependants after the comparators);
- `comparators/`: one module per object kind, each registering its comparator;
- `ordering`: the topological sort; `plan`: diff() and reverse_operations()."""

from __future__ import annotations

from nself.ir.diff import comparators as comparators  # registers one comparator per object kind
from nself.ir.diff.context import COMPARATORS, Comparator, UnsafeDiff, comparator
from nself.ir.diff.deps import DepKey, Deps, node_key
from nself.ir.diff.operations import (
    AddColumn,
    AddConstraint,
    AddEnumValue,
    AddInherit,
    AlterColumnType,
    AlterCompositeType,
    AlterDomain,
    AlterExtension,
    AlterPublication,
    AlterSequence,
    AlterTableStorage,
    AttachPartition,
    ColumnOrderNote,
    CommentKind,
    CreateCollation,
    CreateCompositeType,
    CreateDomain,
    CreateEnum,
    CreateExtension,
    CreateFunction,
    CreateIndex,
    CreateOperator,
    CreatePolicy,
    CreatePublication,
    CreateRangeType,
    CreateSchema,
    CreateSequence,
    CreateTable,
    CreateTrigger,
    CreateView,
    DetachPartition,
    DropCollation,
    DropColumn,
    DropCompositeType,
    DropConstraint,
    DropDomain,
    DropEnum,
    DropExtension,
    DropFunction,
    DropIndex,
    DropInherit,
    DropOperator,
    DropPolicy,
    DropPublication,
    DropRangeType,
    DropSchema,
    DropSequence,
    DropTable,
    DropTrigger,
    DropView,
    EnumUsage,
    Grant,
    Operation,
    PartitionKeyNote,
    RebuildCollation,
    RebuildDomain,
    RebuildEnum,
    RebuildTable,
    ReplaceFunction,
    Revoke,
    SetColumnDefault,
    SetComment,
    SetGenerated,
    SetIdentity,
    SetNotNull,
    SetReplicaIdentity,
    SetRowLevelSecurity,
    SetSequenceOwner,
    SetTriggerEnabled,
    is_widening,
)
from nself.ir.diff.ordering import order_operations
from nself.ir.diff.plan import diff, reverse_operations

__all__ = [
    "COMPARATORS",
    "AddColumn",
    "AddConstraint",
    "AddEnumValue",
    "AddInherit",
    "AlterColumnType",
    "AlterCompositeType",
    "AlterDomain",
    "AlterExtension",
    "AlterPublication",
    "AlterSequence",
    "AlterTableStorage",
    "AttachPartition",
    "ColumnOrderNote",
    "CommentKind",
    "Comparator",
    "CreateCollation",
    "CreateCompositeType",
    "CreateDomain",
    "CreateEnum",
    "CreateExtension",
    "CreateFunction",
    "CreateIndex",
    "CreateOperator",
    "CreatePolicy",
    "CreatePublication",
    "CreateRangeType",
    "CreateSchema",
    "CreateSequence",
    "CreateTable",
    "CreateTrigger",
    "CreateView",
    "DepKey",
    "Deps",
    "DetachPartition",
    "DropCollation",
    "DropColumn",
    "DropCompositeType",
    "DropConstraint",
    "DropDomain",
    "DropEnum",
    "DropExtension",
    "DropFunction",
    "DropIndex",
    "DropInherit",
    "DropOperator",
    "DropPolicy",
    "DropPublication",
    "DropRangeType",
    "DropSchema",
    "DropSequence",
    "DropTable",
    "DropTrigger",
    "DropView",
    "EnumUsage",
    "Grant",
    "Operation",
    "PartitionKeyNote",
    "RebuildCollation",
    "RebuildDomain",
    "RebuildEnum",
    "RebuildTable",
    "ReplaceFunction",
    "Revoke",
    "SetColumnDefault",
    "SetComment",
    "SetGenerated",
    "SetIdentity",
    "SetNotNull",
    "SetReplicaIdentity",
    "SetRowLevelSecurity",
    "SetSequenceOwner",
    "SetTriggerEnabled",
    "UnsafeDiff",
    "comparator",
    "diff",
    "is_widening",
    "node_key",
    "order_operations",
    "reverse_operations",
]
