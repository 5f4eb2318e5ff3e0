"""Reading canonical data type text (format_type output) and resolving it against a
Catalog: array dimensions, schema and modifiers, domains down to their base type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nself.ir.model import Catalog, CheckConstraint

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_QUALIFIED = re.compile(rf"^({_IDENT})\.({_IDENT})$")


def unquote_identifier(identifier: str) -> str:
    if identifier.startswith('"') and identifier.endswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier


def array_dims(data_type: str) -> int:
    """Array dimensions written in a data type: 'integer[]' -> 1, 'text[][]' -> 2.
    format_type prints one pair of brackets whatever the declared dimensions (PostgreSQL
    does not enforce them), so a column declared integer[][] reads as 1 from the catalog."""
    dims = 0
    text = data_type.rstrip()
    while text.endswith("]"):
        start = text.rfind("[")
        if start < 0:
            break
        text = text[:start].rstrip()
        dims += 1
    return dims


def strip_array(data_type: str) -> str:
    """The data type without its trailing '[]' pairs."""
    text = data_type.rstrip()
    while text.endswith("]") and "[" in text:
        text = text[: text.rfind("[")].rstrip()
    return text


def collapse_array_dims(data_type: str) -> str:
    """The type as format_type prints it, whatever dimensions were declared:
    'integer[][]' -> 'integer[]'. PostgreSQL keeps declared dimensions (attndims) only for
    columns defined with them; copies (partitions, LIKE, inherited columns) have none."""
    return strip_array(data_type) + "[]" if array_dims(data_type) > 1 else data_type


def split_type_name(data_type: str) -> tuple[str | None, str, str | None]:
    """(schema, name, modifiers) of a data type without array brackets.
    'public.mood' -> ('public', 'mood', None); 'numeric(10,2)' -> (None, 'numeric', '(10,2)');
    'timestamp(3) with time zone' -> (None, 'timestamp with time zone', '(3)');
    'interval day to second' -> (None, 'interval', None)."""
    text = strip_array(data_type).strip()
    match = _QUALIFIED.match(text)
    if match:
        return unquote_identifier(match.group(1)), unquote_identifier(match.group(2)), None
    modifiers_match = re.search(r"\([^)]*\)", text)
    modifiers = modifiers_match.group(0) if modifiers_match else None
    name = re.sub(r"\s*\([^)]*\)", "", text).strip()
    name = re.sub(r"\s+", " ", name)
    if name.startswith("interval"):
        name = "interval"
    return None, name, modifiers


@dataclass(frozen=True)
class ResolvedType:
    """A data type with domains peeled off: `base` is a built-in or user type (enum,
    composite, range) without array brackets; `dims` counts the array levels on the way."""

    base: str
    dims: int
    not_null: bool  # a domain on the way said NOT NULL
    checks: tuple[CheckConstraint, ...]  # domains' checks, their VALUE meaning the value


def resolve_type(catalog: Catalog, data_type: str) -> ResolvedType:
    dims = array_dims(data_type)
    current = strip_array(data_type)
    not_null = False
    checks: list[CheckConstraint] = []
    domains = {(d.schema, d.name): d for d in catalog.domains}
    for _ in range(32):  # domains over domains; the bound guards against a malformed catalog
        schema, name, _modifiers = split_type_name(current)
        domain = domains.get((schema, name)) if schema else None
        if domain is None:
            break
        not_null = not_null or domain.not_null
        checks.extend(domain.checks)
        dims += array_dims(domain.data_type)
        current = strip_array(domain.data_type)
    return ResolvedType(current, dims, not_null, tuple(checks))
