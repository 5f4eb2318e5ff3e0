"""View bodies: analyse a SELECT against the tables the builder knows and print it the way
pg_get_viewdef(oid, true) does (ruleutils.c get_query_def with PRETTYFLAG_PAREN and
PRETTYFLAG_INDENT, wrap column 0: one target per line, every column qualified)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any, Literal

from pglast import ast

from nself.frontends.sql_expr import nodes as n
from nself.frontends.sql_expr.analyze import (
    Analyzer,
    Column,
    ExpressionError,
    Unsupported,
    is_node,
)
from nself.frontends.sql_expr.catalog import UNKNOWN, Ty, split_qualified
from nself.frontends.sql_expr.collations import (
    CONFLICT,
    DEFAULT,
    IMPLICIT,
    Collations,
    merge_collations,
    user_collation,
)
from nself.frontends.sql_expr.deparse import (
    PRETTYINDENT_JOIN,
    PRETTYINDENT_STD,
    PRETTYINDENT_VAR,
    Context,
    get_const_expr,
    get_rule_expr,
    get_window_spec,
)
from nself.ir.model import Table, View, ViewColumn, ViewDependency
from nself.ir.names import quote_ident
from nself.ir.record import record

# --------------------------------------------------------------------------- query model


@record(frozen=False, slots=False)
class Rte:
    refname: str
    columns: list[Column]
    kind: str = "relation"  # relation, subquery
    schema: str | None = None
    name: str | None = None
    alias_given: bool = False
    subquery: Query | None = None
    nullable: bool = False
    function: n.Expr | None = None  # a function in FROM
    ordinality: bool = False
    lateral: bool = False
    print_aliases: bool = False  # print the column alias list after the name
    coldefs: bool = False  # a function's column definition list: print names with types
    # a relation's columns by the names they have in the relation (before an alias list)
    column_origins: list[str] = field(default_factory=list)


@record(frozen=False, slots=False)
class RteRef:
    rte: Rte


@record(frozen=False, slots=False)
class Join:
    kind: str  # JOIN, LEFT JOIN, RIGHT JOIN, FULL JOIN, CROSS JOIN
    left: RteRef | Join
    right: RteRef | Join
    quals: n.Expr | None = None
    using: list[str] = field(default_factory=list)
    natural: bool = False


FromItem = RteRef | Join


@record(frozen=False, slots=False)
class Target:
    expr: n.Expr
    name: str
    junk: bool = False


@record(frozen=False, slots=False)
class Cte:
    name: str
    query: Query
    colnames: list[str] = field(default_factory=list)
    materialized: str = ""  # "", "MATERIALIZED ", "NOT MATERIALIZED "


@record(frozen=False, slots=False)
class GroupSet:
    """A grouping set: kind simple (a parenthesised list), empty, rollup, cube or sets."""

    kind: str
    content: list[n.Expr | GroupSet]


@record(frozen=False, slots=False)
class Query:
    ctes: list[Cte] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    from_items: list[FromItem] = field(default_factory=list)
    where: n.Expr | None = None
    group: list[n.Expr | GroupSet] = field(default_factory=list)
    having: n.Expr | None = None
    order: list[tuple[n.Expr, str]] = field(default_factory=list)
    limit: n.Expr | None = None
    offset: n.Expr | None = None
    distinct: bool = False
    distinct_on: list[n.Expr] = field(default_factory=list)
    setop: SetOp | None = None
    values: list[list[n.Expr]] = field(default_factory=list)  # a VALUES list
    recursive: bool = False  # WITH RECURSIVE
    windows: list[tuple[str, n.WindowSpec]] = field(default_factory=list)  # WINDOW clause
    with_ties: bool = False  # FETCH FIRST ... WITH TIES


@record(frozen=False, slots=False)
class SetOp:
    op: str  # UNION, INTERSECT, EXCEPT
    all: bool
    left: Query | SetOp
    right: Query | SetOp


# --------------------------------------------------------------------------- analysis


class QueryAnalyzer:
    def __init__(
        self, base: Analyzer, outer: list[list[Rte]] | None = None, flags: dict[str, bool] | None = None
    ) -> None:
        self.base = base
        self.outer = outer or []
        self.namespace: list[Rte] = []
        # shared by every query of one view: whether anything in it can null a column
        # (an outer join, a set operation or grouping sets anywhere), as the live frontend
        # decides a view column's NOT NULL
        self.flags = flags if flags is not None else {"nullable": False}
        self.ctes: list[dict[str, Cte]] = []
        # JOIN ... USING columns, by name: the expression an unqualified reference means
        self.merged: dict[str, n.Expr] = {}
        # analyses a data-modifying statement of a WITH (in SQL bodies only: a view cannot
        # hold one) into the query of its RETURNING list
        self.modifying: Callable[[QueryAnalyzer, Any], Query] | None = None

    def nested(self, outer: list[list[Rte]]) -> QueryAnalyzer:
        sub = QueryAnalyzer(self.base, outer, self.flags)
        sub.ctes = list(self.ctes)
        sub.modifying = self.modifying
        return sub

    def _with(self, stmt: Any) -> list[Cte]:
        if stmt.withClause is None:
            return []
        recursive = bool(stmt.withClause.recursive)
        out: list[Cte] = []
        visible: dict[str, Cte] = {}
        self.ctes.append(visible)
        for c in stmt.withClause.ctes:
            if not is_node(c.ctequery, ast.SelectStmt):
                if self.modifying is None or recursive:
                    raise Unsupported("data-modifying WITH")
                # INSERT/UPDATE/DELETE ... RETURNING: its rows are what RETURNING gives
                query = self.modifying(self.nested(self.outer), c.ctequery)
                cte = Cte(c.ctename, query, [x.sval for x in c.aliascolnames or ()])
                visible[c.ctename] = cte
                out.append(cte)
                continue
            if recursive and getattr(c.ctequery.op, "name", "") != "SETOP_NONE":
                # the non-recursive term types the CTE's columns before the recursive one is read
                seed = self.nested(self.outer).select(c.ctequery.larg)
                visible[c.ctename] = Cte(c.ctename, seed, [x.sval for x in c.aliascolnames or ()])
            query = self.nested(self.outer).select(c.ctequery)
            mat = getattr(c.ctematerialized, "name", "CTEMaterializeDefault")
            cte = Cte(
                c.ctename,
                query,
                [x.sval for x in c.aliascolnames or ()],
                {"CTEMaterializeAlways": "MATERIALIZED ", "CTEMaterializeNever": "NOT MATERIALIZED "}.get(mat, ""),
            )
            visible[c.ctename] = cte
            out.append(cte)
        return out

    def _cte(self, name: str) -> Cte | None:
        for level in reversed(self.ctes):
            if name in level:
                return level[name]
        return None

    def analyzer(self) -> Analyzer:
        a = Analyzer(self.base.search_path, self.base.builder)
        a.dependencies = self.base.dependencies
        a.column_hook = self.resolve_column
        a.sublink_hook = self.sublink
        a.agg_hook = self.aggregate
        a.param_hook = self.base.param_hook
        return a

    # ---------------------------------------------------------------- statement

    def select(self, stmt: Any, resolve_unknowns: bool = True) -> Query:
        """transformSelectStmt; a set operation's branches leave unknown-typed literals
        unresolved (`resolve_unknowns` False) until the operation picks column types."""
        depth = len(self.ctes)
        try:
            ctes = self._with(stmt)
            query = self._select(stmt, resolve_unknowns)
            query.ctes = ctes
            query.recursive = bool(stmt.withClause is not None and stmt.withClause.recursive)
            return query
        finally:
            del self.ctes[depth:]

    def _select(self, stmt: Any, resolve_unknowns: bool = True) -> Query:
        op = getattr(stmt.op, "name", str(stmt.op))
        if op != "SETOP_NONE":
            self.flags["nullable"] = True
            left = self.nested(self.outer).select(stmt.larg, resolve_unknowns=False)
            right = self.nested(self.outer).select(stmt.rarg, resolve_unknowns=False)
            setop = SetOp(op.replace("SETOP_", ""), bool(stmt.all), _leaf(left), _leaf(right))
            query = Query(setop=setop)
            # the output columns are named by the left branch, typed by both
            query.targets = self._unify_setop_types(left, right)
            a = self.analyzer()
            for sort in stmt.sortClause or ():
                query.order.append(self._sort_item(a, query, sort, by_colno=True))
            self._limit(a, query, stmt)
            return query
        if stmt.valuesLists:
            return self._values(stmt)
        query = Query()
        for item in stmt.fromClause or ():
            query.from_items.append(self.from_item(item))
        a = self.analyzer()
        for res in stmt.targetList or ():
            self._target(a, query, res, resolve_unknowns)
        if stmt.whereClause is not None:
            query.where = a.coerce_to_bool(a.transform(stmt.whereClause))
        for g in stmt.groupClause or ():
            if is_node(g, ast.GroupingSet):
                self.flags["nullable"] = True
                query.group.append(self._grouping_set(a, query, g))
            else:
                query.group.append(self._group_item(a, query, g))
        if stmt.havingClause is not None:
            query.having = a.coerce_to_bool(a.transform(stmt.havingClause))
        for w in stmt.windowClause or ():
            spec = self._window(a, w)
            named = n.WindowSpec(w.refname or None, spec.partition, spec.order, spec.frame)
            query.windows.append((str(w.name), named))
        if stmt.distinctClause is not None:
            if len(stmt.distinctClause) == 1 and stmt.distinctClause[0] is None:
                query.distinct = True
            else:
                query.distinct = True
                query.distinct_on = [self._group_item(a, query, d) for d in stmt.distinctClause]
        for sort in stmt.sortClause or ():
            query.order.append(self._sort_item(a, query, sort))
        self._limit(a, query, stmt)
        return query

    def _values(self, stmt: Any) -> Query:
        """A VALUES list: each column takes the common type of its rows."""
        a = self.analyzer()
        rows = [[a.transform(x) for x in row] for row in stmt.valuesLists]
        query = Query()
        for i in range(len(rows[0])):
            common = a.common_type([row[i] for row in rows], "VALUES")
            if common.key == UNKNOWN:
                common = Ty("text")
            for row in rows:
                row[i] = a.coerce(row[i], common, 0, "implicit")
            typmods = {row[i].ty.typmod for row in rows}
            ty = Ty(common.key, typmods.pop() if len(typmods) == 1 else -1)
            query.targets.append(Target(n.Raw(ty, f"column{i + 1}"), f"column{i + 1}"))
        query.values = rows
        return query

    def _grouping_set(self, a: Analyzer, query: Query, g: Any) -> GroupSet:
        kind = {
            "GROUPING_SET_EMPTY": "empty", "GROUPING_SET_SIMPLE": "simple", "GROUPING_SET_ROLLUP": "rollup",
            "GROUPING_SET_CUBE": "cube", "GROUPING_SET_SETS": "sets",
        }[getattr(g.kind, "name", "GROUPING_SET_SIMPLE")]
        content: list[n.Expr | GroupSet] = []
        for item in g.content or ():
            if is_node(item, ast.GroupingSet):
                content.append(self._grouping_set(a, query, item))
            elif is_node(item, ast.RowExpr) and getattr(item.row_format, "name", "") == "COERCE_IMPLICIT_CAST":
                content.append(GroupSet("simple", [self._group_item(a, query, x) for x in item.args or ()]))
            else:
                content.append(GroupSet("simple", [self._group_item(a, query, item)]))
        return GroupSet(kind, content)

    def _unify_setop_types(self, left: Query, right: Query) -> list[Target]:
        """transformSetOperationTree: each column's type is the common type of the two
        branches; unknown-typed constants in a branch become constants of that type."""
        lt = _output_targets(left)
        rt = _output_targets(right)
        a = self.analyzer()
        out: list[Target] = []
        for lx, rx in zip(lt, rt, strict=False):
            common = a.common_type([lx.expr, rx.expr], "UNION")
            if common.key == UNKNOWN:
                common = Ty("text")
            for t in (lx, rx):
                if t.expr.ty.key == UNKNOWN and isinstance(t.expr, n.Const):
                    t.expr = a.coerce(t.expr, common, 0, "implicit")
            typmod = lx.expr.ty.typmod if lx.expr.ty == rx.expr.ty else -1
            out.append(Target(n.Raw(Ty(common.key, typmod), lx.name), lx.name))
        return out

    def _limit(self, a: Analyzer, query: Query, stmt: Any) -> None:
        if stmt.limitCount is not None:
            query.limit = a.coerce(a.transform(stmt.limitCount), Ty("int8"), 1, "implicit")
            query.with_ties = getattr(stmt.limitOption, "name", "") == "LIMIT_OPTION_WITH_TIES"
        if stmt.limitOffset is not None:
            query.offset = a.coerce(a.transform(stmt.limitOffset), Ty("int8"), 1, "implicit")

    def _target(self, a: Analyzer, query: Query, res: Any, resolve_unknowns: bool = True) -> None:
        val = res.val
        if is_node(val, ast.ColumnRef) and isinstance(val.fields[-1], ast.A_Star):
            qualifier = val.fields[0].sval if len(val.fields) > 1 else None
            if qualifier is None:
                for name, expr in self._expand_from(query.from_items):
                    query.targets.append(Target(expr, name))
                return
            for rte in self._visible(qualifier):
                for col in rte.columns:
                    query.targets.append(Target(self._var(rte, col), col.name))
            return
        expr = a.transform(val)
        if expr.ty.key == UNKNOWN and resolve_unknowns:
            expr = a.coerce(expr, Ty("text"), 0, "implicit")
        name = res.name or figure_colname(val)
        query.targets.append(Target(expr, name))

    def _expand_from(self, items: list[FromItem]) -> list[tuple[str, n.Expr]]:
        out: list[tuple[str, n.Expr]] = []
        for item in items:
            out.extend(self._expand_item(item))
        return out

    def _expand_item(self, item: FromItem) -> list[tuple[str, n.Expr]]:
        if isinstance(item, RteRef):
            return [(c.name, self._var(item.rte, c)) for c in item.rte.columns]
        left = self._expand_item(item.left)
        right = self._expand_item(item.right)
        if not item.using:
            return left + right
        merged = [(u, self.merged[u]) for u in item.using]
        return merged + [x for x in left if x[0] not in item.using] + [x for x in right if x[0] not in item.using]

    def _visible(self, qualifier: str | None) -> list[Rte]:
        if qualifier is not None:
            rte = next((r for r in self.namespace if r.refname == qualifier), None)
            if rte is None:
                raise ExpressionError(f'missing FROM-clause entry for table "{qualifier}"')
            return [rte]
        return list(self.namespace)

    def _group_item(self, a: Analyzer, query: Query, node: Any) -> n.Expr:
        if is_node(node, ast.A_Const) and is_node(node.val, ast.Integer):
            targets = [t for t in query.targets if not t.junk]
            found: n.Expr = targets[node.val.ival - 1].expr
            return found
        if is_node(node, ast.ColumnRef) and len(node.fields) == 1 and isinstance(node.fields[0], ast.String):
            name = node.fields[0].sval
            # GROUP BY: an input column wins over an output alias
            if not any(c.name == name for r in self.namespace for c in r.columns):
                match = next((t for t in query.targets if t.name == name), None)
                if match is not None:
                    return match.expr
        return a.transform(node)

    def _sort_item(self, a: Analyzer, query: Query, sort: Any, by_colno: bool = False) -> tuple[n.Expr, str]:
        node = sort.node
        expr: n.Expr | None = None
        if is_node(node, ast.A_Const) and is_node(node.val, ast.Integer):
            targets = [t for t in query.targets if not t.junk]
            expr = targets[node.val.ival - 1].expr
            if by_colno:
                expr = n.Raw(expr.ty, str(node.val.ival), simple=True)
        elif is_node(node, ast.ColumnRef) and len(node.fields) == 1 and isinstance(node.fields[0], ast.String):
            match = next((t for t in query.targets if t.name == node.fields[0].sval and not t.junk), None)
            if match is not None:
                expr = match.expr
                if by_colno:
                    position = [t for t in query.targets if not t.junk].index(match) + 1
                    expr = n.Raw(expr.ty, str(position), simple=True)
        if expr is None:
            expr = a.transform(node)
        direction = getattr(sort.sortby_dir, "name", "SORTBY_DEFAULT")
        nulls = getattr(sort.sortby_nulls, "name", "SORTBY_NULLS_DEFAULT")
        suffix = ""
        if direction == "SORTBY_DESC":
            suffix = " DESC"
            if nulls == "SORTBY_NULLS_LAST":
                suffix += " NULLS LAST"
        elif nulls == "SORTBY_NULLS_FIRST":
            suffix = " NULLS FIRST"
        if direction == "SORTBY_USING":
            raise Unsupported("ORDER BY USING")
        return expr, suffix

    # ---------------------------------------------------------------- FROM

    def from_item(self, item: Any) -> FromItem:
        if is_node(item, ast.RangeVar):
            rte = self._relation(item)
            self.namespace.append(rte)
            return RteRef(rte)
        if is_node(item, ast.JoinExpr):
            return self._join(item)
        if is_node(item, ast.RangeFunction):
            return self._range_function(item)
        if is_node(item, ast.RangeSubselect):
            if item.alias is None:
                raise Unsupported("subquery without alias")
            sub = self.nested([*self.outer, self.namespace] if item.lateral else self.outer).select(item.subquery)
            names = [c.sval for c in item.alias.colnames or ()]
            cols = []
            for i, t in enumerate(t for t in _first_leaf(sub).targets if not t.junk):
                not_null = isinstance(t.expr, n.Var) and t.expr.not_null
                name = names[i] if i < len(names) else t.name
                cols.append(Column(name, t.expr.ty, not_null, self._collation_of(t.expr)))
            rte = Rte(item.alias.aliasname, cols, "subquery", alias_given=True, subquery=sub, lateral=bool(item.lateral))
            rte.print_aliases = bool(names)
            self.namespace.append(rte)
            return RteRef(rte)
        raise Unsupported(type(item).__name__)

    def _range_function(self, item: Any) -> FromItem:
        if item.is_rowsfrom or len(item.functions) != 1:
            raise Unsupported("ROWS FROM")
        coldefs = item.coldeflist or item.functions[0][1]
        call = item.functions[0][0]
        if not is_node(call, ast.FuncCall):
            raise Unsupported("non-function in FROM")
        # a function in FROM sees the FROM items before it (implicitly LATERAL)
        outer_before = len(self.outer)
        self.outer.append(list(self.namespace))
        uses_outer = {"yes": False}
        saved_hook = self.resolve_column

        try:
            a = self.analyzer()

            def column(fields: list[str]) -> n.Expr | None:
                found = saved_hook(fields)
                uses_outer["yes"] = True
                return found

            a.column_hook = column
            expr = a.transform(call)
        finally:
            del self.outer[outer_before:]
        info = self.base.types.info(expr.ty.key)
        fname = str(call.funcname[-1].sval)
        alias = item.alias.aliasname if item.alias is not None else None
        colnames = [c.sval for c in (item.alias.colnames or ())] if item.alias is not None else []
        outs = expr.out_columns if isinstance(expr, n.Func) else []
        if coldefs:
            # a record-returning function with AS alias(col type, ...)
            cols = [Column(str(c.colname), self.base.type_from_name(c.typeName)) for c in coldefs]
        elif outs:
            cols = [Column(colnames[i] if i < len(colnames) else c, t) for i, (c, t) in enumerate(outs)]
        elif expr.ty.key in ("record", "void") or (info is not None and info.kind == "c"):
            raise Unsupported("function returning rows in FROM")
        else:
            cols = [Column(colnames[0] if colnames else (alias or fname), expr.ty)]
        if item.ordinality:
            position = len(cols)
            cols.append(Column(colnames[position] if len(colnames) > position else "ordinality", Ty("int8")))
        rte = Rte(alias or fname, cols, "function", None, fname, alias_given=alias is not None, function=expr,
                  ordinality=bool(item.ordinality), lateral=bool(item.lateral) or uses_outer["yes"], print_aliases=True)
        rte.coldefs = bool(coldefs)
        self.namespace.append(rte)
        return RteRef(rte)

    def _join(self, item: Any) -> FromItem:
        left = self.from_item(item.larg)
        right = self.from_item(item.rarg)
        jt = getattr(item.jointype, "name", "JOIN_INNER")
        kind = {"JOIN_INNER": "JOIN", "JOIN_LEFT": "LEFT JOIN", "JOIN_RIGHT": "RIGHT JOIN", "JOIN_FULL": "FULL JOIN"}[jt]
        if jt != "JOIN_INNER":
            self.flags["nullable"] = True
        if jt in ("JOIN_LEFT", "JOIN_FULL"):
            for rte in _rtes(right):
                rte.nullable = True
        if jt in ("JOIN_RIGHT", "JOIN_FULL"):
            for rte in _rtes(left):
                rte.nullable = True
        join = Join(kind, left, right)
        if item.isNatural:
            right_names = {c.name for r in _rtes(right) for c in r.columns}
            join.using = [c.name for r in _rtes(left) for c in r.columns if c.name in right_names]
        elif item.usingClause:
            join.using = [u.sval for u in item.usingClause]
        if join.using:
            # both sides' columns are read (the join's condition compares them)
            for u in join.using:
                lvar = self._find(_rtes(left), u)
                rvar = self._find(_rtes(right), u)
                if jt == "JOIN_RIGHT":
                    self.merged[u] = rvar
                elif jt == "JOIN_FULL":
                    a = self.analyzer()
                    ty = a.common_type([lvar, rvar], "JOIN/USING")
                    self.merged[u] = n.Coalesce(ty, [a.coerce(lvar, ty, 0, "implicit"), a.coerce(rvar, ty, 0, "implicit")])
                else:
                    self.merged[u] = lvar
        if item.quals is not None:
            join.quals = self.analyzer().coerce_to_bool(self.analyzer().transform(item.quals))
        elif kind == "JOIN" and not join.using:
            join.kind = "CROSS JOIN"
        if item.alias is not None:
            raise Unsupported("join alias")
        return join

    def _relation(self, rv: Any) -> Rte:
        name = rv.relname
        alias = rv.alias.aliasname if rv.alias is not None else None
        cte = self._cte(name) if not rv.schemaname else None
        if cte is not None:
            targets = [t for t in _first_leaf(cte.query).targets if not t.junk]
            cols = []
            for i, t in enumerate(targets):
                col_name = cte.colnames[i] if i < len(cte.colnames) else t.name
                not_null = isinstance(t.expr, n.Var) and t.expr.not_null
                cols.append(Column(col_name, t.expr.ty, not_null, self._collation_of(t.expr)))
            return Rte(alias or name, cols, "cte", None, name, alias_given=alias is not None)
        schemas = [rv.schemaname] if rv.schemaname else [s for s in self.base.effective_path() if s != "pg_catalog"]
        for schema in schemas:
            table = self.base.builder.get(Table, schema, name)
            if table is not None:
                cols = [
                    Column(c.name, self.base.types.parse_format(c.data_type), c.not_null, c.collation)
                    for c in table.columns
                ]
                break
            view = self.base.builder.get(View, schema, name)
            if view is not None:
                cols = [
                    Column(c.name, self.base.types.parse_format(c.data_type), c.not_null, c.collation)
                    for c in view.columns
                ]
                break
        else:
            # not a table or view nself knows (a system catalog, an extension's table)
            raise Unsupported(f'relation "{name}"')
        renamed = False
        originals = [c.name for c in cols]
        if rv.alias is not None and rv.alias.colnames:
            for i, c in enumerate(rv.alias.colnames):
                if i < len(cols) and cols[i].name != c.sval:
                    cols[i] = Column(c.sval, cols[i].ty, cols[i].not_null, cols[i].collation)
                    renamed = True
        self._depends(ViewDependency("relation", schema, name))
        rte = Rte(alias or name, cols, "relation", schema, name, alias_given=alias is not None, print_aliases=renamed)
        rte.column_origins = originals
        return rte

    def _collation_of(self, expr: n.Expr) -> str | None:
        """The collation of a sub-select's or WITH item's output column, where it is not its
        type's (as a column of a relation holds it)."""
        return column_collation(Collations(self.base.types, self.base.builder), expr)

    def _depends(self, dependency: ViewDependency) -> None:
        if self.base.dependencies is not None:
            self.base.dependencies.add(dependency)

    # ---------------------------------------------------------------- expressions

    def _var(self, rte: Rte, col: Column) -> n.Var:
        if rte.kind == "relation" and rte.schema is not None and rte.name is not None:
            position = next((i for i, c in enumerate(rte.columns) if c is col), None)
            original = rte.column_origins[position] if position is not None and rte.column_origins else col.name
            self._depends(ViewDependency("column", rte.schema, rte.name, original))
        return n.Var(col.ty, col.name, rte.refname, col.not_null and not rte.nullable, rte, col.collation)

    def resolve_column(self, fields: list[str]) -> n.Expr | None:
        for level in [self.namespace, *reversed(self.outer)]:
            found = self._resolve_in(level, fields)
            if found is not None:
                return found
        # a routine's parameter, when no column has the name (columns win in SQL bodies)
        param = self.base.param_hook(fields) if self.base.param_hook is not None else None
        if param is not None:
            return param
        raise Unsupported(f'column "{".".join(fields)}"')

    def _find(self, rtes: list[Rte], name: str) -> n.Expr:
        for rte in rtes:
            for col in rte.columns:
                if col.name == name:
                    return self._var(rte, col)
        raise Unsupported(f'USING column "{name}"')

    def _whole_row(self, rte: Rte) -> n.Var:
        ty = Ty(f"{rte.schema}.{rte.name}") if rte.kind == "relation" else Ty("record")
        return n.Var(ty, "*", rte.refname, False, rte)

    def _resolve_in(self, namespace: list[Rte], fields: list[str]) -> n.Expr | None:
        if len(fields) == 1 and namespace is self.namespace and fields[0] in self.merged:
            return self.merged[fields[0]]
        if len(fields) == 2 and fields[1] == "*":
            rte = next((r for r in namespace if r.refname == fields[0]), None)
            return self._whole_row(rte) if rte is not None else None
        if len(fields) == 1:
            hits = [(r, c) for r in namespace for c in r.columns if c.name == fields[0]]
            if len(hits) > 1 and len({id(r) for r, _ in hits}) > 1:
                raise ExpressionError(f'column reference "{fields[0]}" is ambiguous')
            if hits:
                return self._var(*hits[0])
            # a bare relation name is its whole row
            rte = next((r for r in namespace if r.refname == fields[0]), None)
            return self._whole_row(rte) if rte is not None else None
        qualifier, name = fields[-2], fields[-1]
        for rte in namespace:
            if rte.refname == qualifier:
                col = next((c for c in rte.columns if c.name == name), None)
                if col is None:
                    raise Unsupported(f"column {qualifier}.{name}")
                return self._var(rte, col)
        return None

    def sublink(self, node: Any) -> n.Expr:
        kind = getattr(node.subLinkType, "name", "")
        sub = self.nested([*self.outer, self.namespace]).select(node.subselect)
        targets = [t for t in _first_leaf(sub).targets if not t.junk]
        if kind == "EXISTS_SUBLINK":
            return n.SubLink(Ty("bool"), "EXISTS", sub)
        if kind == "EXPR_SUBLINK":
            return n.SubLink(targets[0].expr.ty, "EXPR", sub)
        if kind == "ARRAY_SUBLINK":
            return n.SubLink(Ty(self.base.types.array_of(targets[0].expr.ty.key)), "ARRAY", sub)
        if kind in ("ANY_SUBLINK", "ALL_SUBLINK"):
            a = self.analyzer()
            test = a.transform(node.testexpr)
            op_name = node.operName[-1].sval if node.operName else "="
            sub_kind: Literal["ANY", "ALL"] = "ANY" if kind == "ANY_SUBLINK" else "ALL"
            if isinstance(test, n.Row):
                # (a, b) IN (SELECT x, y ...): one comparison per column
                left = [
                    a.make_op(op_name, x, n.Const(t.expr.ty, None)) for x, t in zip(test.args, targets, strict=True)
                ]
                if not all(isinstance(c, n.Op) for c in left):
                    raise Unsupported("row comparison with a sub-select")
                lefts = [c.args[0] for c in left if isinstance(c, n.Op)]
                return n.SubLink(Ty("bool"), sub_kind, sub, n.Row(Ty("record"), lefts, explicit=False), op_name)
            compared = a.make_op(op_name, test, n.Const(targets[0].expr.ty, None))
            assert isinstance(compared, n.Op)
            return n.SubLink(Ty("bool"), sub_kind, sub, compared.args[0], compared.name)
        raise Unsupported(kind)

    def aggregate(self, node: Any) -> n.Expr:
        a = self.analyzer()
        names = [s.sval for s in node.funcname]
        if node.agg_within_group:
            # an ordered-set aggregate: direct arguments, then the aggregated ones
            direct = [a.transform(x) for x in node.args or ()]
            sorts = [self._sort_item(a, Query(), sort) for sort in node.agg_order or ()]
            func = a.make_func(names, [*direct, *(e for e, _ in sorts)], "call")
            if not isinstance(func, n.Func):
                raise Unsupported("ordered-set aggregate")
            func.agg = True
            func.within_group = True
            ordered = func.args[len(direct) :]
            func.args = func.args[: len(direct)]
            func.order_by = [(e, suffix) for e, (_, suffix) in zip(ordered, sorts, strict=True)]
            if node.agg_filter is not None:
                func.filter = a.coerce_to_bool(a.transform(node.agg_filter))
            return func
        if node.agg_star:
            args: list[n.Expr] = []
            func = a.make_func(names, [], "call")
        else:
            args = [a.transform(x) for x in node.args or ()]
            func = a.make_func(names, args, "call")
        if not isinstance(func, n.Func):
            raise Unsupported("aggregate")
        func.agg = True
        func.star = bool(node.agg_star)
        func.distinct = bool(node.agg_distinct)
        for sort in node.agg_order or ():
            func.order_by.append(self._sort_item(a, Query(), sort))
        if node.agg_filter is not None:
            func.filter = a.coerce_to_bool(a.transform(node.agg_filter))
        if node.over is not None:
            func.over = self._window(a, node.over)
        return func

    def _window(self, a: Analyzer, w: Any) -> n.WindowSpec:
        spec = n.WindowSpec(w.refname or w.name or None)
        if w.name and not w.partitionClause and not w.orderClause and not w.frameOptions & 1:
            return n.WindowSpec(w.name)
        spec.partition = [a.transform(p) for p in w.partitionClause or ()]
        spec.order = [self._sort_item(a, Query(), s) for s in w.orderClause or ()]
        spec.frame = self._frame(a, int(w.frameOptions or 0), w.startOffset, w.endOffset)
        return spec

    def _frame(self, a: Analyzer, options: int, start: Any, end: Any) -> list[str | n.Expr]:
        """get_rule_windowspec's frame clause, from the FRAMEOPTION_* bits."""
        if not options & 0x1:  # FRAMEOPTION_NONDEFAULT
            return []
        words: list[str | n.Expr] = []
        words.append("RANGE" if options & 0x2 else "ROWS" if options & 0x4 else "GROUPS")
        if options & 0x10:
            words.append("BETWEEN")

        def bound(unbounded_preceding: int, unbounded_following: int, current: int, offset_preceding: int,
                  offset_following: int, offset: Any) -> None:
            if options & unbounded_preceding:
                words.append("UNBOUNDED PRECEDING")
            elif options & unbounded_following:
                words.append("UNBOUNDED FOLLOWING")
            elif options & current:
                words.append("CURRENT ROW")
            elif options & (offset_preceding | offset_following):
                expr = a.transform(offset)
                if options & (0x4 | 0x8):  # ROWS / GROUPS offsets are bigint
                    expr = a.coerce(expr, Ty("int8"), 1, "implicit")
                words.append(expr)
                words.append("PRECEDING" if options & offset_preceding else "FOLLOWING")

        bound(0x20, 0x80, 0x200, 0x800, 0x2000, start)
        if options & 0x10:
            words.append("AND")
            bound(0x40, 0x100, 0x400, 0x1000, 0x4000, end)
        if options & 0x8000:
            words.append("EXCLUDE CURRENT ROW")
        elif options & 0x10000:
            words.append("EXCLUDE GROUP")
        elif options & 0x20000:
            words.append("EXCLUDE TIES")
        return words


