"""Dependency keys: what each operation adds, removes and needs (see the package docstring, "Ordering")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nself.ir.identity import identity_of
from nself.ir.model import (
    Collation,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    ExclusionConstraint,
    Extension,
    Function,
    Index,
    Operator,
    Policy,
    PrimaryKey,
    Privilege,
    Publication,
    RangeType,
    Schema,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)

DepKey = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Deps:
    """What an operation does to the dependency graph (see the module docstring)."""

    adds: frozenset[DepKey] = frozenset()
    removes: frozenset[DepKey] = frozenset()
    before: frozenset[DepKey] = frozenset()
    after: frozenset[DepKey] = frozenset()

    def reversed(self) -> Deps:
        return Deps(adds=self.removes, removes=self.adds, before=self.after, after=self.before)


def _schema_key(name: str) -> DepKey:
    return ("schema", name)


def _rel_key(schema: str, name: str) -> DepKey:
    return ("rel", schema, name)


def _type_key(schema: str, name: str) -> DepKey:
    return ("type", schema, name)


def _col_key(schema: str, table: str, column: str) -> DepKey:
    return ("col", schema, table, column)


def _con_key(schema: str, table: str, name: str) -> DepKey:
    return ("con", schema, table, name)


def _func_key(f: Function) -> DepKey:
    return ("func", f.schema, f.name, f.identity_arguments)


def node_key(node: Any) -> DepKey:
    """The dependency key of a top-level IR node."""
    if isinstance(node, Schema):
        return _schema_key(node.name)
    if isinstance(node, Extension):
        return ("ext", node.name)
    if isinstance(node, Collation):
        return ("collation", node.schema, node.name)
    if isinstance(node, (Enum, Domain, CompositeType, RangeType)):
        return _type_key(node.schema, node.name)
    if isinstance(node, Sequence):
        return ("seq", node.schema, node.name)
    if isinstance(node, (Table, View)):
        return _rel_key(node.schema, node.name)
    if isinstance(node, Index):
        return ("index", node.schema, node.name)
    if isinstance(node, Function):
        return _func_key(node)
    if isinstance(node, Operator):
        return ("op", node.schema, node.name, node.left_type or "", node.right_type)
    if isinstance(node, Trigger):
        return ("trigger", node.schema, node.table, node.name)
    if isinstance(node, Policy):
        return ("policy", node.schema, node.table, node.name)
    if isinstance(node, Privilege):
        return ("priv", *identity_of(node))
    if isinstance(node, Publication):
        return ("publication", node.name)
    raise TypeError(f"no dependency key for {type(node).__name__}")


def _names(node: Any) -> set[DepKey]:
    """Names a node takes in PostgreSQL's shared namespaces: relations (tables, views,
    sequences, indexes) and types (a table's row type, enums, domains, ...)."""
    out: set[DepKey] = set()
    if isinstance(node, (Table, View, Sequence, Index)):
        out.add(("relname", node.schema, node.name))
    if isinstance(node, (Table, View, Enum, Domain, CompositeType, RangeType)):
        out.add(("typname", node.schema, node.name))
    return out


def _constraint_keys(schema: str, table: str, con: Constraint) -> set[DepKey]:
    """A constraint's key, and the name of the index behind it (indexes share one
    namespace with tables, so a drop of the old holder must precede the new one)."""
    keys = {_con_key(schema, table, con.name)}
    if isinstance(con, (PrimaryKey, UniqueConstraint, ExclusionConstraint)):
        keys.add(("relname", schema, con.name))
    return keys
