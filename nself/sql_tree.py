"""Walking pglast trees: the one walker (the sql frontend, nself.pg15)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import Any, TypeVar

from pglast import ast

Result = TypeVar("Result")


def walk(node: Any) -> Iterator[Any]:
    """Every pglast node under `node` (itself included), depth first."""
    stack = [node]
    pop, extend = stack.pop, stack.extend
    children = _CHILDREN
    node_class = ast.Node
    while stack:
        n = pop()
        if isinstance(n, node_class):
            yield n
            get = children.get(type(n))
            if get is None:
                get = children[type(n)] = _children_of(type(n))
            extend(get(n))
        elif isinstance(n, tuple):
            extend(n)


def first_found(node: Any, checks: dict[type, Callable[[Any], Result | None]]) -> Result | None:
    """The first non-None `checks[type(n)](n)` over the nodes `walk(node)` yields, in its
    order (the walk without a generator's cost per node: every statement is checked)."""
    stack = [node]
    pop, extend = stack.pop, stack.extend
    children = _CHILDREN
    node_class = ast.Node
    while stack:
        n = pop()
        if isinstance(n, node_class):
            cls = type(n)
            check = checks.get(cls)
            if check is not None:
                found = check(n)
                if found is not None:
                    return found
            get = children.get(cls)
            if get is None:
                get = children[cls] = _children_of(cls)
            extend(get(n))
        elif isinstance(n, tuple):
            extend(n)
    return None


# node class -> a getter of the attributes that may hold nodes (or tuples of them), in the
# order of the class's slots: the walk's order is the one over every attribute, which the
# scalars (names, flags, locations, enums) never entered
_CHILDREN: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _children_of(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    slots = getattr(cls, "__slots__", ())
    names = [name for name in slots if not isinstance(slots, dict) or _may_hold_nodes(slots[name])]
    if not names:
        return lambda n: ()
    if len(names) == 1:
        single = attrgetter(names[0])
        return lambda n: (single(n),)
    return attrgetter(*names)


def _may_hold_nodes(info: Any) -> bool:
    types = getattr(info, "py_type", None)
    if types is None:
        return True  # unknown: walk it
    if not isinstance(types, tuple):
        types = (types,)
    return any(t in (tuple, list) or (isinstance(t, type) and issubclass(t, ast.Node)) for t in types)
