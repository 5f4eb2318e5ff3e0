"""The expression and type canonicaliser of the SQL frontend.

Given pglast parse trees of DDL fragments, produce with no database exactly the text
PostgreSQL 15 prints from its catalog (format_type, pg_get_expr, pg_get_constraintdef,
pg_get_indexdef, pg_get_viewdef, pg_get_partkeydef) with `search_path = pg_catalog` and
`TimeZone = UTC`. Parse analysis is mirrored in `analyze`, ruleutils.c in `deparse`, the
built-in catalog comes from a snapshot of PostgreSQL 15 (`nself/data/pg15_catalog.json`,
made by scripts/extract_pg_catalog.py).

Constructs the canonicaliser does not model fall back to pglast's own deparse of the
fragment, and the scope's `warn` is told (the SQL frontend makes it a warning naming the
statement's file:line); with `strict` in the scope they raise instead."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind
from pglast.stream import RawStream

from nself.frontends.sql_expr import nodes as n
from nself.frontends.sql_expr.analyze import (
    Analyzer,
    Column,
    ExpressionError,
    RangeEntry,
    is_node,
    resolve_collation,
)
from nself.frontends.sql_expr.catalog import (
    TYPE_ALIASES,
    Ty,
    TypeCatalog,
    snapshot,
    split_qualified,
    type_catalog,
)
from nself.frontends.sql_expr.collations import Collations, column_collations, user_collation
from nself.frontends.sql_expr.deparse import Context, deparse, get_const_expr
from nself.ir.builder import CatalogBuilder
from nself.ir.model import (
    CompositeType,
    Domain,
    Enum,
    PartitionSpec,
    RangeType,
    Table,
    ViewColumn,
    ViewDependency,
)
from nself.ir.model import Function as IRFunction
from nself.ir.model import Operator as IROperator
from nself.ir.names import quote_ident

__all__ = [
    "ExprScope",
    "ExpressionError",
    "canonical_type",
    "check_expression",
    "default_expression",
    "exclusion_operator",
    "generated_expression",
    "index_expression",
    "partition_bound",
    "partition_key",
    "predicate_expression",
    "view_definition",
]


@dataclass
class ExprScope:
    search_path: tuple[str, ...]
    builder: CatalogBuilder
    # name -> canonical type of the relation in scope
    columns: Mapping[str, str] = field(default_factory=dict)
    # (schema, name) of that relation: needed where a sub-select in a policy refers to it
    relation: tuple[str, str] | None = None
    # raise on a construct the canonicaliser does not model, instead of falling back to
    # pglast's text of it
    strict: bool = False
    # told of each fallback (one line: what was not canonicalised, and why)
    warn: Callable[[str], None] | None = None
    # how many fallbacks this scope has taken (a memoised result must not be one)
    fallbacks: int = 0
    # what the expression uses (functions, relations, columns of `owner`, types), as
    # pg_depend records it, is added here when it is not None
    dependencies: set[ViewDependency] | None = None
    # (schema, name) of the table the expression belongs to (its columns are `columns`)
    owner: tuple[str, str] | None = None


def _record_types(scope: ExprScope, expr: Any) -> None:
    """The user types an analysed expression produces (a constant's, a cast's result), and
    the user collations pg_depend records for it (see collations)."""
    if scope.dependencies is not None:
        from nself.frontends.sql_expr.views import types_used

        scope.dependencies |= types_used(expr)
        scope.dependencies |= Collations(type_catalog(scope.builder), scope.builder).used(expr)


def _record_collation(scope: ExprScope, expr: Any) -> None:
    """The collation an analysed key expression has (an index's or partition key's
    indcollation / partcollation), when it is a user collation."""
    collations = Collations(type_catalog(scope.builder), scope.builder)
    if scope.dependencies is not None and not collations.no_user_collations:
        dependency = user_collation(collations.collation(expr))
        if dependency is not None:
            scope.dependencies.add(dependency)


def type_collation(type_text: str, builder: CatalogBuilder) -> str | None:
    """typcollation of a type text (IR text; `default`; None when not collatable)."""
    types = type_catalog(builder)
    try:
        key = types.parse_format(type_text).key
    except Exception:  # a type text it cannot read: not known to be collatable
        return None
    return Collations(types, builder).of_type(key)


def _record_shape(scope: ExprScope, shape: Any) -> None:
    """The columns a memoised expression's shape (see _shape) uses: all it can use."""
    if scope.dependencies is None or scope.owner is None:
        return
    stack = [shape]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            if len(item) == 4 and item[0] == "column" and isinstance(item[1], str):
                scope.dependencies.add(ViewDependency("column", *scope.owner, item[1]))
            else:
                stack.extend(item)


