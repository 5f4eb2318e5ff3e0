"""What a LANGUAGE sql routine's body written as a string (`AS $$ ... $$`) uses
(Function.body_depends_on), for both frontends.

PostgreSQL records nothing of it in pg_depend, but with check_function_bodies on (the
default) its validator (fmgr_sql_validator) parses and analyses each statement of the body
when the routine is created, with the routine's own SET search_path if it has one: the
relations, columns, functions and types it names must exist by then. This is that analysis,
done with the one the sql frontend gives SQL-standard bodies (routine_body_dependencies),
over the catalog being built (sql frontend) or read (live frontend), so both frontends
record the same thing for the same schema.

As the validator does, a routine with a polymorphic argument is not analysed (it checks
nothing: `()`), and a statement it only parses (utility statements: CREATE, SET, ...) uses
nothing. Raises what the analyser raises on what it does not model (Unsupported), on a name
that does not resolve (ExpressionError), and Pg15SyntaxError on a body that does not parse:
the sql frontend warns at the routine's file:line, the live frontend leaves the field None."""

from __future__ import annotations

import re

from pglast import ast

from nself import pg15
from nself.frontends.sql_expr import ExprScope
from nself.frontends.sql_expr.analyze import POLY
from nself.frontends.sql_expr.views import routine_body_dependencies
from nself.ir.builder import CatalogBuilder
from nself.ir.model import Dependency, Function
from nself.ir.names import unquote_ident

# The statements the validator analyses (transformStmt does name lookups for them); the
# others are utility statements, which it only parses.
_ANALYSED = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)
# Analysed by PostgreSQL, not by routine_body_dependencies: the body is not modelled.
_NOT_MODELLED = (ast.MergeStmt, ast.CallStmt, ast.ExplainStmt, ast.DeclareCursorStmt, ast.CreateTableAsStmt)

_PATH_ITEM = re.compile(r'\s*("(?:[^"]|"")*"|[^,]*?)\s*(?:,|$)')


def analysed(function: Function) -> bool:
    """Whether `function` has a body this module analyses: LANGUAGE sql, written as a
    string (not SQL-standard), not an aggregate's."""
    return (
        function.language == "sql"
        and function.kind in ("function", "procedure")
        and not function.body.lstrip().upper().startswith(("BEGIN ATOMIC", "RETURN "))
    )


def search_path_of(function: Function) -> tuple[str, ...] | None:
    """The routine's own SET search_path (its schemas, unquoted), None when it has none."""
    for setting in function.config:
        name, _, value = setting.partition("=")
        if name.strip().lower() != "search_path":
            continue
        items = [m.group(1) for m in _PATH_ITEM.finditer(value) if m.group(1)]
        path = tuple(unquote_ident(item, fold=True) for item in items if item != '""')
        return path or ("pg_catalog",)
    return None


def body_dependencies(
    function: Function, builder: CatalogBuilder, search_path: tuple[str, ...]
) -> tuple[Dependency, ...]:
    """What `function`'s string body uses (see the module docstring), its names resolved
    in `builder` with `search_path` (the routine's own SET search_path comes first: pass
    the path it was created with, or the database's default)."""
    inputs = [a for a in function.arguments if a.mode in ("IN", "INOUT", "VARIADIC")]
    if any(a.data_type in POLY for a in inputs):
        return ()
    statements, _ = pg15.parse(function.body)
    checked = []
    for raw in statements:
        if isinstance(raw.stmt, _NOT_MODELLED):
            raise Unmodelled(f"{type(raw.stmt).__name__.removesuffix('Stmt').upper()} in a SQL body")
        if isinstance(raw.stmt, _ANALYSED):
            checked.append(raw.stmt)
    if not checked:
        return ()
    scope = ExprScope(search_path=search_path_of(function) or search_path, builder=builder)
    parameters = [(a.name, a.data_type) for a in inputs]
    return routine_body_dependencies(checked, parameters, function.name, scope)


class Unmodelled(Exception):
    """A statement PostgreSQL analyses in a body that routine_body_dependencies does not."""
