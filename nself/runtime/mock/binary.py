"""Rows in COPY's binary format, built a block of columns at a time.

The server reads binary COPY with a length per field instead of scanning every byte for
delimiters and escapes, and takes integers, booleans and timestamps without parsing their
text: for the plan's users/posts/comments rows it spends less than half the CPU of the same
rows in text (bench/bench_mock.py). Only the types whose binary form is simple are written
this way (`KINDS`); a table with a column of any other type is written in text.

Every value reaches the server as the same datum the text form gives: text types are sent
as their UTF-8 bytes (the same receive function pads `character(n)` and checks
`varchar(n)`), integers as big-endian integers, booleans as one byte, timestamps as
microseconds and dates as days since 2000-01-01, which is what the text form names.

A block is laid out without a loop over its rows in Python: the fixed-width fields of all
rows are one numpy record array, cut into one `bytes` per row by numpy, and the rows are
one `bytes.join` over those and the text values."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from nself.runtime.mock.values import Joined, cut

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
TRAILER = b"\xff\xff"

# pg_catalog's type name -> how its values are written. Text kinds take str values; the
# others take numpy arrays from the typed generators.
KINDS = {
    "text": "text",
    "varchar": "text",
    "bpchar": "text",
    "int2": "int2",
    "int4": "int4",
    "int8": "int8",
    "bool": "bool",
    "timestamptz": "timestamp",
    "timestamp": "timestamp",
    "date": "date",
}
FIXED = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "bool": "u1", "timestamp": ">i8", "date": ">i4"}
_LIMITS = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1), "int8": (-(2**63), 2**63 - 1)}
_TYPE_NAMES = {"int2": "smallint", "int4": "integer", "int8": "bigint"}
_EPOCH_S = np.datetime64("2000-01-01T00:00:00", "s")
_EPOCH_D = np.datetime64("2000-01-01", "D")

Column = Sequence[str | None] | npt.NDArray[np.generic] | Joined
Nulls = npt.NDArray[np.bool_] | None
Piece = bytes | str


class BinaryValueError(ValueError):
    """A value the column's type cannot hold (the message is the server's)."""


def fixed_values(kind: str, values: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """The numbers a fixed-width kind sends for typed values."""
    if kind == "timestamp":
        return (values.astype("datetime64[s]") - _EPOCH_S).astype(np.int64) * 1_000_000
    if kind == "date":
        return (values.astype("datetime64[D]") - _EPOCH_D).astype(np.int64)
    if kind == "bool":
        return values.astype(np.uint8)
    low, high = _LIMITS[kind]
    if len(values) and (int(values.min()) < low or int(values.max()) > high):
        bad = next(int(v) for v in values.tolist() if not low <= int(v) <= high)
        raise BinaryValueError(f'value "{bad}" is out of range for type {_TYPE_NAMES[kind]}')
    return values


def _text_bytes(values: Sequence[str | None]) -> tuple[list[Piece], npt.NDArray[np.int32]]:
    """Each value's UTF-8 bytes (b"" for NULL) and its field length (-1 for NULL): one
    encode of the column joined by NUL, split again (values never hold NUL; PostgreSQL
    refuses it in text, and a value that does is encoded on its own to be refused there)."""
    present = _present(values)
    parts: list[Piece] = list("\x00".join(present).encode().split(b"\x00"))
    if len(parts) != len(present):
        parts = [v.encode() for v in present]
    return _with_nulls(values, parts, b"")


def _present(values: Sequence[str | None]) -> list[str]:
    if isinstance(values, list) and None not in values:
        return values
    return [v for v in values if v is not None]


def _with_nulls(
    values: Sequence[str | None], parts: list[Piece], empty: Piece
) -> tuple[list[Piece], npt.NDArray[np.int32]]:
    lengths = np.fromiter(map(len, parts), dtype=np.int32, count=len(parts))
    if len(parts) == len(values):
        return parts, lengths
    filled = iter(zip(parts, lengths.tolist(), strict=True))
    out_parts: list[Piece] = []
    out_lengths = np.empty(len(values), dtype=np.int32)
    for index, value in enumerate(values):
        if value is None:
            out_parts.append(empty)
            out_lengths[index] = -1
        else:
            part, length = next(filled)
            out_parts.append(part)
            out_lengths[index] = length
    return out_parts, out_lengths


def _ascii(values: Sequence[str | None] | Joined) -> bool:
    if isinstance(values, Joined):
        if values.ascii is not None:
            return values.ascii
        return values.separator.isascii() and all(all(map(str.isascii, part)) for part in values.parts)
    return all(map(str.isascii, _present(values)))


def _joined_pieces(values: Joined, count: int) -> tuple[list[list[Piece]], npt.NDArray[np.int32]]:
    """The per-row pieces of a not yet joined ASCII column, in order (parts and
    separators), and each row's length: the sum of its parts' and separators'."""
    pieces: list[list[Piece]] = []
    lengths = np.full(count, len(values.separator) * (len(values.parts) - 1), dtype=np.int32)
    for index, part in enumerate(values.parts):
        if index and values.separator:
            pieces.append([values.separator] * count)
        pieces.append(part.tolist())
        if values.lengths is None:
            lengths += np.fromiter(map(len, pieces[-1]), dtype=np.int32, count=count)
    if values.lengths is not None:
        lengths = values.lengths.astype(np.int32)
    return pieces, lengths


