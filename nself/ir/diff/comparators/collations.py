"""The comparator of collations (rebuilt under the columns that use them)."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.comparators.types import _enum_usages
from nself.ir.diff.context import _comment, _Diff, _inherited, _pairs, comparator
from nself.ir.diff.deps import Deps, _col_key, _schema_key, node_key
from nself.ir.diff.operations import CreateCollation, DropCollation, EnumUsage, RebuildCollation
from nself.ir.model import Collation, Domain


def _collation_usages(d: _Diff, c: Collation) -> tuple[EnumUsage, ...]:
    """Table columns with collation `c` on both sides (same type), in tables neither
    dropped nor created; a partition's or inheritance child's column follows its parent."""
    key = node_key(c)
    usages = []
    for tkey, ta in d.tables_a.items():
        tb = d.tables_b.get(tkey)
        if tb is None or ta.partition_of is not None:
            continue
        for ca in ta.columns:
            cb = tb.column(ca.name)
            if cb is None or (ca.data_type, ca.collation) != (cb.data_type, cb.collation):
                continue
            if key not in d.refs.in_text(ca.collation) or (ta.inherits and _inherited(d, ta, ca.name)):
                continue
            usages.append(EnumUsage(ta.schema, ta.name, ca.name, ca.data_type))
    return tuple(usages)


def _domain_usages(d: _Diff, c: Collation) -> tuple[tuple[Domain, tuple[EnumUsage, ...]], ...]:
    """Domains of collation `c` that are the same on both sides, with the columns that use
    them (see _enum_usages)."""
    key = node_key(c)
    _, _, both = _pairs(d.a.domains, d.b.domains)
    return tuple(
        (dom, _enum_usages(d, old, dom)) for old, dom in both if old == dom and key in d.refs.in_text(dom.collation)
    )


@comparator("collations")
def _compare_collations(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.collations, d.b.collations)
    for c in gone:
        d.drop(DropCollation(c), c)
    for c in new:
        d.create(CreateCollation(c), c)
    for old, c in both:
        if old == c:
            continue
        if dataclasses.replace(old, comment=None) != dataclasses.replace(c, comment=None):
            usages = _collation_usages(d, c)
            domains = _domain_usages(d, c)
            if not usages and not domains:
                d.drop(DropCollation(old), old)
                d.create(CreateCollation(c), c)
                continue
            key = node_key(c)
            every = [*usages, *(u for _, us in domains for u in us)]
            columns = {_col_key(u.schema, u.table, u.column) for u in every}
            domain_keys = {node_key(dom) for dom, _ in domains}
            d.emit(
                RebuildCollation(old, c, usages, domains),
                Deps(
                    adds=frozenset({key, *columns, *domain_keys}),
                    removes=frozenset({key, *columns, *domain_keys}),
                    # (not its tables: they stay, and an expression over their rows that is
                    # taken away before and given back after must not wait for it)
                    after=frozenset({_schema_key(c.schema)}),
                ),
            )
        else:
            _comment(d, "COLLATION", c.schema, c.name, old.comment, c.comment, after=[node_key(c)])
