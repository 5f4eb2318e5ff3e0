"""ER diagrams in every format `nself schema diagram` writes: mermaid and DOT from the
diagram backend, svg and html drawn from that DOT by Graphviz (layout is Graphviz's job,
and it is the one such program every platform packages).

Graphviz's `dot` ranks tables by their foreign keys. On a big schema where many tables
reference the same few (lemmy: 76 tables, most of them pointing at person, post and
community), each rank is a long column of boxes and the drawing is three times as tall as it
is wide, so fitted to a screen it is too small to read. `fdp` (force-directed, clusters
kept) draws the same graph about square. The `auto` layout keeps dot's drawing unless it
is that far from a screen's shape, and then takes whichever of the two is drawn larger
when fitted to one."""

from __future__ import annotations

import re
import shutil
import subprocess

from nself.backends.diagram import DIAGRAM_FORMATS as TEXT_FORMATS
from nself.backends.diagram import render_diagram, render_html
from nself.errors import NselfError, OptionError
from nself.ir import Catalog

DIAGRAM_FORMATS = (*TEXT_FORMATS, "svg", "html")
LAYOUTS = ("auto", "dot", "fdp")
# The screen a drawing is judged on (16:10), and how far from its shape dot's drawing may be
# before fdp's is tried too (the longer side this many times the shorter).
_SCREEN = (1600.0, 1000.0)
_MAX_ASPECT = 2.5
# fdp: boxes never overlap (prism moves them apart), edges curve around boxes
_FDP_SETTINGS = ("-Goverlap=prism", "-Gsplines=true")
_SVG_SIZE = re.compile(r'<svg width="([0-9.]+)pt" height="([0-9.]+)pt"')


class GraphvizMissing(NselfError):
    """`dot` is not on PATH."""


def draw_diagram(
    catalog: Catalog,
    format_name: str = "mermaid",
    *,
    schemas: tuple[str, ...] = (),
    columns: bool = True,
    partitions: bool = False,
    layout: str = "auto",
) -> str:
    """The diagram of `catalog` as text in `format_name` (one of DIAGRAM_FORMATS);
    partitions folded into their partitioned table unless `partitions`; svg and html laid
    out by `layout` (one of LAYOUTS)."""
    if format_name not in DIAGRAM_FORMATS:
        raise OptionError(f"--format: {format_name!r} is not one of {', '.join(DIAGRAM_FORMATS)}")
    if layout not in LAYOUTS:
        raise OptionError(f"--layout: {layout!r} is not one of {', '.join(LAYOUTS)}")
    if format_name in TEXT_FORMATS:
        return render_diagram(catalog, format_name, schemas=schemas, columns=columns, partitions=partitions)
    dot_text = render_diagram(catalog, "dot", schemas=schemas, columns=columns, partitions=partitions)
    svg = laid_out_svg(dot_text, layout, format_name=format_name)
    if format_name == "svg":
        return svg
    return render_html(catalog, svg, schemas=schemas, columns=columns, partitions=partitions)


def laid_out_svg(dot_text: str, layout: str = "auto", *, format_name: str = "svg") -> str:
    """The svg of `dot_text` in `layout` (module docstring: how `auto` chooses)."""
    if layout == "fdp":
        return graphviz_svg(dot_text, format_name=format_name, engine="fdp")
    svg = graphviz_svg(dot_text, format_name=format_name)
    if layout == "dot" or not _far_from_screen_shape(svg):
        return svg
    compact = graphviz_svg(dot_text, format_name=format_name, engine="fdp")
    return compact if fitted_scale(compact) > fitted_scale(svg) else svg


def svg_size(svg: str) -> tuple[float, float]:
    """The drawing's width and height in points, as Graphviz writes them."""
    found = _SVG_SIZE.search(svg)
    if found is None:
        return _SCREEN
    return float(found.group(1)), float(found.group(2))


def fitted_scale(svg: str) -> float:
    """How large the drawing is shown when fitted whole to a 16:10 screen."""
    width, height = svg_size(svg)
    return min(_SCREEN[0] / max(width, 1.0), _SCREEN[1] / max(height, 1.0))


def _far_from_screen_shape(svg: str) -> bool:
    width, height = svg_size(svg)
    return max(width, height) > _MAX_ASPECT * max(min(width, height), 1.0)


def graphviz_svg(dot_text: str, *, format_name: str = "svg", engine: str = "dot") -> str:
    """`dot -Tsvg` of `dot_text` (or another of Graphviz's layout programs: `engine`)."""
    program = shutil.which(engine)
    if program is None:
        raise GraphvizMissing(
            f"--format {format_name}: needs Graphviz's `{engine}` program, which is not on PATH "
            "(install graphviz, e.g. `apt-get install graphviz` or `brew install graphviz`)"
        )
    settings = _FDP_SETTINGS if engine == "fdp" else ()
    done = subprocess.run(
        [program, *settings, "-Tsvg"], input=dot_text, capture_output=True, text=True, encoding="utf-8"
    )
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit code {done.returncode}"
        raise NselfError(f"Graphviz's {engine} failed: {message}")
    return done.stdout
