"""The entry points: diff(a, b) and reverse_operations (a down migration from each operation's reverse())."""

from __future__ import annotations

from nself.ir.diff.comparators.tables import _note_column_order
from nself.ir.diff.context import _Diff
from nself.ir.diff.operations import (
    AddColumn,
    ColumnOrderNote,
    DropColumn,
    Operation,
    PartitionKeyNote,
    RebuildTable,
    SetGenerated,
)
from nself.ir.diff.ordering import order_operations
from nself.ir.model import Catalog


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
    d.ops = [op.reverse() for op in reversed(ops) if not isinstance(op, (ColumnOrderNote, PartitionKeyNote))]
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
    d._guard_partition_keys()
    return order_operations(d.ops)


def diff(a: Catalog, b: Catalog, *, reorder_columns: bool = False) -> list[Operation]:
    """The ordered operations that turn catalog `a` into catalog `b`.

    ALTER TABLE only appends columns, so by default a table whose target column order
    cannot be reached that way keeps its order and gets a ColumnOrderNote. With
    `reorder_columns`, such a table is rebuilt instead (RebuildTable: its rows are copied
    into a new table with the columns in order)."""
    return _Diff(a, b, reorder_columns=reorder_columns).run()
