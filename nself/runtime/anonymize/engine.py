"""Moving rows: `sync` (A to B, data only), `anonymize_in_place` and `preview`.

Data flows COPY out -> transform -> COPY in, table by table, parents first, never whole in
memory. The source is read in one REPEATABLE READ snapshot, so the copy is consistent; the
target is written in one transaction with every constraint on (deferrable ones checked at
commit, which is how a cycle of them loads), so a failure anywhere leaves it as it was."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nself.connection import connect, scrub
from nself.ir import model as m
from nself.ir.names import qualified_name, quote_ident
from nself.runtime.anonymize.config import Config
from nself.runtime.anonymize.copytext import RowTransformer, decode_field, whole_lines
from nself.runtime.anonymize.plan import AnonymizeError, Plan, TablePlan, bind
from nself.runtime.anonymize.strategies import Keyed
from nself.runtime.anonymize.subset import SubsetSpec, build_subset
from nself.runtime.data_io import (
    HISTORY_SCHEMA,
    advance_sequences,
    error_message,
    list_tables,
    parents_first,
    select_tables,
)

if TYPE_CHECKING:
    import psycopg

# (position 1-based, number of tables, table, rows copied or None when it starts)
Progress = Callable[[int, int, str, "int | None"], None]

# Text forms that read back as the same values whatever the servers' defaults are.
SESSION = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 3",
    "SET client_encoding = 'UTF8'",
)


@dataclass(frozen=True)
class TableCopied:
    table: str
    rows: int
    anonymized: tuple[str, ...]  # the columns rewritten (configured or following a foreign key)


@dataclass(frozen=True)
class SyncResult:
    tables: tuple[TableCopied, ...]
    anonymized: bool


@dataclass(frozen=True)
class PreviewTable:
    table: str
    columns: tuple[str, ...]
    before: tuple[tuple[str | None, ...], ...]
    after: tuple[tuple[str | None, ...], ...]
    problems: tuple[str, ...]  # constraints the anonymised rows would break


def safe_message(exc: Exception) -> str:
    """PostgreSQL's message without its DETAIL, which quotes the failing row: the source's
    personal data must not reach a terminal or a CI log through an error."""
    import psycopg

    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        first = exc.diag.message_primary
        if exc.diag.context:
            for part in exc.diag.context.splitlines():
                if part.startswith("COPY ") and ", line " in part:
                    line = part.split(", line ", 1)[1].split(",", 1)[0].split(":", 1)[0]
                    return f"row {line}: {first}"
        return first
    return error_message(exc).split(" (", 1)[0]


def _session(conn: psycopg.Connection[Any]) -> None:
    for statement in SESSION:
        conn.execute(statement)


def make_plan(catalog: m.Catalog, config: Config, key: bytes) -> Plan:
    return bind(config, catalog, Keyed(key))


def _copied_columns(table: m.Table) -> list[str]:
    return [c.name for c in table.columns if c.generated is None]


def _copy_out_sql(table: m.Table, columns: list[str], plan: TablePlan | None, suffix: str = "") -> str:
    names = ", ".join(quote_ident(c, always=True) for c in columns)
    flags = "".join(f", ({sql})::boolean" for sql, _ in plan.wheres) if plan else ""
    target = qualified_name(table.schema, table.name, always=True)
    if not flags and not suffix and table.partition_by is None:
        return f"COPY {target} ({names}) TO STDOUT"
    only = "" if table.partition_by is not None else "ONLY "  # a parent's rows hold its partitions'
    return f"COPY (SELECT {names}{flags} FROM {only}{target}{suffix}) TO STDOUT"


def _check_wheres(conn: psycopg.Connection[Any], plan: Plan) -> None:
    """Every `where` compiles on this schema, before anything is written."""
    import psycopg

    for table in plan.tables.values():
        for sql, position in table.wheres:
            try:
                with conn.transaction():
                    conn.execute(
                        f"EXPLAIN SELECT ({sql})::boolean FROM {qualified_name(table.schema, table.name, always=True)}"
                    )
            except psycopg.Error as exc:
                raise position.error(f"where: {safe_message(exc)}") from None


def _tables(conn: psycopg.Connection[Any], catalog: m.Catalog, wanted: Sequence[str]) -> list[m.Table]:
    chosen = select_tables(list_tables(conn), wanted)
    found: list[m.Table] = []
    for schema, name in chosen:
        table = catalog.table(schema, name)
        if table is not None:
            found.append(table)
    return found


def _regnames(conn: psycopg.Connection[Any], tables: list[m.Table]) -> dict[str, m.Table]:
    names: dict[str, m.Table] = {}
    for table in tables:
        row = conn.execute(
            "SELECT %s::regclass::text", (qualified_name(table.schema, table.name, always=True),)
        ).fetchone()
        assert row is not None
        names[str(row[0])] = table
    return names


def _check_target(conn: psycopg.Connection[Any], tables: list[m.Table]) -> None:
    """Every table and column copied exists on the target (sync copies data, not schema)."""
    for table in tables:
        rows = conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 "
            "AND NOT a.attisdropped AND a.attgenerated = ''",
            (qualified_name(table.schema, table.name, always=True),),
        ).fetchall()
        have = {str(r[0]) for r in rows}
        if not have:
            raise AnonymizeError(
                f"the target has no table {table.schema}.{table.name}; sync copies data, not schema "
                "(migrate the target first, or use nself db clone)"
            )
        missing = [c for c in _copied_columns(table) if c not in have]
        if missing:
            raise AnonymizeError(
                f"the target's {table.schema}.{table.name} has no column {missing[0]!r}; "
                "sync copies data, not schema (migrate the target first)"
            )


def sync(
    source_url: str,
    target_url: str,
    *,
    catalog: m.Catalog,
    plan: Plan | None,
    tables: Sequence[str] = (),
    subset: SubsetSpec | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Replace the rows of the chosen tables (default: every table) of the target with the
    source's, anonymised by `plan` when there is one, only `subset`'s rows when given."""
    import psycopg

    copied: list[TableCopied] = []
    current = ""
    with connect(source_url) as source, connect(target_url) as target:
        source.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        source.read_only = subset is None  # a subset's row sets are temporary tables
        try:
            with source.transaction(), target.transaction():
                _session(source)
                _session(target)
                chosen = _tables(source, catalog, tables)
                rows_of = build_subset(source, catalog, subset) if subset is not None else None
                if plan is not None:
                    _check_wheres(source, plan)
                _check_target(target, chosen)
                by_name = _regnames(target, chosen)
                order = [by_name[n] for n in parents_first(target, list(by_name))]
                target.execute("SET CONSTRAINTS ALL DEFERRED")
                if order:
                    current = "TRUNCATE"
                    target.execute(_truncate_sql(order))
                for position, table in enumerate(order, start=1):
                    current = f"{table.schema}.{table.name}"
                    if progress:
                        progress(position, len(order), current, None)
                    table_plan = plan.tables.get((table.schema, table.name)) if plan else None
                    rows = _copy_table(
                        source, target, table, table_plan, rows_of.filter(table) if rows_of else None
                    )
                    copied.append(
                        TableCopied(current, rows, tuple(table_plan.transforms) if table_plan else ())
                    )
                    if progress:
                        progress(position, len(order), current, rows)
                current = "sequences"
                advance_sequences(
                    target, [qualified_name(table.schema, table.name, always=True) for table in order]
                )
                current = "commit (deferred constraints)"
        except psycopg.Error as exc:
            message = scrub(scrub(safe_message(exc), source_url), target_url)
            raise AnonymizeError(f"{current}: {message}; nothing was written") from None
    return SyncResult(tuple(copied), plan is not None)


