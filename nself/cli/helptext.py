"""Command help as the terminal's width lays it out.

Commands' help comes from their docstrings, wrapped in the source at about 95 columns.
typer 0.29 keeps those line breaks, so in an 80-column terminal every long line wraps again
and the help comes out ragged. A paragraph of plain prose is made one line here, for the
terminal to wrap; a paragraph holding an indented line or a list item (examples, aligned
text) is kept as written."""

from __future__ import annotations

import inspect
import re

# A line that begins a list item: "- x", "* x", "1. x", "2) x".
_ITEM = re.compile(r"(?:[-*]|[0-9]+[.)])\s")


def reflowed(text: str | None) -> str | None:
    """`text` (a docstring) with each plain-prose paragraph on one line."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(_joined(paragraph) for paragraph in paragraphs)


def _joined(paragraph: str) -> str:
    lines = paragraph.split("\n")
    if any(line[:1].isspace() or _ITEM.match(line) or line.startswith("\b") for line in lines):
        return paragraph
    return " ".join(line.strip() for line in lines)