def _analyzer(scope: ExprScope, extra: tuple[str, ...] = ()) -> Analyzer:
    analyzer = Analyzer(scope.search_path or ("public",), scope.builder)
    analyzer.dependencies = scope.dependencies
    columns = scope.columns
    collations = column_collations(columns)
    # columns are typed on first use: most expressions name one or two of them
    analyzer.relations = [RangeEntry(None, [])] + [RangeEntry(alias, []) for alias in extra]

    def column(fields: list[str]) -> n.Expr | None:
        name = fields[-1]
        if len(fields) > 2 or (len(fields) == 2 and fields[0] not in extra):
            return None
        if name not in columns:
            return None
        rel = fields[0] if len(fields) == 2 else None
        if scope.dependencies is not None and scope.owner is not None:
            scope.dependencies.add(ViewDependency("column", *scope.owner, name))
        return n.Var(analyzer.types.parse_format(columns[name]), name, rel, collation=collations.get(name))

    analyzer.column_hook = column
    return analyzer


def _guarded(exc: Exception, scope: ExprScope, what: str) -> None:
    """Re-raise `exc` when it is the user's error (or the scope is strict); otherwise tell
    the scope's `warn` that the caller falls back to pglast's text of the `what`."""
    if isinstance(exc, ExpressionError) or scope.strict:
        raise exc
    scope.fallbacks += 1
    if scope.warn is not None:
        why = " ".join(f"{type(exc).__name__}: {exc}".split())
        if len(why) > 160:
            why = why[:157] + "..."
        scope.warn(
            f"{what} not canonicalised ({why}); kept as pglast prints it, which may differ from what PostgreSQL records"
        )


def _fallback(node: Any) -> str:
    try:
        return str(RawStream()(node))
    except Exception:  # pglast cannot print every fragment on its own
        return ""


def _print(expr: n.Expr, types: TypeCatalog, *, pretty_paren: bool, varprefix: bool = False) -> str:
    return deparse(expr, Context(types, pretty_paren=pretty_paren, varprefix=varprefix))


# --------------------------------------------------------------------------- types


def canonical_type(type_name: ast.TypeName, scope: ExprScope) -> str:
    """format_type() text of a declared type."""
    builtin = _builtin_type_key(type_name, scope.search_path)
    if builtin is not None:
        known = _BUILTIN_TYPES.get(builtin)
        if known is not None:
            return known
    analyzer = _analyzer(scope)
    try:
        text = analyzer.fmt(analyzer.type_from_name(type_name))
    except Exception as exc:  # never crash a compile
        _guarded(exc, scope, "type")
        return _fallback(type_name)
    if builtin is not None:
        if len(_BUILTIN_TYPES) > 10_000:
            _BUILTIN_TYPES.clear()
        _BUILTIN_TYPES[builtin] = text
    return text


# The format_type text of type names that can only mean a built-in type, by
# _builtin_type_key: such a name is resolved from the snapshot of pg_catalog alone, so
# what a schema defines never changes its text (nothing invalidates an entry).
_BUILTIN_TYPES: dict[tuple[Any, ...], str] = {}


