"""DROP statements, one handler per object kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from pglast import ast
from pglast.enums import DropBehavior, ObjectType

from nself.frontends.sql_objects.collations import find_collation
from nself.frontends.sql_objects.comments import object_names, relation_from_names
from nself.frontends.sql_objects.operators import find_operator
from nself.frontends.sql_objects.routines import find_function, regproc_text
from nself.frontends.sql_objects.schemas import find_extension
from nself.frontends.sql_state import Skip, State, handles, names_of
from nself.frontends.sql_tables import drop_table, remove_column
from nself.ir.model import (
    Collation,
    CompositeType,
    Domain,
    Enum,
    Extension,
    Function,
    Index,
    Operator,
    Policy,
    Privilege,
    Publication,
    RangeType,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)
from nself.ir.names import quote_ident

DropHandler = Callable[[State, Any, bool, bool], None]
DROPS: dict[ObjectType, DropHandler] = {}


def dropper(*kinds: ObjectType) -> Callable[[DropHandler], DropHandler]:
    def register(fn: DropHandler) -> DropHandler:
        for kind in kinds:
            DROPS[kind] = fn
        return fn

    return register


@handles(ast.DropStmt)
def drop(state: State, stmt: Any) -> None:
    handler = DROPS.get(stmt.removeType)
    if handler is None:
        raise Skip(f"DROP {stmt.removeType.name.removeprefix('OBJECT_')} is not modelled")
    cascade = stmt.behavior == DropBehavior.DROP_CASCADE
    for obj in stmt.objects or ():
        handler(state, obj, bool(stmt.missing_ok), cascade)


def drop_views_reading(state: State, key: tuple[str, ...]) -> None:
    for view_key, reads in list(state.view_dependencies.items()):
        if key in reads and view_key != key:
            view = state.builder.get(View, *view_key)
            if view is not None:
                drop_view_obj(state, view)


def drop_view_obj(state: State, view: View) -> None:
    state.builder.remove(view)
    key = (view.schema, view.name)
    state.view_dependencies.pop(key, None)
    for index in list(state.builder.all(Index)):
        if (index.schema, index.table) == key:
            state.builder.remove(index)
    for trigger in list(state.builder.all(Trigger)):
        if (trigger.schema, trigger.table) == key:
            state.builder.remove(trigger)
    for priv in list(state.builder.all(Privilege)):
        if priv.object_kind == "TABLE" and (priv.schema, priv.object_name) == key:
            state.builder.remove(priv)
    drop_views_reading(state, key)


@dropper(ObjectType.OBJECT_TABLE, ObjectType.OBJECT_FOREIGN_TABLE)
def drop_table_stmt(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    t = relation_from_names(state, names_of(obj), Table, missing_ok)
    if t is None:
        return
    drop_views_reading(state, (t.schema, t.name))
    drop_table(state, t, cascade)


@dropper(ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW)
def drop_view(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    v = relation_from_names(state, names_of(obj), View, missing_ok)
    if v is not None:
        drop_view_obj(state, v)


@dropper(ObjectType.OBJECT_SEQUENCE)
def drop_sequence(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    seq = relation_from_names(state, names_of(obj), Sequence, missing_ok)
    if seq is None:
        return
    state.builder.remove(seq)
    for priv in list(state.builder.all(Privilege)):
        if priv.object_kind == "SEQUENCE" and (priv.schema, priv.object_name) == (seq.schema, seq.name):
            state.builder.remove(priv)
    if cascade:  # defaults calling nextval() on it go too
        marker = f"{quote_ident(seq.schema)}.{quote_ident(seq.name)}'::regclass"
        for t in list(state.builder.all(Table)):
            if t.schema == seq.schema and any(c.default and marker in c.default for c in t.columns):
                cols = tuple(
                    dataclasses.replace(c, default=None) if c.default and marker in c.default else c
                    for c in t.columns
                )
                state.update_table(t, columns=cols)


@dropper(ObjectType.OBJECT_INDEX)
def drop_index(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    index = relation_from_names(state, names_of(obj), Index, missing_ok)
    if index is not None:
        state.builder.remove(index)


@dropper(ObjectType.OBJECT_SCHEMA)
def drop_schema(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    name = obj.sval
    schema = state.builder.get(Schema, name)
    if schema is None:
        if missing_ok:
            return
        raise state.error(f'schema "{name}" does not exist')
    for v in list(state.builder.all(View)):
        if v.schema == name:
            drop_view_obj(state, v)
    for t in list(state.builder.all(Table)):
        if t.schema == name and state.builder.get(Table, t.schema, t.name) is not None:
            drop_table(state, state.builder.get(Table, t.schema, t.name) or t, True)
    for collection in (
        Collation,
        Sequence,
        Index,
        Function,
        Enum,
        CompositeType,
        RangeType,
        Extension,
        Trigger,
        Policy,
        Privilege,
        Publication,
    ):
        for node in list(state.builder.all(collection)):
            if getattr(node, "schema", None) == name:
                state.builder.remove(node)
    for d in list(state.builder.all(Domain)):
        if d.schema == name:
            state.put_domain(d, None)
    state.builder.remove(schema)
    for key in [k for k in state.identity_sequences if k[0] == name]:
        del state.identity_sequences[key]
    state.forget_in_publications(name)


@dropper(ObjectType.OBJECT_COLLATION)
def drop_collation(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    names = object_names(obj)
    collation = find_collation(state, names)
    if collation is None:
        if missing_ok:
            return
        raise state.error(f'collation "{".".join(names)}" for encoding "UTF8" does not exist')
    state.builder.remove(collation)


@dropper(ObjectType.OBJECT_EXTENSION)
def drop_extension(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    ext = find_extension(state, obj.sval)
    if ext is None:
        if missing_ok:
            return
        raise state.error(f'extension "{obj.sval}" does not exist')
    state.builder.remove(ext)


def _drop_columns_of_type(state: State, schema: str, name: str) -> None:
    qualified_name = f"{quote_ident(schema)}.{quote_ident(name)}"
    for t in list(state.builder.all(Table)):
        for col in t.columns:
            if col.data_type in (qualified_name, qualified_name + "[]"):
                current = state.builder.get(Table, t.schema, t.name)
                if current is not None:
                    remove_column(state, current, col.name, True)


@dropper(ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN)
def drop_type(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    names = object_names(obj)
    found = state.find_type(names[-2] if len(names) > 1 else None, names[-1])
    if found is None:
        if missing_ok:
            return
        raise state.error(f'type "{".".join(names)}" does not exist')
    node = found[1]
    if isinstance(node, Domain):
        state.put_domain(node, None)
    else:
        state.builder.remove(node)
    if cascade:
        _drop_columns_of_type(state, node.schema, node.name)
        typename = f"{quote_ident(node.schema)}.{quote_ident(node.name)}"
        for f in list(state.builder.all(Function)):
            types = [a.data_type for a in f.arguments] + [(f.returns or "").removeprefix("SETOF ")]
            if any(t in (typename, typename + "[]") for t in types):
                state.builder.remove(f)
    for priv in list(state.builder.all(Privilege)):
        if priv.object_kind == "TYPE" and (priv.schema, priv.object_name) == (node.schema, node.name):
            state.builder.remove(priv)


@dropper(
    ObjectType.OBJECT_FUNCTION,
    ObjectType.OBJECT_PROCEDURE,
    ObjectType.OBJECT_ROUTINE,
    ObjectType.OBJECT_AGGREGATE,
)
def drop_function(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    f = find_function(state, obj, missing_ok)
    if f is None:
        return
    state.builder.remove(f)
    signature = f"{f.name}({f.identity_arguments})"
    for priv in list(state.builder.all(Privilege)):
        if priv.object_kind == "FUNCTION" and (priv.schema, priv.object_name) == (f.schema, signature):
            state.builder.remove(priv)
    if cascade:
        for trigger in list(state.builder.all(Trigger)):
            if (trigger.function_schema, trigger.function) == (f.schema, f.name):
                state.builder.remove(trigger)
        called = regproc_text(state, [f.schema, f.name])
        for op in list(state.builder.all(Operator)):
            if op.function == called:
                state.builder.remove(op)


@dropper(ObjectType.OBJECT_OPERATOR)
def drop_operator(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    op = find_operator(state, obj, missing_ok)
    if op is None:
        return
    state.builder.remove(op)
    if not any(o.schema == op.schema and o.name == op.name for o in state.builder.all(Operator)):
        state.operators.get(op.schema, set()).discard(op.name)


@dropper(ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_POLICY)
def drop_table_scoped(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    names = names_of(obj)
    rel = relation_from_names(state, names[:-1], (Table, View), missing_ok)
    if rel is None:
        return
    for cls in (Trigger, Policy):
        node = state.builder.get(cls, rel.schema, rel.name, names[-1])
        if node is not None:
            state.builder.remove(node)
            return
    if not missing_ok:
        raise state.error(f'"{names[-1]}" for table "{rel.name}" does not exist')
