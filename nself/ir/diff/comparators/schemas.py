"""The comparator of schemas and extensions."""

from __future__ import annotations

import dataclasses

from nself.ir.diff.context import _comment, _Diff, _pairs, comparator
from nself.ir.diff.deps import Deps, _schema_key, node_key
from nself.ir.diff.operations import AlterExtension, CreateExtension, CreateSchema, DropExtension, DropSchema


@comparator("schemas")
def _compare_schemas(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.schemas, d.b.schemas)
    for s in gone:
        d.drop(DropSchema(s), s)
    for s in new:
        d.create(CreateSchema(s), s)
    for old, s in both:
        if old == s:
            continue
        _comment(d, "SCHEMA", None, s.name, old.comment, s.comment, after=[node_key(s)])


@comparator("extensions")
def _compare_extensions(d: _Diff) -> None:
    gone, new, both = _pairs(d.a.extensions, d.b.extensions)
    for e in gone:
        d.drop(DropExtension(e), e)
    for e in new:
        d.create(CreateExtension(e), e)
    for old, e in both:
        if old == e:
            continue
        # An unknown version (and, with it, an unknown absent comment) is no change.
        known = old.known and e.known
        version_changes = known and old.version != e.version
        if version_changes or old.schema != e.schema:
            d.emit(
                AlterExtension(old, e if version_changes else dataclasses.replace(e, version=old.version)),
                Deps(adds=frozenset({node_key(e)}), after=frozenset({_schema_key(e.schema)})),
            )
        unknown_comment = (not old.known and old.comment is None) or (not e.known and e.comment is None)
        if not unknown_comment:
            _comment(d, "EXTENSION", None, e.name, old.comment, e.comment, after=[node_key(e)])
