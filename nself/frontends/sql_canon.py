"""The interpreter's one door to expression and type canonicalisation (nself.frontends.sql_expr).

Until sql_expr is complete, a function it does not have yet falls back to pglast's own
deparser; the fallback goes away once the real canonicaliser covers everything."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from pglast import ast
from pglast.stream import RawStream

from nself.errors import NselfError, SourceError
from nself.frontends.sql_state import State
from nself.ir.model import PartitionSpec, Table, ViewColumn

_expr: Any
try:
    _expr = importlib.import_module("nself.frontends.sql_expr")
except ImportError:  # pragma: no cover - while sql_expr is being written
    _expr = None


def _real(name: str) -> Callable[..., Any] | None:
    return getattr(_expr, name, None) if _expr is not None else None


def scope(state: State, columns: Mapping[str, str] | None = None) -> Any:
    cls = _real("ExprScope")
    if cls is None:
        return None
    return cls(search_path=tuple(state.search_path), builder=state.builder, columns=dict(columns or {}))


def _call(
    state: State,
    name: str,
    fallback: Callable[[], Any],
    *args: Any,
    columns: Mapping[str, str] | None = None,
    **kw: Any,
) -> Any:
    fn = _real(name)
    if fn is not None:
        try:
            return fn(*args, scope(state, columns), **kw)
        except (NotImplementedError, ImportError):
            pass
        except SourceError:
            raise
        except NselfError as exc:  # sql_expr's ExpressionError: name the statement
            raise state.error(str(exc)) from None
        except Exception as exc:  # a construct sql_expr does not handle yet
            raise state.error(
                f"cannot canonicalise this {name.replace('_', ' ')}: {type(exc).__name__}: {exc}"
            ) from exc
    return fallback()


def deparse(node: Any) -> str:
    return str(RawStream()(node))


def data_type(state: State, tn: ast.TypeName) -> str:
    return str(_call(state, "canonical_type", lambda: deparse(tn), tn))


def default_expression(
    state: State, node: Any, target_type: str, columns: Mapping[str, str] | None = None
) -> str:
    return str(_call(state, "default_expression", lambda: deparse(node), node, target_type, columns=columns))


def check_expression(state: State, node: Any, columns: Mapping[str, str]) -> str:
    return str(_call(state, "check_expression", lambda: f"({deparse(node)})", node, columns=columns))


def index_expression(state: State, node: Any, columns: Mapping[str, str]) -> str:
    return str(_call(state, "index_expression", lambda: deparse(node), node, columns=columns))


def predicate_expression(state: State, node: Any, columns: Mapping[str, str]) -> str:
    return str(_call(state, "predicate_expression", lambda: f"({deparse(node)})", node, columns=columns))


def generated_expression(state: State, node: Any, target_type: str, columns: Mapping[str, str]) -> str:
    return str(
        _call(
            state,
            "generated_expression",
            lambda: deparse(node),
            node,
            columns=columns,
            target_type=target_type,
        )
    )


def domain_check_expression(state: State, node: Any, base_type: str) -> str:
    return str(_call(state, "domain_check_expression", lambda: f"({deparse(node)})", node, base_type))


def view_definition(state: State, query: Any) -> tuple[str, tuple[ViewColumn, ...]]:
    def fallback() -> tuple[str, tuple[ViewColumn, ...]]:
        text = " " + deparse(query) + ";"
        cols: list[ViewColumn] = []
        if isinstance(query, ast.SelectStmt):
            for i, target in enumerate(query.targetList or ()):
                name = target.name
                if name is None and isinstance(target.val, ast.ColumnRef):
                    last = target.val.fields[-1]
                    name = last.sval if isinstance(last, ast.String) else None
                cols.append(ViewColumn(name or f"?column{i}?", "unknown"))
        return text, tuple(cols)

    result = _call(state, "view_definition", fallback, query)
    return result[0], tuple(result[1])


def partition_bound(state: State, node: Any, parent: Table) -> str:
    columns = {c.name: c.data_type for c in parent.columns}
    return str(_call(state, "partition_bound", lambda: deparse(node), node, columns=columns, parent=parent))


def partition_key(state: State, node: ast.PartitionSpec, columns: Mapping[str, str]) -> PartitionSpec:
    def fallback() -> PartitionSpec:
        strategy = (
            {"r": "RANGE", "l": "LIST", "h": "HASH"}[str(node.strategy)[0].lower()]
            if not hasattr(node.strategy, "name")
            else node.strategy.name.split("_")[-1]
        )
        keys = []
        for p in node.partParams or ():
            keys.append(p.name if p.name else f"({deparse(p.expr)})")
        return PartitionSpec(strategy, ", ".join(keys))  # type: ignore[arg-type]

    result: PartitionSpec = _call(state, "partition_key", fallback, node, columns=columns)
    return result
