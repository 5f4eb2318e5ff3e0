"""ER diagrams of a Catalog: mermaid `erDiagram` and Graphviz DOT, and the one-file HTML
page around the SVG Graphviz draws from that DOT (running Graphviz is the runtime's part:
nself.runtime.diagram). What is drawn (boxes, markers, cardinalities) is decided once in
`model`; each format only spells it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nself.backends.diagram.model import build_diagram
from nself.errors import OptionError
from nself.ir import Catalog

# format -> the file name `render` returns
DIAGRAM_FORMATS: dict[str, str] = {
    "mermaid": "schema.mmd",
    "dot": "schema.dot",
}


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    """Options: `format` (one of DIAGRAM_FORMATS, default mermaid), `schemas` (names to keep;
    default all), `columns` (default True: False draws the boxes without their columns),
    `partitions` (default False: partitions are folded into their partitioned table)."""
    format_name = str(options.get("format") or "mermaid")
    text = render_diagram(
        catalog,
        format_name,
        schemas=tuple(options.get("schemas") or ()),
        columns=bool(options.get("columns", True)),
        partitions=bool(options.get("partitions", False)),
    )
    return {DIAGRAM_FORMATS[format_name]: text}


def render_diagram(
    catalog: Catalog,
    format_name: str = "mermaid",
    *,
    schemas: tuple[str, ...] = (),
    columns: bool = True,
    partitions: bool = False,
) -> str:
    """The diagram of `catalog` as text in `format_name`."""
    if format_name not in DIAGRAM_FORMATS:
        raise OptionError(f"--format: {format_name!r} is not one of {', '.join(DIAGRAM_FORMATS)}")
    diagram = build_diagram(catalog, schemas, show_columns=columns, partitions=partitions)
    if format_name == "mermaid":
        from nself.backends.diagram.mermaid import render_mermaid

        return render_mermaid(diagram)
    from nself.backends.diagram.dot import render_dot

    return render_dot(diagram)


def render_html(
    catalog: Catalog,
    svg: str,
    *,
    schemas: tuple[str, ...] = (),
    columns: bool = True,
    partitions: bool = False,
) -> str:
    """One self-contained HTML page around `svg`, Graphviz's drawing of this catalog's DOT
    (the same `schemas`, `columns` and `partitions`): the SVG, the tables and foreign keys as
    data, and the script that searches, zooms, pans and shows a table's neighbours, all
    inline; nothing fetched."""
    from nself.backends.diagram.page import html_page

    diagram = build_diagram(catalog, schemas, show_columns=columns, partitions=partitions)
    return html_page(svg, diagram)
