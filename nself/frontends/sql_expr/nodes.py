"""The analysed expression tree: a small mirror of PostgreSQL's primnodes.h, holding just
what ruleutils.c needs to print an expression the way PostgreSQL does."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import field
from typing import Any, Literal

from nself.frontends.sql_expr.catalog import Ty
from nself.ir.record import record

Form = Literal["call", "implicit", "explicit", "sql", "grouping"]


@record(frozen=False, slots=False)
class Expr:
    ty: Ty


@record(frozen=False, slots=False)
class Const(Expr):
    value: str | None  # the type's output text; None for NULL


@record(frozen=False, slots=False)
class Var(Expr):
    name: str
    rel: str | None = None  # range-table alias, printed when the context asks for prefixes
    not_null: bool = False
    # the range-table entry (views): its printed name is chosen when printing, as
    # ruleutils' set_rtable_names makes names unique across query levels
    rte: object | None = None
    # its column's collation when not its type's (IR text: `public.de`, `"C"`)
    collation: str | None = None


@record(frozen=False, slots=False)
class Func(Expr):
    name: str
    args: list[Expr]
    schema: str = "pg_catalog"
    form: Form = "call"
    variadic: bool = False  # printed with VARIADIC before the last argument
    arg_names: list[str | None] = field(default_factory=list)
    # aggregates and window functions
    agg: bool = False
    star: bool = False
    distinct: bool = False
    order_by: list[tuple[Expr, str]] = field(default_factory=list)
    filter: Expr | None = None
    over: WindowSpec | None = None
    within_group: bool = False
    # a function with OUT or TABLE parameters: its result columns
    out_columns: list[tuple[str, Ty]] = field(default_factory=list)


@record(frozen=False, slots=False)
class WindowSpec:
    name: str | None = None  # OVER name
    partition: list[Expr] = field(default_factory=list)
    order: list[tuple[Expr, str]] = field(default_factory=list)
    frame: list[str | Expr] = field(default_factory=list)  # words and offset expressions


@record(frozen=False, slots=False)
class Coerce(Expr):
    """A FuncExpr cast, RelabelType, CoerceViaIO, ArrayCoerceExpr or CoerceToDomain."""

    arg: Expr
    kind: Literal["func", "relabel", "io", "array", "domain"]
    form: Literal["implicit", "explicit"]


@record(frozen=False, slots=False)
class Op(Expr):
    name: str
    args: list[Expr]  # one (prefix) or two
    schema: str = "pg_catalog"


@record(frozen=False, slots=False)
class ScalarArrayOp(Expr):
    name: str
    use_or: bool
    left: Expr
    right: Expr
    schema: str = "pg_catalog"


@record(frozen=False, slots=False)
class Distinct(Expr):
    left: Expr
    right: Expr


@record(frozen=False, slots=False)
class NullIf(Expr):
    left: Expr
    right: Expr


@record(frozen=False, slots=False)
class Bool(Expr):
    op: Literal["AND", "OR", "NOT"]
    args: list[Expr]


@record(frozen=False, slots=False)
class NullTest(Expr):
    arg: Expr
    is_null: bool
    row: bool = False


@record(frozen=False, slots=False)
class BoolTest(Expr):
    arg: Expr
    test: str  # "IS TRUE", "IS NOT FALSE", ...


@record(frozen=False, slots=False)
class Case(Expr):
    arg: Expr | None
    whens: list[tuple[Expr, Expr]]
    default: Expr


@record(frozen=False, slots=False)
class Coalesce(Expr):
    args: list[Expr]


@record(frozen=False, slots=False)
class MinMax(Expr):
    op: Literal["GREATEST", "LEAST"]
    args: list[Expr]


@record(frozen=False, slots=False)
class Array(Expr):
    elements: list[Expr]
    multidims: bool = False


@record(frozen=False, slots=False)
class Row(Expr):
    args: list[Expr]
    explicit: bool = True
    cast: bool = False  # ROW(...)::composite


@record(frozen=False, slots=False)
class RowCompare(Expr):
    op: str
    left: list[Expr]
    right: list[Expr]
    schema: str = "pg_catalog"


@record(frozen=False, slots=False)
class SQLValue(Expr):
    text: str  # CURRENT_TIMESTAMP, CURRENT_TIMESTAMP(3), CURRENT_USER, ...


@record(frozen=False, slots=False)
class Collate(Expr):
    arg: Expr
    collation: str  # printed form
    resolved: str | None = None  # as the IR names it (`public.de`, `"C"`); None: default


@record(frozen=False, slots=False)
class Subscript(Expr):
    arg: Expr
    indexes: list[tuple[Expr | None, Expr | None, bool]]  # (lower, upper, is_slice)


@record(frozen=False, slots=False)
class FieldSelect(Expr):
    arg: Expr
    field_name: str


@record(frozen=False, slots=False)
class SubLink(Expr):
    kind: Literal["EXISTS", "EXPR", "ANY", "ALL", "ARRAY"]
    query: object  # a view Query (see views.py); printed by its own printer
    test: Expr | None = None
    op: str | None = None


@record(frozen=False, slots=False)
class Raw(Expr):
    """A piece the canonicaliser could not model: printed as given (best effort)."""

    text: str
    simple: bool = False
    param: bool = False  # a routine's parameter (a Param: its type's collation)


def analysed_nodes(tree: Any) -> Iterator[Any]:
    """Each node of an analysed `tree` (an expression, a query, lists of them) once, in
    depth-first order; not types, and not through a Var (its range-table entry is reached
    through FROM)."""
    seen: set[int] = set()
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
            continue
        if not dataclasses.is_dataclass(item) or isinstance(item, (type, Ty, Var)) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
