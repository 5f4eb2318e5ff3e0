"""ER diagrams in every format `nself schema diagram` writes: mermaid and DOT from the
diagram backend, svg and html drawn from that DOT by Graphviz's `dot` program (layout is
Graphviz's job, and it is the one such program every platform packages)."""

from __future__ import annotations

import shutil
import subprocess

from nself.backends.diagram import DIAGRAM_FORMATS as TEXT_FORMATS
from nself.backends.diagram import render_diagram, render_html
from nself.errors import NselfError, OptionError
from nself.ir import Catalog

DIAGRAM_FORMATS = (*TEXT_FORMATS, "svg", "html")


class GraphvizMissing(NselfError):
    """`dot` is not on PATH."""


def draw_diagram(
    catalog: Catalog,
    format_name: str = "mermaid",
    *,
    schemas: tuple[str, ...] = (),
    columns: bool = True,
    partitions: bool = False,
) -> str:
    """The diagram of `catalog` as text in `format_name` (one of DIAGRAM_FORMATS);
    partitions folded into their partitioned table unless `partitions`."""
    if format_name not in DIAGRAM_FORMATS:
        raise OptionError(f"--format: {format_name!r} is not one of {', '.join(DIAGRAM_FORMATS)}")
    if format_name in TEXT_FORMATS:
        return render_diagram(catalog, format_name, schemas=schemas, columns=columns, partitions=partitions)
    dot_text = render_diagram(catalog, "dot", schemas=schemas, columns=columns, partitions=partitions)
    svg = graphviz_svg(dot_text, format_name=format_name)
    if format_name == "svg":
        return svg
    return render_html(catalog, svg, schemas=schemas, columns=columns, partitions=partitions)


def graphviz_svg(dot_text: str, *, format_name: str = "svg") -> str:
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
