"""`nself schema`: show, and (in later modules) diff, diagram, docs, indexes."""

from __future__ import annotations

from typing import Annotated

import typer

from nself.backends import SCHEMA_FORMATS
from nself.cli import schema_docs
from nself.cli.common import IncludePlatformOption, OutputOption, SourceOption, write_output
from nself.cli.safety import App

app = App(help="Schema management: show, diff, diagram, docs.", no_args_is_help=True)


@app.command("show", destructive=False)
def show(
    source: SourceOption = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help=f"One of: {', '.join(SCHEMA_FORMATS)}.")
    ] = "text",
    output: OutputOption = None,
    include_platform: IncludePlatformOption = False,
) -> None:
    """Print the schema read from SOURCE.

    Examples:

      nself schema show

      nself schema show --from nself/migrations --format sql

      nself schema show --from schema.dbml --format json -o schema.json
    """
    from nself.cli.quick import show_command

    show_command(source, format, output, include_platform=include_platform, write=write_output)


@app.command("diff", destructive=False)
def diff(
    first: Annotated[
        str | None,
        typer.Argument(
            metavar="FROM",
            help="SOURCE to start from (default: the migrations directory nself/migrations).",
            show_default=False,
        ),
    ] = None,
    second: Annotated[
        str | None,
        typer.Argument(
            metavar="TO", help="SOURCE to arrive at (default: the local database).", show_default=False
        ),
    ] = None,
    create_migration: Annotated[
        str | None,
        typer.Option(
            "--create-migration",
            metavar="NAME",
            help="Write the SQL as a new migration file (with its down section).",
        ),
    ] = None,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the schemas differ, 0 when they do not.")
    ] = False,
    reorder_columns: Annotated[
        bool,
        typer.Option(
            "--reorder-columns",
            help="Reach the target's exact column order by rebuilding a table whose columns ALTER TABLE "
            "cannot put in order: the table is created anew, its rows copied across (kept) and its "
            "dependants recreated. This rewrites the table and holds an ACCESS EXCLUSIVE lock on it "
            "meanwhile. Default: columns are only appended, and a note tells where the order differs.",
        ),
    ] = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """Print the SQL that turns schema FROM into schema TO.

    A SOURCE is an environment name, a postgresql:// URL, a migrations directory, or a
    .sql or .dbml file. Statements that can lose data are marked `-- destructive:` and
    reported on stderr.

    ALTER TABLE can only append columns: by default a table whose target column order
    differs keeps its order (a note says so). --reorder-columns rebuilds such a table
    instead (it rewrites the table, keeping its rows, under an ACCESS EXCLUSIVE lock).

    Examples:

      nself schema diff                      (migrations -> local database)

      nself schema diff staging              (staging -> local database)

      nself schema diff prod staging

      nself schema diff --create-migration add_orders

      nself schema diff nself/migrations local --exit-code

      nself schema diff prod staging --reorder-columns
    """
    from nself.cli.quick import diff_command

    code = diff_command(
        first,
        second,
        create_migration=create_migration,
        exit_code=exit_code,
        reorder_columns=reorder_columns,
        include_platform=include_platform,
        write=write_output,
    )
    if code:
        raise typer.Exit(code)


schema_docs.register(app)

from nself.cli import schema_indexes  # noqa: E402  (registers into app, so it comes after it)

schema_indexes.register(app)

from nself.cli import schema_diagram  # noqa: E402  (registers into app, so it comes after it)

schema_diagram.register(app)
