"""The terminal table of `db query`: rows laid out in batches as psql does with FETCH_COUNT,
each batch sized to its own widest values, and written as lines of text as soon as the
batch is read (rich's Table measures and wraps every cell: a hundred times slower, and it
would build the whole result before printing). The layout is rich's HEAVY_HEAD box, the
look of nself's other tables; a line wider than the terminal is left to the terminal to
wrap, as psql leaves it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO

from rich.cells import cell_len

Row = Sequence[str | None]

# Rows per table, as psql's FETCH_COUNT: each batch is laid out on its own, so that memory
# holds one batch, not the whole result, and the first rows show before the last are read.
TABLE_BATCH = 1000

NULL = "NULL"


@dataclass(frozen=True)
class Box:
    """The characters of one box style: top, header row, header rule, rows, bottom."""

    top: tuple[str, str, str, str]  # left, line, between, right
    head: tuple[str, str, str]  # left, between, right
    rule: tuple[str, str, str, str]
    row: tuple[str, str, str]
    bottom: tuple[str, str, str, str]


HEAVY_HEAD = Box(
    ("┏", "━", "┳", "┓"), ("┃", "┃", "┃"), ("┡", "━", "╇", "┩"), ("│", "│", "│"), ("└", "─", "┴", "┘")
)
ASCII = Box(
    ("+", "-", "+", "+"), ("|", "|", "|"), ("+", "-", "+", "+"), ("|", "|", "|"), ("+", "-", "+", "+")
)


@dataclass(frozen=True)
class Style:
    """ANSI sequences around the header and NULL (empty when the output has no colour)."""

    header: tuple[str, str] = ("", "")
    null: tuple[str, str] = ("", "")


COLOUR = Style(header=("\x1b[1m", "\x1b[0m"), null=("\x1b[2m", "\x1b[0m"))


def width(text: str) -> int:
    """Terminal cells `text` takes (East Asian wide characters count two)."""
    return len(text) if text.isascii() else cell_len(text)


def write_tables(
    out: IO[str], names: Sequence[str], rows: Iterable[Row], *, box: Box = HEAVY_HEAD, style: Style = Style()
) -> int:
    """Write `rows` under `names` as tables of TABLE_BATCH rows each (one table, empty, when
    there are no rows) and return how many rows there were."""
    total = 0
    for batch in _batches(rows):
        out.write(_table(names, batch, box, style))
        total += len(batch)
    if total == 0:
        out.write(_table(names, [], box, style))
    return total


def _batches(rows: Iterable[Row]) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == TABLE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _lines(value: str) -> list[str]:
    """A value's lines as the terminal shows them (tabs to spaces, as rich's Text does)."""
    if "\t" in value:
        value = value.expandtabs(8)
    return value.split("\n") if "\n" in value else [value]


def _table(names: Sequence[str], rows: list[Row], box: Box, style: Style) -> str:
    values = [v for row in rows for v in row if v is not None]
    joined = "".join([*values, *names])
    if joined.isascii() and "\n" not in joined and "\t" not in joined:
        return _plain_table(names, rows, box, style)
    return _any_table(names, rows, box, style)


def _plain_table(names: Sequence[str], rows: list[Row], box: Box, style: Style) -> str:
    """The common batch: one line per value, one cell per character (ASCII without tabs)."""
    widths = [len(name) for name in names]
    for i, column in enumerate(zip(*rows, strict=True)):
        present = [v for v in column if v is not None]
        longest = max(map(len, present), default=0)
        if len(present) < len(column):
            longest = max(longest, len(NULL))
        widths[i] = max(widths[i], longest)
    on, off = style.null
    nulls = [f" {on}{NULL}{off}{' ' * (w - len(NULL))} " for w in widths]
    left, between, right = box.row
    head_on, head_off = style.header
    head_left, head_between, head_right = box.head
    parts = [_rule(box.top, widths)]
    parts.append(
        head_left
        + head_between.join(
            f" {head_on}{n}{head_off}{' ' * (w - len(n))} " for n, w in zip(names, widths, strict=True)
        )
        + head_right
        + "\n"
    )
    parts.append(_rule(box.rule, widths))
    for row in rows:
        parts.append(
            left
            + between.join(
                nulls[i] if v is None else " " + v.ljust(widths[i]) + " " for i, v in enumerate(row)
            )
            + right
            + "\n"
        )
    parts.append(_rule(box.bottom, widths))
    return "".join(parts)


def _any_table(names: Sequence[str], rows: list[Row], box: Box, style: Style) -> str:
    # Each cell as its lines (a value may hold newlines); None stays None (shown as NULL).
    cells = [[None if v is None else _lines(v) for v in row] for row in rows]
    heads = [_lines(name) for name in names]
    widths = [max(width(line) for line in head) for head in heads]
    null_width = width(NULL)
    for row_cells in cells:
        for i, cell in enumerate(row_cells):
            w = null_width if cell is None else max(width(line) for line in cell)
            if w > widths[i]:
                widths[i] = w
    parts: list[str] = [_rule(box.top, widths)]
    parts.extend(_row(heads, widths, box.head, style.header, style))
    parts.append(_rule(box.rule, widths))
    for row_cells in cells:
        parts.extend(_row(row_cells, widths, box.row, ("", ""), style))
    parts.append(_rule(box.bottom, widths))
    return "".join(parts)


def _rule(chars: tuple[str, str, str, str], widths: list[int]) -> str:
    left, line, between, right = chars
    return left + between.join(line * (w + 2) for w in widths) + right + "\n"


def _row(
    cells: Sequence[list[str] | None],
    widths: list[int],
    chars: tuple[str, str, str],
    around: tuple[str, str],
    style: Style,
) -> Iterator[str]:
    """The lines of one row: as many as its tallest cell."""
    left, between, right = chars
    height = max((1 if cell is None else len(cell)) for cell in cells) if cells else 1
    for n in range(height):
        fields = []
        for cell, w in zip(cells, widths, strict=True):
            if cell is None:
                text, on, off = (NULL, *style.null) if n == 0 else ("", "", "")
            else:
                text = cell[n] if n < len(cell) else ""
                on, off = around
            pad = w - width(text)
            fields.append(f" {on}{text}{off}{' ' * pad} " if on else f" {text}{' ' * pad} ")
        yield left + between.join(fields) + right + "\n"
