"""`nself db inspect`: cache hit ratios, unused indexes, bloat, slow queries and locks of a
live database (the reports of nself.runtime.inspect, as tables or JSON)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from nself.cli.common import EnvOption, JsonOption, console, environment, print_json
from nself.cli.safety import App

if TYPE_CHECKING:
    from nself.runtime.inspect import UnusedIndexReport

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


def register(app: App) -> None:
    inspect_app = App(
        help="Inspect a live database: cache hits, unused indexes, bloat, slow queries, locks.",
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
            str, typer.Option("--order", help="Rank by `total` or `mean` execution time.")
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

        report = inspect.slow_queries(_url(env), order, limit or 10)
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
        for lock in found:
            table.add_row(
                str(lock.pid),
                ",".join(map(str, lock.blocked_by)),
                ",".join(map(str, lock.blocking)),
                lock.locktype,
                escape(lock.relation or ""),
                lock.mode,
                "yes" if lock.granted else "[red]no[/red]",
                "" if lock.age_seconds is None else f"{lock.age_seconds:.1f}",
                escape(" ".join((lock.query or "").split())[:80]),
            )
        console.print(table)
