"""PostgreSQL's rules for the names it chooses itself (constraints, indexes, sequences).

Ports of makeObjectName / ChooseRelationName / ChooseConstraintName (commands/indexcmds.c,
catalog/pg_constraint.c), ChooseIndexColumnNames / ChooseIndexNameAddition (indexcmds.c)
and FigureColnameInternal (parser/parse_target.c), working on byte lengths as the server
does (NAMEDATALEN = 64)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pglast import ast
from pglast.enums import MinMaxOp, SQLValueFunctionOp, SubLinkType

NAMEDATALEN = 64


def clip(name: str, max_bytes: int) -> str:
    """The longest prefix of `name` that fits in `max_bytes` bytes of UTF-8 (pg_mbcliplen)."""
    raw = name.encode()
    if len(raw) <= max_bytes:
        return name
    return raw[:max_bytes].decode(errors="ignore")


def truncate_identifier(name: str) -> str:
    """What the server keeps of an identifier longer than NAMEDATALEN - 1 bytes."""
    return clip(name, NAMEDATALEN - 1)


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    overhead = 0
    name1chars = len(name1.encode())
    name2chars = 0
    if name2 is not None:
        name2chars = len(name2.encode())
        overhead += 1
    if label is not None:
        overhead += len(label.encode()) + 1
    available = NAMEDATALEN - 1 - overhead
    # Truncate the longer name first, one byte at a time, as makeObjectName does.
    while name1chars + name2chars > available:
        if name1chars > name2chars:
            name1chars -= 1
        else:
            name2chars -= 1
    result = clip(name1, name1chars)
    if name2 is not None:
        result += "_" + clip(name2, name2chars)
    if label is not None:
        result += "_" + label
    return result


def choose_name(name1: str, name2: str | None, label: str, taken: Callable[[str], bool]) -> str:
    """The first of name1_name2_label, name1_name2_label1, ... that `taken` refuses."""
    modlabel = label
    attempt = 0
    while True:
        name = make_object_name(name1, name2, modlabel)
        if not taken(name):
            return name
        attempt += 1
        modlabel = f"{label}{attempt}"


def name_addition(colnames: Iterable[str]) -> str:
    """ChooseIndexNameAddition / ChooseForeignKeyConstraintNameAddition: names joined by
    underscores, cut at NAMEDATALEN - 1 bytes."""
    buf = ""
    for name in colnames:
        if buf:
            buf += "_"
        buf += name
        if len(buf.encode()) >= NAMEDATALEN - 1:
            return clip(buf, NAMEDATALEN - 1)
    return buf


def index_column_names(preliminary: Sequence[str]) -> list[str]:
    """ChooseIndexColumnNames: make the per-column names unique with numeric suffixes."""
    result: list[str] = []
    for origname in preliminary:
        curname = origname
        i = 1
        while curname in result:
            suffix = str(i)
            curname = clip(origname, NAMEDATALEN - 1 - len(suffix)) + suffix
            i += 1
        result.append(curname)
    return result


_SQL_VALUE_NAMES = {
    SQLValueFunctionOp.SVFOP_CURRENT_DATE: "current_date",
    SQLValueFunctionOp.SVFOP_CURRENT_TIME: "current_time",
    SQLValueFunctionOp.SVFOP_CURRENT_TIME_N: "current_time",
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP: "current_timestamp",
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
    SQLValueFunctionOp.SVFOP_LOCALTIME: "localtime",
    SQLValueFunctionOp.SVFOP_LOCALTIME_N: "localtime",
    SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP: "localtimestamp",
    SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP_N: "localtimestamp",
    SQLValueFunctionOp.SVFOP_CURRENT_ROLE: "current_role",
    SQLValueFunctionOp.SVFOP_CURRENT_USER: "current_user",
    SQLValueFunctionOp.SVFOP_USER: "user",
    SQLValueFunctionOp.SVFOP_SESSION_USER: "session_user",
    SQLValueFunctionOp.SVFOP_CURRENT_CATALOG: "current_catalog",
    SQLValueFunctionOp.SVFOP_CURRENT_SCHEMA: "current_schema",
}


def figure_colname(node: object) -> tuple[str | None, int]:
    """FigureColnameInternal: a column name for an expression and its strength
    (2 = a real name, 1 = a fallback such as a type name, 0 = none)."""
    if isinstance(node, ast.ColumnRef):
        names = [f.sval for f in node.fields or () if isinstance(f, ast.String)]
        return (names[-1], 2) if names else (None, 0)
    if isinstance(node, ast.A_Indirection):
        names = [f.sval for f in node.indirection or () if isinstance(f, ast.String)]
        if names:
            return names[-1], 2
        return figure_colname(node.arg)
    if isinstance(node, ast.FuncCall):
        return str((node.funcname or ())[-1].sval), 2
    if isinstance(node, ast.A_Expr):
        if node.kind is not None and node.kind.name == "AEXPR_NULLIF":
            return "nullif", 2
        return None, 0
    if isinstance(node, ast.TypeCast):
        name, strength = figure_colname(node.arg)
        if strength <= 1 and node.typeName is not None:
            return str((node.typeName.names or ())[-1].sval), 1
        return name, strength
    if isinstance(node, ast.CollateClause):
        return figure_colname(node.arg)
    if isinstance(node, ast.GroupingFunc):
        return "grouping", 2
    if isinstance(node, ast.SubLink):
        if node.subLinkType == SubLinkType.EXISTS_SUBLINK:
            return "exists", 2
        if node.subLinkType == SubLinkType.ARRAY_SUBLINK:
            return "array", 2
        if node.subLinkType in (SubLinkType.EXPR_SUBLINK, SubLinkType.MULTIEXPR_SUBLINK):
            query = node.subselect
            if isinstance(query, ast.SelectStmt) and query.targetList:
                target = query.targetList[0]
                if isinstance(target, ast.ResTarget) and target.name:
                    return target.name, 2
        return None, 0
    if isinstance(node, ast.CaseExpr):
        name, strength = figure_colname(node.defresult)
        if strength <= 1:
            return "case", 1
        return name, strength
    if isinstance(node, ast.A_ArrayExpr):
        return "array", 2
    if isinstance(node, ast.RowExpr):
        return "row", 2
    if isinstance(node, ast.CoalesceExpr):
        return "coalesce", 2
    if isinstance(node, ast.MinMaxExpr):
        return ("greatest" if node.op == MinMaxOp.IS_GREATEST else "least"), 2
    if isinstance(node, ast.SQLValueFunction):
        name = _SQL_VALUE_NAMES.get(node.op) if node.op is not None else None
        return (name, 2) if name else (None, 0)
    if isinstance(node, ast.XmlSerialize):
        return "xmlserialize", 2
    return None, 0


def index_colname(elem: Any, for_create_index: bool = True) -> str:
    """The preliminary name of one index column: its alias, its column, the name
    FigureIndexColname gives its expression (CREATE INDEX only), or "expr"."""
    if elem.indexcolname:
        return str(elem.indexcolname)
    if elem.name:
        return str(elem.name)
    if for_create_index and elem.expr is not None:
        name, _ = figure_colname(elem.expr)
        if name:
            return name
    return "expr"
