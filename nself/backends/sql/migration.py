"""SQL for a list of schema-diff operations (`nself.ir.diff`): one renderer per operation
class, registered in a table, each returning the statements of its operation.

Statements for whole objects come from `nself.backends.sql.ddl`, the vocabulary the schema
dump speaks too; what only a migration needs (ALTER COLUMN, ADD VALUE, enum rebuilds,
ATTACH/DETACH, ...) is written here. A statement that can lose data is preceded by a
`-- destructive: <why>` comment."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from nself.backends.sql import ddl
from nself.ir import diff as d
from nself.ir.model import ForeignKey, Identity, Table
from nself.ir.names import qualified_name, quote_ident, quote_literal

__all__ = ["RENDERERS", "destructive_operations", "render_operation", "render_operations"]

Op = TypeVar("Op", bound=d.Operation)
Renderer = Callable[[Any], list[str]]
RENDERERS: dict[type, Renderer] = {}


def renders(cls: type[Op]) -> Callable[[Callable[[Op], list[str]]], Callable[[Op], list[str]]]:
    def register(fn: Callable[[Op], list[str]]) -> Callable[[Op], list[str]]:
        RENDERERS[cls] = fn
        return fn

    return register


def render_operation(op: d.Operation) -> list[str]:
    """The statements of one operation (each ending in `;`)."""
    try:
        renderer = RENDERERS[type(op)]
    except KeyError:
        raise TypeError(f"no SQL renderer for {type(op).__name__}") from None
    return renderer(op)


def destructive_operations(ops: Iterable[d.Operation]) -> list[str]:
    """Why each destructive operation in `ops` can lose data, in order."""
    return [reason for op in ops if (reason := op.destructive) is not None]


def render_operations(ops: Iterable[d.Operation]) -> str:
    """A script applying `ops` in order; empty when there are none."""
    ops = list(ops)
    if not ops:
        return ""
    chunks: list[str] = []
    if any(isinstance(op, (d.CreateFunction, d.ReplaceFunction)) for op in ops):
        # Bodies may name objects created later in the script (as pg_dump does).
        chunks.append("SET check_function_bodies = false;")
    for op in ops:
        statements = render_operation(op)
        if not statements:
            continue
        reason = op.destructive
        text = "\n".join(statements)
        if reason is not None:
            text = f"-- destructive: {' '.join(reason.split())}\n{text}"
        chunks.append(text)
    return "\n\n".join(chunks) + "\n"


def _table(schema: str, name: str) -> str:
    return qualified_name(schema, name)


def _alter_column(schema: str, table: str, column: str) -> str:
    return f"ALTER TABLE {_table(schema, table)} ALTER COLUMN {quote_ident(column)}"


# --------------------------------------------------------------------------- schemas, extensions


@renders(d.CreateSchema)
def _create_schema(op: d.CreateSchema) -> list[str]:
    return [ddl.create_schema(op.schema), *ddl.comments_of(op.schema)]


@renders(d.DropSchema)
def _drop_schema(op: d.DropSchema) -> list[str]:
    return [ddl.drop_schema(op.schema)]


@renders(d.CreateExtension)
def _create_extension(op: d.CreateExtension) -> list[str]:
    return [ddl.create_extension(op.extension), *ddl.comments_of(op.extension)]


@renders(d.DropExtension)
def _drop_extension(op: d.DropExtension) -> list[str]:
    return [ddl.drop_extension(op.extension)]


@renders(d.AlterExtension)
def _alter_extension(op: d.AlterExtension) -> list[str]:
    name = quote_ident(op.new.name)
    out = []
    if op.downgrade:
        out.append(
            f"-- note: {op.new.name} goes back from version {op.old.version} to {op.new.version}: PostgreSQL "
            "refuses this unless the extension ships a script for that path (it is never dropped and "
            "created again, which would lose the data of its objects)"
        )
    if op.old.schema != op.new.schema:
        out.append(f"ALTER EXTENSION {name} SET SCHEMA {quote_ident(op.new.schema)};")
    if op.old.version != op.new.version and op.new.version is not None:
        out.append(f"ALTER EXTENSION {name} UPDATE TO {quote_literal(op.new.version)};")
    return out


# --------------------------------------------------------------------------- collations


@renders(d.CreateCollation)
def _create_collation(op: d.CreateCollation) -> list[str]:
    return [ddl.create_collation(op.collation), *ddl.comments_of(op.collation)]


@renders(d.RebuildCollation)
def _rebuild_collation(op: d.RebuildCollation) -> list[str]:
    name = qualified_name(op.new.schema, op.new.name)
    old_name = _temporary_name(op.old.name)
    out = [f"ALTER COLLATION {name} RENAME TO {quote_ident(old_name)};", ddl.create_collation(op.new)]
    for domain, usages in op.domains:
        out.extend(_rebuild_domain(d.RebuildDomain(domain, domain, usages)))
    for u in op.usages:
        out.append(f"{_alter_column(u.schema, u.table, u.column)} TYPE {u.data_type} COLLATE {name};")
    out.append(ddl.drop_collation(dataclasses.replace(op.old, name=old_name)))
    out.extend(ddl.comments_of(op.new))
    return out


@renders(d.DropCollation)
def _drop_collation(op: d.DropCollation) -> list[str]:
    return [ddl.drop_collation(op.collation)]


# --------------------------------------------------------------------------- operators


@renders(d.CreateOperator)
def _create_operator(op: d.CreateOperator) -> list[str]:
    return [ddl.create_operator(op.operator), *ddl.comments_of(op.operator)]


@renders(d.DropOperator)
def _drop_operator(op: d.DropOperator) -> list[str]:
    return [ddl.drop_operator(op.operator)]


# --------------------------------------------------------------------------- types


@renders(d.CreateEnum)
def _create_enum(op: d.CreateEnum) -> list[str]:
    return [ddl.create_enum(op.enum), *ddl.comments_of(op.enum)]


@renders(d.DropEnum)
def _drop_enum(op: d.DropEnum) -> list[str]:
    return [ddl.drop_type(op.enum.schema, op.enum.name)]


@renders(d.AddEnumValue)
def _add_enum_value(op: d.AddEnumValue) -> list[str]:
    name = qualified_name(op.new.schema, op.new.name)
    out = []
    for label, where, neighbour in op.additions():
        position = f" {where} {quote_literal(neighbour)}" if neighbour is not None else ""
        out.append(f"ALTER TYPE {name} ADD VALUE {quote_literal(label)}{position};")
    for u in op.default_changes():
        column = _alter_column(u.schema, u.table, u.column)
        out.append(
            f"{column} SET DEFAULT {u.new_default};"
            if u.new_default is not None
            else f"{column} DROP DEFAULT;"
        )
    return out


def _temporary_name(name: str) -> str:
    suffix = "__nself_old"
    return name[: 63 - len(suffix)] + suffix


def _cast_through_text(column: str, data_type: str) -> str:
    dims = ""
    base = data_type
    while base.endswith("[]"):
        base = base[:-2]
        dims += "[]"
    return f"{quote_ident(column)}::text{dims}::{data_type}"


@renders(d.RebuildEnum)
def _rebuild_enum(op: d.RebuildEnum) -> list[str]:
    name = qualified_name(op.new.schema, op.new.name)
    old_name = _temporary_name(op.old.name)
    out = [
        f"ALTER TYPE {name} RENAME TO {quote_ident(old_name)};",
        ddl.create_enum(op.new),
    ]
    for u in op.usages:
        column = _alter_column(u.schema, u.table, u.column)
        if u.old_default is not None:
            out.append(f"{column} DROP DEFAULT;")
        out.append(f"{column} TYPE {u.data_type} USING {_cast_through_text(u.column, u.data_type)};")
        if u.new_default is not None:
            out.append(f"{column} SET DEFAULT {u.new_default};")
    out.append(ddl.drop_type(op.new.schema, old_name))
    out.extend(ddl.comments_of(op.new))
    return out


@renders(d.CreateDomain)
def _create_domain(op: d.CreateDomain) -> list[str]:
    return [*ddl.create_domain(op.domain), *ddl.comments_of(op.domain)]


@renders(d.DropDomain)
def _drop_domain(op: d.DropDomain) -> list[str]:
    return [ddl.drop_domain(op.domain)]


@renders(d.RebuildDomain)
def _rebuild_domain(op: d.RebuildDomain) -> list[str]:
    old_name = _temporary_name(op.old.name)
    out = [
        f"ALTER DOMAIN {qualified_name(op.old.schema, op.old.name)} RENAME TO {quote_ident(old_name)};",
        *ddl.create_domain(op.new),
    ]
    for u in op.usages:
        column = _alter_column(u.schema, u.table, u.column)
        if u.old_default is not None:
            out.append(f"{column} DROP DEFAULT;")
        # a domain's value casts as its base type would (numeric -> integer rounds)
        out.append(f"{column} TYPE {u.data_type} USING {quote_ident(u.column)}::{u.data_type};")
        if u.new_default is not None:
            out.append(f"{column} SET DEFAULT {u.new_default};")
    out.append(ddl.drop_domain(dataclasses.replace(op.old, name=old_name)))
    out.extend(ddl.comments_of(op.new))
    return out


@renders(d.AlterDomain)
def _alter_domain(op: d.AlterDomain) -> list[str]:
    old, new = op.old, op.new
    name = f"ALTER DOMAIN {qualified_name(new.schema, new.name)}"
    out = []
    old_checks = {c.name: c for c in old.checks}
    new_checks = {c.name: c for c in new.checks}
    for check_name, check in old_checks.items():
        if new_checks.get(check_name) != check:
            out.append(f"{name} DROP CONSTRAINT {quote_ident(check_name)};")
    if old.default != new.default:
        out.append(
            f"{name} SET DEFAULT {new.default};" if new.default is not None else f"{name} DROP DEFAULT;"
        )
    if old.not_null != new.not_null:
        out.append(f"{name} {'SET' if new.not_null else 'DROP'} NOT NULL;")
    for check_name, check in new_checks.items():
        if old_checks.get(check_name) != check:
            not_valid = "" if check.validated else " NOT VALID"
            out.append(
                f"{name} ADD CONSTRAINT {quote_ident(check_name)} CHECK {ddl.parenthesised(check.expression)}{not_valid};"
            )
            if check.comment is not None:
                out.append(
                    ddl.comment_on(
                        "CONSTRAINT",
                        f"{quote_ident(check_name)} ON DOMAIN {qualified_name(new.schema, new.name)}",
                        check.comment,
                    )
                )
    return out


@renders(d.CreateCompositeType)
def _create_composite(op: d.CreateCompositeType) -> list[str]:
    return [ddl.create_composite_type(op.type), *ddl.comments_of(op.type)]


@renders(d.DropCompositeType)
def _drop_composite(op: d.DropCompositeType) -> list[str]:
    return [ddl.drop_type(op.type.schema, op.type.name)]


@renders(d.AlterCompositeType)
def _alter_composite(op: d.AlterCompositeType) -> list[str]:
    name = f"ALTER TYPE {qualified_name(op.new.schema, op.new.name)}"
    old = {a.name: a for a in op.old.attributes}
    new = {a.name: a for a in op.new.attributes}
    out = [f"{name} DROP ATTRIBUTE {quote_ident(n)};" for n in old if n not in new]
    for a in op.new.attributes:
        collate = f" COLLATE {a.collation}" if a.collation is not None else ""
        if a.name not in old:
            out.append(f"{name} ADD ATTRIBUTE {quote_ident(a.name)} {a.data_type}{collate};")
        elif old[a.name] != a:
            out.append(f"{name} ALTER ATTRIBUTE {quote_ident(a.name)} TYPE {a.data_type}{collate};")
    return out


@renders(d.CreateRangeType)
def _create_range(op: d.CreateRangeType) -> list[str]:
    return [ddl.create_range_type(op.type), *ddl.comments_of(op.type)]


@renders(d.DropRangeType)
def _drop_range(op: d.DropRangeType) -> list[str]:
    return [ddl.drop_type(op.type.schema, op.type.name)]


# --------------------------------------------------------------------------- sequences


@renders(d.CreateSequence)
def _create_sequence(op: d.CreateSequence) -> list[str]:
    return [ddl.create_sequence(op.sequence), *ddl.comments_of(op.sequence)]


@renders(d.DropSequence)
def _drop_sequence(op: d.DropSequence) -> list[str]:
    return [ddl.drop_sequence(op.sequence)]


@renders(d.AlterSequence)
def _alter_sequence(op: d.AlterSequence) -> list[str]:
    s = op.new
    cycle = "CYCLE" if s.cycle else "NO CYCLE"
    return [
        f"ALTER SEQUENCE {qualified_name(s.schema, s.name)} AS {s.data_type} INCREMENT BY {s.increment} "
        f"MINVALUE {s.min_value} MAXVALUE {s.max_value} START WITH {s.start} CACHE {s.cache} {cycle};"
    ]


@renders(d.SetSequenceOwner)
def _sequence_owner(op: d.SetSequenceOwner) -> list[str]:
    name = qualified_name(op.schema, op.name)
    if op.new is None:
        return [f"ALTER SEQUENCE {name} OWNED BY NONE;"]
    table, column = op.new
    return [f"ALTER SEQUENCE {name} OWNED BY {qualified_name(op.schema, table)}.{quote_ident(column)};"]


# --------------------------------------------------------------------------- tables


def _without_foreign_keys(table: Table) -> Table:
    return dataclasses.replace(
        table, constraints=tuple(c for c in table.constraints if not isinstance(c, ForeignKey))
    )


@renders(d.CreateTable)
def _create_table(op: d.CreateTable) -> list[str]:
    table = _without_foreign_keys(op.table)
    return [*ddl.create_table(table, parent=op.parent), *ddl.comments_of(table)]


@renders(d.DropTable)
def _drop_table(op: d.DropTable) -> list[str]:
    return [ddl.drop_table(op.table)]


@renders(d.AddColumn)
def _add_column(op: d.AddColumn) -> list[str]:
    exists = " IF NOT EXISTS" if op.if_not_exists else ""
    out = [
        f"ALTER TABLE {_table(op.schema, op.table)} ADD COLUMN{exists} {ddl.column_definition(op.column)};"
    ]
    if op.column.comment is not None:
        target = f"{_table(op.schema, op.table)}.{quote_ident(op.column.name)}"
        out.append(ddl.comment_on("COLUMN", target, op.column.comment))
    return out


@renders(d.DropColumn)
def _drop_column(op: d.DropColumn) -> list[str]:
    return [f"ALTER TABLE {_table(op.schema, op.table)} DROP COLUMN {quote_ident(op.column.name)};"]


@renders(d.AlterColumnType)
def _alter_column_type(op: d.AlterColumnType) -> list[str]:
    sql = f"{_alter_column(op.schema, op.table, op.new.name)} TYPE {op.new.data_type}"
    if op.new.collation is not None:
        sql += f" COLLATE {op.new.collation}"
    if op.using is not None:
        if op.via_text:
            sql += f" USING {_cast_through_text(op.new.name, op.new.data_type)}"
        else:
            sql += f" USING {quote_ident(op.new.name)}::{op.new.data_type}"
    return [sql + ";"]


@renders(d.SetGenerated)
def _set_generated(op: d.SetGenerated) -> list[str]:
    if op.in_place:
        return [f"{_alter_column(op.schema, op.table, op.new.name)} DROP EXPRESSION;"]
    return [
        f"ALTER TABLE {_table(op.schema, op.table)} DROP COLUMN {quote_ident(op.old.name)};",
        *_add_column(d.AddColumn(op.schema, op.table, op.new)),
    ]


@renders(d.SetColumnDefault)
def _set_default(op: d.SetColumnDefault) -> list[str]:
    column = _alter_column(op.schema, op.table, op.column)
    return [f"{column} SET DEFAULT {op.new};" if op.new is not None else f"{column} DROP DEFAULT;"]


@renders(d.SetNotNull)
def _set_not_null(op: d.SetNotNull) -> list[str]:
    return [f"{_alter_column(op.schema, op.table, op.column)} {'SET' if op.not_null else 'DROP'} NOT NULL;"]


def _identity_options(identity: Identity) -> list[str]:
    return [
        f"INCREMENT BY {identity.increment}",
        f"MINVALUE {identity.min_value}",
        f"MAXVALUE {identity.max_value}",
        f"START WITH {identity.start}",
        f"CACHE {identity.cache}",
        "CYCLE" if identity.cycle else "NO CYCLE",
    ]


@renders(d.SetIdentity)
def _set_identity(op: d.SetIdentity) -> list[str]:
    column = _alter_column(op.schema, op.table, op.column)
    if op.new is None:
        return [f"{column} DROP IDENTITY;"]
    if op.old is None:
        options = " ".join(_identity_options(op.new))
        return [f"{column} ADD GENERATED {op.new.generation} AS IDENTITY ({options});"]
    sets = " ".join(f"SET {o}" for o in _identity_options(op.new))
    return [f"{column} SET GENERATED {op.new.generation} {sets};"]


@renders(d.ColumnOrderNote)
def _column_order(op: d.ColumnOrderNote) -> list[str]:
    return [
        f"-- note: {_table(op.schema, op.table)} keeps its columns in the order ({', '.join(op.reached)}), "
        f"not ({', '.join(op.wanted)}): ALTER TABLE cannot reorder columns"
    ]


@renders(d.PartitionKeyNote)
def _partition_key_note(op: d.PartitionKeyNote) -> list[str]:
    return [f"-- warning: {op.message()}"]


def _temporary_table_name(name: str) -> str:
    suffix = "__nself_new"
    return name[: 63 - len(suffix)] + suffix


@renders(d.RebuildTable)
def _rebuild_table(op: d.RebuildTable) -> list[str]:
    old, new = op.old, op.new
    name = _table(new.schema, new.name)
    temporary = _temporary_table_name(new.name)
    temporary_name = _table(new.schema, temporary)
    out = [
        f"-- rebuild: {name} is created anew to put its columns in the order "
        f"({', '.join(c.name for c in new.columns)}); its rows are copied across and kept. "
        "The copy holds an ACCESS EXCLUSIVE lock on the table."
    ]
    shell = dataclasses.replace(
        new,
        name=temporary,
        constraints=(),
        rls_enabled=False,
        rls_forced=False,
        comment=None,
        columns=tuple(dataclasses.replace(c, comment=None) for c in new.columns),
    )
    out.extend(
        f"ALTER TABLE {_table(*child)} NO INHERIT {name};  -- rebuilt next, under the new table"
        for child in op.children
    )
    out.extend(ddl.create_table(shell, parents=op.new_parents))
    copied = op.copied()
    op_copied = {c for c, _, _ in copied}
    if copied:
        names = ", ".join(quote_ident(c) for c, _, _ in copied)
        values = ", ".join(
            quote_ident(c)
            if cast is None
            else (_cast_through_text(c, cast) if via_text else f"{quote_ident(c)}::{cast}")
            for c, cast, via_text in copied
        )
        overriding = " OVERRIDING SYSTEM VALUE" if any(c.identity for c in new.columns) else ""
        out.append(
            f"INSERT INTO {temporary_name} ({names}){overriding}\n    SELECT {values} FROM ONLY {name};"
        )
    for column in op.carried_identities():
        assert column.identity is not None
        position = f"GREATEST(LEAST(s.last_value, {column.identity.max_value}), {column.identity.min_value})"
        out.append(
            f"SELECT setval(pg_get_serial_sequence({quote_literal(temporary_name)}, {quote_literal(column.name)}), "
            f"{position}) FROM pg_catalog.pg_sequences s\n    WHERE format('%I.%I', s.schemaname, s.sequencename) = "
            f"pg_get_serial_sequence({quote_literal(name)}, {quote_literal(column.name)}) AND s.last_value IS NOT NULL;"
        )
    for column in new.columns:
        was = old.column(column.name)
        if (
            column.identity is not None
            and was is not None
            and was.identity is None
            and column.name in op_copied
            and column.identity.increment > 0
        ):
            # a column made an identity: its sequence starts past the values it holds
            ident, top = column.identity, f"max({quote_ident(column.name)})"
            out.append(
                f"SELECT setval(pg_get_serial_sequence({quote_literal(temporary_name)}, {quote_literal(column.name)}), "
                f"GREATEST(LEAST({top}, {ident.max_value}), {ident.min_value})) FROM {temporary_name} "
                f"HAVING {top} IS NOT NULL;"
            )
    out.append(ddl.drop_table(old))
    out.append(f"ALTER TABLE {temporary_name} RENAME TO {quote_ident(new.name)};")
    for column in new.columns:
        if column.identity is None:
            continue
        # the identity sequence was named after the temporary table: give it the name a
        # CREATE TABLE of the target would (unless something else holds that name)
        wanted = f"{new.name}_{column.name}_seq"[:63]
        out.append(
            f"DO $nself$ BEGIN IF to_regclass({quote_literal(_table(new.schema, wanted))}) IS NULL THEN "
            f"EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', pg_get_serial_sequence({quote_literal(name)}, "
            f"{quote_literal(column.name)}), {quote_literal(wanted)}); END IF; END $nself$;"
        )
    out.extend(ddl.row_level_security(new))
    out.extend(ddl.comments_of(dataclasses.replace(new, constraints=())))
    return out


@renders(d.AlterTableStorage)
def _alter_storage(op: d.AlterTableStorage) -> list[str]:
    name = f"ALTER TABLE {_table(op.schema, op.table)}"
    out = []
    if op.old_unlogged != op.new_unlogged:
        out.append(f"{name} SET {'UNLOGGED' if op.new_unlogged else 'LOGGED'};")
    old = {o.partition("=")[0]: o for o in op.old_options}
    new = {o.partition("=")[0]: o for o in op.new_options}
    reset = [k for k in old if k not in new]
    if reset:
        out.append(f"{name} RESET ({', '.join(reset)});")
    changed = [o for k, o in new.items() if old.get(k) != o]
    if changed:
        out.append(f"{name} SET ({', '.join(changed)});")
    return out


@renders(d.SetRowLevelSecurity)
def _rls(op: d.SetRowLevelSecurity) -> list[str]:
    name = f"ALTER TABLE {_table(op.schema, op.table)}"
    out = []
    if op.old_enabled != op.new_enabled:
        out.append(f"{name} {'ENABLE' if op.new_enabled else 'DISABLE'} ROW LEVEL SECURITY;")
    if op.old_forced != op.new_forced:
        out.append(f"{name} {'FORCE' if op.new_forced else 'NO FORCE'} ROW LEVEL SECURITY;")
    return out


@renders(d.AttachPartition)
def _attach(op: d.AttachPartition) -> list[str]:
    sql = ddl.attach_partition(op.table)
    return [sql.replace("ALTER TABLE ONLY ", "ALTER TABLE ", 1)] if sql else []


@renders(d.DetachPartition)
def _detach(op: d.DetachPartition) -> list[str]:
    p = op.table.partition_of
    if p is None:
        return []
    return [
        f"ALTER TABLE {_table(p.parent_schema, p.parent)} DETACH PARTITION {_table(op.table.schema, op.table.name)};"
    ]


@renders(d.AddInherit)
def _inherit(op: d.AddInherit) -> list[str]:
    return [f"ALTER TABLE {_table(op.schema, op.table)} INHERIT {_table(op.parent_schema, op.parent)};"]


@renders(d.DropInherit)
def _no_inherit(op: d.DropInherit) -> list[str]:
    return [f"ALTER TABLE {_table(op.schema, op.table)} NO INHERIT {_table(op.parent_schema, op.parent)};"]


@renders(d.AddConstraint)
def _add_constraint(op: d.AddConstraint) -> list[str]:
    table = Table(schema=op.schema, name=op.table)
    out = [ddl.add_constraint(table, op.constraint)]
    if op.constraint.comment is not None:
        target = f"{quote_ident(op.constraint.name)} ON {_table(op.schema, op.table)}"
        out.append(ddl.comment_on("CONSTRAINT", target, op.constraint.comment))
    return out


@renders(d.DropConstraint)
def _drop_constraint(op: d.DropConstraint) -> list[str]:
    return [ddl.drop_constraint(Table(schema=op.schema, name=op.table), op.constraint.name)]


# --------------------------------------------------------------------------- indexes, views, routines


@renders(d.CreateIndex)
def _create_index(op: d.CreateIndex) -> list[str]:
    return [ddl.create_index(op.index), *ddl.comments_of(op.index)]


@renders(d.DropIndex)
def _drop_index(op: d.DropIndex) -> list[str]:
    return [ddl.drop_index(op.index)]


@renders(d.CreateView)
def _create_view(op: d.CreateView) -> list[str]:
    return [ddl.create_view(op.view, with_data=True), *ddl.comments_of(op.view)]


@renders(d.DropView)
def _drop_view(op: d.DropView) -> list[str]:
    return [ddl.drop_view(op.view)]


@renders(d.CreateFunction)
def _create_function(op: d.CreateFunction) -> list[str]:
    return [ddl.create_function(op.function), *ddl.comments_of(op.function)]


@renders(d.ReplaceFunction)
def _replace_function(op: d.ReplaceFunction) -> list[str]:
    out = [ddl.create_function(op.new, or_replace=True)]
    if op.old.comment != op.new.comment:
        out.extend(ddl.comments_of(op.new) or [_comment_sql(_function_comment(op.new, None))])
    return out


def _function_comment(function: Any, comment: str | None) -> d.SetComment:
    kind: d.CommentKind = "PROCEDURE" if function.kind == "procedure" else "FUNCTION"
    return d.SetComment(
        kind, function.schema, function.name, None, comment, arguments=function.identity_arguments
    )


@renders(d.DropFunction)
def _drop_function(op: d.DropFunction) -> list[str]:
    return [ddl.drop_function(op.function)]


# --------------------------------------------------------------------------- table-scoped


@renders(d.CreateTrigger)
def _create_trigger(op: d.CreateTrigger) -> list[str]:
    return [*ddl.create_trigger(op.trigger), *ddl.comments_of(op.trigger)]


@renders(d.DropTrigger)
def _drop_trigger(op: d.DropTrigger) -> list[str]:
    return [ddl.drop_trigger(op.trigger)]


_TRIGGER_STATES = {"O": "ENABLE", "D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}


@renders(d.SetTriggerEnabled)
def _trigger_enabled(op: d.SetTriggerEnabled) -> list[str]:
    t = op.trigger
    return [
        f"ALTER TABLE {_table(t.schema, t.table)} {_TRIGGER_STATES[op.new]} TRIGGER {quote_ident(t.name)};"
    ]


@renders(d.CreatePolicy)
def _create_policy(op: d.CreatePolicy) -> list[str]:
    return [ddl.create_policy(op.policy), *ddl.comments_of(op.policy)]


@renders(d.DropPolicy)
def _drop_policy(op: d.DropPolicy) -> list[str]:
    return [ddl.drop_policy(op.policy)]


@renders(d.CreatePublication)
def _create_publication(op: d.CreatePublication) -> list[str]:
    return [ddl.create_publication(op.publication), *ddl.comments_of(op.publication)]


@renders(d.DropPublication)
def _drop_publication(op: d.DropPublication) -> list[str]:
    return [ddl.drop_publication(op.publication)]


@renders(d.AlterPublication)
def _alter_publication(op: d.AlterPublication) -> list[str]:
    old, new = op.old, op.new
    name = f"ALTER PUBLICATION {quote_ident(new.name)}"
    out = []
    if (old.publish, old.via_partition_root) != (new.publish, new.via_partition_root):
        out.append(f"{name} SET ({ddl.publication_options(new)});")
    if (old.tables, old.schemas) != (new.tables, new.schemas):
        objects = ddl.publication_objects(new)
        if objects:
            out.append(f"{name} SET {objects};")
        else:  # SET needs a list: drop what the old one had
            dropped = dataclasses.replace(old, tables=tuple(dataclasses.replace(t, columns=(), where=None) for t in old.tables))
            out.append(f"{name} DROP {ddl.publication_objects(dropped)};")
    return out


@renders(d.SetReplicaIdentity)
def _replica_identity(op: d.SetReplicaIdentity) -> list[str]:
    table = Table(op.schema, op.table, replica_identity=op.new_identity, replica_identity_index=op.new_index)
    return [f"ALTER TABLE ONLY {_table(op.schema, op.table)} {ddl.replica_identity_clause(table)};"]


@renders(d.Grant)
def _grant(op: d.Grant) -> list[str]:
    return [ddl.grant(op.privilege)]


@renders(d.Revoke)
def _revoke(op: d.Revoke) -> list[str]:
    return [ddl.revoke(op.privilege)]


def _comment_target(op: d.SetComment) -> tuple[str, str]:
    if op.schema is None:
        return op.kind, quote_ident(op.name)
    name = qualified_name(op.schema, op.name)
    if op.kind == "COLUMN":
        return "COLUMN", f"{name}.{quote_ident(op.sub or '')}"
    if op.kind in ("CONSTRAINT", "TRIGGER", "POLICY"):
        return op.kind, f"{quote_ident(op.sub or '')} ON {name}"
    if op.kind == "DOMAIN CONSTRAINT":
        return "CONSTRAINT", f"{quote_ident(op.sub or '')} ON DOMAIN {name}"
    if op.kind in ("FUNCTION", "PROCEDURE", "AGGREGATE"):
        return op.kind, f"{name}({op.arguments or ''})"
    if op.kind == "OPERATOR":  # a symbol: not an identifier to quote
        return op.kind, f"{quote_ident(op.schema)}.{op.name} ({op.arguments or ''})"
    return op.kind, name


def _comment_sql(op: d.SetComment) -> str:
    kind, target = _comment_target(op)
    return ddl.comment_on(kind, target, op.new)


@renders(d.SetComment)
def _set_comment(op: d.SetComment) -> list[str]:
    return [_comment_sql(op)]