def _builtin_type_key(type_name: ast.TypeName, search_path: tuple[str, ...]) -> tuple[Any, ...] | None:
    """(names, integer modifiers, array?) of a type name PostgreSQL resolves in pg_catalog
    before looking at any other schema (written `pg_catalog.x`, or a built-in name or
    alias with pg_catalog first in the effective search_path: Analyzer.effective_path);
    None for any other type name."""
    if type_name.pct_type:
        return None
    names: tuple[Any, ...] = tuple(getattr(s, "sval", None) for s in type_name.names or ())
    if not all(isinstance(name, str) for name in names):
        return None
    mods = []
    for m in type_name.typmods or ():
        if not (isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer)):
            return None
        mods.append(m.val.ival or 0)
    if len(names) == 2 and names[0] == "pg_catalog":
        pass
    elif len(names) == 1:
        if "pg_catalog" in search_path and next(s for s in search_path if s != "$user") != "pg_catalog":
            return None
        info = snapshot().types.get(names[0])
        if (info is None or info.kind == "c") and names[0] not in TYPE_ALIASES:
            return None
    else:
        return None
    return (names, tuple(mods), bool(type_name.arrayBounds))


def resolve_type(type_name: ast.TypeName, scope: ExprScope) -> Ty:
    return _analyzer(scope).type_from_name(type_name)


# --------------------------------------------------------------------------- expressions


def default_expression(node: Any, target_type: str, scope: ExprScope) -> str | None:
    """A column default as pg_get_expr(adbin, adrelid) prints it; None when PostgreSQL
    stores no default at all (`DEFAULT NULL`, or a NULL cast to the column's type)."""
    text: str | None = _memoised(
        "default", node, scope, lambda: _default_expression(node, target_type, scope), target_type
    )
    return text


def check_expression(node: Any, scope: ExprScope) -> str:
    """A CHECK's expression as pg_get_expr(conbin, conrelid) prints it (what the live
    frontend reads): `(price > (0)::numeric)`, i.e. pg_get_constraintdef without
    `CHECK (` and `)`."""
    text: str = _memoised("check", node, scope, lambda: _check_expression(node, scope))
    return text


def predicate_expression(node: Any, scope: ExprScope) -> str:
    """An index WHERE, policy USING / WITH CHECK or trigger WHEN as pg_get_expr prints it.
    In a trigger's WHEN, NEW.col and OLD.col print as `new.col` and `old.col`."""
    text: str = _memoised("predicate", node, scope, lambda: _predicate_expression(node, scope))
    return text


# What else in a builder the function calls of an expression could depend on (none of them
# names a function of the builder: see _shape): its functions, and the types that can be
# their arguments or results.
_CALL_CONTEXT = (IRFunction, IROperator, Domain, Enum, CompositeType, RangeType)


def _memoised(
    kind: str, node: Any, scope: ExprScope, compute: Callable[[], Any], target_type: str | None = None
) -> Any:
    """compute(), or what it returned before for a `kind` of expression `node` (coerced to
    `target_type`) in the same circumstances, when `node` is a simple expression (see
    _shape) over columns of built-in or enum types, coerced to such a type. The memo is kept
    by the builder's TypeCatalog (so its extensions are fixed) and keyed by all else the
    text depends on: the node, the types of its columns, search_path, and the functions
    and types of the builder (for its function calls). Any other expression is analysed
    every time."""
    types = type_catalog(scope.builder)
    if target_type is not None and not _plain_or_enum(types, target_type):
        return compute()
    shape = _shape(node, scope, types)
    if shape is None:
        return compute()
    changes = tuple(scope.builder.changes(cls) for cls in _CALL_CONTEXT)
    key = (kind, shape, target_type, tuple(scope.search_path), scope.relation, changes)
    if key in types.memo:
        result, used = types.memo[key]
        _record_shape(scope, shape)
        if scope.dependencies is not None:
            scope.dependencies |= used
        return result
    # What the expression uses is recorded whether or not this scope asks, so that a later
    # hit in a scope that does (another table's default over the same enum) gets its
    # types and functions; its columns are the shape's, named by the owner at each hit.
    outer = scope.dependencies
    scope.dependencies = set()
    fallbacks = scope.fallbacks
    try:
        result = compute()
    finally:
        recorded, scope.dependencies = scope.dependencies, outer
    if outer is not None:
        outer |= recorded
    if scope.fallbacks == fallbacks:  # a fallback is computed (and warned of) each time
        types.memo[key] = (result, frozenset(d for d in recorded if d.kind != "column"))
    return result


