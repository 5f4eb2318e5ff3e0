"""ER diagrams against PostgreSQL: every table and view pg_class holds is one box, every
declared foreign key pg_constraint holds is one edge between the right boxes with the
cardinality its columns imply, no more and no fewer. DOT is checked through the SVG that
the real Graphviz draws; mermaid through mermaid's own erDiagram parser (run in node)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from nself.backends.diagram.model import build_diagram
from nself.errors import OptionError
from nself.ir import Catalog
from nself.runtime.diagram import draw_diagram as render_diagram
from nself.runtime.diagram import fitted_scale, svg_size
from tests.backends.diagram.conftest import CASES, HERE, Edge, Key, LoadCase, Loaded, assert_golden
from tests.tools import node_modules_with

REPO = HERE.parents[2]
SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"
RELKIND_CLASS = {"r": "table", "p": "partitioned-table", "v": "view", "m": "materialized-view"}
RELKIND_CAPTION = {"v": "view", "m": "materialized view"}

pytestmark = pytest.mark.oracle


def key_of(node_id: str) -> Key:
    """(schema, name) of a node id (`model.node_id`: `$HH` escapes, one `.` between)."""
    schema, name = node_id.split(".")
    return unquote(schema.replace("$", "%")), unquote(name.replace("$", "%"))


def without_port(end: str) -> str:
    return end.split(":")[0]


def svg_graph(svg: str) -> tuple[dict[Key, tuple[set[str], list[str]]], Counter[Edge]]:
    """The boxes (classes, texts) and edges of a Graphviz SVG, read from its XML."""
    nodes: dict[Key, tuple[set[str], list[str]]] = {}
    edges: Counter[Edge] = Counter()
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        classes = set(group.get("class", "").split())
        title = group.findtext(f"{SVG}title") or ""
        if "node" in classes:
            texts = [t.text or "" for t in group.iter(f"{SVG}text")]
            nodes[key_of(title)] = (classes, texts)
        elif "edge" in classes:
            tail, head = title.split("->")
            link = group.find(f".//{SVG}a")
            sides = {c.split("-", 1)[0]: c.split("-", 1)[1].replace("-", "_") for c in classes if "-" in c}
            edges[
                Edge(
                    key_of(without_port(tail)),
                    key_of(without_port(head)),
                    link.get(XLINK_TITLE, "") if link is not None else "",
                    "",
                    sides["parent"],
                    sides["child"],
                    "identifying" in classes,
                )
            ] += 1
    return nodes, edges


def caption(loaded: Loaded, key: Key, qualified: bool) -> str | None:
    """What the box of `key` should say besides its name, from pg_class and pg_inherits."""
    parent = loaded.partition_parents.get(key)
    if parent is not None:
        shown = f"{parent[0]}.{parent[1]}" if qualified or parent[0] != key[0] else parent[1]
        return f"partition of {shown}"
    return RELKIND_CAPTION.get(loaded.relations[key])


def qualified_names(loaded: Loaded) -> bool:
    return len({schema for schema, _ in loaded.relations}) > 1


def named_only(edges: Counter[Edge]) -> Counter[Edge]:
    return Counter({replace(e, columns=""): n for e, n in edges.items()})


@pytest.mark.parametrize("case", CASES)
def test_svg_has_one_box_per_relation_and_one_edge_per_foreign_key(case: str, load_case: LoadCase) -> None:
    loaded = load_case(case)
    nodes, edges = svg_graph(render_diagram(loaded.catalog, "svg", partitions=True))
    assert set(nodes) == set(loaded.relations)
    assert edges == named_only(loaded.foreign_keys)
    for key, relkind in loaded.relations.items():
        classes, texts = nodes[key]
        assert RELKIND_CLASS[relkind] in classes, key
        assert set(loaded.columns.get(key, ())) <= set(texts), key
        said = caption(loaded, key, qualified_names(loaded))
        assert (f"({said})" in texts) if said else not any(t.startswith("(") for t in texts), key


@pytest.mark.parametrize("case", CASES)
def test_svg_without_columns_keeps_boxes_and_edges(case: str, load_case: LoadCase) -> None:
    loaded = load_case(case)
    nodes, edges = svg_graph(render_diagram(loaded.catalog, "svg", columns=False, partitions=True))
    assert set(nodes) == set(loaded.relations)
    assert edges == named_only(loaded.foreign_keys)


def partition_tops(loaded: Loaded) -> dict[Key, Key]:
    """Each relation -> the top of its partition tree (pg_inherits), itself when no partition."""
    tops: dict[Key, Key] = {}
    for key in loaded.relations:
        top = key
        while top in loaded.partition_parents:
            top = loaded.partition_parents[top]
        tops[key] = top
    return tops


@pytest.mark.parametrize("case", CASES)
def test_partitions_are_folded_into_their_table_by_default(case: str, load_case: LoadCase) -> None:
    loaded = load_case(case)
    tops = partition_tops(loaded)
    nodes, edges = svg_graph(render_diagram(loaded.catalog, "svg"))
    assert set(nodes) == set(tops.values())
    folded_edges = Counter(
        replace(e, child=tops[e.child], parent=tops[e.parent]) for e in loaded.foreign_keys.elements()
    )
    assert Counter({(e.child, e.parent, e.name): n for e, n in edges.items()}) == Counter(
        {(e.child, e.parent, e.name): n for e, n in folded_edges.items()}
    )
    for top in set(tops.values()):
        count = sum(1 for key, t in tops.items() if t == top and key != top)
        texts = nodes[top][1]
        if count:
            assert f"({count} partition{'s' if count > 1 else ''})" in texts, top


# --------------------------------------------------------------------------- mermaid


def mermaid_node_modules() -> Path:
    """node_modules holding mermaid: skips locally, fails in CI (tests/tools.py)."""
    return node_modules_with("mermaid/dist/mermaid.core.mjs", "npm install --prefix .cache/node mermaid@11")


def mermaid_parse(texts: list[str]) -> list[dict[str, Any]]:
    """What mermaid's erDiagram parser makes of each text."""
    done = subprocess.run(
        ["node", str(HERE / "mermaid_parse.mjs"), str(mermaid_node_modules())],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    parsed: list[dict[str, Any]] = json.loads(done.stdout)
    return parsed


def mermaid_text(text: str) -> str:
    """A name as mermaid shows it: its entity codes (held as placeholders) decoded."""
    return html.unescape(text.replace("ﬂ°°", "&#").replace("ﬂ°", "&").replace("¶ß", ";"))


MERMAID_SIDE = {"ONLY_ONE": "one", "ZERO_OR_ONE": "zero_or_one", "ZERO_OR_MORE": "zero_or_more"}


def check_mermaid(parsed: dict[str, Any], loaded: Loaded, *, qualified: bool, columns: bool) -> None:
    assert "error" not in parsed, parsed.get("error")
    tables = {k for k, kind in loaded.relations.items() if kind in ("r", "p")}
    entities = {key_of(e["name"]): e for e in parsed["entities"]}
    assert set(entities) == set(loaded.relations)
    by_internal_id = {e["id"]: key for key, e in entities.items()}
    for key in loaded.relations:
        entity = entities[key]
        said = caption(loaded, key, qualified)
        shown = (f"{key[0]}.{key[1]}" if qualified else key[1]) + (f" ({said})" if said else "")
        assert mermaid_text(entity["alias"] or entity["name"]) == shown
        names = tuple(mermaid_text(a["name"]) for a in entity["attributes"])
        assert names == (loaded.columns.get(key, ()) if columns else ())
        if columns:
            assert_markers(entity["attributes"], loaded.markers.get(key, ()), view=key not in tables, key=key)
    # `parent <cardB>--<cardA> child`: mermaid's A is the left entity, its cardA the right marker
    edges = Counter(
        Edge(
            by_internal_id[r["entityB"]],
            by_internal_id[r["entityA"]],
            "",
            mermaid_text(r["roleA"]),
            MERMAID_SIDE[r["relSpec"]["cardB"]],
            MERMAID_SIDE[r["relSpec"]["cardA"]],
            r["relSpec"]["relType"] == "IDENTIFYING",
        )
        for r in parsed["relationships"]
    )
    assert edges == Counter({replace(e, name=""): n for e, n in loaded.foreign_keys.items()})


def assert_markers(
    attributes: list[dict[str, Any]],
    expected: tuple[tuple[str, tuple[str, ...], bool], ...],
    *,
    view: bool,
    key: Key,
) -> None:
    """Each attribute's keys (PK, FK, UK) as pg_index and pg_constraint give them, and its
    NOT NULL comment (left out on primary-key columns) as pg_attribute gives it; a view's
    columns have no NOT NULL in pg_attribute, so theirs is not compared."""
    for attribute, (column, keys, not_null) in zip(attributes, expected, strict=True):
        assert tuple(attribute["keys"]) == keys, (key, column)
        if not view:
            assert (attribute["comment"] == "NOT NULL") == (not_null and "PK" not in keys), (key, column)


@pytest.mark.parametrize("case", CASES)
def test_mermaid_parser_reads_every_relation_and_foreign_key(case: str, load_case: LoadCase) -> None:
    loaded = load_case(case)
    texts = [
        render_diagram(loaded.catalog, "mermaid", partitions=True),
        render_diagram(loaded.catalog, "mermaid", columns=False, partitions=True),
    ]
    qualified = qualified_names(loaded)
    with_columns, without_columns = mermaid_parse(texts)
    check_mermaid(with_columns, loaded, qualified=qualified, columns=True)
    check_mermaid(without_columns, loaded, qualified=qualified, columns=False)


# --------------------------------------------------------------------------- one schema


def test_schema_filter_keeps_its_boxes_and_the_edges_inside_it(load_case: LoadCase) -> None:
    loaded = load_case("edge_cases")
    nodes, edges = svg_graph(render_diagram(loaded.catalog, "svg", schemas=("sales",)))
    assert set(nodes) == {k for k in loaded.relations if k[0] == "sales"}
    inside = Counter({e: n for e, n in loaded.foreign_keys.items() if e.child[0] == e.parent[0] == "sales"})
    assert edges == named_only(inside)
    # one schema drawn: names are not qualified
    diagram = build_diagram(loaded.catalog, ("sales",))
    assert {e.label for e in diagram.entities} == {k[1] for k in nodes}


def test_unknown_schema_is_an_option_error(load_case: LoadCase) -> None:
    with pytest.raises(OptionError, match="--schema: no schema 'nope'"):
        render_diagram(load_case("edge_cases").catalog, "mermaid", schemas=("nope",))


def test_unknown_format_is_an_option_error(load_case: LoadCase) -> None:
    with pytest.raises(OptionError, match="--format: 'png' is not one of mermaid, dot, svg, html"):
        render_diagram(load_case("edge_cases").catalog, "png")


def test_html_is_one_file_with_the_svg_inline_and_nothing_fetched(load_case: LoadCase) -> None:
    loaded = load_case("edge_cases")
    page = render_diagram(loaded.catalog, "html", partitions=True)
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    nodes, edges = svg_graph(svg)
    assert set(nodes) == set(loaded.relations)
    assert edges == named_only(loaded.foreign_keys)
    # nothing loaded from elsewhere: the script is inline, no stylesheet link, no http(s) reference
    assert not re.search(r"<script[^>]*\bsrc=|<link|https?://(?!www\.w3\.org/)", page)


@pytest.mark.parametrize(("format_name", "suffix"), [("mermaid", "mmd"), ("dot", "dot")])
def test_golden(format_name: str, suffix: str, load_case: LoadCase) -> None:
    assert_golden(f"edge_cases.{suffix}", render_diagram(load_case("edge_cases").catalog, format_name))


def test_an_empty_schema_draws_an_empty_diagram() -> None:
    nodes, edges = svg_graph(render_diagram(Catalog(), "svg"))
    assert nodes == {} and edges == Counter()
    (parsed,) = mermaid_parse([render_diagram(Catalog(), "mermaid")])
    assert parsed == {"entities": [], "relationships": []}


@pytest.mark.parametrize("case", CASES)
def test_the_compact_layout_draws_every_box_and_edge(case: str, load_case: LoadCase) -> None:
    # the layered layout is the one of the svg test above (auto keeps it, but for lemmy)
    loaded = load_case(case)
    nodes, edges = svg_graph(render_diagram(loaded.catalog, "svg", partitions=True, layout="fdp"))
    assert set(nodes) == set(loaded.relations)
    assert edges == named_only(loaded.foreign_keys)


def test_auto_layout_keeps_dot_unless_its_drawing_is_far_from_a_screens_shape(load_case: LoadCase) -> None:
    # pagila is drawn by dot about as wide as it is tall: kept
    pagila = load_case("pagila").catalog
    assert render_diagram(pagila, "svg") == render_diagram(pagila, "svg", layout="dot")
    # lemmy: most of its tables reference person, post or community, so dot's ranks are long
    # columns of boxes and its drawing three times as tall as wide; fdp's is drawn larger on a screen
    lemmy = load_case("lemmy").catalog
    layered = render_diagram(lemmy, "svg", layout="dot")
    width, height = svg_size(layered)
    assert height > 2.5 * width
    # fdp's drawing is taken (compared by its shape: Graphviz's fdp does not always place the
    # boxes of one graph to the same point from one run to the next)
    chosen = render_diagram(lemmy, "svg")
    assert chosen != layered
    width, height = svg_size(chosen)
    assert max(width, height) < 2.5 * min(width, height)
    assert fitted_scale(chosen) > 1.5 * fitted_scale(layered)
