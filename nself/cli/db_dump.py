"""`nself db dump` and `nself db load`: back up an environment with pg_dump and restore a
dump into one (nself.runtime.dump). The commands' bodies are nself.cli.quick's, which also
runs their plain command lines without typer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nself.cli import quick
from nself.cli.common import EnvOption, JsonOption
from nself.cli.guard import LOAD_DUMP
from nself.cli.safety import App

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
        quick.dump_command(
            env,
            output,
            schema_only=schema_only,
            data_only=data_only,
            fmt=fmt,
            tables=tables,
            exclude_tables=exclude_tables,
            with_history=with_history,
            as_json=as_json,
        )

    @app.command("load", destructive=LOAD_DUMP)
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
        quick.load_command(file, env, clean=clean, single_transaction=single_transaction, jobs=jobs, as_json=as_json)
