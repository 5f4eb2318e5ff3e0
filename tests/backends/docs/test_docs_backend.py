"""The documentation of the hand-written awkward schema (awkward.sql, loaded into
PostgreSQL and introspected): golden pages, escaping, anchors, the schema filter."""

from __future__ import annotations

import pytest

from nself.backends.docs import render
from nself.backends.docs.document import anchor
from nself.backends.docs.markdown import fence, text, tidy
from nself.errors import OptionError
from tests.backends.docs.conftest import Loaded, assert_golden
from tests.backends.docs.pages import gfm_tables, markdown_anchors, markdown_links, parse_html


@pytest.mark.parametrize("loaded", ["awkward"], indirect=True)
@pytest.mark.parametrize(("format", "name"), [("html", "schema.html"), ("markdown", "schema.md")])
def test_golden_and_deterministic(loaded: Loaded, format: str, name: str) -> None:
    files = render(loaded.catalog, {"format": format})
    assert list(files) == [name]
    assert render(loaded.catalog, {"format": format}) == files
    assert_golden(f"awkward/{name}", files[name])


@pytest.mark.parametrize("loaded", ["awkward"], indirect=True)
def test_html_escapes_comments_and_names(loaded: Loaded) -> None:
    html = render(loaded.catalog, {})["schema.html"]
    # the page's own search script is the one <script>: the comment's is escaped
    assert html.count("<script>") == 1 and "&lt;script&gt;" in html
    assert "<b>" not in html
    page = parse_html(html)
    users = anchor("table", "public", "users")
    assert '<script>alert("x")</script> people who sign in' in page.text[users]
    assert (
        "a | b\nsecond line * _not emphasis_ `tick`"
        in page.text[anchor("column", "public", "users", "email")]
    )
    # The same table name in two schemas: two sections, each with its own columns.
    assert page.inside(anchor("column", "billing", "users", "owner"), anchor("table", "billing", "users"))
    assert anchor("column", "public", "users", "owner") not in page.text
    items = anchor("table", "Sales Data", 'Order "Items"')
    assert page.inside(anchor("column", "Sales Data", 'Order "Items"', "Item ID"), items)
    # Foreign keys both ways, linked.
    assert f"#{users}" in {f"#{h}" for h in page.hrefs}
    assert '"Sales Data"."Order ""Items"""' in page.text[users]  # referenced by
    assert "billing.users" in page.text[users]


@pytest.mark.parametrize("loaded", ["awkward"], indirect=True)
def test_markdown_tables_keep_their_shape(loaded: Loaded) -> None:
    markdown = render(loaded.catalog, {"format": "markdown"})["schema.md"]
    assert "<script>" not in markdown
    assert text('<script>alert("x")</script> people who sign in') in markdown
    assert text("a | b\nsecond line * _not emphasis_ `tick`") in markdown
    tables = gfm_tables(markdown)
    assert len(tables) > 10
    assert markdown_links(markdown) <= set(markdown_anchors(markdown))


@pytest.mark.parametrize("loaded", ["awkward"], indirect=True)
@pytest.mark.parametrize("format", ["html", "markdown"])
def test_schema_filter_leaves_no_dangling_link(loaded: Loaded, format: str) -> None:
    [page] = render(loaded.catalog, {"format": format, "schemas": ("billing",)}).values()
    assert "public.users" in page  # billing.users references it: shown, not linked
    if format == "html":
        parsed = parse_html(page)
        assert anchor("table", "public", "users") not in parsed.text
        assert anchor("table", "billing", "users") in parsed.text
    else:
        assert markdown_links(page) <= set(markdown_anchors(page))
        assert anchor("table", "public", "users") not in markdown_anchors(page)


@pytest.mark.parametrize("loaded", ["awkward"], indirect=True)
def test_unknown_schema_and_format_are_option_errors(loaded: Loaded) -> None:
    with pytest.raises(OptionError, match="--schema: 'nope' not in the source"):
        render(loaded.catalog, {"schemas": ("nope",)})
    with pytest.raises(OptionError, match="--format: 'pdf'"):
        render(loaded.catalog, {"format": "pdf"})


@pytest.mark.parametrize(
    ("source", "escaped"),
    [
        ("film_id", "film_id"),
        ("_private", "\\_private"),
        ("a|b", "a\\|b"),
        ("<b>&", "&lt;b&gt;&amp;"),
        ("one\ntwo\r\nthree", "one<br>two<br>three"),
        ("*x* [y](z) `c` ~s~ #h !i \\", "\\*x\\* \\[y\\](z) \\`c\\` \\~s\\~ \\#h \\!i \\\\"),
        ("- item", "\\- item"),
        ("1. first", "1\\. first"),
        ("  indented", "&#32;&#32;indented"),
    ],
)
def test_markdown_text_escapes(source: str, escaped: str) -> None:
    assert text(source) == escaped


def test_fence_outgrows_backticks() -> None:
    assert fence("select 1") == "```"
    assert fence("select '````'") == "`````"


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("table", "public", "users"), "table-public.users"),
        (("table", "a.b", "c"), "table-a~2eb.c"),
        (("table", "a", "b.c"), "table-a.b~2ec"),
        (("column", "Sales Data", 'Order "Items"', "x"), "column-Sales~20Data.Order~20~22Items~22.x"),
        (("function", "public", "add", "integer, text"), "function-public.add.integer~2c~20text"),
        (("table", "public", "café~"), "table-public.caf~c3~a9~7e"),
    ],
)
def test_anchors_are_stable_and_distinct(parts: tuple[str, ...], expected: str) -> None:
    assert anchor(*parts) == expected


def test_tidy_keeps_blank_lines_inside_sql_blocks() -> None:
    assert tidy("a\n\n\n\nb\n````sql\nx\n\n\n```\n\n\ny\n````\n\n\nc") == (
        "a\n\nb\n````sql\nx\n\n\n```\n\n\ny\n````\n\nc"
    )


@pytest.mark.parametrize("loaded", ["awkward"], indirect=True)
def test_operators_on_the_schema_page(loaded: Loaded) -> None:
    """Each schema lists its operators (CREATE OPERATOR's), prefix ones too, with the
    function each calls (linked when not overloaded) and the comment, escaped."""
    page = parse_html(render(loaded.catalog, {})["schema.html"])
    near = anchor("operator", "public", "~~~", "integer", "integer")
    assert "within | ten <b>" in page.text[near]
    assert f"#{anchor('function', 'public', 'near', 'integer, integer')}" in {f"#{h}" for h in page.hrefs}
    assert "public.add" in page.text[anchor("operator", "public", "#+#", "integer", "integer")]
    assert "billing.neg" in page.text[anchor("operator", "billing", "~-", "NONE", "integer")]
    markdown = render(loaded.catalog, {"format": "markdown"})["schema.md"]
    assert near in markdown_anchors(markdown)
