"""`record`: `dataclasses.dataclass(frozen=True, slots=True)` at a fraction of its cost to
define, for the IR's many classes.

dataclasses compiles each generated method on its own (`__init__`, `__repr__`, `__eq__`,
`__hash__`, `__setattr__`, `__delattr__`: six calls of `exec` per class in Python 3.11), and
that compiling was most of importing nself.ir.model (34 classes, 26 ms of CPU) and
nself.ir.diff.operations (69 classes, 40 ms): a fixed cost of every command that reads or
diffs a schema. `record` lets dataclasses do the rest (fields, inheritance, defaults,
`kw_only`, slots, `__match_args__`) with none of those methods, and takes the methods
ready-made from nself.ir._records: the same methods written out by
scripts/write_ir_records.py, which Python compiles once into that module's bytecode cache.
A class whose methods are not there as they would be written now (its fields changed since)
has them compiled when it is defined. The frozen check is one shared `__setattr__` and
`__delattr__` raising dataclasses' own `FrozenInstanceError`. Importing the two modules
went 25 -> 9 ms and 40 -> 11 ms of CPU.

What it makes is a dataclass to `dataclasses.fields`, `replace`, `asdict` and
`is_dataclass`, with the methods `dataclass(frozen=True, slots=True, ...)` writes: equal
by the fields that compare, hashed as the tuple of them, ordered (`order=True`) as that
tuple, shown as `Name(field=value, ...)`, pickled as slotted frozen dataclasses are. A
method the class body defines is kept, as dataclasses keeps it. tests/ir/test_record.py
compares each with a real dataclass.

`record(frozen=False, slots=False)` stands for a plain `@dataclass` the same way (the sql
frontend's expression nodes, with default factories); its records are unhashable, as
dataclasses makes them. The modules whose methods _records.py holds are CACHED_MODULES.

A new class there is a record too: `@dataclass(frozen=True)` over a record base fails at
import (dataclasses sees a non-frozen base: the frozen check is record's own). After changing
a record's fields, run scripts/write_ir_records.py (until then its methods are compiled at
import, correct but slower; tests/ir/test_record.py fails)."""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)

_MISSING = dataclasses.MISSING


# The modules whose records' methods nself.ir._records holds (scripts/write_ir_records.py).
CACHED_MODULES = (
    "nself.ir.model",
    "nself.ir.diff.operations",
    "nself.frontends.sql_expr.catalog",
    "nself.frontends.sql_expr.nodes",
    "nself.frontends.sql_expr.views",
)


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: object) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]  # type: ignore[arg-type]


def _setstate(self: object, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=False):  # type: ignore[arg-type]
        object.__setattr__(self, f.name, value)


# The default of a parameter whose field has a default factory, as in dataclasses.
_FACTORY: Any = type("_HAS_DEFAULT_FACTORY_CLASS", (), {"__repr__": lambda self: "<factory>"})()


def source(cls: type, order: bool, frozen: bool) -> tuple[str, tuple[Any, ...], dict[str, Any], dict[str, Any]]:
    """The generated methods of `cls` (a dataclass with none yet) as the source of one
    function, `_methods(_f, _FACTORY)`, returning them by name; then the defaults of
    `__init__`'s positional and keyword-only parameters (set on the function, so the text
    holds no values and stays the same whatever the defaults are) and the default factories
    (`_f`, by field name)."""
    fields = dataclasses.fields(cls)
    params: list[str] = []
    keyword: list[str] = []
    defaults: list[Any] = []
    kwdefaults: dict[str, Any] = {}
    factories: dict[str, Any] = {}
    body: list[str] = []
    for f in fields:
        if not f.init:
            raise TypeError(f"{cls.__qualname__}.{f.name}: record takes no init=False field")
        default = f.default
        value = f.name
        if f.default_factory is not _MISSING:
            factories[f.name] = f.default_factory
            default = _FACTORY
            value = f"_f[{f.name!r}]() if {f.name} is _FACTORY else {f.name}"
        if f.kw_only:
            keyword.append(f.name)
            if default is not _MISSING:
                kwdefaults[f.name] = default
        else:
            params.append(f.name)
            if default is not _MISSING:
                defaults.append(default)
        body.append(f"_object_setattr(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    signature = ", ".join(["self", *params, *(["*", *keyword] if keyword else [])])
    compared = [f.name for f in fields if f.compare]
    hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
    shown = [f.name for f in fields if f.repr]

    def tup(prefix: str, names: list[str]) -> str:
        return "(" + "".join(f"{prefix}.{n}," for n in names) + ")"

    lines = [f"def __init__({signature}):", *(f"  {line}" for line in body or ["pass"])]
    lines += [
        "def __repr__(self):",
        "  return self.__class__.__qualname__ + f'("
        + ", ".join(f"{n}={{self.{n}!r}}" for n in shown)
        + ")'",
        "def __eq__(self, other):",
        "  if other.__class__ is self.__class__:",
        f"    return {tup('self', compared)} == {tup('other', compared)}",
        "  return NotImplemented",
    ]
    names = ["__init__", "__repr__", "__eq__"]
    if frozen:
        lines += ["def __hash__(self):", f"  return hash({tup('self', hashed)})"]
        names.append("__hash__")
    if order:
        for name, op in (("__lt__", "<"), ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">=")):
            lines += [
                f"def {name}(self, other):",
                "  if other.__class__ is self.__class__:",
                f"    return {tup('self', compared)} {op} {tup('other', compared)}",
                "  return NotImplemented",
            ]
            names.append(name)
    lines.append("return {" + ", ".join(f"{n!r}: {n}" for n in names) + "}")
    text = "def _methods(_f, _FACTORY):\n" + "".join(f"  {line}\n" for line in lines)
    return text, tuple(defaults), kwdefaults, factories


