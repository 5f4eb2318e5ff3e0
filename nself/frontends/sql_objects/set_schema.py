"""ALTER ... SET SCHEMA: objects moved between schemas, and the references that follow them."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast
from pglast.enums import ObjectType

from nself.frontends.sql_objects.collations import collation_refs, collation_sql, find_collation
from nself.frontends.sql_objects.comments import object_names
from nself.frontends.sql_objects.renames import retype_columns
from nself.frontends.sql_objects.routines import find_function, move_body_source, move_function_in_operators
from nself.frontends.sql_objects.schemas import find_extension
from nself.frontends.sql_objects.views import (
    move_function_in_views,
    move_relation_in_views,
    rename_in_view_dependencies,
)
from nself.frontends.sql_state import Skip, State, handles, regclass_text
from nself.ir.model import (
    Domain,
    ForeignKey,
    Function,
    Index,
    Policy,
    Privilege,
    Schema,
    Sequence,
    Table,
    Trigger,
)
from nself.ir.names import quote_ident


@handles(ast.AlterObjectSchemaStmt)
def set_schema(state: State, stmt: Any) -> None:
    new_schema = stmt.newschema
    if state.builder.get(Schema, new_schema) is None:
        raise state.error(f'schema "{new_schema}" does not exist')
    kind = stmt.objectType
    b = state.builder
    if kind in (
        ObjectType.OBJECT_TABLE,
        ObjectType.OBJECT_VIEW,
        ObjectType.OBJECT_MATVIEW,
        ObjectType.OBJECT_SEQUENCE,
    ):
        rv = stmt.relation
        found = state.find_relation(rv.schemaname, rv.relname)
        if found is None:
            if stmt.missing_ok:
                return
            raise state.missing_relation(rv.schemaname, rv.relname)
        old_schema, node = found
        if isinstance(node, Table):
            state.put_table(node, dataclasses.replace(node, schema=new_schema))
            for index in list(b.all(Index)):
                if (index.schema, index.table) == (old_schema, node.name):
                    b.replace(index, dataclasses.replace(index, schema=new_schema))
            for trigger in list(b.all(Trigger)):
                if (trigger.schema, trigger.table) == (old_schema, node.name):
                    b.replace(trigger, dataclasses.replace(trigger, schema=new_schema))
            for policy in list(b.all(Policy)):
                if (policy.schema, policy.table) == (old_schema, node.name):
                    b.replace(policy, dataclasses.replace(policy, schema=new_schema))
            for seq in list(b.all(Sequence)):
                if seq.schema == old_schema and seq.owned_by is not None and seq.owned_by[0] == node.name:
                    b.replace(seq, dataclasses.replace(seq, schema=new_schema))
                    state.rewrite_expressions(
                        regclass_text(old_schema, seq.name), regclass_text(new_schema, seq.name)
                    )
                    rename_in_view_dependencies(
                        state, ("relation",), (old_schema, seq.name), (new_schema, seq.name)
                    )
            for t in list(b.all(Table)):
                if any((c.ref_schema, c.ref_table) == (old_schema, node.name) for c in t.foreign_keys):
                    state.update_table(
                        t,
                        constraints=tuple(
                            dataclasses.replace(c, ref_schema=new_schema)
                            if isinstance(c, ForeignKey)
                            and (c.ref_schema, c.ref_table) == (old_schema, node.name)
                            else c
                            for c in t.constraints
                        ),
                    )
        else:
            b.replace(node, dataclasses.replace(node, schema=new_schema))
        move_relation_in_views(state, (old_schema, node.name), new_schema)
        for priv in list(b.all(Privilege)):
            if priv.object_kind in ("TABLE", "SEQUENCE") and (priv.schema, priv.object_name) == (
                old_schema,
                node.name,
            ):
                b.replace(priv, dataclasses.replace(priv, schema=new_schema))
    elif kind in (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
        names = object_names(stmt.object)
        found_type = state.find_type(names[-2] if len(names) > 1 else None, names[-1])
        if found_type is None:
            raise state.error(f'type "{".".join(names)}" does not exist')
        node = found_type[1]
        if isinstance(node, Domain):
            state.put_domain(node, dataclasses.replace(node, schema=new_schema))
        else:
            b.replace(node, dataclasses.replace(node, schema=new_schema))
        retype_columns(state, node.schema, node.name, new_schema, node.name)
        state.rewrite_expressions(
            f"::{quote_ident(node.schema)}.{quote_ident(node.name)}",
            f"::{quote_ident(new_schema)}.{quote_ident(node.name)}",
        )
        rename_in_view_dependencies(state, ("type",), (node.schema, node.name), (new_schema, node.name))
    elif kind in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE, ObjectType.OBJECT_ROUTINE):
        f = find_function(state, stmt.object)
        assert f is not None
        b.replace(f, dataclasses.replace(f, schema=new_schema))
        move_body_source(state, f, new_schema, f.name)
        move_function_in_operators(state, f, new_schema, f.name)
        if not any(g.name == f.name and g.schema == f.schema for g in b.all(Function) if g is not f):
            move_function_in_views(state, (f.schema, f.name), (new_schema, f.name))
    elif kind == ObjectType.OBJECT_EXTENSION:
        ext = find_extension(state, stmt.object.sval)
        if ext is None:
            raise state.error(f'extension "{stmt.object.sval}" does not exist')
        b.replace(ext, dataclasses.replace(ext, schema=new_schema))
    elif kind == ObjectType.OBJECT_COLLATION:
        names = object_names(stmt.object)
        collation = find_collation(state, names)
        if collation is None:
            raise state.error(f'collation "{".".join(names)}" for encoding "UTF8" does not exist')
        moved = dataclasses.replace(collation, schema=new_schema)
        b.replace(collation, moved)
        collation_refs(state, collation_sql(collation), collation_sql(moved))
        rename_in_view_dependencies(
            state, ("collation",), (collation.schema, collation.name), (moved.schema, moved.name)
        )
    else:
        raise Skip(f"ALTER {kind.name.removeprefix('OBJECT_')} SET SCHEMA is not modelled")
