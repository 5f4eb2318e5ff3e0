"""`nself db inspect`: the reports of `supabase inspect db` and pg-extras on a live database
(nself.runtime.inspect and nself.runtime.inspect_reports, as tables or JSON), and
`inspect report`, which writes them all into a folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nself.cli.common import EnvOption, JsonOption, console, environment, print_json
from nself.cli.safety import App

if TYPE_CHECKING:
    from nself.runtime.inspect import SlowQueryReport, UnusedIndexReport

LimitOption = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="Show at most N rows.", show_default=False)
]


def format_bytes(size: int | None) -> str:
    """A size as pg_size_pretty writes it (bytes, kB, MB, GB, TB; powers of 1024)."""
    if size is None:
        return ""
    value, unit = float(size), "bytes"
    for bigger in ("kB", "MB", "GB", "TB"):
        if abs(value) < 10 * 1024:
            break
        value, unit = value / 1024, bigger
    return f"{round(value)} {unit}"


def _percent(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio * 100:.2f}%"


def _url(env: str | None) -> str:
    from nself.runtime.local import database_url

    proj, environ = environment(env)
    return database_url(proj, environ)


def _as_json(report: Any) -> Any:
    if isinstance(report, tuple):
        return [dataclasses.asdict(item) for item in report]
    return dataclasses.asdict(report)


def print_unused(report: UnusedIndexReport) -> None:
    since = (
        f"since {report.stats_reset:%Y-%m-%d %H:%M:%S %Z}" if report.stats_reset else "since statistics began"
    )
    if not report.indexes:
        console.print(f"{escape(report.database)}: no unused indexes (idx_scan = 0, {since})")
        return
    table = Table("table", "index", "size", "definition", box=None)
    for index in report.indexes:
        table.add_row(
            escape(f"{index.schema}.{index.table}"),
            escape(index.index),
            format_bytes(index.size_bytes),
            escape(index.definition),
        )
    console.print(table)
    total = sum(i.size_bytes for i in report.indexes)
    console.print(
        f"{len(report.indexes)} index(es) never scanned {since}, {format_bytes(total)} in all "
        "(primary key, unique and exclusion indexes are not listed)"
    )


def _print_statements(report: SlowQueryReport, as_json: bool) -> None:
    if as_json:
        print_json(_as_json(report))
        return
    if not report.available:
        console.print(escape(report.message or ""))
        return
    table = Table("total ms", "mean ms", "calls", "rows", "share", "query", box=None)
    for q in report.queries:
        table.add_row(
            f"{q.total_ms:.1f}",
            f"{q.mean_ms:.2f}",
            str(q.calls),
            str(q.rows),
            _percent(q.share),
            escape(" ".join(q.query.split())[:200]),
        )
    console.print(table)


def register(app: App) -> None:
    inspect_app = App(
        help="Inspect a live database: sizes, activity, locks, cache hits, bloat, statements (see docs/inspect.md).",
        no_args_is_help=True,
    )
    app.add_typer(inspect_app, name="inspect")

    @inspect_app.command("cache-hit", destructive=False)
    def cache_hit(env: EnvOption = None, as_json: JsonOption = False, limit: LimitOption = None) -> None:
        """Buffer cache hit ratios of tables and indexes, and the worst tables.

        Shows the database's overall ratios and the tables with the worst ratio (default: 10).

        Ratios are hits / (hits + reads) from pg_statio_user_tables and
        pg_statio_user_indexes since the statistics were last reset.

        Examples:

          nself db inspect cache-hit

          nself db inspect cache-hit --env staging --json
        """
        from nself.runtime import inspect

        report = inspect.cache_hit(_url(env), limit or 10)
        if as_json:
            print_json(_as_json(report))
            return
        console.print(
            f"{escape(report.database)}: tables {_percent(report.table_ratio) or 'no reads yet'}, "
            f"indexes {_percent(report.index_ratio) or 'no reads yet'}"
        )
        if report.databases:
            table = Table("database", "hit ratio", "blocks hit", "blocks read", box=None)
            for db in report.databases:
                table.add_row(
                    escape(db.database), _percent(db.ratio), str(db.blocks_hit), str(db.blocks_read)
                )
            console.print(table)
        if report.tables:
            table = Table("table", "hit ratio", "blocks hit", "blocks read", box=None)
            for row in report.tables:
                table.add_row(
                    escape(f"{row.schema}.{row.table}"),
                    _percent(row.ratio),
                    str(row.heap_hit),
                    str(row.heap_read),
                )
            console.print(table)

    @inspect_app.command("unused-indexes", destructive=False)
    def unused_indexes(env: EnvOption = None, as_json: JsonOption = False, limit: LimitOption = None) -> None:
        """Indexes that no query has scanned since the statistics were reset.

        Largest first. Indexes behind primary key, unique and exclusion constraints are
        left out: they enforce something even when never scanned.

        Examples:

          nself db inspect unused-indexes

          nself db inspect unused-indexes --env prod --json
        """
        from nself.runtime import inspect

        report = inspect.unused_indexes(_url(env), limit)
        if as_json:
            print_json(_as_json(report))
        else:
            print_unused(report)

    @inspect_app.command("bloat", destructive=False)
    def bloat(env: EnvOption = None, as_json: JsonOption = False, limit: LimitOption = None) -> None:
        """Estimated bloat of tables and btree indexes, largest first.

        Bloat is the space beyond what the live rows need (default: the top 20).

        An estimate from statistics (pg_class, pg_stats), as fresh as the last ANALYZE;
        no table is read. See docs/inspect.md.

        Examples:

          nself db inspect bloat

          nself db inspect bloat --limit 5 --json
        """
        from nself.runtime import inspect

        found = inspect.bloat(_url(env), limit or 20)
        if as_json:
            print_json(_as_json(found))
            return
        table = Table("kind", "table", "name", "size", "wasted", "ratio", box=None)
        for row in found:
            table.add_row(
                row.kind,
                escape(f"{row.schema}.{row.table}"),
                escape(row.name),
                format_bytes(row.size_bytes),
                format_bytes(row.wasted_bytes),
                _percent(row.ratio),
            )
        console.print(table)

    @inspect_app.command("slow-queries", destructive=False)
    def slow_queries(
        env: EnvOption = None,
        as_json: JsonOption = False,
        limit: LimitOption = None,
        order: Annotated[
            str, typer.Option("--order", help="Rank by `total` or `mean` execution time, or by `calls`.")
        ] = "total",
    ) -> None:
        """The statements that took the most execution time, from pg_stat_statements.

        Default: the top 10 by total time. Without the extension, one line says how to
        enable it and the command still succeeds (--json: "available": false, no queries).

        Examples:

          nself db inspect slow-queries

          nself db inspect slow-queries --order mean --limit 20 --json
        """
        from nself.runtime import inspect

        _print_statements(inspect.slow_queries(_url(env), order, limit or 10), as_json)

    @inspect_app.command("outliers", destructive=False)
    def outliers(env: EnvOption = None, as_json: JsonOption = False, limit: LimitOption = None) -> None:
        """Statements by total execution time, from pg_stat_statements (default: the top 10).

        The same as `slow-queries --order total` (Supabase and pg-extras call it outliers).

        Examples:

          nself db inspect outliers --limit 20
        """
        from nself.runtime import inspect

        _print_statements(inspect.slow_queries(_url(env), "total", limit or 10), as_json)

    @inspect_app.command("calls", destructive=False)
    def calls(env: EnvOption = None, as_json: JsonOption = False, limit: LimitOption = None) -> None:
        """Statements by number of calls, from pg_stat_statements (default: the top 10).

        Examples:

          nself db inspect calls --json
        """
        from nself.runtime import inspect

        _print_statements(inspect.slow_queries(_url(env), "calls", limit or 10), as_json)

    @inspect_app.command("locks", destructive=False)
    def locks(env: EnvOption = None, as_json: JsonOption = False, limit: LimitOption = None) -> None:
        """Locks other sessions hold or wait for in this database, waiting ones first.

        Each lock shows the pids its session waits for (pg_blocking_pids) and those
        that wait for it.

        Examples:

          nself db inspect locks

          nself db inspect locks --env prod --json
        """
        from nself.runtime import inspect

        found = inspect.locks(_url(env), limit)
        if as_json:
            print_json(_as_json(found))
            return
        if not found:
            console.print("no locks held by other sessions")
            return
        table = Table(
            "pid", "waits for", "blocks", "type", "relation", "mode", "granted", "age s", "query", box=None
        )
        previous = None
        for lock in found:
            first = lock.pid != previous  # rows of one session together: its pids once
            previous = lock.pid
            table.add_row(
                str(lock.pid) if first else "",
                ",".join(map(str, lock.blocked_by)) if first else "",
                ",".join(map(str, lock.blocking)) if first else "",
                lock.locktype,
                escape(lock.relation or ""),
                lock.mode,
                "yes" if lock.granted else "[red]no[/red]",
                "" if lock.age_seconds is None else f"{lock.age_seconds:.1f}",
                escape(" ".join((lock.query or "").split())[:80]),
            )
        console.print(table)

    for name, doc in TABULAR.items():
        inspect_app.command(name, destructive=False)(_tabular_command(name, doc))

    @inspect_app.command("long-running-queries", destructive=False)
    def long_running_queries(
        env: EnvOption = None,
        as_json: JsonOption = False,
        limit: LimitOption = None,
        min_seconds: Annotated[
            float, typer.Option("--min-seconds", min=0, help="Only queries running at least this long.")
        ] = 300.0,
    ) -> None:
        """Queries of other sessions running for more than five minutes, longest first.

        Every database of the server, from pg_stat_activity (idle sessions are left out;
        `idle in transaction` ones are listed).

        Examples:

          nself db inspect long-running-queries

          nself db inspect long-running-queries --min-seconds 30 --json
        """
        from nself.runtime import inspect_reports

        rows = inspect_reports.report("long-running-queries", _url(env), min_seconds=min_seconds)
        _print_rows(rows[:limit] if limit else rows, as_json, "no query has run that long")

    @inspect_app.command("report", destructive=False)
    def report(
        env: EnvOption = None,
        as_json: JsonOption = False,
        output_dir: Annotated[
            Path | None,
            typer.Option(
                "--output-dir",
                "-o",
                help="Folder to write into (default: nself-inspect-<UTC date and time> here).",
                show_default=False,
            ),
        ] = None,
        fmt: Annotated[str, typer.Option("--format", metavar="csv|json", help="File format.")] = "csv",
    ) -> None:
        """Every report into a folder, one CSV (or JSON) file per report.

        As `supabase inspect report` does; all reports are read over one connection.

        Examples:

          nself db inspect report

          nself db inspect report --env prod --output-dir audit/ --format json
        """
        from nself.runtime import inspect_reports

        started = time.perf_counter()
        directory = output_dir or Path(f"nself-inspect-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}")
        written = inspect_reports.write_reports(_url(env), directory, fmt)
        duration_ms = round((time.perf_counter() - started) * 1000)
        if as_json:
            print_json(
                {
                    "directory": str(directory),
                    "format": fmt,
                    "reports": [dataclasses.asdict(w) for w in written],
                    "duration_ms": duration_ms,
                }
            )
            return
        for w in written:
            console.print(f"{escape(w.path)}  {w.rows} row(s)")
        console.print(f"{len(written)} reports written into {escape(str(directory))} in {duration_ms} ms")


# The reports that take only --env, --json and --limit: their help, first line a summary.
TABULAR = {
    "table-sizes": """Size of each table without its indexes (pg_table_size), largest first.

        Heap, TOAST, free space and visibility maps; partitions are listed, a partitioned
        table itself holds nothing.

        Examples:

          nself db inspect table-sizes --limit 10
        """,
    "total-table-size": """Size of each table with its indexes and TOAST (pg_total_relation_size), largest first.

        Examples:

          nself db inspect total-table-size --json
        """,
    "index-sizes": """Size of each index (pg_relation_size), largest first.

        Examples:

          nself db inspect index-sizes
        """,
    "total-index-size": """Size of every index of the user schemas together.

        Examples:

          nself db inspect total-index-size --json
        """,
    "table-record-counts": """Estimated rows of each table, most first.

        From pg_stat_user_tables.n_live_tup: counted by the statistics, no table is read.

        Examples:

          nself db inspect table-record-counts
        """,
    "seq-scans": """Sequential scans of each table, most first, with rows read and index scans.

        Examples:

          nself db inspect seq-scans --limit 10
        """,
    "vacuum-stats": """Dead rows, autovacuum threshold and last (auto)vacuum and analyze of each table.

        The threshold is autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor x
        estimated rows (the table's own settings first); `expect autovacuum` when the dead
        rows are above it. Most dead rows first.

        Examples:

          nself db inspect vacuum-stats
        """,
    "blocking": """Sessions waiting for a lock, each with a session that holds it (pg_blocking_pids).

        One row per (blocked pid, blocking pid); the longest wait first.

        Examples:

          nself db inspect blocking --json
        """,
    "role-connections": """Connections of each login role (every database), with its limit.

        The limit is the role's CONNECTION LIMIT, else max_connections.

        Examples:

          nself db inspect role-connections
        """,
    "replication-slots": """Replication slots of the server, with the WAL each one retains.

        A slot that is inactive keeps WAL until it is used or dropped.

        Examples:

          nself db inspect replication-slots
        """,
}


def _tabular_command(name: str, doc: str) -> Any:
    def command(env: EnvOption = None, as_json: JsonOption = False, limit: LimitOption = None) -> None:
        from nself.runtime import inspect_reports

        rows = inspect_reports.report(name, _url(env))
        _print_rows(rows[:limit] if limit else rows, as_json, f"{name}: nothing to show")

    command.__doc__ = doc
    command.__name__ = name.replace("-", "_")
    return command


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column.endswith("_bytes"):
        return format_bytes(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, dt.datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, tuple | list):
        return ",".join(map(str, value))
    text = " ".join(str(value).split())
    return escape(text[:80] if column.endswith("query") else text)


def _print_rows(rows: tuple[Any, ...], as_json: bool, empty: str) -> None:
    if as_json:
        print_json([dataclasses.asdict(r) for r in rows])
        return
    if not rows:
        console.print(escape(empty))
        return
    columns = [f.name for f in dataclasses.fields(rows[0])]
    table = Table(*(c.removesuffix("_bytes").replace("_", " ") for c in columns), box=None)
    for row in rows:
        table.add_row(*(_cell(c, getattr(row, c)) for c in columns))
    console.print(table)
