"""The comparator of tables: columns, constraints, partitions and inheritance, storage, row-level security, and
the column order that ALTER TABLE can reach."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import DepKey, Deps, _col_key, _con_key, _constraint_keys, _rel_key, node_key
from nself.ir.diff.operations import (
    AddColumn,
    AddConstraint,
    AddInherit,
    AlterColumnType,
    AlterTableStorage,
    AttachPartition,
    ColumnOrderNote,
    CreateTable,
    DetachPartition,
    DropColumn,
    DropConstraint,
    DropInherit,
    DropTable,
    Operation,
    SetColumnDefault,
    SetGenerated,
    SetIdentity,
    SetNotNull,
    SetRowLevelSecurity,
)
from nself.ir.model import Catalog, Column, Constraint, ForeignKey, Index, Table


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
    if co.generated != cn.generated and co.generated is not None and cn.generated is not None:
        # in two steps, so that what the old expression uses can go in between (a
        # function dropped and created again): DROP EXPRESSION, then the new one
        plain = dataclasses.replace(co, generated=None, depends_on=None)
        # (DROP EXPRESSION keeps the column; its reverse drops and adds it again)
        d.emit(
            SetGenerated(s, n, co, plain),
            Deps(
                adds=frozenset({key, rel}),
                removes=frozenset({key, rel}),
                before=frozenset(d.column_requires(co)),
            ),
        )
        co = plain
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
            Deps(before=frozenset(d.default_requires(co))),
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
            Deps(after=frozenset(d.default_requires(cn))),
        )
    if co.comment != cn.comment:
        _comment(d, "COLUMN", s, n, co.comment, cn.comment, sub=cn.name, after=[key])
