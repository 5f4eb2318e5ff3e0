"""`nself schema diagram`: an ER diagram of the schema (docs/diagram.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from nself.cli.common import IncludePlatformOption, JsonOption, OutputOption, SchemasOption, SourceOption
from nself.cli.safety import App


def register(app: App) -> None:
    app.command("diagram", destructive=False)(diagram)


def diagram(
    source: SourceOption = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="mermaid (default), dot, svg or html (svg and html need Graphviz's dot).",
            show_default=False,
        ),
    ] = None,
    output: OutputOption = None,
    schemas: SchemasOption = None,
    no_columns: Annotated[
        bool, typer.Option("--no-columns", help="Draw tables without their columns (for big schemas).")
    ] = False,
    partitions: Annotated[
        bool,
        typer.Option(
            "--partitions", help="Draw each partition as a box of its own (default: folded into its table)."
        ),
    ] = False,
    layout: Annotated[
        str,
        typer.Option(
            "--layout",
            help="svg and html: auto (default: dot's layered drawing, or fdp's compact one when "
            "dot's would be far from a screen's shape), dot or fdp.",
            show_default=False,
        ),
    ] = "auto",
    open_browser: Annotated[
        bool,
        typer.Option(
            "--open",
            help="Write the html diagram to .nself/diagram.html (or -o) and open it in the browser.",
        ),
    ] = False,
    include_platform: IncludePlatformOption = False,
    as_json: JsonOption = False,
) -> None:
    """Draw an ER diagram of the schema read from SOURCE.

    Every table and view is a box with its columns (type; PK, FK, UK and NOT NULL marked);
    every foreign key is one edge from the referencing table to the referenced one, with
    its cardinality: one-to-one when the key's columns are unique, zero-or-one on the
    parent side when a key column is nullable. Partitions are folded into their partitioned
    table unless --partitions. mermaid is what GitHub renders in Markdown; svg and html are
    drawn by Graphviz (html is one self-contained page that searches, zooms, pans and shows
    a table's neighbours, grouped by schema); a big schema that Graphviz's layered layout
    would draw far taller or wider than a screen is drawn compact (--layout).

    Examples:

      nself schema diagram > schema.mmd

      nself schema diagram --from nself/migrations --format svg -o schema.svg

      nself schema diagram --schema public --no-columns --format dot

      nself schema diagram --open

      nself schema diagram --format html -o schema.html --json
    """
    import time

    started = time.perf_counter()
    from nself.backends.diagram.mermaid import MERMAID_MAX_TEXT_SIZE
    from nself.cli.common import project, warn, write_output, write_with_summary
    from nself.errors import OptionError
    from nself.runtime.diagram import DIAGRAM_FORMATS, draw_diagram
    from nself.runtime.sources import load_catalog

    if open_browser and format not in (None, "html"):
        raise OptionError(f"--open: draws html, not {format!r} (leave --format out or give html)")
    format_name = format or ("html" if open_browser else "mermaid")
    if format_name not in DIAGRAM_FORMATS:
        raise OptionError(f"--format: {format_name!r} is not one of {', '.join(DIAGRAM_FORMATS)}")
    proj = project()
    catalog = load_catalog(source, proj, include_platform=include_platform)
    text = draw_diagram(
        catalog,
        format_name,
        schemas=tuple(schemas or ()),
        columns=not no_columns,
        partitions=partitions,
        layout=layout,
    )
    if format_name == "mermaid" and len(text) > MERMAID_MAX_TEXT_SIZE:
        warn(
            f"the diagram is {len(text):,} characters; mermaid (and GitHub) refuse more than "
            f"{MERMAID_MAX_TEXT_SIZE:,} by default: try --no-columns or --schema NAME"
        )
    if not open_browser:
        write_with_summary(text, output, as_json, started, format=format_name)
        return
    import webbrowser

    path = (output or proj.state_dir / "diagram.html").resolve()
    if as_json:
        write_with_summary(text, path, as_json, started, format=format_name)
    else:
        write_output(text, path)
    webbrowser.open(path.as_uri())