def _copy_table(
    source: psycopg.Connection[Any],
    target: psycopg.Connection[Any],
    table: m.Table,
    plan: TablePlan | None,
    where: str | None = None,
) -> int:
    columns = _copied_columns(table)
    if not columns:
        return 0
    names = ", ".join(quote_ident(c, always=True) for c in columns)
    transformer = RowTransformer(plan, columns) if plan and plan.transforms else None
    with (
        source.cursor() as out_cursor,
        target.cursor() as in_cursor,
    ):
        with (
            out_cursor.copy(_copy_out_sql(table, columns, plan if transformer else None, where or "")) as out,
            in_cursor.copy(
                f"COPY {qualified_name(table.schema, table.name, always=True)} ({names}) FROM STDIN"
            ) as into,
        ):
            if transformer is None:
                for block in whole_lines(out):
                    into.write(block)
            else:
                for block in whole_lines(out):
                    into.write(transformer.rows(block))
        return max(in_cursor.rowcount, 0)


def _truncate_sql(tables: list[m.Table]) -> str:
    """TRUNCATE of exactly these tables: ONLY, so an inheritance child that is not copied
    keeps its rows (a partitioned table's partitions are its rows, and ONLY is refused there)."""
    return "TRUNCATE " + ", ".join(
        ("" if t.partition_by is not None else "ONLY ") + qualified_name(t.schema, t.name, always=True)
        for t in tables
    )


