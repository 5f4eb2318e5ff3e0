"""The comparator of publications, and of tables' replica identity (what logical
replication sends of a changed row)."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.context import _breaks, _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import Deps, _rel_key, node_key
from nself.ir.diff.operations import (
    AlterPublication,
    CreatePublication,
    DropPublication,
    DropTable,
    RebuildTable,
    SetReplicaIdentity,
)
from nself.ir.model import Index


@comparator("publications")
def _compare_publications(d: _Diff) -> None:
    # a table dropped and created again, or rebuilt, leaves every publication that listed it
    recreated = {op.key for op in d.ops if isinstance(op, (DropTable, RebuildTable))}
    # a column whose type changes (or that goes) under a row filter or a column list:
    # PostgreSQL refuses it while the publication uses the column
    broken = {k for op in d.ops for k in _breaks(op) if k[0] == "col"}
    gone, new, both = _pairs(d.a.publications, d.b.publications)
    for p in gone:
        d.drop(DropPublication(p), p)
    for p in new:
        d.create(CreatePublication(p), p)
    for old, p in both:
        loses_tables = any(_rel_key(t.schema, t.table) in recreated for t in p.tables) or bool(
            broken and d.requires(old) & broken
        )
        if old == p and not loses_tables:
            continue
        if old.all_tables != p.all_tables or loses_tables:
            d.drop(DropPublication(old), old)
            d.create(CreatePublication(p), p)
            continue
        if dataclasses.replace(old, comment=None) != dataclasses.replace(p, comment=None):
            d.emit(
                AlterPublication(old, p),
                Deps(before=d.requires(old), after=d.requires(p) | {node_key(p)}),
            )
        _comment(d, "PUBLICATION", None, p.name, old.comment, p.comment, after=[node_key(p)])


@comparator("replica_identity")
def _compare_replica_identity(d: _Diff) -> None:
    for key, t in d.tables_b.items():
        old = d.tables_a.get(key)
        was = ("DEFAULT", None) if old is None else (old.replica_identity, old.replica_identity_index)
        if was == (t.replica_identity, t.replica_identity_index):
            continue
        after = {node_key(t)}
        if t.replica_identity_index is not None:
            index = next((i for i in d.b.indexes if (i.schema, i.name) == (t.schema, t.replica_identity_index)), None)
            after.add(node_key(index) if isinstance(index, Index) else ("relname", t.schema, t.replica_identity_index))
        d.emit(
            SetReplicaIdentity(t.schema, t.name, was[0], was[1], t.replica_identity, t.replica_identity_index),  # type: ignore[arg-type]
            Deps(after=frozenset(after)),
        )
