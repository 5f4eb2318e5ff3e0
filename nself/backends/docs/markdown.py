"""Escaping for GitHub-flavoured Markdown, where a schema's names and comments may hold
any character: `|` would split a table cell, a newline would end a table row, `<script>`
would be raw HTML, and `*`, `_`, `[`, backticks would start emphasis, links or code.

Every piece of text goes through `text` (or `code`, which wraps it in <code>): the result
is one line that renders as the original characters, in a table cell or in a paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PUNCTUATION = frozenset("\\`*[]#~|!")
_LIST_START = re.compile(r"([-+=]|\d+[.)])")


def text(value: object) -> str:
    """`value` as inline Markdown that shows exactly its characters, on one line:
    newlines become <br>, `|` becomes `\\|` (a table cell's escape, harmless elsewhere)."""
    source = str(value).replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for position, char in enumerate(source):
        if char in _HTML:
            out.append(_HTML[char])
        elif char == "\n":
            out.append("<br>")
        elif char in _PUNCTUATION:
            out.append("\\" + char)
        elif char == "_" and not _inside_word(source, position):
            # An underscore between two letters never starts emphasis: film_id stays readable.
            out.append("\\_")
        else:
            out.append(char)
    result = "".join(out)
    stripped = result.lstrip(" ")
    if len(stripped) != len(result):
        # Leading spaces would make an indented code block or vanish.
        result = "&#32;" * (len(result) - len(stripped)) + stripped
    match = _LIST_START.match(result)
    if match:
        # A line starting `- `, `1. ` or `=` would become a list or a heading underline.
        end = match.end()
        result = result[: end - 1] + "\\" + result[end - 1 :]
    return result


def _inside_word(source: str, position: int) -> bool:
    return (
        0 < position < len(source) - 1 and source[position - 1].isalnum() and source[position + 1].isalnum()
    )


def code(value: object) -> str:
    """`value` in <code>, escaped like `text`: a backtick code span could neither hold a
    newline in a table nor show `\\|` as `|` outside one."""
    return f"<code>{text(value)}</code>"


def fence(value: str) -> str:
    """A fence longer than any run of backticks in `value`, for a ```sql block."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    return "`" * max(3, longest + 1)


def row(cells: Iterable[object]) -> str:
    """One GFM table row of already escaped cells."""
    return "| " + " | ".join(str(c) if str(c) else " " for c in cells) + " |"


_FENCE_OPEN = re.compile(r"(`{3,})sql")


def tidy(markdown: str) -> str:
    """`markdown` with runs of blank lines cut to one, except inside ```sql blocks (a view's
    definition keeps its blank lines). The template's conditional sections leave them."""
    out: list[str] = []
    fence_line: str | None = None
    for line in markdown.split("\n"):
        if fence_line is not None:
            out.append(line)
            if line == fence_line:
                fence_line = None
            continue
        match = _FENCE_OPEN.fullmatch(line)
        if match:
            fence_line = match.group(1)
        if line == "" and out and out[-1] == "":
            continue
        out.append(line)
    return "\n".join(out)
