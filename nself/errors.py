"""Errors a user can act on. The CLI prints each in one line (no traceback unless --debug)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class NselfError(Exception):
    """Base of every error that is the user's input or environment, not a bug in nself."""

    def one_line(self) -> str:
        return " ".join(str(self).split())


@dataclass
class SourceError(NselfError):
    """Bad input at a position in a file: printed as `file:line:col: message`."""

    file: str | Path | None
    line: int | None
    col: int | None
    message: str

    def __post_init__(self) -> None:
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = str(self.file) if self.file else "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        return f"{where}: {' '.join(self.message.split())}"

    def __str__(self) -> str:
        return self.one_line()


class SourceWarning(UserWarning):
    """Something in a user's file that nself went past but the user should know of (a
    statement not modelled, an expression not canonicalised): one line naming file:line.
    Raised with warnings.warn; the CLI prints each on stderr as `warning: MESSAGE`."""


class OptionError(NselfError):
    """A command-line option or operand that cannot be used; names the option."""


class ConnectionFailed(NselfError):
    """A server that cannot be reached. The message never contains a password."""


class ProductionGuardError(NselfError):
    """A destructive command refused on an environment marked production."""


def database_error_line(exc: BaseException) -> str | None:
    """PostgreSQL's own words for a server error, in one line: the primary message, where in the
    statement it points, the detail and hint, and the SQLSTATE. None when `exc` is not a psycopg
    error (recognised without importing psycopg, which start-up does not load)."""
    if not type(exc).__module__.startswith("psycopg"):
        return None
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    if not primary:
        return " ".join(str(exc).split()) or type(exc).__name__
    parts = [primary]
    position = getattr(diag, "statement_position", None)
    if position:
        parts.append(f"at character {position}")
    for label in ("message_detail", "message_hint"):
        extra = getattr(diag, label, None)
        if extra:
            parts.append(f"{label.removeprefix('message_')}: {extra}")
    sqlstate = getattr(diag, "sqlstate", None)
    line = "; ".join(parts)
    return " ".join((f"{line} (SQLSTATE {sqlstate})" if sqlstate else line).split())


def position_of(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def line_containing(text: str, needle: str) -> int | None:
    """1-based number of the first line of `text` that contains `needle`: where a value
    read by a parser without positions (TOML, YAML mappings) was written."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None
