"""DO blocks: the idempotent patterns real migration folders use to create objects, interpreted
against the frontend's own catalog instead of being skipped.

    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON ... WHERE t.typname = 'x' ...)
      THEN CREATE TYPE x AS ENUM (...); END IF;
    END $$;

    DO $$ BEGIN CREATE TYPE x AS ENUM (...);
    EXCEPTION WHEN duplicate_object THEN NULL; END $$;

The body is parsed by PostgreSQL's own PL/pgSQL parser (pglast.parse_plpgsql). A condition is
decided when it is `[NOT] EXISTS (SELECT ... FROM <catalog> WHERE col = 'literal' AND ...)` over
a catalog the IR can answer (pg_type, pg_class, pg_namespace, pg_proc, pg_constraint,
pg_extension, pg_tables, pg_views, pg_indexes, pg_trigger, pg_policy and information_schema's
tables, columns, schemata, table_constraints, routines). Anything else the block does (loops,
variables, undecidable conditions, DDL built at run time) is a warning naming the DO block's
line, and the block is skipped: the frontend never guesses."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pglast
from pglast import ast

from nself import pg15
from nself.errors import SourceError
from nself.frontends.sql_state import State, handles, interpret_statement
from nself.ir.model import (
    CompositeType,
    Domain,
    Enum,
    Extension,
    Function,
    Index,
    Policy,
    RangeType,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)

# The exceptions an idempotent block catches: "it exists already".
_DUPLICATE_CONDITIONS = frozenset(
    {
        "duplicate_object",
        "duplicate_table",
        "duplicate_column",
        "duplicate_schema",
        "duplicate_function",
        "duplicate_database",
        "unique_violation",
    }
)

# Statements of a block that change nothing a schema holds.
_INERT_STATEMENTS = frozenset(
    {"PLpgSQL_stmt_raise", "PLpgSQL_stmt_return", "PLpgSQL_stmt_perform", "PLpgSQL_stmt_assert"}
)


_STATEMENT_WORDS = {
    "PLpgSQL_stmt_fori": "FOR loop",
    "PLpgSQL_stmt_fors": "FOR loop",
    "PLpgSQL_stmt_forc": "FOR loop",
    "PLpgSQL_stmt_dynfors": "FOR loop",
    "PLpgSQL_stmt_foreach_a": "FOREACH loop",
    "PLpgSQL_stmt_loop": "LOOP",
    "PLpgSQL_stmt_while": "WHILE loop",
    "PLpgSQL_stmt_assign": "variable assignment",
    "PLpgSQL_stmt_case": "CASE",
    "PLpgSQL_stmt_call": "CALL",
    "PLpgSQL_stmt_commit": "COMMIT",
    "PLpgSQL_stmt_rollback": "ROLLBACK",
}


class _Undecided(Exception):
    """The block does something the frontend does not interpret; the message says what."""


@handles(ast.DoStmt)
def interpret_do(state: State, stmt: ast.DoStmt) -> None:
    body, language = _body_and_language(stmt)
    if language != "plpgsql":
        state.warn(f"DO block in language {language} is not interpreted; statement skipped")
        return
    tag = "nself_do_body"
    while f"${tag}$" in body:
        tag += "_"
    try:
        body = pg15.as_pg15(body).text  # read as PostgreSQL 15 reads it
        parsed = pglast.parse_plpgsql(
            f"CREATE FUNCTION pg_temp.nself_do() RETURNS void LANGUAGE plpgsql AS ${tag}${body}${tag}$"
        )
    except pg15.NewerSyntax as exc:
        raise state.error(f"DO block: {exc.message}") from None
    except pglast.parser.ParseError as exc:
        raise state.error(f"DO block: {exc.args[0] if exc.args else exc}") from None
    function = parsed[0]["PLpgSQL_function"]
    try:
        plan = _plan_block(state, function["action"]["PLpgSQL_stmt_block"])
    except _Undecided as why:
        state.warn(f"DO block not interpreted: {why}; statement skipped")
        state.skipped_code()
        return
    for sql, tolerate_duplicates in plan:
        _run(state, sql, tolerate_duplicates)


def _body_and_language(stmt: ast.DoStmt) -> tuple[str, str]:
    body, language = "", "plpgsql"
    for item in stmt.args or ():
        if isinstance(item, ast.DefElem) and isinstance(item.arg, ast.String):
            if item.defname == "as":
                body = str(item.arg.sval)
            elif item.defname == "language":
                language = str(item.arg.sval).lower()
    return body, language


Plan = list[tuple[str, bool]]  # (SQL of one DDL step, whether "already exists" is tolerated)


def _plan_block(state: State, block: Mapping[str, Any], *, tolerate: bool = False) -> Plan:
    exceptions = block.get("exceptions")
    if exceptions:
        handlers = exceptions["PLpgSQL_exception_block"].get("exc_list", [])
        conditions = {
            condition["PLpgSQL_condition"]["condname"]
            for handler in handlers
            for condition in handler["PLpgSQL_exception"].get("conditions", [])
        }
        actions = [a for h in handlers for a in h["PLpgSQL_exception"].get("action", [])]
        if not conditions <= _DUPLICATE_CONDITIONS or any(
            next(iter(a)) not in _INERT_STATEMENTS and next(iter(a)) != "PLpgSQL_stmt_null" for a in actions
        ):
            raise _Undecided(f"an EXCEPTION handler for {', '.join(sorted(conditions))} that does more than ignore it")
        tolerate = True
    return _plan_statements(state, block.get("body", []), tolerate)


def _plan_statements(state: State, statements: Iterable[Mapping[str, Any]], tolerate: bool) -> Plan:
    plan: Plan = []
    for statement in statements:
        kind, node = next(iter(statement.items()))
        if kind in _INERT_STATEMENTS or kind == "PLpgSQL_stmt_null":
            continue
        if kind == "PLpgSQL_stmt_execsql":
            query = node["sqlstmt"]["PLpgSQL_expr"]["query"]
            if _reads_only(query):
                continue
            plan.append((query, tolerate))
        elif kind == "PLpgSQL_stmt_dynexecute":
            plan.append((_constant_text(node["query"]["PLpgSQL_expr"]["query"]), tolerate))
        elif kind == "PLpgSQL_stmt_block":
            plan.extend(_plan_block(state, node, tolerate=tolerate))
        elif kind == "PLpgSQL_stmt_if":
            plan.extend(_plan_if(state, node, tolerate))
        else:
            what = _STATEMENT_WORDS.get(kind, kind.removeprefix("PLpgSQL_stmt_").upper())
            raise _Undecided(f"it holds a {what} statement")
    return plan


def _plan_if(state: State, node: Mapping[str, Any], tolerate: bool) -> Plan:
    """The branch the condition takes on the catalog interpreted so far. Conditions are
    decided before any branch runs, as PostgreSQL would at that point of the block."""
    if _decide(state, node["cond"]["PLpgSQL_expr"]["query"]):
        return _plan_statements(state, node.get("then_body", []), tolerate)
    for elsif in node.get("elsif_list", []):
        branch = elsif["PLpgSQL_if_elsif"]
        if _decide(state, branch["cond"]["PLpgSQL_expr"]["query"]):
            return _plan_statements(state, branch.get("stmts", []), tolerate)
    return _plan_statements(state, node.get("else_body", []), tolerate)


def _run(state: State, sql: str, tolerate_duplicates: bool) -> None:
    """Interpret one DDL step of the block, positioned at the DO statement."""
    try:
        statements = pglast.parse_sql(pg15.as_pg15(sql).text)  # read as PostgreSQL 15 reads it
    except pg15.NewerSyntax as exc:
        raise state.error(f"DO block: {exc.message}") from None
    except pglast.parser.ParseError as exc:
        raise state.error(f"DO block: {exc.args[0] if exc.args else exc}") from None
    for raw in statements:
        newer = pg15.newer_syntax(raw.stmt)
        if newer is not None:
            raise state.error(f"DO block: {newer[0]}")
        try:
            interpret_statement(state, raw.stmt)
        except SourceError as exc:
            if tolerate_duplicates and "already exists" in exc.message:
                continue
            raise


def _reads_only(query: str) -> bool:
    try:
        statements = pglast.parse_sql(query)
    except pglast.parser.ParseError:
        return False
    return all(isinstance(raw.stmt, ast.SelectStmt) and not raw.stmt.intoClause for raw in statements)


def _constant_text(expression: str) -> str:
    """The SQL an EXECUTE runs, when it is one string constant."""
    try:
        (raw,) = pglast.parse_sql(f"SELECT {expression}")
    except (pglast.parser.ParseError, ValueError):
        raise _Undecided("EXECUTE of a statement built at run time") from None
    stmt: Any = raw.stmt
    target = stmt.targetList[0].val if isinstance(stmt, ast.SelectStmt) and stmt.targetList else None
    if isinstance(target, ast.A_Const) and isinstance(target.val, ast.String):
        return str(target.val.sval)
    raise _Undecided("EXECUTE of a statement built at run time")


# --------------------------------------------------------------------------- conditions


def _decide(state: State, condition: str) -> bool:
    try:
        (raw,) = pglast.parse_sql(f"SELECT {condition}")
    except (pglast.parser.ParseError, ValueError):
        raise _Undecided(f"the condition {condition!r}") from None
    assert isinstance(raw.stmt, ast.SelectStmt) and raw.stmt.targetList
    return _truth(state, raw.stmt.targetList[0].val, condition)


def _truth(state: State, node: Any, text: str) -> bool:
    if isinstance(node, ast.BoolExpr):
        values = [_truth(state, arg, text) for arg in node.args or ()]
        if node.boolop == pglast.enums.BoolExprType.NOT_EXPR:
            return not values[0]
        if node.boolop == pglast.enums.BoolExprType.AND_EXPR:
            return all(values)
        return any(values)
    if isinstance(node, ast.SubLink) and node.subLinkType == pglast.enums.SubLinkType.EXISTS_SUBLINK:
        return _exists(state, node.subselect, text)
    raise _Undecided(f"the condition {' '.join(text.split())!r}")


# What each catalog's name columns mean: column -> the part of a name it holds.
_PARTS = {
    "nspname": "schema",
    "schemaname": "schema",
    "table_schema": "schema",
    "schema_name": "schema",
    "constraint_schema": "schema",
    "routine_schema": "schema",
    "typname": "type",
    "relname": "relation",
    "tablename": "relation",
    "viewname": "relation",
    "indexname": "relation",
    "table_name": "relation",
    "column_name": "column",
    "attname": "column",
    "proname": "function",
    "routine_name": "function",
    "conname": "constraint",
    "constraint_name": "constraint",
    "extname": "extension",
    "tgname": "trigger",
    "polname": "policy",
}

_CATALOGS = {
    "pg_type": "type",
    "pg_class": "relation",
    "pg_tables": "relation",
    "pg_views": "relation",
    "pg_matviews": "relation",
    "pg_indexes": "relation",
    "pg_namespace": "schema",
    "schemata": "schema",
    "pg_proc": "function",
    "routines": "function",
    "pg_constraint": "constraint",
    "table_constraints": "constraint",
    "pg_extension": "extension",
    "pg_trigger": "trigger",
    "pg_policy": "policy",
    "pg_policies": "policy",
    "tables": "relation",
    "views": "relation",
    "columns": "column",
    "pg_attribute": "column",
}


def _exists(state: State, select: Any, text: str) -> bool:
    if not isinstance(select, ast.SelectStmt) or select.op != pglast.enums.SetOperation.SETOP_NONE:
        raise _Undecided(f"the condition {' '.join(text.split())!r}")
    catalogs = [_CATALOGS.get(str(r.relname)) for r in _relations(select.fromClause or ())]
    if not catalogs or None in catalogs:
        raise _Undecided(f"the condition {' '.join(text.split())!r} reads a table the IR cannot answer")
    wanted: dict[str, str] = {}
    for column, value in _equalities(select.whereClause, text):
        part = _PARTS.get(column)
        if part is None:
            continue  # joins and other filters narrow nothing the IR tells apart
        wanted[part] = value
    # the most specific catalog the query reads decides what is looked for
    for kind in ("column", "constraint", "trigger", "policy", "function", "type", "relation", "extension", "schema"):
        if kind in catalogs:
            return _catalog_has(state, kind, wanted, text)
    raise _Undecided(f"the condition {' '.join(text.split())!r}")


def _relations(from_clause: Iterable[Any]) -> Iterable[ast.RangeVar]:
    for item in from_clause:
        if isinstance(item, ast.RangeVar):
            yield item
        elif isinstance(item, ast.JoinExpr):
            yield from _relations((item.larg, item.rarg))
        else:
            raise _Undecided("a FROM that is not a plain join of catalogs")


def _equalities(node: Any, text: str) -> Iterable[tuple[str, str]]:
    if node is None:
        return
    if isinstance(node, ast.BoolExpr) and node.boolop == pglast.enums.BoolExprType.AND_EXPR:
        for arg in node.args or ():
            yield from _equalities(arg, text)
        return
    if isinstance(node, ast.A_Expr) and node.kind == pglast.enums.A_Expr_Kind.AEXPR_OP:
        operator = node.name[-1].sval if node.name else ""
        sides = [_column_name(node.lexpr), _column_name(node.rexpr)]
        values = [_literal(node.lexpr), _literal(node.rexpr)]
        if operator == "=":
            for column, value in ((sides[0], values[1]), (sides[1], values[0])):
                if column is not None and value is not None:
                    yield column, value
                    return
            if all(s is not None for s in sides):
                return  # a join condition
            if sides[0] in ("typnamespace", "relnamespace", "pronamespace", "connamespace") or sides[
                1
            ] in ("typnamespace", "relnamespace", "pronamespace", "connamespace"):
                schema = _regnamespace(node.lexpr) or _regnamespace(node.rexpr)
                if schema is not None:
                    yield "nspname", schema
                    return
    raise _Undecided(f"the condition {' '.join(text.split())!r}")


def _column_name(node: Any) -> str | None:
    if isinstance(node, ast.ColumnRef) and node.fields and isinstance(node.fields[-1], ast.String):
        return str(node.fields[-1].sval)
    return None


def _literal(node: Any) -> str | None:
    while isinstance(node, ast.TypeCast) and _type_name(node) in ("text", "name", "varchar"):
        node = node.arg
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return str(node.val.sval)
    return None


def _regnamespace(node: Any) -> str | None:
    if isinstance(node, ast.TypeCast) and _type_name(node) == "regnamespace":
        return _literal(node.arg)
    return None


def _type_name(node: ast.TypeCast) -> str:
    return str(node.typeName.names[-1].sval) if node.typeName and node.typeName.names else ""


def _catalog_has(state: State, kind: str, wanted: Mapping[str, str], text: str) -> bool:
    b = state.builder
    schema = wanted.get("schema")
    schemas = [schema] if schema else [s.name for s in b.all(Schema)]
    if kind == "schema":
        if schema is None:
            raise _Undecided(f"the condition {' '.join(text.split())!r} names no schema")
        return b.get(Schema, schema) is not None
    if kind == "extension":
        name = wanted.get("extension")
        if name is None:
            raise _Undecided(f"the condition {' '.join(text.split())!r} names no extension")
        return any(e.name == name for e in b.all(Extension))
    if kind == "type":
        name = wanted.get("type")
        if name is None:
            raise _Undecided(f"the condition {' '.join(text.split())!r} names no type")
        kinds = (Enum, Domain, CompositeType, RangeType, Table, View, Sequence)
        return any(b.get(cls, s, name) is not None for s in schemas for cls in kinds)
    if kind == "relation":
        name = wanted.get("relation")
        if name is None:
            raise _Undecided(f"the condition {' '.join(text.split())!r} names no relation")
        return any(state.relation_in(s, name) is not None for s in schemas)
    if kind == "column":
        table, column = wanted.get("relation"), wanted.get("column")
        if table is None or column is None:
            raise _Undecided(f"the condition {' '.join(text.split())!r} names no table and column")
        for s in schemas:
            relation = state.relation_in(s, table)
            if isinstance(relation, Table) and relation.column(column) is not None:
                return True
        return False
    if kind == "function":
        name = wanted.get("function")
        if name is None:
            raise _Undecided(f"the condition {' '.join(text.split())!r} names no function")
        return any(f.name == name and f.schema in schemas for f in b.all(Function))
    if kind == "constraint":
        name = wanted.get("constraint")
        if name is None:
            raise _Undecided(f"the condition {' '.join(text.split())!r} names no constraint")
        return any(state.constraint_names.get((s, name), 0) > 0 for s in schemas) or any(
            c.name == name for t in b.all(Table) if t.schema in schemas for c in t.constraints
        )
    if kind == "trigger":
        name = wanted.get("trigger")
        return any(t.name == name and t.schema in schemas for t in b.all(Trigger))
    if kind == "policy":
        name = wanted.get("policy")
        return any(p.name == name and p.schema in schemas for p in b.all(Policy))
    if kind == "index":  # pragma: no cover - indexes are relations
        return any(i.name == wanted.get("relation") for i in b.all(Index))
    raise _Undecided(json.dumps(dict(wanted)))
