"""Mermaid `erDiagram` text (GitHub and GitLab render it in Markdown).

Mermaid's lexer is narrow: quoted names may not hold `"`, `%` or a backslash, attribute
types are one word of letters, digits and `-_[]().,*`, and attribute names outside that
alphabet need backticks. Entities are therefore named by `node_id` and shown by an alias;
characters mermaid cannot hold in a label are written as its entity codes (`#quot;`, `#37;`),
which it decodes when it draws; a type's spaces and other characters become `_`."""

from __future__ import annotations

import re

from nself.backends.diagram.model import Attribute, Cardinality, Diagram, Entity, Relationship
from nself.backends.diagram.templating import render_template

# mermaid's default `maxTextSize`: longer texts are refused, not drawn (GitHub keeps the default)
MERMAID_MAX_TEXT_SIZE = 50_000

_PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TYPE_START = re.compile(r"[*A-Za-z_\u00C0-\uFFFF]")
_TYPE_CHAR = re.compile(r"[A-Za-z0-9\-_\[\]().,*\u00C0-\uFFFF]")
# characters that end or break a quoted string or a backticked name, `#` (which would start
# an entity code) and `:` (mermaid's pre-pass drops the `;` of a code after `style...:`)
_CODED = {
    '"': "#quot;",
    "%": "#37;",
    "\\": "#92;",
    "#": "#35;",
    "`": "#96;",
    ":": "#58;",
    "\n": " ",
    "\r": " ",
}
# mermaid reads these as keys, not names, wherever a word may be one
_KEYWORDS = {"pk", "fk", "uk"}

# (left marker, right marker) of `parent <left>--<right> child`: the marker beside an entity
# says how many of it one row at the other end has.
_PARENT_MARKER: dict[Cardinality, str] = {"one": "||", "zero_or_one": "|o"}
_CHILD_MARKER: dict[Cardinality, str] = {"zero_or_one": "o|", "zero_or_more": "o{"}


def quoted(text: str) -> str:
    """`text` as a mermaid quoted string."""
    return '"' + "".join(_CODED.get(ch, ch) for ch in text) + '"'


def attribute_name(name: str) -> str:
    if _PLAIN_WORD.match(name) and name.lower() not in _KEYWORDS:
        return name
    return "`" + "".join(_CODED.get(ch, ch) for ch in name) + "`"


def attribute_type(data_type: str) -> str:
    spelled = "".join(ch if _TYPE_CHAR.match(ch) else "_" for ch in data_type)
    return spelled if _TYPE_START.match(spelled[:1]) else "_" + spelled


def _entity_alias(entity: Entity) -> str | None:
    """The name mermaid shows; None when it is the entity's name as written."""
    shown = entity.label if entity.caption is None else f"{entity.label} ({entity.caption})"
    return None if shown == entity.node_id else quoted(shown)


def _attribute_line(attribute: Attribute) -> str:
    keys = [
        k
        for k, on in (("PK", attribute.primary_key), ("FK", attribute.foreign_key), ("UK", attribute.unique))
        if on
    ]
    parts = [attribute_type(attribute.data_type), attribute_name(attribute.name)]
    if keys:
        parts.append(",".join(keys))
    if attribute.not_null and not attribute.primary_key:
        parts.append(quoted("NOT NULL"))
    return " ".join(parts)


def _relationship_line(relationship: Relationship) -> str:
    line = "--" if relationship.identifying else ".."
    marker = _PARENT_MARKER[relationship.parent_side] + line + _CHILD_MARKER[relationship.child_side]
    return (
        f"{quoted(relationship.parent.node_id)} {marker} {quoted(relationship.child.node_id)}"
        f" : {quoted(relationship.label)}"
    )


def render_mermaid(diagram: Diagram) -> str:
    entities = [
        {
            "id": quoted(entity.node_id),
            "alias": _entity_alias(entity),
            "attributes": [_attribute_line(a) for a in entity.attributes] if diagram.show_columns else [],
        }
        for entity in diagram.entities
    ]
    relationships = [_relationship_line(r) for r in diagram.relationships]
    return render_template("mermaid.jinja2", entities=entities, relationships=relationships)
