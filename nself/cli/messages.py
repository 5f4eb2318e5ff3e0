"""The lines a command writes on stderr beside its output: warnings and notes, through one
rich console (colours on a terminal). rich is imported when the first line is written, so a
command that has nothing to say does not load it (nself.cli.quick)."""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@cache
def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


# What rich would change in a line written to a file: markup and emoji codes, tabs, control
# characters. A line without them is written as it is when rich would write it plainly.
_RICH_TEXT = re.compile(r"[\[\]\\\t\x00-\x09\x0b-\x1f\x7f]|:\S")


def _plain_stderr() -> bool:
    """rich would write stderr without colours or styles: no terminal, none asked for."""
    if any(name in os.environ for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "JUPYTER_COLUMNS")):
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return isatty is not None and not isatty()


def warn(*messages: str) -> None:
    """`warning: MESSAGE`, one line each, printed at once (rich takes about a millisecond per
    print: a diff may warn of hundreds of destructive statements). To a file or a pipe, lines
    rich would write as they are skip it (importing rich is 15 ms of a command's start-up)."""
    if messages and _plain_stderr() and not any(_RICH_TEXT.search(m) for m in messages):
        sys.stderr.write("".join(f"warning: {message}\n" for message in messages))
        sys.stderr.flush()
    elif messages:
        err_console().print(
            "\n".join(f"[yellow]warning:[/yellow] {message}" for message in messages), markup=True
        )


def note(message: str) -> None:
    err_console().print(message)


def write_output(text: str, output: Path | None, stdout: Callable[[str], None] | None = None) -> None:
    """Write `text` to `output` (saying so on stderr), or without it to stdout: with
    `stdout`, else as it is, ending in a newline."""
    if output is None:
        if stdout is not None:
            stdout(text)
        else:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    note(f"wrote {output}")


def show_source_warnings() -> None:
    """Print every SourceWarning raised while the command runs (nself.errors) on stderr as
    `warning: MESSAGE`, one line each; other warnings as Python shows them."""
    from nself.errors import SourceWarning

    shown = warnings.showwarning
    if getattr(shown, "nself_source_warnings", False):
        return

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, SourceWarning):
            sys.stderr.write(f"warning: {' '.join(str(message).split())}\n")
            sys.stderr.flush()
        else:
            shown(message, category, *args, **kwargs)

    show.nself_source_warnings = True  # type: ignore[attr-defined]
    warnings.showwarning = show
    warnings.simplefilter("always", SourceWarning)
