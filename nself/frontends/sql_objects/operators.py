"""User operators (CREATE OPERATOR, ALTER OPERATOR)."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast

from nself.frontends import sql_canon as canon
from nself.frontends.sql_objects.routines import regproc_text
from nself.frontends.sql_state import Skip, State, handles, names_of, qualified
from nself.ir.model import Operator
from nself.ir.names import quote_ident


def create_operator(state: State, stmt: Any) -> None:
    """CREATE OPERATOR: an Operator of the IR, named as the live frontend reads pg_operator."""
    names = names_of(stmt.defnames)
    schema = state.creation_schema(names[-2] if len(names) > 1 else None)
    name = names[-1]
    options = {d.defname.lower(): d.arg for d in stmt.definition or ()}
    left = canon.data_type(state, options["leftarg"]) if options.get("leftarg") is not None else None
    if options.get("rightarg") is None:
        raise state.error("operator right argument type must be specified")
    right = canon.data_type(state, options["rightarg"])
    code = options.get("function", options.get("procedure"))
    if code is None:
        raise state.error("operator function must be specified")
    if state.builder.get(Operator, schema, name, left or "", right) is not None:
        raise state.error(f"operator {name} already exists")

    def other(arg: Any, swapped: bool) -> str | None:
        if arg is None:
            return None
        parts = [str(p.sval) for p in arg] if isinstance(arg, (list, tuple)) else names_of(arg.names)
        if len(parts) > 1:
            return f"OPERATOR({quote_ident(parts[-2])}.{parts[-1]})"
        types = (right, left) if swapped else (left, right)
        for s in state.path_schemas():
            if state.builder.get(Operator, s, parts[-1], types[0] or "", types[1] or "") is not None:
                return f"OPERATOR({quote_ident(s)}.{parts[-1]})"
        # none yet (or itself): PostgreSQL makes a shell for it (or links the operator to
        # itself) in the creation schema of the bare name
        return f"OPERATOR({quote_ident(state.creation_schema(None))}.{parts[-1]})"

    operator = Operator(
        schema,
        name,
        left,
        right,
        regproc_text(state, names_of(code.names)),
        commutator=other(options.get("commutator"), True),
        negator=other(options.get("negator"), False),
        restrict=regproc_text(state, names_of(options["restrict"].names))
        if options.get("restrict")
        else None,
        join=regproc_text(state, names_of(options["join"].names)) if options.get("join") else None,
        hashes="hashes" in options,
        merges="merges" in options,
    )
    state.builder.add(operator)
    state.operators.setdefault(schema, set()).add(name)


def find_operator(state: State, owa: Any, missing_ok: bool = False) -> Operator | None:
    """The operator an ObjectWithArgs names (DROP, COMMENT ON, ALTER OPERATOR)."""
    names = names_of(owa.objname)
    args = list(owa.objargs or ())
    types = [canon.data_type(state, t) if t is not None else None for t in args]
    left, right = (types[0], types[1]) if len(types) == 2 else (None, types[-1] if types else None)
    schemas = [names[-2]] if len(names) > 1 else state.path_schemas()
    for s in schemas:
        found = state.builder.get(Operator, s, names[-1], left or "", right or "")
        if found is not None:
            return found
    if missing_ok:
        return None
    raise state.error(
        f"operator does not exist: {qualified(names[-2] if len(names) > 1 else None, names[-1])}"
    )


@handles(ast.AlterOperatorStmt)
def alter_operator(state: State, stmt: Any) -> None:
    """ALTER OPERATOR ... SET (RESTRICT = f, JOIN = f)."""
    op = find_operator(state, stmt.opername)
    assert op is not None
    changes: dict[str, str | None] = {}
    for d in stmt.options or ():
        if d.defname.lower() in ("restrict", "join"):
            changes[d.defname.lower()] = (
                regproc_text(state, names_of(d.arg.names)) if d.arg is not None else None
            )
        else:
            raise Skip(f"ALTER OPERATOR SET ({d.defname.upper()}) is not modelled")
    state.builder.add(dataclasses.replace(op, **changes))  # type: ignore[arg-type]
