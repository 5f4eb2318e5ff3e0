"""Rows in flight: COPY's text format read, transformed and written back, one block at a time.

Only the fields of configured columns are decoded; every other field passes through as the
bytes PostgreSQL wrote, so unconfigured columns arrive byte-identical."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from nself.runtime.anonymize.plan import TablePlan

_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|(.))", re.DOTALL)
_SIMPLE = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"v": b"\v"}
NULL = b"\\N"


def _unescape(match: re.Match[bytes]) -> bytes:
    octal, hexa, char = match.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if hexa is not None:
        return bytes([int(hexa, 16)])
    return _SIMPLE.get(char, char)


def decode_field(raw: bytes) -> str | None:
    if raw == NULL:
        return None
    if b"\\" in raw:
        raw = _ESCAPE.sub(_unescape, raw)
    return raw.decode("utf-8")


def encode_field(value: str | None) -> bytes:
    if value is None:
        return NULL
    if "\\" not in value and value.isprintable():  # no tab, newline or carriage return either
        return value.encode("utf-8")
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .encode("utf-8")
    )


class RowTransformer:
    """Applies a table's plan to COPY text rows laid out as `columns` followed by one
    boolean field per `where` condition (dropped on the way out)."""

    def __init__(self, plan: TablePlan, columns: list[str]) -> None:
        self.width = len(columns)
        self.steps = [(columns.index(name), transform.rules) for name, transform in plan.transforms.items()]
        self.has_flags = bool(plan.wheres)

    def row(self, line: bytes) -> bytes:
        fields = line.split(b"\t")
        width = self.width
        for index, rules in self.steps:
            for flag, mapper in rules:
                if flag is None or fields[width + flag] == b"t":
                    fields[index] = encode_field(mapper(decode_field(fields[index])))
                    break
        if self.has_flags:
            del fields[width:]
        return b"\t".join(fields)

    def rows(self, block: bytes) -> bytes:
        """`block` holds whole lines, each ending in a newline."""
        lines = block.split(b"\n")
        lines.pop()  # after the last newline
        row = self.row
        return b"\n".join([row(line) for line in lines]) + b"\n"


BLOCK = 1 << 18


def whole_lines(chunks: Iterable[bytes | bytearray | memoryview]) -> Iterator[bytes]:
    """COPY's chunks (psycopg yields one row per chunk) regrouped into blocks of about
    BLOCK bytes that hold whole rows (a newline inside a value is written as \\n, so every
    raw newline ends a row)."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        piece = bytes(chunk)
        parts.append(piece)
        size += len(piece)
        if size >= BLOCK and piece.endswith(b"\n"):
            yield b"".join(parts)
            parts, size = [], 0
    if parts:
        data = b"".join(parts)
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        if cut < len(data):
            yield data[cut:] + b"\n"
