"""SVG and HTML, drawn by Graphviz's `dot` from the DOT text: layout is Graphviz's job and
the one program every platform packages."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

from nself.backends.diagram.templating import render_template
from nself.errors import NselfError

# What precedes the <svg> element in dot's output: the XML declaration, DOCTYPE and comments.
_SVG_START = re.compile(r"<svg\b")


class GraphvizMissing(NselfError):
    """`dot` is not on PATH."""


def svg_of(dot_text: str, *, format_name: str = "svg") -> str:
    """`dot -Tsvg` of `dot_text`."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(
            f"--format {format_name}: needs Graphviz's `dot` program, which is not on PATH "
            "(install graphviz, e.g. `apt-get install graphviz` or `brew install graphviz`)"
        )
    done = subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, encoding="utf-8")
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
        raise NselfError(f"Graphviz's dot failed: {message}")
    return done.stdout


def html_page(svg: str, title: str) -> str:
    """One self-contained HTML file: the SVG inline, no script, no stylesheet or font fetched."""
    start = _SVG_START.search(svg)
    inline = svg[start.start() :] if start else svg
    return render_template("page.html.jinja2", title=html.escape(title), svg=inline)
