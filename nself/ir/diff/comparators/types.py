"""The comparator of types: enums, domains, composite and range types."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from nself.ir.diff.context import _comment, _Diff, _inherited, _pairs, comparator
from nself.ir.diff.deps import DepKey, Deps, _col_key, _rel_key, _schema_key, node_key
from nself.ir.diff.operations import (
    AddEnumValue,
    AlterCompositeType,
    CreateCompositeType,
    CreateDomain,
    CreateEnum,
    CreateRangeType,
    DropCompositeType,
    DropDomain,
    DropEnum,
    DropRangeType,
    EnumUsage,
    RebuildDomain,
    RebuildEnum,
    _is_addition,
)
from nself.ir.diff.references import _user_type_of
from nself.ir.model import Catalog, CheckConstraint, Domain, Enum, Table
from nself.ir.names import qualified_name


def _enum_usages(d: _Diff, old: Enum | Domain, new: Enum | Domain) -> tuple[EnumUsage, ...]:
    """Columns typed with the enum or domain (or an array of it) that exist with that type
    on both sides, in tables that are neither dropped nor created."""
    usages = []
    typed = (old.schema, old.name)
    for key, ta in d.tables_a.items():
        tb = d.tables_b.get(key)
        if tb is None:
            continue
        for ca in ta.columns:
            if _user_type_of(ca.data_type) != typed:
                continue
            cb = tb.column(ca.name)
            if cb is None or ca.data_type != cb.data_type:
                continue
            if ta.partition_of is not None or (ta.inherits and _inherited(d, ta, ca.name)):
                continue  # the parent's change carries to it
            usages.append(EnumUsage(ta.schema, ta.name, ca.name, ca.data_type, ca.default, cb.default))
            d.enum_columns.add((ta.schema, ta.name, ca.name))
    return tuple(usages)


def _uses_new_label(d: _Diff, old: Enum, new: Enum) -> bool:
    """Whether some expression of `b` spells a label that `new` adds: ALTER TYPE ... ADD
    VALUE cannot be used in the transaction that adds it, so such an enum is rebuilt."""
    added = [lb for lb in new.labels if lb not in old.labels]
    # the type as canonical text spells it (`public."order"`, `"s$1"."e$x"`)
    qualified = qualified_name(new.schema, new.name)
    return any(
        qualified in text and any(_spells_label(text, label) for label in added) for text in _texts(d.b)
    )


def _spells_label(text: str, label: str) -> bool:
    """Whether `text` holds `label` as a string constant or an element of an array
    constant (`'c'`, `'{a,c}'`, `'{"c d"}'`). It may over-match (the enum is then
    rebuilt rather than extended, which is sound either way); it never misses."""
    for needle in {
        label.replace("'", "''"),
        label.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''"),
    }:
        start = text.find(needle)
        while start != -1:
            end = start + len(needle)
            before = text[start - 1] if start > 0 else ""
            after = text[end] if end < len(text) else ""
            if before in ("'", "{", ",", '"') and after in ("'", "}", ",", '"'):
                return True
            start = text.find(needle, start + 1)
    return False


def _texts(catalog: Catalog) -> Iterator[str]:
    for t in catalog.tables:
        for c in t.columns:
            if c.default:
                yield c.default
        for con in t.constraints:
            if isinstance(con, CheckConstraint):
                yield con.expression
    for v in catalog.views:
        yield v.definition
    for i in catalog.indexes:
        if i.predicate:
            yield i.predicate
    for p in catalog.policies:
        yield p.using or ""
        yield p.with_check or ""
    for f in catalog.functions:
        yield f.body
    for dom in catalog.domains:
        if dom.default:
            yield dom.default


@comparator("types")
def _compare_types(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.enums, d.b.enums)
    for e in gone:
        d.drop(DropEnum(e), e)
    for e in new:
        d.create(CreateEnum(e), e)
    for old, e in both:
        if old == e:
            continue
        if old.labels != e.labels:
            usages = _enum_usages(d, old, e)
            key = node_key(e)
            tables = {_rel_key(u.schema, u.table) for u in usages}
            columns = {_col_key(u.schema, u.table, u.column) for u in usages}
            deps = Deps(
                adds=frozenset({key, *columns}),
                removes=frozenset({key, *columns}),
                after=frozenset(tables | {_schema_key(e.schema)}),
            )
            if _is_addition(old, e) and not _uses_new_label(d, old, e):
                # the columns' default changes are its own (the column comparator leaves
                # them to it, as it does for a rebuild)
                before: set[DepKey] = set()
                after: set[DepKey] = {_schema_key(e.schema)}
                for u in usages:
                    if u.old_default != u.new_default:
                        before |= _default_requires(d, d.tables_a, u, u.old_default)
                        after |= _default_requires(d, d.tables_b, u, u.new_default)
                        after.add(_rel_key(u.schema, u.table))
                d.emit(
                    AddEnumValue(old, e, usages),
                    Deps(
                        adds=frozenset({key}),
                        before=frozenset(before - {key}),
                        after=frozenset(after - {key}),
                    ),
                )
            else:
                d.emit(RebuildEnum(old, e, usages), deps)
        _comment(d, "TYPE", e.schema, e.name, old.comment, e.comment, after=[node_key(e)])

    gone_d, new_d, both_d = _pairs(d.a.domains, d.b.domains)
    for dom in gone_d:
        d.drop(DropDomain(dom), dom)
    for dom in new_d:
        d.create(CreateDomain(dom), dom)
    for old_d, dom in both_d:
        if old_d == dom:
            continue
        if (old_d.data_type, old_d.collation) != (dom.data_type, dom.collation):
            usages = _enum_usages(d, old_d, dom)
            key = node_key(dom)
            tables = {_rel_key(u.schema, u.table) for u in usages}
            columns = {_col_key(u.schema, u.table, u.column) for u in usages}
            needs_old, needs_new = d.requires(old_d), d.requires(dom)
            d.emit(
                RebuildDomain(old_d, dom, usages),
                Deps(
                    adds=frozenset({key, *columns}),
                    removes=frozenset({key, *columns}),
                    before=needs_old - needs_new,
                    after=frozenset(tables | needs_new),
                ),
            )
            continue
        if dataclasses.replace(old_d, comment=None) != dataclasses.replace(dom, comment=None):
            d.alter_domain(old_d, dom)
        _comment(d, "DOMAIN", dom.schema, dom.name, old_d.comment, dom.comment, after=[node_key(dom)])

    gone_c, new_c, both_c = _pairs(d.a.composite_types, d.b.composite_types)
    for ct in gone_c:
        d.drop(DropCompositeType(ct), ct)
    for ct in new_c:
        d.create(CreateCompositeType(ct), ct)
    for old_c, ct in both_c:
        if old_c == ct:
            continue
        if old_c.attributes != ct.attributes:
            d.emit(
                AlterCompositeType(old_c, ct),
                Deps(
                    adds=frozenset({node_key(ct)}),
                    removes=frozenset({node_key(ct)}),
                    before=d.requires(old_c),
                    after=d.requires(ct),
                ),
            )
        _comment(d, "TYPE", ct.schema, ct.name, old_c.comment, ct.comment, after=[node_key(ct)])

    gone_r, new_r, both_r = _pairs(d.a.range_types, d.b.range_types)
    for rt in gone_r:
        d.drop(DropRangeType(rt), rt)
    for rt in new_r:
        d.create(CreateRangeType(rt), rt)
    for old_r, rt in both_r:
        if old_r == rt:
            continue
        if old_r.subtype != rt.subtype:
            d.drop(DropRangeType(old_r), old_r)
            d.create(CreateRangeType(rt), rt)
        else:
            _comment(d, "TYPE", rt.schema, rt.name, old_r.comment, rt.comment, after=[node_key(rt)])


def _default_requires(
    d: _Diff, tables: dict[tuple[str, str], Table], u: EnumUsage, default: str | None
) -> set[DepKey]:
    """What a column's default on one side uses: its depends_on (d.default_requires), or
    the names its text holds where the column is not found with that default."""
    table = tables.get((u.schema, u.table))
    column = table.column(u.column) if table is not None else None
    if column is not None and column.default == default:
        return d.default_requires(column)
    return set(d.refs.in_text(default))
