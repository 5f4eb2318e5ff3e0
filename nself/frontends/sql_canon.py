"""The interpreter's one door to the expression and type canonicaliser
(nself.frontends.sql_expr): builds its scope from the interpreter's state and turns its
failures into errors that name the statement (file:line:col). A construct it does not model
is a warning naming the statement (file:line) and falls back to pglast's text, or, when the
state is strict, an error."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pglast.stream import RawStream

from nself.errors import NselfError, SourceError
from nself.frontends import sql_expr
from nself.frontends.sql_expr.views import as_pg_depend
from nself.frontends.sql_state import State
from nself.ir.model import Dependency, PartitionSpec, Table, ViewColumn, ViewDependency


@dataclass
class Collected:
    """What the expressions canonicalised inside `collecting` use (see Dependency)."""

    owner: tuple[str, str]
    found: set[Dependency] = field(default_factory=set)
    known: bool = True  # False once one of them fell back to pglast's text

    @property
    def depends_on(self) -> tuple[Dependency, ...] | None:
        return as_pg_depend(self.found) if self.known else None


@contextmanager
def collecting(state: State, owner: tuple[str, str]) -> Iterator[Collected]:
    """Collect what the expressions of a table `owner` (schema, name) canonicalised in the
    block use, as pg_depend records it: `.depends_on` after the block."""
    saved = state.collecting
    state.collecting = collected = Collected(owner)
    try:
        yield collected
    finally:
        state.collecting = saved


def scope(
    state: State, columns: Mapping[str, str] | None = None, relation: tuple[str, str] | None = None
) -> sql_expr.ExprScope:
    collected: Collected | None = state.collecting
    return sql_expr.ExprScope(
        search_path=tuple(state.search_path),
        builder=state.builder,
        columns=columns if columns is not None else {},
        relation=relation,
        strict=state.strict,
        warn=state.warn,
        dependencies=collected.found if collected is not None else None,
        owner=collected.owner if collected is not None else None,
    )


def _call(
    state: State,
    fn: Callable[..., Any],
    *args: Any,
    columns: Mapping[str, str] | None = None,
    relation: tuple[str, str] | None = None,
    **kw: Any,
) -> Any:
    s = scope(state, columns, relation)
    try:
        result = fn(*args, s, **kw)
        if s.fallbacks and state.collecting is not None:
            state.collecting.known = False
        return result
    except SourceError:
        raise
    except NselfError as exc:  # sql_expr's ExpressionError: name the statement
        raise state.error(str(exc)) from None
    except Exception as exc:  # a construct sql_expr does not handle
        what = fn.__name__.replace("_", " ")
        raise state.error(f"cannot canonicalise this {what}: {type(exc).__name__}: {exc}") from exc


def deparse(node: Any) -> str:
    """pglast's own printing of a node (for function bodies written as SQL statements)."""
    return str(RawStream()(node))


def data_type(state: State, tn: Any) -> str:
    return str(_call(state, sql_expr.canonical_type, tn))


def declared_type(state: State, tn: Any) -> str:
    """A column's or attribute's type with the array dimensions it was declared with
    (`integer[][]`), which PostgreSQL records in attndims (see docs/ir.md)."""
    text = data_type(state, tn)
    extra = len(tn.arrayBounds or ()) - 1
    return text + "[]" * extra if extra > 0 else text


def default_expression(
    state: State, node: Any, target_type: str, columns: Mapping[str, str] | None = None
) -> str | None:
    """The default as PostgreSQL stores it; None where it stores none (`DEFAULT NULL`)."""
    result = _call(state, sql_expr.default_expression, node, target_type, columns=columns)
    return None if result is None else str(result)


def check_expression(state: State, node: Any, columns: Mapping[str, str]) -> str:
    return str(_call(state, sql_expr.check_expression, node, columns=columns))


def domain_check_expression(state: State, node: Any, base_type: str) -> str:
    return str(_call(state, sql_expr.domain_check_expression, node, base_type))


def index_expression(state: State, node: Any, columns: Mapping[str, str], key_collation: bool = False) -> str:
    """An index key expression; `key_collation`: its collation (the key's, none being
    given) is recorded too."""
    return str(_call(state, sql_expr.index_expression, node, columns=columns, key_collation=key_collation))


def type_collation(state: State, type_text: str) -> str | None:
    """typcollation of a type (IR text; `default`; None when not collatable)."""
    return sql_expr.type_collation(type_text, state.builder)


def exclusion_operator(
    state: State, names: Sequence[str], element: Any, columns: Mapping[str, str]
) -> tuple[str, str] | None:
    """The operator (schema, name) an exclusion constraint's element uses (sql_expr's
    exclusion_operator), over the operators CREATE OPERATOR made too."""
    result: tuple[str, str] | None = sql_expr.exclusion_operator(
        names, element, scope(state, columns), state.operators
    )
    return result


def predicate_expression(
    state: State, node: Any, columns: Mapping[str, str], relation: tuple[str, str] | None = None
) -> str:
    """`relation`: the table a policy is on, which PostgreSQL names inside its sub-selects."""
    return str(_call(state, sql_expr.predicate_expression, node, columns=columns, relation=relation))


def generated_expression(state: State, node: Any, target_type: str, columns: Mapping[str, str]) -> str:
    return str(_call(state, sql_expr.generated_expression, node, columns=columns, target_type=target_type))


def view_definition(
    state: State, query: Any
) -> tuple[str, tuple[ViewColumn, ...], tuple[ViewDependency, ...] | None]:
    """The view's text, columns and dependencies (None: not known, see sql_expr)."""
    definition, columns, dependencies = _call(state, sql_expr.view_definition, query)
    return str(definition), tuple(columns), dependencies


def partition_bound(state: State, node: Any, parent: Table) -> str:
    columns = {c.name: c.data_type for c in parent.columns}
    return str(_call(state, sql_expr.partition_bound, node, columns=columns, parent=parent))


def partition_key(state: State, node: Any, columns: Mapping[str, str]) -> PartitionSpec:
    result: PartitionSpec = _call(state, sql_expr.partition_key, node, columns=columns)
    return result


def routine_dependencies(
    state: State, statements: Sequence[Any], parameters: Sequence[tuple[str | None, str]], routine: str
) -> tuple[Dependency, ...] | None:
    """What a SQL-standard body uses, as pg_depend records it (sql_expr's
    routine_body_dependencies). A statement the analyser does not model is a warning
    naming the statement (file:line), or an error when the state is strict; what it uses
    is then not known (None: its text is kept as written, and the diff reads the names in
    it). A body PostgreSQL would refuse (a column that does not exist) is an error."""
    from nself.frontends.sql_expr.views import routine_body_dependencies

    try:
        return routine_body_dependencies(statements, parameters, routine, scope(state))
    except NselfError as exc:  # sql_expr's ExpressionError: name the statement
        raise state.error(str(exc)) from None
    except Exception as exc:  # not modelled
        why = " ".join(f"{type(exc).__name__}: {exc}".split())
        if len(why) > 160:
            why = why[:157] + "..."
        if state.strict:
            raise state.error(f"cannot analyse the body of {routine}: {why}") from exc
        state.warn(
            f"what the body of {routine} uses is not analysed ({why}); "
            "its dependencies are read from the names in its text"
        )
        return None