def _output_targets(q: Query) -> list[Target]:
    """A branch's output columns: a plain query's targets, or a set operation's own."""
    return [t for t in q.targets if not t.junk]


def _rtes(item: FromItem) -> list[Rte]:
    if isinstance(item, RteRef):
        return [item.rte]
    return _rtes(item.left) + _rtes(item.right)


def _leaf(q: Query) -> Query | SetOp:
    return q.setop if q.setop is not None and not q.order and q.limit is None else q


def _first_leaf(q: Query | SetOp) -> Query:
    while True:
        if isinstance(q, SetOp):
            q = q.left
        elif q.setop is not None and not q.targets:
            q = q.setop
        else:
            return q


def figure_colname(node: Any) -> str:
    """FigureColname (parse_target.c)."""
    if is_node(node, ast.ColumnRef):
        last = node.fields[-1]
        return str(last.sval) if is_node(last, ast.String) else "?column?"
    if is_node(node, ast.FuncCall):
        return str(node.funcname[-1].sval)
    if is_node(node, ast.TypeCast):
        inner = figure_colname(node.arg)
        if inner != "?column?":
            return inner
        return str(node.typeName.names[-1].sval)
    if is_node(node, ast.CaseExpr):
        return "case"
    if is_node(node, ast.CoalesceExpr):
        return "coalesce"
    if is_node(node, ast.MinMaxExpr):
        return "greatest" if int(node.op) == 0 else "least"
    if False:
        return "nullif"
    if is_node(node, ast.A_Expr) and getattr(node.kind, "name", "") == "AEXPR_NULLIF":
        return "nullif"
    if is_node(node, ast.A_ArrayExpr):
        return "array"
    if is_node(node, ast.SQLValueFunction):
        op = node.op.name.replace("SVFOP_", "").lower()
        return str(op[:-2] if op.endswith("_n") else op)
    if is_node(node, ast.SubLink):
        kind = getattr(node.subLinkType, "name", "")
        if kind == "EXISTS_SUBLINK":
            return "exists"
        if kind == "ARRAY_SUBLINK":
            return "array"
        if kind == "EXPR_SUBLINK":
            targets = node.subselect.targetList or ()
            if targets:
                t = targets[0]
                return str(t.name) if t.name else figure_colname(t.val)
    if is_node(node, ast.A_Indirection):
        for ind in reversed(node.indirection):
            if is_node(ind, ast.String):
                return str(ind.sval)
        return figure_colname(node.arg)
    if is_node(node, ast.RowExpr):
        return "row"
    return "?column?"