def _plain_builtin(types: TypeCatalog, type_text: str) -> bool:
    """A built-in type whose values do not name catalog objects (not regclass & co, whose
    literals are looked up among relations, functions, ...)."""
    try:
        key = types.parse_format(type_text).key
    except Exception:  # not a type text it can read: not known to be built-in
        return False
    return types.is_builtin(key) and not key.lstrip("_").startswith("reg")


def _plain_or_enum(types: TypeCatalog, type_text: str) -> bool:
    """_plain_builtin, or an enum of the builder: what an expression over it means depends on
    the builder's enums alone, which the memo's key follows (_CALL_CONTEXT)."""
    if _plain_builtin(types, type_text):
        return True
    try:
        info = types.info(types.parse_format(type_text).key)
    except Exception:  # not a type text it can read
        return False
    return info is not None and info.kind == "e"


def _shape(node: Any, scope: ExprScope, types: TypeCatalog) -> Any:
    """A hashable copy of an expression made only of constants, columns (named by one
    name) of plain built-in or enum types, operators, AND/OR/NOT, IS [NOT] NULL, casts to plain
    built-in type names, SQL value functions (CURRENT_TIMESTAMP) and calls without
    arguments of functions the schema does not define (now()), with the types of its
    columns; None for any other."""
    if isinstance(node, ast.A_Const):
        val = node.val
        if val is None:
            return ("const", node.isnull)
        return ("const", node.isnull, type(val).__name__, *(getattr(val, attr) for attr in val))
    if isinstance(node, ast.ColumnRef):
        fields = node.fields or ()
        name = getattr(fields[0], "sval", None) if len(fields) == 1 else None
        if name is None or name not in scope.columns or not _plain_or_enum(types, scope.columns[name]):
            return None
        return ("column", name, scope.columns[name], column_collations(scope.columns).get(name))
    if isinstance(node, ast.A_Expr):
        if node.kind != A_Expr_Kind.AEXPR_OP or not _all_strings(node.name):
            return None
        left = _shape(node.lexpr, scope, types) if node.lexpr is not None else ()
        right = _shape(node.rexpr, scope, types)
        if left is None or right is None:
            return None
        return ("op", tuple(x.sval for x in node.name or ()), left, right)
    if isinstance(node, ast.BoolExpr):
        args = tuple(_shape(arg, scope, types) for arg in node.args or ())
        return None if None in args else ("bool", node.boolop, args)
    if isinstance(node, ast.NullTest):
        arg = _shape(node.arg, scope, types)
        return None if arg is None else ("null", node.nulltesttype, node.argisrow, arg)
    if isinstance(node, ast.TypeCast):
        arg = _shape(node.arg, scope, types)
        target = _builtin_type_key(node.typeName, scope.search_path) if node.typeName is not None else None
        if arg is None or target is None or str(target[0][-1]).lstrip("_").startswith("reg"):
            return None
        return ("cast", arg, target)
    if isinstance(node, ast.SQLValueFunction):
        return ("value", node.op, node.typmod)
    if isinstance(node, ast.FuncCall):
        plain = not (
            node.args
            or node.agg_order
            or node.agg_filter
            or node.over is not None
            or node.agg_within_group
            or node.agg_star
            or node.agg_distinct
            or node.func_variadic
        )
        if not plain or not _all_strings(node.funcname):
            return None
        name = tuple(x.sval for x in node.funcname or ())
        if name[-1] in _user_function_names(scope.builder, types):
            return None  # it could mean a function of the schema, of any result type
        return ("call", name, node.funcformat)
    return None


