"""From pglast's raw parse tree to the analysed tree: PostgreSQL's parse analysis in
miniature (parse_expr.c, parse_coerce.c, parse_oper.c, parse_func.c), enough to know every
node's type, which operator and function PostgreSQL picks, and which casts it inserts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, enums

from nself.errors import NselfError
from nself.frontends.sql_expr import nodes as n
from nself.frontends.sql_expr.catalog import (
    TYPE_ALIASES,
    UNKNOWN,
    Func,
    Operator,
    Ty,
    TypeCatalog,
    interval_typmod,
    split_qualified,
    type_catalog,
)
from nself.frontends.sql_expr.literals import BadLiteral, array_out, normalise, parse_array
from nself.ir.builder import CatalogBuilder
from nself.ir.model import Collation, Table, View, ViewDependency
from nself.ir.model import Function as IRFunction
from nself.ir.model import Operator as IROperator
from nself.ir.model import Sequence as IRSequence
from nself.ir.names import quote_ident

IMPLICIT, ASSIGNMENT, EXPLICIT = 0, 1, 2


def is_node(node: Any, cls: type | tuple[type, ...]) -> bool:
    """isinstance without narrowing: pglast's node fields are typed Optional, but the
    grammar guarantees them wherever this code reads them."""
    return isinstance(node, cls)


class ExpressionError(NselfError):
    """An expression PostgreSQL would reject (unknown column, bad literal)."""


class Unsupported(Exception):
    """A construct the canonicaliser does not model; the caller falls back."""


POLY = {
    "anyelement", "anyarray", "anynonarray", "anyenum", "anyrange", "anymultirange",
    "anycompatible", "anycompatiblearray", "anycompatiblenonarray", "anycompatiblerange",
    "anycompatiblemultirange",
}
# Length-coercion casts (pg_cast rows from a type to itself with a function).
LENGTH_COERCED = {"bpchar", "varchar", "bit", "varbit", "numeric", "time", "timetz", "timestamp", "timestamptz", "interval"}

SVF_TEXT = {
    "SVFOP_CURRENT_DATE": ("CURRENT_DATE", "date"),
    "SVFOP_CURRENT_TIME": ("CURRENT_TIME", "timetz"),
    "SVFOP_CURRENT_TIME_N": ("CURRENT_TIME", "timetz"),
    "SVFOP_CURRENT_TIMESTAMP": ("CURRENT_TIMESTAMP", "timestamptz"),
    "SVFOP_CURRENT_TIMESTAMP_N": ("CURRENT_TIMESTAMP", "timestamptz"),
    "SVFOP_LOCALTIME": ("LOCALTIME", "time"),
    "SVFOP_LOCALTIME_N": ("LOCALTIME", "time"),
    "SVFOP_LOCALTIMESTAMP": ("LOCALTIMESTAMP", "timestamp"),
    "SVFOP_LOCALTIMESTAMP_N": ("LOCALTIMESTAMP", "timestamp"),
    "SVFOP_CURRENT_ROLE": ("CURRENT_ROLE", "name"),
    "SVFOP_CURRENT_USER": ("CURRENT_USER", "name"),
    "SVFOP_USER": ("USER", "name"),
    "SVFOP_SESSION_USER": ("SESSION_USER", "name"),
    "SVFOP_CURRENT_CATALOG": ("CURRENT_CATALOG", "name"),
    "SVFOP_CURRENT_SCHEMA": ("CURRENT_SCHEMA", "name"),
}


@dataclass
class Column:
    name: str
    ty: Ty
    not_null: bool = False
    collation: str | None = None  # when not its type's (IR text)


@dataclass
class RangeEntry:
    """A relation visible to column references (one table, or one FROM item of a view)."""

    alias: str | None
    columns: list[Column]
    schema: str | None = None
    name: str | None = None
    nullable: bool = False  # the nullable side of an outer join


ColumnResolver = Callable[[list[str]], n.Expr | None]


@dataclass
class Analyzer:
    search_path: tuple[str, ...]
    builder: CatalogBuilder
    relations: list[RangeEntry] = field(default_factory=list)
    types: TypeCatalog = field(init=False)
    # A hook for view analysis: sub-selects and outer references.
    sublink_hook: Callable[[ast.SubLink], n.Expr] | None = None
    column_hook: ColumnResolver | None = None
    agg_hook: Callable[[ast.FuncCall], n.Expr] | None = None
    # what the expression uses (relations, columns, functions), as PostgreSQL records it
    # in pg_depend; None: not collected
    dependencies: set[ViewDependency] | None = None
    # a routine's parameters, for its SQL body: by name (the fields of a ColumnRef no
    # column matched) or by number ($1); None: not a parameter
    param_hook: Callable[[list[str] | int], n.Expr | None] | None = None

    def __post_init__(self) -> None:
        self.types = type_catalog(self.builder)

    # ================================================================== types

    def effective_path(self) -> list[str]:
        path = [s for s in self.search_path if s != "$user"]
        if "pg_catalog" not in path:
            path.insert(0, "pg_catalog")
        return path

    def type_from_name(self, tn: Any) -> Ty:
        if tn.pct_type:
            raise Unsupported("%TYPE")
        names = [s.sval for s in tn.names]
        if len(names) == 2 and names[0] == "pg_catalog":
            key = names[1]
        elif len(names) == 1:
            key = self._resolve_type_name(names[0])
        else:
            schema, name = names[-2], names[-1]
            key = name if schema == "pg_catalog" else f"{schema}.{name}"
        mods = [self._typmod_value(m) for m in (tn.typmods or ())]
        typmod = self._typmod(key, mods, tn)
        if tn.arrayBounds:
            key = self.types.array_of(key)
        return Ty(key, typmod)

    def _resolve_type_name(self, name: str) -> str:
        snap = self.types.snap
        alias = TYPE_ALIASES.get(name)
        for schema in self.effective_path():
            if schema == "pg_catalog":
                if name in snap.types and snap.types[name].kind != "c":
                    return name
                if alias:
                    return alias
                continue
            if self.types.user_exists(schema, name):
                return f"{schema}.{name}"
        if alias:
            return alias
        # unknown type: assume it lives in the first schema of the path (created later?)
        first = next((s for s in self.effective_path() if s != "pg_catalog"), "public")
        return f"{first}.{name}"

    def _typmod_value(self, node: Any) -> int | str:
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
            return int(node.val.ival or 0)
        if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
            return str(node.val.sval)
        if isinstance(node, ast.ColumnRef):
            return ".".join(getattr(f, "sval", "*") for f in node.fields or ())
        raise Unsupported("type modifier")

    def _typmod(self, key: str, mods: Sequence[int | str], tn: Any) -> int:
        if not mods:
            if key == "bpchar" and self._is_sql_char(tn):
                return 5  # CHARACTER means CHARACTER(1)
            if key == "bit" and [s.sval for s in tn.names] == ["pg_catalog", "bit"]:
                return 1  # BIT means BIT(1)
            return -1
        ints = [m for m in mods if isinstance(m, int)]
        if len(ints) != len(mods):
            raise Unsupported("non-integer type modifier")
        if key in ("varchar", "bpchar"):
            return ints[0] + 4
        if key == "numeric":
            precision = ints[0]
            scale = ints[1] if len(ints) > 1 else 0
            return ((precision << 16) | (scale & 0x7FF)) + 4
        if key in ("time", "timetz", "timestamp", "timestamptz", "bit", "varbit"):
            return ints[0]
        if key == "interval":
            fields = ints[0]
            interval_precision = ints[1] if len(ints) > 1 else None
            if fields == 0x7FFF and interval_precision is None:
                return -1
            return interval_typmod(fields, interval_precision)
        return -1

    @staticmethod
    def _is_sql_char(tn: Any) -> bool:
        names = [s.sval for s in tn.names]
        return names == ["pg_catalog", "bpchar"]

    def fmt(self, ty: Ty) -> str:
        return self.types.format(ty)

    # ================================================================== expressions

    def transform(self, node: Any) -> n.Expr:
        method = getattr(self, "t_" + type(node).__name__, None)
        if method is None:
            raise Unsupported(type(node).__name__)
        result: n.Expr = method(node)
        return result

    def t_A_Const(self, node: Any) -> n.Expr:
        if node.isnull:
            return n.Const(Ty(UNKNOWN), None)
        val: Any = node.val
        if isinstance(val, ast.Integer):
            return n.Const(Ty("int4"), str(val.ival))
        if isinstance(val, ast.Float):
            text = str(val.fval)
            if all(c.isdigit() for c in text.lstrip("-")):
                number = int(text)
                if -(2**63) <= number < 2**63:
                    return n.Const(Ty("int8"), str(number))
            return n.Const(Ty("numeric"), normalise("numeric", text))
        if isinstance(val, ast.Boolean):
            return n.Const(Ty("bool"), "t" if val.boolval else "f")
        if isinstance(val, ast.String):
            return n.Const(Ty(UNKNOWN), str(val.sval))
        if isinstance(val, ast.BitString):
            text = str(val.bsval)
            hexa = text[:1] in ("x", "X")
            bits = "".join(f"{int(c, 16):04b}" for c in text[1:]) if hexa else text[1:]
            return n.Const(Ty("bit"), bits)
        raise Unsupported("constant")

    def t_TypeCast(self, node: Any) -> n.Expr:
        target = self.type_from_name(node.typeName)
        arg_node = node.arg
        if isinstance(arg_node, ast.A_ArrayExpr) and self.types.is_array(target.key):
            arg = self.t_A_ArrayExpr(arg_node, target)
        else:
            arg = self.transform(arg_node)
        return self.coerce(arg, target, EXPLICIT, "explicit", to_target=True)

    def t_ColumnRef(self, node: Any) -> n.Expr:
        fields: list[str] = []
        for f in node.fields or ():
            if isinstance(f, ast.A_Star):
                qualifier = fields[-1] if fields else None
                if self.column_hook is not None and qualifier is not None:
                    found = self.column_hook([*fields, "*"])
                    if found is not None:
                        return found
                rel = next((r for r in self.relations if qualifier is not None and r.alias == qualifier), None)
                if rel is None:
                    raise Unsupported("*")
                # a whole-row reference (a trigger's OLD.* / NEW.*)
                return n.Raw(Ty("record"), f"{quote_ident(qualifier or '')}.*", simple=True)
            fields.append(f.sval)
        if self.column_hook is not None:
            found = self.column_hook(fields)
            if found is not None:
                return found
        name = fields[-1]
        qualifier = fields[-2] if len(fields) > 1 else None
        for rel in self.relations:
            if qualifier is not None and qualifier not in (rel.alias, rel.name):
                continue
            for col in rel.columns:
                if col.name == name:
                    return n.Var(col.ty, name, rel.alias, col.not_null and not rel.nullable, collation=col.collation)
        if self.param_hook is not None:
            param = self.param_hook(fields)
            if param is not None:
                return param
        if len(fields) == 1 and not self.relations:
            raise ExpressionError(f'column "{name}" does not exist')
        raise ExpressionError(f'column "{".".join(fields)}" does not exist')

    def t_ParamRef(self, node: Any) -> n.Expr:
        found = self.param_hook(int(node.number)) if self.param_hook is not None else None
        if found is None:
            raise Unsupported("parameter")
        return found

    def t_SQLValueFunction(self, node: Any) -> n.Expr:
        text, key = SVF_TEXT[node.op.name]
        typmod = node.typmod if node.typmod is not None else -1
        if node.op.name.endswith("_N") and typmod >= 0:
            text = f"{text}({typmod})"
        return n.SQLValue(Ty(key, typmod if typmod >= 0 else -1), text)

    def t_BoolExpr(self, node: Any) -> n.Expr:
        args = [self.coerce_to_bool(self.transform(a)) for a in node.args]
        op = {0: "AND", 1: "OR", 2: "NOT"}[int(node.boolop)]
        return n.Bool(Ty("bool"), op, args)  # type: ignore[arg-type]

    def coerce_to_bool(self, e: n.Expr) -> n.Expr:
        if e.ty.key == "bool":
            return e
        return self.coerce(e, Ty("bool"), ASSIGNMENT, "implicit")

    def t_NullTest(self, node: Any) -> n.Expr:
        arg = self.transform(node.arg)
        if arg.ty.key == UNKNOWN:
            arg = self.coerce(arg, Ty("text"), IMPLICIT, "implicit")
        is_null = int(node.nulltesttype) == 0
        return n.NullTest(Ty("bool"), arg, is_null, isinstance(arg, n.Row))

    def t_BooleanTest(self, node: Any) -> n.Expr:
        arg = self.coerce_to_bool(self.transform(node.arg))
        test = ["IS TRUE", "IS NOT TRUE", "IS FALSE", "IS NOT FALSE", "IS UNKNOWN", "IS NOT UNKNOWN"][
            int(node.booltesttype)
        ]
        return n.BoolTest(Ty("bool"), arg, test)

    def t_CollateClause(self, node: Any) -> n.Expr:
        arg = self.transform(node.arg)
        if arg.ty.key == UNKNOWN:
            arg = self.coerce(arg, Ty("text"), IMPLICIT, "implicit")
        names = [s.sval for s in node.collname]
        if len(names) == 1:
            collation = quote_ident(names[0])
        else:
            collation = ".".join(quote_ident(x) for x in names)
            if names[0] == "pg_catalog":
                collation = quote_ident(names[1])
        return n.Collate(arg.ty, arg, collation, resolve_collation(names, self.effective_path(), self.builder))

    def t_CaseExpr(self, node: Any) -> n.Expr:
        arg = self.transform(node.arg) if node.arg is not None else None
        conditions: list[n.Expr] = []
        results: list[n.Expr] = []
        for w in node.args:
            if arg is not None:
                cond = self.make_op("=", arg, self.transform(w.expr))
            else:
                cond = self.coerce_to_bool(self.transform(w.expr))
            conditions.append(cond)
            results.append(self.transform(w.result))
        default = self.transform(node.defresult) if node.defresult is not None else n.Const(Ty(UNKNOWN), None)
        all_results = [*results, default]
        ty = self.common_type(all_results, "CASE")
        results = [self.coerce(r, ty, IMPLICIT, "implicit") for r in results]
        default = self.coerce(default, ty, IMPLICIT, "implicit")
        ty = shared_typmod(ty, [*results, default])
        # CASE x WHEN v: the comparisons print as their right-hand sides (see deparse)
        return n.Case(ty, arg, list(zip(conditions, results, strict=True)), default)

    def t_CoalesceExpr(self, node: Any) -> n.Expr:
        args = [self.transform(a) for a in node.args]
        ty = self.common_type(args, "COALESCE")
        coerced = [self.coerce(a, ty, IMPLICIT, "implicit") for a in args]
        return n.Coalesce(shared_typmod(ty, coerced), coerced)

    def t_MinMaxExpr(self, node: Any) -> n.Expr:
        args = [self.transform(a) for a in node.args]
        ty = self.common_type(args, "GREATEST")
        op = "GREATEST" if int(node.op) == 0 else "LEAST"
        coerced = [self.coerce(a, ty, IMPLICIT, "implicit") for a in args]
        return n.MinMax(shared_typmod(ty, coerced), op, coerced)  # type: ignore[arg-type]

    def t_A_ArrayExpr(self, node: Any, target: Ty | None = None) -> n.Expr:
        elements = [self.transform(e) for e in (node.elements or ())]
        if target is not None:
            elem_key = self.types.elem_of(target.key) or UNKNOWN
            elem_ty = Ty(elem_key)
        elif elements:
            elem_ty = self.common_type(elements, "ARRAY")
            if elem_ty.key == UNKNOWN:
                elem_ty = Ty("text")
        else:
            raise ExpressionError("cannot determine type of empty array")
        multidims = any(isinstance(e, n.Array) for e in elements)
        if multidims:
            return n.Array(Ty(self.types.array_of(elem_ty.key)), elements, True)
        coerced = [self.coerce(e, elem_ty, EXPLICIT if target is not None else IMPLICIT, "explicit" if target is not None else "implicit") for e in elements]
        return n.Array(Ty(self.types.array_of(elem_ty.key)), coerced)

    def t_RowExpr(self, node: Any) -> n.Expr:
        args = [self.transform(a) for a in (node.args or ())]
        args = [self.coerce(a, Ty("text"), IMPLICIT, "implicit") if a.ty.key == UNKNOWN else a for a in args]
        return n.Row(Ty("record"), args, int(node.row_format) != 2)

    def t_A_Indirection(self, node: Any) -> n.Expr:
        arg = self.transform(node.arg)
        for ind in node.indirection or ():
            if isinstance(ind, ast.A_Indices):
                elem = self.types.elem_of(arg.ty.key)
                if elem is None:
                    raise Unsupported("subscript of non-array")
                lower = self.coerce(self.transform(ind.lidx), Ty("int4"), ASSIGNMENT, "implicit") if ind.lidx is not None else None
                upper = self.coerce(self.transform(ind.uidx), Ty("int4"), ASSIGNMENT, "implicit") if ind.uidx is not None else None
                ty = arg.ty if ind.is_slice else Ty(elem)
                arg = n.Subscript(ty, arg, [(lower, upper, bool(ind.is_slice))])
            elif isinstance(ind, ast.String):
                if isinstance(arg, n.Var) and arg.name == "*" and arg.rel and self.column_hook is not None:
                    # (t).col of a relation's whole row is just the column
                    column = self.column_hook([arg.rel, str(ind.sval)])
                    if column is not None:
                        arg = column
                        continue
                arg = n.FieldSelect(self._field_type(arg.ty, str(ind.sval)), arg, str(ind.sval))
            else:
                raise Unsupported("indirection")
        return arg

    def _field_type(self, ty: Ty, name: str) -> Ty:
        from nself.ir.model import CompositeType as IRComposite

        schema, _, typname = ty.key.partition(".")
        members: list[tuple[str, str]] = []
        composite = self.builder.get(IRComposite, schema, typname)
        if composite is not None:
            members = [(a.name, a.data_type) for a in composite.attributes]
        table = self.builder.get(Table, schema, typname)
        if table is not None and not members:
            members = [(c.name, c.data_type) for c in table.columns]
        view = self.builder.get(View, schema, typname)
        if view is not None and not members:
            members = [(c.name, c.data_type) for c in view.columns]
        for member, data_type in members:
            if member == name:
                return self.types.parse_format(data_type)
        raise Unsupported(f"field {name} of {ty.key}")

    def t_GroupingFunc(self, node: Any) -> n.Expr:
        args = [self.transform(x) for x in node.args or ()]
        return n.Func(Ty("int4"), "GROUPING", args, form="grouping")

    def t_SubLink(self, node: Any) -> n.Expr:
        if self.sublink_hook is None:
            raise Unsupported("sub-select")
        return self.sublink_hook(node)

    # ------------------------------------------------------------------ A_Expr

    def t_A_Expr(self, node: Any) -> n.Expr:
        kind = node.kind.name
        name = node.name[-1].sval if node.name else ""
        if kind == "AEXPR_OP":
            if node.lexpr is None:
                return self.make_op(name, None, self.transform(node.rexpr), self._op_schema(node))
            return self.make_op(name, self.transform(node.lexpr), self.transform(node.rexpr), self._op_schema(node))
        if kind in ("AEXPR_OP_ANY", "AEXPR_OP_ALL"):
            left = self.transform(node.lexpr)
            right = self.transform(node.rexpr)
            return self.make_scalar_array_op(name, kind == "AEXPR_OP_ANY", left, right)
        if kind in ("AEXPR_DISTINCT", "AEXPR_NOT_DISTINCT"):
            left, right = self.transform(node.lexpr), self.transform(node.rexpr)
            eq = self.make_op("=", left, right)
            assert isinstance(eq, n.Op)
            distinct = n.Distinct(Ty("bool"), eq.args[0], eq.args[1])
            if kind == "AEXPR_NOT_DISTINCT":
                return n.Bool(Ty("bool"), "NOT", [distinct])
            return distinct
        if kind == "AEXPR_NULLIF":
            left, right = self.transform(node.lexpr), self.transform(node.rexpr)
            eq = self.make_op("=", left, right)
            assert isinstance(eq, n.Op)
            return n.NullIf(eq.args[0].ty, eq.args[0], eq.args[1])
        if kind == "AEXPR_IN":
            return self._in(node, name)
        if kind in ("AEXPR_LIKE", "AEXPR_ILIKE"):
            right = self.transform(node.rexpr)
            return self.make_op(name, self.transform(node.lexpr), right)
        if kind == "AEXPR_SIMILAR":
            right = self.transform(node.rexpr)
            return self.make_op(name, self.transform(node.lexpr), right)
        if kind in ("AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN", "AEXPR_BETWEEN_SYM", "AEXPR_NOT_BETWEEN_SYM"):
            return self._between(node, kind)
        raise Unsupported(kind)

    @staticmethod
    def _op_schema(node: Any) -> str | None:
        if node.name and len(node.name) == 2:
            return str(node.name[0].sval)
        return None

    def _between(self, node: ast.A_Expr, kind: str) -> n.Expr:
        lo_node, hi_node = node.rexpr or (None, None)
        if kind in ("AEXPR_BETWEEN", "AEXPR_NOT_BETWEEN"):
            if kind == "AEXPR_BETWEEN":
                a = self.make_op(">=", self.transform(node.lexpr), self.transform(lo_node))
                b = self.make_op("<=", self.transform(node.lexpr), self.transform(hi_node))
                return n.Bool(Ty("bool"), "AND", [a, b])
            a = self.make_op("<", self.transform(node.lexpr), self.transform(lo_node))
            b = self.make_op(">", self.transform(node.lexpr), self.transform(hi_node))
            return n.Bool(Ty("bool"), "OR", [a, b])
        x = node.lexpr
        if kind == "AEXPR_BETWEEN_SYM":
            one = n.Bool(Ty("bool"), "AND", [self.make_op(">=", self.transform(x), self.transform(lo_node)), self.make_op("<=", self.transform(x), self.transform(hi_node))])
            two = n.Bool(Ty("bool"), "AND", [self.make_op(">=", self.transform(x), self.transform(hi_node)), self.make_op("<=", self.transform(x), self.transform(lo_node))])
            return n.Bool(Ty("bool"), "OR", [one, two])
        one = n.Bool(Ty("bool"), "OR", [self.make_op("<", self.transform(x), self.transform(lo_node)), self.make_op(">", self.transform(x), self.transform(hi_node))])
        two = n.Bool(Ty("bool"), "OR", [self.make_op("<", self.transform(x), self.transform(hi_node)), self.make_op(">", self.transform(x), self.transform(lo_node))])
        return n.Bool(Ty("bool"), "AND", [one, two])

    def _in(self, node: ast.A_Expr, name: str) -> n.Expr:
        left = self.transform(node.lexpr)
        rnodes = node.rexpr if isinstance(node.rexpr, (list, tuple)) else [node.rexpr]
        if isinstance(node.rexpr, ast.SubLink):
            raise Unsupported("IN sub-select")
        rights = [self.transform(r) for r in rnodes]
        use_or = name == "="
        # transformAExprIn: non-Var right-hand items go into one array if they share a type
        non_vars = [r for r in rights if not isinstance(r, n.Var)]
        vars_ = [r for r in rights if isinstance(r, n.Var)]
        result: list[n.Expr] = []
        if len(non_vars) > 1:
            common = self.common_type([left, *non_vars], "IN", allow_fail=True)
            if common is not None and common.key != UNKNOWN:
                elem_key = common.key
                array_key = self.types.array_of(elem_key)
                if array_key != elem_key:
                    elems = [self.coerce(r, Ty(elem_key), IMPLICIT, "implicit") for r in non_vars]
                    array = n.Array(Ty(array_key), elems)
                    result.append(self.make_scalar_array_op(name, use_or, left, array))
                    non_vars = []
        for r in [*non_vars, *vars_]:
            result.append(self.make_op(name, left, r))
        if len(result) == 1:
            return result[0]
        return n.Bool(Ty("bool"), "OR" if use_or else "AND", result)

    # ------------------------------------------------------------------ functions

    def t_FuncCall(self, node: Any) -> n.Expr:
        names = [s.sval for s in node.funcname]
        if node.over is not None or node.agg_star or node.agg_distinct or node.agg_order or node.agg_filter:
            if self.agg_hook is None:
                raise Unsupported("aggregate")
            return self.agg_hook(node)
        args = [self.transform(a) for a in (node.args or ())]
        arg_names: list[str | None] = []
        for a in node.args or ():
            arg_names.append(a.name if isinstance(a, ast.NamedArgExpr) else None)
        form: n.Form = "sql" if node.funcformat == enums.CoercionForm.COERCE_SQL_SYNTAX else "call"
        result = self.make_func(names, args, form, bool(node.func_variadic), arg_names)
        if isinstance(result, n.Func) and result.agg and self.agg_hook is not None:
            return self.agg_hook(node)
        return result

    def t_NamedArgExpr(self, node: Any) -> n.Expr:
        return self.transform(node.arg)

    def make_func(
        self,
        names: list[str],
        args: list[n.Expr],
        form: n.Form = "call",
        variadic: bool = False,
        arg_names: list[str | None] | None = None,
    ) -> n.Expr:
        schema = names[0] if len(names) == 2 else None
        name = names[-1]
        arg_types = [a.ty.key for a in args]
        candidates = self._function_candidates(schema, name, len(args), variadic)
        # exact match
        chosen: tuple[Func, list[str]] | None = None
        for f, declared in candidates:
            if declared == arg_types:
                chosen = (f, declared)
                break
        if chosen is None and len(args) == 1 and schema in (None, "pg_catalog") and not variadic:
            cast = self._function_style_cast(name, args[0])
            if cast is not None:
                return cast
        if chosen is None:
            chosen = self._select(candidates, arg_types)
        if chosen is None:
            raise Unsupported(f"function {name}({', '.join(arg_types)})")
        f, declared = chosen
        if self.dependencies is not None and f.schema != "pg_catalog":
            self.dependencies.add(ViewDependency("function", f.schema, f.name))
        if f.variadic and f.variadic != "any" and not variadic:
            # the parser packs expanded VARIADIC arguments into one array
            fixed = len(f.args) - 1
            elem_decl = declared[fixed] if len(declared) > fixed else f.variadic
            packed_args = args[fixed:]
            bound_v = self._bind_polymorphic(declared[fixed:], packed_args)
            elem = self._resolve_poly(elem_decl, bound_v) if elem_decl in POLY else elem_decl
            array = n.Array(
                Ty(self.types.array_of(elem)), [self.coerce(a, Ty(elem), IMPLICIT, "implicit") for a in packed_args]
            )
            args = [*args[:fixed], array]
            declared = [*declared[:fixed], f.args[-1]]
            variadic = True
        bound = self._bind_polymorphic(declared, args)
        new_args: list[n.Expr] = []
        for a, d in zip(args, declared, strict=True):
            target = self._resolve_poly(d, bound) if d in POLY else d
            if target in ("any", "anyelement") and a.ty.key == UNKNOWN:
                target = "text" if target == "anyelement" else UNKNOWN
            new_args.append(a if target == UNKNOWN else self.coerce(a, Ty(target), IMPLICIT, "implicit"))
        result = self._resolve_poly(f.result, bound) if f.result in POLY else f.result
        use_variadic = variadic
        outs = [(c, Ty(self._resolve_poly(t, bound) if t in POLY else t)) for c, t in f.out_columns]
        return n.Func(
            Ty(result),
            f.name,
            new_args,
            f.schema,
            form,
            use_variadic,
            arg_names or [],
            agg=f.kind in ("a", "w"),
            out_columns=outs,
        )

    def _function_style_cast(self, name: str, arg: n.Expr) -> n.Expr | None:
        key = TYPE_ALIASES.get(name, name)
        if key not in self.types.snap.types or self.types.snap.types[key].kind == "p":
            return None
        target = Ty(key)
        if arg.ty.key == UNKNOWN and isinstance(arg, n.Const):
            return self.coerce(arg, target, EXPLICIT, "explicit")
        path = self.coercion_path(key, arg.ty.key, EXPLICIT)
        if path[0] in ("relabel", "io") and path[0] != "none":
            return self.coerce(arg, target, EXPLICIT, "explicit")
        return None

    def _function_candidates(
        self, schema: str | None, name: str, nargs: int, variadic: bool
    ) -> list[tuple[Func, list[str]]]:
        funcs: list[Func] = []
        schemas = [schema] if schema else self.effective_path()
        for s in schemas:
            if s == "pg_catalog":
                funcs.extend(self.types.snap.functions.get(name, ()))
            else:
                funcs.extend(self._user_functions(s, name))
                funcs.extend(f for f in self.types.ext.functions.get(name, ()) if f.schema == s)
        out: list[tuple[Func, list[str]]] = []
        for f in funcs:
            if f.kind == "p":
                continue
            declared = list(f.args)
            if f.variadic and not variadic:
                # without VARIADIC, a variadic function's last parameter is expanded
                if nargs >= len(declared):
                    out.append((f, declared[:-1] + [f.variadic] * (nargs - len(declared) + 1)))
            elif len(declared) == nargs:
                out.append((f, declared))
            elif f.ndefaults and len(declared) - f.ndefaults <= nargs < len(declared):
                out.append((f, declared[:nargs]))
        return out

    def _user_functions(self, schema: str, name: str) -> list[Func]:
        out = []
        for fn in self.builder.all(IRFunction):
            if fn.schema != schema or fn.name != name:
                continue
            ins = [a for a in fn.arguments if a.mode in ("IN", "INOUT", "VARIADIC")]
            declared = tuple(self.types.parse_format(a.data_type).key for a in ins)
            variadic = None
            if ins and ins[-1].mode == "VARIADIC":
                variadic = self.types.elem_of(declared[-1]) or declared[-1]
            result = fn.returns or "void"
            retset = result.startswith("SETOF ")
            if retset:
                result = result[6:]
            result_key = "record" if result.startswith("TABLE(") else self.types.parse_format(result).key
            ndefaults = sum(1 for a in ins if a.default is not None)
            kind = {"function": "f", "procedure": "p", "aggregate": "a", "window": "w"}[fn.kind]
            outs = tuple(
                (a.name or f"column{i + 1}", self.types.parse_format(a.data_type).key)
                for i, a in enumerate(x for x in fn.arguments if x.mode in ("OUT", "INOUT", "TABLE"))
            )
            if len(outs) == 1:
                outs = ()  # one OUT parameter: the function returns that type
            out.append(Func(fn.name, declared, result_key, variadic, retset, kind, ndefaults, schema, out_columns=outs))
        return out

    def _select(self, candidates: list[tuple[Func, list[str]]], arg_types: list[str]) -> tuple[Func, list[str]] | None:
        viable = [c for c in candidates if self._can_coerce_all(arg_types, c[1])]
        if not viable:
            return None
        if len(viable) == 1:
            return viable[0]
        picked = self._select_candidate(arg_types, [c[1] for c in viable])
        if picked is None:
            # prefer pg_catalog non-polymorphic as a tie-break rather than failing outright
            return None
        return viable[picked]

    def _can_coerce_all(self, inputs: list[str], declared: list[str]) -> bool:
        if not all(self.can_coerce(i, d) for i, d in zip(inputs, declared, strict=True)):
            return False
        return self._poly_consistent(inputs, declared)

    def _poly_consistent(self, inputs: list[str], declared: list[str]) -> bool:
        elem: str | None = None
        for i, d in zip(inputs, declared, strict=True):
            if i == UNKNOWN or d not in POLY or d.startswith("anycompatible"):
                continue
            base = self.types.base_of(Ty(i)).key
            this = self.types.elem_of(base) if d == "anyarray" else base
            if d in ("anyrange", "anymultirange"):
                continue
            if this is None:
                return False
            if elem is None:
                elem = this
            elif elem != this:
                return False
        return True

    def _bind_polymorphic(self, declared: list[str], args: list[n.Expr]) -> dict[str, str]:
        bound: dict[str, str] = {}
        compatible: list[n.Expr] = []
        for a, d in zip(args, declared, strict=True):
            key = self.types.base_of(a.ty).key if a.ty.key != UNKNOWN else UNKNOWN
            if d in ("anyelement", "anynonarray", "anyenum") and key != UNKNOWN:
                bound.setdefault("elem", key)
            elif d == "anyarray" and key != UNKNOWN:
                elem = self.types.elem_of(key)
                if elem:
                    bound.setdefault("elem", elem)
            elif d in ("anycompatible", "anycompatiblenonarray"):
                compatible.append(a)
            elif d == "anycompatiblearray" and key != UNKNOWN:
                elem = self.types.elem_of(key)
                if elem:
                    compatible.append(n.Const(Ty(elem), None))
        if compatible:
            common = self.common_type(compatible, "compatible", allow_fail=True)
            if common is not None:
                bound["compat"] = common.key if common.key != UNKNOWN else "text"
        if "elem" not in bound and any(d in ("anyelement", "anyarray", "anynonarray") for d in declared):
            bound["elem"] = "text"
        return bound

    def _resolve_poly(self, d: str, bound: dict[str, str]) -> str:
        if d in ("anyelement", "anynonarray", "anyenum"):
            return bound.get("elem", "text")
        if d == "anyarray":
            return self.types.array_of(bound.get("elem", "text"))
        if d in ("anycompatible", "anycompatiblenonarray"):
            return bound.get("compat", "text")
        if d == "anycompatiblearray":
            return self.types.array_of(bound.get("compat", "text"))
        return d

    # ------------------------------------------------------------------ operators

    def make_op(self, name: str, left: n.Expr | None, right: n.Expr, schema: str | None = None) -> n.Expr:
        if isinstance(left, n.Row) and isinstance(right, n.Row) and len(left.args) == len(right.args):
            pairs = [self.make_op(name, a, b, schema) for a, b in zip(left.args, right.args, strict=True)]
            if name == "=":
                return pairs[0] if len(pairs) == 1 else n.Bool(Ty("bool"), "AND", pairs)
            if name == "<>":
                return pairs[0] if len(pairs) == 1 else n.Bool(Ty("bool"), "OR", pairs)
            ops = [p for p in pairs if isinstance(p, n.Op)]
            if len(ops) != len(pairs):
                raise Unsupported("row comparison")
            return n.RowCompare(Ty("bool"), ops[0].name, [p.args[0] for p in ops], [p.args[1] for p in ops], ops[0].schema)
        ltype = left.ty.key if left is not None else None
        rtype = right.ty.key
        op = self.resolve_operator(name, ltype, rtype, schema)
        if op is None:
            raise Unsupported(f"operator {ltype} {name} {rtype}")
        declared = [op.left, op.right] if left is not None else [op.right]
        args = [left, right] if left is not None else [right]
        present = [a for a in args if a is not None]
        bound = self._bind_polymorphic([d or "" for d in declared], present)
        new_args = []
        for a, d in zip(present, declared, strict=True):
            assert d is not None
            target = self._resolve_poly(d, bound) if d in POLY else d
            new_args.append(self.coerce(a, Ty(target), IMPLICIT, "implicit"))
        result = self._resolve_poly(op.result, bound) if op.result in POLY else op.result
        self._record_operator(op)
        return n.Op(Ty(result), op.name, new_args, op.schema)

    def _record_operator(self, op: Operator) -> None:
        """An operator CREATE OPERATOR made is a dependency (pg_depend records it)."""
        if self.dependencies is not None and op.user:
            self.dependencies.add(ViewDependency("operator", op.schema, op.name))

    def make_scalar_array_op(self, name: str, use_or: bool, left: n.Expr, right: n.Expr) -> n.Expr:
        if right.ty.key == UNKNOWN:
            # x = ANY ('{...}'): the literal becomes an array of the left type
            elem = left.ty.key if left.ty.key != UNKNOWN else "text"
            right = self.coerce(right, Ty(self.types.array_of(self.types.base_of(Ty(elem)).key)), IMPLICIT, "implicit")
        elem_key = self.types.elem_of(self.types.base_of(right.ty).key)
        if elem_key is None:
            raise Unsupported("ANY over a non-array")
        op = self.resolve_operator(name, left.ty.key, elem_key, None)
        if op is None or op.left is None:
            raise Unsupported(f"operator {left.ty.key} {name} {elem_key}")
        bound = self._bind_polymorphic([op.left, op.right], [left, n.Const(Ty(elem_key), None)])
        ltarget = self._resolve_poly(op.left, bound) if op.left in POLY else op.left
        rtarget = self._resolve_poly(op.right, bound) if op.right in POLY else op.right
        new_left = self.coerce(left, Ty(ltarget), IMPLICIT, "implicit")
        new_right = self.coerce(right, Ty(self.types.array_of(rtarget)), IMPLICIT, "implicit")
        self._record_operator(op)
        return n.ScalarArrayOp(Ty("bool"), op.name, use_or, new_left, new_right, op.schema)

    def resolve_operator(self, name: str, ltype: str | None, rtype: str, schema: str | None) -> Operator | None:
        # With built-in argument types the answer depends on the path and extensions only.
        cacheable = self.types.is_builtin(ltype) and self.types.is_builtin(rtype)
        users = self._user_operators(name)
        key = (name, ltype, rtype, schema, tuple(self.effective_path()), self.types.installed, users)
        if cacheable and key in _OPERATOR_CACHE:
            return _OPERATOR_CACHE[key]
        if not cacheable:  # over enums (and domains): kept while the builder's enums and domains stay
            stamp = self.types.enum_stamp(ltype, rtype)
            if stamp is not None:
                user_key = (*key, stamp)
                if user_key not in self.types.operators:
                    self.types.operators[user_key] = self._resolve_operator(name, ltype, rtype, schema)
                return self.types.operators[user_key]  # type: ignore[no-any-return]
        found = self._resolve_operator(name, ltype, rtype, schema)
        if cacheable:
            _OPERATOR_CACHE[key] = found
        return found

    def _resolve_operator(self, name: str, ltype: str | None, rtype: str, schema: str | None) -> Operator | None:
        candidates = self._operator_candidates(name, ltype is None, schema)
        # binary_oper_exact
        lt, rt = ltype, rtype
        was_unknown = False
        if lt is not None:
            if lt == UNKNOWN and rt != UNKNOWN:
                lt, was_unknown = rt, True
            elif rt == UNKNOWN and lt != UNKNOWN:
                rt, was_unknown = lt, True
        for op in candidates:
            if op.left == lt and op.right == rt:
                return op
        if was_unknown:
            base = self.types.base_of(Ty(rt)).key
            if base != rt:
                for op in candidates:
                    if op.right == base and (lt is None or op.left == base):
                        return op
        inputs = [ltype, rtype] if ltype is not None else [rtype]
        viable = []
        for op in candidates:
            declared = [op.left, op.right] if ltype is not None else [op.right]
            if any(d is None for d in declared):
                continue
            decl = [d for d in declared if d is not None]
            if self._can_coerce_all([i for i in inputs if i is not None], decl):
                viable.append((op, decl))
        if not viable:
            return None
        if len(viable) == 1:
            return viable[0][0]
        picked = self._select_candidate([i for i in inputs if i is not None], [v[1] for v in viable])
        return viable[picked][0] if picked is not None else None

    def _user_operators(self, name: str) -> tuple[Operator, ...]:
        """The operators named `name` that CREATE OPERATOR made (the IR's), with their
        result types (their functions'), kept while the builder's operators and functions
        stay."""
        builder = self.types.builder
        stamp = (name, builder.changes(IROperator), builder.changes(IRFunction))
        found = self.types.operators.get(("user operators", *stamp))
        if found is None:
            out = []
            for o in builder.all(IROperator):
                if o.name != name:
                    continue
                left = self.types.parse_format(o.left_type).key if o.left_type else None
                right = self.types.parse_format(o.right_type).key
                fn = split_qualified(o.function)
                result: str | None = None
                if len(fn) == 1:  # pg_catalog's (regproc prints it bare)
                    keys = tuple(k for k in (left, right) if k is not None)
                    result = next((f.result for f in self.types.snap.functions.get(fn[0], ()) if f.args == keys), None)
                else:
                    inputs = [t for t in (o.left_type, o.right_type) if t]
                    result = next(
                        (
                            self.types.parse_format(f.returns).key
                            for f in builder.all(IRFunction)
                            if (f.schema, f.name) == (fn[0], fn[1])
                            and f.returns
                            and [a.data_type for a in f.arguments if a.mode in ("IN", "INOUT", "VARIADIC")] == inputs
                        ),
                        None,
                    )
                if result is not None:
                    out.append(Operator(o.name, left, right, result, o.function, o.schema, user=True))
            found = self.types.operators[("user operators", *stamp)] = tuple(out)
        return found

    def _operator_candidates(self, name: str, prefix: bool, schema: str | None) -> list[Operator]:
        schemas = [schema] if schema else self.effective_path()
        ops = list(self.types.snap.operators.get(name, ())) if "pg_catalog" in schemas else []
        ops.extend(o for o in self.types.ext.operators.get(name, ()) if o.schema in schemas)
        ops.extend(o for o in self._user_operators(name) if o.schema in schemas)
        if prefix:
            return [o for o in ops if o.left is None]
        return [o for o in ops if o.left is not None]

    def _select_candidate(self, inputs: list[str], candidates: list[list[str]]) -> int | None:
        """func_select_candidate (parse_func.c)."""
        nargs = len(inputs)
        base_inputs = [self.types.base_of(Ty(t)).key if t != UNKNOWN else UNKNOWN for t in inputs]
        idx = list(range(len(candidates)))

        def keep_best(score: Callable[[list[str]], int]) -> None:
            nonlocal idx
            scores = {i: score(candidates[i]) for i in idx}
            best = max(scores.values())
            idx = [i for i in idx if scores[i] == best]

        keep_best(lambda c: sum(1 for i in range(nargs) if base_inputs[i] != UNKNOWN and c[i] == base_inputs[i]))
        if len(idx) == 1:
            return idx[0]
        categories = [self.types.category(t) if t != UNKNOWN else "" for t in base_inputs]

        def preferred_score(c: list[str]) -> int:
            total = 0
            for i in range(nargs):
                if base_inputs[i] == UNKNOWN:
                    continue
                if c[i] == base_inputs[i] or (
                    self.types.preferred(c[i]) and self.types.category(c[i]) == categories[i]
                ):
                    total += 1
            return total

        keep_best(preferred_score)
        if len(idx) == 1:
            return idx[0]
        unknowns = [i for i in range(nargs) if base_inputs[i] == UNKNOWN]
        if not unknowns:
            return None
        resolved = False
        slot_category: dict[int, str] = {}
        slot_preferred: dict[int, bool] = {}
        for i in unknowns:
            cat: str | None = None
            pref = False
            conflict = False
            for ci in idx:
                t = candidates[ci][i]
                tc = self.types.category(t)
                tp = self.types.preferred(t)
                if cat is None:
                    cat, pref = tc, tp
                elif tc == cat:
                    pref = pref or tp
                elif tc == "S":
                    cat, pref = "S", tp
                elif cat == "S":
                    pass
                else:
                    conflict = True
            if conflict and cat != "S":
                resolved = False
                break
            assert cat is not None
            slot_category[i], slot_preferred[i] = cat, pref
            resolved = True
        if resolved:
            kept = []
            for ci in idx:
                ok = True
                for i in unknowns:
                    t = candidates[ci][i]
                    if self.types.category(t) != slot_category[i] or (slot_preferred[i] and not self.types.preferred(t)):
                        ok = False
                if ok:
                    kept.append(ci)
            if kept:
                idx = kept
            if len(idx) == 1:
                return idx[0]
        if len(unknowns) < nargs:
            known = {t for t in base_inputs if t != UNKNOWN}
            if len(known) == 1:
                known_type = known.pop()
                matches = [ci for ci in idx if all(self.can_coerce(known_type, candidates[ci][i]) for i in range(nargs))]
                if len(matches) == 1:
                    return matches[0]
        return None

    # ------------------------------------------------------------------ coercion

    def can_coerce(self, source: str, target: str) -> bool:
        """can_coerce_type with COERCION_IMPLICIT for one argument."""
        if source in (target, UNKNOWN) or target == "any":
            return True
        if target in POLY:
            base = self.types.base_of(Ty(source)).key
            info = self.types.info(base)
            is_array = self.types.is_array(base)
            if target in ("anyelement", "anycompatible"):
                return True
            if target in ("anyarray", "anycompatiblearray"):
                return is_array
            if target in ("anynonarray", "anycompatiblenonarray"):
                return not is_array
            if target == "anyenum":
                return info is not None and info.kind == "e"
            if target in ("anyrange", "anycompatiblerange"):
                return info is not None and info.kind == "r"
            return False
        if target == "record":
            info = self.types.info(source)
            return info is not None and (info.kind == "c" or source == "record")
        return self.coercion_path(target, source, IMPLICIT)[0] != "none"

    def coercion_path(self, target: str, source: str, context: int) -> tuple[str, str]:
        """find_coercion_pathway: (kind, function) with kind none/relabel/func/io/array."""
        if source == target:
            return ("relabel", "")
        if self.types.is_builtin(source) and self.types.is_builtin(target):
            key = (target, source, context)
            found = _COERCION_CACHE.get(key)
            if found is None:
                found = _COERCION_CACHE[key] = self._coercion_path(target, source, context)
            return found
        return self._coercion_path(target, source, context)

    def _coercion_path(self, target: str, source: str, context: int) -> tuple[str, str]:
        source = self.types.base_of(Ty(source)).key
        target = self.types.base_of(Ty(target)).key
        if source == target:
            return ("relabel", "")
        cast = self.types.cast(source, target)
        if cast is not None:
            allowed = {"i": IMPLICIT, "a": ASSIGNMENT, "e": EXPLICIT}[cast.context] <= context
            if allowed:
                return ({"f": "func", "b": "relabel", "i": "io"}[cast.method], cast.function)
            return ("none", "")
        target_elem = self.types.elem_of(target)
        source_elem = self.types.elem_of(source)
        if (
            target_elem
            and source_elem
            and target not in ("int2vector", "oidvector")
            and self.coercion_path(target_elem, source_elem, context)[0] != "none"
        ):
            return ("array", "")
        if context >= ASSIGNMENT and self.types.category(target) == "S":
            return ("io", "")
        if context == EXPLICIT and self.types.category(source) == "S":
            return ("io", "")
        # enums and composites cast to/from text through I/O (above); user enums to anyenum etc.
        return ("none", "")

    def coerce(self, e: n.Expr, target: Ty, context: int, form: str, to_target: bool = False) -> n.Expr:
        """coerce_type followed by coerce_type_typmod; `to_target` for coerce_to_target_type
        (casts and assignments), which also drops a typmod the target does not have."""
        f = "explicit" if form == "explicit" else "implicit"
        src = e.ty
        if target.key == UNKNOWN or target.key in POLY or target.key in ("any",):
            return e
        if target.key == "record":
            return e
        if isinstance(e, n.Row) and target.key != "record":
            info = self.types.info(target.key)
            if info is not None and info.kind == "c":
                return n.Row(Ty(target.key), e.args, e.explicit, cast=form == "explicit")
        if src.key == target.key:
            if target.typmod >= 0 and src.typmod != target.typmod:
                return self._length_coerce(e, target, f)
            if to_target and target.typmod < 0 and src.typmod >= 0:
                # applyRelabelType: a constant just loses its typmod
                if isinstance(e, n.Const):
                    return n.Const(Ty(src.key), e.value)
                return n.Coerce(Ty(src.key), e, "relabel", "implicit")
            return e
        if src.key == UNKNOWN and isinstance(e, n.Const):
            return self._coerce_unknown_const(e, target, f)
        if src.key == UNKNOWN:
            # an unknown-typed non-constant (rare): treat like I/O conversion
            return n.Coerce(target, e, "io", f)  # type: ignore[arg-type]
        target_info = self.types.info(target.key)
        base_target = self.types.base_of(Ty(target.key))
        kind, _function = self.coercion_path(target.key, src.key, context)
        if kind == "none":
            if form == "explicit" or context >= ASSIGNMENT:
                # best effort: keep an explicit cast in the output
                kind = "io"
            else:
                raise Unsupported(f"cannot coerce {src.key} to {target.key}")
        inner_target = Ty(base_target.key) if target_info is not None and target_info.kind == "d" else Ty(target.key)
        result: n.Expr
        to_domain = target_info is not None and target_info.kind == "d"
        if to_domain and kind == "relabel":
            # coerce_type's RELABELTYPE path to a domain: CoerceToDomain over the input itself
            result = e
        elif inner_target.key == self.types.base_of(src).key and kind == "relabel":
            result = n.Coerce(inner_target, e, "relabel", f)  # type: ignore[arg-type]
        else:
            # to a domain, the step to its base type is hidden (coerce_to_domain's
            # hideInputCoercion)
            result = n.Coerce(inner_target, e, kind, "implicit" if to_domain else f)  # type: ignore[arg-type]
        if to_domain:
            result = n.Coerce(Ty(target.key), result, "domain", f)  # type: ignore[arg-type]
        if target.typmod >= 0:
            result = self._length_coerce(result, target, f, hide_input=not isinstance(result, n.Const))
        return result

    def _length_coerce(self, e: n.Expr, target: Ty, form: str, hide_input: bool = False) -> n.Expr:
        if target.key not in LENGTH_COERCED:
            return e
        if hide_input and isinstance(e, n.Coerce) and e.kind != "domain":
            e.form = "implicit"
        return n.Coerce(target, e, "func", form)  # type: ignore[arg-type]

    def _coerce_unknown_const(self, e: n.Const, target: Ty, form: str) -> n.Expr:
        info = self.types.info(target.key)
        base = self.types.base_of(Ty(target.key))
        value = e.value
        # INTERVAL is the one type whose input reads the typmod (`'1' DAY` is one day)
        typmod = target.typmod if base.key == "interval" else -1
        if value is not None:
            value = self.literal_value(base.key, value, typmod)
        result: n.Expr = n.Const(Ty(base.key, typmod), value)
        if info is not None and info.kind == "d":
            result = n.Coerce(Ty(target.key), result, "domain", form)  # type: ignore[arg-type]
        if target.typmod >= 0 and base.key != "interval":
            result = self._length_coerce(result, target, form)
        return result

    def literal_value(self, key: str, text: str, typmod: int = -1) -> str:
        try:
            if key in ("regclass",):
                return self._regclass(text)
            if key == "interval":
                return normalise(key, text, typmod)
            elem = self.types.elem_of(key)
            if elem is not None:
                items = parse_array(text)
                if items is None:
                    return text
                delim = ";" if elem == "box" else ","
                return array_out([None if i is None else self.literal_value(elem, i) for i in items], delim)
            return normalise(key, text)
        except BadLiteral as exc:
            raise ExpressionError(str(exc)) from None

    def _regclass(self, text: str) -> str:
        from nself.frontends.sql_expr.catalog import split_qualified

        raw = text.strip()
        parts = split_qualified(raw) if '"' in raw else raw.lower().split(".")
        if '"' not in raw:
            parts = [p for p in raw.split(".")]
            parts = [p.lower() for p in parts]
        if len(parts) == 1:
            name = parts[0]
            schema = self._relation_schema(name)
        else:
            schema, name = parts[-2], parts[-1]
        if schema == "pg_catalog":
            return quote_ident(name)
        if self.dependencies is not None:  # a regclass constant: its relation is used
            self.dependencies.add(ViewDependency("relation", schema, name))
        return f"{quote_ident(schema)}.{quote_ident(name)}"

    def _relation_schema(self, name: str) -> str:
        for schema in self.effective_path():
            if schema == "pg_catalog":
                continue
            for cls in (IRSequence, Table, View):
                if self.builder.get(cls, schema, name) is not None:
                    return schema
        return next((s for s in self.effective_path() if s != "pg_catalog"), "public")

    # ------------------------------------------------------------------ common type

    def common_type(self, exprs: list[n.Expr], context: str, allow_fail: bool = False) -> Ty:  # type: ignore[return]
        """select_common_type (parse_coerce.c)."""
        known = [e for e in exprs if e.ty.key != UNKNOWN]
        if not known:
            return Ty("text") if context not in ("IN",) else Ty(UNKNOWN)
        first = known[0].ty
        ptype = self.types.base_of(first).key
        if all(e.ty.key == first.key for e in known):
            return Ty(first.key)
        pcategory = self.types.category(ptype)
        pispreferred = self.types.preferred(ptype)
        for e in known[1:]:
            ntype = self.types.base_of(e.ty).key
            if ntype == ptype:
                continue
            ncategory = self.types.category(ntype)
            if ncategory != pcategory:
                if allow_fail:
                    return None  # type: ignore[return-value]
                raise ExpressionError(f"{context} types {self.fmt(Ty(ptype))} and {self.fmt(Ty(ntype))} cannot be matched")
            if not pispreferred and self.can_coerce(ptype, ntype) and not self.can_coerce(ntype, ptype):
                ptype, pcategory, pispreferred = ntype, ncategory, self.types.preferred(ntype)
        return Ty(ptype)


_OPERATOR_CACHE: dict[tuple[object, ...], Operator | None] = {}
_COERCION_CACHE: dict[tuple[str, str, int], tuple[str, str]] = {}


def shared_typmod(ty: Ty, exprs: list[n.Expr]) -> Ty:
    """exprTypmod of CASE/COALESCE/GREATEST: the arguments' typmod when they all agree."""
    typmods = {e.ty.typmod for e in exprs if e.ty.key == ty.key}
    if len(typmods) == 1 and all(e.ty.key == ty.key for e in exprs):
        return Ty(ty.key, typmods.pop())
    return ty


def resolve_collation(names: Sequence[str], path: Sequence[str], builder: CatalogBuilder) -> str | None:
    """A collation name as PostgreSQL resolves it, named as the IR names collations
    (`attcollation::regcollation` with search_path = pg_catalog: `public.de`, `"C"`); None
    for `default`. An unqualified name is the first schema's of the path that has a
    collation of the name (CREATE COLLATION's, in the builder), else pg_catalog's."""
    if list(names) in (["default"], ["pg_catalog", "default"]):
        return None
    if len(names) > 1:
        schema: str | None = names[-2]
    else:
        schema = next(
            (s for s in path if s != "pg_catalog" and builder.get(Collation, s, names[-1]) is not None), None
        )
    if schema is None or schema == "pg_catalog":
        return quote_ident(names[-1])
    return f"{quote_ident(schema)}.{quote_ident(names[-1])}"


def column_map(columns: Mapping[str, str], types: TypeCatalog) -> list[Column]:
    return [Column(name, types.parse_format(ty)) for name, ty in columns.items()]
