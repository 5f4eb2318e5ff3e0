"""`nself schema docs`: the schema as one HTML page or one Markdown file (docs/schema-docs.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from nself.cli.common import IncludePlatformOption, JsonOption, SchemasOption, SourceOption
from nself.cli.safety import App


def register(app: App) -> None:
    app.command("docs", destructive=False)(docs)


def docs(
    source: SourceOption = None,
    format: Annotated[str, typer.Option("--format", "-f", help="html or markdown.")] = "html",
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to this file, or to schema.html / schema.md in a directory (one that exists, "
            "or a path ending in /, created) instead of stdout.",
            show_default=False,
        ),
    ] = None,
    schemas: SchemasOption = None,
    include_platform: IncludePlatformOption = False,
    as_json: JsonOption = False,
) -> None:
    """Write documentation of the schema read from SOURCE.

    html (the default): one self-contained page (inline CSS and script, nothing
    fetched) with a search box and a table of contents per schema; each table with
    its columns, keys, foreign keys both ways and a diagram of them, indexes,
    triggers and policies; views, types, functions and sequences. Read from a live
    database, each table also shows its row count (exact up to 8 MB, PostgreSQL's
    estimate above) and size. markdown: the same content (without the diagrams) as
    one GitHub-flavoured Markdown file.

    Examples:

      nself schema docs -o schema.html

      nself schema docs --from nself/migrations --format markdown -o docs/

      nself schema docs --from postgresql://localhost/app --schema public --schema billing

      nself schema docs -o docs/ --json
    """
    import time

    started = time.perf_counter()
    from nself.backends import docs as docs_backend
    from nself.cli.common import project, write_with_summary
    from nself.errors import OptionError
    from nself.runtime.docs import document_schema
    from nself.runtime.sources import database_url_of, load_catalog

    if format not in docs_backend.FORMATS:
        raise OptionError(f"--format: {format!r} is not one of {', '.join(docs_backend.FORMATS)}")
    proj = project()
    catalog = load_catalog(source, proj, include_platform=include_platform)
    url = database_url_of(source, proj)
    files = document_schema(catalog, format, tuple(schemas or ()), url=url)
    [(name, text)] = files.items()
    write_with_summary(text, _output_file(output, name), as_json, started, format=format)


def _output_file(output: str | Path | None, name: str) -> Path | None:
    """Where to write: `output` itself, or `name` inside it when it is a directory (an
    existing one, or one written with a trailing slash: `-o docs/` creates docs/)."""
    if output is None:
        return None
    path = Path(output)
    if path.is_dir() or str(output).endswith(("/", os.sep)):
        return path / name
    return path
