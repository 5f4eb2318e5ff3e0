"""nself.ir.record against dataclasses: each record of the IR behaves as the
`dataclass(frozen=True, slots=True, ...)` it replaces, and nself/ir/_records.py (its
methods, compiled with the module) is what scripts/write_ir_records.py writes now."""

from __future__ import annotations

import dataclasses
import importlib
import pickle
from pathlib import Path
from typing import Any

import pytest

from nself.ir.record import CACHED_MODULES, record, write_cache

RECORDS = [
    cls
    for name in CACHED_MODULES
    for cls in vars(importlib.import_module(name)).values()
    if isinstance(cls, type) and cls.__module__ == name and "__record__" in cls.__dict__
]


def test_cache_is_current() -> None:
    path = Path(__file__).resolve().parents[2] / "nself" / "ir" / "_records.py"
    assert path.read_text(encoding="utf-8") == write_cache(), "run python scripts/write_ir_records.py"


def twin(cls: type) -> type:
    """The real dataclass with the same fields, order and name."""
    specs = []
    for f in dataclasses.fields(cls):
        extra: dict[str, Any] = {"compare": f.compare, "repr": f.repr, "hash": f.hash, "kw_only": f.kw_only}
        if f.default is not dataclasses.MISSING:
            extra["default"] = f.default
        if f.default_factory is not dataclasses.MISSING:
            extra["default_factory"] = f.default_factory
        specs.append((f.name, f.type, dataclasses.field(**extra)))
    order, frozen, slots = cls.__dict__["__record__"]
    made: type = dataclasses.make_dataclass(cls.__name__, specs, frozen=frozen, slots=slots, order=order)
    made.__qualname__ = cls.__qualname__
    return made


def values(cls: type, salt: str) -> dict[str, Any]:
    return {f.name: (f"{salt}{i}", i) for i, f in enumerate(dataclasses.fields(cls))}


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__qualname__)
def test_behaves_as_dataclass(cls: type) -> None:
    real = twin(cls)
    kwargs = values(cls, "a")
    ours: Any = cls(**kwargs)
    theirs: Any = real(**kwargs)
    assert repr(ours) == repr(theirs)
    assert (cls.__hash__ is None) == (real.__hash__ is None)
    if cls.__hash__ is None:
        return check_rest(cls, real, ours, theirs, kwargs)
    assert hash(ours) == hash(theirs)
    assert ours == cls(**kwargs)
    assert (ours == cls(**values(cls, "b"))) == (theirs == real(**values(cls, "b")))
    assert dataclasses.is_dataclass(cls)
    for f in dataclasses.fields(cls):
        other = {**kwargs, f.name: ("changed", -1)}
        assert (ours == cls(**other)) == (theirs == real(**other)), f.name
        assert (hash(ours) == hash(cls(**other))) == (hash(theirs) == hash(real(**other))), f.name
        if cls.__dict__["__record__"][1]:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(ours, f.name, 1)
            with pytest.raises(dataclasses.FrozenInstanceError):
                delattr(ours, f.name)
    assert ours.__eq__(object()) is NotImplemented
    assert pickle.loads(pickle.dumps(ours)) == ours
    assert dataclasses.replace(ours) == ours
    if cls.__dict__["__record__"][0]:
        low: Any = cls(**values(cls, "a"))
        high: Any = cls(**values(cls, "b"))
        assert (low < high, low <= high, low > high, low >= high) == (True, True, False, False)


def test_defaults_and_keyword_only() -> None:
    @record(order=True)
    class Point:
        x: int
        y: int = 2
        label: str = dataclasses.field(default="p", compare=False, kw_only=True)

    assert Point(1) == Point(1, 2, label="q")
    assert repr(Point(1)) == "test_defaults_and_keyword_only.<locals>.Point(x=1, y=2, label='p')"
    assert sorted([Point(2), Point(1, 3)]) == [Point(1, 3), Point(2)]
    with pytest.raises(TypeError):
        Point(1, 2, "label")  # type: ignore[call-arg]
    assert not hasattr(Point(1), "__dict__")


def check_rest(cls: type, real: type, ours: Any, theirs: Any, kwargs: dict[str, Any]) -> None:
    """A mutable record: equality by field, defaults (factories called each time), setting
    a field."""
    for f in dataclasses.fields(cls):
        other = {**kwargs, f.name: ("changed", -1)}
        assert (ours == cls(**other)) == (theirs == real(**other)), f.name
    required = {f.name: 1 for f in dataclasses.fields(cls) if f.default is f.default_factory is dataclasses.MISSING}
    assert repr(cls(**required)) == repr(real(**required))
    first, second = cls(**required), cls(**required)
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            assert getattr(first, f.name) is not getattr(second, f.name), f.name
    setattr(ours, dataclasses.fields(cls)[0].name, "set") if dataclasses.fields(cls) else None
    assert pickle.loads(pickle.dumps(ours)) == ours
