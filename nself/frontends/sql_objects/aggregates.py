"""CREATE AGGREGATE: the options as pg_dump writes them and what they depend on."""

from __future__ import annotations

from typing import Any

from pglast import ast

from nself.frontends import sql_canon as canon
from nself.frontends.sql_objects.routines import MODES, regproc_text, user_routine
from nself.frontends.sql_state import State, names_of
from nself.ir.model import Dependency, Function, FunctionArgument
from nself.ir.names import quote_ident, quote_literal_escaped

_AGGREGATE_FUNCS = (
    "sfunc",
    "finalfunc",
    "combinefunc",
    "serialfunc",
    "deserialfunc",
    "msfunc",
    "minvfunc",
    "mfinalfunc",
)
# CREATE AGGREGATE options in the order pg_dump writes them: the IR keeps them as the body.
_AGGREGATE_ORDER = (
    "sfunc",
    "stype",
    "sspace",
    "initcond",
    "finalfunc",
    "finalfunc_extra",
    "finalfunc_modify",
    "combinefunc",
    "serialfunc",
    "deserialfunc",
    "msfunc",
    "minvfunc",
    "mstype",
    "msspace",
    "minitcond",
    "mfinalfunc",
    "mfinalfunc_extra",
    "mfinalfunc_modify",
    "sortop",
    "parallel",
)


def _aggregate_dependencies(
    state: State, definition: dict[str, Any], arguments: list[FunctionArgument], returns: str | None
) -> tuple[Dependency, ...]:
    """What pg_depend records for an aggregate: its functions (SFUNC, FINALFUNC, COMBINEFUNC,
    SERIALFUNC, DESERIALFUNC, MSFUNC, MINVFUNC, MFINALFUNC), its SORTOP, and the user types of
    its state (STYPE, MSTYPE) and signature (arguments, result)."""
    from nself.frontends.sql_expr.views import as_pg_depend, user_type

    found: set[Dependency] = set()
    for key in _AGGREGATE_FUNCS:
        arg = definition.get(key)
        if arg is not None:
            target = user_routine(
                state, names_of(arg.names) if isinstance(arg, ast.TypeName) else names_of(arg)
            )
            if target is not None:
                found.add(Dependency("function", *target))
    types = [a.data_type for a in arguments] + ([returns] if returns else [])
    types += [canon.data_type(state, definition[k]) for k in ("stype", "mstype") if k in definition]
    found |= {Dependency("type", *t) for text in types if (t := user_type(text)) is not None}
    sortop = definition.get("sortop")
    if sortop is not None:
        op = names_of(sortop)
        if len(op) > 1:
            if op[-2] != "pg_catalog":
                found.add(Dependency("operator", op[-2], op[-1]))
        else:
            schema = next((s for s in state.path_schemas() if op[-1] in state.operators.get(s, ())), None)
            if schema is not None:
                found.add(Dependency("operator", schema, op[-1]))
    return as_pg_depend(found)


def define_aggregate(state: State, stmt: Any) -> None:
    """A plain aggregate: its signature, result and options (the body, as pg_dump writes
    them). Ordered-set aggregates are kept only while interpreting (views may call them);
    the IR leaves them out."""
    names = names_of(stmt.defnames)
    schema = state.creation_schema(names[-2] if len(names) > 1 else None)
    definition = {d.defname.lower(): d.arg for d in stmt.definition or ()}
    args: list[FunctionArgument] = []
    if stmt.oldstyle:
        base = definition.pop("basetype", None)
        if isinstance(base, ast.TypeName) and names_of(base.names) != ["any"]:
            args.append(FunctionArgument(None, canon.data_type(state, base)))
    else:
        for p in (stmt.args[0] if stmt.args else None) or ():
            if isinstance(p, ast.FunctionParameter):
                mode: Any = MODES[p.mode] if p.mode is not None else "IN"
                args.append(FunctionArgument(p.name, canon.data_type(state, p.argType), mode))
    ordered_set = (
        bool(stmt.args) and len(stmt.args) > 1 and getattr(stmt.args[1], "ival", -1) not in (-1, None)
    )
    options: list[str] = []
    returns: str | None = None
    for key in _AGGREGATE_ORDER:
        if key not in definition:
            continue
        arg = definition[key]
        if key in _AGGREGATE_FUNCS:
            text = regproc_text(
                state, names_of(arg.names) if isinstance(arg, ast.TypeName) else names_of(arg)
            )
        elif key in ("stype", "mstype"):
            text = canon.data_type(state, arg)
        elif key in ("initcond", "minitcond"):
            text = quote_literal_escaped(str(getattr(arg, "sval", getattr(arg, "ival", ""))))
        elif key == "sortop":
            op = names_of(arg)
            text = f"OPERATOR({quote_ident(op[-2]) if len(op) > 1 else 'pg_catalog'}.{op[-1]})"
        elif key == "parallel":
            level = (
                names_of(arg.names)[-1] if isinstance(arg, ast.TypeName) else str(getattr(arg, "sval", ""))
            ).lower()
            if level == "unsafe":
                continue
            text = level
        elif key in ("finalfunc_extra", "mfinalfunc_extra"):
            options.append(key.upper())
            continue
        else:
            text = str(getattr(arg, "sval", getattr(arg, "ival", arg)))
            text = text.upper() if key.endswith("_modify") else text
            if key.endswith("_modify") and text == "READ_ONLY":
                continue
        options.append(f"{key.upper()} = {text}")
    stype = definition.get("stype")
    returns = canon.data_type(state, stype) if isinstance(stype, ast.TypeName) else None
    finalfunc = definition.get("finalfunc")
    if isinstance(finalfunc, ast.TypeName):
        final = names_of(finalfunc.names)
        for f in state.builder.all(Function):
            if f.name == final[-1] and (len(final) == 1 or f.schema == final[-2]):
                returns = f.returns
    parallel = next((o.split(" = ")[1].upper() for o in options if o.startswith("PARALLEL = ")), "UNSAFE")
    aggregate = Function(
        schema,
        names[-1],
        tuple(args),
        "aggregate",
        returns,
        "internal",
        ", ".join(options),
        "IMMUTABLE",
        parallel=parallel,  # type: ignore[arg-type]
        depends_on=_aggregate_dependencies(state, definition, args, returns),
    )
    state.builder.add(aggregate)
    if ordered_set:
        state.hidden_functions.add((schema, names[-1], aggregate.identity_arguments))
