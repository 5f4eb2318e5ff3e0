"""Reading the user's text files (migrations, DBML, IR JSON, nself.toml, YAML, seeds): one
function, so every format reports an unreadable file or a byte that is not UTF-8 the same way,
as `file:line:col`, instead of a UnicodeDecodeError traceback."""

from __future__ import annotations

from pathlib import Path

from nself.errors import SourceError, position_of


def read_user_text(path: Path) -> str:
    """The text of `path`, decoded as UTF-8 (a leading byte-order mark is dropped)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(path, None, None, f"cannot read: {exc.strerror or exc}") from None
    return decode_user_text(data, path)


def decode_user_text(data: bytes, path: Path | str | None) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        good = data[: exc.start].decode("utf-8-sig", errors="replace")
        line, col = position_of(good, len(good))
        raise SourceError(
            path, line, col, f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded"
        ) from None


def deepest_nesting(text: str) -> tuple[int, int]:
    """(line, column) where brackets nest deepest: where a parser that recursed once per level
    gave up. Strings are not told apart; the position is only for the message."""
    depth = deepest = at = 0
    for offset, char in enumerate(text):
        depth += char in "[{"
        depth -= char in "]}"
        if depth > deepest:
            deepest, at = depth, offset
    return position_of(text, at)
