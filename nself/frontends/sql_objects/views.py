"""Views and materialized views: created, re-derived, and followed through renames and moves."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable
from typing import Any

from pglast import ast
from pglast.enums import ObjectType

from nself.frontends import sql_canon as canon
from nself.frontends import sql_naming
from nself.frontends.sql_state import ExprSource, Skip, State, handles, names_of
from nself.ir.model import (
    CheckConstraint,
    Constraint,
    Dependency,
    Domain,
    ExclusionConstraint,
    Function,
    Index,
    Policy,
    Publication,
    Table,
    Trigger,
    View,
    ViewDependency,
)
from nself.sql_tree import walk


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
        set_output_names(query, dict(enumerate(renames)))
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


def set_output_names(query: Any, names: dict[int, str]) -> bool:
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
        if any(
            d.schema == schema and d.name == name and (d.kind == "function") == (kind == "function")
            for d in v.depends_on or ()
        )
    ]


def move_function_in_views(state: State, old: tuple[str, str], new: tuple[str, str]) -> None:
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


def move_relation_in_views(state: State, old: tuple[str, str], new_schema: str) -> None:
    """A table, view or sequence moved to another schema: the views reading it name it so."""
    users = _views_using(state, "relation", *old)
    rename_in_view_dependencies(state, ("relation", "column"), old, (new_schema, old[1]))
    for view in users:
        source = state.view_sources.get((view.schema, view.name))
        current = state.builder.get(View, view.schema, view.name)
        if source is None or current is None:
            continue
        for node in walk(source.node):
            if (
                isinstance(node, ast.RangeVar)
                and node.relname == old[1]
                and node.schemaname in (None, old[0])
            ):
                node.schemaname = new_schema
        rederive_view(state, current)


def rename_relation_in_views(state: State, schema: str, old: str, new: str) -> None:
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


def rename_column_in_views(state: State, schema: str, table: str, old: str, new: str) -> None:
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
