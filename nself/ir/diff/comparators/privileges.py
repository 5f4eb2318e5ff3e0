"""The comparator of grants."""

from __future__ import annotations

from nself.ir.diff.context import _Diff, _pairs, comparator
from nself.ir.diff.operations import Grant, Revoke


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
