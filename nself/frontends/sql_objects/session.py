"""Session settings (SET, search_path) and statements with no effect on the schema."""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import VariableSetKind

from nself.frontends.sql_state import Skip, State, handles, names_of


def _set_search_path(state: State, values: list[str] | None) -> None:
    state.search_path = (
        state.default_search_path if values is None else tuple(v.strip() for v in values if v.strip())
    )


@handles(ast.VariableSetStmt)
def set_variable(state: State, stmt: Any) -> None:
    if stmt.name == "check_function_bodies":
        value = stmt.args[0].val if stmt.kind == VariableSetKind.VAR_SET_VALUE and stmt.args else None
        word = str(getattr(value, "sval", getattr(value, "ival", "on"))).lower()
        state.check_function_bodies = word not in ("off", "false", "0", "no")
        return
    if stmt.name != "search_path":
        return  # other session settings do not change the schema
    if stmt.kind in (
        VariableSetKind.VAR_SET_DEFAULT,
        VariableSetKind.VAR_RESET,
        VariableSetKind.VAR_RESET_ALL,
    ):
        _set_search_path(state, None)
    elif stmt.kind == VariableSetKind.VAR_SET_VALUE:
        values = []
        for arg in stmt.args or ():
            val = arg.val if isinstance(arg, ast.A_Const) else arg
            values.append(str(val.sval) if isinstance(val, ast.String) else str(getattr(val, "ival", val)))
        _set_search_path(state, values)


@handles(ast.SelectStmt)
def select(state: State, stmt: Any) -> None:
    """pg_dump's `SELECT pg_catalog.set_config('search_path', '', false);` sets search_path;
    other SELECTs (setval, ...) do not change the schema."""
    for target in stmt.targetList or ():
        call = getattr(target, "val", None)
        if isinstance(call, ast.FuncCall) and names_of(call.funcname)[-1] == "set_config":
            args = call.args or ()
            constants = len(args) >= 2 and all(isinstance(a, ast.A_Const) for a in args[:2])
            if constants and getattr(args[0].val, "sval", None) == "search_path":
                value = getattr(args[1].val, "sval", "") or ""
                _set_search_path(state, [v.strip().strip('"') for v in value.split(",")])
                return
        if isinstance(call, ast.FuncCall) and names_of(call.funcname)[-1] in ("setval", "nextval"):
            return
    if any(isinstance(getattr(t, "val", None), ast.FuncCall) for t in stmt.targetList or ()):
        state.skipped_code()  # `SELECT create_partitions(...)` may make tables
    raise Skip("SELECT is not modelled")


@handles(ast.AlterOwnerStmt, ast.TransactionStmt, ast.VariableShowStmt)
def no_schema_effect(state: State, stmt: Any) -> None:
    """Ownership and transaction control do not change the schema the IR describes."""
    return None