def _methods(cls: type, order: bool, frozen: bool) -> dict[str, Any]:
    """The generated methods of `cls`: from nself.ir._records when it holds this class's
    text as `source` writes it now (compiled once, with the module, into its bytecode
    cache), else compiled here."""
    from nself.ir._records import METHODS

    text, defaults, kwdefaults, factories = source(cls, order, frozen)
    cached = METHODS.get(f"{cls.__module__}.{cls.__qualname__}")
    if cached is not None and cached[0] == text:
        maker = cached[1]
    else:
        scope: dict[str, Any] = {"_object_setattr": object.__setattr__}
        exec(compile(text, f"<record {cls.__qualname__}>", "exec"), scope)
        maker = scope["_methods"]
    made: dict[str, Any] = maker(factories, _FACTORY)
    made["__init__"].__defaults__ = defaults or None
    made["__init__"].__kwdefaults__ = kwdefaults or None
    made["__repr__"] = reprlib.recursive_repr()(made["__repr__"])
    for function in made.values():
        function.__qualname__ = f"{cls.__qualname__}.{function.__name__}"
    return made


@overload
def record(cls: T, /) -> T: ...
@overload
def record(
    *, order: bool = ..., weakref_slot: bool = ..., frozen: bool = ..., slots: bool = ...
) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(
    cls: T | None = None,
    /,
    *,
    order: bool = False,
    weakref_slot: bool = False,
    frozen: bool = True,
    slots: bool = True,
) -> T | Callable[[T], T]:
    """`@dataclass(frozen=True, slots=True)` (with `order`, `weakref_slot`; `frozen=False,
    slots=False` for a plain `@dataclass`), cheaper to define; see the module's docstring."""

    def wrap(cls: T) -> T:
        made: T = dataclasses.dataclass(  # type: ignore[assignment]
            cls, init=False, repr=False, eq=False, frozen=False, slots=slots, weakref_slot=weakref_slot
        )
        own = made.__dict__
        explicit_hash = own.get("__hash__") is not None
        if not frozen and not explicit_hash:
            made.__hash__ = None  # type: ignore[assignment]  # eq without frozen, as dataclasses
        for name, function in _methods(made, order, frozen).items():
            if name == "__hash__" and explicit_hash:
                continue
            if name != "__hash__" and name in own:
                continue
            setattr(made, name, function)
        # The frozen check, and pickling as a frozen slotted dataclass pickles (its state set
        # past the check).
        for name, function in (
            ("__setattr__", _frozen_setattr),
            ("__delattr__", _frozen_delattr),
            ("__getstate__", _getstate),
            ("__setstate__", _setstate),
        )[: 4 if frozen and slots else 2 if frozen else 0]:
            setattr(made, name, function)
        setattr(made, "__record__", (order, frozen, slots))  # for scripts/write_ir_records.py  # noqa: B010
        return made

    return wrap if cls is None else wrap(cls)


def write_cache(modules: tuple[str, ...] = CACHED_MODULES) -> str:
    """The text of nself/ir/_records.py: the methods of every record in `modules`, as
    functions Python compiles once into the module's bytecode cache."""
    import importlib

    out = [
        '"""Generated by scripts/write_ir_records.py (tests/ir/test_record.py checks it is current):',
        "the methods nself.ir.record writes for each record, compiled with this module. Do not edit."
        '"""',
        "",
        "# ruff: noqa",
        "# mypy: ignore-errors",
        "from typing import Any",
        "",
        "_object_setattr = object.__setattr__",
        "",
    ]
    entries: list[str] = []
    for name in modules:
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if not isinstance(cls, type) or cls.__module__ != name or "__record__" not in cls.__dict__:
                continue
            order, frozen, _ = cls.__dict__["__record__"]
            text = source(cls, order, frozen)[0]
            key = f"{name}.{cls.__qualname__}"
            maker = "_" + key.replace(".", "_")
            out.append(text.replace("def _methods(", f"def {maker}(", 1))
            entries.append(f"    {key!r}: ({text!r}, {maker}),")
    out += ["METHODS: dict[str, Any] = {", *entries, "}", ""]
    return "\n".join(out)
