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
    fields = _FIELDS.get(type(value))
    if fields is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = _fields(type(value))
    if fields is not None:
        data: dict[str, Any] = {}
        if type(value).__name__ in _TAGGED:
            data["kind"] = type(value).__name__
        for name, default in fields:
            v = getattr(value, name)
            if default is not _NO_DEFAULT and v == default:
                continue
            data[name] = to_data(v)
        return data
    if isinstance(value, tuple):
        return [to_data(v) for v in value]
    return value


_NO_DEFAULT = object()
# dataclass -> (field name, its default or default_factory()'s value, or _NO_DEFAULT)
_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    found = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = _NO_DEFAULT
        found.append((f.name, default))
    _FIELDS[cls] = tuple(found)
    return _FIELDS[cls]


def catalog_to_json(catalog: Catalog, indent: int | None = 2) -> str:
    if indent is None:
        data = to_data(catalog)
        data["ir_version"] = catalog.ir_version
        return json.dumps(data, sort_keys=True, ensure_ascii=False) + "\n"
    out: list[str] = []
    _write(catalog, "\n", " " * indent, out)
    return "".join(out) + "\n"


_encode_string = json.encoder.encode_basestring  # the C one when available, as json.dumps uses
_KIND = object()  # in a plan: the "kind" key of a tagged node
# dataclass -> its keys in sorted order, with each field's default (see _fields)
_PLANS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _plan(cls: type) -> tuple[tuple[str, Any], ...]:
    entries = list(_fields(cls))
    if cls.__name__ in _TAGGED and all(name != "kind" for name, _ in entries):
        entries.append(("kind", _KIND))
    if cls is Catalog:  # always written, default or not
        entries = [(name, _NO_DEFAULT if name == "ir_version" else default) for name, default in entries]
    _PLANS[cls] = tuple(sorted(entries, key=lambda entry: entry[0]))
    return _PLANS[cls]


# The types of most values that are not nodes (tuples and bools are most of a catalog's):
# not looked at by dataclasses.is_dataclass, which they are not.
_NOT_DATACLASSES = frozenset((tuple, list, bool, int, type(None), dict))


def _write(value: Any, newline: str, step: str, out: list[str]) -> None:
    """`to_data(value)` as json.dumps(..., indent=len(step), sort_keys=True,
    ensure_ascii=False) writes it, byte for byte, without building the dicts, and several
    times faster: json's indenting encoder is pure Python generators (only the compact one
    is in C), slow on a 10,000-table catalog."""
    if isinstance(value, str):
        out.append(_encode_string(value))
        return
    writer = _WRITERS.get(type(value))
    if (
        writer is None
        and type(value) not in _NOT_DATACLASSES
        and dataclasses.is_dataclass(value)
        and not isinstance(value, type)
    ):
        writer = _writer(type(value))
    if writer is not None:
        writer(value, newline, step, out)
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):  # json.dumps's own rules for other keys
                out.append(
                    json.dumps(value, indent=len(step), sort_keys=True, ensure_ascii=False).replace(
                        "\n", newline
                    )
                )
                return
        _write_items(sorted(value.items()), newline, step, out)
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        separator = "," + inner
        out.append("[" + inner)
        first = True
        for item in value:
            if not first:
                out.append(separator)
            first = False
            if isinstance(item, str):
                out.append(_encode_string(item))
            else:
                _write(item, inner, step, out)
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    else:  # floats (nan, infinity) and anything else: as json.dumps has it, or its TypeError
        out.append(json.dumps(value))


Writer = typing.Callable[[Any, str, str, list[str]], None]
# dataclass -> the function writing its nodes (see _writer)
_WRITERS: dict[type, Writer] = {}


def _writer(cls: type) -> Writer:
    """A function writing a node of `cls` as `_write_items` writes the items of its plan
    (`_plan`: sorted keys, fields equal to their default left out), made for the class: the
    same bytes, without building the items of every node first."""
    space: dict[str, Any] = {"_encode_string": _encode_string, "_write": _write}
    lines = [
        "def write(value, newline, step, out):",
        "    inner = newline + step",
        "    separator = ',' + inner",
        "    lead = '{' + inner",
        "    start = len(out)",
    ]
    for i, (name, default) in enumerate(_plan(cls)):
        key = repr(_encode_string(name) + ": ")
        if default is _KIND:
            lines += [f"    out.append(lead + {_encode_string(name) + ': ' + _encode_string(cls.__name__)!r})"]
            lines += ["    lead = separator"]
            continue
        lines += [f"    item = value.{name}"]
        indent = "    "
        if default is not _NO_DEFAULT:
            space[f"default_{i}"] = default
            lines += [f"    if not (item == default_{i}):"]
            indent = "        "
        lines += [
            f"{indent}out.append(lead + {key})",
            f"{indent}lead = separator",
            f"{indent}if isinstance(item, str):",
            f"{indent}    out.append(_encode_string(item))",
            f"{indent}elif item is True:",  # as _write writes them, without the call
            f"{indent}    out.append('true')",
            f"{indent}elif item is False:",
            f"{indent}    out.append('false')",
            f"{indent}elif item is None:",
            f"{indent}    out.append('null')",
            f"{indent}else:",
            f"{indent}    _write(item, inner, step, out)",
        ]
    lines += [
        "    if len(out) == start:",
        "        out.append('{}')",
        "    else:",
        "        out.append(newline + '}')",
    ]
    exec("\n".join(lines), space)  # the text is made of the dataclass's own field names
    _WRITERS[cls] = space["write"]
    return _WRITERS[cls]


def _write_items(items: list[tuple[str, Any]], newline: str, step: str, out: list[str]) -> None:
    if not items:
        out.append("{}")
        return
    inner = newline + step
    separator = "," + inner
    out.append("{" + inner)
    first = True
    for key, item in items:
        if not first:
            out.append(separator)
        first = False
        out.append(_encode_string(key) + ": ")
        if isinstance(item, str):
            out.append(_encode_string(item))
        else:
            _write(item, inner, step, out)
    out.append(newline + "}")


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
