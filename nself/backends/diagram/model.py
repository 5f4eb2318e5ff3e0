"""What an ER diagram shows, decided once for every format: the boxes (tables, views,
materialized views) with their columns and markers, and the foreign keys as edges with the
cardinality their constraints imply. The renderers only spell this out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nself.errors import OptionError
from nself.ir import Catalog
from nself.ir.model import ForeignKey, Table, UniqueConstraint

EntityKind = Literal["table", "partitioned table", "view", "materialized view"]
# How many rows one row at the other end sees: the parent side of a foreign key is
# exactly one (NOT NULL columns) or zero-or-one (a nullable column: MATCH SIMPLE skips the
# check when any column is NULL); the child side is zero-or-more, or zero-or-one when the
# foreign key's columns are unique in the child.
Cardinality = Literal["one", "zero_or_one", "zero_or_more"]


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    data_type: str
    primary_key: bool = False
    foreign_key: bool = False
    unique: bool = False
    not_null: bool = False


@dataclass(frozen=True, slots=True)
class Entity:
    schema: str
    name: str
    kind: EntityKind
    attributes: tuple[Attribute, ...]
    # schema-qualified only when the diagram spans several schemas
    label: str
    # the label of the partitioned table this one is a partition of
    partition_of: str | None = None
    # the partitions folded into this box (every level below it), by label, when the
    # diagram does not draw partitions as boxes of their own
    partitions: tuple[str, ...] = ()

    @property
    def caption(self) -> str | None:
        """What the box says besides its name: `view`, `materialized view`, `partition of X`,
        `N partitions` (folded into it)."""
        if self.kind in ("view", "materialized view"):
            return self.kind
        if self.partition_of is not None:
            return f"partition of {self.partition_of}"
        if self.partitions:
            return f"{len(self.partitions)} partition{'s' if len(self.partitions) > 1 else ''}"
        return None

    @property
    def key(self) -> tuple[str, str]:
        return (self.schema, self.name)

    @property
    def node_id(self) -> str:
        return node_id(self.schema, self.name)

    def port(self, column: str) -> str:
        """The name of the column's row in formats that can point at one (DOT ports)."""
        index = next(i for i, a in enumerate(self.attributes) if a.name == column)
        return f"c{index}"


@dataclass(frozen=True, slots=True)
class Relationship:
    """One foreign key: `child` (the table holding it) references `parent`."""

    name: str
    child: Entity
    columns: tuple[str, ...]
    parent: Entity
    ref_columns: tuple[str, ...]
    parent_side: Cardinality
    child_side: Cardinality
    # the foreign key's columns are all part of the child's primary key: the child's
    # identity depends on its parent (drawn solid; other edges dashed)
    identifying: bool

    @property
    def label(self) -> str:
        return ", ".join(self.columns)


@dataclass(frozen=True, slots=True)
class Diagram:
    entities: tuple[Entity, ...]
    relationships: tuple[Relationship, ...]
    show_columns: bool
    title: str
    # the schemas drawn, in name order (boxes are grouped by schema when there are several)
    schemas: tuple[str, ...] = ()


def node_id(schema: str, name: str) -> str:
    """`schema.name` with every character but letters, digits and `_` written as `$HH` per
    UTF-8 byte: unique for every (schema, name), safe inside quotes in DOT and mermaid (which
    refuses `"`, `%` and backslashes in names), and read back with
    `urllib.parse.unquote(id.replace("$", "%"))` on each part."""
    return f"{_encode(schema)}.{_encode(name)}"


def cluster_id(schema: str) -> str:
    """The id of the group of boxes of `schema` (a DOT cluster, an SVG element)."""
    return f"cluster_{_encode(schema)}"


def _encode(text: str) -> str:
    return "".join(
        ch if ch.isalnum() or ch == "_" else "".join(f"${b:02X}" for b in ch.encode("utf-8")) for ch in text
    )


def build_diagram(
    catalog: Catalog,
    schemas: tuple[str, ...] = (),
    *,
    show_columns: bool = True,
    partitions: bool = False,
) -> Diagram:
    """The diagram of `catalog`, limited to `schemas` when given (foreign keys to tables
    outside them are left out: their other end is not drawn). Partitions are folded into
    the partitioned table at the top of their tree (a foreign key of or to a partition is
    drawn on that table) unless `partitions` asks for a box each."""
    known = set(catalog.schema_names())
    for name in schemas:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise OptionError(f"--schema: no schema {name!r} in the source (schemas: {listed})")
    wanted = set(schemas) or known
    tables = [t for t in catalog.tables if t.schema in wanted]
    views = [v for v in catalog.views if v.schema in wanted]
    drawn_schemas = {t.schema for t in tables} | {v.schema for v in views}
    qualify = len(drawn_schemas) > 1

    def label(schema: str, name: str) -> str:
        return f"{schema}.{name}" if qualify else name

    # partition -> the drawn table at the top of its tree, when partitions are folded
    folded: dict[tuple[str, str], tuple[str, str]] = {}
    if not partitions:
        drawn = {(t.schema, t.name) for t in tables}
        for table in tables:
            top = _partition_root(catalog, table, drawn)
            if top != (table.schema, table.name):
                folded[(table.schema, table.name)] = top
    folded_into: dict[tuple[str, str], list[str]] = {}
    for (schema, name), top in sorted(folded.items()):
        folded_into.setdefault(top, []).append(label(schema, name))

    unique_indexes = _unique_index_columns(catalog)
    entities: dict[tuple[str, str], Entity] = {}
    keys: dict[tuple[str, str], _Keys] = {}
    for table in tables:
        if (table.schema, table.name) in folded:
            continue
        kind: EntityKind = "partitioned table" if table.partition_by is not None else "table"
        keys[(table.schema, table.name)] = table_keys = _keys(catalog, table, unique_indexes)
        entities[(table.schema, table.name)] = Entity(
            table.schema,
            table.name,
            kind,
            _table_attributes(table, table_keys),
            label(table.schema, table.name),
            partition_of=_partition_parent(table, qualify),
            partitions=tuple(folded_into.get((table.schema, table.name), ())),
        )
    for view in views:
        unique = {next(iter(s)) for s in unique_indexes.get((view.schema, view.name), []) if len(s) == 1}
        attributes = tuple(
            Attribute(c.name, c.data_type, unique=c.name in unique, not_null=c.not_null) for c in view.columns
        )
        kind = "materialized view" if view.materialized else "view"
        entities[(view.schema, view.name)] = Entity(
            view.schema, view.name, kind, attributes, label(view.schema, view.name)
        )

    relationships = []
    for table in tables:
        own = (table.schema, table.name)
        child = entities[folded.get(own, own)]
        table_keys = keys.get(own) or _keys(catalog, table, unique_indexes)
        for fk in table.foreign_keys:
            referenced = (fk.ref_schema, fk.ref_table)
            parent = entities.get(folded.get(referenced, referenced))
            if parent is not None:
                relationships.append(_relationship(child, fk, parent, table_keys))
    ordered = sorted(entities.values(), key=lambda e: (e.schema, e.name))
    relationships.sort(key=lambda r: (r.child.schema, r.child.name, r.name))
    title = ", ".join(sorted(drawn_schemas)) or "empty schema"
    return Diagram(tuple(ordered), tuple(relationships), show_columns, title, tuple(sorted(drawn_schemas)))