def _user_function_names(builder: CatalogBuilder, types: TypeCatalog) -> frozenset[str]:
    """The names of the builder's functions, kept in `types.memo` until its functions
    change."""
    key = ("function names", builder.changes(IRFunction))
    names = types.memo.get(key)
    if names is None:
        names = types.memo[key] = frozenset(f.name for f in builder.all(IRFunction))
    result: frozenset[str] = names
    return result


def _all_strings(nodes: Any) -> bool:
    return all(isinstance(x, ast.String) for x in nodes or ())


def _default_expression(node: Any, target_type: str, scope: ExprScope) -> str | None:
    """A column default as pg_get_expr(adbin, adrelid) prints it; None when PostgreSQL
    stores no default at all (`DEFAULT NULL`, or a NULL cast to the column's type)."""
    analyzer = _analyzer(scope)
    try:
        target = analyzer.types.parse_format(target_type)
        expr = analyzer.transform(node)
        expr = analyzer.coerce(expr, target, 1, "implicit", to_target=True)
        if isinstance(expr, n.Const) and expr.value is None:
            return None
        _record_types(scope, expr)
        return _print(expr, analyzer.types, pretty_paren=False)
    except Exception as exc:  # never crash a compile
        _guarded(exc, scope, "default expression")
        return _fallback(node)


def generated_expression(node: Any, scope: ExprScope, target_type: str | None = None) -> str:
    """A STORED generated column's expression as pg_get_expr prints it."""
    analyzer = _analyzer(scope)
    try:
        expr = analyzer.transform(node)
        if target_type is not None:
            expr = analyzer.coerce(
                expr, analyzer.types.parse_format(target_type), 1, "implicit", to_target=True
            )
        _record_types(scope, expr)
        return _print(expr, analyzer.types, pretty_paren=False)
    except Exception as exc:  # never crash a compile
        _guarded(exc, scope, "generated expression")
        return _fallback(node)


def _check_expression(node: Any, scope: ExprScope) -> str:
    """A CHECK's expression as pg_get_expr(conbin, conrelid) prints it (what the live
    frontend reads): `(price > (0)::numeric)`, i.e. pg_get_constraintdef without
    `CHECK (` and `)`."""
    analyzer = _analyzer(scope)
    try:
        expr = analyzer.coerce_to_bool(analyzer.transform(node))
        _record_types(scope, expr)
        return _print(expr, analyzer.types, pretty_paren=False)
    except Exception as exc:  # never crash a compile
        _guarded(exc, scope, "check expression")
        return "(" + _fallback(node) + ")"


def domain_check_expression(node: Any, base_type: str, scope: ExprScope) -> str:
    """A domain's CHECK: VALUE is the domain's base type."""
    sub = ExprScope(scope.search_path, scope.builder, {"value": base_type}, dependencies=scope.dependencies)
    analyzer = _analyzer(sub)
    # VALUE prints as VALUE, not as a column
    analyzer.relations = []

    def value_ref(fields: list[str]) -> n.Expr | None:
        if fields == ["value"]:
            return n.Raw(analyzer.types.parse_format(base_type), "VALUE", simple=True)
        return None

    analyzer.column_hook = value_ref
    try:
        expr = analyzer.coerce_to_bool(analyzer.transform(node))
        _record_types(scope, expr)
        return _print(expr, analyzer.types, pretty_paren=False)
    except Exception as exc:  # never crash a compile
        _guarded(exc, scope, "domain check expression")
        return "(" + _fallback(node) + ")"


