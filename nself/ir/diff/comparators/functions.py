"""The comparator of functions, procedures and aggregates."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import Deps, node_key
from nself.ir.diff.operations import CommentKind, CreateFunction, DropFunction, ReplaceFunction
from nself.ir.model import Function


def _replaceable(old: Function, new: Function) -> bool:
    return (old.kind, old.returns, old.arguments) == (
        new.kind,
        new.returns,
        new.arguments,
    ) and new.kind != "aggregate"


@comparator("functions")
def _compare_functions(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.functions, d.b.functions)
    for f in gone:
        d.drop(DropFunction(f), f)
    for f in new:
        d.create(CreateFunction(f), f)
    for old, f in both:
        if old == f:
            continue
        if dataclasses.replace(old, comment=None) == dataclasses.replace(f, comment=None):
            kind: CommentKind = "PROCEDURE" if f.kind == "procedure" else "FUNCTION"
            _comment(
                d,
                kind,
                f.schema,
                f.name,
                old.comment,
                f.comment,
                arguments=f.identity_arguments,
                after=[node_key(f)],
            )
        elif _replaceable(old, f):
            d.emit(
                ReplaceFunction(old, f),
                Deps(
                    adds=frozenset({node_key(f)}),
                    removes=frozenset({node_key(f)}),
                    before=d.requires(old),
                    after=d.requires(f),
                ),
            )
        else:
            d.drop(DropFunction(old), old)
            d.create(CreateFunction(f), f)
