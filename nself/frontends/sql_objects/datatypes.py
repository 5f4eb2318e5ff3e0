"""Enums, domains, composite and range types."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast

from nself.frontends import sql_canon as canon
from nself.frontends import sql_naming
from nself.frontends.sql_state import Skip, State, handles, names_of
from nself.ir.model import (
    CheckConstraint,
    CompositeAttribute,
    CompositeType,
    Dependency,
    Domain,
    Enum,
    RangeType,
)
from nself.ir.names import quote_ident, quote_literal


def _type_name(state: State, names: list[str], create: bool = True) -> tuple[str, str]:
    schema = names[-2] if len(names) > 1 else None
    name = sql_naming.truncate_identifier(names[-1])
    return (state.creation_schema(schema) if create else schema or "", name)


def _check_type_free(state: State, schema: str, name: str) -> None:
    if state.find_type(schema, name) is not None or state.relation_in(schema, name) is not None:
        raise state.error(f'type "{name}" already exists')


@handles(ast.CreateEnumStmt)
def create_enum(state: State, stmt: Any) -> None:
    schema, name = _type_name(state, names_of(stmt.typeName))
    _check_type_free(state, schema, name)
    state.builder.add(Enum(schema, name, tuple(names_of(stmt.vals))))
    state.created("TYPE", schema, name)


def lookup_type(
    state: State, names: list[str], cls: type | tuple[type, ...], missing_ok: bool = False
) -> Any:
    schema = names[-2] if len(names) > 1 else None
    found = state.find_type(schema, names[-1])
    if found is None or not isinstance(found[1], cls):
        if missing_ok:
            return None
        raise state.error(f'type "{".".join(names)}" does not exist')
    return found[1]


@handles(ast.AlterEnumStmt)
def alter_enum(state: State, stmt: Any) -> None:
    enum: Enum = lookup_type(state, names_of(stmt.typeName), Enum)
    labels = list(enum.labels)
    if stmt.oldVal:
        if stmt.oldVal not in labels:
            raise state.error(f'"{stmt.oldVal}" is not an existing enum label')
        labels[labels.index(stmt.oldVal)] = stmt.newVal
        type_text = f"::{quote_ident(enum.schema)}.{quote_ident(enum.name)}"
        state.rewrite_expressions(
            quote_literal(stmt.oldVal) + type_text, quote_literal(stmt.newVal) + type_text
        )
    else:
        if stmt.newVal in labels:
            if stmt.skipIfNewValExists:
                return
            raise state.error(f'enum label "{stmt.newVal}" already exists')
        if stmt.newValNeighbor:
            at = labels.index(stmt.newValNeighbor) + (1 if stmt.newValIsAfter else 0)
            labels.insert(at, stmt.newVal)
        else:
            labels.append(stmt.newVal)
    state.builder.add(dataclasses.replace(enum, labels=tuple(labels)))


@handles(ast.CreateDomainStmt)
def create_domain(state: State, stmt: Any) -> None:
    schema, name = _type_name(state, names_of(stmt.domainname))
    _check_type_free(state, schema, name)
    data_type = canon.data_type(state, stmt.typeName)
    collation = None
    if stmt.collClause is not None:
        collation = state.collation_text(names_of(stmt.collClause.collname))
    domain = Domain(schema, name, data_type, collation=collation)
    domain = dataclasses.replace(domain, depends_on=_domain_depends_on(state, domain, None))
    state.put_domain(None, domain)
    state.created("TYPE", schema, name)
    for c in stmt.constraints or ():
        domain = _domain_constraint(state, domain, c)


def _domain_constraint(state: State, domain: Domain, c: Any) -> Domain:
    from pglast.enums import ConstrType

    new = domain
    if c.contype == ConstrType.CONSTR_NOTNULL:
        new = dataclasses.replace(domain, not_null=True)
    elif c.contype == ConstrType.CONSTR_NULL:
        new = dataclasses.replace(domain, not_null=False)
    elif c.contype == ConstrType.CONSTR_DEFAULT:
        new = _domain_default(state, domain, c.raw_expr)
    elif c.contype == ConstrType.CONSTR_CHECK:
        if c.conname:
            name = sql_naming.truncate_identifier(c.conname)
        else:
            name = state.choose_constraint_name(domain.schema, domain.name, None, "check")
        with canon.collecting(state, (domain.schema, domain.name)) as used:
            expression = canon.domain_check_expression(state, c.raw_expr, domain.data_type)
        check = CheckConstraint(name, expression, validated=not c.skip_validation, depends_on=used.depends_on)
        new = dataclasses.replace(domain, checks=(*domain.checks, check))
    else:
        raise state.error(f"constraint {c.contype.name} is not allowed on a domain")
    state.put_domain(domain, new)
    return new


def _domain_default(state: State, domain: Domain, node: Any) -> Domain:
    """`domain` with the default `node` (None: none), and what it uses in depends_on."""
    if node is None:
        return dataclasses.replace(domain, default=None, depends_on=_domain_depends_on(state, domain, None))
    with canon.collecting(state, (domain.schema, domain.name)) as used:
        default = canon.default_expression(state, node, domain.data_type)
    changed = dataclasses.replace(domain, default=default)
    return dataclasses.replace(
        changed, depends_on=_domain_depends_on(state, changed, used if default else None)
    )


def _domain_depends_on(
    state: State, domain: Domain, default: canon.Collected | None
) -> tuple[Dependency, ...] | None:
    """What a domain's pg_type row depends on in pg_depend: its base type (when not
    pg_catalog's), its collation (a user one) and what its default uses (`default`:
    collected while analysing it)."""
    from nself.frontends.sql_expr.collations import user_collation
    from nself.frontends.sql_expr.views import as_pg_depend, user_type

    base = user_type(domain.data_type)
    found = {Dependency("type", *base)} if base is not None else set()
    # typcollation: its own, or its base type's (a domain over a collated domain)
    collation = user_collation(domain.collation or canon.type_collation(state, domain.data_type))
    if collation is not None:
        found.add(collation)
    if default is None:
        return tuple(sorted(found))
    known = default.depends_on
    return None if known is None else as_pg_depend(found | set(known))


@handles(ast.AlterDomainStmt)
def alter_domain(state: State, stmt: Any) -> None:
    domain: Domain | None = lookup_type(state, names_of(stmt.typeName), Domain, stmt.missing_ok)
    if domain is None:
        return
    kind = stmt.subtype
    if kind == "T":
        state.put_domain(domain, _domain_default(state, domain, stmt.def_))
    elif kind in ("N", "O"):
        state.put_domain(domain, dataclasses.replace(domain, not_null=kind == "O"))
    elif kind == "C":
        _domain_constraint(state, domain, stmt.def_)
    elif kind == "X":
        if not any(c.name == stmt.name for c in domain.checks):
            if stmt.missing_ok:
                return
            raise state.error(f'constraint "{stmt.name}" of domain "{domain.name}" does not exist')
        state.put_domain(
            domain, dataclasses.replace(domain, checks=tuple(c for c in domain.checks if c.name != stmt.name))
        )
    elif kind == "V":
        checks = tuple(
            dataclasses.replace(c, validated=True) if c.name == stmt.name else c for c in domain.checks
        )
        state.put_domain(domain, dataclasses.replace(domain, checks=checks))


@handles(ast.CompositeTypeStmt)
def create_composite(state: State, stmt: Any) -> None:
    rv = stmt.typevar
    schema = state.creation_schema(rv.schemaname)
    name = sql_naming.truncate_identifier(rv.relname)
    _check_type_free(state, schema, name)
    attributes = []
    for cd in stmt.coldeflist or ():
        collation = None
        if cd.collClause is not None:
            collation = state.collation_text(names_of(cd.collClause.collname))
        attributes.append(CompositeAttribute(cd.colname, canon.declared_type(state, cd.typeName), collation))
    state.builder.add(CompositeType(schema, name, tuple(attributes)))
    state.created("TYPE", schema, name)


@handles(ast.CreateRangeStmt)
def create_range(state: State, stmt: Any) -> None:
    schema, name = _type_name(state, names_of(stmt.typeName))
    _check_type_free(state, schema, name)
    params = {p.defname.lower(): p.arg for p in stmt.params or ()}
    subtype = params.get("subtype")
    if not isinstance(subtype, ast.TypeName):
        raise state.error('type attribute "subtype" is required')
    state.builder.add(RangeType(schema, name, canon.data_type(state, subtype)))
    state.created("TYPE", schema, name)


@handles(ast.AlterTypeStmt)
def alter_type(state: State, stmt: Any) -> None:
    raise Skip("ALTER TYPE ... SET (...) is not modelled")
