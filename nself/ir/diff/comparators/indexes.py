"""The comparator of indexes."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.comparators.tables import _mirrored_index
from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import node_key
from nself.ir.diff.operations import CreateIndex, DropIndex


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
