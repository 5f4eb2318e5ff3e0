"""Collations of analysed expressions as PostgreSQL derives them (parse_collate.c), and the
user collations an expression uses as pg_depend records them (find_expr_references_walker).

A collation is named as the IR names them (`attcollation::regcollation` with search_path =
pg_catalog: `public.de`, `"C"`); DEFAULT is the database's default collation.

Derivation (assign_collations_walker): a column, a parameter, a constant of a collatable
type has its collation, implicitly; COLLATE gives one explicitly; a node of a collatable
result takes the merged collation of its inputs (explicit over implicit, a non-default
implicit over the default, two different non-default implicit ones conflict), or its
type's collation when no input has one; a coercion to a domain with a collation takes the
domain's; a node of a result that is not collatable (a comparison, `length()`) has none.
CASE merges its results only, a function or aggregate its arguments only.

pg_depend records a collation, other than pg_catalog's, for a COLLATE clause, for the
result collation of a binary-coercible cast (RelabelType: `word::varchar`, a varchar passed
to a text function, a domain value used as its base type; ArrayCoerceExpr) and for a
parameter whose type has one (a collated domain); not for the collation an operator or a
function is called with (`word < 'x'` records none)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from nself.frontends.sql_expr import nodes as n
from nself.frontends.sql_expr.catalog import TypeCatalog, split_qualified
from nself.ir.builder import CatalogBuilder
from nself.ir.model import Collation, Dependency, Domain

DEFAULT = "default"
NONE, IMPLICIT, CONFLICT, EXPLICIT = 0, 1, 2, 3
# (collation or None, strength): None with CONFLICT is indeterminate
State = tuple[str | None, int]


def user_collation(collation: str | None) -> Dependency | None:
    """The Dependency on a collation in IR text form, when it is not pg_catalog's."""
    if collation is None or collation == DEFAULT:
        return None
    parts = split_qualified(collation)
    if len(parts) != 2 or parts[0] == "pg_catalog":
        return None
    return Dependency("collation", parts[0], parts[1])


