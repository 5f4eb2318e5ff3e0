"""The comparator of sequences and their ownership."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import DepKey, Deps, _col_key, _schema_key, node_key
from nself.ir.diff.operations import AlterSequence, CreateSequence, DropSequence, SetSequenceOwner
from nself.ir.model import Sequence


@comparator("sequences")
def _compare_sequences(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.sequences, d.b.sequences)

    def owner_deps(seq: Sequence) -> frozenset[DepKey]:
        if seq.owned_by is None:
            return frozenset({node_key(seq)})
        return frozenset({node_key(seq), _col_key(seq.schema, *seq.owned_by)})

    for s in gone:
        if s.owned_by is not None:
            d.emit(SetSequenceOwner(s.schema, s.name, s.owned_by, None), Deps(before=owner_deps(s)))
        d.drop(DropSequence(s), s)
    for s in new:
        d.create(CreateSequence(s), s)
        if s.owned_by is not None:
            d.emit(SetSequenceOwner(s.schema, s.name, None, s.owned_by), Deps(after=owner_deps(s)))
    for old, s in both:
        if old == s:
            continue
        plain_old = dataclasses.replace(old, owned_by=None, comment=None)
        plain_new = dataclasses.replace(s, owned_by=None, comment=None)
        if plain_old != plain_new:
            d.emit(
                AlterSequence(old, s),
                Deps(adds=frozenset({node_key(s)}), after=frozenset({_schema_key(s.schema)})),
            )
        if old.owned_by != s.owned_by:
            # Released and claimed in two steps: the old owner may be dropped only after
            # the release (or the sequence goes with it), the new one exists only later.
            if old.owned_by is not None:
                d.emit(SetSequenceOwner(s.schema, s.name, old.owned_by, None), Deps(before=owner_deps(old)))
            if s.owned_by is not None:
                d.emit(SetSequenceOwner(s.schema, s.name, None, s.owned_by), Deps(after=owner_deps(s)))
        _comment(d, "SEQUENCE", s.schema, s.name, old.comment, s.comment, after=[node_key(s)])