def _partition_root(catalog: Catalog, table: Table, drawn: set[tuple[str, str]]) -> tuple[str, str]:
    """The highest drawn table of `table`'s partition tree (itself when it is no partition,
    or when its parent is not drawn)."""
    top = (table.schema, table.name)
    current: Table | None = table
    while current is not None and (of := current.partition_of) is not None:
        parent_key = (of.parent_schema, of.parent)
        if parent_key not in drawn:
            break
        top = parent_key
        current = catalog.table(*parent_key)
    return top


def _partition_parent(table: Table, qualify: bool) -> str | None:
    """The label of the table `table` is a partition of: qualified when the diagram is, or
    when the parent lives in another schema (it may not be drawn)."""
    of = table.partition_of
    if of is None:
        return None
    return f"{of.parent_schema}.{of.parent}" if qualify or of.parent_schema != table.schema else of.parent


@dataclass(frozen=True, slots=True)
class _Keys:
    """A table's keys, with those a partition takes from the tables it is a partition of
    (PostgreSQL copies their primary key, unique indexes and foreign keys onto it)."""

    primary_key: frozenset[str]
    foreign_key_columns: frozenset[str]
    # column sets held unique: primary key, UNIQUE constraints, unique indexes
    unique_sets: tuple[frozenset[str], ...]
    # columns unique on their own by a UNIQUE constraint or unique index (the UK marker)
    unique_columns: frozenset[str]


def _keys(
    catalog: Catalog, table: Table, unique_indexes: dict[tuple[str, str], list[frozenset[str]]]
) -> _Keys:
    lineage = [table]
    while (of := lineage[-1].partition_of) is not None:
        parent = catalog.table(of.parent_schema, of.parent)
        if parent is None:
            break
        lineage.append(parent)
    pk = next((t.primary_key for t in lineage if t.primary_key is not None), None)
    unique = [frozenset(c.columns) for t in lineage for c in t.constraints if isinstance(c, UniqueConstraint)]
    unique += [s for t in lineage for s in unique_indexes.get((t.schema, t.name), [])]
    primary_key = frozenset(pk.columns) if pk else frozenset()
    return _Keys(
        primary_key=primary_key,
        foreign_key_columns=frozenset(c for t in lineage for fk in t.foreign_keys for c in fk.columns),
        unique_sets=(primary_key, *unique) if pk else tuple(unique),
        unique_columns=frozenset(next(iter(s)) for s in unique if len(s) == 1),
    )


def _table_attributes(table: Table, keys: _Keys) -> tuple[Attribute, ...]:
    return tuple(
        Attribute(
            column.name,
            column.data_type,
            primary_key=column.name in keys.primary_key,
            foreign_key=column.name in keys.foreign_key_columns,
            unique=column.name in keys.unique_columns,
            not_null=column.not_null or column.name in keys.primary_key,
        )
        for column in table.columns
    )


def _unique_index_columns(catalog: Catalog) -> dict[tuple[str, str], list[frozenset[str]]]:
    """Per table, the column sets its unique indexes hold unique: indexes over plain columns
    without a predicate (a partial index is unique only where its predicate holds)."""
    found: dict[tuple[str, str], list[frozenset[str]]] = {}
    for index in catalog.indexes:
        if index.unique and index.predicate is None and all(k.column is not None for k in index.keys):
            columns = frozenset(k.column for k in index.keys if k.column is not None)
            found.setdefault((index.schema, index.table), []).append(columns)
    return found


def _relationship(child: Entity, fk: ForeignKey, parent: Entity, keys: _Keys) -> Relationship:
    columns = set(fk.columns)
    nullable = any(not a.not_null for a in child.attributes if a.name in columns)
    # columns that contain a unique set are unique themselves: one child row per parent row
    one_child = any(s <= columns for s in keys.unique_sets)
    return Relationship(
        name=fk.name,
        child=child,
        columns=fk.columns,
        parent=parent,
        ref_columns=fk.ref_columns,
        parent_side="zero_or_one" if nullable else "one",
        child_side="zero_or_one" if one_child else "zero_or_more",
        identifying=bool(keys.primary_key) and columns <= keys.primary_key,
    )
