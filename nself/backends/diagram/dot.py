"""Graphviz DOT: one box per table or view (an HTML-like label, a row per column), one
edge per foreign key from the child's first key column to the parent's first referenced
column, crow's-foot arrows for the cardinality."""

from __future__ import annotations

from nself.backends.diagram.model import Attribute, Cardinality, Diagram, Entity, Relationship, cluster_id
from nself.backends.diagram.templating import render_template

_HEADER_COLOUR = {
    "table": "#dbe8f5",
    "partitioned table": "#dbe8f5",
    "view": "#e6f2dc",
    "materialized view": "#f5ecd6",
}
# Graphviz arrow shapes: `tee` is the bar of "one", `odot` the circle of "zero", `crow` "many".
_ARROW: dict[Cardinality, str] = {"one": "teetee", "zero_or_one": "teeodot", "zero_or_more": "crowodot"}


def quoted(text: str) -> str:
    """A DOT quoted string. Graphviz reads backslash escapes in labels and tooltips (`\\n`,
    `\\N`, ...), so a backslash is doubled, and a quote escaped."""
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{body}"'


def html(text: str) -> str:
    """Text inside an HTML-like label (Graphviz reads entities, not raw markup)."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", " ")
    )


def _markers(attribute: Attribute) -> str:
    flags = (
        ("PK", attribute.primary_key),
        ("FK", attribute.foreign_key),
        ("UK", attribute.unique),
        ("NN", attribute.not_null and not attribute.primary_key),
    )
    return " ".join(flag for flag, on in flags if on)


def _header(entity: Entity) -> str:
    if entity.caption is None:
        return f"<B>{html(entity.label)}</B>"
    return f"<B>{html(entity.label)}</B> <I>({html(entity.caption)})</I>"


def _node(entity: Entity, show_columns: bool) -> dict[str, object]:
    rows = [
        {"port": entity.port(a.name), "name": html(a.name), "type": html(a.data_type), "markers": _markers(a)}
        for a in entity.attributes
    ]
    return {
        "id": quoted(entity.node_id),
        "schema": entity.schema,
        # classes name what the box is in the SVG, for stylesheets and scripts that read it
        "class": quoted(entity.kind.replace(" ", "-")),
        "header": _header(entity),
        "colour": _HEADER_COLOUR[entity.kind],
        "dashed": entity.kind != "table" and entity.kind != "partitioned table",
        "rows": rows if show_columns else [],
    }


def _edge(relationship: Relationship, show_columns: bool, number: int) -> dict[str, object]:
    tail = quoted(relationship.child.node_id)
    head = quoted(relationship.parent.node_id)
    if show_columns:
        # leave from the right edge of the child's row, arrive at the left edge of the parent's
        # (rankdir=LR puts parents to the right of their children)
        tail += ":" + relationship.child.port(relationship.columns[0]) + "r:e"
        head += ":" + relationship.parent.port(relationship.ref_columns[0]) + ":w"
    classes = f"fk parent-{relationship.parent_side} child-{relationship.child_side}".replace("_", "-")
    if relationship.identifying:
        classes += " identifying"
    attributes = {
        # the SVG element's id: the html page's script finds the edge of each foreign key by it
        "id": quoted(f"fk{number}"),
        "class": quoted(classes),
        "arrowtail": _ARROW[relationship.child_side],
        "arrowhead": _ARROW[relationship.parent_side],
        "tooltip": quoted(relationship.name),
    }
    if not relationship.identifying:
        attributes["style"] = "dashed"
    if not show_columns:
        attributes["label"] = quoted(relationship.label)
    return {"tail": tail, "head": head, "attributes": ", ".join(f"{k}={v}" for k, v in attributes.items())}


def render_dot(diagram: Diagram) -> str:
    """The DOT of `diagram`: boxes grouped in one cluster per schema when it spans several."""
    nodes = [_node(e, diagram.show_columns) for e in diagram.entities]
    clusters = [
        {
            "id": quoted(cluster_id(schema)),
            "label": quoted(schema),
            "nodes": [n for n in nodes if n["schema"] == schema],
        }
        for schema in diagram.schemas
    ]
    return render_template(
        "dot.jinja2",
        title=quoted(diagram.title),
        clusters=clusters if len(clusters) > 1 else [],
        nodes=nodes if len(clusters) <= 1 else [],
        edges=[_edge(r, diagram.show_columns, n) for n, r in enumerate(diagram.relationships, 1)],
    )
