"""Identity keys: what names an object uniquely within a Catalog.

Collections in a Catalog are sorted by these keys, the builder indexes by them and the
diff pairs objects by them, so the three can never disagree."""

from __future__ import annotations

from typing import Any

from nself.ir.model import Function, Operator, Policy, Privilege, Trigger

Key = tuple[str, ...]


def identity_of(node: Any) -> Key:
    if isinstance(node, Function):
        return (node.schema, node.name, node.identity_arguments)
    if isinstance(node, (Trigger, Policy)):
        return (node.schema, node.table, node.name)
    if isinstance(node, Operator):
        return (node.schema, node.name, node.left_type or "", node.right_type)
    if isinstance(node, Privilege):
        return (
            node.object_kind,
            node.schema,
            node.object_name,
            node.column or "",
            node.grantee,
            node.privilege,
        )
    schema = getattr(node, "schema", None)
    if schema is None or not isinstance(schema, str):
        return (node.name,)
    return (schema, node.name)


def display_name(node: Any) -> str:
    """A human-readable qualified name for messages (`public.users`, `public.f(integer)`)."""
    if isinstance(node, (Function, Operator)):
        return node.signature
    if isinstance(node, (Trigger, Policy)):
        return f"{node.name} on {node.schema}.{node.table}"
    if isinstance(node, Privilege):
        target = f"{node.schema}.{node.object_name}" + (f"({node.column})" if node.column else "")
        return f"{node.privilege} on {node.object_kind} {target} to {node.grantee}"
    return ".".join(identity_of(node))
