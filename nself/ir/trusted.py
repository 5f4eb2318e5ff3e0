"""Constructors of the IR's nodes for trusted input (a frontend reading what PostgreSQL's
catalog holds): the same objects as the public constructors build, about 2.5 times
faster. A frozen dataclass's `__init__` sets each field through `object.__setattr__` (a
call per field, to get past the frozen `__setattr__`); the constructor of `trusted(cls)`
sets the fields on an instance of a plain twin class with the same slots, then makes the
instance a `cls` (`__class__` assignment, allowed between classes of one slot layout).
The result is a `cls` in every respect (type, equality, hashing, pickling); only the way
it was filled differs.

The public constructors stay as they are: anything that builds IR from user input uses
them. Positional and keyword arguments and defaults are the class's own."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, cast

N = TypeVar("N")

_MADE: dict[type, Callable[..., Any]] = {}


def trusted(cls: type[N]) -> Callable[..., N]:
    """A constructor of `cls` (an IR dataclass) with its signature; `cls` itself when its
    layout is not the plain one of slots named after its fields."""
    found = _MADE.get(cls)
    if found is None:
        found = _MADE[cls] = _twin(cls)
    return cast("Callable[..., N]", found)


def _twin(cls: type) -> Callable[..., Any]:
    fields = dataclasses.fields(cls)
    names = tuple(f.name for f in fields)
    slots = cls.__dict__.get("__slots__")
    if (
        not dataclasses.is_dataclass(cls)
        or slots is None
        or tuple(slots) != names
        or any(
            not f.init or f.kw_only is True or f.default_factory is not dataclasses.MISSING for f in fields
        )
        or "__post_init__" in dir(cls)
        or not names
    ):
        return cls
    body = "".join(f"    self.{name} = {name}\n" for name in names)
    source = f"def __init__(self, {', '.join(names)}):\n{body}    self.__class__ = cls\n"
    space: dict[str, Any] = {"cls": cls}
    exec(source, space)  # the text is made of the dataclass's own field names
    init = space["__init__"]
    init.__defaults__ = cls.__init__.__defaults__
    init.__qualname__ = f"trusted({cls.__qualname__}).__init__"
    return type(f"Trusted{cls.__name__}", (), {"__slots__": names, "__init__": init, "__module__": __name__})
