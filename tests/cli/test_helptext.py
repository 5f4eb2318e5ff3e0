"""Help text laid out by the terminal: prose paragraphs are one line for rich to wrap, so an
80-column terminal shows filled lines, not the docstring's 95-column lines wrapped again."""

from __future__ import annotations

import itertools
from pathlib import Path

from nself.cli.helptext import reflowed
from tests.clitools import run_nself

DOC = """First line.

    A paragraph of prose
    written over three
    lines.

    Examples:

      nself schema diagram > schema.mmd

      nself schema diagram --open

    - a list item
      that continues
    - another
"""


def test_prose_paragraphs_become_one_line_and_the_rest_is_kept() -> None:
    assert reflowed(DOC) == (
        "First line.\n\n"
        "A paragraph of prose written over three lines.\n\n"
        "Examples:\n\n"
        "  nself schema diagram > schema.mmd\n\n"
        "  nself schema diagram --open\n\n"
        "- a list item\n  that continues\n- another"
    )
    assert reflowed(None) is None
    assert reflowed("") == ""


def test_an_80_column_terminal_shows_filled_lines(tmp_path: Path) -> None:
    result = run_nself("schema", "diagram", "--help", cwd=tmp_path, env={"COLUMNS": "80"})
    assert result.code == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("Every table and view"))
    paragraph = lines[start : lines.index("", start)]
    assert len(paragraph) > 3
    # each line but the last is full: the next line's first word would not have fitted on it
    for line, following in itertools.pairwise(paragraph):
        assert len(line) + 1 + len(following.split()[0]) > 78 - 2, (line, following)
