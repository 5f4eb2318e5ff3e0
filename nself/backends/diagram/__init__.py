"""ER diagrams of a Catalog: mermaid `erDiagram`, Graphviz DOT, and SVG or one HTML page
drawn from the DOT by Graphviz's `dot`. What is drawn (boxes, markers, cardinalities) is
decided once in `model`; each format only spells it."""

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
    "svg": "schema.svg",
    "html": "schema.html",
}


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    """Options: `format` (one of DIAGRAM_FORMATS, default mermaid), `schemas` (names to keep;
    default all), `columns` (default True: False draws the boxes without their columns)."""
    format_name = str(options.get("format") or "mermaid")
    text = render_diagram(
        catalog,
        format_name,
        schemas=tuple(options.get("schemas") or ()),
        columns=bool(options.get("columns", True)),
    )
    return {DIAGRAM_FORMATS[format_name]: text}


def render_diagram(
    catalog: Catalog, format_name: str = "mermaid", *, schemas: tuple[str, ...] = (), columns: bool = True
) -> str:
    """The diagram of `catalog` as text in `format_name`."""
    if format_name not in DIAGRAM_FORMATS:
        raise OptionError(f"--format: {format_name!r} is not one of {', '.join(DIAGRAM_FORMATS)}")
    diagram = build_diagram(catalog, schemas, show_columns=columns)
    if format_name == "mermaid":
        from nself.backends.diagram.mermaid import render_mermaid

        return render_mermaid(diagram)
    from nself.backends.diagram.dot import render_dot

    dot_text = render_dot(diagram)
    if format_name == "dot":
        return dot_text
    from nself.backends.diagram.graphviz import html_page, svg_of

    svg = svg_of(dot_text, format_name=format_name)
    return svg if format_name == "svg" else html_page(svg, f"Schema: {diagram.title}")
