"""The comparator of triggers."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import Deps, node_key
from nself.ir.diff.operations import CreateTrigger, DropTrigger, SetTriggerEnabled


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
