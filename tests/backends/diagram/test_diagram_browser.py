"""`schema diagram --format html` in a real headless Chromium (tests/browser.py), on real
schemas: the page loads with no console error and fetches nothing, every table PostgreSQL
holds is a box (partitions folded into the table at the top of their tree), search finds a
table, and a click on a table shows exactly its neighbours in the foreign-key graph that
pg_constraint gives. A screenshot of each page is left in the test's output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.backends.diagram.model import node_id
from nself.runtime.diagram import draw_diagram
from tests.backends.diagram.conftest import Key, LoadCase, Loaded
from tests.backends.diagram.test_diagram import key_of
from tests.browser import Browser

pytestmark = pytest.mark.oracle

NODE_IDS = "() => [...document.querySelectorAll('svg g.node')].map(g => g.id)"
IN_HOOD = "() => [...document.querySelectorAll('svg g.node.in-hood')].map(g => g.id)"
MATCHES = "() => [...document.querySelectorAll('svg g.node.match')].map(g => g.id)"
RESULTS = "() => [...document.querySelectorAll('#results button')].map(b => b.dataset.id)"


def folded(loaded: Loaded) -> dict[Key, Key]:
    """Each relation -> the box it is drawn in: the top of its partition tree (pg_inherits)."""
    top: dict[Key, Key] = {}
    for key in loaded.relations:
        current = key
        while current in loaded.partition_parents:
            current = loaded.partition_parents[current]
        top[key] = current
    return top


def neighbourhoods(loaded: Loaded) -> dict[Key, set[Key]]:
    """Each box with the boxes a foreign key joins it to, either way, and itself."""
    box = folded(loaded)
    hoods: dict[Key, set[Key]] = {b: {b} for b in box.values()}
    for edge in loaded.foreign_keys:
        child, parent = box[edge.child], box[edge.parent]
        hoods[child].add(parent)
        hoods[parent].add(child)
    return hoods


def node_selector(key: Key) -> str:
    return f'svg g.node[id="{node_id(*key)}"]'


@pytest.mark.parametrize("case", ["pagila", "lemmy"])
def test_html_diagram_in_chromium(case: str, load_case: LoadCase, browser: Browser, tmp_path: Path) -> None:
    loaded = load_case(case)
    page = tmp_path / f"{case}.html"
    page.write_text(draw_diagram(loaded.catalog, "html"), encoding="utf-8")
    browser.open(page)

    # every relation is a box, partitions in their table's
    hoods = neighbourhoods(loaded)
    assert {key_of(i) for i in browser.evaluate(NODE_IDS)} == set(hoods)
    if loaded.partition_parents:
        root, partitions = next(
            (top, sorted(k[1] for k, t in folded(loaded).items() if t == top and k != top))
            for top in sorted(set(folded(loaded).values()))
            if any(t == top and k != top for k, t in folded(loaded).items())
        )
        browser.click("#fit")
        browser.click(node_selector(root))
        shown = browser.evaluate(
            "() => [...document.querySelectorAll('#panel .partitions li')].map(l => l.textContent)"
        )
        assert sorted(name.rsplit(".", 1)[-1] for name in shown) == partitions

    # grouped by schema: each box inside its schema's group, a button per schema
    schemas = {k[0] for k in hoods}
    outside = browser.evaluate(
        """() => {
          const data = JSON.parse(document.getElementById('diagram-data').textContent);
          const groups = Object.fromEntries(data.schemas.map(s => [s.name, document.getElementById(s.id)]));
          return data.tables.filter(t => {
            const group = groups[t.schema];
            if (!group) return false;
            const g = group.getBBox(), b = document.getElementById(t.id).getBBox();
            return b.x < g.x || b.y < g.y || b.x + b.width > g.x + g.width || b.y + b.height > g.y + g.height;
          }).map(t => t.id);
        }"""
    )
    assert outside == []
    buttons = browser.evaluate(
        "() => [...document.querySelectorAll('#schemas button')].map(b => b.textContent)"
    )
    assert sorted(buttons) == (sorted(schemas) if len(schemas) > 1 else [])

    # zoom and pan: the wheel narrows the view around the pointer, a drag moves it
    view_box = "() => document.querySelector('#viewport svg').getAttribute('viewBox').split(' ').map(Number)"
    browser.click("#fit")
    x, y, width, height = browser.evaluate(view_box)
    browser.wheel("#viewport", -400)
    zoomed = browser.evaluate(view_box)
    assert zoomed[2] < width and zoomed[3] < height
    browser.drag("#viewport", 120, 80)
    panned = browser.evaluate(view_box)
    assert panned[0] < zoomed[0] and panned[1] < zoomed[1] and panned[2:] == zoomed[2:]
    browser.click("#zoom-out")
    assert browser.evaluate(view_box)[2] > panned[2]
    browser.click("#fit")
    assert browser.evaluate(view_box) == [x, y, width, height]

    # search: the busiest table, by its name
    busiest = max(sorted(hoods), key=lambda k: len(hoods[k]))
    browser.press("body", "Escape")
    browser.fill("#search", busiest[1])
    assert key_of(browser.evaluate(RESULTS)[0]) == busiest
    assert busiest in {key_of(i) for i in browser.evaluate(MATCHES)}
    browser.press("#search", "Enter")
    assert {key_of(i) for i in browser.evaluate(IN_HOOD)} == hoods[busiest]
    browser.press("#search", "Escape")

    # a click on a table shows its neighbours, for a few tables of each size
    for key in sorted(hoods, key=lambda k: (len(hoods[k]), k))[:: max(1, len(hoods) // 4)]:
        browser.click("#fit")
        browser.click(node_selector(key))
        assert {key_of(i) for i in browser.evaluate(IN_HOOD)} == hoods[key], key
        listed = browser.evaluate(
            "() => [...document.querySelectorAll('#panel li button')].map(b => b.dataset.id)"
        )
        assert {key_of(i) for i in listed} | {key} == hoods[key], key

    # the screenshot: the busiest table's neighbourhood, the rest faded
    browser.press("body", "Escape")
    browser.fill("#search", busiest[1])
    browser.press("#search", "Enter")
    errors, requests = browser.problems()
    assert errors == [] and requests == []
    screenshot = browser.screenshot(tmp_path / f"{case}.png")
    print(f"screenshot: {screenshot}")