def index_expression(node: Any, scope: ExprScope, key_collation: bool = False) -> str:
    """One index key expression as pg_get_indexdef(oid, k, false) prints it, without the
    parentheses it adds around an expression that is not a function call (the live
    frontend's form). `key_collation`: the expression's collation is the key's (no COLLATE
    given), recorded as pg_depend records indcollation."""
    analyzer = _analyzer(scope)
    try:
        expr = analyzer.transform(node)
        _record_types(scope, expr)
        if key_collation:
            _record_collation(scope, expr)
        return _print(expr, analyzer.types, pretty_paren=False)
    except Exception as exc:  # never crash a compile
        _guarded(exc, scope, "index expression")
        return _fallback(node)


def exclusion_operator(
    names: Sequence[str], element: Any, scope: ExprScope, user_operators: Mapping[str, set[str]]
) -> tuple[str, str] | None:
    """(schema, name) of the operator an exclusion constraint's element compares WITH, as
    PostgreSQL resolves it for two values of the element's type (`names` as written:
    a qualified name is taken as is); pg_catalog's, an extension's, or else one CREATE
    OPERATOR made (`user_operators`: schema -> names; the first schema of the path that
    has one of the name). None when none is found."""
    if len(names) > 1:
        return names[-2], names[-1]
    name = names[-1]
    analyzer = _analyzer(scope)
    try:
        if element.name:
            key = analyzer.types.parse_format(scope.columns[element.name]).key
        else:
            key = analyzer.transform(element.expr).ty.key
        op = analyzer.resolve_operator(name, key, key, None)
    except Exception:  # a type the analyser does not know: the path decides
        op = None
    if op is not None:
        return op.schema, name
    for schema in analyzer.effective_path():
        if name in user_operators.get(schema, ()):
            return schema, name
    return None


def _predicate_expression(node: Any, scope: ExprScope) -> str:
    """An index WHERE, policy USING / WITH CHECK or trigger WHEN as pg_get_expr prints it.
    In a trigger's WHEN, NEW.col and OLD.col print as `new.col` and `old.col`."""
    analyzer = _analyzer(scope, extra=("new", "old"))
    uses_rows = _mentions_new_old(node)
    if scope.relation is not None and _has_sublink(node):
        try:
            return _predicate_with_sublinks(node, scope, scope.relation[1])
        except Exception as exc:  # never crash a compile
            _guarded(exc, scope, "policy expression")
            return _fallback(node)
    try:
        expr = analyzer.coerce_to_bool(analyzer.transform(node))
        _record_types(scope, expr)
        return _print(expr, analyzer.types, pretty_paren=False, varprefix=uses_rows)
    except Exception as exc:  # never crash a compile
        _guarded(exc, scope, "predicate expression")
        return _fallback(node)


