"""The one-file HTML page around an SVG diagram."""

from __future__ import annotations

import html
import re

from nself.backends.diagram.templating import render_template

# What precedes the <svg> element in dot's output: the XML declaration, DOCTYPE and comments.
_SVG_START = re.compile(r"<svg\b")


def html_page(svg: str, title: str) -> str:
    """One self-contained HTML file: the SVG inline, no script, no stylesheet or font fetched."""
    start = _SVG_START.search(svg)
    inline = svg[start.start() :] if start else svg
    return render_template("page.html.jinja2", title=html.escape(title), svg=inline)