def encode_rows(kinds: Sequence[str], columns: Sequence[Column], nulls: Sequence[Nulls]) -> bytes:
    """The tuples of one block in COPY binary format (without the header and trailer).
    `columns[i]` holds str values (None is NULL) for a text kind and a numpy array of
    values for the others, whose NULLs are `nulls[i]` (True: NULL).

    When every text value of the block is ASCII (the usual case), the block is laid out
    as a str whose fixed-width bytes are Latin-1 characters, and encoded once as Latin-1:
    ASCII text is the same bytes in Latin-1 and UTF-8, and no value is encoded or measured
    in bytes on its own."""
    if not columns:
        raise ValueError("a row needs a column")
    count = _length(columns[0])
    as_text = all(_ascii(c) for k, c in zip(kinds, columns, strict=True) if k == "text")  # type: ignore[arg-type]
    # Fields come in segments: a run of fixed-width bytes common to every row (the field
    # count, lengths, numbers), then one row's text value, then fixed bytes again...
    fields: list[tuple[str, str]] = [("count", ">i2")]
    record: dict[str, object] = {"count": len(columns)}
    segments: list[tuple[list[tuple[str, str]], dict[str, object]] | list[Piece]] = []
    for index, (kind, values, missing) in enumerate(zip(kinds, columns, nulls, strict=True)):
        if _length(values) != count:
            raise ValueError("columns of different lengths")
        if isinstance(values, Joined) and as_text:
            joined, lengths = _joined_pieces(values, count)
            fields.append((f"l{index}", ">i4"))
            record[f"l{index}"] = lengths
            segments.append((fields, record))
            segments.extend(joined)
            fields, record = [], {}
            continue
        if isinstance(values, Joined):
            values = values.values()
        if kind == "text":
            if as_text:
                pieces, lengths = _with_nulls(values, list(_present(values)), "")  # type: ignore[arg-type]
            else:
                pieces, lengths = _text_bytes(values)  # type: ignore[arg-type]
            fields.append((f"l{index}", ">i4"))
            record[f"l{index}"] = lengths
            segments.append((fields, record))
            segments.append(pieces)
            fields, record = [], {}
            continue
        numbers = fixed_values(kind, np.asarray(values))
        width = np.dtype(FIXED[kind]).itemsize
        if missing is None or not missing.any():
            fields.extend([(f"l{index}", ">i4"), (f"v{index}", FIXED[kind])])
            record[f"l{index}"] = width
            record[f"v{index}"] = numbers
            continue
        # NULLs among fixed-width values: each row's field is its own piece.
        segments.append((fields, record))
        fields, record = [("l", ">i4"), ("v", FIXED[kind])], {"l": np.where(missing, -1, width), "v": numbers}
        whole = _segment_pieces((fields, record), count, as_text)
        null = "\xff" * 4 if as_text else b"\xff" * 4
        segments.append([null if m else w for w, m in zip(whole, missing.tolist(), strict=True)])
        fields, record = [], {}
    segments.append((fields, record))
    lists = [_segment_pieces(s, count, as_text) if isinstance(s, tuple) else s for s in segments]
    lists = [piece for piece in lists if piece]
    width = len(lists)
    parts: list[Piece] = [b""] * (width * count)
    for index, piece in enumerate(lists):
        parts[index::width] = piece
    if as_text:
        return "".join(parts).encode("latin-1")  # type: ignore[arg-type]
    return b"".join(parts)  # type: ignore[arg-type]


def _length(column: Column) -> int:
    return len(column.parts[0]) if isinstance(column, Joined) else len(column)


def _segment_pieces(
    segment: tuple[list[tuple[str, str]], dict[str, object]], count: int, as_text: bool
) -> list[Piece]:
    """Each row's bytes of a run of fixed-width fields (a str of Latin-1 characters when
    `as_text`), cut by numpy; an empty list for an empty run."""
    fields, record = segment
    if not fields or not count:
        return []
    packed = np.empty(count, dtype=fields)
    for name, value in record.items():
        packed[name] = value
    size = packed.dtype.itemsize
    if as_text:
        return cut(packed.tobytes().decode("latin-1"), size)  # type: ignore[return-value]
    return np.ascontiguousarray(packed).view(f"V{size}").tolist()  # type: ignore[no-any-return]