def _any_node(node: Any, wanted: Callable[[Any], bool]) -> bool:
    """True when `wanted` holds for `node` or a node under it (what a pglast Visitor
    would visit, without its per-call method discovery)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            if wanted(item):
                return True
            stack.extend(getattr(item, attr) for attr in item)
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
    return False


def _has_sublink(node: Any) -> bool:
    return _any_node(node, lambda item: isinstance(item, ast.SubLink))


def _predicate_with_sublinks(node: Any, scope: ExprScope, relname: str) -> str:
    """A policy expression with sub-selects: the policy's table is the outer query level
    its sub-selects see, named as the table (pg_get_expr(polqual, polrelid))."""
    from nself.frontends.sql_expr.views import QueryAnalyzer, Rte, print_sublink_query

    base = Analyzer(scope.search_path or ("public",), scope.builder)
    base.dependencies = scope.dependencies
    collations = column_collations(scope.columns)
    cols = [Column(name, base.types.parse_format(ty), collation=collations.get(name)) for name, ty in scope.columns.items()]
    table = Rte(relname, cols, "relation", scope.relation[0] if scope.relation else None, relname)
    outer = QueryAnalyzer(base)
    outer.namespace = [table]
    analyzer = outer.analyzer()
    expr = analyzer.coerce_to_bool(analyzer.transform(node))
    _record_types(scope, expr)
    ctx = Context(analyzer.types, pretty_paren=False)
    ctx.subquery_printer = print_sublink_query
    ctx.rte_names[id(table)] = relname
    ctx.name_levels.append({relname})
    return deparse(expr, ctx)


def _mentions_new_old(node: Any) -> bool:
    def new_or_old(item: Any) -> bool:
        if not isinstance(item, ast.ColumnRef):
            return False
        fields = [getattr(f, "sval", None) for f in item.fields or ()]
        return len(fields) == 2 and fields[0] in ("new", "old")

    return _any_node(node, new_or_old)


# --------------------------------------------------------------------------- partitions


def partition_key(spec_node: Any, scope: ExprScope) -> PartitionSpec:
    """pg_get_partkeydef split as the live frontend splits it: the strategy, and the key
    list without its parentheses (`RANGE`, `payment_date`)."""
    analyzer = _analyzer(scope)
    strategy_code = str(spec_node.strategy)
    strategy = {"r": "RANGE", "l": "LIST", "h": "HASH"}.get(strategy_code)
    if strategy is None:
        name = getattr(spec_node.strategy, "name", strategy_code).upper()
        strategy = next((s for s in ("RANGE", "LIST", "HASH") if s in name), "RANGE")
    parts = []
    for elem in spec_node.partParams:
        explicit = (
            resolve_collation([c.sval for c in elem.collation], analyzer.effective_path(), scope.builder)
            if elem.collation
            else None
        )
        if explicit is not None and scope.dependencies is not None:
            # partcollation (pg_depend records a user collation of the key)
            dependency = user_collation(explicit)
            if dependency is not None:
                scope.dependencies.add(dependency)
        if elem.name:
            text = quote_ident(elem.name)
            if scope.dependencies is not None and scope.owner is not None:
                # pg_depend: each key column internally on its table (see PartitionSpec)
                scope.dependencies.add(ViewDependency("column", *scope.owner, elem.name))
            if not elem.collation and scope.dependencies is not None and elem.name in scope.columns:
                collation = column_collations(scope.columns).get(elem.name) or type_collation(
                    scope.columns[elem.name], scope.builder
                )
                dependency = user_collation(collation)
                if dependency is not None:
                    scope.dependencies.add(dependency)
        else:
            try:
                expr = analyzer.transform(elem.expr)
                _record_types(scope, expr)
                if not elem.collation:
                    _record_collation(scope, expr)
                text = _print(expr, analyzer.types, pretty_paren=False)
            except Exception as exc:  # never crash a compile
                _guarded(exc, scope, "partition key expression")
                text = _fallback(elem.expr)
            if not _looks_like_function(elem.expr):
                text = f"({text})"
        if elem.collation:
            text += " COLLATE " + ".".join(quote_ident(c.sval) for c in elem.collation)
        if elem.opclass:
            text += " " + ".".join(quote_ident(c.sval) for c in elem.opclass)
        parts.append(text)
    return PartitionSpec(strategy, ", ".join(parts))  # type: ignore[arg-type]


def _looks_like_function(node: Any) -> bool:
    return is_node(node, (ast.FuncCall, ast.CoalesceExpr, ast.MinMaxExpr, ast.SQLValueFunction))


def partition_bound(bound_node: Any, scope: ExprScope, parent: Table | None = None) -> str:
    """pg_get_expr(relpartbound): `FOR VALUES FROM (...) TO (...)`, `FOR VALUES IN (...)`,
    `FOR VALUES WITH (modulus 4, remainder 0)` or `DEFAULT`.

    `parent` (the partitioned table) gives the key's types; without it the key is looked up
    among the builder's partitioned tables whose columns are `scope.columns`."""
    if bound_node.is_default:
        return "DEFAULT"
    strategy = str(bound_node.strategy)
    if strategy == "h":
        return f"FOR VALUES WITH (modulus {bound_node.modulus}, remainder {bound_node.remainder})"
    analyzer = _analyzer(scope)
    key_types = _partition_key_types(analyzer, scope, parent)

    def value(node: Any, i: int) -> str:
        if is_node(node, ast.ColumnRef):
            word = str(node.fields[-1].sval).upper()
            if word in ("MINVALUE", "MAXVALUE"):
                return word
        try:
            expr = analyzer.transform(node)
            if i < len(key_types) and key_types[i] is not None:
                target = key_types[i]
                assert target is not None
                expr = analyzer.coerce(expr, target, 1, "implicit")
                expr = _fold_const(expr, target)
            ctx = Context(analyzer.types)
            if isinstance(expr, n.Const):
                get_const_expr(expr, ctx, -1)
                return ctx.text()
            return _print(expr, analyzer.types, pretty_paren=False)
        except Exception as exc:  # never crash a compile
            _guarded(exc, scope, "partition bound")
            return _fallback(node)

    if strategy == "l":
        return "FOR VALUES IN (" + ", ".join(value(v, 0) for v in bound_node.listdatums) + ")"
    lower = ", ".join(value(v, i) for i, v in enumerate(bound_node.lowerdatums))
    upper = ", ".join(value(v, i) for i, v in enumerate(bound_node.upperdatums))
    return f"FOR VALUES FROM ({lower}) TO ({upper})"


