"""Publications (CREATE / ALTER / DROP PUBLICATION, COMMENT ON and RENAME of one) and a
table's REPLICA IDENTITY, interpreted as PostgreSQL 15 records them (pg_publication,
pg_publication_rel, pg_publication_namespace, pg_class.relreplident)."""

from __future__ import annotations

import dataclasses
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType
from pglast.enums.parsenodes import AlterPublicationAction, ObjectType, PublicationObjSpecType

from nself.frontends import sql_canon as canon
from nself.frontends.sql_expr.views import as_pg_depend
from nself.frontends.sql_objects import dropper, renamer
from nself.frontends.sql_state import Skip, State, column_types, handles
from nself.frontends.sql_tables import alter
from nself.ir.model import Dependency, Index, Publication, PublicationTable, ReplicaIdentity, Schema, Table

_ACTIONS = ("insert", "update", "delete", "truncate")


def _publication(state: State, name: str) -> Publication:
    found = state.builder.get(Publication, name)
    if found is None:
        raise state.error(f'publication "{name}" does not exist')
    return found


def _options(state: State, options: Any, publication: Publication) -> Publication:
    changes: dict[str, Any] = {}
    for opt in options or ():
        value = str(getattr(opt.arg, "sval", getattr(opt.arg, "ival", opt.arg)))
        if opt.defname == "publish":
            wanted = {v.strip() for v in value.split(",") if v.strip()}
            unknown = wanted - set(_ACTIONS)
            if unknown:
                raise state.error(f'unrecognized "publish" value: "{sorted(unknown)[0]}"')
            changes["publish"] = tuple(a for a in _ACTIONS if a in wanted)
        elif opt.defname == "publish_via_partition_root":
            changes["via_partition_root"] = value.lower() in ("true", "on", "1", "yes")
        else:
            raise state.error(f'unrecognized publication parameter: "{opt.defname}"')
    return dataclasses.replace(publication, **changes)


def _objects(state: State, specs: Any) -> tuple[list[PublicationTable], list[str]]:
    """The tables and schemas a publication's object list names."""
    tables: list[PublicationTable] = []
    schemas: list[str] = []
    for spec in specs or ():
        kind = spec.pubobjtype
        if kind == PublicationObjSpecType.PUBLICATIONOBJ_TABLES_IN_SCHEMA:
            if state.builder.get(Schema, spec.name) is None:
                raise state.error(f'schema "{spec.name}" does not exist')
            schemas.append(spec.name)
        elif kind == PublicationObjSpecType.PUBLICATIONOBJ_TABLES_IN_CUR_SCHEMA:
            schemas.append(state.creation_schema(None))
        elif spec.pubtable is not None:
            tables.append(_table(state, spec.pubtable))
        else:
            raise Skip(f"publication object {kind.name} is not modelled")
    return tables, schemas


def _table(state: State, pubtable: Any) -> PublicationTable:
    table = state.table(pubtable.relation)
    assert table is not None
    names = [str(c.sval) for c in pubtable.columns or ()]
    order = [c.name for c in table.columns]
    for name in names:
        if name not in order:
            raise state.error(f'column "{name}" of relation "{table.name}" does not exist')
    where = None
    with canon.collecting(state, (table.schema, table.name)) as used:
        if pubtable.whereClause is not None:
            where = canon.predicate_expression(state, pubtable.whereClause, column_types(table))
    # PostgreSQL keeps a column list as a set of attribute numbers: in the table's order
    columns = tuple(sorted(set(names), key=order.index))
    # pg_depend: the row filter's columns and the column list's, on pg_publication_rel
    filtered = used.depends_on
    depends_on = (
        None
        if filtered is None
        else as_pg_depend(set(filtered) | {Dependency("column", table.schema, table.name, c) for c in columns})
    )
    return PublicationTable(table.schema, table.name, columns, where, depends_on=depends_on)


def _sorted(tables: list[PublicationTable]) -> tuple[PublicationTable, ...]:
    return tuple(sorted(tables, key=lambda t: (t.schema, t.table)))


@handles(ast.CreatePublicationStmt)
def create_publication(state: State, stmt: Any) -> None:
    if state.builder.get(Publication, stmt.pubname) is not None:
        raise state.error(f'publication "{stmt.pubname}" already exists')
    tables, schemas = _objects(state, stmt.pubobjects)
    publication = Publication(
        stmt.pubname, all_tables=bool(stmt.for_all_tables), tables=_sorted(tables), schemas=tuple(sorted(set(schemas)))
    )
    state.builder.add(_options(state, stmt.options, publication))


@handles(ast.AlterPublicationStmt)
def alter_publication(state: State, stmt: Any) -> None:
    publication = _publication(state, stmt.pubname)
    if stmt.options:
        state.builder.add(_options(state, stmt.options, publication))
        return
    tables, schemas = _objects(state, stmt.pubobjects)
    current = {(t.schema, t.table): t for t in publication.tables}
    listed = set(publication.schemas)
    if publication.all_tables and (tables or schemas):
        raise state.error(f'publication "{publication.name}" is defined as FOR ALL TABLES')
    if stmt.action == AlterPublicationAction.AP_AddObjects:
        for t in tables:
            if (t.schema, t.table) in current:
                raise state.error(f'relation "{t.table}" is already member of publication "{publication.name}"')
            current[(t.schema, t.table)] = t
        listed |= set(schemas)
    elif stmt.action == AlterPublicationAction.AP_DropObjects:
        for t in tables:
            if current.pop((t.schema, t.table), None) is None:
                raise state.error(f'relation "{t.table}" is not part of the publication')
        listed -= set(schemas)
    else:  # SET: the list given replaces the publication's
        current = {(t.schema, t.table): t for t in tables}
        listed = set(schemas)
    state.builder.add(
        dataclasses.replace(publication, tables=_sorted(list(current.values())), schemas=tuple(sorted(listed)))
    )


@dropper(ObjectType.OBJECT_PUBLICATION)
def drop_publication(state: State, obj: Any, missing_ok: bool, cascade: bool) -> None:
    found = state.builder.get(Publication, str(obj.sval))
    if found is None:
        if not missing_ok:
            raise state.error(f'publication "{obj.sval}" does not exist')
        return
    state.builder.remove(found)


@renamer(ObjectType.OBJECT_PUBLICATION)
def rename_publication(state: State, stmt: Any) -> None:
    publication = _publication(state, str(stmt.object.sval))
    if state.builder.get(Publication, stmt.newname) is not None:
        raise state.error(f'publication "{stmt.newname}" already exists')
    state.builder.remove(publication)
    state.builder.add(dataclasses.replace(publication, name=stmt.newname))


# --------------------------------------------------------------------------- replica identity

_IDENTITIES: dict[str, ReplicaIdentity] = {"d": "DEFAULT", "f": "FULL", "n": "NOTHING", "i": "INDEX"}


@alter(AlterTableType.AT_ReplicaIdentity)
def replica_identity(state: State, table: Table, cmd: Any) -> Table:
    identity = _IDENTITIES[cmd.def_.identity_type]
    index = None
    if identity == "INDEX":
        index = str(cmd.def_.name)
        own = state.builder.get(Index, table.schema, index)
        if (own is None or own.table != table.name) and state.constraint_indexes.get((table.schema, index)) != table.name:
            raise state.error(f'index "{index}" for table "{table.name}" does not exist')
    return state.update_table(table, replica_identity=identity, replica_identity_index=index)
