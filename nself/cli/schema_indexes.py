"""`nself schema indexes`: every index of a schema, the unused ones, or the advisor's
suggestions for missing ones."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nself.cli.common import JsonOption, SourceOption, console, print_json, project
from nself.cli.safety import App
from nself.errors import OptionError

if TYPE_CHECKING:
    from nself.runtime.inspect import MissingIndexReport


def register(app: App) -> None:
    @app.command("indexes", destructive=False)
    def indexes(
        source: SourceOption = None,
        unused: Annotated[
            bool, typer.Option("--unused", help="Only indexes never scanned (needs a live SOURCE).")
        ] = False,
        missing: Annotated[
            bool,
            typer.Option(
                "--missing",
                help="Advisor: foreign keys without a covering index (works offline), and, on a live "
                "SOURCE, tables read mostly by large sequential scans.",
            ),
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """List the indexes of SOURCE, the unused ones, or the missing ones (advisor).

        Each index with its table, name, definition, unique/primary, partial, and on a
        live database its size and scans.

        --unused lists indexes no query has scanned (as `nself db inspect unused-indexes`).
        --missing lists foreign keys whose columns lead no btree index, primary key or unique
        constraint, each with a CREATE INDEX that covers it; on a live SOURCE also tables
        read by sequential scans more often than by index scans (at least 50 of them,
        averaging at least 10,000 rows each).

        Examples:

          nself schema indexes

          nself schema indexes --from nself/migrations --missing

          nself schema indexes --from staging --unused --json
        """
        if unused and missing:
            raise OptionError("give either --unused or --missing, not both")
        from nself.runtime.inspect import schema_indexes

        report = schema_indexes(source, project(), unused=unused, missing=missing)
        if as_json:
            if report.unused is not None:
                print_json(dataclasses.asdict(report.unused))
            elif report.missing is not None:
                print_json(dataclasses.asdict(report.missing))
            else:
                print_json([dataclasses.asdict(i) for i in report.indexes])
            return
        from nself.cli.db_inspect import format_bytes, print_unused

        if report.unused is not None:
            print_unused(report.unused)
            return
        if report.missing is not None:
            _print_missing(report.missing)
            return
        table = Table("table", "name", "kind", "size", "scans", "definition", box=None)
        for index in report.indexes:
            kind = "primary" if index.primary else "unique" if index.unique else ""
            if index.partial:
                kind = f"{kind} partial".strip()
            table.add_row(
                escape(f"{index.schema}.{index.table}"),
                escape(index.name),
                kind,
                format_bytes(index.size_bytes),
                "" if index.scans is None else str(index.scans),
                escape(index.definition),
            )
        console.print(table)
        console.print(f"{len(report.indexes)} index(es) in {escape(report.source)}")


def _print_missing(missing: MissingIndexReport) -> None:
    from nself.runtime.inspect import SEQ_ROWS_MIN, SEQ_SCAN_MIN

    if missing.foreign_keys:
        console.print("foreign keys without an index on their columns:")
        for fk in missing.foreign_keys:
            line = f"  {fk.schema}.{fk.table} ({', '.join(fk.columns)}) -> {fk.references}  ({fk.constraint})"
            console.print(escape(line))
            console.print(f"    {escape(fk.suggestion)}")
    else:
        console.print("every foreign key has an index on its columns")
    if missing.seq_scan_tables is None:
        console.print("(sequential-scan statistics need a live database: --from ENV or a postgresql:// URL)")
    elif missing.seq_scan_tables:
        console.print(
            f"tables read mostly by sequential scans (>= {SEQ_SCAN_MIN} scans, more than index scans, "
            f">= {SEQ_ROWS_MIN:,} rows per scan):"
        )
        table = Table("table", "seq scans", "index scans", "rows per seq scan", "live rows", box=None)
        for t in missing.seq_scan_tables:
            table.add_row(
                escape(f"{t.schema}.{t.table}"),
                str(t.seq_scan),
                str(t.idx_scan),
                str(t.rows_per_seq_scan),
                str(t.live_rows),
            )
        console.print(table)
    else:
        console.print("no table is read mostly by large sequential scans")
