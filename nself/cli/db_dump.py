"""`nself db dump` and `nself db load`: back up an environment with pg_dump and restore a
dump into one (nself.runtime.dump)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nself.cli.common import EnvOption, JsonOption, console, environment, err_console, print_json
from nself.cli.safety import App, Destructive
from nself.errors import OptionError

if TYPE_CHECKING:
    from nself.runtime.dump import DumpFormat

TableOption = Annotated[
    list[str] | None,
    typer.Option("--table", "-t", metavar="TABLE", help="Only this table (pg_dump pattern; repeatable)."),
]
ExcludeTableOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-table", "-T", metavar="TABLE", help="Leave out this table (pg_dump pattern; repeatable)."
    ),
]


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def register(app: App) -> None:
    @app.command("dump", destructive=False)
    def dump_command(
        env: EnvOption = None,
        output: Annotated[
            Path | None,
            typer.Option(
                "--output",
                "-o",
                help="Write here ('-' for plain SQL on stdout; default .nself/dumps/ENV-TIMESTAMP.dump).",
                show_default=False,
            ),
        ] = None,
        schema_only: Annotated[bool, typer.Option("--schema-only", help="Only the schema, no rows.")] = False,
        data_only: Annotated[bool, typer.Option("--data-only", help="Only the rows, no schema.")] = False,
        fmt: Annotated[
            str | None,
            typer.Option(
                "--format",
                "-F",
                metavar="custom|plain",
                help="custom (pg_restore archive) or plain SQL (default: custom; plain for -o - or *.sql).",
                show_default=False,
            ),
        ] = None,
        tables: TableOption = None,
        exclude_tables: ExcludeTableOption = None,
        with_history: Annotated[
            bool,
            typer.Option("--with-history", help="Include nself's migration history (the _nself schema)."),
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Dump an environment's database with pg_dump (the version matching the server).

        Examples:

          nself db dump

          nself db dump --schema-only -o schema.sql

          nself db dump --env staging --table users --table posts -o users.dump

          nself db dump -o - | gzip > backup.sql.gz
        """
        if fmt not in (None, "custom", "plain"):
            raise OptionError(f"--format: expected custom or plain, got {fmt!r}")
        if as_json and output is not None and str(output) == "-":
            raise OptionError("--json and -o - both want stdout; give -o FILE")
        from nself.runtime.dump import dump, dump_format_for
        from nself.runtime.local import database_url

        requested: DumpFormat | None = "custom" if fmt == "custom" else "plain" if fmt == "plain" else None
        chosen = dump_format_for(output, requested)
        proj, environ = environment(env)
        if output is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            suffix = ".dump" if chosen == "custom" else ".sql"
            output = proj.state_dir / "dumps" / f"{environ.name}-{stamp}{suffix}"
        url = database_url(proj, environ)
        with err_console.status(f"dumping {environ.name}…"):
            result = dump(
                url,
                output,
                fmt=chosen,
                schema_only=schema_only,
                data_only=data_only,
                tables=tables or (),
                exclude_tables=exclude_tables or (),
                with_history=with_history,
            )
        if as_json:
            print_json(
                {
                    "path": result.path,
                    "bytes": result.bytes,
                    "format": result.format,
                    "seconds": round(result.seconds, 3),
                    "duration_ms": round(result.seconds * 1000),
                }
            )
        elif result.path != "-":
            console.print(f"{result.path} ({human_size(result.bytes)}, {result.format})")

    @app.command("load", destructive=Destructive("load a dump", force_production=True))
    def load_command(
        file: Annotated[
            Path, typer.Argument(help="A dump from nself db dump / pg_dump (custom archive or plain .sql).")
        ],
        env: EnvOption = None,
        clean: Annotated[
            bool,
            typer.Option("--clean", help="Drop the dump's objects before recreating them (custom dumps)."),
        ] = False,
        single_transaction: Annotated[
            bool,
            typer.Option(
                "--single-transaction/--no-single-transaction",
                help="All or nothing: a failure leaves the database as it was.",
            ),
        ] = True,
        jobs: Annotated[
            int,
            typer.Option(
                "--jobs",
                "-j",
                help="Restore a custom dump in N sessions (pg_restore -j; needs --no-single-transaction).",
            ),
        ] = 1,
        as_json: JsonOption = False,
    ) -> None:
        """Load a dump into an environment (pg_restore for custom dumps, psql for .sql).

        Examples:

          nself db load .nself/dumps/local-20260101T120000Z.dump

          nself db load backup.dump --env staging --clean

          nself db load schema.sql --env test

          nself db load big.dump --no-single-transaction --jobs 4
        """
        from nself.runtime.dump import detect_format, load
        from nself.runtime.local import database_url

        detect_format(file)  # a missing file is an error before anything connects
        proj, environ = environment(env)
        url = database_url(proj, environ)
        with err_console.status(f"loading {file} into {environ.name}…"):
            result = load(url, file, clean=clean, single_transaction=single_transaction, jobs=jobs)
        if as_json:
            print_json(
                {
                    "path": result.path,
                    "format": result.format,
                    "seconds": round(result.seconds, 3),
                    "duration_ms": round(result.seconds * 1000),
                    "environment": environ.name,
                }
            )
        else:
            console.print(f"loaded {result.path} into {environ.name} ({result.seconds:.1f}s)")
