"""The one-file HTML page around an SVG diagram: the SVG Graphviz drew, the tables and
foreign keys as JSON, and a small script (templates/diagram/diagram.js) that searches,
zooms, pans and shows a table's neighbourhood. Graphviz did the layout; the script only
moves the view and changes classes, so the page works offline and loads nothing."""

from __future__ import annotations

import html
import json
import re

from nself.backends.diagram.model import Diagram, cluster_id
from nself.backends.diagram.templating import render_template

# What precedes the <svg> element in dot's output: the XML declaration, DOCTYPE and comments.
_SVG_START = re.compile(r"<svg\b")


def diagram_data(diagram: Diagram) -> dict[str, object]:
    """What the page's script reads: each box (its SVG element's id is the node id) with the
    partitions folded into it, and each foreign key (its SVG edge's id is `fk<N>`, N counted
    from 1 in the diagram's order, as the DOT numbers them)."""
    return {
        "title": diagram.title,
        "schemas": [{"name": s, "id": cluster_id(s)} for s in diagram.schemas],
        "tables": [
            {
                "id": e.node_id,
                "schema": e.schema,
                "name": e.name,
                "label": e.label,
                "kind": e.kind,
                "partitions": list(e.partitions),
            }
            for e in diagram.entities
        ],
        "foreign_keys": [
            {
                "id": f"fk{number}",
                "name": r.name,
                "child": r.child.node_id,
                "parent": r.parent.node_id,
                "columns": list(r.columns),
                "ref_columns": list(r.ref_columns),
            }
            for number, r in enumerate(diagram.relationships, 1)
        ],
    }


def script_json(value: object) -> str:
    """JSON to put inside a <script> element: `</` and `<!--` cannot end or bend it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def html_page(svg: str, diagram: Diagram) -> str:
    """One self-contained HTML file: the SVG, data and script inline, nothing fetched."""
    start = _SVG_START.search(svg)
    inline = svg[start.start() :] if start else svg
    return render_template(
        "page.html.jinja2",
        title=html.escape(f"Schema: {diagram.title}"),
        svg=inline,
        data=script_json(diagram_data(diagram)),
    )