def _referencing_closure(catalog: m.Catalog, start: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """`start` and every table that references one of them, transitively: the set TRUNCATE
    accepts without CASCADE."""
    closure = set(start)
    changed = True
    while changed:
        changed = False
        for table in catalog.tables:
            key = (table.schema, table.name)
            if key in closure or table.partition_of is not None:
                continue
            if any((fk.ref_schema, fk.ref_table) in closure for fk in table.foreign_keys):
                closure.add(key)
                changed = True
    return closure


def anonymize_in_place(
    url: str, *, catalog: m.Catalog, plan: Plan, progress: Progress | None = None
) -> SyncResult:
    """Rewrite the configured columns of the database at `url`, in one transaction: each
    table involved is read and transformed into a spool file, emptied, and loaded back
    (rewriting rows through COPY keeps every constraint checked, keys included)."""
    import psycopg

    done: list[TableCopied] = []
    current = ""
    with connect(url) as conn:
        try:
            with conn.transaction():
                _session(conn)
                _check_wheres(conn, plan)
                involved = _referencing_closure(catalog, set(plan.tables))
                tables = [t for t in (catalog.table(s, n) for s, n in sorted(involved)) if t is not None]
                tables = [t for t in tables if t.schema != HISTORY_SCHEMA]
                by_name = _regnames(conn, tables)
                order = [by_name[n] for n in parents_first(conn, list(by_name))]
                spools: list[tuple[m.Table, Any]] = []
                with ExitStack() as files:
                    for position, table in enumerate(order, start=1):
                        current = f"{table.schema}.{table.name}"
                        if progress:
                            progress(position, len(order), current, None)
                        spool = files.enter_context(tempfile.TemporaryFile(prefix="nself-anonymize-"))
                        spools.append((table, spool))
                        table_plan = plan.tables.get((table.schema, table.name))
                        columns = _copied_columns(table)
                        transformer = RowTransformer(table_plan, columns) if table_plan else None
                        with (
                            conn.cursor() as cursor,
                            cursor.copy(
                                _copy_out_sql(table, columns, table_plan if transformer else None)
                            ) as out,
                        ):
                            if transformer is None:
                                for chunk in out:
                                    spool.write(chunk)
                            else:
                                for block in whole_lines(out):
                                    spool.write(transformer.rows(block))
                    conn.execute("SET CONSTRAINTS ALL DEFERRED")
                    current = "TRUNCATE"
                    if order:
                        conn.execute(_truncate_sql(order))
                    for position, (table, spool) in enumerate(spools, start=1):
                        current = f"{table.schema}.{table.name}"
                        columns = _copied_columns(table)
                        spool.seek(0)
                        names = ", ".join(quote_ident(c, always=True) for c in columns)
                        with conn.cursor() as cursor:
                            with cursor.copy(
                                f"COPY {qualified_name(table.schema, table.name, always=True)} ({names}) FROM STDIN"
                            ) as into:
                                while block := spool.read(1 << 20):
                                    into.write(block)
                            rows = max(cursor.rowcount, 0)
                        table_plan = plan.tables.get((table.schema, table.name))
                        done.append(
                            TableCopied(current, rows, tuple(table_plan.transforms) if table_plan else ())
                        )
                        if progress:
                            progress(position, len(order), current, rows)
                current = "commit (deferred constraints)"
        except psycopg.Error as exc:
            raise AnonymizeError(f"{current}: {scrub(safe_message(exc), url)}; nothing was changed") from None
    return SyncResult(tuple(done), True)


def preview(url: str, *, catalog: m.Catalog, plan: Plan, limit: int = 5) -> list[PreviewTable]:
    """Before and after of the first `limit` rows (primary-key order) of each configured
    table, with the constraints the anonymised rows would break. Changes nothing: the check
    loads them into a temporary copy of each table, and the transaction is rolled back."""
    import psycopg

    shown: list[PreviewTable] = []
    with connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        try:
            with conn.transaction(force_rollback=True):
                _session(conn)
                _check_wheres(conn, plan)
                for (schema, name), table_plan in sorted(plan.tables.items()):
                    table = catalog.table(schema, name)
                    if table is None or not table_plan.transforms:
                        continue
                    columns = _copied_columns(table)
                    key = table.primary_key
                    order = (
                        f" ORDER BY {', '.join(quote_ident(c, always=True) for c in key.columns)}"
                        if key
                        else ""
                    )
                    transformer = RowTransformer(table_plan, columns)
                    with (
                        conn.cursor() as cursor,
                        cursor.copy(
                            _copy_out_sql(table, columns, table_plan, f"{order} LIMIT {int(limit)}")
                        ) as out,
                    ):
                        raw = b"".join(bytes(chunk) for chunk in out)
                    lines = raw.split(b"\n")[:-1]
                    shown_columns = tuple(table_plan.transforms)
                    indexes = [columns.index(c) for c in shown_columns]
                    before = []
                    after = []
                    rewritten = []
                    for line in lines:
                        old = line.split(b"\t")
                        new_line = transformer.row(line)
                        new = new_line.split(b"\t")
                        before.append(tuple(decode_field(old[i]) for i in indexes))
                        after.append(tuple(decode_field(new[i]) for i in indexes))
                        rewritten.append(new_line)
                    problems = _constraint_problems(conn, table, columns, rewritten)
                    shown.append(
                        PreviewTable(
                            f"{schema}.{name}", shown_columns, tuple(before), tuple(after), tuple(problems)
                        )
                    )
        except psycopg.Error as exc:
            raise AnonymizeError(f"preview: {scrub(safe_message(exc), url)}") from None
    return shown


def _constraint_problems(
    conn: psycopg.Connection[Any], table: m.Table, columns: list[str], rows: list[bytes]
) -> list[str]:
    """Each anonymised row loaded into a temporary table LIKE the real one (its NOT NULLs,
    CHECKs and domains): what PostgreSQL refuses, one message per problem."""
    import psycopg

    problems: list[str] = []
    names = ", ".join(quote_ident(c, always=True) for c in columns)
    conn.execute("DROP TABLE IF EXISTS pg_temp.nself_preview")
    conn.execute(
        f"CREATE TEMP TABLE nself_preview (LIKE {qualified_name(table.schema, table.name, always=True)} INCLUDING CONSTRAINTS)"
    )
    for number, row in enumerate(rows, start=1):
        try:
            with (
                conn.transaction(),
                conn.cursor() as cursor,
                cursor.copy(f"COPY pg_temp.nself_preview ({names}) FROM STDIN") as into,
            ):
                into.write(row + b"\n")
        except psycopg.Error as exc:
            message = f"row {number}: {safe_message(exc)}"
            if message not in problems:
                problems.append(message)
    return problems