class Collations:
    """Collation derivation over analysed trees for the types of `types` and the domains
    of `builder`."""

    def __init__(self, types: TypeCatalog, builder: CatalogBuilder) -> None:
        self.types = types
        self.builder = builder
        self.memo: dict[int, State] = {}
        self.keep: list[Any] = []  # the nodes memoised (their ids stay theirs)
        # no collation of its own in the builder: nothing can use one (the common case)
        self.no_user_collations = next(builder.all(Collation), None) is None

    def of_type(self, key: str) -> str | None:
        """typcollation: DEFAULT or a collation for a collatable type, None for another
        (an array type has its element's; a domain its own or its base type's)."""
        while key.endswith("[]"):
            key = key[:-2]
        info = self.types.info(key)
        if info is None:
            return None
        if info.kind == "d":
            parts = split_qualified(key)
            domain = self.builder.get(Domain, parts[0], parts[1]) if len(parts) == 2 else None
            if domain is not None and domain.collation is not None:
                return domain.collation
            return self.of_type(info.base.key) if info.base is not None else None
        if info.elem is not None and info.kind == "b" and info.category == "A":
            return self.of_type(info.elem)
        if info.category != "S" or info.kind != "b":
            return None
        return '"C"' if key == "name" else DEFAULT

    def derive(self, e: Any) -> State:
        """The collation and its strength of an analysed expression."""
        if not isinstance(e, n.Expr):
            return (None, NONE)
        found = self.memo.get(id(e))
        if found is None:
            found = self.memo[id(e)] = self._derive(e)
            self.keep.append(e)
        return found

    def collation(self, e: Any) -> str | None:
        """The collation an expression has (None: not collatable, or indeterminate)."""
        coll, strength = self.derive(e)
        return coll if strength in (IMPLICIT, EXPLICIT) else None

    def _derive(self, e: n.Expr) -> State:
        own = self.of_type(e.ty.key)
        if isinstance(e, n.Collate):
            return (e.resolved or DEFAULT, EXPLICIT)
        if isinstance(e, n.Var):
            if e.name == "*":
                return (None, NONE)
            coll = e.collation or own
            return (coll, IMPLICIT) if coll is not None else (None, NONE)
        if isinstance(e, (n.Const, n.Raw, n.SQLValue)):
            return (own, IMPLICIT) if own is not None else (None, NONE)
        if isinstance(e, n.SubLink):
            if own is None:
                return (None, NONE)
            first = _first_target(e.query) if e.kind in ("EXPR", "ARRAY") else None
            coll = self.collation(first) if first is not None else None
            return (coll or own, IMPLICIT)
        if isinstance(e, n.Coerce) and e.kind == "domain" and own is not None and own != DEFAULT:
            return (own, IMPLICIT)  # a domain with a collation of its own
        inputs: Iterable[Any]
        if isinstance(e, n.Case):
            inputs = [r for _, r in e.whens] + [e.default]
        elif isinstance(e, n.Func):
            inputs = e.args
        else:
            inputs = _children(e)
        merged: State = (None, NONE)
        for child in inputs:
            merged = merge_collations(merged, self.derive(child))
        if own is None:
            return (None, NONE)
        if merged[1] > NONE:
            return merged
        return (own, IMPLICIT)

    def used(self, tree: Any) -> set[Dependency]:
        """The user collations pg_depend records for what the analysed `tree` (an
        expression, a query, lists of them) holds: COLLATE clauses, binary-coercible casts'
        results, parameters of a collated type."""
        found: set[Dependency] = set()
        if self.no_user_collations:
            return found
        for item in n.analysed_nodes(tree):
            coll: str | None = None
            if isinstance(item, n.Collate):
                coll = item.resolved
            elif isinstance(item, n.Coerce) and item.kind in ("relabel", "array"):
                coll = self.collation(item)
            elif isinstance(item, n.Raw) and item.param:
                coll = self.of_type(item.ty.key)
            dep = user_collation(coll)
            if dep is not None:
                found.add(dep)
        return found


def _children(e: n.Expr) -> list[Any]:
    out: list[Any] = []
    for f in dataclasses.fields(e):
        if f.name in ("ty", "rte", "query", "over", "filter", "order_by"):
            continue
        value = getattr(e, f.name)
        if isinstance(value, n.Expr):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, n.Expr))
    return out


def _first_target(query: Any) -> Any:
    while getattr(query, "larg", None) is not None and not getattr(query, "targets", None):
        query = query.larg
    for t in getattr(query, "targets", None) or ():
        if not getattr(t, "junk", False):
            return t.expr
    return None


def merge_collations(ctx: State, child: State) -> State:
    """merge_collation_state."""
    coll, strength = child
    if strength > ctx[1]:
        return child
    if strength == ctx[1] == IMPLICIT and coll != ctx[0]:
        if ctx[0] == DEFAULT:  # a non-default implicit collation wins over the default
            return child
        if coll != DEFAULT:
            return (None, CONFLICT)
    return ctx


class ColumnTypes(dict[str, str]):
    """Column name -> type text as expressions see it, with `collations`: column name ->
    its collation where it is not its type's (Column.collation)."""

    def __init__(self, types: Iterable[tuple[str, str]] = (), collations: dict[str, str] | None = None) -> None:
        super().__init__(types)
        self.collations: dict[str, str] = dict(collations or {})

    def copy(self) -> ColumnTypes:
        return ColumnTypes(self.items(), self.collations)

    def with_column(self, name: str, type_text: str, collation: str | None) -> ColumnTypes:
        out = self.copy()
        out[name] = type_text
        out.collations.pop(name, None)
        if collation is not None:
            out.collations[name] = collation
        return out


def column_collations(columns: Any) -> dict[str, str]:
    """The collations a column map (ColumnTypes) carries; none for a plain dict."""
    found: dict[str, str] = getattr(columns, "collations", {})
    return found
