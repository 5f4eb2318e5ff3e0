"""The comparator of operators (CREATE OPERATOR's). PostgreSQL 15's ALTER OPERATOR changes
only the estimators, so any other change drops the operator and creates it again, with what
uses it (indexes, constraints, defaults, views: rebuilt as dependants)."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import node_key
from nself.ir.diff.operations import CreateOperator, DropOperator
from nself.ir.model import Operator


@comparator("operators")
def _compare_operators(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.operators, d.b.operators)
    for o in gone:
        d.drop(DropOperator(o), o)
    for o in new:
        d.create(CreateOperator(o), o)
    for old, o in both:
        if old == o:
            continue
        if dataclasses.replace(old, comment=None) == dataclasses.replace(o, comment=None):
            _comment(
                d,
                "OPERATOR",
                o.schema,
                o.name,
                old.comment,
                o.comment,
                arguments=_arguments(o),
                after=[node_key(o)],
            )
        else:
            d.drop(DropOperator(old), old)
            d.create(CreateOperator(o), o)


def _arguments(o: Operator) -> str:
    return f"{o.left_type or 'NONE'}, {o.right_type}"
