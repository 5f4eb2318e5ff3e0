"""`data sync --subset FILE`: copy some rows, closed under every foreign key.

    # subset.yaml
    start:
      people:                       # the 100 most recent people...
        where: "created_at > '2020-01-01'"
        order_by: created_at DESC
        limit: 100
      orders: {limit: 10}           # ...and any 10 orders

From the start rows the subset follows foreign keys both ways: down to every row that
references a chosen row (a person's addresses, orders, messages; their payments), then up
to every row a chosen row references (an order's customer, a payment's order), until nothing
changes. Rows chosen only because something references them do not pull in their own
dependents, so the subset stays small and still satisfies every foreign key. Tables no
foreign key connects to a start table are copied whole (lookup tables, settings).

The row sets live in temporary tables of the source session, inside the sync's snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nself.errors import OptionError, SourceError
from nself.ir import model as m
from nself.ir.names import qualified_name, quote_ident
from nself.runtime.anonymize.config import Position, is_null, node_position, scalar, shown_path
from nself.runtime.anonymize.plan import resolve_table

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class Start:
    table: str
    where: str | None
    order_by: str | None
    limit: int | None
    position: Position


@dataclass(frozen=True)
class SubsetSpec:
    path: str
    starts: tuple[Start, ...]


def load_subset(path: Path) -> SubsetSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OptionError(f"--subset: cannot read {path}: {exc.strerror or exc}") from None
    return parse_subset(text, shown_path(path))


def parse_subset(text: str, path: str) -> SubsetSpec:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", None) or exc)
        raise SourceError(
            path, mark.line + 1 if mark else None, mark.column + 1 if mark else None, problem
        ) from None
    if not isinstance(root, yaml.MappingNode):
        raise SourceError(path, 1, 1, "expected a mapping with `start:`")
    starts: list[Start] = []
    for key, value in root.value:
        if scalar(key, path, "a key") != "start":
            raise node_position(key, path).error(
                f"unknown key {scalar(key, path, 'a key')!r} (expected start)"
            )
        if not isinstance(value, yaml.MappingNode):
            raise node_position(value, path).error(
                "start: expected a mapping of table to {where, order_by, limit}"
            )
        for table_key, settings in value.value:
            table = scalar(table_key, path, "a table name")
            options: dict[str, str] = {}
            if not is_null(settings):
                if not isinstance(settings, yaml.MappingNode):
                    raise node_position(settings, path).error(
                        f"start.{table}: expected a mapping of where, order_by, limit"
                    )
                for option_key, option_value in settings.value:
                    option = scalar(option_key, path, "an option")
                    if option not in ("where", "order_by", "limit"):
                        raise node_position(option_key, path).error(
                            f"start.{table}: unknown option {option!r} (where, order_by, limit)"
                        )
                    options[option] = scalar(option_value, path, option)
            limit = None
            if "limit" in options:
                if not options["limit"].isdigit():
                    raise node_position(table_key, path).error(
                        f"start.{table}.limit: expected a whole number"
                    )
                limit = int(options["limit"])
            starts.append(
                Start(
                    table,
                    options.get("where"),
                    options.get("order_by"),
                    limit,
                    node_position(table_key, path),
                )
            )
    if not starts:
        raise SourceError(path, 1, 1, "start: name at least one table")
    return SubsetSpec(path, tuple(starts))


class Subset:
    """The chosen rows of each table in the FK component of the start tables, as temporary
    tables on the source connection."""

    def __init__(self, sets: dict[tuple[str, str], str]) -> None:
        self.sets = sets  # (schema, table) -> temporary table of (tableoid, ctid)

    def filter(self, table: m.Table) -> str | None:
        """A WHERE clause choosing the subset's rows of `table`; None: every row."""
        name = self.sets.get((table.schema, table.name))
        if name is None:
            return None
        return f" WHERE (tableoid, ctid) IN (SELECT rel, row_id FROM pg_temp.{name})"


def _component(catalog: m.Catalog, starts: set[tuple[str, str]]) -> set[tuple[str, str]]:
    edges: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for table in catalog.tables:
        for fk in table.foreign_keys:
            a, b = (table.schema, table.name), (fk.ref_schema, fk.ref_table)
            edges.setdefault(a, set()).add(b)
            edges.setdefault(b, set()).add(a)
    seen = set(starts)
    todo = list(starts)
    while todo:
        for other in edges.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def build_subset(conn: psycopg.Connection[Any], catalog: m.Catalog, spec: SubsetSpec) -> Subset:
    """Choose the rows (inside the caller's transaction and snapshot)."""
    import psycopg

    chosen: dict[tuple[str, str], Start] = {}
    for start in spec.starts:
        table = resolve_table(catalog, start.table, start.position, "start")
        chosen[(table.schema, table.name)] = start
    component = sorted(_component(catalog, set(chosen)))
    sets = {key: f"nself_subset_{index}" for index, key in enumerate(component)}
    for name in sets.values():
        conn.execute(
            f"CREATE TEMP TABLE {name} (rel oid, row_id tid, PRIMARY KEY (rel, row_id)) ON COMMIT DROP"
        )
    for key, start in chosen.items():
        where = f" WHERE ({start.where})" if start.where else ""
        order = f" ORDER BY {start.order_by}" if start.order_by else ""
        limit = f" LIMIT {start.limit}" if start.limit is not None else ""
        try:
            with conn.transaction():
                conn.execute(
                    f"INSERT INTO pg_temp.{sets[key]} SELECT tableoid, ctid FROM {qualified_name(*key, always=True)}{where}{order}{limit}"
                )
        except psycopg.Error as exc:
            raise start.position.error(f"start.{start.table}: {exc.diag.message_primary or exc}") from None
    links = [
        (table, fk)
        for table in catalog.tables
        if (table.schema, table.name) in sets
        for fk in table.foreign_keys
        if (fk.ref_schema, fk.ref_table) in sets
    ]

    def join(table: m.Table, fk: m.ForeignKey) -> str:
        return " AND ".join(
            f"c.{quote_ident(a, always=True)} = p.{quote_ident(b, always=True)}"
            for a, b in zip(fk.columns, fk.ref_columns, strict=True)
        )

    def fixpoint(statements: list[str]) -> None:
        changed = True
        while changed:
            changed = False
            for statement in statements:
                if conn.execute(statement).rowcount:
                    changed = True

    down = [
        f"INSERT INTO pg_temp.{sets[(t.schema, t.name)]} SELECT c.tableoid, c.ctid FROM {qualified_name(t.schema, t.name, always=True)} c "
        f"JOIN {qualified_name(fk.ref_schema, fk.ref_table, always=True)} p ON {join(t, fk)} "
        f"WHERE (p.tableoid, p.ctid) IN (SELECT rel, row_id FROM pg_temp.{sets[(fk.ref_schema, fk.ref_table)]}) "
        "ON CONFLICT DO NOTHING"
        for t, fk in links
    ]
    up = [
        f"INSERT INTO pg_temp.{sets[(fk.ref_schema, fk.ref_table)]} SELECT p.tableoid, p.ctid "
        f"FROM {qualified_name(fk.ref_schema, fk.ref_table, always=True)} p JOIN {qualified_name(t.schema, t.name, always=True)} c ON {join(t, fk)} "
        f"WHERE (c.tableoid, c.ctid) IN (SELECT rel, row_id FROM pg_temp.{sets[(t.schema, t.name)]}) "
        "ON CONFLICT DO NOTHING"
        for t, fk in links
    ]
    fixpoint(down)
    fixpoint(up)
    return Subset(sets)