# --------------------------------------------------------------------------- printing


def _view_context(a: Analyzer) -> Context:
    return Context(a.types, pretty_paren=True, pretty_indent=True, varprefix=True)


def _sortgroup_expr(expr: n.Expr, ctx: Context) -> None:
    """get_rule_sortgroupclause for an expression (not by column number)."""
    if isinstance(expr, n.Const):
        get_const_expr(expr, ctx, 1)
    elif isinstance(expr, (n.Var, n.Raw)):
        get_rule_expr(expr, ctx, True)
    else:
        ctx.append("(")
        get_rule_expr(expr, ctx, True)
        ctx.append(")")


def print_query(
    q: Query | SetOp, ctx: Context, indent: int, reserved: tuple[str, ...] = (), result_names: list[str] | None = None
) -> None:
    """get_query_def: names this level's range-table entries (set_rtable_names), then prints."""
    saved = ctx.indent_level, ctx.result_names, ctx.varprefix
    ctx.indent_level = indent
    ctx.result_names = result_names
    ctx.varprefix = True  # a query level always qualifies its columns
    ctx.name_levels.append(_assign_names(q, ctx, reserved))
    try:
        if isinstance(q, SetOp):
            _setop(q, ctx)
        else:
            _select(q, ctx)
    finally:
        ctx.name_levels.pop()
        ctx.indent_level, ctx.result_names, ctx.varprefix = saved


