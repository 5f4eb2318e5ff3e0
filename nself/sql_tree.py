"""Walking pglast trees: the one walker (the sql frontend, nself.pg15)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast


def walk(node: Any) -> Iterator[Any]:
    """Every pglast node under `node` (itself included), depth first."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Node):
            yield n
            stack.extend(getattr(n, attr) for attr in n)
        elif isinstance(n, tuple):
            stack.extend(n)
