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
compares each with a real dataclass."""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)

_MISSING = dataclasses.MISSING


# The modules whose records' methods nself.ir._records holds (scripts/write_ir_records.py).
CACHED_MODULES = ("nself.ir.model", "nself.ir.diff.operations")


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: object) -> list[Any]:
    return [getattr(self, f.name) for f in dataclasses.fields(self)]  # type: ignore[arg-type]


def _setstate(self: object, state: list[Any]) -> None:
    for f, value in zip(dataclasses.fields(self), state, strict=False):  # type: ignore[arg-type]
        object.__setattr__(self, f.name, value)


def source(cls: type, order: bool) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The generated methods of `cls` (a dataclass with none yet) as one source text, with
    the defaults of `__init__`'s positional and keyword-only parameters (set on the function,
    so the text holds no values and stays the same whatever the defaults are)."""
    fields = dataclasses.fields(cls)
    params: list[str] = []
    keyword: list[str] = []
    defaults: list[Any] = []
    kwdefaults: dict[str, Any] = {}
    body: list[str] = []
    for f in fields:
        if not f.init or f.default_factory is not _MISSING:
            raise TypeError(f"{cls.__qualname__}.{f.name}: record takes fields with a plain default only")
        if f.kw_only:
            keyword.append(f.name)
            if f.default is not _MISSING:
                kwdefaults[f.name] = f.default
        else:
            params.append(f.name)
            if f.default is not _MISSING:
                defaults.append(f.default)
        body.append(f"  _object_setattr(self, {f.name!r}, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("  self.__post_init__()")
    signature = ", ".join(["self", *params, *(["*", *keyword] if keyword else [])])
    compared = [f.name for f in fields if f.compare]
    hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
    shown = [f.name for f in fields if f.repr]

    def tup(prefix: str, names: list[str]) -> str:
        return "(" + "".join(f"{prefix}.{n}," for n in names) + ")"

    lines = [f"def __init__({signature}):", *(body or ["  pass"])]
    lines += [
        "def __repr__(self):",
        "  return self.__class__.__qualname__ + f'("
        + ", ".join(f"{n}={{self.{n}!r}}" for n in shown)
        + ")'",
        "def __eq__(self, other):",
        "  if other.__class__ is self.__class__:",
        f"    return {tup('self', compared)} == {tup('other', compared)}",
        "  return NotImplemented",
        "def __hash__(self):",
        f"  return hash({tup('self', hashed)})",
    ]
    if order:
        for name, op in (("__lt__", "<"), ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">=")):
            lines += [
                f"def {name}(self, other):",
                "  if other.__class__ is self.__class__:",
                f"    return {tup('self', compared)} {op} {tup('other', compared)}",
                "  return NotImplemented",
            ]
    return "\n".join(lines) + "\n", tuple(defaults), kwdefaults


def _methods(cls: type, order: bool) -> dict[str, Any]:
    """The generated methods of `cls`: from nself.ir._records when it holds this class's
    text as `source` writes it now (compiled once, with the module, into its bytecode
    cache), else compiled here."""
    from nself.ir._records import METHODS

    text, defaults, kwdefaults = source(cls, order)
    cached = METHODS.get(f"{cls.__module__}.{cls.__qualname__}")
    made: dict[str, Any]
    if cached is not None and cached[0] == text:
        made = cached[1]()
    else:
        made = {}
        exec(compile(text, f"<record {cls.__qualname__}>", "exec"), {"_object_setattr": object.__setattr__}, made)
    made["__init__"].__defaults__ = defaults or None
    made["__init__"].__kwdefaults__ = kwdefaults or None
    made["__repr__"] = reprlib.recursive_repr()(made["__repr__"])
    for function in made.values():
        function.__qualname__ = f"{cls.__qualname__}.{function.__name__}"
    return made


@overload
def record(cls: T, /) -> T: ...
@overload
def record(*, order: bool = ..., weakref_slot: bool = ...) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: T | None = None, /, *, order: bool = False, weakref_slot: bool = False) -> T | Callable[[T], T]:
    """`@dataclass(frozen=True, slots=True)` (with `order`, `weakref_slot`), cheaper to
    define; see the module's docstring."""

    def wrap(cls: T) -> T:
        made: T = dataclasses.dataclass(  # type: ignore[assignment]
            cls, init=False, repr=False, eq=False, frozen=False, slots=True, weakref_slot=weakref_slot
        )
        own = made.__dict__
        explicit_hash = own.get("__hash__") is not None
        for name, function in _methods(made, order).items():
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
        ):
            setattr(made, name, function)
        setattr(made, "__record_order__", order)  # for scripts/write_ir_records.py  # noqa: B010
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
            if not isinstance(cls, type) or cls.__module__ != name or not hasattr(cls, "__record_order__"):
                continue
            text, _, _ = source(cls, cls.__record_order__)
            key = f"{name}.{cls.__qualname__}"
            maker = "_" + key.replace(".", "_")
            names = [line[4 : line.index("(")] for line in text.splitlines() if line.startswith("def ")]
            out.append(f"def {maker}() -> dict[str, Any]:")
            out += [f"    {line}" for line in text.splitlines()]
            out.append("    return {" + ", ".join(f"{n!r}: {n}" for n in names) + "}")
            out.append("")
            entries.append(f"    {key!r}: ({text!r}, {maker}),")
    out += ["", "METHODS: dict[str, Any] = {", *entries, "}", ""]
    return "\n".join(out)