def _assign_names(q: Query | SetOp, ctx: Context, reserved: tuple[str, ...]) -> set[str]:
    used: set[str] = set(reserved).union(*ctx.name_levels)
    level = set(reserved)
    counters: dict[str, int] = {}
    rtes = [r for item in q.from_items for r in _rtes(item)] if isinstance(q, Query) else []
    for rte in rtes:
        name = rte.refname
        if name in used:
            base = name
            while True:
                counters[base] = counters.get(base, 0) + 1
                name = f"{base}_{counters[base]}"
                if name not in used:
                    break
        used.add(name)
        level.add(name)
        ctx.rte_names[id(rte)] = name
    return level


def _with_clause(q: Query, ctx: Context) -> None:
    if not q.ctes:
        return
    ctx.indent_level += PRETTYINDENT_STD
    ctx.append(" ")
    sep = "WITH RECURSIVE " if q.recursive else "WITH "
    for cte in q.ctes:
        ctx.append(sep + quote_ident(cte.name))
        if cte.colnames:
            ctx.append("(" + ", ".join(quote_ident(c) for c in cte.colnames) + ")")
        ctx.append(" AS " + cte.materialized + "(")
        ctx.keyword("", 0, 0, 0)
        saved_visible, ctx.colnames_visible = ctx.colnames_visible, True
        print_query(cte.query, ctx, ctx.indent_level)
        ctx.colnames_visible = saved_visible
        ctx.keyword("", 0, 0, 0)
        ctx.append(")")
        sep = ", "
    ctx.indent_level -= PRETTYINDENT_STD
    ctx.keyword("", 0, 0, 0)


