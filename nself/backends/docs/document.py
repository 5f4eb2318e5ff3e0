"""What the schema documentation says, decided once for every output format.

`build_document` turns a Catalog into plain records (strings, links, tuples) that the html
and markdown templates only lay out. Everything a reader may follow is a `Link` whose
anchor is derived from the object's kind and identity alone (`anchor`), so links into a
page survive regenerating it; a link to an object left out of the page (another schema,
not selected) has no anchor and is shown as plain text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from nself.ir.model import (
    Catalog,
    CheckConstraint,
    Column,
    ExclusionConstraint,
    ForeignKey,
    Function,
    FunctionArgument,
    Index,
    IndexKey,
    Operator,
    Policy,
    PrimaryKey,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from nself.ir.model import (
    Sequence as SequenceObject,
)
from nself.ir.names import quote_literal, readable_ident, unquote_ident
from nself.ir.types import split_type_name, strip_array

_ANCHOR_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


def _anchor_part(text: str) -> str:
    # Every other character becomes ~xx per UTF-8 byte: '.' separates parts and '~' is the
    # escape itself, so distinct names never share an anchor, and ids hold no spaces.
    return "".join(c if c in _ANCHOR_SAFE else "".join(f"~{b:02x}" for b in c.encode()) for c in text)


def anchor(kind: str, *parts: str) -> str:
    """The stable id of an object: `table-public.film`, `column-public.film.title`,
    `function-public.f.integer~2c~20text` (overloads differ by their argument types)."""
    return kind + "-" + ".".join(_anchor_part(p) for p in parts)


@dataclass(frozen=True)
class Link:
    text: str
    anchor: str | None  # None: the target is not in this document


@dataclass(frozen=True)
class ColumnDoc:
    anchor: str
    name: str
    data_type: str
    type_link: Link | None  # the user type (enum, domain, composite, range) it names
    nullable: bool
    default: str | None
    identity: str | None  # "ALWAYS" / "BY DEFAULT"
    generated: str | None
    keys: str  # "PK", "FK", "PK, FK" or ""
    comment: str | None


@dataclass(frozen=True)
class ConstraintDoc:
    anchor: str
    kind: str  # primary key, unique, check, exclusion
    name: str
    definition: str
    comment: str | None


@dataclass(frozen=True)
class ForeignKeyDoc:
    anchor: str
    name: str
    columns: str
    table: Link  # the referenced table (outgoing) or the referencing one (incoming)
    ref_columns: str
    actions: str
    comment: str | None


@dataclass(frozen=True)
class IndexDoc:
    anchor: str
    name: str
    definition: str
    predicate: str | None
    comment: str | None


@dataclass(frozen=True)
class TriggerDoc:
    anchor: str
    name: str
    when: str  # BEFORE INSERT OR UPDATE OF a FOR EACH ROW WHEN (...)
    function: Link
    arguments: str
    enabled: str
    comment: str | None


@dataclass(frozen=True)
class PolicyDoc:
    anchor: str
    name: str
    command: str
    permissive: str
    roles: str
    using: str | None
    with_check: str | None
    comment: str | None


@dataclass(frozen=True)
class PartitionDoc:
    table: Link
    bound: str


@dataclass(frozen=True)
class TableStatistics:
    """What a live database says of a table's contents, read when the page is written
    (nself.runtime.docs). `rows` is exact (`count(*)`) when `exact`, else PostgreSQL's
    estimate (pg_class.reltuples, as of the last VACUUM or ANALYZE; None before the first);
    `total_bytes` is pg_total_relation_size: heap, indexes and TOAST (of every partition, for
    a partitioned table)."""

    rows: int | None
    exact: bool
    total_bytes: int


@dataclass(frozen=True)
class NeighbourBox:
    x: int
    y: int
    width: int
    label: str
    anchor: str | None  # None: the table is not in this document
    role: str  # "table" (the one documented), "references" or "referenced-by"


@dataclass(frozen=True)
class NeighbourEdge:
    x1: int
    y1: int
    x2: int
    y2: int
    title: str  # the foreign key's name and columns


@dataclass(frozen=True)
class NeighbourhoodDoc:
    """A table and the tables one foreign key joins it to, laid out in three columns: those
    that reference it on the left, it in the middle, those it references on the right (each
    arrow points at the referenced table). An SVG the html page draws inline."""

    width: int
    height: int
    box_height: int
    boxes: tuple[NeighbourBox, ...]
    edges: tuple[NeighbourEdge, ...]
    self_references: tuple[str, ...]  # foreign keys from the table to itself
    more_left: int  # neighbours left out past NEIGHBOURS_SHOWN
    more_right: int


@dataclass(frozen=True)
class TableDoc:
    anchor: str
    schema: str
    name: str
    kind: str  # table, partitioned table, partition, unlogged table
    comment: str | None
    columns: tuple[ColumnDoc, ...]
    constraints: tuple[ConstraintDoc, ...]
    foreign_keys: tuple[ForeignKeyDoc, ...]
    referenced_by: tuple[ForeignKeyDoc, ...]
    indexes: tuple[IndexDoc, ...]
    triggers: tuple[TriggerDoc, ...]
    row_level_security: str  # "enabled", "enabled, forced" or "disabled"
    policies: tuple[PolicyDoc, ...]
    partition_by: str | None
    partition_of: PartitionDoc | None
    partitions: tuple[PartitionDoc, ...]
    inherits: tuple[Link, ...]
    options: str | None
    neighbourhood: NeighbourhoodDoc | None = None  # None: no foreign key either way
    statistics: TableStatistics | None = None  # None: not read from a live database


@dataclass(frozen=True)
class ViewColumnDoc:
    anchor: str
    name: str
    data_type: str
    type_link: Link | None
    nullable: bool
    comment: str | None


@dataclass(frozen=True)
class ViewDoc:
    anchor: str
    schema: str
    name: str
    kind: str  # view, materialized view
    comment: str | None
    columns: tuple[ViewColumnDoc, ...]
    definition: str
    options: str | None
    indexes: tuple[IndexDoc, ...]
    triggers: tuple[TriggerDoc, ...]


@dataclass(frozen=True)
class EnumDoc:
    anchor: str
    name: str
    labels: tuple[str, ...]
    comment: str | None


@dataclass(frozen=True)
class DomainDoc:
    anchor: str
    name: str
    data_type: str
    type_link: Link | None
    nullable: bool
    default: str | None
    checks: tuple[ConstraintDoc, ...]
    comment: str | None


@dataclass(frozen=True)
class AttributeDoc:
    name: str
    data_type: str
    type_link: Link | None


@dataclass(frozen=True)
class CompositeDoc:
    anchor: str
    name: str
    attributes: tuple[AttributeDoc, ...]
    comment: str | None


@dataclass(frozen=True)
class RangeDoc:
    anchor: str
    name: str
    subtype: str
    comment: str | None


@dataclass(frozen=True)
class FunctionDoc:
    anchor: str
    name: str
    kind: str  # function, procedure, aggregate, window
    arguments: str  # as written in CREATE FUNCTION: `p_film_id integer, OUT n integer`
    returns: str | None
    language: str
    attributes: str  # volatility, STRICT, SECURITY DEFINER, ...
    comment: str | None


@dataclass(frozen=True)
class OperatorDoc:
    anchor: str
    name: str
    left_type: str | None  # None: a prefix operator
    right_type: str
    function: Link
    comment: str | None


@dataclass(frozen=True)
class SequenceDoc:
    anchor: str
    name: str
    data_type: str
    start: int
    increment: int
    min_value: int
    max_value: int
    cache: int
    cycle: bool
    owned_by: Link | None
    comment: str | None


@dataclass(frozen=True)
class SchemaDoc:
    anchor: str
    name: str
    comment: str | None
    tables: tuple[TableDoc, ...]
    views: tuple[ViewDoc, ...]
    enums: tuple[EnumDoc, ...]
    domains: tuple[DomainDoc, ...]
    composite_types: tuple[CompositeDoc, ...]
    range_types: tuple[RangeDoc, ...]
    functions: tuple[FunctionDoc, ...]
    sequences: tuple[SequenceDoc, ...]
    operators: tuple[OperatorDoc, ...] = ()


@dataclass(frozen=True)
class ExtensionDoc:
    name: str
    schema: str
    version: str | None
    comment: str | None


@dataclass(frozen=True)
class Document:
    title: str
    extensions: tuple[ExtensionDoc, ...]
    schemas: tuple[SchemaDoc, ...]


def schema_names(catalog: Catalog) -> list[str]:
    """Every schema of the catalog: the declared ones and any an object lives in."""
    return catalog.schema_names()


def qualified(schema: str, name: str) -> str:
    """`schema.name`, each part in double quotes when it is not a plain lower-case name."""
    return f"{readable_ident(schema)}.{readable_ident(name)}"


def _columns(names: Iterable[str]) -> str:
    return ", ".join(readable_ident(n) for n in names)


class _Builder:
    """Indexes the catalog once (by table, by referenced table, by type) so a page of
    thousands of tables is built in linear time."""

    def __init__(
        self,
        catalog: Catalog,
        schemas: Sequence[str],
        statistics: Mapping[tuple[str, str], TableStatistics] | None = None,
    ) -> None:
        self.catalog = catalog
        self.shown = frozenset(schemas)
        self.statistics = statistics or {}
        by_table = catalog.table_objects()
        self.indexes, self.triggers, self.policies = by_table.indexes, by_table.triggers, by_table.policies
        self.referenced_by: dict[tuple[str, str], list[tuple[Table, ForeignKey]]] = defaultdict(list)
        self.partitions: dict[tuple[str, str], list[Table]] = defaultdict(list)
        for table in catalog.tables:
            for fk in table.foreign_keys:
                self.referenced_by[(fk.ref_schema, fk.ref_table)].append((table, fk))
            if table.partition_of is not None:
                self.partitions[(table.partition_of.parent_schema, table.partition_of.parent)].append(table)
        self.relations: dict[tuple[str, str], str] = {}
        for table in catalog.tables:
            self.relations[(table.schema, table.name)] = anchor("table", table.schema, table.name)
        for view in catalog.views:
            self.relations[(view.schema, view.name)] = anchor("view", view.schema, view.name)
        self.types: set[tuple[str, str]] = set()
        for collection in (catalog.enums, catalog.domains, catalog.composite_types, catalog.range_types):
            self.types.update((t.schema, t.name) for t in collection)
        self.functions: dict[tuple[str, str], list[Function]] = defaultdict(list)
        for f in catalog.functions:
            self.functions[(f.schema, f.name)].append(f)

    # ----------------------------------------------------------------------- links

    def relation_link(self, schema: str, name: str) -> Link:
        target = self.relations.get((schema, name)) if schema in self.shown else None
        return Link(qualified(schema, name), target)

    def type_link(self, data_type: str) -> Link | None:
        schema, name, _modifiers = split_type_name(strip_array(data_type))
        if schema is None or (schema, name) not in self.types:
            return None
        return Link(data_type, anchor("type", schema, name) if schema in self.shown else None)

    def function_link(self, schema: str, name: str) -> Link:
        # A trigger names its function without arguments: link when the name is not overloaded.
        candidates = self.functions.get((schema, name), [])
        target = None
        if len(candidates) == 1 and schema in self.shown:
            target = function_anchor(candidates[0])
        return Link(qualified(schema, name), target)

    # ----------------------------------------------------------------------- objects

    def schema(self, name: str, comment: str | None) -> SchemaDoc:
        c = self.catalog
        return SchemaDoc(
            anchor=anchor("schema", name),
            name=name,
            comment=comment,
            tables=tuple(self.table(t) for t in c.tables if t.schema == name),
            views=tuple(self.view(v) for v in c.views if v.schema == name),
            enums=tuple(
                EnumDoc(anchor("type", e.schema, e.name), e.name, e.labels, e.comment)
                for e in c.enums
                if e.schema == name
            ),
            domains=tuple(
                DomainDoc(
                    anchor=anchor("type", d.schema, d.name),
                    name=d.name,
                    data_type=d.data_type,
                    type_link=self.type_link(d.data_type),
                    nullable=not d.not_null,
                    default=d.default,
                    checks=tuple(_check(d.schema, d.name, ch) for ch in d.checks),
                    comment=d.comment,
                )
                for d in c.domains
                if d.schema == name
            ),
            composite_types=tuple(
                CompositeDoc(
                    anchor=anchor("type", t.schema, t.name),
                    name=t.name,
                    attributes=tuple(
                        AttributeDoc(a.name, a.data_type, self.type_link(a.data_type)) for a in t.attributes
                    ),
                    comment=t.comment,
                )
                for t in c.composite_types
                if t.schema == name
            ),
            range_types=tuple(
                RangeDoc(anchor("type", r.schema, r.name), r.name, r.subtype, r.comment)
                for r in c.range_types
                if r.schema == name
            ),
            functions=tuple(_function(f) for f in c.functions if f.schema == name),
            sequences=tuple(self.sequence_doc(s) for s in c.sequences if s.schema == name),
            operators=tuple(self.operator_doc(o) for o in c.operators if o.schema == name),
        )

    def operator_doc(self, o: Operator) -> OperatorDoc:
        schema, _, function = o.function.rpartition(".")
        link = self.function_link(unquote_ident(schema), unquote_ident(function)) if schema else Link(o.function, None)
        return OperatorDoc(
            anchor("operator", o.schema, o.name, o.left_type or "NONE", o.right_type),
            o.name,
            o.left_type,
            o.right_type,
            link,
            o.comment,
        )

    def table(self, t: Table) -> TableDoc:
        key = (t.schema, t.name)
        pk_columns = set(t.primary_key.columns) if t.primary_key else set()
        fk_columns = {col for fk in t.foreign_keys for col in fk.columns}
        if t.partition_by is not None:
            kind = "partitioned table"
        elif t.partition_of is not None:
            kind = "partition"
        else:
            kind = "unlogged table" if t.unlogged else "table"
        partition_of = None
        if t.partition_of is not None:
            parent = t.partition_of
            partition_of = PartitionDoc(self.relation_link(parent.parent_schema, parent.parent), parent.bound)
        return TableDoc(
            anchor=anchor("table", t.schema, t.name),
            schema=t.schema,
            name=t.name,
            kind=kind,
            comment=t.comment,
            columns=tuple(self.column(t, col, pk_columns, fk_columns) for col in t.columns),
            # The primary key first: it is what a reader looks for.
            constraints=tuple(
                _constraint(t, con)
                for con in sorted(t.constraints, key=lambda c: not isinstance(c, PrimaryKey))
                if not isinstance(con, ForeignKey)
            ),
            foreign_keys=tuple(
                ForeignKeyDoc(
                    anchor=anchor("constraint", t.schema, t.name, fk.name),
                    name=fk.name,
                    columns=_columns(fk.columns),
                    table=self.relation_link(fk.ref_schema, fk.ref_table),
                    ref_columns=_columns(fk.ref_columns),
                    actions=_actions(fk),
                    comment=fk.comment,
                )
                for fk in t.foreign_keys
            ),
            referenced_by=tuple(
                ForeignKeyDoc(
                    anchor=anchor("constraint", source.schema, source.name, fk.name),
                    name=fk.name,
                    columns=_columns(fk.columns),
                    table=self.relation_link(source.schema, source.name),
                    ref_columns=_columns(fk.ref_columns),
                    actions=_actions(fk),
                    comment=fk.comment,
                )
                for source, fk in self.referenced_by[key]
            ),
            indexes=tuple(_index(i) for i in self.indexes[key]),
            triggers=tuple(self.trigger(tr) for tr in self.triggers[key]),
            row_level_security=(
                ("enabled, forced" if t.rls_forced else "enabled") if t.rls_enabled else "disabled"
            ),
            policies=tuple(_policy(p) for p in self.policies[key]),
            partition_by=f"{t.partition_by.strategy} {_partition_key(t.partition_by.key, t.partition_by.strategy)}"
            if t.partition_by
            else None,
            partition_of=partition_of,
            partitions=tuple(
                PartitionDoc(
                    self.relation_link(p.schema, p.name), p.partition_of.bound if p.partition_of else ""
                )
                for p in self.partitions[key]
            ),
            inherits=tuple(self.relation_link(s, n) for s, n in t.inherits),
            options=", ".join(t.options) or None,
            neighbourhood=self.neighbourhood(t),
            statistics=self.statistics.get(key),
        )

    def neighbourhood(self, t: Table) -> NeighbourhoodDoc | None:
        key = (t.schema, t.name)
        referenced: dict[tuple[str, str], list[ForeignKey]] = {}
        referencing: dict[tuple[str, str], list[ForeignKey]] = {}
        self_references = []
        for fk in t.foreign_keys:
            if (fk.ref_schema, fk.ref_table) == key:
                self_references.append(fk.name)
            else:
                referenced.setdefault((fk.ref_schema, fk.ref_table), []).append(fk)
        for source, fk in self.referenced_by[key]:
            if (source.schema, source.name) != key:
                referencing.setdefault((source.schema, source.name), []).append(fk)
        if not referenced and not referencing and not self_references:
            return None
        return layout_neighbourhood(
            (key, self.relation_link(*key)),
            [(k, self.relation_link(*k), fks) for k, fks in sorted(referencing.items())],
            [(k, self.relation_link(*k), fks) for k, fks in sorted(referenced.items())],
            tuple(self_references),
        )

    def column(self, t: Table, col: Column, pk: set[str], fk: set[str]) -> ColumnDoc:
        keys = ", ".join(mark for mark, on in (("PK", col.name in pk), ("FK", col.name in fk)) if on)
        return ColumnDoc(
            anchor=anchor("column", t.schema, t.name, col.name),
            name=col.name,
            data_type=col.data_type,
            type_link=self.type_link(col.data_type),
            nullable=not col.not_null,
            default=col.default,
            identity=col.identity.generation if col.identity else None,
            generated=col.generated,
            keys=keys,
            comment=col.comment,
        )

    def view(self, v: View) -> ViewDoc:
        key = (v.schema, v.name)
        return ViewDoc(
            anchor=anchor("view", v.schema, v.name),
            schema=v.schema,
            name=v.name,
            kind="materialized view" if v.materialized else "view",
            comment=v.comment,
            columns=tuple(
                ViewColumnDoc(
                    anchor=anchor("column", v.schema, v.name, c.name),
                    name=c.name,
                    data_type=c.data_type,
                    type_link=self.type_link(c.data_type),
                    nullable=not c.not_null,
                    comment=c.comment,
                )
                for c in v.columns
            ),
            definition=v.definition.strip(),
            options=", ".join(v.options) or None,
            indexes=tuple(_index(i) for i in self.indexes[key]),
            triggers=tuple(self.trigger(tr) for tr in self.triggers[key]),
        )

    def trigger(self, tr: Trigger) -> TriggerDoc:
        events = []
        for event in tr.events:
            if event == "UPDATE" and tr.update_columns:
                event = f"UPDATE OF {_columns(tr.update_columns)}"
            events.append(event)
        when = f"{'CONSTRAINT ' if tr.constraint else ''}{tr.timing} {' OR '.join(events)}"
        when += " FOR EACH ROW" if tr.for_each_row else " FOR EACH STATEMENT"
        if tr.when:
            when += f" WHEN ({tr.when})"
        return TriggerDoc(
            anchor=anchor("trigger", tr.schema, tr.table, tr.name),
            name=tr.name,
            when=when,
            function=self.function_link(tr.function_schema, tr.function),
            arguments=", ".join(quote_literal(a) for a in tr.arguments),
            enabled=_TRIGGER_ENABLED[tr.enabled],
            comment=tr.comment,
        )

    def sequence_doc(self, s: SequenceObject) -> SequenceDoc:
        owned = None
        if s.owned_by is not None:
            table, column = s.owned_by
            base = self.relation_link(s.schema, table)
            target = anchor("column", s.schema, table, column) if base.anchor else None
            owned = Link(f"{qualified(s.schema, table)}.{readable_ident(column)}", target)
        return SequenceDoc(
            anchor=anchor("sequence", s.schema, s.name),
            name=s.name,
            data_type=s.data_type,
            start=s.start,
            increment=s.increment,
            min_value=s.min_value,
            max_value=s.max_value,
            cache=s.cache,
            cycle=s.cycle,
            owned_by=owned,
            comment=s.comment,
        )


# At most this many tables on each side of a neighbourhood diagram; the rest are counted.
NEIGHBOURS_SHOWN = 30
_BOX_HEIGHT = 24
_GAP = 8
_COLUMN_GAP = 70
_CHAR_WIDTH = 7  # of the diagram's 12px monospace font, rounded up


def _box_width(labels: Iterable[str]) -> int:
    return max((len(label) for label in labels), default=0) * _CHAR_WIDTH + 16


Neighbour = tuple[tuple[str, str], Link, list[ForeignKey]]


def layout_neighbourhood(
    table: tuple[tuple[str, str], Link],
    referencing: Sequence[Neighbour],
    referenced: Sequence[Neighbour],
    self_references: tuple[str, ...],
) -> NeighbourhoodDoc:
    """Three columns: `referencing` tables, the table, `referenced` tables, each column
    centred vertically; one edge per table pair (its title names every foreign key)."""
    left, right = referencing[:NEIGHBOURS_SHOWN], referenced[:NEIGHBOURS_SHOWN]
    rows = max(len(left), len(right), 1)
    height = rows * (_BOX_HEIGHT + _GAP) + _GAP
    left_width = _box_width(link.text for _, link, _ in left) if left else 0
    middle_width = _box_width([table[1].text])
    right_width = _box_width(link.text for _, link, _ in right) if right else 0
    x_middle = _GAP + (left_width + _COLUMN_GAP if left else 0)
    x_right = x_middle + middle_width + _COLUMN_GAP
    width = x_right + right_width + _GAP if right else x_middle + middle_width + _GAP

    def column_y(count: int) -> list[int]:
        top = (height - count * (_BOX_HEIGHT + _GAP) + _GAP) // 2
        return [top + i * (_BOX_HEIGHT + _GAP) for i in range(count)]

    (y_middle,) = column_y(1)
    middle_centre = y_middle + _BOX_HEIGHT // 2
    boxes = [NeighbourBox(x_middle, y_middle, middle_width, table[1].text, table[1].anchor, "table")]
    edges = []
    for (_, link, fks), y in zip(left, column_y(len(left)), strict=True):
        boxes.append(NeighbourBox(_GAP, y, left_width, link.text, link.anchor, "referenced-by"))
        edges.append(
            NeighbourEdge(_GAP + left_width, y + _BOX_HEIGHT // 2, x_middle, middle_centre, _fk_titles(fks))
        )
    for (_, link, fks), y in zip(right, column_y(len(right)), strict=True):
        boxes.append(NeighbourBox(x_right, y, right_width, link.text, link.anchor, "references"))
        edges.append(
            NeighbourEdge(
                x_middle + middle_width, middle_centre, x_right, y + _BOX_HEIGHT // 2, _fk_titles(fks)
            )
        )
    return NeighbourhoodDoc(
        width=width,
        height=height,
        box_height=_BOX_HEIGHT,
        boxes=tuple(boxes),
        edges=tuple(edges),
        self_references=self_references,
        more_left=len(referencing) - len(left),
        more_right=len(referenced) - len(right),
    )


def _fk_titles(fks: list[ForeignKey]) -> str:
    return "; ".join(f"{fk.name} ({_columns(fk.columns)})" for fk in fks)


_TRIGGER_ENABLED = {"O": "enabled", "D": "disabled", "R": "replica only", "A": "always"}


def function_anchor(f: Function) -> str:
    return anchor("function", f.schema, f.name, f.identity_arguments)


def _partition_key(key: str, strategy: str) -> str:
    """`(a, b)` from the key as the IR holds it: with or without the strategy word and the
    parentheses (the live frontend strips them)."""
    text = key.strip()
    if text.upper().startswith(strategy + " "):
        text = text[len(strategy) :].strip()
    return text if text.startswith("(") and _matching_paren(text) == len(text) - 1 else f"({text})"


def _matching_paren(text: str) -> int:
    depth = 0
    for position, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return position
    return -1


def _actions(fk: ForeignKey) -> str:
    parts = []
    if fk.match != "SIMPLE":
        parts.append(f"MATCH {fk.match}")
    if fk.on_update != "NO ACTION":
        parts.append(f"ON UPDATE {fk.on_update}")
    if fk.on_delete != "NO ACTION":
        parts.append(f"ON DELETE {fk.on_delete}")
    parts.extend(_deferral(fk.deferrable, fk.initially_deferred))
    if not fk.validated:
        parts.append("NOT VALID")
    return " ".join(parts)


def _deferral(deferrable: bool, initially_deferred: bool) -> list[str]:
    if not deferrable:
        return []
    return ["DEFERRABLE", "INITIALLY DEFERRED" if initially_deferred else "INITIALLY IMMEDIATE"]


def _check(schema: str, owner: str, ch: CheckConstraint) -> ConstraintDoc:
    definition = f"CHECK {ch.expression}"
    if ch.no_inherit:
        definition += " NO INHERIT"
    if not ch.validated:
        definition += " NOT VALID"
    return ConstraintDoc(
        anchor("constraint", schema, owner, ch.name), "check", ch.name, definition, ch.comment
    )


def _constraint(
    t: Table, con: PrimaryKey | UniqueConstraint | CheckConstraint | ExclusionConstraint
) -> ConstraintDoc:
    if isinstance(con, CheckConstraint):
        return _check(t.schema, t.name, con)
    include = f" INCLUDE ({_columns(con.include)})" if con.include else ""
    tail = "".join(" " + p for p in _deferral(con.deferrable, con.initially_deferred))
    if isinstance(con, PrimaryKey):
        kind, definition = "primary key", f"PRIMARY KEY ({_columns(con.columns)}){include}{tail}"
    elif isinstance(con, UniqueConstraint):
        nulls = " NULLS NOT DISTINCT" if con.nulls_not_distinct else ""
        kind, definition = "unique", f"UNIQUE{nulls} ({_columns(con.columns)}){include}{tail}"
    else:
        elements = ", ".join(
            _exclusion_element(e.expression, e.opclass, e.descending, e.nulls_first, e.operator)
            for e in con.elements
        )
        where = f" WHERE ({con.predicate})" if con.predicate else ""
        kind, definition = "exclusion", f"EXCLUDE USING {con.method} ({elements}){include}{where}{tail}"
    return ConstraintDoc(
        anchor("constraint", t.schema, t.name, con.name), kind, con.name, definition, con.comment
    )


def _exclusion_element(
    expression: str, opclass: str | None, descending: bool, nulls_first: bool | None, operator: str
) -> str:
    text = expression if expression.startswith("(") else readable_ident(expression)
    return text + _ordering(opclass, None, descending, nulls_first) + f" WITH {operator}"


def _ordering(opclass: str | None, collation: str | None, descending: bool, nulls_first: bool | None) -> str:
    text = ""
    if collation:
        text += f" COLLATE {collation}"
    if opclass:
        text += f" {opclass}"
    if descending:
        text += " DESC"
    if nulls_first is not None and nulls_first != descending:
        text += " NULLS FIRST" if nulls_first else " NULLS LAST"
    return text


def _index_key(key: IndexKey) -> str:
    if key.column is not None:
        text = readable_ident(key.column)
    else:
        expression = key.expression or ""
        # A function call stands as it is; any other expression needs its parentheses.
        text = expression if _is_call(expression) else f"({expression})"
    return text + _ordering(key.opclass, key.collation, key.descending, key.nulls_first)


def _is_call(expression: str) -> bool:
    head, paren, _rest = expression.partition("(")
    if (
        not paren
        or not expression.endswith(")")
        or not head
        or not all(c.isalnum() or c in '_."' for c in head)
    ):
        return False
    depth = 0
    for position, char in enumerate(expression):
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and char == ")" and position != len(expression) - 1:
            return False
    return True


def _index(i: Index) -> IndexDoc:
    definition = (
        f"{'UNIQUE ' if i.unique else ''}USING {i.method} ({', '.join(_index_key(k) for k in i.keys)})"
    )
    if i.include:
        definition += f" INCLUDE ({_columns(i.include)})"
    if i.nulls_not_distinct:
        definition += " NULLS NOT DISTINCT"
    if i.options:
        definition += f" WITH ({', '.join(i.options)})"
    return IndexDoc(anchor("index", i.schema, i.name), i.name, definition, i.predicate, i.comment)


def _policy(p: Policy) -> PolicyDoc:
    return PolicyDoc(
        anchor=anchor("policy", p.schema, p.table, p.name),
        name=p.name,
        command=p.command,
        permissive="permissive" if p.permissive else "restrictive",
        roles=", ".join(p.roles),
        using=p.using,
        with_check=p.with_check,
        comment=p.comment,
    )


def _argument(a: FunctionArgument) -> str:
    parts: list[str] = [] if a.mode in ("IN", "TABLE") else [a.mode]
    if a.name:
        parts.append(readable_ident(a.name))
    parts.append(a.data_type)
    if a.default is not None:
        parts.append(f"DEFAULT {a.default}")
    return " ".join(parts)


def _function(f: Function) -> FunctionDoc:
    attributes: list[str] = [f.volatility]
    if f.strict:
        attributes.append("STRICT")
    if f.security_definer:
        attributes.append("SECURITY DEFINER")
    if f.leakproof:
        attributes.append("LEAKPROOF")
    if f.parallel != "UNSAFE":
        attributes.append(f"PARALLEL {f.parallel}")
    attributes.extend(f"SET {c}" for c in f.config)
    return FunctionDoc(
        anchor=function_anchor(f),
        name=f.name,
        kind=f.kind,
        arguments=", ".join(_argument(a) for a in f.arguments if a.mode != "TABLE"),
        returns=f.returns,
        language=f.language,
        attributes=" ".join(attributes) if f.kind != "procedure" else " ".join(attributes[1:]),
        comment=f.comment,
    )


def build_document(
    catalog: Catalog,
    schemas: Sequence[str],
    title: str,
    statistics: Mapping[tuple[str, str], TableStatistics] | None = None,
) -> Document:
    """The documentation of `schemas` (names of the catalog, in that order), with each
    table's `statistics` when read from a live database."""
    builder = _Builder(catalog, schemas, statistics)
    comments = {s.name: s.comment for s in catalog.schemas}
    return Document(
        title=title,
        extensions=tuple(
            ExtensionDoc(e.name, e.schema, e.version, e.comment)
            for e in catalog.extensions
            if e.schema in schemas
        ),
        schemas=tuple(builder.schema(name, comments.get(name)) for name in schemas),
    )
