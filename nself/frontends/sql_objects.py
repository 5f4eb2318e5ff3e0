"""Handlers for schemas, extensions, types, views, routines, triggers, policies, grants,
comments, renames and drops."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pglast import ast
from pglast.enums import (
    DropBehavior,
    FunctionParameterMode,
    GrantTargetType,
    ObjectType,
    RoleSpecType,
    VariableSetKind,
)

from nself.frontends import sql_bodies, sql_naming
from nself.frontends import sql_canon as canon
from nself.frontends.sql_extensions import EXTENSIONS
from nself.frontends.sql_state import (
    PUBLIC_DEFAULTS,
    BodySource,
    ExprSource,
    Skip,
    State,
    column_types,
    handles,
    names_of,
    qualified,
    regclass_text,
    replaced,
)
from nself.frontends.sql_tables import (
    _children,
    _column,
    _replace_column,
    drop_table,
    find_constraint,
    mentions,
    remove_column,
)
from nself.ir.model import (
    CheckConstraint,
    Collation,
    CompositeAttribute,
    CompositeType,
    Constraint,
    Dependency,
    Domain,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    FunctionArgument,
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
    ViewDependency,
)
from nself.ir.names import quote_ident, quote_literal, quote_literal_escaped
from nself.sql_tree import walk

# --------------------------------------------------------------------------- session


def _set_search_path(state: State, values: list[str] | None) -> None:
    state.search_path = (
        state.default_search_path if values is None else tuple(v.strip() for v in values if v.strip())
    )


@handles(ast.VariableSetStmt)
def set_variable(state: State, stmt: Any) -> None:
    if stmt.name == "check_function_bodies":
        value = stmt.args[0].val if stmt.kind == VariableSetKind.VAR_SET_VALUE and stmt.args else None
        word = str(getattr(value, "sval", getattr(value, "ival", "on"))).lower()
        state.check_function_bodies = word not in ("off", "false", "0", "no")
        return
    if stmt.name != "search_path":
        return  # other session settings do not change the schema
    if stmt.kind in (
        VariableSetKind.VAR_SET_DEFAULT,
        VariableSetKind.VAR_RESET,
        VariableSetKind.VAR_RESET_ALL,
    ):
        _set_search_path(state, None)
    elif stmt.kind == VariableSetKind.VAR_SET_VALUE:
        values = []
        for arg in stmt.args or ():
            val = arg.val if isinstance(arg, ast.A_Const) else arg
            values.append(str(val.sval) if isinstance(val, ast.String) else str(getattr(val, "ival", val)))
        _set_search_path(state, values)


@handles(ast.SelectStmt)
def select(state: State, stmt: Any) -> None:
    """pg_dump's `SELECT pg_catalog.set_config('search_path', '', false);` sets search_path;
    other SELECTs (setval, ...) do not change the schema."""
    for target in stmt.targetList or ():
        call = getattr(target, "val", None)
        if isinstance(call, ast.FuncCall) and names_of(call.funcname)[-1] == "set_config":
            args = call.args or ()
            constants = len(args) >= 2 and all(isinstance(a, ast.A_Const) for a in args[:2])
            if constants and getattr(args[0].val, "sval", None) == "search_path":
                value = getattr(args[1].val, "sval", "") or ""
                _set_search_path(state, [v.strip().strip('"') for v in value.split(",")])
                return
        if isinstance(call, ast.FuncCall) and names_of(call.funcname)[-1] in ("setval", "nextval"):
            return
    raise Skip("SELECT is not modelled")


# --------------------------------------------------------------------------- schemas and extensions


@handles(ast.CreateSchemaStmt)
def create_schema(state: State, stmt: Any) -> None:
    from nself.frontends.sql_state import HANDLERS

    name = stmt.schemaname or (stmt.authrole.rolename if stmt.authrole is not None else None)
    if name is None:
        raise state.error("CREATE SCHEMA needs a name")
    if state.builder.get(Schema, name) is not None:
        if stmt.if_not_exists:
            return
        raise state.error(f'schema "{name}" already exists')
    state.builder.add(Schema(name))
    state.created("SCHEMA", name, name)
    if stmt.schemaElts:
        saved = state.search_path
        state.search_path = (name,)
        try:
            for element in stmt.schemaElts:
                HANDLERS[type(element)](state, element)
        finally:
            state.search_path = saved


def find_extension(state: State, name: str) -> Extension | None:
    return next((e for e in state.builder.all(Extension) if e.name == name), None)


@handles(ast.CreateExtensionStmt)
def create_extension(state: State, stmt: Any) -> None:
    name = stmt.extname
    platform = state.platform
    stand_in = platform.stand_in(name) if platform is not None else None
    if platform is not None and stand_in is not None and find_extension(state, name) is None:
        # The server lacks it: the platform's base defines what projects use from it, and
        # the managed cluster skips this statement (nself.runtime.migrate) alike.
        state.warn(stand_in.extension_skipped(platform.name))
        return
    if find_extension(state, name) is not None:
        if stmt.if_not_exists:
            return
        raise state.error(f'extension "{name}" already exists')
    options = {o.defname: o.arg for o in stmt.options or ()}
    info = EXTENSIONS.get(name)
    schema = None
    if options.get("schema") is not None:
        schema = options["schema"].sval
    elif info is not None and info.schema:
        schema = info.schema
    schema = state.creation_schema(schema)
    version = (
        options["new_version"].sval
        if options.get("new_version") is not None
        else (info.default_version if info else None)
    )
    if info is not None and options.get("cascade") is not None:
        for required in info.requires:
            if required != "plpgsql" and find_extension(state, required) is None:
                create_extension(
                    state, ast.CreateExtensionStmt(extname=required, if_not_exists=True, options=())
                )
    if name == "plpgsql":
        return
    state.builder.add(Extension(name, schema, version, info.comment if info else None))


@handles(ast.AlterExtensionStmt)
def alter_extension(state: State, stmt: Any) -> None:
    ext = find_extension(state, stmt.extname)
    if ext is None:
        raise state.error(f'extension "{stmt.extname}" does not exist')
    for opt in stmt.options or ():
        if opt.defname == "new_version":
            state.builder.add(dataclasses.replace(ext, version=opt.arg.sval))


# --------------------------------------------------------------------------- types


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


def _lookup_type(
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
    enum: Enum = _lookup_type(state, names_of(stmt.typeName), Enum)
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
    return dataclasses.replace(changed, depends_on=_domain_depends_on(state, changed, used if default else None))


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
    domain: Domain | None = _lookup_type(state, names_of(stmt.typeName), Domain, stmt.missing_ok)
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


# --------------------------------------------------------------------------- views


def _relations_read(
    state: State, query: Any, dependencies: tuple[ViewDependency, ...] | None = None
) -> frozenset[tuple[str, ...]]:
    """The relations a view reads: from its analysed query's dependencies when known, else
    every relation name in it that resolves."""
    if dependencies is not None:
        return frozenset((d.schema, d.name) for d in dependencies if d.kind != "function")
    found: set[tuple[str, ...]] = set()

    def walk(n: Any) -> None:
        if isinstance(n, ast.RangeVar):
            hit = state.find_relation(n.schemaname, str(n.relname))
            if hit is not None:
                found.add((hit[0], str(n.relname)))
            return
        if isinstance(n, ast.Node):
            for attr in n:
                walk(getattr(n, attr))
        elif isinstance(n, tuple):
            for item in n:
                walk(item)

    walk(query)
    return frozenset(found)


def _view_options(stmt_options: Any, check: Any = None) -> tuple[str, ...]:
    from nself.frontends.sql_tables import _option_value

    out = []
    for opt in stmt_options or ():
        out.append(f"{opt.defname}={_option_value(opt.arg)}")
    if check is not None and check.name != "NO_CHECK_OPTION":
        out.append("check_option=" + ("local" if check.name == "LOCAL_CHECK_OPTION" else "cascaded"))
    return tuple(out)


def _make_view(
    state: State,
    rv: Any,
    aliases: Iterable[Any] | None,
    query: Any,
    materialized: bool,
    options: tuple[str, ...],
    replace: bool,
    if_not_exists: bool = False,
) -> None:
    schema = state.creation_schema(rv.schemaname)
    name = sql_naming.truncate_identifier(rv.relname)
    existing = state.relation_in(schema, name)
    if existing is not None:
        if if_not_exists:
            return
        if not (replace and isinstance(existing, View) and not existing.materialized):
            raise state.error(f'relation "{name}" already exists', rv.location)
    query = copy.deepcopy(query)
    renames = names_of(aliases)
    if renames:
        _set_output_names(query, dict(enumerate(renames)))
    definition, columns, dependencies = canon.view_definition(state, query)
    if renames:
        columns = tuple(
            dataclasses.replace(col, name=renames[i]) if i < len(renames) else col
            for i, col in enumerate(columns)
        )
    _refuse_duplicate_columns(state, [c.name for c in columns], rv.location)
    comment = existing.comment if isinstance(existing, View) else None
    if isinstance(existing, View):
        old = {c.name: c.comment for c in existing.columns}
        columns = tuple(dataclasses.replace(c, comment=old.get(c.name)) for c in columns)
    state.builder.add(View(schema, name, definition, columns, materialized, options, comment, dependencies))
    if existing is None:
        state.created("TABLE", schema, name)
    state.view_dependencies[(schema, name)] = _relations_read(state, query, dependencies)
    state.view_sources[(schema, name)] = ExprSource("view", query, state.search_path)


def _refuse_duplicate_columns(state: State, names: Iterable[str], location: int | None) -> None:
    """PostgreSQL refuses a view (or CREATE TABLE AS) with two output columns of one name
    (`SELECT a.id, b.id`): 'column "id" specified more than once'."""
    seen: set[str] = set()
    for column in names:
        if column in seen:
            raise state.error(f'column "{column}" specified more than once', location)
        seen.add(column)


def _set_output_names(query: Any, names: dict[int, str]) -> bool:
    """Give the view's i-th output column the name names[i] (CREATE VIEW v (x, y), a
    renamed column), as PostgreSQL does to the stored query. False when the select list
    has a `*` the position cannot be found through."""
    while isinstance(query, ast.SelectStmt) and query.larg is not None:
        query = query.larg
    if not isinstance(query, ast.SelectStmt) or not query.targetList:
        return False
    targets = list(query.targetList)
    for i, target in enumerate(targets):
        if isinstance(target.val, ast.ColumnRef) and any(
            isinstance(f, ast.A_Star) for f in target.val.fields or ()
        ):
            return False
        if i in names:
            target.name = names[i]
    return True


def rederive_view(state: State, view: View) -> None:
    """Derive a view's definition again from its (edited) source, keeping its columns'
    names and comments."""
    source = state.view_sources.get((view.schema, view.name))
    if source is None:
        return
    saved = state.search_path
    state.search_path = source.search_path
    try:
        definition, columns, dependencies = canon.view_definition(state, source.node)
    finally:
        state.search_path = saved
    kept = tuple(
        dataclasses.replace(col, name=old.name, comment=old.comment) if i < len(view.columns) else col
        for i, (col, old) in enumerate(zip(columns, view.columns, strict=False))
    )
    state.builder.add(dataclasses.replace(view, definition=definition, columns=kept, depends_on=dependencies))
    if dependencies is not None:
        state.view_dependencies[(view.schema, view.name)] = _relations_read(state, source.node, dependencies)


def rename_in_view_dependencies(
    state: State,
    kinds: tuple[str, ...],
    old: tuple[str, str],
    new: tuple[str, str],
    column: tuple[str, str] | None = None,
) -> None:
    """Follow a rename (or a move to another schema) in every depends_on (of views, indexes,
    policies, triggers, functions, domains and their checks, columns, checks and exclusion
    constraints): of a relation, a function or a type (`kinds`), from `old` (schema, name)
    to `new`; or, with `column` (old, new), of that relation's column. PostgreSQL keeps
    oids and attnums, so its dependencies follow by themselves."""

    def follow(deps: tuple[Dependency, ...] | None) -> tuple[Dependency, ...] | None:
        if not deps:
            return deps
        changed = []
        for d in deps:
            if d.kind in kinds and (d.schema, d.name) == old:
                if column is None:
                    d = dataclasses.replace(d, schema=new[0], name=new[1])
                elif d.column == column[0]:
                    d = dataclasses.replace(d, column=column[1])
            changed.append(d)
        return deps if changed == list(deps) else tuple(sorted(changed))

    def followed(node: Any) -> Any:
        after = follow(node.depends_on)
        if after is not node.depends_on:
            node = dataclasses.replace(node, depends_on=after)
        if isinstance(node, Function):
            defaults = follow(node.defaults_depends_on)
            if defaults is not node.defaults_depends_on:
                node = dataclasses.replace(node, defaults_depends_on=defaults)
        return node

    nodes: list[View | Index | Policy | Trigger | Function] = [
        *state.builder.all(View),
        *state.builder.all(Index),
        *state.builder.all(Policy),
        *state.builder.all(Trigger),
        *state.builder.all(Function),
    ]
    for node in nodes:
        after = followed(node)
        if after is not node:
            state.builder.add(after)
    for domain in list(state.builder.all(Domain)):
        checks = tuple(followed(c) for c in domain.checks)
        moved: Domain = followed(domain)
        if moved is not domain or any(a is not b for a, b in zip(checks, domain.checks, strict=True)):
            state.put_domain(domain, dataclasses.replace(moved, checks=checks))
    for publication in list(state.builder.all(Publication)):
        tables = tuple(followed(t) for t in publication.tables)
        if any(a is not b for a, b in zip(tables, publication.tables, strict=True)):
            state.builder.add(dataclasses.replace(publication, tables=tables))
    for table in list(state.builder.all(Table)):
        columns = tuple(followed(c) for c in table.columns)
        constraints: tuple[Constraint, ...] = tuple(
            followed(c) if isinstance(c, (CheckConstraint, ExclusionConstraint)) else c
            for c in table.constraints
        )
        if any(a is not b for a, b in zip(columns, table.columns, strict=True)) or any(
            a is not b for a, b in zip(constraints, table.constraints, strict=True)
        ):
            table = state.update_table(table, columns=columns, constraints=constraints)
        if table.partition_by is not None:
            spec = followed(table.partition_by)
            if spec is not table.partition_by:
                state.update_table(table, partition_by=spec)


def _views_using(state: State, kind: str, schema: str, name: str) -> list[View]:
    return [
        v
        for v in state.builder.all(View)
        if any(d.schema == schema and d.name == name and (d.kind == "function") == (kind == "function") for d in v.depends_on or ())
    ]


def _move_function_in_views(state: State, old: tuple[str, str], new: tuple[str, str]) -> None:
    """A function renamed or moved to another schema (the only one of its name there):
    the views calling it name it so from now on, as PostgreSQL prints them."""
    users = _views_using(state, "function", *old)
    rename_in_view_dependencies(state, ("function",), old, new)
    for view in users:
        source = state.view_sources.get((view.schema, view.name))
        current = state.builder.get(View, view.schema, view.name)
        if source is None or current is None:
            continue
        for node in walk(source.node):
            called = names_of(node.funcname) if isinstance(node, ast.FuncCall) else []
            if called[-1:] == [old[1]] and (len(called) == 1 or called[-2] == old[0]):
                node.funcname = (ast.String(sval=new[0]), ast.String(sval=new[1]))
        rederive_view(state, current)


def _move_relation_in_views(state: State, old: tuple[str, str], new_schema: str) -> None:
    """A table, view or sequence moved to another schema: the views reading it name it so."""
    users = _views_using(state, "relation", *old)
    rename_in_view_dependencies(state, ("relation", "column"), old, (new_schema, old[1]))
    for view in users:
        source = state.view_sources.get((view.schema, view.name))
        current = state.builder.get(View, view.schema, view.name)
        if source is None or current is None:
            continue
        for node in walk(source.node):
            if isinstance(node, ast.RangeVar) and node.relname == old[1] and node.schemaname in (None, old[0]):
                node.schemaname = new_schema
        rederive_view(state, current)


def _rename_relation_in_views(state: State, schema: str, old: str, new: str) -> None:
    rename_in_view_dependencies(state, ("relation", "column"), (schema, old), (schema, new))
    for view_key, reads in list(state.view_dependencies.items()):
        source = state.view_sources.get(view_key)
        view = state.builder.get(View, *view_key)
        if source is None or view is None or (schema, new) not in reads:
            continue
        for node in walk(source.node):
            if isinstance(node, ast.RangeVar) and node.relname == old and node.schemaname in (None, schema):
                node.relname = new
            elif isinstance(node, ast.ColumnRef) and node.fields and len(node.fields) >= 2:
                qualifier = node.fields[-2]
                if isinstance(qualifier, ast.String) and qualifier.sval == old:
                    node.fields = (*node.fields[:-2], ast.String(sval=new), node.fields[-1])
        rederive_view(state, view)


def _rename_column_in_views(state: State, schema: str, table: str, old: str, new: str) -> None:
    rename_in_view_dependencies(state, ("column",), (schema, table), (schema, table), (old, new))
    for view_key, reads in list(state.view_dependencies.items()):
        source = state.view_sources.get(view_key)
        view = state.builder.get(View, *view_key)
        if source is None or view is None or (schema, table) not in reads:
            continue
        if len(reads) > 1:
            state.warn(
                f"view {view.name}: its definition is not re-derived after a column of {table} was renamed"
            )
            continue
        query = source.node
        top = query
        while isinstance(top, ast.SelectStmt) and top.larg is not None:
            top = top.larg
        for target in getattr(top, "targetList", None) or ():
            ref = target.val
            if target.name is None and isinstance(ref, ast.ColumnRef) and names_of(ref.fields)[-1:] == [old]:
                target.name = old  # the view's column keeps its name
        source.node = rename_column_refs(query, old, new)
        rederive_view(state, view)


@handles(ast.ViewStmt)
def create_view(state: State, stmt: Any) -> None:
    if stmt.view.relpersistence == "t":
        state.temporary.add(stmt.view.relname)
        raise Skip("temporary views are not part of a schema")
    options = _view_options(stmt.options, stmt.withCheckOption)
    _make_view(state, stmt.view, stmt.aliases, stmt.query, False, options, bool(stmt.replace))


@handles(ast.CreateTableAsStmt)
def create_table_as(state: State, stmt: Any) -> None:
    into = stmt.into
    if stmt.objtype == ObjectType.OBJECT_MATVIEW:
        _make_view(
            state,
            into.rel,
            into.colNames,
            stmt.query,
            True,
            _view_options(into.options),
            False,
            bool(stmt.if_not_exists),
        )
        return
    if into.rel.relpersistence == "t":
        state.temporary.add(into.rel.relname)
        raise Skip("temporary tables are not part of a schema")
    schema = state.creation_schema(into.rel.schemaname)
    name = sql_naming.truncate_identifier(into.rel.relname)
    if state.relation_taken(schema, name):
        if stmt.if_not_exists:
            return
        raise state.error(f'relation "{name}" already exists')
    from nself.ir.model import Column

    _, columns, _ = canon.view_definition(state, stmt.query)
    renames = names_of(into.colNames)
    cols = tuple(
        Column(renames[i] if i < len(renames) else c.name, c.data_type) for i, c in enumerate(columns)
    )
    _refuse_duplicate_columns(state, [c.name for c in cols], into.rel.location)
    state.put_table(None, Table(schema, name, cols, unlogged=into.rel.relpersistence == "u"))
    state.created("TABLE", schema, name)
    state.warn("CREATE TABLE AS: the table's columns are modelled, its rows are not")


@handles(ast.RefreshMatViewStmt)
def refresh(state: State, stmt: Any) -> None:
    return None


# --------------------------------------------------------------------------- routines

_MODES = {
    FunctionParameterMode.FUNC_PARAM_IN: "IN",
    FunctionParameterMode.FUNC_PARAM_DEFAULT: "IN",
    FunctionParameterMode.FUNC_PARAM_OUT: "OUT",
    FunctionParameterMode.FUNC_PARAM_INOUT: "INOUT",
    FunctionParameterMode.FUNC_PARAM_VARIADIC: "VARIADIC",
    FunctionParameterMode.FUNC_PARAM_TABLE: "TABLE",
}


def _without_modifier(type_name: Any) -> Any:
    """PostgreSQL keeps no type modifier on a routine's arguments and result: numeric(10,2)
    is numeric there."""
    if type_name is None or not type_name.typmods:
        return type_name
    return ast.TypeName(
        names=type_name.names,
        setof=type_name.setof,
        pct_type=type_name.pct_type,
        arrayBounds=type_name.arrayBounds,
        location=type_name.location,
    )


def _arguments(state: State, params: Any) -> tuple[FunctionArgument, ...]:
    out = []
    for p in params or ():
        data_type = canon.data_type(state, _without_modifier(p.argType))
        default = canon.default_expression(state, p.defexpr, data_type) if p.defexpr is not None else None
        if default is None and p.defexpr is not None:
            # a column drops DEFAULT NULL; an argument keeps it, as the typed constant
            default = f"NULL::{data_type}"
        out.append(FunctionArgument(p.name, data_type, _MODES[p.mode], default))  # type: ignore[arg-type]
    return tuple(out)


def _identity_args(arguments: Iterable[FunctionArgument]) -> str:
    return ", ".join(a.data_type for a in arguments if a.mode in ("IN", "INOUT", "VARIADIC"))


def _returns(state: State, stmt: Any, arguments: tuple[FunctionArgument, ...]) -> str | None:
    table_cols = [a for a in arguments if a.mode == "TABLE"]
    if table_cols:
        return "TABLE(" + ", ".join(f"{quote_ident(a.name or '')} {a.data_type}" for a in table_cols) + ")"
    if stmt.returnType is not None:
        text = canon.data_type(state, _without_modifier(stmt.returnType))
        return ("SETOF " + text) if stmt.returnType.setof else text
    if stmt.is_procedure:
        return None
    outs = [a for a in arguments if a.mode in ("OUT", "INOUT")]
    if len(outs) == 1:
        return outs[0].data_type
    return "record" if outs else "void"


def _config_value(stmt: Any) -> str | None:
    if stmt.kind != VariableSetKind.VAR_SET_VALUE:
        return None
    values = []
    for arg in stmt.args or ():
        val = arg.val if isinstance(arg, ast.A_Const) else arg
        if isinstance(val, ast.String):
            text = str(val.sval or "")
            if stmt.name == "search_path":
                text = quote_ident(text) if text else '""'
            values.append(text)
        else:
            values.append(str(getattr(val, "ival", getattr(val, "fval", val))))
    return f"{stmt.name}={', '.join(values)}"


@handles(ast.CreateFunctionStmt)
def create_function(state: State, stmt: Any) -> None:
    names = names_of(stmt.funcname)
    schema = state.creation_schema(names[-2] if len(names) > 1 else None)
    name = sql_naming.truncate_identifier(names[-1])
    with canon.collecting(state, (schema, name)) as defaults_use:
        arguments = _arguments(state, stmt.parameters)
    options: dict[str, Any] = {}
    config: list[str] = []
    for opt in stmt.options or ():
        if opt.defname == "set":
            text = _config_value(opt.arg)
            if text is not None:
                config.append(text)
        else:
            options[opt.defname] = opt.arg
    body = ""
    if "as" in options:
        parts = names_of(options["as"])
        body = parts[-1] if len(parts) == 1 else parts[1]
    elif stmt.sql_body is not None:
        body = _sql_body(stmt.sql_body)
    language = options["language"].sval.lower() if "language" in options else "sql"
    language_stand_in = state.platform.stand_in_language(language) if state.platform is not None else None
    if language_stand_in is not None:
        state.warn(language_stand_in.function_skipped(f"{schema}.{name}", language))
        return
    volatility = options["volatility"].sval.upper() if "volatility" in options else "VOLATILE"
    returns = _returns(state, stmt, arguments)
    kind = (
        "procedure" if stmt.is_procedure else ("window" if options.get("window") is not None else "function")
    )
    default_cost = 1.0 if language in ("c", "internal") else 100.0
    cost = float(_num(options["cost"])) if "cost" in options else None
    if cost == default_cost:
        cost = None
    rows = float(_num(options["rows"])) if "rows" in options else None
    if rows is not None and rows == (
        1000.0 if returns and (returns.startswith("SETOF ") or returns.startswith("TABLE(")) else 0.0
    ):
        rows = None
    function = Function(
        schema,
        name,
        arguments,
        kind,  # type: ignore[arg-type]
        returns,
        language,
        body,
        volatility,  # type: ignore[arg-type]
        strict=bool(options["strict"].boolval) if "strict" in options else False,
        security_definer=bool(options["security"].boolval) if "security" in options else False,
        leakproof=bool(options["leakproof"].boolval) if "leakproof" in options else False,
        parallel=options["parallel"].sval.upper() if "parallel" in options else "UNSAFE",
        cost=cost,
        rows=rows,
        config=tuple(config),
    )
    if stmt.sql_body is not None:
        function = dataclasses.replace(
            function, depends_on=_sql_body_dependencies(state, stmt.sql_body, function, defaults_use)
        )
    else:
        function = dataclasses.replace(
            function, defaults_depends_on=_signature_dependencies(function, defaults_use)
        )
    existing = state.builder.get(Function, schema, name, _identity_args(arguments))
    if existing is not None:
        if not stmt.replace:
            raise state.error(f'function "{name}" already exists with same argument types')
        function = dataclasses.replace(function, comment=existing.comment)
    state.builder.add(function)
    key = (schema, name, function.identity_arguments)
    if sql_bodies.analysed(function) and stmt.sql_body is None:
        path = state.search_path if state.check_function_bodies else state.default_search_path
        state.body_sources[key] = BodySource(
            state.file, state.position()[0], tuple(path), checked=state.check_function_bodies
        )
    else:
        state.body_sources.pop(key, None)
    if existing is None:
        state.created("FUNCTION", schema, f"{name}({function.identity_arguments})")


def _sql_body_dependencies(
    state: State, body: Any, function: Function, defaults_use: canon.Collected
) -> tuple[Dependency, ...] | None:
    """What pg_depend records for a routine with a SQL-standard body: the user types of its
    signature (every argument's, the result's), what its argument defaults use, and what
    its body uses; None when the body (or a default) is not analysed."""
    statements = [body] if isinstance(body, ast.ReturnStmt) else list(_body_statements(body))
    parameters = [(a.name, a.data_type) for a in function.arguments if a.mode in ("IN", "INOUT", "VARIADIC")]
    used = canon.routine_dependencies(state, statements, parameters, function.name)
    signature = _signature_dependencies(function, defaults_use)
    if used is None or signature is None:
        return None
    from nself.frontends.sql_expr.views import as_pg_depend

    return as_pg_depend(set(used) | set(signature))


def _signature_dependencies(function: Function, defaults_use: canon.Collected) -> tuple[Dependency, ...] | None:
    """What pg_depend records for a routine besides its body: the user types of its
    signature (every argument's, the result's) and what its argument defaults use; None
    when a default is not analysed."""
    from nself.frontends.sql_expr.views import as_pg_depend, user_type

    defaults = defaults_use.depends_on
    if defaults is None:
        return None
    found = set(defaults)
    types = [a.data_type for a in function.arguments]
    if function.returns and not function.returns.startswith("TABLE("):
        types.append(function.returns.removeprefix("SETOF "))
    found |= {Dependency("type", *t) for text in types if (t := user_type(text)) is not None}
    return as_pg_depend(found)


def _move_function_in_operators(state: State, f: Function, schema: str, name: str) -> None:
    """A routine renamed or moved: the operators calling it (or estimating with it) name it
    so from now on, as regproc prints it (PostgreSQL holds its oid)."""
    old, new = _regproc(state, [f.schema, f.name]), _regproc(state, [schema, name])
    for op in list(state.builder.all(Operator)):
        fields = {k: new for k in ("function", "restrict", "join") if getattr(op, k) == old}
        if fields:
            state.builder.add(dataclasses.replace(op, **fields))  # type: ignore[arg-type]


def _move_body_source(state: State, f: Function, schema: str, name: str) -> None:
    """A renamed or moved routine keeps where it was created (State.body_sources)."""
    source = state.body_sources.pop((f.schema, f.name, f.identity_arguments), None)
    if source is not None:
        state.body_sources[(schema, name, f.identity_arguments)] = source


def _body_statements(body: Any) -> Any:
    return (body[0] if body and isinstance(body[0], tuple) else body) or ()


def _sql_body(body: Any) -> str:
    """A SQL-standard body (RETURN ... / BEGIN ATOMIC ... END) in the layout of
    pg_get_function_sqlbody; expressions as pglast prints them (not yet canonical)."""
    if isinstance(body, ast.ReturnStmt):
        return f"RETURN {canon.deparse(body.returnval)}"
    return "BEGIN ATOMIC\n" + "".join(f" {canon.deparse(s)};\n" for s in _body_statements(body)) + "END"


def _num(node: Any) -> float:
    if isinstance(node, ast.Integer):
        return float(node.ival or 0)
    if isinstance(node, ast.Float):
        return float(str(node.fval))
    return float(str(getattr(node, "sval", node)))


def find_function(state: State, owa: Any, missing_ok: bool = False) -> Function | None:
    names = names_of(owa.objname)
    schema = names[-2] if len(names) > 1 else None
    fname = names[-1]
    schemas = [schema] if schema else state.path_schemas()
    candidates = [f for f in state.builder.all(Function) if f.name == fname and f.schema in schemas]
    if not owa.args_unspecified:
        args = []
        for p in owa.objfuncargs or ():
            if p.mode in (FunctionParameterMode.FUNC_PARAM_OUT, FunctionParameterMode.FUNC_PARAM_TABLE):
                continue
            args.append(canon.data_type(state, p.argType))
        if not owa.objfuncargs and owa.objargs:
            args = [canon.data_type(state, t) for t in owa.objargs]
        wanted = ", ".join(args)
        candidates = [f for f in candidates if f.identity_arguments == wanted]
    candidates.sort(key=lambda f: schemas.index(f.schema))
    if not candidates or (
        owa.args_unspecified
        and len({c.identity_arguments for c in candidates if c.schema == candidates[0].schema}) > 1
    ):
        if missing_ok:
            return None
        if candidates:
            raise state.error(f'function name "{fname}" is not unique')
        raise state.error(f"function {qualified(schema, fname)} does not exist")
    return candidates[0]


@handles(ast.AlterFunctionStmt)
def alter_function(state: State, stmt: Any) -> None:
    function = find_function(state, stmt.func)
    assert function is not None
    changes: dict[str, Any] = {}
    config = list(function.config)
    for opt in stmt.actions or ():
        if opt.defname == "set":
            var = opt.arg
            config = [c for c in config if not c.startswith(var.name + "=")]
            text = _config_value(var)
            if text is not None:
                config.append(text)
        elif opt.defname == "volatility":
            changes["volatility"] = opt.arg.sval.upper()
        elif opt.defname == "strict":
            changes["strict"] = bool(opt.arg.boolval)
        elif opt.defname == "security":
            changes["security_definer"] = bool(opt.arg.boolval)
        elif opt.defname == "leakproof":
            changes["leakproof"] = bool(opt.arg.boolval)
        elif opt.defname == "parallel":
            changes["parallel"] = opt.arg.sval.upper()
        elif opt.defname == "cost":
            changes["cost"] = _num(opt.arg)
        elif opt.defname == "rows":
            changes["rows"] = _num(opt.arg)
    state.builder.add(dataclasses.replace(function, config=tuple(config), **changes))


@handles(ast.DefineStmt)
def define(state: State, stmt: Any) -> None:
    if stmt.kind == ObjectType.OBJECT_AGGREGATE:
        define_aggregate(state, stmt)
        return
    if stmt.kind == ObjectType.OBJECT_COLLATION:
        create_collation(state, stmt)
        return
    if stmt.kind == ObjectType.OBJECT_OPERATOR:
        create_operator(state, stmt)
        return
    raise Skip(f"CREATE {stmt.kind.name.removeprefix('OBJECT_')} is not modelled")


# --------------------------------------------------------------------------- operators


def create_operator(state: State, stmt: Any) -> None:
    """CREATE OPERATOR: an Operator of the IR, named as the live frontend reads pg_operator."""
    names = names_of(stmt.defnames)
    schema = state.creation_schema(names[-2] if len(names) > 1 else None)
    name = names[-1]
    options = {d.defname.lower(): d.arg for d in stmt.definition or ()}
    left = canon.data_type(state, options["leftarg"]) if options.get("leftarg") is not None else None
    if options.get("rightarg") is None:
        raise state.error("operator right argument type must be specified")
    right = canon.data_type(state, options["rightarg"])
    code = options.get("function", options.get("procedure"))
    if code is None:
        raise state.error("operator function must be specified")
    if state.builder.get(Operator, schema, name, left or "", right) is not None:
        raise state.error(f"operator {name} already exists")

    def other(arg: Any, swapped: bool) -> str | None:
        if arg is None:
            return None
        parts = [str(p.sval) for p in arg] if isinstance(arg, (list, tuple)) else names_of(arg.names)
        if len(parts) > 1:
            return f"OPERATOR({quote_ident(parts[-2])}.{parts[-1]})"
        types = (right, left) if swapped else (left, right)
        for s in state.path_schemas():
            if state.builder.get(Operator, s, parts[-1], types[0] or "", types[1] or "") is not None:
                return f"OPERATOR({quote_ident(s)}.{parts[-1]})"
        # none yet (or itself): PostgreSQL makes a shell for it (or links the operator to
        # itself) in the creation schema of the bare name
        return f"OPERATOR({quote_ident(state.creation_schema(None))}.{parts[-1]})"

    operator = Operator(
        schema,
        name,
        left,
        right,
        _regproc(state, names_of(code.names)),
        commutator=other(options.get("commutator"), True),
        negator=other(options.get("negator"), False),
        restrict=_regproc(state, names_of(options["restrict"].names)) if options.get("restrict") else None,
        join=_regproc(state, names_of(options["join"].names)) if options.get("join") else None,
        hashes="hashes" in options,
        merges="merges" in options,
    )
    state.builder.add(operator)
    state.operators.setdefault(schema, set()).add(name)


def find_operator(state: State, owa: Any, missing_ok: bool = False) -> Operator | None:
    """The operator an ObjectWithArgs names (DROP, COMMENT ON, ALTER OPERATOR)."""
    names = names_of(owa.objname)
    args = list(owa.objargs or ())
    types = [canon.data_type(state, t) if t is not None else None for t in args]
    left, right = (types[0], types[1]) if len(types) == 2 else (None, types[-1] if types else None)
    schemas = [names[-2]] if len(names) > 1 else state.path_schemas()
    for s in schemas:
        found = state.builder.get(Operator, s, names[-1], left or "", right or "")
        if found is not None:
            return found
    if missing_ok:
        return None
    raise state.error(f"operator does not exist: {qualified(names[-2] if len(names) > 1 else None, names[-1])}")


@handles(ast.AlterOperatorStmt)
def alter_operator(state: State, stmt: Any) -> None:
    """ALTER OPERATOR ... SET (RESTRICT = f, JOIN = f)."""
    op = find_operator(state, stmt.opername)
    assert op is not None
    changes: dict[str, str | None] = {}
    for d in stmt.options or ():
        if d.defname.lower() in ("restrict", "join"):
            changes[d.defname.lower()] = _regproc(state, names_of(d.arg.names)) if d.arg is not None else None
        else:
            raise Skip(f"ALTER OPERATOR SET ({d.defname.upper()}) is not modelled")
    state.builder.add(dataclasses.replace(op, **changes))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- collations

# pg_catalog's collations that exist on every PostgreSQL 15 (libc, LC_COLLATE = LC_CTYPE).
_SYSTEM_LIBC_COLLATIONS = {"C": "C", "POSIX": "POSIX", "ucs_basic": "C"}


def _def_value(arg: Any) -> str:
    if isinstance(arg, ast.TypeName):
        return names_of(arg.names)[-1]
    if isinstance(arg, ast.String):
        return str(arg.sval)
    if isinstance(arg, ast.Boolean):
        return "true" if arg.boolval else "false"
    if isinstance(arg, (ast.Integer, ast.Float)):
        return str(arg.ival if isinstance(arg, ast.Integer) else arg.fval)
    return str(arg)


def find_collation(state: State, names: list[str]) -> Collation | None:
    """A collation made by CREATE COLLATION (pg_catalog's come first for a bare name)."""
    if len(names) > 1:
        return state.builder.get(Collation, names[-2], names[-1])
    for schema in state.path_schemas():
        found = state.builder.get(Collation, schema, names[-1])
        if found is not None:
            return found
    return None


def _system_collation(name: str) -> Collation | None:
    """What CREATE COLLATION ... FROM copies from one of pg_catalog's collations: the
    fixed libc ones, an ICU one (`en-x-icu`), or an operating-system locale (`en_US.utf8`)."""
    if name == "default":
        return None
    if name in _SYSTEM_LIBC_COLLATIONS:
        locale = _SYSTEM_LIBC_COLLATIONS[name]
        return Collation("pg_catalog", name, "libc", lc_collate=locale, lc_ctype=locale)
    if name.endswith("-x-icu"):
        return Collation("pg_catalog", name, "icu", locale=name.removesuffix("-x-icu"))
    if name == "unicode":
        return Collation("pg_catalog", name, "icu", locale="und")
    return Collation("pg_catalog", name, "libc", lc_collate=name, lc_ctype=name)


def create_collation(state: State, stmt: Any) -> None:
    """CREATE COLLATION name FROM other, or with provider/locale/lc_collate/lc_ctype/
    deterministic options; kept in the IR's canonical form (see Collation)."""
    names = names_of(stmt.defnames)
    schema = state.creation_schema(names[-2] if len(names) > 1 else None)
    name = sql_naming.truncate_identifier(names[-1])
    if state.builder.get(Collation, schema, name) is not None:
        if stmt.if_not_exists:
            return
        raise state.error(f'collation "{name}" already exists')
    options = {d.defname.lower(): d.arg for d in stmt.definition or ()}
    if "from" in options:
        source_names = [str(n.sval) for n in options["from"]]
        source = None
        if len(source_names) == 1 and source_names[0] in _SYSTEM_LIBC_COLLATIONS:
            source = _system_collation(source_names[0])
        if source is None:
            source = find_collation(state, source_names)
        if source is None and (len(source_names) == 1 or source_names[-2] == "pg_catalog"):
            source = _system_collation(source_names[-1])
        if source is None:
            raise state.error(f'collation "{".".join(source_names)}" for encoding "UTF8" does not exist')
        state.builder.add(dataclasses.replace(source, schema=schema, name=name, comment=None))
        return
    values = {key: _def_value(arg) for key, arg in options.items()}
    provider = values.get("provider", "libc").lower()
    if provider not in ("libc", "icu", "builtin"):
        raise state.error(f"unrecognized collation provider: {provider}")
    deterministic = values.get("deterministic", "true").lower() in ("true", "on", "1", "yes")
    locale = values.get("locale")
    if provider == "libc":
        lc_collate = values.get("lc_collate", locale)
        lc_ctype = values.get("lc_ctype", locale)
        if lc_collate is None:
            raise state.error('parameter "lc_collate" must be specified')
        if lc_ctype is None:
            raise state.error('parameter "lc_ctype" must be specified')
        collation = Collation(
            schema, name, "libc", lc_collate=lc_collate, lc_ctype=lc_ctype, deterministic=deterministic
        )
    else:
        if locale is None:
            raise state.error('parameter "locale" must be specified')
        collation = Collation(schema, name, provider, locale=locale, deterministic=deterministic)  # type: ignore[arg-type]
    state.builder.add(collation)


def _collation_refs(state: State, old: str, new: str | None) -> None:
    """Columns, domains, composite attributes and index keys that name collation `old`
    (as collation_text prints it) name `new` instead (None: the type's default)."""
    b = state.builder

    def fix(node: Any) -> Any:
        return dataclasses.replace(node, collation=new) if node.collation == old else node

    for table in list(b.all(Table)):
        columns = tuple(fix(c) for c in table.columns)
        if columns != table.columns:
            state.update_table(table, columns=columns)
    for domain in list(b.all(Domain)):
        if domain.collation == old:
            state.put_domain(domain, fix(domain))
    for composite in list(b.all(CompositeType)):
        attributes = tuple(fix(a) for a in composite.attributes)
        if attributes != composite.attributes:
            b.add(dataclasses.replace(composite, attributes=attributes))
    for index in list(b.all(Index)):
        keys = tuple(fix(k) for k in index.keys)
        if keys != index.keys:
            b.add(dataclasses.replace(index, keys=keys))
    for view in list(b.all(View)):
        view_columns = tuple(fix(c) for c in view.columns)
        if view_columns != view.columns:
            b.add(dataclasses.replace(view, columns=view_columns))


def _collation_text(collation: Collation) -> str:
    return f"{quote_ident(collation.schema)}.{quote_ident(collation.name)}"


_AGGREGATE_FUNCS = (
    "sfunc",
    "finalfunc",
    "combinefunc",
    "serialfunc",
    "deserialfunc",
    "msfunc",
    "minvfunc",
    "mfinalfunc",
)
# CREATE AGGREGATE options in the order pg_dump writes them: the IR keeps them as the body.
_AGGREGATE_ORDER = (
    "sfunc",
    "stype",
    "sspace",
    "initcond",
    "finalfunc",
    "finalfunc_extra",
    "finalfunc_modify",
    "combinefunc",
    "serialfunc",
    "deserialfunc",
    "msfunc",
    "minvfunc",
    "mstype",
    "msspace",
    "minitcond",
    "mfinalfunc",
    "mfinalfunc_extra",
    "mfinalfunc_modify",
    "sortop",
    "parallel",
)


def _regproc(state: State, names: list[str]) -> str:
    """A function named in CREATE AGGREGATE as `::regproc::text` prints it with
    search_path = pg_catalog: user functions qualified, PostgreSQL's bare."""
    target = _user_routine(state, names)
    if target is not None:
        return f"{quote_ident(target[0])}.{quote_ident(target[1])}"
    return quote_ident(names[-1])


def _user_routine(state: State, names: list[str]) -> tuple[str, str] | None:
    """(schema, name) of the routine a name in CREATE AGGREGATE designates, when it is not
    PostgreSQL's own (a qualified name as written; else the first of the path that has it)."""
    if len(names) > 1:
        return None if names[-2] == "pg_catalog" else (names[-2], names[-1])
    schemas = state.path_schemas()
    for f in state.builder.all(Function):
        if f.name == names[-1] and f.schema in schemas:
            return f.schema, f.name
    return None


def _aggregate_dependencies(
    state: State, definition: dict[str, Any], arguments: list[FunctionArgument], returns: str | None
) -> tuple[Dependency, ...]:
    """What pg_depend records for an aggregate: its functions (SFUNC, FINALFUNC, COMBINEFUNC,
    SERIALFUNC, DESERIALFUNC, MSFUNC, MINVFUNC, MFINALFUNC), its SORTOP, and the user types of
    its state (STYPE, MSTYPE) and signature (arguments, result)."""
    from nself.frontends.sql_expr.views import as_pg_depend, user_type

    found: set[Dependency] = set()
    for key in _AGGREGATE_FUNCS:
        arg = definition.get(key)
        if arg is not None:
            target = _user_routine(state, names_of(arg.names) if isinstance(arg, ast.TypeName) else names_of(arg))
            if target is not None:
                found.add(Dependency("function", *target))
    types = [a.data_type for a in arguments] + ([returns] if returns else [])
    types += [canon.data_type(state, definition[k]) for k in ("stype", "mstype") if k in definition]
    found |= {Dependency("type", *t) for text in types if (t := user_type(text)) is not None}
    sortop = definition.get("sortop")
    if sortop is not None:
        op = names_of(sortop)
        if len(op) > 1:
            if op[-2] != "pg_catalog":
                found.add(Dependency("operator", op[-2], op[-1]))
        else:
            schema = next((s for s in state.path_schemas() if op[-1] in state.operators.get(s, ())), None)
            if schema is not None:
                found.add(Dependency("operator", schema, op[-1]))
    return as_pg_depend(found)


def define_aggregate(state: State, stmt: Any) -> None:
    """A plain aggregate: its signature, result and options (the body, as pg_dump writes
    them). Ordered-set aggregates are kept only while interpreting (views may call them);
    the IR leaves them out."""
    names = names_of(stmt.defnames)
    schema = state.creation_schema(names[-2] if len(names) > 1 else None)
    definition = {d.defname.lower(): d.arg for d in stmt.definition or ()}
    args: list[FunctionArgument] = []
    if stmt.oldstyle:
        base = definition.pop("basetype", None)
        if isinstance(base, ast.TypeName) and names_of(base.names) != ["any"]:
            args.append(FunctionArgument(None, canon.data_type(state, base)))
    else:
        for p in (stmt.args[0] if stmt.args else None) or ():
            if isinstance(p, ast.FunctionParameter):
                mode: Any = _MODES[p.mode] if p.mode is not None else "IN"
                args.append(FunctionArgument(p.name, canon.data_type(state, p.argType), mode))
    ordered_set = (
        bool(stmt.args) and len(stmt.args) > 1 and getattr(stmt.args[1], "ival", -1) not in (-1, None)
    )
    options: list[str] = []
    returns: str | None = None
    for key in _AGGREGATE_ORDER:
        if key not in definition:
            continue
        arg = definition[key]
        if key in _AGGREGATE_FUNCS:
            text = _regproc(state, names_of(arg.names) if isinstance(arg, ast.TypeName) else names_of(arg))
        elif key in ("stype", "mstype"):
            text = canon.data_type(state, arg)
        elif key in ("initcond", "minitcond"):
            text = quote_literal_escaped(str(getattr(arg, "sval", getattr(arg, "ival", ""))))
        elif key == "sortop":
            op = names_of(arg)
            text = f"OPERATOR({quote_ident(op[-2]) if len(op) > 1 else 'pg_catalog'}.{op[-1]})"
        elif key == "parallel":
            level = (
                names_of(arg.names)[-1] if isinstance(arg, ast.TypeName) else str(getattr(arg, "sval", ""))
            ).lower()
            if level == "unsafe":
                continue
            text = level
        elif key in ("finalfunc_extra", "mfinalfunc_extra"):
            options.append(key.upper())
            continue
        else:
            text = str(getattr(arg, "sval", getattr(arg, "ival", arg)))
            text = text.upper() if key.endswith("_modify") else text
            if key.endswith("_modify") and text == "READ_ONLY":
                continue
        options.append(f"{key.upper()} = {text}")
    stype = definition.get("stype")
    returns = canon.data_type(state, stype) if isinstance(stype, ast.TypeName) else None
    finalfunc = definition.get("finalfunc")
    if isinstance(finalfunc, ast.TypeName):
        final = names_of(finalfunc.names)
        for f in state.builder.all(Function):
            if f.name == final[-1] and (len(final) == 1 or f.schema == final[-2]):
                returns = f.returns
    parallel = next((o.split(" = ")[1].upper() for o in options if o.startswith("PARALLEL = ")), "UNSAFE")
    aggregate = Function(
        schema,
        names[-1],
        tuple(args),
        "aggregate",
        returns,
        "internal",
        ", ".join(options),
        "IMMUTABLE",
        parallel=parallel,  # type: ignore[arg-type]
        depends_on=_aggregate_dependencies(state, definition, args, returns),
    )
    state.builder.add(aggregate)
    if ordered_set:
        state.hidden_functions.add((schema, names[-1], aggregate.identity_arguments))


# --------------------------------------------------------------------------- triggers and policies

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


def _roles(roles: Any) -> tuple[str, ...]:
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
            roles=_roles(stmt.roles) or ("public",),
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
        changes["roles"] = _roles(stmt.roles)
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


# --------------------------------------------------------------------------- privileges

_ALL_PRIVILEGES = {
    "TABLE": ("INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"),
    "SEQUENCE": ("USAGE", "SELECT", "UPDATE"),
    "SCHEMA": ("USAGE", "CREATE"),
    "FUNCTION": ("EXECUTE",),
    "TYPE": ("USAGE",),
}
_GRANT_KINDS = {
    ObjectType.OBJECT_TABLE: "TABLE",
    ObjectType.OBJECT_SEQUENCE: "SEQUENCE",
    ObjectType.OBJECT_SCHEMA: "SCHEMA",
    ObjectType.OBJECT_FUNCTION: "FUNCTION",
    ObjectType.OBJECT_PROCEDURE: "FUNCTION",
    ObjectType.OBJECT_ROUTINE: "FUNCTION",
    ObjectType.OBJECT_TYPE: "TYPE",
    ObjectType.OBJECT_DOMAIN: "TYPE",
}


def _grant_targets(state: State, stmt: Any, kind: str) -> list[tuple[str, str, str]]:
    """(object_kind, schema, object_name) of each object a GRANT names."""
    out: list[tuple[str, str, str]] = []
    if stmt.targtype == GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
        for s in stmt.objects:
            schema = s.sval
            if kind == "TABLE":
                out += [("TABLE", schema, t.name) for t in state.builder.all(Table) if t.schema == schema]
                out += [("TABLE", schema, v.name) for v in state.builder.all(View) if v.schema == schema]
            elif kind == "SEQUENCE":
                out += [
                    ("SEQUENCE", schema, q.name) for q in state.builder.all(Sequence) if q.schema == schema
                ]
            elif kind == "FUNCTION":
                out += [
                    ("FUNCTION", schema, f"{f.name}({f.identity_arguments})")
                    for f in state.builder.all(Function)
                    if f.schema == schema
                ]
        return out
    for obj in stmt.objects or ():
        if kind in ("TABLE", "SEQUENCE"):
            found = state.find_relation(obj.schemaname, obj.relname)
            if found is None:
                raise state.error(f'relation "{qualified(obj.schemaname, obj.relname)}" does not exist')
            actual = "SEQUENCE" if isinstance(found[1], Sequence) else "TABLE"
            out.append((actual, found[0], obj.relname))
        elif kind == "SCHEMA":
            out.append(("SCHEMA", obj.sval, obj.sval))
        elif kind == "FUNCTION":
            f = find_function(state, obj)
            assert f is not None
            out.append(("FUNCTION", f.schema, f"{f.name}({f.identity_arguments})"))
        elif kind == "TYPE":
            names = names_of(obj.names) if isinstance(obj, ast.TypeName) else names_of(obj)
            found_type = state.find_type(names[-2] if len(names) > 1 else None, names[-1])
            if found_type is None:
                raise state.error(f'type "{".".join(names)}" does not exist')
            out.append(("TYPE", found_type[0], names[-1]))
    return out


@handles(ast.GrantStmt)
def grant(state: State, stmt: Any) -> None:
    if stmt.targtype == GrantTargetType.ACL_TARGET_DEFAULTS:
        raise Skip("default privileges are not modelled")
    kind = _GRANT_KINDS.get(stmt.objtype)
    if kind is None:
        raise Skip(f"privileges on {stmt.objtype.name.removeprefix('OBJECT_').lower()} are not modelled")
    grantees = ["PUBLIC" if r == "public" else r for r in _roles(stmt.grantees)]
    for object_kind, schema, object_name in _grant_targets(state, stmt, kind):
        privs: list[tuple[str, str | None]] = []
        if stmt.privileges is None:
            privs = [(p, None) for p in _ALL_PRIVILEGES[object_kind]]
        else:
            for ap in stmt.privileges:
                name = (ap.priv_name or "").upper()
                names = list(_ALL_PRIVILEGES[object_kind]) if name == "ALL" else [name]
                cols = names_of(ap.cols)
                for n in names:
                    if cols:
                        privs += [(n, c) for c in cols]
                    else:
                        privs.append((n, None))
        for grantee in grantees:
            if grantee == state.owner:
                continue  # the owner's own privileges are implicit
            for privilege, column in privs:
                if grantee == "PUBLIC" and (object_kind, privilege) in PUBLIC_DEFAULTS:
                    continue  # PostgreSQL's defaults (EXECUTE on functions, USAGE on types)
                p = Privilege(
                    object_kind,  # type: ignore[arg-type]
                    schema,
                    object_name,
                    grantee,
                    privilege,
                    column,
                    bool(stmt.grant_option),
                )
                if stmt.is_grant:
                    existing = state.builder.get(Privilege, *p_key(p))
                    if existing is not None and existing.grantable and not p.grantable:
                        continue
                    state.builder.add(p)
                else:
                    existing = state.builder.get(Privilege, *p_key(p))
                    if existing is not None and stmt.grant_option:
                        state.builder.add(dataclasses.replace(existing, grantable=False))
                    elif existing is not None:
                        state.builder.remove(existing)
                    if column is None and object_kind == "TABLE" and not stmt.grant_option:
                        # a table-level REVOKE takes the column privileges too
                        for other in list(state.builder.all(Privilege)):
                            same = (other.schema, other.object_name, other.grantee, other.privilege)
                            if other.column and same == (schema, object_name, grantee, privilege):
                                state.builder.remove(other)


def p_key(p: Privilege) -> tuple[str, ...]:
    return (p.object_kind, p.schema, p.object_name, p.column or "", p.grantee, p.privilege)


_DEFAULT_ACL_KINDS = {
    ObjectType.OBJECT_TABLE: "TABLE",
    ObjectType.OBJECT_SEQUENCE: "SEQUENCE",
    ObjectType.OBJECT_FUNCTION: "FUNCTION",
    ObjectType.OBJECT_ROUTINE: "FUNCTION",
    ObjectType.OBJECT_PROCEDURE: "FUNCTION",
    ObjectType.OBJECT_TYPE: "TYPE",
    ObjectType.OBJECT_SCHEMA: "SCHEMA",
}


@handles(ast.AlterDefaultPrivilegesStmt)
def default_privileges(state: State, stmt: Any) -> None:
    """ALTER DEFAULT PRIVILEGES [IN SCHEMA ...] GRANT/REVOKE ...: recorded, and applied to
    the objects created afterwards (by the role running the migrations)."""
    options = {o.defname: o.arg for o in stmt.options or ()}
    roles = _roles(options.get("roles"))
    if roles and state.owner not in roles:
        raise Skip("default privileges of another role do not apply to what the migrations create")
    action = stmt.action
    kind = _DEFAULT_ACL_KINDS.get(action.objtype)
    if kind is None:
        raise Skip(
            f"default privileges on {action.objtype.name.removeprefix('OBJECT_').lower()} are not modelled"
        )
    schemas = names_of(options.get("schemas")) or [""]
    if action.privileges is None:
        privileges = list(_ALL_PRIVILEGES[kind])
    else:
        privileges = [
            p
            for ap in action.privileges
            for p in (
                _ALL_PRIVILEGES[kind]
                if (ap.priv_name or "").upper() == "ALL"
                else [(ap.priv_name or "").upper()]
            )
        ]
    grantees = ["PUBLIC" if r == "public" else r for r in _roles(action.grantees)]
    for schema in schemas:
        for grantee in grantees:
            for privilege in privileges:
                key = (schema, kind, grantee, privilege)
                if action.is_grant:
                    state.default_acl[key] = state.default_acl.get(key, False) or bool(action.grant_option)
                elif action.grant_option and key in state.default_acl:
                    state.default_acl[key] = False
                else:
                    state.default_acl.pop(key, None)


# --------------------------------------------------------------------------- comments


def _object_names(node: Any) -> list[str]:
    if isinstance(node, ast.String):
        return [str(node.sval)]
    if isinstance(node, ast.TypeName):
        return names_of(node.names)
    return names_of(node)


def _relation_from_names(
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
        t = _relation_from_names(state, _object_names(obj), Table)
        state.put_table(t, _with_comment(t, comment))
    elif kind in (ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW):
        b.add(_with_comment(_relation_from_names(state, _object_names(obj), View), comment))
    elif kind == ObjectType.OBJECT_SEQUENCE:
        b.add(_with_comment(_relation_from_names(state, _object_names(obj), Sequence), comment))
    elif kind == ObjectType.OBJECT_INDEX:
        names = _object_names(obj)
        target = _relation_from_names(state, names, (Index, Table), missing_ok=True)
        if isinstance(target, Index):
            b.add(_with_comment(target, comment))
        else:
            _comment_constraint_index(state, names, comment)
    elif kind == ObjectType.OBJECT_COLUMN:
        names = _object_names(obj)
        rel = _relation_from_names(state, names[:-1], (Table, View, CompositeType))
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
        names = _object_names(obj)
        collation = find_collation(state, names)
        if collation is None:
            raise state.error(f'collation "{".".join(names)}" for encoding "UTF8" does not exist')
        b.add(_with_comment(collation, comment))
    elif kind in (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
        names = _object_names(obj)
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
        names = _object_names(obj)
        rel = _relation_from_names(state, names[:-1], (Table, View))
        cls = Trigger if kind == ObjectType.OBJECT_TRIGGER else Policy
        node = b.get(cls, rel.schema, rel.name, names[-1])
        if node is None:
            raise state.error(f'{cls.__name__.lower()} "{names[-1]}" for table "{rel.name}" does not exist')
        b.add(_with_comment(node, comment))
    elif kind == ObjectType.OBJECT_TABCONSTRAINT:
        names = _object_names(obj)
        t = _relation_from_names(state, names[:-1], Table)
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
        domain: Domain = _lookup_type(state, _object_names(type_name), Domain)
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


# --------------------------------------------------------------------------- DROP


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
    t = _relation_from_names(state, names_of(obj), Table, missing_ok)
    if t is None:
        return
    drop_views_reading(state, (t.schema, t.name))
    drop_table(state, t, cascade)


@dropper(ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW)
def drop_view(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    v = _relation_from_names(state, names_of(obj), View, missing_ok)
    if v is not None:
        drop_view_obj(state, v)


@dropper(ObjectType.OBJECT_SEQUENCE)
def drop_sequence(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    seq = _relation_from_names(state, names_of(obj), Sequence, missing_ok)
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
    index = _relation_from_names(state, names_of(obj), Index, missing_ok)
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
    names = _object_names(obj)
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
    names = _object_names(obj)
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
        called = _regproc(state, [f.schema, f.name])
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
    rel = _relation_from_names(state, names[:-1], (Table, View), missing_ok)
    if rel is None:
        return
    for cls in (Trigger, Policy):
        node = state.builder.get(cls, rel.schema, rel.name, names[-1])
        if node is not None:
            state.builder.remove(node)
            return
    if not missing_ok:
        raise state.error(f'"{names[-1]}" for table "{rel.name}" does not exist')


# --------------------------------------------------------------------------- RENAME

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
    _rename_relation_in_views(state, schema, old, new)


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
        raise state.error(f'relation "{qualified(rv.schemaname, rv.relname)}" does not exist')
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
        raise state.error(f'relation "{qualified(rv.schemaname, rv.relname)}" does not exist')
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
        if source is not None and position is not None and _set_output_names(source.node, {position: new}):
            rederive_view(state, renamed)
        return
    if isinstance(node, CompositeType):
        attrs = tuple(dataclasses.replace(a, name=new) if a.name == old else a for a in node.attributes)
        state.builder.add(dataclasses.replace(node, attributes=attrs))
        return
    table: Table = node
    rename_table_column(state, table, old, new)


def rename_column_refs(node: Any, old: str, new: str) -> Any:
    """A copy of an expression (or CREATE INDEX) tree with column `old` called `new`."""
    node = copy.deepcopy(node)
    for ref in walk(node):
        if isinstance(ref, ast.ColumnRef) and ref.fields:
            last = ref.fields[-1]
            if isinstance(last, ast.String) and last.sval == old:
                ref.fields = (*ref.fields[:-1], ast.String(sval=new))
        elif isinstance(ref, ast.IndexElem) and ref.name == old:
            ref.name = new
    return node


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
    _rename_column_in_views(state, table.schema, table.name, old, new)
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
    names = _object_names(stmt.object)
    collation = find_collation(state, names)
    if collation is None:
        raise state.error(f'collation "{".".join(names)}" for encoding "UTF8" does not exist')
    renamed = dataclasses.replace(collation, name=sql_naming.truncate_identifier(stmt.newname))
    if state.builder.get(Collation, renamed.schema, renamed.name) is not None:
        raise state.error(f'collation "{renamed.name}" already exists in schema "{renamed.schema}"')
    state.builder.replace(collation, renamed)
    _collation_refs(state, _collation_text(collation), _collation_text(renamed))
    rename_in_view_dependencies(
        state, ("collation",), (collation.schema, collation.name), (renamed.schema, renamed.name)
    )


@renamer(ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN)
def rename_type(state: State, stmt: Any) -> None:
    names = _object_names(stmt.object)
    found = state.find_type(names[-2] if len(names) > 1 else None, names[-1])
    if found is None:
        raise state.error(f'type "{".".join(names)}" does not exist')
    node = found[1]
    new = sql_naming.truncate_identifier(stmt.newname)
    if isinstance(node, Domain):
        state.put_domain(node, dataclasses.replace(node, name=new))
    else:
        state.builder.replace(node, dataclasses.replace(node, name=new))
    _retype_columns(state, node.schema, node.name, node.schema, new)
    state.rewrite_expressions(
        f"::{quote_ident(node.schema)}.{quote_ident(node.name)}",
        f"::{quote_ident(node.schema)}.{quote_ident(new)}",
    )
    rename_in_view_dependencies(state, ("type",), (node.schema, node.name), (node.schema, new))


def _retype_columns(state: State, old_schema: str, old: str, new_schema: str, new: str) -> None:
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
    _move_body_source(state, f, f.schema, new)
    _move_function_in_operators(state, f, f.schema, new)
    if not any(g.name == f.name and g.schema == f.schema for g in state.builder.all(Function) if g is not f):
        _move_function_in_views(state, (f.schema, f.name), (f.schema, new))
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
    domain: Domain = _lookup_type(state, _object_names(stmt.object), Domain)
    checks = tuple(
        dataclasses.replace(c, name=stmt.newname) if c.name == stmt.subname else c for c in domain.checks
    )
    state.put_domain(domain, dataclasses.replace(domain, checks=checks))


# --------------------------------------------------------------------------- SET SCHEMA


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
            raise state.error(f'relation "{qualified(rv.schemaname, rv.relname)}" does not exist')
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
        _move_relation_in_views(state, (old_schema, node.name), new_schema)
        for priv in list(b.all(Privilege)):
            if priv.object_kind in ("TABLE", "SEQUENCE") and (priv.schema, priv.object_name) == (
                old_schema,
                node.name,
            ):
                b.replace(priv, dataclasses.replace(priv, schema=new_schema))
    elif kind in (ObjectType.OBJECT_TYPE, ObjectType.OBJECT_DOMAIN):
        names = _object_names(stmt.object)
        found_type = state.find_type(names[-2] if len(names) > 1 else None, names[-1])
        if found_type is None:
            raise state.error(f'type "{".".join(names)}" does not exist')
        node = found_type[1]
        if isinstance(node, Domain):
            state.put_domain(node, dataclasses.replace(node, schema=new_schema))
        else:
            b.replace(node, dataclasses.replace(node, schema=new_schema))
        _retype_columns(state, node.schema, node.name, new_schema, node.name)
        state.rewrite_expressions(
            f"::{quote_ident(node.schema)}.{quote_ident(node.name)}",
            f"::{quote_ident(new_schema)}.{quote_ident(node.name)}",
        )
        rename_in_view_dependencies(state, ("type",), (node.schema, node.name), (new_schema, node.name))
    elif kind in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE, ObjectType.OBJECT_ROUTINE):
        f = find_function(state, stmt.object)
        assert f is not None
        b.replace(f, dataclasses.replace(f, schema=new_schema))
        _move_body_source(state, f, new_schema, f.name)
        _move_function_in_operators(state, f, new_schema, f.name)
        if not any(g.name == f.name and g.schema == f.schema for g in b.all(Function) if g is not f):
            _move_function_in_views(state, (f.schema, f.name), (new_schema, f.name))
    elif kind == ObjectType.OBJECT_EXTENSION:
        ext = find_extension(state, stmt.object.sval)
        if ext is None:
            raise state.error(f'extension "{stmt.object.sval}" does not exist')
        b.replace(ext, dataclasses.replace(ext, schema=new_schema))
    elif kind == ObjectType.OBJECT_COLLATION:
        names = _object_names(stmt.object)
        collation = find_collation(state, names)
        if collation is None:
            raise state.error(f'collation "{".".join(names)}" for encoding "UTF8" does not exist')
        moved = dataclasses.replace(collation, schema=new_schema)
        b.replace(collation, moved)
        _collation_refs(state, _collation_text(collation), _collation_text(moved))
        rename_in_view_dependencies(state, ("collation",), (collation.schema, collation.name), (moved.schema, moved.name))
    else:
        raise Skip(f"ALTER {kind.name.removeprefix('OBJECT_')} SET SCHEMA is not modelled")


# --------------------------------------------------------------------------- no-ops


@handles(ast.AlterOwnerStmt, ast.TransactionStmt, ast.VariableShowStmt)
def no_schema_effect(state: State, stmt: Any) -> None:
    """Ownership and transaction control do not change the schema the IR describes."""
    return None


__all__ = ["DROPS", "RENAMES"]
