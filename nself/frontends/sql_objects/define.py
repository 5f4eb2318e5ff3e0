"""DefineStmt: CREATE AGGREGATE, COLLATION and OPERATOR share one statement node."""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import ObjectType

from nself.frontends.sql_objects.aggregates import define_aggregate
from nself.frontends.sql_objects.collations import create_collation
from nself.frontends.sql_objects.operators import create_operator
from nself.frontends.sql_state import Skip, State, handles


@handles(ast.DefineStmt)
def define(state: State, stmt: Any) -> None:
    if stmt.kind == ObjectType.OBJECT_AGGREGATE:
        define_aggregate(state, stmt)
        return
    if stmt.kind == ObjectType.OBJECT_COLLATION:
        create_collation(state, stmt)
        return
    if stmt.kind == ObjectType.OBJECT_OPERATOR:
        create_operator(state, stmt)
        return
    raise Skip(f"CREATE {stmt.kind.name.removeprefix('OBJECT_')} is not modelled")
