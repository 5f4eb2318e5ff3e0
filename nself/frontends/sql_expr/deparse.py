"""Print an analysed expression as ruleutils.c (PostgreSQL 15) does: get_rule_expr,
get_const_expr, get_coercion_expr, isSimpleNode and the pretty-printing flags."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nself.frontends.sql_expr import nodes as n
from nself.frontends.sql_expr.catalog import Ty, TypeCatalog
from nself.ir.names import quote_ident, quote_literal

PRETTYINDENT_STD = 8
PRETTYINDENT_JOIN = 4
PRETTYINDENT_VAR = 4
PRETTYINDENT_LIMIT = 40


@dataclass
class Context:
    types: TypeCatalog
    pretty_paren: bool = False
    pretty_indent: bool = True
    varprefix: bool = False
    colnames_visible: bool = True
    # output column names of the query being printed (a view's columns), or None
    result_names: list[str] | None = None
    # printed names of range-table entries (id -> name) and the names each level uses
    rte_names: dict[int, str] = field(default_factory=dict)
    name_levels: list[set[str]] = field(default_factory=list)
    indent_level: int = 0
    buf: list[str] = field(default_factory=list)
    # prints a SubLink's query (set by the view printer)
    subquery_printer: Callable[[object, Context], None] | None = None

    def text(self) -> str:
        return "".join(self.buf)

    def append(self, s: str) -> None:
        self.buf.append(s)

    def remove_trailing_spaces(self) -> None:
        while self.buf:
            last = self.buf[-1]
            stripped = last.rstrip(" ")
            if stripped:
                self.buf[-1] = stripped
                return
            self.buf.pop()

    def keyword(self, text: str, indent_before: int, indent_after: int, indent_plus: int) -> None:
        """appendContextKeyword."""
        if self.pretty_indent:
            self.indent_level += indent_before
            self.remove_trailing_spaces()
            self.append("\n")
            if self.indent_level < PRETTYINDENT_LIMIT:
                amount = max(self.indent_level, 0) + indent_plus
            else:
                amount = PRETTYINDENT_LIMIT + (self.indent_level - PRETTYINDENT_LIMIT) // 2
                amount = amount % PRETTYINDENT_LIMIT
                amount += indent_plus
            self.append(" " * amount)
            self.append(text)
            self.indent_level += indent_after
            if self.indent_level < 0:
                self.indent_level = 0
        else:
            self.append(text)


def deparse(expr: n.Expr, ctx: Context, showimplicit: bool = False) -> str:
    get_rule_expr(expr, ctx, showimplicit)
    return ctx.text()


def fmt(ctx: Context, ty: Ty) -> str:
    return ctx.types.format(ty)


# --------------------------------------------------------------------------- helpers


def _simple_binary_op(node: n.Expr) -> str | None:
    if isinstance(node, n.Op) and len(node.args) == 2:
        return node.name
    return None


def is_simple(node: n.Expr, parent: n.Expr | None, ctx: Context) -> bool:
    """isSimpleNode."""
    if isinstance(node, (n.Var, n.Const)):
        return True
    if isinstance(node, n.Raw):
        return node.simple
    if isinstance(node, (n.Subscript, n.Array, n.Row, n.Coalesce, n.MinMax, n.SQLValue, n.NullIf, n.Case)):
        return True
    if isinstance(node, n.Func):
        return True
    if isinstance(node, n.FieldSelect):
        return not isinstance(parent, n.FieldSelect)
    if isinstance(node, n.Coerce):
        if node.kind == "func":
            return True
        return is_simple(node.arg, node, ctx)
    if isinstance(node, n.Op):
        if ctx.pretty_paren and isinstance(parent, n.Op):
            op = _simple_binary_op(node)
            if not op:
                return False
            is_lo = op[0] in "+-"
            is_hi = op[0] in "*/%"
            if not (is_lo or is_hi):
                return False
            parent_op = _simple_binary_op(parent)
            if not parent_op:
                return False
            p_lo = parent_op[0] in "+-"
            p_hi = parent_op[0] in "*/%"
            if not (p_lo or p_hi):
                return False
            if is_hi and p_lo:
                return True
            if is_lo and p_hi:
                return False
            return parent.args[0] is node
        return _simple_under(parent)
    if isinstance(node, (n.SubLink, n.NullTest, n.BoolTest, n.Distinct)):
        return _simple_under(parent)
    if isinstance(node, n.Bool):
        if isinstance(parent, n.Bool):
            if ctx.pretty_paren:
                if node.op in ("NOT", "AND") and parent.op in ("AND", "OR"):
                    return True
                if node.op == "OR" and parent.op == "OR":
                    return True
            return False
        return _simple_under(parent)
    return False


def _simple_under(parent: n.Expr | None) -> bool:
    if isinstance(parent, n.Func):
        return parent.form != "sql"
    if isinstance(parent, n.Coerce):
        return False
    return isinstance(parent, (n.Bool, n.Subscript, n.Array, n.Row, n.Coalesce, n.MinMax, n.NullIf, n.Case))


def get_rule_expr_paren(node: n.Expr, ctx: Context, showimplicit: bool, parent: n.Expr) -> None:
    need = ctx.pretty_paren and not is_simple(node, parent, ctx)
    if need:
        ctx.append("(")
    get_rule_expr(node, ctx, showimplicit)
    if need:
        ctx.append(")")


# --------------------------------------------------------------------------- get_rule_expr


def get_rule_expr(node: n.Expr, ctx: Context, showimplicit: bool) -> None:
    pp = ctx.pretty_paren
    if isinstance(node, n.Var):
        whole_row = node.name == "*"
        if (ctx.varprefix or whole_row) and node.rel:
            rel = ctx.rte_names.get(id(node.rte), node.rel) if node.rte is not None else node.rel
            ctx.append(quote_ident(rel) + ".")
        ctx.append("*" if whole_row else quote_ident(node.name))
    elif isinstance(node, n.Const):
        get_const_expr(node, ctx, 0)
    elif isinstance(node, n.Func):
        get_func_expr(node, ctx, showimplicit)
    elif isinstance(node, n.Coerce):
        if node.form == "implicit" and not showimplicit:
            get_rule_expr_paren(node.arg, ctx, False, node)
        else:
            get_coercion_expr(node.arg, ctx, node.ty, node)
    elif isinstance(node, n.Op):
        if not pp:
            ctx.append("(")
        if len(node.args) == 2:
            get_rule_expr_paren(node.args[0], ctx, True, node)
            ctx.append(f" {operator_name(node)} ")
            get_rule_expr_paren(node.args[1], ctx, True, node)
        else:
            ctx.append(f"{operator_name(node)} ")
            get_rule_expr_paren(node.args[0], ctx, True, node)
        if not pp:
            ctx.append(")")
    elif isinstance(node, n.ScalarArrayOp):
        if not pp:
            ctx.append("(")
        get_rule_expr_paren(node.left, ctx, True, node)
        name = node.name if node.schema == "pg_catalog" else f"OPERATOR({quote_ident(node.schema)}.{node.name})"
        ctx.append(f" {name} {'ANY' if node.use_or else 'ALL'} (")
        get_rule_expr_paren(node.right, ctx, True, node)
        if isinstance(node.right, n.SubLink) and node.right.kind == "EXPR":
            ctx.append("::" + fmt(ctx, node.right.ty))
        ctx.append(")")
        if not pp:
            ctx.append(")")
    elif isinstance(node, n.Distinct):
        if not pp:
            ctx.append("(")
        get_rule_expr_paren(node.left, ctx, True, node)
        ctx.append(" IS DISTINCT FROM ")
        get_rule_expr_paren(node.right, ctx, True, node)
        if not pp:
            ctx.append(")")
    elif isinstance(node, n.NullIf):
        ctx.append("NULLIF(")
        get_rule_expr(node.left, ctx, True)
        ctx.append(", ")
        get_rule_expr(node.right, ctx, True)
        ctx.append(")")
    elif isinstance(node, n.Bool):
        if not pp:
            ctx.append("(")
        if node.op == "NOT":
            ctx.append("NOT ")
            get_rule_expr_paren(node.args[0], ctx, False, node)
        else:
            for i, arg in enumerate(node.args):
                if i:
                    ctx.append(f" {node.op} ")
                get_rule_expr_paren(arg, ctx, False, node)
        if not pp:
            ctx.append(")")
    elif isinstance(node, n.NullTest):
        if not pp:
            ctx.append("(")
        get_rule_expr_paren(node.arg, ctx, True, node)
        ctx.append(" IS NULL" if node.is_null else " IS NOT NULL")
        if not pp:
            ctx.append(")")
    elif isinstance(node, n.BoolTest):
        if not pp:
            ctx.append("(")
        get_rule_expr_paren(node.arg, ctx, False, node)
        ctx.append(" " + node.test)
        if not pp:
            ctx.append(")")
    elif isinstance(node, n.Case):
        get_case_expr(node, ctx)
    elif isinstance(node, n.Coalesce):
        ctx.append("COALESCE(")
        _list(node.args, ctx)
        ctx.append(")")
    elif isinstance(node, n.MinMax):
        ctx.append(node.op + "(")
        _list(node.args, ctx)
        ctx.append(")")
    elif isinstance(node, n.Array):
        ctx.append("ARRAY[")
        _list(node.elements, ctx, strip_array=node.multidims)
        ctx.append("]")
        if not node.elements:
            ctx.append("::" + fmt(ctx, Ty(node.ty.key)))
    elif isinstance(node, n.Row):
        ctx.append("ROW(" if node.explicit or node.cast else "(")
        _list(node.args, ctx)
        ctx.append(")")
        if node.cast:
            ctx.append("::" + fmt(ctx, node.ty))
    elif isinstance(node, n.RowCompare):
        ctx.append("(ROW(")
        _list(node.left, ctx)
        name = node.op if node.schema == "pg_catalog" else f"OPERATOR({quote_ident(node.schema)}.{node.op})"
        ctx.append(f") {name} ROW(")
        _list(node.right, ctx)
        ctx.append("))")
    elif isinstance(node, n.SQLValue):
        ctx.append(node.text)
    elif isinstance(node, n.Collate):
        if not pp:
            ctx.append("(")
        get_rule_expr_paren(node.arg, ctx, showimplicit, node)
        ctx.append(" COLLATE " + node.collation)
        if not pp:
            ctx.append(")")
    elif isinstance(node, n.Subscript):
        need = not isinstance(node.arg, (n.Var, n.FieldSelect))
        if need:
            ctx.append("(")
        get_rule_expr(node.arg, ctx, showimplicit)
        if need:
            ctx.append(")")
        for lower, upper, is_slice in node.indexes:
            ctx.append("[")
            if lower is not None:
                get_rule_expr(lower, ctx, False)
                if is_slice:
                    ctx.append(":")
            elif is_slice:
                ctx.append(":")
            if upper is not None:
                get_rule_expr(upper, ctx, False)
            ctx.append("]")
    elif isinstance(node, n.FieldSelect):
        need = not isinstance(node.arg, (n.Subscript, n.FieldSelect))
        if need:
            ctx.append("(")
        get_rule_expr(node.arg, ctx, True)
        if need:
            ctx.append(")")
        ctx.append("." + quote_ident(node.field_name))
    elif isinstance(node, n.SubLink):
        get_sublink_expr(node, ctx)
    elif isinstance(node, n.Raw):
        ctx.append(node.text)
    else:  # pragma: no cover - every node kind is handled above
        raise TypeError(type(node).__name__)


def _list(items: list[n.Expr], ctx: Context, strip_array: bool = False) -> None:
    for i, item in enumerate(items):
        if i:
            ctx.append(", ")
        if strip_array and isinstance(item, n.Array):
            ctx.append("[")
            _list(item.elements, ctx, strip_array=True)
            ctx.append("]")
        else:
            get_rule_expr(item, ctx, True)


def operator_name(node: n.Op) -> str:
    if node.schema == "pg_catalog":
        return node.name
    return f"OPERATOR({quote_ident(node.schema)}.{node.name})"


def get_case_expr(node: n.Case, ctx: Context) -> None:
    ctx.keyword("CASE", 0, PRETTYINDENT_VAR, 0)
    if node.arg is not None:
        ctx.append(" ")
        get_rule_expr(node.arg, ctx, True)
    for cond, result in node.whens:
        if not ctx.pretty_indent:
            ctx.append(" ")
        ctx.keyword("WHEN ", 0, 0, 0)
        if node.arg is not None and isinstance(cond, n.Op) and len(cond.args) == 2:
            # CASE x WHEN v: print only the comparison value
            get_rule_expr(cond.args[1], ctx, False)
        else:
            get_rule_expr(cond, ctx, False)
        ctx.append(" THEN ")
        get_rule_expr(result, ctx, True)
    if not ctx.pretty_indent:
        ctx.append(" ")
    ctx.keyword("ELSE ", 0, 0, 0)
    get_rule_expr(node.default, ctx, True)
    if not ctx.pretty_indent:
        ctx.append(" ")
    ctx.keyword("END", -PRETTYINDENT_VAR, 0, 0)


def get_const_expr(node: n.Const, ctx: Context, showtype: int) -> None:
    key = node.ty.key
    if node.value is None:
        ctx.append("NULL")
        if showtype >= 0:
            ctx.append("::" + fmt(ctx, node.ty))
        return
    value = node.value
    needlabel = False
    if key == "int4":
        if not value.startswith("-"):
            ctx.append(value)
        else:
            ctx.append(f"'{value}'")
            needlabel = True
    elif key == "numeric":
        if value[:1].isdigit() and any(c in value for c in "eE."):
            ctx.append(value)
        else:
            ctx.append(f"'{value}'")
            needlabel = True
    elif key == "bool":
        ctx.append("true" if value == "t" else "false")
    else:
        ctx.append(quote_literal(value))
    if showtype < 0:
        return
    if key in ("bool", "unknown"):
        needlabel = False
    elif key == "int4":
        pass
    elif key == "numeric":
        needlabel = needlabel or node.ty.typmod >= 0
    else:
        needlabel = True
    if needlabel or showtype > 0:
        ctx.append("::" + fmt(ctx, node.ty))


def get_coercion_expr(arg: n.Expr, ctx: Context, result: Ty, parent: n.Expr) -> None:
    if isinstance(arg, n.Const) and arg.ty.key == result.key and arg.ty.typmod == -1:
        get_const_expr(arg, ctx, -1)
    else:
        if not ctx.pretty_paren:
            ctx.append("(")
        get_rule_expr_paren(arg, ctx, False, parent)
        if not ctx.pretty_paren:
            ctx.append(")")
    ctx.append("::" + fmt(ctx, result))


def function_name(node: n.Func) -> str:
    name = quote_ident(node.name)
    if node.schema != "pg_catalog":
        return f"{quote_ident(node.schema)}.{name}"
    return name


def get_func_expr(node: n.Func, ctx: Context, showimplicit: bool) -> None:
    if node.form == "sql" and get_func_sql_syntax(node, ctx):
        return
    if node.form == "grouping":
        ctx.append("GROUPING(")
        _list(node.args, ctx)
        ctx.append(")")
        return
    if node.agg:
        get_agg_expr(node, ctx)
        return
    ctx.append(function_name(node) + "(")
    for i, arg in enumerate(node.args):
        if i:
            ctx.append(", ")
        if node.variadic and i == len(node.args) - 1:
            ctx.append("VARIADIC ")
        name = node.arg_names[i] if i < len(node.arg_names) else None
        if name:
            ctx.append(f"{quote_ident(name)} => ")
        get_rule_expr(arg, ctx, True)
    ctx.append(")")


def get_agg_expr(node: n.Func, ctx: Context) -> None:
    if node.within_group:
        ctx.append(function_name(node) + "(")
        _list(node.args, ctx)
        ctx.append(") WITHIN GROUP (ORDER BY ")
        for i, (expr, suffix) in enumerate(node.order_by):
            if i:
                ctx.append(", ")
            _sortgroup(expr, ctx)
            ctx.append(suffix)
        ctx.append(")")
        if node.filter is not None:
            ctx.append(" FILTER (WHERE ")
            get_rule_expr(node.filter, ctx, False)
            ctx.append(")")
        return
    ctx.append(function_name(node) + "(")
    if node.distinct:
        ctx.append("DISTINCT ")
    if node.star:
        ctx.append("*")
    else:
        for i, arg in enumerate(node.args):
            if i:
                ctx.append(", ")
            get_rule_expr(arg, ctx, True)
    if node.order_by:
        ctx.append(" ORDER BY ")
        for i, (expr, suffix) in enumerate(node.order_by):
            if i:
                ctx.append(", ")
            get_rule_expr(expr, ctx, False)
            ctx.append(suffix)
    ctx.append(")")
    if node.filter is not None:
        ctx.append(" FILTER (WHERE ")
        get_rule_expr(node.filter, ctx, False)
        ctx.append(")")
    if node.over is not None:
        ctx.append(" OVER ")
        get_window_spec(node.over, ctx)


def _sortgroup(expr: n.Expr, ctx: Context) -> None:
    """get_rule_sortgroupclause for an expression (not by column number)."""
    if isinstance(expr, n.Const):
        get_const_expr(expr, ctx, 1)
    elif isinstance(expr, (n.Var, n.Raw)):
        get_rule_expr(expr, ctx, True)
    else:
        ctx.append("(")
        get_rule_expr(expr, ctx, True)
        ctx.append(")")


def get_window_spec(w: n.WindowSpec, ctx: Context) -> None:
    if w.name is not None and not w.partition and not w.order and not w.frame:
        ctx.append(quote_ident(w.name))
        return
    ctx.append("(")
    need_space = False
    if w.name is not None:
        ctx.append(quote_ident(w.name))
        need_space = True
    if w.partition:
        if need_space:
            ctx.append(" ")
        ctx.append("PARTITION BY ")
        for i, e in enumerate(w.partition):
            if i:
                ctx.append(", ")
            _sortgroup(e, ctx)
        need_space = True
    if w.order:
        if need_space:
            ctx.append(" ")
        ctx.append("ORDER BY ")
        for i, (e, suffix) in enumerate(w.order):
            if i:
                ctx.append(", ")
            _sortgroup(e, ctx)
            ctx.append(suffix)
        need_space = True
    if w.frame:
        if need_space:
            ctx.append(" ")
        for i, part in enumerate(w.frame):
            if i:
                ctx.append(" ")
            if isinstance(part, str):
                ctx.append(part)
            else:
                get_rule_expr(part, ctx, False)
    ctx.append(")")


def get_func_sql_syntax(node: n.Func, ctx: Context) -> bool:
    name = node.name
    a = node.args
    if name == "timezone" and len(a) == 2:
        ctx.append("(")
        get_rule_expr_paren(a[1], ctx, False, node)
        ctx.append(" AT TIME ZONE ")
        get_rule_expr_paren(a[0], ctx, False, node)
        ctx.append(")")
        return True
    if name == "extract" and len(a) == 2 and isinstance(a[0], n.Const) and a[0].value is not None:
        ctx.append(f"EXTRACT({a[0].value} FROM ")
        get_rule_expr(a[1], ctx, False)
        ctx.append(")")
        return True
    if name == "overlaps" and len(a) == 4:
        ctx.append("((")
        get_rule_expr(a[0], ctx, False)
        ctx.append(", ")
        get_rule_expr(a[1], ctx, False)
        ctx.append(") OVERLAPS (")
        get_rule_expr(a[2], ctx, False)
        ctx.append(", ")
        get_rule_expr(a[3], ctx, False)
        ctx.append("))")
        return True
    if name == "position" and len(a) == 2:
        ctx.append("POSITION((")
        get_rule_expr(a[1], ctx, False)
        ctx.append(") IN (")
        get_rule_expr(a[0], ctx, False)
        ctx.append("))")
        return True
    if name in ("substring", "substr") and len(a) in (2, 3):
        ctx.append("SUBSTRING(")
        get_rule_expr(a[0], ctx, False)
        ctx.append(" FROM ")
        get_rule_expr(a[1], ctx, False)
        if len(a) == 3:
            ctx.append(" FOR ")
            get_rule_expr(a[2], ctx, False)
        ctx.append(")")
        return True
    if name in ("btrim", "ltrim", "rtrim") and len(a) in (1, 2):
        where = {"btrim": "BOTH", "ltrim": "LEADING", "rtrim": "TRAILING"}[name]
        ctx.append(f"TRIM({where}")
        if len(a) == 2:
            ctx.append(" ")
            get_rule_expr(a[1], ctx, False)
        ctx.append(" FROM ")
        get_rule_expr(a[0], ctx, False)
        ctx.append(")")
        return True
    if name == "overlay" and len(a) in (3, 4):
        ctx.append("OVERLAY(")
        get_rule_expr(a[0], ctx, False)
        ctx.append(" PLACING ")
        get_rule_expr(a[1], ctx, False)
        ctx.append(" FROM ")
        get_rule_expr(a[2], ctx, False)
        if len(a) == 4:
            ctx.append(" FOR ")
            get_rule_expr(a[3], ctx, False)
        ctx.append(")")
        return True
    if name == "normalize" and len(a) in (1, 2):
        ctx.append("NORMALIZE(")
        get_rule_expr(a[0], ctx, False)
        if len(a) == 2 and isinstance(a[1], n.Const) and a[1].value is not None:
            ctx.append(", " + a[1].value)
        ctx.append(")")
        return True
    if name == "is_normalized" and len(a) in (1, 2):
        ctx.append("(")
        get_rule_expr_paren(a[0], ctx, False, node)
        ctx.append(" IS")
        if len(a) == 2 and isinstance(a[1], n.Const) and a[1].value is not None:
            ctx.append(" " + a[1].value)
        ctx.append(" NORMALIZED)")
        return True
    if name == "pg_collation_for" and len(a) == 1:
        ctx.append("COLLATION FOR (")
        get_rule_expr(a[0], ctx, False)
        ctx.append(")")
        return True
    return False


def get_sublink_expr(node: n.SubLink, ctx: Context) -> None:
    ctx.append("ARRAY(" if node.kind == "ARRAY" else "(")
    if isinstance(node.test, n.Row):
        ctx.append("(")
        _list(node.test.args, ctx)
        ctx.append(")")
    elif node.test is not None:
        get_rule_expr(node.test, ctx, True)
    need_paren = True
    if node.kind == "EXISTS":
        ctx.append("EXISTS ")
    elif node.kind == "ANY":
        ctx.append(" IN " if node.op == "=" else f" {node.op} ANY ")
    elif node.kind == "ALL":
        ctx.append(f" {node.op} ALL ")
    else:
        need_paren = False
    if need_paren:
        ctx.append("(")
    if ctx.subquery_printer is not None:
        ctx.subquery_printer(node.query, ctx)
    ctx.append("))" if need_paren else ")")
