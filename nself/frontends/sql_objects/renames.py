"""ALTER ... RENAME, one handler per object kind, and the references each rename follows."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pglast import ast
from pglast.enums import ObjectType

from nself.frontends import sql_canon as canon
from nself.frontends import sql_naming
from nself.frontends.sql_objects.collations import collation_refs, collation_sql, find_collation
from nself.frontends.sql_objects.comments import object_names
from nself.frontends.sql_objects.datatypes import lookup_type
from nself.frontends.sql_objects.routines import find_function, move_body_source, move_function_in_operators
from nself.frontends.sql_objects.views import (
    move_function_in_views,
    rederive_view,
    rename_column_in_views,
    rename_column_refs,
    rename_in_view_dependencies,
    rename_relation_in_views,
    set_output_names,
)
from nself.frontends.sql_state import Skip, State, column_types, handles, regclass_text
from nself.frontends.sql_tables import _children, _column, find_constraint, mentions
from nself.ir.model import (
    CheckConstraint,
    Collation,
    CompositeType,
    Domain,
    Enum,
    Extension,
    ForeignKey,
    Function,
    Index,
    Operator,
    PartitionOf,
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
from nself.ir.names import quote_ident

RenameHandler = Callable[[State, ast.RenameStmt], None]
RENAMES: dict[ObjectType, RenameHandler] = {}


def renamer(*kinds: ObjectType) -> Callable[[RenameHandler], RenameHandler]:
    def register(fn: RenameHandler) -> RenameHandler:
        for kind in kinds:
            RENAMES[kind] = fn
        return fn

    return register


@handles(ast.RenameStmt)
def rename(state: State, stmt: Any) -> None:
    handler = RENAMES.get(stmt.renameType)
    if handler is None:
        raise Skip(f"ALTER {stmt.renameType.name.removeprefix('OBJECT_')} RENAME is not modelled")
    handler(state, stmt)


def rename_table_refs(state: State, schema: str, old: str, new: str) -> None:
    """Everything that names a table by name follows a RENAME of it."""
    b = state.builder
    for index in list(b.all(Index)):
        if (index.schema, index.table) == (schema, old):
            b.add(dataclasses.replace(index, table=new))
    for trigger in list(b.all(Trigger)):
        if (trigger.schema, trigger.table) == (schema, old):
            b.replace(trigger, dataclasses.replace(trigger, table=new))
    for policy in list(b.all(Policy)):
        if (policy.schema, policy.table) == (schema, old):
            b.replace(policy, dataclasses.replace(policy, table=new))
    for seq in list(b.all(Sequence)):
        if seq.schema == schema and seq.owned_by is not None and seq.owned_by[0] == old:
            b.add(dataclasses.replace(seq, owned_by=(new, seq.owned_by[1])))
    state.rename_in_publications(schema, old, new)
    for priv in list(b.all(Privilege)):
        if priv.object_kind in ("TABLE", "SEQUENCE") and (priv.schema, priv.object_name) == (schema, old):
            b.replace(priv, dataclasses.replace(priv, object_name=new))
    for t in list(b.all(Table)):
        changes: dict[str, Any] = {}
        if any((c.ref_schema, c.ref_table) == (schema, old) for c in t.foreign_keys):
            changes["constraints"] = tuple(
                dataclasses.replace(c, ref_table=new)
                if isinstance(c, ForeignKey) and (c.ref_schema, c.ref_table) == (schema, old)
                else c
                for c in t.constraints
            )
        if t.partition_of is not None and (t.partition_of.parent_schema, t.partition_of.parent) == (
            schema,
            old,
        ):
            changes["partition_of"] = PartitionOf(schema, new, t.partition_of.bound)
        if (schema, old) in t.inherits:
            changes["inherits"] = tuple((schema, new) if p == (schema, old) else p for p in t.inherits)
        if changes:
            state.update_table(t, **changes)
    for key, owner in list(state.identity_sequences.items()):
        if key[0] == schema and owner[0] == old:
            state.identity_sequences[key] = (new, owner[1])
    for source_key in [k for k in state.column_defaults if k[:2] == (schema, old)]:
        state.column_defaults[(schema, new, *source_key[2:])] = state.column_defaults.pop(source_key)
    for view_key, reads in list(state.view_dependencies.items()):
        if (schema, old) in reads:
            state.view_dependencies[view_key] = frozenset(
                (schema, new) if r == (schema, old) else r for r in reads
            )
    if (schema, old) in state.view_dependencies:
        state.view_dependencies[(schema, new)] = state.view_dependencies.pop((schema, old))
    if (schema, old) in state.view_sources:
        state.view_sources[(schema, new)] = state.view_sources.pop((schema, old))
    rename_relation_in_views(state, schema, old, new)


@renamer(
    ObjectType.OBJECT_TABLE,
    ObjectType.OBJECT_VIEW,
    ObjectType.OBJECT_MATVIEW,
    ObjectType.OBJECT_SEQUENCE,
    ObjectType.OBJECT_INDEX,
    ObjectType.OBJECT_FOREIGN_TABLE,
)
def rename_relation(state: State, stmt: Any) -> None:
    rv = stmt.relation
    found = state.find_relation(rv.schemaname, rv.relname)
    new = sql_naming.truncate_identifier(stmt.newname)
    if found is None:
        schema = rv.schemaname
        for s in [schema] if schema else state.path_schemas():
            owner = state.constraint_indexes.get((s, rv.relname))
            if owner is not None:  # ALTER INDEX <constraint index> RENAME renames the constraint too
                t = state.builder.get(Table, s, owner)
                assert t is not None
                c = find_constraint(t, rv.relname)
                state.update_table(
                    t,
                    constraints=tuple(
                        dataclasses.replace(x, name=new) if x is c else x for x in t.constraints
                    ),
                )
                return
        if stmt.missing_ok:
            return
        raise state.missing_relation(rv.schemaname, rv.relname)
    schema, node = found
    if state.relation_taken(schema, new):
        raise state.error(f'relation "{new}" already exists')
    if isinstance(node, Table):
        state.put_table(node, dataclasses.replace(node, name=new))
        rename_table_refs(state, schema, node.name, new)
    else:
        state.builder.replace(node, dataclasses.replace(node, name=new))
        if isinstance(node, View):
            rename_table_refs(state, schema, node.name, new)
        elif isinstance(node, Sequence):  # nextval('seq'::regclass) names it by OID
            state.rewrite_expressions(regclass_text(schema, node.name), regclass_text(schema, new))
            rename_in_view_dependencies(state, ("relation",), (schema, node.name), (schema, new))
        elif isinstance(node, Index) and (schema, node.name) in state.index_sources:
            state.index_sources[(schema, new)] = state.index_sources.pop((schema, node.name))


@renamer(ObjectType.OBJECT_COLUMN)
def rename_column(state: State, stmt: Any) -> None:
    rv = stmt.relation
    found = state.find_relation(rv.schemaname, rv.relname)
    if found is None:
        if stmt.missing_ok:
            return
        raise state.missing_relation(rv.schemaname, rv.relname)
    node = found[1]
    old, new = stmt.subname, sql_naming.truncate_identifier(stmt.newname)
    if isinstance(node, View):
        renamed = dataclasses.replace(
            node,
            columns=tuple(dataclasses.replace(c, name=new) if c.name == old else c for c in node.columns),
        )
        state.builder.add(renamed)
        source = state.view_sources.get((node.schema, node.name))
        position = next((i for i, c in enumerate(node.columns) if c.name == old), None)
        if source is not None and position is not None and set_output_names(source.node, {position: new}):
            rederive_view(state, renamed)
        return
    if isinstance(node, CompositeType):
        attrs = tuple(dataclasses.replace(a, name=new) if a.name == old else a for a in node.attributes)
        state.builder.add(dataclasses.replace(node, attributes=attrs))
        return
    table: Table = node
    rename_table_column(state, table, old, new)


def _rederive_index(state: State, index: Index, source: Any, types: dict[str, str]) -> None:
    from nself.frontends.sql_tables import index_expressions

    saved = state.search_path
    state.search_path = source.search_path
    try:
        keys, predicate = index_expressions(
            state, source.node, types, state.builder.get(Table, index.schema, index.table)
        )
    finally:
        state.search_path = saved
    state.builder.add(dataclasses.replace(index, keys=keys, predicate=predicate))


def _rederive_checks(state: State, table: Table, old: str, new: str) -> Table:
    types = column_types(table)
    constraints = []
    for c in table.constraints:
        source = state.column_defaults.get((table.schema, table.name, "check:" + c.name))
        if isinstance(c, CheckConstraint) and source is not None and mentions(c.expression, old):
            source.node = rename_column_refs(source.node, old, new)
            saved = state.search_path
            state.search_path = source.search_path
            try:
                c = dataclasses.replace(c, expression=canon.check_expression(state, source.node, types))
            finally:
                state.search_path = saved
        constraints.append(c)
    return state.update_table(table, constraints=tuple(constraints))


def rename_table_column(state: State, table: Table, old: str, new: str) -> None:
    col = _column(state, table, old)
    if table.column(new) is not None:
        raise state.error(f'column "{new}" of relation "{table.name}" already exists')

    def ren(cols: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if c == old else c for c in cols)

    constraints = []
    for c in table.constraints:
        if isinstance(c, ForeignKey):
            c = dataclasses.replace(c, columns=ren(c.columns))
        elif isinstance(c, (PrimaryKey, UniqueConstraint)):
            c = dataclasses.replace(c, columns=ren(c.columns), include=ren(c.include))
        constraints.append(c)
    columns = tuple(dataclasses.replace(c, name=new) if c is col else c for c in table.columns)
    table = state.update_table(table, columns=columns, constraints=tuple(constraints))
    table = _rederive_checks(state, table, old, new)
    rename_column_in_views(state, table.schema, table.name, old, new)
    key = (table.schema, table.name)
    for other in list(state.builder.all(Table)):
        if any((c.ref_schema, c.ref_table) == key and old in c.ref_columns for c in other.foreign_keys):
            other = state.builder.get(Table, other.schema, other.name) or other
            state.update_table(
                other,
                constraints=tuple(
                    dataclasses.replace(c, ref_columns=ren(c.ref_columns))
                    if isinstance(c, ForeignKey) and (c.ref_schema, c.ref_table) == key
                    else c
                    for c in other.constraints
                ),
            )
    for index in list(state.builder.all(Index)):
        if (index.schema, index.table) == key:
            keys = tuple(dataclasses.replace(k, column=new) if k.column == old else k for k in index.keys)
            if keys != index.keys or old in index.include:
                state.builder.add(dataclasses.replace(index, keys=keys, include=ren(index.include)))
            source = state.index_sources.get((index.schema, index.name))
            if source is not None:
                source.node = rename_column_refs(source.node, old, new)
                if any(mentions(k.expression, old) for k in index.keys) or mentions(index.predicate, old):
                    current = state.builder.get(Index, index.schema, index.name) or index
                    _rederive_index(state, current, source, column_types(table))
    for seq in list(state.builder.all(Sequence)):
        if seq.schema == table.schema and seq.owned_by == (table.name, old):
            state.builder.add(dataclasses.replace(seq, owned_by=(table.name, new)))
    for k, owner in list(state.identity_sequences.items()):
        if owner == (table.name, old) and k[0] == table.schema:
            state.identity_sequences[k] = (table.name, new)
    if (table.schema, table.name, old) in state.column_defaults:
        state.column_defaults[(table.schema, table.name, new)] = state.column_defaults.pop(
            (table.schema, table.name, old)
        )
    for priv in list(state.builder.all(Privilege)):
        if (priv.schema, priv.object_name) == key and priv.column == old:
            state.builder.replace(priv, dataclasses.replace(priv, column=new))
    for trigger in list(state.builder.all(Trigger)):
        if (trigger.schema, trigger.table) == key and old in trigger.update_columns:
            state.builder.add(dataclasses.replace(trigger, update_columns=ren(trigger.update_columns)))
    for child in _children(state, table):
        if child.column(old) is not None:
            rename_table_column(state, child, old, new)


@renamer(ObjectType.OBJECT_TABCONSTRAINT)
def rename_constraint(state: State, stmt: Any) -> None:
    t = state.table(stmt.relation, stmt.missing_ok)
    if t is None:
        return
    c = find_constraint(t, stmt.subname)
    if c is None:
        raise state.error(f'constraint "{stmt.subname}" for table "{t.name}" does not exist')
    new = sql_naming.truncate_identifier(stmt.newname)
    state.update_table(
        t, constraints=tuple(dataclasses.replace(x, name=new) if x is c else x for x in t.constraints)
    )
    source = state.column_defaults.pop((t.schema, t.name, "check:" + c.name), None)
    if source is not None:
        state.column_defaults[(t.schema, t.name, "check:" + new)] = source


V = TypeVar("V")


def _move_keys(mapping: dict[Any, V], old: str, new: str) -> None:
    for key in [k for k in mapping if k[0] == old]:
        mapping[(new, *key[1:])] = mapping.pop(key)


@renamer(ObjectType.OBJECT_SCHEMA)
def rename_schema(state: State, stmt: Any) -> None:
    """ALTER SCHEMA RENAME: every object in it moves, and every text that names it
    (types, defaults, checks, view bodies, ...) names the new one, as PostgreSQL, which
    holds OIDs, prints it afterwards."""
    old, new = stmt.subname, sql_naming.truncate_identifier(stmt.newname)
    b = state.builder
    schema = b.get(Schema, old)
    if schema is None:
        raise state.error(f'schema "{old}" does not exist')
    if b.get(Schema, new) is not None:
        raise state.error(f'schema "{new}" already exists')
    qualifier = re.compile(r'(?<![\w"$.])' + re.escape(quote_ident(old) + "."))
    moved = quote_ident(new) + "."

    def rewrite(value: Any, field_name: str = "") -> Any:
        if isinstance(value, str):
            if field_name in ("schema", "ref_schema", "parent_schema", "function_schema"):
                return new if value == old else value
            return qualifier.sub(lambda _: moved, value) if "." in value else value
        if isinstance(value, tuple):
            if field_name == "inherits":
                return tuple((new if s == old else s, t) for s, t in value)
            return tuple(rewrite(v, field_name) for v in value)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {f.name: rewrite(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
            return dataclasses.replace(value, **changes)
        return value

    b.replace(schema, dataclasses.replace(schema, name=new))
    for table in list(b.all(Table)):
        state.put_table(table, rewrite(table))
    for domain in list(b.all(Domain)):
        state.put_domain(domain, rewrite(domain))
    for cls2 in (
        Collation,
        Sequence,
        Index,
        View,
        Function,
        Operator,
        Enum,
        CompositeType,
        RangeType,
        Trigger,
        Policy,
        Privilege,
        Publication,
        Extension,
    ):
        for node in list(b.all(cls2)):
            updated = rewrite(node)
            if updated != node:
                b.replace(node, updated)
    _move_keys(state.identity_sequences, old, new)
    _move_keys(state.hidden_relations, old, new)
    _move_keys(state.index_sources, old, new)
    _move_keys(state.view_sources, old, new)
    _move_keys(state.column_defaults, old, new)
    _move_keys(state.body_sources, old, new)
    if old in state.operators:
        state.operators[new] = state.operators.pop(old)
    state.search_path = tuple(new if s == old else s for s in state.search_path)


@renamer(ObjectType.OBJECT_COLLATION)
def rename_collation(state: State, stmt: Any) -> None:
    names = object_names(stmt.object)
    collation = find_collation(state, names)
    if collation is None:
        raise state.error(f'collation "{".".join(names)}" for encoding "UTF8" does not exist')
    renamed = dataclasses.replace(collation, name=sql_naming.truncate_identifier(stmt.newname))
    if state.builder.get(Collation, renamed.schema, renamed.name) is not None:
        raise state.error(f'collation "{renamed.name}" already exists in schema "{renamed.schema}"')
    state.builder.replace(collation, renamed)
    collation_refs(state, collation_sql(collation), collation_sql(renamed))
    rename_in_view_dependencies(
        state, ("collation",), (collation.schema, collation.name), (renamed.schema, renamed.name)
    )


@renamer(ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN)
def rename_type(state: State, stmt: Any) -> None:
    names = object_names(stmt.object)
    found = state.find_type(names[-2] if len(names) > 1 else None, names[-1])
    if found is None:
        raise state.error(f'type "{".".join(names)}" does not exist')
    node = found[1]
    new = sql_naming.truncate_identifier(stmt.newname)
    if isinstance(node, Domain):
        state.put_domain(node, dataclasses.replace(node, name=new))
    else:
        state.builder.replace(node, dataclasses.replace(node, name=new))
    retype_columns(state, node.schema, node.name, node.schema, new)
    state.rewrite_expressions(
        f"::{quote_ident(node.schema)}.{quote_ident(node.name)}",
        f"::{quote_ident(node.schema)}.{quote_ident(new)}",
    )
    rename_in_view_dependencies(state, ("type",), (node.schema, node.name), (node.schema, new))


def retype_columns(state: State, old_schema: str, old: str, new_schema: str, new: str) -> None:
    before = f"{quote_ident(old_schema)}.{quote_ident(old)}"
    after = f"{quote_ident(new_schema)}.{quote_ident(new)}"

    def retyped(text: str | None) -> str | None:
        if text is None:
            return None
        prefix = "SETOF " if text.startswith("SETOF ") else ""
        rest = text.removeprefix(prefix)
        if rest == before or rest.startswith(before + "["):
            return prefix + after + rest[len(before) :]
        return text

    # routines name the type in their signatures (as format_type prints it, by OID)
    for f in list(state.builder.all(Function)):
        arguments = tuple(
            dataclasses.replace(a, data_type=retyped(a.data_type) or a.data_type) for a in f.arguments
        )
        returns = retyped(f.returns)
        if arguments != f.arguments or returns != f.returns:
            state.builder.replace(f, dataclasses.replace(f, arguments=arguments, returns=returns))
    for t in list(state.builder.all(Table)):
        if any(c.data_type in (before, before + "[]") for c in t.columns):
            cols = tuple(
                dataclasses.replace(c, data_type=after + c.data_type[len(before) :])
                if c.data_type in (before, before + "[]")
                else c
                for c in t.columns
            )
            state.update_table(t, columns=cols)
            if any(c.default and before in c.default for c in cols):
                cols = tuple(
                    dataclasses.replace(c, default=c.default.replace("::" + before, "::" + after))
                    if c.default
                    else c
                    for c in cols
                )
                current = state.builder.get(Table, t.schema, t.name)
                assert current is not None
                state.update_table(current, columns=cols)


@renamer(ObjectType.OBJECT_ATTRIBUTE)
def rename_attribute(state: State, stmt: Any) -> None:
    rename_column(state, stmt)


@renamer(
    ObjectType.OBJECT_FUNCTION,
    ObjectType.OBJECT_PROCEDURE,
    ObjectType.OBJECT_ROUTINE,
    ObjectType.OBJECT_AGGREGATE,
)
def rename_function(state: State, stmt: Any) -> None:
    f = find_function(state, stmt.object)
    assert f is not None
    new = sql_naming.truncate_identifier(stmt.newname)
    state.builder.replace(f, dataclasses.replace(f, name=new))
    move_body_source(state, f, f.schema, new)
    move_function_in_operators(state, f, f.schema, new)
    if not any(g.name == f.name and g.schema == f.schema for g in state.builder.all(Function) if g is not f):
        move_function_in_views(state, (f.schema, f.name), (f.schema, new))
    for trigger in list(state.builder.all(Trigger)):
        if (trigger.function_schema, trigger.function) == (f.schema, f.name):
            state.builder.add(dataclasses.replace(trigger, function=new))


@renamer(ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_POLICY)
def rename_table_scoped(state: State, stmt: Any) -> None:
    found = state.find_relation(stmt.relation.schemaname, stmt.relation.relname)
    if found is None:
        raise state.error(f'relation "{stmt.relation.relname}" does not exist')
    rel = found[1]
    cls = Trigger if stmt.renameType == ObjectType.OBJECT_TRIGGER else Policy
    node = state.builder.get(cls, rel.schema, rel.name, stmt.subname)
    if node is None:
        raise state.error(f'{cls.__name__.lower()} "{stmt.subname}" for table "{rel.name}" does not exist')
    new_name = sql_naming.truncate_identifier(stmt.newname)
    state.builder.replace(node, dataclasses.replace(node, name=new_name))  # type: ignore[type-var]


@renamer(ObjectType.OBJECT_DOMCONSTRAINT)
def rename_domain_constraint(state: State, stmt: Any) -> None:
    domain: Domain = lookup_type(state, object_names(stmt.object), Domain)
    checks = tuple(
        dataclasses.replace(c, name=stmt.newname) if c.name == stmt.subname else c for c in domain.checks
    )
    state.put_domain(domain, dataclasses.replace(domain, checks=checks))
