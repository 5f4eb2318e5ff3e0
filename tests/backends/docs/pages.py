"""Readers for the rendered documentation, strict enough to fail on broken pages:

- `parse_html`: html.parser over the page; tags must balance, ids must be unique, every
  link `href="#x"` must stay in the page and have an element `id="x"`, and nothing may be
  loaded (no src, <link>, CSS url() or @import; the one script is inline). Returns the text under each id
  and the ids enclosing it, so a test can ask "is this column inside that table?".
- `markdown_sections` / `gfm_tables`: the Markdown split at its `<a id>` anchors, and every
  table checked for a delimiter row and the same number of cells in each row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "wbr", "col", "source"})


@dataclass
class Page:
    text: dict[str, str]  # id -> every character of text inside the element
    ancestors: dict[str, tuple[str, ...]]  # id -> ids of the elements enclosing it
    hrefs: list[str] = field(default_factory=list)
    all_text: str = ""
    tags: set[str] = field(default_factory=set)

    def inside(self, child: str, parent: str) -> bool:
        return child in self.ancestors and parent in self.ancestors[child]


class _StrictParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.texts: dict[str, list[str]] = {}
        self.ancestors: dict[str, tuple[str, ...]] = {}
        self.hrefs: list[str] = []
        self.chunks: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        values = dict(attrs)
        element_id = values.get("id")
        if element_id is not None:
            assert element_id not in self.texts, f"duplicate id {element_id!r}"
            assert element_id and not any(c.isspace() for c in element_id), f"bad id {element_id!r}"
            self.texts[element_id] = []
            self.ancestors[element_id] = tuple(i for _, i in self.stack if i is not None)
        assert "src" not in values and tag not in ("link", "iframe", "object"), (
            f"<{tag}> loads something: the page must stand alone"
        )
        href = values.get("href")
        if href is not None:
            assert href.startswith("#"), f"a link leaves the page: {href!r}"
            self.hrefs.append(href[1:])
        if tag not in VOID:
            self.stack.append((tag, element_id))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/> in HTML")

    def handle_endtag(self, tag: str) -> None:
        assert tag not in VOID, f"</{tag}> closes a void element"
        assert self.stack, f"</{tag}> without an open element"
        open_tag, _ = self.stack.pop()
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1][0] == "style":
            assert "url(" not in data and "@import" not in data, "the CSS loads something"
            return
        if self.stack and self.stack[-1][0] == "script":
            assert not re.search(r"fetch\(|XMLHttpRequest|import\(|https?://", data), (
                "the script loads something"
            )
            return
        self.chunks.append(data)
        for _, element_id in self.stack:
            if element_id is not None:
                self.texts[element_id].append(data)


def parse_html(html: str) -> Page:
    assert html.startswith("<!DOCTYPE html>\n")
    parser = _StrictParser()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], f"unclosed elements: {parser.stack}"
    page = Page(
        text={k: "".join(v) for k, v in parser.texts.items()},
        ancestors=parser.ancestors,
        hrefs=parser.hrefs,
        all_text="".join(parser.chunks),
        tags=parser.tags,
    )
    dangling = sorted({h for h in page.hrefs if h not in page.text})
    assert not dangling, f"links to missing ids: {dangling[:10]}"
    return page


_ANCHOR_LINE = re.compile(r'^<a id="([^"]+)"></a>$', re.MULTILINE)
_CELL_ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
_PIPE = re.compile(r"(?<!\\)\|")


def markdown_sections(markdown: str) -> dict[str, str]:
    """Text from each heading anchor (`<a id="x"></a>` on its own line) to the next one."""
    marks = list(_ANCHOR_LINE.finditer(markdown))
    sections = {}
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(markdown)
        assert mark.group(1) not in sections, f"duplicate anchor {mark.group(1)!r}"
        sections[mark.group(1)] = markdown[mark.start() : end]
    return sections


def markdown_rows(markdown: str) -> dict[str, str]:
    """Each table row that carries an anchor in its first cell, by that anchor."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| "):
            match = _CELL_ANCHOR.search(line)
            if match:
                assert match.group(1) not in rows, f"duplicate anchor {match.group(1)!r}"
                rows[match.group(1)] = line
    return rows


def gfm_tables(markdown: str) -> list[list[list[str]]]:
    """Every GFM table as rows of cells; asserts the delimiter row and equal cell counts."""
    tables: list[list[list[str]]] = []
    current: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            current.append(line)
            continue
        if current:
            rows = [_cells(row) for row in current]
            assert len(rows) >= 2 and all(re.fullmatch(r"-{3,}", c) for c in rows[1]), current[:2]
            widths = {len(r) for r in rows}
            assert len(widths) == 1, f"rows of different widths {sorted(widths)}: {current[0]}"
            tables.append(rows)
            current = []
    return tables


def _cells(row: str) -> list[str]:
    assert row.startswith("| ") and row.endswith(" |"), row
    return [c.strip() for c in _PIPE.split(row[1:-1])]


def markdown_links(markdown: str) -> set[str]:
    return set(re.findall(r"\]\(#([^)]+)\)", markdown))


def markdown_anchors(markdown: str) -> list[str]:
    return _CELL_ANCHOR.findall(markdown)
