"""A catalog without what a platform (Supabase, ...) created before the project's files.

The platform's objects are the objects of its base catalog (what nself's definition of
the platform compiles to) as the base left them. A platform object the project changed
(a column added to `auth.users`, tables added to the `supabase_realtime` publication) is
the project's business and stays, whole. In the platform's own schemas (`auth`,
`storage`, ...) a real platform holds more than nself's definition (more auth tables,
enums, functions): those are the platform's too, but for the triggers, policies and
grants a project puts on the platform's tables (a trigger on `auth.users`, a policy on
`storage.objects`). Extensions are the project's unless the base made them.

Tables of the platform that the project's foreign keys reference (`auth.users`) can be
kept, so that types and diagrams still reach them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from nself.ir.identity import identity_of
from nself.ir.model import COLLECTIONS, Catalog, Extension, Policy, Privilege, Schema, Table, Trigger

# Kinds that a project adds to the platform's objects rather than being platform objects.
_ATTACHED = (Trigger, Policy, Privilege)


def without_platform(
    catalog: Catalog, base: Catalog, schemas: Iterable[str], *, keep_referenced: bool = True
) -> Catalog:
    """`catalog` less the platform's own objects (see the module's docstring); with
    `keep_referenced`, the platform's tables that the rest references by foreign key stay."""
    platform_schemas = frozenset(schemas)
    base_objects: dict[tuple[str, tuple[str, ...]], Any] = {
        (name, identity_of(node)): node for name in COLLECTIONS for node in getattr(base, name)
    }
    # (schema, object name) of every object the base holds, for the grants on them
    base_targets = {(p.schema, p.object_name) for p in base.privileges}
    base_targets.update((t.schema, t.name) for t in base.tables)
    kept: dict[str, list[Any]] = {}
    dropped_tables: dict[tuple[str, str], Table] = {}
    for name in COLLECTIONS:
        nodes = []
        for node in getattr(catalog, name):
            if _is_platform(node, base_objects.get((name, identity_of(node))), platform_schemas, base_targets):
                if isinstance(node, Table):
                    dropped_tables[(node.schema, node.name)] = node
                continue
            nodes.append(node)
        kept[name] = nodes
    if keep_referenced:
        wanted = {
            (fk.ref_schema, fk.ref_table)
            for table in kept["tables"]
            for fk in table.foreign_keys
            if (fk.ref_schema, fk.ref_table) in dropped_tables
        }
        kept["tables"].extend(dropped_tables[key] for key in wanted)
        kept["tables"].sort(key=identity_of)
    changes: dict[str, Any] = {name: tuple(nodes) for name, nodes in kept.items()}
    return replace(catalog, **changes)


def without_objects_of(catalog: Catalog, other: Catalog) -> Catalog:
    """`catalog` less the objects `other` holds unchanged."""
    changes: dict[str, Any] = {
        name: tuple(node for node in getattr(catalog, name) if node not in set(getattr(other, name)))
        for name in COLLECTIONS
    }
    return replace(catalog, **changes)


def _is_platform(node: Any, in_base: Any, schemas: frozenset[str], base_targets: set[tuple[str, str]]) -> bool:
    if in_base is not None:
        return bool(node == in_base)
    if isinstance(node, Extension):
        return False
    if isinstance(node, Schema):
        return node.name in schemas
    if isinstance(node, Privilege):
        # a grant on an object of a platform schema that nself's base does not define
        return node.schema in schemas and (node.schema, node.object_name) not in base_targets
    if isinstance(node, _ATTACHED):
        return False
    return getattr(node, "schema", None) in schemas
