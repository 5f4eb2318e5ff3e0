"""nself.cli.messages.warn writes what rich writes: to a file or a pipe, lines rich would
leave as they are skip rich; the others (markup, emoji codes, tabs, control characters) and
a terminal go through it."""

from __future__ import annotations

import contextlib
import io

import pytest

from nself.cli import messages

LINES = [
    "destructive: drops column audit.t00058.t00057_id and its values",
    "billing.t00013: columns stay in the order (id, code, name), not (id, name, code): ALTER TABLE cannot reorder columns",
    "a type integer[] and a cast 'x'::text",
    "an emoji code :smile: and a tab\there",
    "markup [bold]bold[/bold] and a backslash \\[x]",
    "two\nlines",
    "trailing space ",
    "unicode: é → ✓",
]


def through_rich(lines: list[str]) -> str:
    sink = io.StringIO()
    with contextlib.redirect_stderr(sink):
        messages.err_console().print("\n".join(f"[yellow]warning:[/yellow] {m}" for m in lines), markup=True)
    return sink.getvalue()


def through_warn(lines: list[str]) -> str:
    sink = io.StringIO()
    with contextlib.redirect_stderr(sink):
        messages.warn(*lines)
    return sink.getvalue()


@pytest.mark.parametrize("line", LINES)
def test_plain_lines_as_rich_writes_them(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    assert through_warn([line]) == through_rich([line])
    assert through_warn([line, LINES[0]]) == through_rich([line, LINES[0]])


def test_which_lines_skip_rich() -> None:
    plain = [line for line in LINES if not messages._RICH_TEXT.search(line)]
    assert plain == [LINES[0], LINES[1], LINES[5], LINES[6], LINES[7]]
