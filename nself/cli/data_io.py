"""`nself data export` and `nself data import`: one JSON or CSV file per table
(nself.runtime.data_io)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nself.cli.common import EnvOption, JsonOption, console, environment, err_console, print_json
from nself.cli.safety import App, Destructive
from nself.errors import OptionError

if TYPE_CHECKING:
    from nself.runtime.data_io import DataFormat


def register(app: App) -> None:
    @app.command("export", destructive=False)
    def export_command(
        env: EnvOption = None,
        output: Annotated[
            str | None,
            typer.Option(
                "--output",
                "-o",
                metavar="DIR|s3://BUCKET/PREFIX",
                help="Directory for the files (default .nself/exports/ENV-TIMESTAMP/), or an s3:// or azure:// "
                "URL: uploaded through [backup.storage] when it names the bucket, else the SDK's credentials.",
                show_default=False,
            ),
        ] = None,
        fmt: Annotated[
            str, typer.Option("--format", "-f", metavar="json|csv|parquet", help="File format.")
        ] = "json",
        tables: Annotated[
            list[str] | None,
            typer.Option(
                "--table", "-t", metavar="TABLE", help="Only this table (schema.table or table; repeatable)."
            ),
        ] = None,
        as_json: JsonOption = False,
    ) -> None:
        """Export every table's rows, one file per table (schema.table.json or .csv), all read
        in one consistent snapshot. nself's migration history (_nself) is left out.

        Examples:

          nself data export

          nself data export --format csv -o exports/

          nself data export --env staging --table users --table posts

          nself data export --format parquet -o s3://my-bucket/exports/2026-12-07
        """
        if fmt not in ("json", "csv", "parquet"):
            raise OptionError(f"--format: expected json, csv or parquet, got {fmt!r}")
        from nself.runtime.data_io import export_data
        from nself.runtime.local import database_url
        from nself.runtime.remote_data import export_remote, parse_remote

        remote = parse_remote(output) if output is not None else None
        proj, environ = environment(env)
        url = database_url(proj, environ)
        chosen: DataFormat = "json" if fmt == "json" else "parquet" if fmt == "parquet" else "csv"
        with err_console.status(f"exporting {environ.name}…") as status:
            if remote is not None:
                result = export_remote(
                    proj,
                    url,
                    remote,
                    fmt=chosen,
                    tables=tables or (),
                    progress=lambda name: status.update(f"exporting {name}…"),
                )
            else:
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
                directory = Path(output) if output else proj.state_dir / "exports" / f"{environ.name}-{stamp}"
                result = export_data(
                    url,
                    directory,
                    fmt=chosen,
                    tables=tables or (),
                    progress=lambda name: status.update(f"exporting {name}…"),
                )
        if as_json:
            print_json(
                {
                    "directory": result.directory,
                    "format": result.format,
                    "tables": [{"table": t.table, "path": t.path, "rows": t.rows} for t in result.tables],
                }
            )
            return
        for item in result.tables:
            err_console.print(f"{item.table}: {item.rows} rows")
        console.print(f"{result.directory} ({len(result.tables)} tables, {result.format})")

    # A plain import only adds rows; --upsert and --truncate replace rows that are there.
    @app.command(
        "import",
        destructive=Destructive(
            "import with --upsert or --truncate", when=("upsert", "truncate"), force_production=True
        ),
    )
    def import_command(
        path: Annotated[
            str,
            typer.Argument(
                help="A .json, .jsonl, .csv or .parquet file, or a directory of them (files made elsewhere are read "
                "with DuckDB); or an s3:// or azure:// URL of one or of a prefix holding them."
            ),
        ],
        env: EnvOption = None,
        table: Annotated[
            str | None,
            typer.Option(
                "--table",
                "-t",
                metavar="TABLE",
                help="Load the file into this table (default: from its name).",
            ),
        ] = None,
        upsert: Annotated[
            bool, typer.Option("--upsert", help="Update rows whose primary key exists, insert the others.")
        ] = False,
        truncate: Annotated[
            bool, typer.Option("--truncate", help="Empty the tables being loaded first.")
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        """Import files from nself data export (schema.table.json / .csv / .parquet), or CSV, JSON
        lines and Parquet made elsewhere (read with DuckDB, checked against the table's types
        first), in one transaction: a failure leaves every table as it was.

        Examples:

          nself data import .nself/exports/local-20260101T120000Z/

          nself data import users.csv --table users

          nself data import events.jsonl --table events

          nself data import s3://my-bucket/exports/2026-12-07 --truncate

          nself data import dir/ --upsert
        """
        from nself.runtime.data_io import data_files, import_data
        from nself.runtime.local import database_url
        from nself.runtime.remote_data import import_remote, parse_remote

        if upsert and truncate:
            raise OptionError(
                "--upsert and --truncate exclude each other (after --truncate there is nothing to update)"
            )
        remote = parse_remote(path)
        if remote is None:
            data_files(Path(path))  # a missing file is an error before anything connects
        proj, environ = environment(env)
        url = database_url(proj, environ)
        with err_console.status(f"importing into {environ.name}…") as status:
            if remote is not None:
                result = import_remote(
                    proj,
                    url,
                    remote,
                    table=table,
                    upsert=upsert,
                    truncate=truncate,
                    progress=lambda name: status.update(f"importing {name}…"),
                )
            else:
                result = import_data(
                    url,
                    Path(path),
                    table=table,
                    upsert=upsert,
                    truncate=truncate,
                    progress=lambda name: status.update(f"importing {name}…"),
                )
        total = sum(t.rows for t in result.tables)
        if as_json:
            print_json(
                {
                    "environment": environ.name,
                    "upsert": result.upsert,
                    "truncate": result.truncate,
                    "tables": [{"table": t.table, "path": t.path, "rows": t.rows} for t in result.tables],
                }
            )
            return
        for item in result.tables:
            err_console.print(f"{item.table}: {item.rows} rows")
        console.print(f"imported {total} rows into {len(result.tables)} tables of {environ.name}")
