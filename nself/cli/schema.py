"""`nself schema`: show, and (in later modules) diff, diagram, docs, indexes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nself.backends import SCHEMA_FORMATS, load_renderer
from nself.cli.common import project, write_output
from nself.errors import OptionError
from nself.runtime.sources import load_catalog

app = typer.Typer(help="Schema management: show, diff, diagram, docs.", no_args_is_help=True)

SourceOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Environment name, postgresql:// URL, migrations directory, .sql, .dbml or .json file "
        "(default: the local environment).",
        show_default=False,
    ),
]


@app.command("show")
def show(
    source: SourceOption = None,
    format: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(SCHEMA_FORMATS)}.")] = "text",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Print the schema read from SOURCE.

    Examples:

      nself schema show

      nself schema show --from nself/migrations --format sql

      nself schema show --from schema.dbml --format json -o schema.json
    """
    if format not in SCHEMA_FORMATS:
        raise OptionError(f"--format: {format!r} is not one of {', '.join(SCHEMA_FORMATS)}")
    catalog = load_catalog(source, project())
    files = load_renderer(SCHEMA_FORMATS[format])(catalog, {})
    write_output("".join(files.values()), output)
