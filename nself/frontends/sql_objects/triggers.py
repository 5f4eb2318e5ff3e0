"""Triggers and row-level security policies."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast
from pglast.enums import RoleSpecType

from nself.frontends import sql_canon as canon
from nself.frontends import sql_naming
from nself.frontends.sql_state import State, column_types, handles, names_of, qualified
from nself.frontends.sql_tables import _children
from nself.ir.model import Dependency, Function, Policy, Table, Trigger, View

_TIMING = {2: "BEFORE", 64: "INSTEAD OF", 0: "AFTER"}
_EVENTS = ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE"))


def _trigger_function(state: State, names: list[str]) -> tuple[str, str]:
    if len(names) > 1:
        return names[-2], names[-1]
    for schema in ["pg_catalog", *state.path_schemas()]:
        if any(
            f.schema == schema and f.name == names[-1] and f.returns == "trigger"
            for f in state.builder.all(Function)
        ):
            return schema, names[-1]
    schemas = state.path_schemas()
    if names[-1].startswith("tsvector_update_trigger") or names[-1] in (
        "suppress_redundant_updates_trigger",
    ):
        return "pg_catalog", names[-1]
    return (schemas[0] if schemas else "public"), names[-1]


@handles(ast.CreateTrigStmt)
def create_trigger(state: State, stmt: Any) -> None:
    found = state.find_relation(stmt.relation.schemaname, stmt.relation.relname)
    if found is None or not isinstance(found[1], (Table, View)):
        raise state.error(
            f'relation "{qualified(stmt.relation.schemaname, stmt.relation.relname)}" does not exist'
        )
    target = found[1]
    events = tuple(
        name
        for bit, name in sorted(_EVENTS, key=lambda e: ("INSERT", "UPDATE", "DELETE", "TRUNCATE").index(e[1]))
        if stmt.events & bit
    )
    fschema, fname = _trigger_function(state, names_of(stmt.funcname))
    old_table = new_table = None
    for t in stmt.transitionRels or ():
        if t.isNew:
            new_table = t.name
        else:
            old_table = t.name
    columns = (
        column_types(target) if isinstance(target, Table) else {c.name: c.data_type for c in target.columns}
    )
    update_columns = tuple(names_of(stmt.columns))
    with canon.collecting(state, (target.schema, target.name)) as used:
        when = (
            canon.predicate_expression(state, stmt.whenClause, columns)
            if stmt.whenClause is not None
            else None
        )
    # its function, the columns of UPDATE OF, what WHEN uses
    if fschema != "pg_catalog":
        used.found.add(Dependency("function", fschema, fname))
    used.found |= {Dependency("column", target.schema, target.name, c) for c in update_columns}
    trigger = Trigger(
        target.schema,
        target.name,
        sql_naming.truncate_identifier(stmt.trigname),
        _TIMING[stmt.timing & (2 | 64)],  # type: ignore[arg-type]
        events,
        fschema,
        fname,
        for_each_row=bool(stmt.row),
        arguments=tuple(_trigger_arg(a) for a in stmt.args or ()),
        update_columns=update_columns,
        when=when,
        constraint=bool(stmt.isconstraint),
        deferrable=bool(stmt.deferrable),
        initially_deferred=bool(stmt.initdeferred),
        old_table=old_table,
        new_table=new_table,
        depends_on=used.depends_on,
    )
    existing = state.builder.get(Trigger, trigger.schema, trigger.table, trigger.name)
    if existing is not None:
        if not stmt.replace:
            raise state.error(f'trigger "{trigger.name}" for relation "{target.name}" already exists')
        trigger = dataclasses.replace(trigger, comment=existing.comment)
    state.builder.add(trigger)
    if isinstance(target, Table) and target.partition_by is not None and stmt.row:
        for child in _children(state, target):
            state.builder.add(
                dataclasses.replace(trigger, schema=child.schema, table=child.name, comment=None)
            )


def _trigger_arg(node: Any) -> str:
    if isinstance(node, ast.String):
        return str(node.sval)
    if isinstance(node, ast.Integer):
        return str(node.ival)
    if isinstance(node, ast.Float):
        return str(node.fval)
    return str(node)


def role_names(roles: Any) -> tuple[str, ...]:
    out = []
    for r in roles or ():
        if r.roletype == RoleSpecType.ROLESPEC_PUBLIC:
            out.append("public")
        elif r.roletype == RoleSpecType.ROLESPEC_CSTRING:
            out.append(r.rolename)
        else:
            out.append(r.roletype.name.removeprefix("ROLESPEC_").lower())
    return tuple(out)


@handles(ast.CreatePolicyStmt)
def create_policy(state: State, stmt: Any) -> None:
    table = state.table(stmt.table)
    assert table is not None
    name = sql_naming.truncate_identifier(stmt.policy_name)
    if state.builder.get(Policy, table.schema, table.name, name) is not None:
        raise state.error(f'policy "{name}" for table "{table.name}" already exists')
    columns = column_types(table)
    relation = (table.schema, table.name)
    with canon.collecting(state, relation) as used:
        using = (
            canon.predicate_expression(state, stmt.qual, columns, relation) if stmt.qual is not None else None
        )
        with_check = (
            canon.predicate_expression(state, stmt.with_check, columns, relation)
            if stmt.with_check is not None
            else None
        )
    state.builder.add(
        Policy(
            table.schema,
            table.name,
            name,
            permissive=bool(stmt.permissive),
            command=(stmt.cmd_name or "all").upper(),  # type: ignore[arg-type]
            roles=role_names(stmt.roles) or ("public",),
            using=using,
            with_check=with_check,
            depends_on=used.depends_on,
        )
    )


@handles(ast.AlterPolicyStmt)
def alter_policy(state: State, stmt: Any) -> None:
    table = state.table(stmt.table)
    assert table is not None
    policy = state.builder.get(Policy, table.schema, table.name, stmt.policy_name)
    if policy is None:
        raise state.error(f'policy "{stmt.policy_name}" for table "{table.name}" does not exist')
    columns = column_types(table)
    changes: dict[str, Any] = {}
    if stmt.roles:
        changes["roles"] = role_names(stmt.roles)
    relation = (table.schema, table.name)
    with canon.collecting(state, relation) as used:
        if stmt.qual is not None:
            changes["using"] = canon.predicate_expression(state, stmt.qual, columns, relation)
        if stmt.with_check is not None:
            changes["with_check"] = canon.predicate_expression(state, stmt.with_check, columns, relation)
    if stmt.qual is not None or stmt.with_check is not None:
        # what both expressions use, when both are given; else not known here
        both = (stmt.qual is not None or policy.using is None) and (
            stmt.with_check is not None or policy.with_check is None
        )
        changes["depends_on"] = used.depends_on if both else None
    state.builder.add(dataclasses.replace(policy, **changes))
