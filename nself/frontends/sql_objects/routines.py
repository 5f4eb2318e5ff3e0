"""Functions and procedures: arguments, results, bodies, ALTER FUNCTION."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from pglast import ast
from pglast.enums import FunctionParameterMode, VariableSetKind

from nself.frontends import sql_bodies, sql_naming
from nself.frontends import sql_canon as canon
from nself.frontends.sql_state import BodySource, State, handles, names_of, qualified
from nself.ir.model import Dependency, Function, FunctionArgument, Operator
from nself.ir.names import quote_ident

MODES = {
    FunctionParameterMode.FUNC_PARAM_IN: "IN",
    FunctionParameterMode.FUNC_PARAM_DEFAULT: "IN",
    FunctionParameterMode.FUNC_PARAM_OUT: "OUT",
    FunctionParameterMode.FUNC_PARAM_INOUT: "INOUT",
    FunctionParameterMode.FUNC_PARAM_VARIADIC: "VARIADIC",
    FunctionParameterMode.FUNC_PARAM_TABLE: "TABLE",
}


def _without_modifier(type_name: Any) -> Any:
    """PostgreSQL keeps no type modifier on a routine's arguments and result: numeric(10,2)
    is numeric there."""
    if type_name is None or not type_name.typmods:
        return type_name
    return ast.TypeName(
        names=type_name.names,
        setof=type_name.setof,
        pct_type=type_name.pct_type,
        arrayBounds=type_name.arrayBounds,
        location=type_name.location,
    )


def _arguments(state: State, params: Any) -> tuple[FunctionArgument, ...]:
    out = []
    for p in params or ():
        data_type = canon.data_type(state, _without_modifier(p.argType))
        default = canon.default_expression(state, p.defexpr, data_type) if p.defexpr is not None else None
        if default is None and p.defexpr is not None:
            # a column drops DEFAULT NULL; an argument keeps it, as the typed constant
            default = f"NULL::{data_type}"
        out.append(FunctionArgument(p.name, data_type, MODES[p.mode], default))  # type: ignore[arg-type]
    return tuple(out)


def _identity_args(arguments: Iterable[FunctionArgument]) -> str:
    return ", ".join(a.data_type for a in arguments if a.mode in ("IN", "INOUT", "VARIADIC"))


def _returns(state: State, stmt: Any, arguments: tuple[FunctionArgument, ...]) -> str | None:
    table_cols = [a for a in arguments if a.mode == "TABLE"]
    if table_cols:
        return "TABLE(" + ", ".join(f"{quote_ident(a.name or '')} {a.data_type}" for a in table_cols) + ")"
    if stmt.returnType is not None:
        text = canon.data_type(state, _without_modifier(stmt.returnType))
        return ("SETOF " + text) if stmt.returnType.setof else text
    if stmt.is_procedure:
        return None
    outs = [a for a in arguments if a.mode in ("OUT", "INOUT")]
    if len(outs) == 1:
        return outs[0].data_type
    return "record" if outs else "void"


def _config_value(stmt: Any) -> str | None:
    if stmt.kind != VariableSetKind.VAR_SET_VALUE:
        return None
    values = []
    for arg in stmt.args or ():
        val = arg.val if isinstance(arg, ast.A_Const) else arg
        if isinstance(val, ast.String):
            text = str(val.sval or "")
            if stmt.name == "search_path":
                text = quote_ident(text) if text else '""'
            values.append(text)
        else:
            values.append(str(getattr(val, "ival", getattr(val, "fval", val))))
    return f"{stmt.name}={', '.join(values)}"


@handles(ast.CreateFunctionStmt)
def create_function(state: State, stmt: Any) -> None:
    names = names_of(stmt.funcname)
    schema = state.creation_schema(names[-2] if len(names) > 1 else None)
    name = sql_naming.truncate_identifier(names[-1])
    with canon.collecting(state, (schema, name)) as defaults_use:
        arguments = _arguments(state, stmt.parameters)
    options: dict[str, Any] = {}
    config: list[str] = []
    for opt in stmt.options or ():
        if opt.defname == "set":
            text = _config_value(opt.arg)
            if text is not None:
                config.append(text)
        else:
            options[opt.defname] = opt.arg
    body = ""
    if "as" in options:
        parts = names_of(options["as"])
        body = parts[-1] if len(parts) == 1 else parts[1]
    elif stmt.sql_body is not None:
        body = _sql_body(stmt.sql_body)
    language = options["language"].sval.lower() if "language" in options else "sql"
    language_stand_in = state.platform.stand_in_language(language) if state.platform is not None else None
    if language_stand_in is not None:
        state.warn(language_stand_in.function_skipped(f"{schema}.{name}", language))
        return
    volatility = options["volatility"].sval.upper() if "volatility" in options else "VOLATILE"
    returns = _returns(state, stmt, arguments)
    kind = (
        "procedure" if stmt.is_procedure else ("window" if options.get("window") is not None else "function")
    )
    default_cost = 1.0 if language in ("c", "internal") else 100.0
    cost = float(_num(options["cost"])) if "cost" in options else None
    if cost == default_cost:
        cost = None
    rows = float(_num(options["rows"])) if "rows" in options else None
    if rows is not None and rows == (
        1000.0 if returns and (returns.startswith("SETOF ") or returns.startswith("TABLE(")) else 0.0
    ):
        rows = None
    function = Function(
        schema,
        name,
        arguments,
        kind,  # type: ignore[arg-type]
        returns,
        language,
        body,
        volatility,  # type: ignore[arg-type]
        strict=bool(options["strict"].boolval) if "strict" in options else False,
        security_definer=bool(options["security"].boolval) if "security" in options else False,
        leakproof=bool(options["leakproof"].boolval) if "leakproof" in options else False,
        parallel=options["parallel"].sval.upper() if "parallel" in options else "UNSAFE",
        cost=cost,
        rows=rows,
        config=tuple(config),
    )
    if stmt.sql_body is not None:
        function = dataclasses.replace(
            function, depends_on=_sql_body_dependencies(state, stmt.sql_body, function, defaults_use)
        )
    else:
        function = dataclasses.replace(
            function, defaults_depends_on=_signature_dependencies(function, defaults_use)
        )
    existing = state.builder.get(Function, schema, name, _identity_args(arguments))
    if existing is not None:
        if not stmt.replace:
            raise state.error(f'function "{name}" already exists with same argument types')
        function = dataclasses.replace(function, comment=existing.comment)
    state.builder.add(function)
    key = (schema, name, function.identity_arguments)
    if sql_bodies.analysed(function) and stmt.sql_body is None:
        path = state.search_path if state.check_function_bodies else state.default_search_path
        state.body_sources[key] = BodySource(
            state.file, state.position()[0], tuple(path), checked=state.check_function_bodies
        )
    else:
        state.body_sources.pop(key, None)
    if existing is None:
        state.created("FUNCTION", schema, f"{name}({function.identity_arguments})")


def _sql_body_dependencies(
    state: State, body: Any, function: Function, defaults_use: canon.Collected
) -> tuple[Dependency, ...] | None:
    """What pg_depend records for a routine with a SQL-standard body: the user types of its
    signature (every argument's, the result's), what its argument defaults use, and what
    its body uses; None when the body (or a default) is not analysed."""
    statements = [body] if isinstance(body, ast.ReturnStmt) else list(_body_statements(body))
    parameters = [(a.name, a.data_type) for a in function.arguments if a.mode in ("IN", "INOUT", "VARIADIC")]
    used = canon.routine_dependencies(state, statements, parameters, function.name)
    signature = _signature_dependencies(function, defaults_use)
    if used is None or signature is None:
        return None
    from nself.frontends.sql_expr.views import as_pg_depend

    return as_pg_depend(set(used) | set(signature))


def _signature_dependencies(
    function: Function, defaults_use: canon.Collected
) -> tuple[Dependency, ...] | None:
    """What pg_depend records for a routine besides its body: the user types of its
    signature (every argument's, the result's) and what its argument defaults use; None
    when a default is not analysed."""
    from nself.frontends.sql_expr.views import as_pg_depend, user_type

    defaults = defaults_use.depends_on
    if defaults is None:
        return None
    found = set(defaults)
    types = [a.data_type for a in function.arguments]
    if function.returns and not function.returns.startswith("TABLE("):
        types.append(function.returns.removeprefix("SETOF "))
    found |= {Dependency("type", *t) for text in types if (t := user_type(text)) is not None}
    return as_pg_depend(found)


def move_function_in_operators(state: State, f: Function, schema: str, name: str) -> None:
    """A routine renamed or moved: the operators calling it (or estimating with it) name it
    so from now on, as regproc prints it (PostgreSQL holds its oid)."""
    old, new = regproc_text(state, [f.schema, f.name]), regproc_text(state, [schema, name])
    for op in list(state.builder.all(Operator)):
        fields = {k: new for k in ("function", "restrict", "join") if getattr(op, k) == old}
        if fields:
            state.builder.add(dataclasses.replace(op, **fields))  # type: ignore[arg-type]


def move_body_source(state: State, f: Function, schema: str, name: str) -> None:
    """A renamed or moved routine keeps where it was created (State.body_sources)."""
    source = state.body_sources.pop((f.schema, f.name, f.identity_arguments), None)
    if source is not None:
        state.body_sources[(schema, name, f.identity_arguments)] = source


def _body_statements(body: Any) -> Any:
    return (body[0] if body and isinstance(body[0], tuple) else body) or ()


def _sql_body(body: Any) -> str:
    """A SQL-standard body (RETURN ... / BEGIN ATOMIC ... END) in the layout of
    pg_get_function_sqlbody; expressions as pglast prints them (not yet canonical)."""
    if isinstance(body, ast.ReturnStmt):
        return f"RETURN {canon.deparse(body.returnval)}"
    return "BEGIN ATOMIC\n" + "".join(f" {canon.deparse(s)};\n" for s in _body_statements(body)) + "END"


def _num(node: Any) -> float:
    if isinstance(node, ast.Integer):
        return float(node.ival or 0)
    if isinstance(node, ast.Float):
        return float(str(node.fval))
    return float(str(getattr(node, "sval", node)))


def find_function(state: State, owa: Any, missing_ok: bool = False) -> Function | None:
    names = names_of(owa.objname)
    schema = names[-2] if len(names) > 1 else None
    fname = names[-1]
    schemas = [schema] if schema else state.path_schemas()
    candidates = [f for f in state.builder.all(Function) if f.name == fname and f.schema in schemas]
    if not owa.args_unspecified:
        args = []
        for p in owa.objfuncargs or ():
            if p.mode in (FunctionParameterMode.FUNC_PARAM_OUT, FunctionParameterMode.FUNC_PARAM_TABLE):
                continue
            args.append(canon.data_type(state, p.argType))
        if not owa.objfuncargs and owa.objargs:
            args = [canon.data_type(state, t) for t in owa.objargs]
        wanted = ", ".join(args)
        candidates = [f for f in candidates if f.identity_arguments == wanted]
    candidates.sort(key=lambda f: schemas.index(f.schema))
    if not candidates or (
        owa.args_unspecified
        and len({c.identity_arguments for c in candidates if c.schema == candidates[0].schema}) > 1
    ):
        if missing_ok:
            return None
        if candidates:
            raise state.error(f'function name "{fname}" is not unique')
        raise state.error(f"function {qualified(schema, fname)} does not exist")
    return candidates[0]


@handles(ast.AlterFunctionStmt)
def alter_function(state: State, stmt: Any) -> None:
    function = find_function(state, stmt.func)
    assert function is not None
    changes: dict[str, Any] = {}
    config = list(function.config)
    for opt in stmt.actions or ():
        if opt.defname == "set":
            var = opt.arg
            config = [c for c in config if not c.startswith(var.name + "=")]
            text = _config_value(var)
            if text is not None:
                config.append(text)
        elif opt.defname == "volatility":
            changes["volatility"] = opt.arg.sval.upper()
        elif opt.defname == "strict":
            changes["strict"] = bool(opt.arg.boolval)
        elif opt.defname == "security":
            changes["security_definer"] = bool(opt.arg.boolval)
        elif opt.defname == "leakproof":
            changes["leakproof"] = bool(opt.arg.boolval)
        elif opt.defname == "parallel":
            changes["parallel"] = opt.arg.sval.upper()
        elif opt.defname == "cost":
            changes["cost"] = _num(opt.arg)
        elif opt.defname == "rows":
            changes["rows"] = _num(opt.arg)
    state.builder.add(dataclasses.replace(function, config=tuple(config), **changes))


def regproc_text(state: State, names: list[str]) -> str:
    """A function named in CREATE AGGREGATE as `::regproc::text` prints it with
    search_path = pg_catalog: user functions qualified, PostgreSQL's bare."""
    target = user_routine(state, names)
    if target is not None:
        return f"{quote_ident(target[0])}.{quote_ident(target[1])}"
    return quote_ident(names[-1])


def user_routine(state: State, names: list[str]) -> tuple[str, str] | None:
    """(schema, name) of the routine a name in CREATE AGGREGATE designates, when it is not
    PostgreSQL's own (a qualified name as written; else the first of the path that has it)."""
    if len(names) > 1:
        return None if names[-2] == "pg_catalog" else (names[-2], names[-1])
    schemas = state.path_schemas()
    for f in state.builder.all(Function):
        if f.name == names[-1] and f.schema in schemas:
            return f.schema, f.name
    return None