def _select(q: Query, ctx: Context) -> None:
    _with_clause(q, ctx)
    if q.setop is not None:
        _setop(q.setop, ctx)
        force_colno = True
    else:
        _basic_select(q, ctx)
        force_colno = False
    if q.order:
        ctx.keyword(" ORDER BY ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 1)
        for i, (expr, suffix) in enumerate(q.order):
            if i:
                ctx.append(", ")
            if force_colno or isinstance(expr, n.Raw):
                get_rule_expr(expr, ctx, True)
            else:
                _sortgroup_expr(expr, ctx)
            ctx.append(suffix)
    if q.offset is not None:
        ctx.keyword(" OFFSET ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
        get_rule_expr(q.offset, ctx, False)
    if q.limit is not None and q.with_ties:
        ctx.keyword(" FETCH FIRST ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
        ctx.append("(")  # PostgreSQL parenthesises the count here, whatever it is
        get_rule_expr(q.limit, ctx, False)
        ctx.append(") ROWS WITH TIES")
    elif q.limit is not None:
        ctx.keyword(" LIMIT ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
        if isinstance(q.limit, n.Const) and q.limit.value is None:
            ctx.append("ALL")
        else:
            get_rule_expr(q.limit, ctx, False)


def _setop(op: SetOp, ctx: Context) -> None:
    left, right = op.left, op.right
    need_paren = isinstance(left, SetOp) and not (left.op == op.op and left.all == op.all)
    if need_paren:
        ctx.append("(")
        subindent = PRETTYINDENT_STD
        ctx.keyword("", subindent, 0, 0)
    else:
        subindent = 0
    _setop_leaf(left, ctx)
    if need_paren:
        ctx.keyword(") ", -subindent, 0, 0)
    else:
        ctx.keyword("", -subindent, 0, 0)
    ctx.append(op.op + " ")
    if op.all:
        ctx.append("ALL ")
    need_paren = isinstance(right, SetOp)
    if need_paren:
        ctx.append("(")
        subindent = PRETTYINDENT_STD
    else:
        subindent = 0
    ctx.keyword("", subindent, 0, 0)
    saved_visible, ctx.colnames_visible = ctx.colnames_visible, False
    _setop_leaf(right, ctx)
    ctx.colnames_visible = saved_visible
    ctx.indent_level -= subindent
    if need_paren:
        ctx.keyword(")", 0, 0, 0)


def _setop_leaf(q: Query | SetOp, ctx: Context) -> None:
    if isinstance(q, SetOp):
        _setop(q, ctx)
        return
    need_paren = bool(q.ctes or q.order or q.limit is not None or q.offset is not None)
    if need_paren:
        ctx.append("(")
    print_query(q, ctx, ctx.indent_level, result_names=ctx.result_names)
    if need_paren:
        ctx.append(")")


def _basic_select(q: Query, ctx: Context) -> None:
    ctx.indent_level += PRETTYINDENT_STD
    ctx.append(" ")
    if q.values:
        ctx.append("VALUES ")
        for i, row in enumerate(q.values):
            if i:
                ctx.append(", ")
            ctx.append("(")
            for j, value in enumerate(row):
                if j:
                    ctx.append(",")
                get_rule_expr(value, ctx, False)
            ctx.append(")")
        return
    ctx.append("SELECT")
    if q.distinct_on:
        ctx.append(" DISTINCT ON (")
        for i, e in enumerate(q.distinct_on):
            if i:
                ctx.append(", ")
            _sortgroup_expr(e, ctx)
        ctx.append(")")
    elif q.distinct:
        ctx.append(" DISTINCT")
    _target_list(q, ctx)
    _from_clause(q, ctx)
    if q.where is not None:
        ctx.keyword(" WHERE ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 1)
        get_rule_expr(q.where, ctx, False)
    if q.group:
        ctx.keyword(" GROUP BY ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 1)
        for i, item in enumerate(q.group):
            if i:
                ctx.append(", ")
            if isinstance(item, GroupSet):
                _grouping_set(item, ctx, omit_parens=True)
            else:
                _sortgroup_expr(item, ctx)
    if q.having is not None:
        ctx.keyword(" HAVING ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 0)
        get_rule_expr(q.having, ctx, False)
    for i, (name, spec) in enumerate(q.windows):
        if i:
            ctx.append(", ")
        else:
            ctx.keyword(" WINDOW ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 1)
        ctx.append(quote_ident(name) + " AS ")
        get_window_spec(spec, ctx)


def _grouping_set(g: GroupSet, ctx: Context, omit_parens: bool) -> None:
    """get_rule_groupingset."""
    if g.kind == "empty":
        ctx.append("()")
        return
    if g.kind == "simple":
        parens = not omit_parens or len(g.content) != 1
        if parens:
            ctx.append("(")
        for i, e in enumerate(g.content):
            if i:
                ctx.append(", ")
            assert not isinstance(e, GroupSet)
            _sortgroup_expr(e, ctx)
        if parens:
            ctx.append(")")
        return
    ctx.append({"rollup": "ROLLUP(", "cube": "CUBE(", "sets": "GROUPING SETS ("}[g.kind])
    for i, child in enumerate(g.content):
        if i:
            ctx.append(", ")
        assert isinstance(child, GroupSet)
        _grouping_set(child, ctx, omit_parens=g.kind != "sets")
    ctx.append(")")


def _target_list(q: Query, ctx: Context) -> None:
    sep = " "
    colno = 0
    for t in q.targets:
        if t.junk:
            continue
        ctx.append(sep)
        sep = ", "
        colno += 1
        saved = ctx.buf
        ctx.buf = []
        attname: str | None
        if isinstance(t.expr, n.Var) and t.expr.name == "*":
            # a whole row at the top of the list keeps its type, so it is not expanded
            get_rule_expr(t.expr, ctx, True)
            ctx.append("::" + ctx.types.format(t.expr.ty))
            attname = None
        elif isinstance(t.expr, n.Var):
            get_rule_expr(t.expr, ctx, True)
            attname = t.expr.name
        else:
            get_rule_expr(t.expr, ctx, True)
            attname = None if ctx.colnames_visible else "?column?"
        names = ctx.result_names
        colname = names[colno - 1] if names is not None and colno <= len(names) else t.name
        if attname is None or attname != colname:
            ctx.append(" AS " + quote_ident(colname))
        field_text = ctx.text()
        ctx.buf = saved
        if field_text.startswith("\n"):
            ctx.remove_trailing_spaces()
        else:
            if colno > 1:  # wrap column 0: every later target on its own line
                ctx.keyword("", -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_VAR)
        ctx.append(field_text)


def _from_clause(q: Query, ctx: Context) -> None:
    first = True
    for item in q.from_items:
        if first:
            ctx.keyword(" FROM ", -PRETTYINDENT_STD, PRETTYINDENT_STD, 2)
            first = False
            _from_item(item, ctx)
        else:
            ctx.append(", ")
            saved = ctx.buf
            ctx.buf = []
            _from_item(item, ctx)
            text = ctx.text()
            ctx.buf = saved
            if text.startswith("\n"):
                ctx.remove_trailing_spaces()
            else:
                ctx.keyword("", -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_VAR)
            ctx.append(text)


def _from_item(item: FromItem, ctx: Context) -> None:
    if isinstance(item, RteRef):
        rte = item.rte
        printed = ctx.rte_names.get(id(rte), rte.refname)
        if rte.kind == "cte":
            assert rte.name is not None
            ctx.append(quote_ident(rte.name))
            if rte.alias_given or printed != rte.name:
                ctx.append(" " + quote_ident(printed))
            return
        if rte.kind == "function":
            assert rte.function is not None
            if rte.lateral:
                ctx.append("LATERAL ")
            get_rule_expr(rte.function, ctx, True)
            if rte.ordinality:
                ctx.append(" WITH ORDINALITY")
            ctx.append(" " + quote_ident(printed))
            if rte.coldefs:
                ctx.append("(" + ", ".join(f"{quote_ident(c.name)} {ctx.types.format(c.ty)}" for c in rte.columns) + ")")
            else:
                ctx.append("(" + ", ".join(quote_ident(c.name) for c in rte.columns) + ")")
            return
        if rte.kind == "relation":
            assert rte.name is not None and rte.schema is not None
            name = quote_ident(rte.name)
            if rte.schema != "pg_catalog":
                name = f"{quote_ident(rte.schema)}.{name}"
            ctx.append(name)
            if rte.alias_given or printed != rte.name or rte.print_aliases:
                ctx.append(" " + quote_ident(printed))
            if rte.print_aliases:
                ctx.append("(" + ", ".join(quote_ident(c.name) for c in rte.columns) + ")")
        else:
            assert rte.subquery is not None
            if rte.lateral:
                ctx.append("LATERAL ")
            ctx.append("(")
            saved_visible, ctx.colnames_visible = ctx.colnames_visible, True
            print_query(rte.subquery, ctx, ctx.indent_level)
            ctx.colnames_visible = saved_visible
            ctx.append(") " + quote_ident(printed))
            if rte.print_aliases:
                ctx.append("(" + ", ".join(quote_ident(c.name) for c in rte.columns) + ")")
        return
    need_paren_right = not isinstance(item.right, RteRef)
    _from_item(item.left, ctx)
    ctx.keyword(f" {item.kind} ", -PRETTYINDENT_STD, PRETTYINDENT_STD, PRETTYINDENT_JOIN)
    if need_paren_right:
        ctx.append("(")
    _from_item(item.right, ctx)
    if need_paren_right:
        ctx.append(")")
    if item.using:
        ctx.append(" USING (" + ", ".join(quote_ident(u) for u in item.using) + ")")
    elif item.quals is not None:
        ctx.append(" ON ")
        get_rule_expr(item.quals, ctx, False)
    elif item.kind not in ("JOIN", "CROSS JOIN"):
        ctx.append(" ON TRUE")


def print_sublink_query(query: object, ctx: Context) -> None:
    assert isinstance(query, (Query, SetOp))
    saved_visible, ctx.colnames_visible = ctx.colnames_visible, False
    print_query(query, ctx, ctx.indent_level)
    ctx.colnames_visible = saved_visible


def view_definition(
    select_stmt: Any, scope: Any, column_names: Sequence[str] | None = None
) -> tuple[str, tuple[ViewColumn, ...], tuple[ViewDependency, ...]]:
    base = Analyzer(scope.search_path or ("public",), scope.builder)
    base.dependencies = set()
    analyzer = QueryAnalyzer(base)
    query = analyzer.select(select_stmt)
    nullable = analyzer.flags["nullable"]
    ctx = _view_context(base)
    ctx.subquery_printer = print_sublink_query
    names = [t.name for t in (query.targets if query.setop is not None else _first_leaf(query).targets) if not t.junk]
    # CREATE VIEW v (a, b): the listed names replace the first columns' names
    for i, name in enumerate(column_names or ()):
        if i < len(names):
            names[i] = name
    print_query(query, ctx, 0, reserved=("old", "new"), result_names=names)
    text = ctx.text() + ";"
    columns = []
    visible = [t for t in (_first_leaf(query).targets if query.setop is None else query.targets) if not t.junk]
    collations = Collations(base.types, base.builder)
    found = base.dependencies | types_used(query) | collations.used(query)
    if query.setop is not None:
        # a set operation's columns take the common collation of its branches
        for t, state in zip(visible, setop_collations(collations, query), strict=False):
            collations.memo[id(t.expr)] = state
            collations.keep.append(t.expr)
    for t, name in zip(visible, names, strict=True):
        ty = t.expr.ty
        if ty.key == UNKNOWN:
            ty = Ty("text")
        # NOT NULL as the live frontend derives it: a bare column of a NOT NULL table
        # column, and nothing in the query that could null it
        not_null = not nullable and isinstance(t.expr, n.Var) and t.expr.not_null
        # the column's collation (pg_depend records a user one for the view's column)
        dependency = user_collation(collations.collation(t.expr))
        if dependency is not None:
            found.add(dependency)
        columns.append(ViewColumn(name, base.types.format(ty), not_null, collation=column_collation(collations, t.expr)))
    return text, tuple(columns), as_pg_depend(found)


def routine_body_dependencies(
    statements: Sequence[Any],
    parameters: Sequence[tuple[str | None, str]],
    routine: str,
    scope: Any,
) -> tuple[ViewDependency, ...]:
    """What a SQL-standard body (BEGIN ATOMIC ... END, or RETURN expr) uses, as pg_depend
    records it for the routine (recordDependencyOnExpr over its query trees, as for a
    view's rule): relations, columns (those it reads, and the target columns of INSERT and
    UPDATE), functions, types of constants and casts. `parameters` are the input
    parameters (name, format_type text), visible by name (`n`, `routine.n`) where no
    column has it, and as $1, $2, ...; a parameter itself uses nothing but its type (the
    signature's). Raises what the analyser raises on what it does not model."""
    base = Analyzer(scope.search_path or ("public",), scope.builder)
    base.dependencies = set()
    params = [(name, base.types.parse_format(data_type)) for name, data_type in parameters]

    def param(ref: list[str] | int) -> n.Expr | None:
        if isinstance(ref, int):
            return n.Raw(params[ref - 1][1], f"${ref}", simple=True, param=True) if 1 <= ref <= len(params) else None
        if len(ref) == 1 or (len(ref) == 2 and ref[0] == routine):
            for i, (name, ty) in enumerate(params):
                if name is not None and name == ref[-1]:
                    return n.Raw(ty, f"${i + 1}", simple=True, param=True)
        return None

    base.param_hook = param
    found: set[ViewDependency] = set()

    def modifying(qa: QueryAnalyzer, stmt: Any) -> Query:
        used, returning = _modifying(qa, stmt)
        found.update(used)
        return Query(targets=returning)

    for stmt in statements:
        qa = QueryAnalyzer(base)
        qa.modifying = modifying
        if is_node(stmt, ast.SelectStmt):
            found |= uses(base, qa.select(stmt))
        elif is_node(stmt, ast.ReturnStmt):
            found |= uses(base, qa.analyzer().transform(stmt.returnval))
        elif is_node(stmt, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)):
            found |= _modifying(qa, stmt)[0]
        else:
            raise Unsupported(f"{type(stmt).__name__.removesuffix('Stmt').upper()} in a SQL body")
    return as_pg_depend(base.dependencies | found)


def _modifying(qa: QueryAnalyzer, stmt: Any) -> tuple[set[ViewDependency], list[Target]]:
    """What an INSERT, UPDATE or DELETE of a SQL body uses (transformInsertStmt & co, for
    pg_depend only: nothing is printed), and its RETURNING list (the rows a WITH item made
    of it gives): its WITH items, the target relation, its target columns, the values
    assigned to them coerced to the columns' types, FROM/USING items, WHERE, ON CONFLICT
    (the inferred arbiter's columns and predicate; DO UPDATE reads every column of the
    target, as its EXCLUDED row, then its SET and WHERE) and RETURNING."""
    exprs: list[Any] = []
    depth = len(qa.ctes)
    try:
        exprs.append(qa._with(stmt))  # visible to the whole statement (an INSERT's SELECT too)
        _modify_target(qa, stmt, exprs)
        returning: list[Target] = []
        clause = getattr(stmt, "returningClause", None)
        for res in (clause.exprs if clause is not None else None) or ():
            a = qa.analyzer()
            val = res.val
            if is_node(val, ast.ColumnRef) and isinstance(val.fields[-1], ast.A_Star):
                rtes = qa.namespace if len(val.fields) == 1 else [r for r in qa.namespace if r.refname == val.fields[0].sval]
                if not rtes:
                    raise Unsupported(f"RETURNING {'.'.join(str(getattr(f, 'sval', '*')) for f in val.fields)}")
                for rte in rtes:
                    for col in rte.columns:
                        returning.append(Target(qa._var(rte, col), col.name))
                continue
            expr = a.transform(val)
            exprs.append(expr)
            returning.append(Target(expr, res.name or figure_colname(val)))
    finally:
        del qa.ctes[depth:]
    return uses(qa.base, exprs), returning


def _modify_target(qa: QueryAnalyzer, stmt: Any, exprs: list[Any]) -> Rte:
    """The target of an INSERT, UPDATE or DELETE (see _modifying), analysed with what the
    statement does to it; `qa.namespace` is left as RETURNING sees it."""
    if is_node(stmt, ast.InsertStmt):
        source = stmt.selectStmt
        query = qa.nested([]).select(source) if source is not None else None  # target not visible
        target = qa._relation(stmt.relation)
        names = [str(c.name) for c in stmt.cols or ()]
        if any(c.indirection for c in stmt.cols or ()):
            raise Unsupported("INSERT into a field or element")
        values: list[n.Expr] = []
        if query is not None:
            if is_node(source, ast.SelectStmt) and source.valuesLists and len(source.valuesLists) == 1:
                values = list(query.values[0]) if query.values else []  # one row: assigned as is
            else:
                targets = query.targets if query.setop is not None else _first_leaf(query).targets
                values = [t.expr for t in targets if not t.junk]
            exprs.append(query)
        columns = names or [c.name for c in target.columns[: len(values)]]
        a = qa.analyzer()
        for name, value in zip(columns, values, strict=False):
            col = _target_column(target, name)
            qa._var(target, col)  # a target column (dependency)
            if value.ty.key != col.ty.key:
                exprs.append(a.coerce(value, col.ty, 1, "implicit", to_target=True))
        qa.namespace = [target]
        if stmt.onConflictClause is not None:
            _on_conflict(qa, target, stmt.onConflictClause, exprs)
            qa.namespace = [target]
        return target
    target = qa._relation(stmt.relation)
    qa.namespace = [target]
    for item in (stmt.fromClause if is_node(stmt, ast.UpdateStmt) else stmt.usingClause) or ():
        qa.from_item(item)
    _assignments(qa, target, getattr(stmt, "targetList", None) or (), exprs)
    if stmt.whereClause is not None:
        if is_node(stmt.whereClause, ast.CurrentOfExpr):
            raise Unsupported("WHERE CURRENT OF")
        a = qa.analyzer()
        exprs.append(a.coerce_to_bool(a.transform(stmt.whereClause)))
    return target


def _target_column(target: Rte, name: str) -> Column:
    col = next((c for c in target.columns if c.name == name), None)
    if col is None:
        raise ExpressionError(f'column "{name}" of relation "{target.name}" does not exist')
    return col


def _assignments(qa: QueryAnalyzer, target: Rte, items: Sequence[Any], exprs: list[Any]) -> None:
    """UPDATE's (and ON CONFLICT DO UPDATE's) SET list: each column assigned, with its
    value coerced to the column's type; `(a, b) = (x, y)` (MultiAssignRef over a ROW)
    assigns each in turn. SET's target columns are recorded by pg_depend for UPDATE only
    (the query's target list); ON CONFLICT's read every column anyway."""
    a = qa.analyzer()
    for res in items:
        if res.indirection:
            raise Unsupported("UPDATE of a field or element")
        col = _target_column(target, res.name)
        qa._var(target, col)
        val = res.val
        if is_node(val, ast.MultiAssignRef):
            if not is_node(val.source, ast.RowExpr):
                raise Unsupported("(a, b) = (SELECT ...) in SET")
            values = list(val.source.args or ())
            if not 1 <= val.colno <= len(values):
                raise ExpressionError("number of columns does not match number of values")
            val = values[val.colno - 1]
        if is_node(val, ast.SetToDefault):
            continue
        exprs.append(a.coerce(a.transform(val), col.ty, 1, "implicit", to_target=True))


def _on_conflict(qa: QueryAnalyzer, target: Rte, clause: Any, exprs: list[Any]) -> None:
    """INSERT ... ON CONFLICT (transformOnConflictClause): the arbiter's columns and
    expressions and its predicate (ON CONSTRAINT names a constraint: pg_depend records it,
    the IR's Dependency has no constraint kind); DO UPDATE builds the EXCLUDED row of
    every column of the target (each a dependency), then its SET list and WHERE see the
    target and EXCLUDED."""
    infer = clause.infer
    a = qa.analyzer()
    if infer is not None:
        for elem in infer.indexElems or ():
            if elem.name is not None:
                qa._var(target, _target_column(target, elem.name))
            else:
                exprs.append(a.transform(elem.expr))
        if infer.whereClause is not None:
            exprs.append(a.coerce_to_bool(a.transform(infer.whereClause)))
    if getattr(clause.action, "name", str(clause.action)) != "ONCONFLICT_UPDATE":
        return
    excluded = Rte("excluded", list(target.columns), "relation", target.schema, target.name)
    excluded.column_origins = list(target.column_origins)
    for col in target.columns:
        qa._var(target, col)
    qa.namespace = [target, excluded]
    _assignments(qa, target, clause.targetList or (), exprs)
    if clause.whereClause is not None:
        a = qa.analyzer()
        exprs.append(a.coerce_to_bool(a.transform(clause.whereClause)))


def uses(base: Analyzer, tree: Any) -> set[ViewDependency]:
    """The user types (types_used) and collations (Collations.used) an analysed tree uses."""
    return types_used(tree) | Collations(base.types, base.builder).used(tree)


def setop_collations(collations: Collations, q: Query | SetOp) -> list[tuple[str | None, int]]:
    """The collation of each column of a set operation (select_common_collation of its
    branches' columns, recursively), or of a query's own columns."""
    if isinstance(q, Query) and q.setop is None:
        return [collations.derive(t.expr) for t in q.targets if not t.junk]
    if isinstance(q, Query):
        assert q.setop is not None
        return setop_collations(collations, q.setop)
    left = setop_collations(collations, q.left)
    right = setop_collations(collations, q.right)
    out = []
    for a, b in zip(left, right, strict=False):
        coll, strength = merge_collations(a, b)
        out.append((coll, min(strength, IMPLICIT) if strength != CONFLICT else CONFLICT))
    return out


def column_collation(collations: Collations, expr: n.Expr) -> str | None:
    """An output column's collation where it is not its type's (ViewColumn.collation)."""
    coll = collations.collation(expr)
    if coll is None or coll == DEFAULT:
        return None
    ty = expr.ty.key
    return None if coll == collations.of_type("text" if ty == UNKNOWN else ty) else coll


def types_used(query: Any) -> set[ViewDependency]:
    """The user types a query's expressions produce as pg_depend records them
    (find_expr_references_walker): a constant's type, the result of a cast that is not a
    function call (RelabelType, CoerceViaIO, ArrayCoerceExpr, CoerceToDomain), an explicit
    ROW(...)::type. An array type is named by its element type."""
    found: set[ViewDependency] = set()
    for item in n.analysed_nodes(query):
        if (
            isinstance(item, n.Const)
            or (isinstance(item, n.Coerce) and item.kind != "func")
            or (isinstance(item, n.Row) and item.cast)
        ):
            user = user_type(item.ty.key)
            if user is not None:
                found.add(ViewDependency("type", *user))
    return found


def user_type(key: str) -> tuple[str, str] | None:
    """(schema, name) of a type key outside pg_catalog (`public.mood`, `public.mood[]`)."""
    while key.endswith("[]"):
        key = key[:-2]
    if "." not in key:
        return None
    parts = split_qualified(key)
    return (parts[0], parts[1]) if len(parts) == 2 and parts[0] != "pg_catalog" else None


def as_pg_depend(found: set[ViewDependency]) -> tuple[ViewDependency, ...]:
    """The dependencies as pg_depend keeps them: a relation whose columns are listed is not
    listed itself (eliminate_duplicate_dependencies keeps the column references)."""
    with_columns = {(d.schema, d.name) for d in found if d.kind == "column"}
    return tuple(sorted(d for d in found if d.kind != "relation" or (d.schema, d.name) not in with_columns))


def fallback_view_definition(
    select_stmt: Any, scope: Any, column_names: Sequence[str] | None = None
) -> tuple[str, tuple[ViewColumn, ...], None]:
    """pglast's own text, and the column names PostgreSQL would give, typed where a target
    is a plain column the canonicaliser can see (else `text`)."""
    from pglast.stream import RawStream

    try:
        text = " " + str(RawStream()(select_stmt)) + ";"
    except Exception:
        text = ""
    columns: list[ViewColumn] = []
    stmt = select_stmt
    while getattr(stmt, "larg", None) is not None and not stmt.targetList:
        stmt = stmt.larg
    for i, res in enumerate(stmt.targetList or ()):
        name = res.name or figure_colname(res.val)
        if column_names and i < len(column_names):
            name = column_names[i]
        columns.append(ViewColumn(name, "text"))
    return text, tuple(columns), None
