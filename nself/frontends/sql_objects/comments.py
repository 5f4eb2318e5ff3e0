"""COMMENT ON every kind of object."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast
from pglast.enums import ObjectType

from nself.frontends.sql_objects.collations import find_collation
from nself.frontends.sql_objects.datatypes import lookup_type
from nself.frontends.sql_objects.operators import find_operator
from nself.frontends.sql_objects.routines import find_function
from nself.frontends.sql_objects.schemas import find_extension
from nself.frontends.sql_state import Skip, State, handles, names_of, replaced
from nself.frontends.sql_tables import _column, _replace_column, find_constraint
from nself.ir.model import (
    CompositeType,
    Domain,
    Index,
    Policy,
    Publication,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)


def object_names(node: Any) -> list[str]:
    if isinstance(node, ast.String):
        return [str(node.sval)]
    if isinstance(node, ast.TypeName):
        return names_of(node.names)
    return names_of(node)


def relation_from_names(
    state: State, names: list[str], cls: type | tuple[type, ...], missing_ok: bool = False
) -> Any:
    schema = names[-2] if len(names) > 1 else None
    found = state.find_relation(schema, names[-1])
    if found is None or not isinstance(found[1], cls):
        if schema in (None, "pg_temp") and names[-1] in state.temporary:
            state.temporary.discard(names[-1])
            raise Skip(f'"{names[-1]}" is a temporary relation')
        if missing_ok:
            return None
        raise state.missing_relation(schema, names[-1])
    return found[1]


def _with_comment(node: Any, comment: str | None) -> Any:
    return replaced(node, comment=comment)


@handles(ast.CommentStmt)
def comment_on(state: State, stmt: Any) -> None:
    comment = stmt.comment if stmt.comment else None
    kind = stmt.objtype
    obj = stmt.object
    b = state.builder
    if kind in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_FOREIGN_TABLE):
        t = relation_from_names(state, object_names(obj), Table)
        state.put_table(t, _with_comment(t, comment))
    elif kind in (ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW):
        b.add(_with_comment(relation_from_names(state, object_names(obj), View), comment))
    elif kind == ObjectType.OBJECT_SEQUENCE:
        b.add(_with_comment(relation_from_names(state, object_names(obj), Sequence), comment))
    elif kind == ObjectType.OBJECT_INDEX:
        names = object_names(obj)
        target = relation_from_names(state, names, (Index, Table), missing_ok=True)
        if isinstance(target, Index):
            b.add(_with_comment(target, comment))
        else:
            _comment_constraint_index(state, names, comment)
    elif kind == ObjectType.OBJECT_COLUMN:
        names = object_names(obj)
        rel = relation_from_names(state, names[:-1], (Table, View, CompositeType))
        if isinstance(rel, Table):
            col = _column(state, rel, names[-1])
            _replace_column(state, rel, col, _with_comment(col, comment))
        elif isinstance(rel, View):
            b.add(
                dataclasses.replace(
                    rel,
                    columns=tuple(
                        _with_comment(c, comment) if c.name == names[-1] else c for c in rel.columns
                    ),
                )
            )
        else:
            state.warn("comments on composite type attributes are not modelled")
    elif kind == ObjectType.OBJECT_SCHEMA:
        schema = b.get(Schema, obj.sval)
        if schema is None:
            raise state.error(f'schema "{obj.sval}" does not exist')
        b.add(_with_comment(schema, comment))
    elif kind == ObjectType.OBJECT_EXTENSION:
        ext = find_extension(state, obj.sval)
        if ext is None:
            raise state.error(f'extension "{obj.sval}" does not exist')
        b.add(_with_comment(ext, comment))
    elif kind == ObjectType.OBJECT_COLLATION:
        names = object_names(obj)
        collation = find_collation(state, names)
        if collation is None:
            raise state.error(f'collation "{".".join(names)}" for encoding "UTF8" does not exist')
        b.add(_with_comment(collation, comment))
    elif kind in (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
        names = object_names(obj)
        found = state.find_type(names[-2] if len(names) > 1 else None, names[-1])
        if found is None:
            raise state.error(f'type "{".".join(names)}" does not exist')
        if isinstance(found[1], Domain):
            state.put_domain(found[1], _with_comment(found[1], comment))
        else:
            b.add(_with_comment(found[1], comment))
    elif kind in (
        ObjectType.OBJECT_FUNCTION,
        ObjectType.OBJECT_PROCEDURE,
        ObjectType.OBJECT_ROUTINE,
        ObjectType.OBJECT_AGGREGATE,
    ):
        f = find_function(state, obj)
        b.add(_with_comment(f, comment))
    elif kind == ObjectType.OBJECT_OPERATOR:
        b.add(_with_comment(find_operator(state, obj), comment))
    elif kind in (ObjectType.OBJECT_TRIGGER, ObjectType.OBJECT_POLICY):
        names = object_names(obj)
        rel = relation_from_names(state, names[:-1], (Table, View))
        cls = Trigger if kind == ObjectType.OBJECT_TRIGGER else Policy
        node = b.get(cls, rel.schema, rel.name, names[-1])
        if node is None:
            raise state.error(f'{cls.__name__.lower()} "{names[-1]}" for table "{rel.name}" does not exist')
        b.add(_with_comment(node, comment))
    elif kind == ObjectType.OBJECT_TABCONSTRAINT:
        names = object_names(obj)
        t = relation_from_names(state, names[:-1], Table)
        c = find_constraint(t, names[-1])
        if c is None:
            raise state.error(f'constraint "{names[-1]}" for table "{t.name}" does not exist')
        state.update_table(
            t, constraints=tuple(_with_comment(x, comment) if x is c else x for x in t.constraints)
        )
    elif kind == ObjectType.OBJECT_PUBLICATION:
        publication = b.get(Publication, obj.sval)
        if publication is None:
            raise state.error(f'publication "{obj.sval}" does not exist')
        b.add(_with_comment(publication, comment))
    elif kind == ObjectType.OBJECT_DOMCONSTRAINT:
        type_name, constraint = obj
        domain: Domain = lookup_type(state, object_names(type_name), Domain)
        if not any(c.name == constraint.sval for c in domain.checks):
            raise state.error(f'constraint "{constraint.sval}" for domain "{domain.name}" does not exist')
        checks = tuple(_with_comment(c, comment) if c.name == constraint.sval else c for c in domain.checks)
        state.put_domain(domain, dataclasses.replace(domain, checks=checks))
    else:
        raise Skip(f"COMMENT ON {kind.name.removeprefix('OBJECT_')} is not modelled")


def _comment_constraint_index(state: State, names: list[str], comment: str | None) -> None:
    schema = names[-2] if len(names) > 1 else None
    for s in [schema] if schema else state.path_schemas():
        owner = state.constraint_indexes.get((s, names[-1]))
        if owner is not None:
            state.warn("comments on the index of a constraint are not modelled")
            return
    raise state.error(f'relation "{".".join(names)}" does not exist')
