"""Deterministic JSON for the IR: one function over dataclass fields for every node.

Fields equal to their default are left out, keys are sorted, and collections keep the
order the Catalog gives them (sorted by identity), so the same schema always serialises
to the same bytes whichever frontend read it."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from nself.ir import model
from nself.ir.model import IR_VERSION, Catalog

T = TypeVar("T")

# Members of a union-typed field (constraints) carry their class name as "kind".
_TAGGED: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        model.PrimaryKey,
        model.UniqueConstraint,
        model.ForeignKey,
        model.CheckConstraint,
        model.ExclusionConstraint,
    )
}


class IRFormatError(ValueError):
    """JSON that is not a valid nself IR document."""


def to_data(value: Any) -> Any:
    """A node (or value inside one) as plain JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data: dict[str, Any] = {}
        if type(value).__name__ in _TAGGED:
            data["kind"] = type(value).__name__
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and v == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and v == f.default_factory():
                continue
            data[f.name] = to_data(v)
        return data
    if isinstance(value, tuple):
        return [to_data(v) for v in value]
    return value


def catalog_to_json(catalog: Catalog, indent: int | None = 2) -> str:
    data = to_data(catalog)
    data["ir_version"] = catalog.ir_version
    return json.dumps(data, indent=indent, sort_keys=True, ensure_ascii=False) + "\n"


def catalog_from_json(text: str) -> Catalog:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IRFormatError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(data, dict) or data.get("ir_version") != IR_VERSION:
        raise IRFormatError(f"not an nself IR document of ir_version {IR_VERSION}")
    return from_data(Catalog, data)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


def from_data(cls: type[T], data: Any) -> T:
    return typing.cast(T, _convert(cls, data, cls.__name__))


def _convert(tp: Any, data: Any, where: str) -> Any:
    origin = get_origin(tp)
    if origin is Literal:
        if data not in get_args(tp):
            raise IRFormatError(f"{where}: {data!r} is not one of {get_args(tp)}")
        return data
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if data is None:
            return None
        if isinstance(data, dict) and "kind" in data and data["kind"] in _TAGGED:
            return _convert(_TAGGED[data["kind"]], data, where)
        return _convert(members[0], data, where)
    if origin is tuple:
        args = get_args(tp)
        if not isinstance(data, list):
            raise IRFormatError(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True)))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise IRFormatError(f"{where}: expected an object")
        hints = _hints(tp)
        kwargs = {}
        for key, value in data.items():
            if key == "kind" and tp.__name__ in _TAGGED:
                continue  # the union tag, not a field (Function has a field of that name)
            if key not in hints:
                raise IRFormatError(f"{where}: unknown field {key!r}")
            kwargs[key] = _convert(hints[key], value, f"{where}.{key}")
        try:
            return tp(**kwargs)
        except TypeError as exc:
            raise IRFormatError(f"{where}: {exc}") from exc
    if tp is float and isinstance(data, int):
        return float(data)
    if tp in (str, int, bool, float) and not isinstance(data, tp):
        raise IRFormatError(f"{where}: expected {tp.__name__}, got {type(data).__name__}")
    return data
