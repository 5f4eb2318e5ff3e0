"""nself.ir.trusted: the trusted constructors build the very objects the public ones do."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any

import pytest

from nself.ir import model as m
from nself.ir.pickling import dumps
from nself.ir.trusted import trusted

NODES = [
    cls
    for cls in vars(m).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == m.__name__
]


def _values(cls: type) -> dict[str, Any]:
    """A value for each field without a default (strings; the type does not matter here)."""
    return {
        f.name: f"v_{f.name}"
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }


@pytest.mark.parametrize("cls", [c for c in NODES if c is not m.Catalog], ids=lambda c: c.__name__)
def test_a_trusted_node_is_the_public_constructors_node(cls: type) -> None:
    make = trusted(cls)
    assert make is not cls
    public, fast = cls(**_values(cls)), make(**_values(cls))
    assert type(fast) is cls
    assert fast == public and hash(fast) == hash(public) and repr(fast) == repr(public)
    assert [getattr(fast, f.name) for f in dataclasses.fields(cls)] == [
        getattr(public, f.name) for f in dataclasses.fields(cls)
    ]
    # positionally too, and still frozen
    assert make(*_values(cls).values()) == public
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(fast, dataclasses.fields(cls)[0].name, "other")
    assert pickle.loads(pickle.dumps(fast)) == public == pickle.loads(dumps(fast))


def test_a_class_of_another_layout_keeps_its_own_constructor() -> None:
    # Catalog has a weak reference slot besides its fields
    assert trusted(m.Catalog) is m.Catalog
    assert trusted(m.Column) is trusted(m.Column)
