"""The comparator of views and materialized views."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import node_key
from nself.ir.diff.operations import CommentKind, CreateView, DropView
from nself.ir.model import View


def _view_comments(d: _Diff, old: View, v: View) -> None:
    kind: CommentKind = "MATERIALIZED VIEW" if v.materialized else "VIEW"
    _comment(d, kind, v.schema, v.name, old.comment, v.comment, after=[node_key(v)])
    old_cols = {c.name: c for c in old.columns}
    for c in v.columns:
        oc = old_cols.get(c.name)
        if oc is not None:
            _comment(d, "COLUMN", v.schema, v.name, oc.comment, c.comment, sub=c.name, after=[node_key(v)])


def _view_shape(v: View) -> View:
    """What a view is, for comparison: not its comments, nor its dependencies (which follow
    from its definition, and which a side read from an older IR document does not know)."""
    return dataclasses.replace(
        v,
        comment=None,
        columns=tuple(dataclasses.replace(c, comment=None) for c in v.columns),
        depends_on=None,
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
