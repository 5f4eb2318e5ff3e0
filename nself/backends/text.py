"""A readable plain-text summary of a schema, one section per schema.

Deterministic (it follows the Catalog's own sorted order) and free of terminal markup, so
it can be piped, diffed and kept as a golden file:

    schema public -- standard public schema

      table public.users -- people who sign in
        id          integer                  not null  default nextval('public.users_id_seq'::regclass)
        email       text                     not null
        primary key users_pkey (id)
        index users_email_idx on (lower(email))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nself.ir.model import (
    Catalog,
    CheckConstraint,
    Column,
    Constraint,
    ExclusionConstraint,
    ForeignKey,
    Function,
    Index,
    PrimaryKey,
    Publication,
    Table,
    TableObjects,
    UniqueConstraint,
    View,
)
from nself.ir.names import quote_literal, readable_ident


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    return {"schema.txt": render_text(catalog)}


def render_text(catalog: Catalog) -> str:
    lines: list[str] = []
    schema_names = catalog.schema_names()
    comments = {s.name: s.comment for s in catalog.schemas}
    by_table = catalog.table_objects()
    if catalog.extensions:
        lines.append("extensions")
        for e in catalog.extensions:
            version = f" {e.version}" if e.version else ""
            lines.append(
                f"  {readable_ident(e.name)}{version} in {readable_ident(e.schema)}{_comment(e.comment)}"
            )
        lines.append("")
    for schema in schema_names:
        lines.append(f"schema {readable_ident(schema)}{_comment(comments.get(schema))}")
        body = _schema_body(catalog, schema, by_table)
        if body:
            lines.append("")
            lines.extend(body)
        lines.append("")
    for publication in catalog.publications:
        lines.extend(_publication(publication))
    return "\n".join(lines).rstrip("\n") + "\n"


def _publication(publication: Publication) -> list[str]:
    publishes = ", ".join(publication.publish) or "nothing"
    root = ", via partition root" if publication.via_partition_root else ""
    lines = [
        f"publication {readable_ident(publication.name)} ({publishes}{root}){_comment(publication.comment)}"
    ]
    if publication.all_tables:
        lines.append("  all tables")
    for t in publication.tables:
        columns = f" {_cols(t.columns)}" if t.columns else ""
        where = f" where {t.where}" if t.where else ""
        lines.append(f"  table {_qn(t.schema, t.table)}{columns}{where}")
    lines.extend(f"  tables in schema {readable_ident(s)}" for s in publication.schemas)
    lines.append("")
    return lines


def _qn(schema: str, name: str) -> str:
    return f"{readable_ident(schema)}.{readable_ident(name)}"


def _cols(names: Iterable[str]) -> str:
    return ", ".join(readable_ident(n) for n in names)


def _element(text: str) -> str:
    return readable_ident(text) if "(" not in text and ")" not in text else text


def _comment(comment: str | None) -> str:
    if not comment:
        return ""
    return " -- " + " ".join(comment.split())


def _schema_body(catalog: Catalog, schema: str, by_table: TableObjects) -> list[str]:
    blocks: list[list[str]] = []
    for enum in (e for e in catalog.enums if e.schema == schema):
        labels = ", ".join(quote_literal(label) for label in enum.labels)
        blocks.append([f"  enum {_qn(enum.schema, enum.name)} ({labels}){_comment(enum.comment)}"])
    for domain in (d for d in catalog.domains if d.schema == schema):
        collate = f" collate {domain.collation}" if domain.collation else ""
        text = _nullability_text(domain.data_type, domain.not_null, domain.default)
        block = [f"  domain {_qn(domain.schema, domain.name)} {text}{collate}{_comment(domain.comment)}"]
        block.extend(f"    check {readable_ident(c.name)} {c.expression}" for c in domain.checks)
        blocks.append(block)
    for composite in (c for c in catalog.composite_types if c.schema == schema):
        block = [f"  type {_qn(composite.schema, composite.name)}{_comment(composite.comment)}"]
        width = max((len(readable_ident(a.name)) for a in composite.attributes), default=0)
        block.extend(
            f"    {readable_ident(a.name).ljust(width)}  {a.data_type}" for a in composite.attributes
        )
        blocks.append(block)
    for rng in (r for r in catalog.range_types if r.schema == schema):
        blocks.append([f"  range {_qn(rng.schema, rng.name)} of {rng.subtype}{_comment(rng.comment)}"])
    for seq in (s for s in catalog.sequences if s.schema == schema):
        owned = (
            f" owned by {readable_ident(seq.owned_by[0])}.{readable_ident(seq.owned_by[1])}"
            if seq.owned_by
            else ""
        )
        blocks.append(
            [f"  sequence {_qn(seq.schema, seq.name)} {seq.data_type}{owned}{_comment(seq.comment)}"]
        )
    for table in (t for t in catalog.tables if t.schema == schema):
        blocks.append(_table(by_table, table))
    for view in (v for v in catalog.views if v.schema == schema):
        blocks.append(_view(by_table, view))
    for function in (f for f in catalog.functions if f.schema == schema):
        blocks.append(_function(function))
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("")
        out.extend(block)
    return out


def _nullability_text(data_type: str, not_null: bool, default: str | None) -> str:
    text = data_type + (" not null" if not_null else "")
    if default is not None:
        text += f" default {default}"
    return text


def _column_rows(columns: Iterable[Column]) -> list[list[str]]:
    rows = []
    for c in columns:
        detail = []
        if c.identity is not None:
            detail.append(f"identity {c.identity.generation.lower()}")
        if c.generated is not None:
            detail.append(f"generated as {c.generated}")
        if c.default is not None:
            detail.append(f"default {c.default}")
        if c.collation is not None:
            detail.append(f"collate {c.collation}")
        rows.append(
            [
                readable_ident(c.name),
                c.data_type,
                "not null" if c.not_null else "null",
                (" ".join(detail) + _comment(c.comment)).strip(),
            ]
        )
    return rows


def _aligned(rows: list[list[str]], indent: str) -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=False)] + [row[-1]]
        out.append((indent + "  ".join(cells)).rstrip())
    return out


def _table(by_table: TableObjects, table: Table) -> list[str]:
    kind = "partitioned table" if table.partition_by else ("unlogged table" if table.unlogged else "table")
    head = f"  {kind} {_qn(table.schema, table.name)}"
    if table.partition_by is not None:
        head += f" partition by {table.partition_by.strategy} {table.partition_by.key}"
    if table.partition_of is not None:
        p = table.partition_of
        head += f" partition of {_qn(p.parent_schema, p.parent)} {p.bound}"
    if table.inherits:
        head += " inherits " + ", ".join(_qn(s, t) for s, t in table.inherits)
    lines = [head + _comment(table.comment)]
    lines.extend(_aligned(_column_rows(table.columns), "    "))
    constraints = sorted(table.constraints, key=lambda c: (_CONSTRAINT_RANK[type(c)], c.name))
    lines.extend(f"    {_constraint(c)}{_comment(c.comment)}" for c in constraints)
    lines.extend(
        f"    {_index(i)}{_comment(i.comment)}" for i in by_table.indexes[(table.schema, table.name)]
    )
    for trigger in by_table.triggers[(table.schema, table.name)]:
        when = f" {trigger.timing.lower()} {' or '.join(e.lower() for e in trigger.events)}"
        each = "row" if trigger.for_each_row else "statement"
        state = {"D": " (disabled)", "R": " (replica)", "A": " (always)"}.get(trigger.enabled, "")
        lines.append(
            f"    trigger {readable_ident(trigger.name)}{when} for each {each} execute "
            f"{_qn(trigger.function_schema, trigger.function)}(){state}{_comment(trigger.comment)}"
        )
    if table.replica_identity != "DEFAULT":
        index = (
            f" ({readable_ident(table.replica_identity_index or '')})"
            if table.replica_identity == "INDEX"
            else ""
        )
        lines.append(f"    replica identity {table.replica_identity.lower()}{index}")
    if table.rls_enabled:
        lines.append("    row level security" + (" (forced)" if table.rls_forced else ""))
    for policy in by_table.policies[(table.schema, table.name)]:
        text = f"    policy {readable_ident(policy.name)} for {policy.command.lower()} to {', '.join(policy.roles)}"
        if not policy.permissive:
            text += " restrictive"
        if policy.using is not None:
            text += f" using {policy.using}"
        if policy.with_check is not None:
            text += f" with check {policy.with_check}"
        lines.append(text + _comment(policy.comment))
    return lines


_CONSTRAINT_RANK: dict[type, int] = {
    PrimaryKey: 0,
    UniqueConstraint: 1,
    ExclusionConstraint: 2,
    CheckConstraint: 3,
    ForeignKey: 4,
}


def _constraint(c: Constraint) -> str:
    if isinstance(c, PrimaryKey):
        return f"primary key {readable_ident(c.name)} ({_cols(c.columns)})"
    if isinstance(c, UniqueConstraint):
        return f"unique {readable_ident(c.name)} ({_cols(c.columns)})"
    if isinstance(c, ForeignKey):
        text = (
            f"foreign key {readable_ident(c.name)} ({_cols(c.columns)}) -> "
            f"{_qn(c.ref_schema, c.ref_table)} ({_cols(c.ref_columns)})"
        )
        if c.on_delete != "NO ACTION":
            text += f" on delete {c.on_delete.lower()}"
        if c.on_update != "NO ACTION":
            text += f" on update {c.on_update.lower()}"
        return text
    if isinstance(c, CheckConstraint):
        return f"check {readable_ident(c.name)} {c.expression}"
    if isinstance(c, ExclusionConstraint):
        elements = ", ".join(f"{_element(e.expression)} with {e.operator}" for e in c.elements)
        return f"exclude {readable_ident(c.name)} using {c.method} ({elements})"
    raise TypeError(f"not a constraint: {c!r}")


def _index(index: Index) -> str:
    keys = ", ".join(
        (readable_ident(k.column) if k.column is not None else f"({k.expression})")
        + (" desc" if k.descending else "")
        for k in index.keys
    )
    text = f"{'unique ' if index.unique else ''}index {readable_ident(index.name)}"
    if index.method != "btree":
        text += f" using {index.method}"
    text += f" on ({keys})"
    if index.include:
        text += f" include ({_cols(index.include)})"
    if index.predicate is not None:
        text += f" where {index.predicate}"
    return text


def _view(by_table: TableObjects, view: View) -> list[str]:
    kind = "materialized view" if view.materialized else "view"
    lines = [f"  {kind} {_qn(view.schema, view.name)}{_comment(view.comment)}"]
    rows = [
        [
            readable_ident(c.name),
            c.data_type,
            "not null" if c.not_null else "null",
            _comment(c.comment).strip(),
        ]
        for c in view.columns
    ]
    lines.extend(_aligned(rows, "    "))
    lines.extend(f"    {_index(i)}{_comment(i.comment)}" for i in by_table.indexes[(view.schema, view.name)])
    return lines


def _function(function: Function) -> list[str]:
    args = ", ".join(
        " ".join(
            part
            for part in (
                a.mode.lower() if a.mode != "IN" else "",
                readable_ident(a.name) if a.name else "",
                a.data_type,
            )
            if part
        )
        for a in function.arguments
        if a.mode != "TABLE"
    )
    kind = function.kind
    returns = f" returns {function.returns}" if function.returns else ""
    return [
        f"  {kind} {_qn(function.schema, function.name)}({args}){returns} "
        f"language {function.language} {function.volatility.lower()}{_comment(function.comment)}"
    ]
