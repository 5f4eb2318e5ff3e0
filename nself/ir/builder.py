"""A mutable workspace for building a Catalog, used by every frontend.

Frontends add, replace and remove nodes by identity; `freeze()` returns the canonical,
sorted, immutable Catalog. Keeping this in one place means a Catalog's order and
normalisation cannot differ between frontends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, TypeVar

from nself.ir.identity import Key, identity_of
from nself.ir.model import COLLECTIONS, Catalog, Domain, Table

N = TypeVar("N")

_COLLECTION_OF: dict[type, str] = {cls: name for name, cls in COLLECTIONS.items()}


def collection_of(node: Any) -> str:
    try:
        return _COLLECTION_OF[type(node)]
    except KeyError:
        raise TypeError(f"{type(node).__name__} is not a top-level catalog object") from None


class CatalogBuilder:
    def __init__(self, catalog: Catalog | None = None) -> None:
        self._items: dict[str, dict[Key, Any]] = {name: {} for name in COLLECTIONS}
        # collection -> how many adds and removes it has seen (see `changes`)
        self._changes: dict[str, int] = dict.fromkeys(COLLECTIONS, 0)
        if catalog is not None:
            for name in COLLECTIONS:
                for node in getattr(catalog, name):
                    self._items[name][identity_of(node)] = node

    def add(self, node: Any) -> None:
        """Add `node`, replacing any object of the same identity."""
        collection = collection_of(node)
        self._items[collection][identity_of(node)] = node
        self._changes[collection] += 1

    def changes(self, cls: type) -> int:
        """How many times objects of `cls` were added or removed: what is derived from the
        objects of `cls` the builder holds stays valid while this number stays the same."""
        return self._changes[_COLLECTION_OF[cls]]

    def get(self, cls: type[N], *key: str) -> N | None:
        return self._items[_COLLECTION_OF[cls]].get(tuple(key))  # type: ignore[return-value]

    def remove(self, node: Any) -> None:
        collection = collection_of(node)
        self._items[collection].pop(identity_of(node), None)
        self._changes[collection] += 1

    def replace(self, old: Any, new: Any) -> None:
        """Swap `old` for `new` (which may have a different identity, as after a RENAME)."""
        self.remove(old)
        self.add(new)

    def all(self, cls: type[N]) -> Iterator[N]:
        yield from list(self._items[_COLLECTION_OF[cls]].values())

    def freeze(self) -> Catalog:
        collections: dict[str, Any] = {name: tuple(items.values()) for name, items in self._items.items()}
        return normalise(Catalog(**collections))


def normalise(catalog: Catalog) -> Catalog:
    """Sort every collection by identity, and each table's constraints and each domain's
    checks by name. Column order is kept: it is part of a table."""
    fields: dict[str, Any] = {}
    for name in COLLECTIONS:
        nodes = getattr(catalog, name)
        if name == "tables":
            nodes = tuple(_normalise_table(t) for t in nodes)
        elif name == "domains":
            nodes = tuple(_normalise_domain(d) for d in nodes)
        fields[name] = tuple(sorted(nodes, key=identity_of))
    return dataclasses.replace(catalog, **fields)


def _normalise_table(table: Table) -> Table:
    ordered = tuple(sorted(table.constraints, key=lambda c: c.name))
    return table if ordered == table.constraints else dataclasses.replace(table, constraints=ordered)


def _normalise_domain(domain: Domain) -> Domain:
    ordered = tuple(sorted(domain.checks, key=lambda c: c.name))
    return domain if ordered == domain.checks else dataclasses.replace(domain, checks=ordered)