def _fold_const(expr: n.Expr, target: Ty) -> n.Expr:
    """Partition bounds are evaluated: a constant under casts becomes one constant."""
    inner = expr
    while isinstance(inner, n.Coerce):
        inner = inner.arg
    if isinstance(inner, n.Const) and inner.value is not None:
        if inner.ty.key == target.key:
            return n.Const(Ty(target.key), inner.value)
        if inner.ty.key in ("int4", "int8", "numeric") and target.key in ("int2", "int4", "int8", "numeric"):
            return n.Const(Ty(target.key), inner.value)
    return expr


def _partition_key_types(analyzer: Analyzer, scope: ExprScope, parent: Table | None) -> list[Ty | None]:
    if parent is None:
        for t in scope.builder.all(Table):
            if t.partition_by is not None and {c.name for c in t.columns} == set(scope.columns):
                parent = t
                break
    if parent is None or parent.partition_by is None:
        return []
    out: list[Ty | None] = []
    for part in _split_top(parent.partition_by.key):
        name = split_qualified(part.strip().split(" ")[0])[0]
        col = parent.column(name)
        out.append(analyzer.types.parse_format(col.data_type) if col else None)
    return out


def _split_top(text: str) -> list[str]:
    parts, depth, current, quoted = [], 0, "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if not quoted:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(current)
                current = ""
                continue
        current += ch
    parts.append(current)
    return parts


# --------------------------------------------------------------------------- views


def view_definition(
    select_stmt: Any, scope: ExprScope, column_names: Sequence[str] | None = None
) -> tuple[str, tuple[ViewColumn, ...], tuple[ViewDependency, ...] | None]:
    """pg_get_viewdef(oid, true) text, the view's columns, and what its query uses as
    pg_depend records it (None when the query is not analysed: a fallback); `column_names`
    is the column list of `CREATE VIEW v (a, b) AS ...`, if any."""
    from nself.frontends.sql_expr.views import fallback_view_definition
    from nself.frontends.sql_expr.views import view_definition as impl

    try:
        return impl(select_stmt, scope, column_names)
    except Exception as exc:  # never crash a compile
        _guarded(exc, scope, "view definition")
        return fallback_view_definition(select_stmt, scope, column_names)
