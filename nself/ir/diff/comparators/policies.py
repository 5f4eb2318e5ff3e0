"""The comparator of row-level security policies."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import node_key
from nself.ir.diff.operations import CreatePolicy, DropPolicy


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
