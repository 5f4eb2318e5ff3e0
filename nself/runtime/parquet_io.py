"""Parquet for `nself data export --format parquet` and `nself data import`: one file per
table, written in row groups as the rows stream from a server-side cursor, with Arrow types
from the column types:

    smallint/integer/bigint  int16/int32/int64      real/double    float32/float64
    numeric(p,s) (p <= 38)   decimal128(p,s)        boolean        bool
    text, varchar, char      string                 bytea          binary
    date                     date32                 time           time64[us]
    timestamp                timestamp[us]          timestamptz    timestamp[us, tz=UTC]
    enum                     dictionary<int32, string>
    one-dimensional arrays   list<element type>     (arrays of the types above)
    anything else            string: PostgreSQL's own text form (json, jsonb, uuid,
                             numeric without precision, interval, ranges, composites, ...)

PostgreSQL's text form is the fallback because PostgreSQL reads it back exactly."""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from nself.errors import NselfError
from nself.runtime.data_io import qualified, quote_ident

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

BATCH_ROWS = 50_000  # one row group per batch
# In every file nself writes: import reads those itself, and other Parquet files with DuckDB
# (nself.runtime.foreign_io).
MARKER = {b"nself": b"1"}

COLUMN_TYPES_SQL = """
SELECT a.attname,
       b.typname, b.typtype, b.typcategory,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END AS typmod,
       e.typname AS elem, e.typtype AS elem_type
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


class ParquetError(NselfError):
    """A Parquet file that cannot be written or read (the message names the file)."""


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise NselfError("Parquet needs pyarrow: pip install 'pyarrow>=15'") from None
    return pyarrow


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    select: str  # the expression in the SELECT list
    arrow: pa.DataType


def _scalar_type(pa: Any, name: str, typtype: str, typmod: int) -> Any:
    simple = {
        "int2": pa.int16(),
        "int4": pa.int32(),
        "int8": pa.int64(),
        "float4": pa.float32(),
        "float8": pa.float64(),
        "bool": pa.bool_(),
        "text": pa.string(),
        "varchar": pa.string(),
        "bpchar": pa.string(),
        "name": pa.string(),
        "bytea": pa.binary(),
        "date": pa.date32(),
        "time": pa.time64("us"),
        "timestamp": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", tz="UTC"),
    }
    if typtype == "e":
        return pa.dictionary(pa.int32(), pa.string())
    if name == "numeric" and typmod >= 4:
        precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
        if 0 < precision <= 38 and scale <= precision:
            return pa.decimal128(precision, scale)
        return None
    return simple.get(name)


def _plan_columns(conn: psycopg.Connection[Any], regclass: str, *, probe: bool) -> list[ColumnPlan]:
    """The Arrow type and SELECT expression of each column. Some depend on the rows: an
    array column is a list only when every value is one-dimensional from 1, a date or
    timestamp column only without infinity, a numeric(p,s) column only without NaN. With
    `probe`, one scan of the table answers all of those; without it, arrays are taken as
    text and the others as their type (export_table tries that first: PostgreSQL's CSV
    output holding infinity or NaN makes pyarrow's reader fail, and then it probes)."""
    pa = _pyarrow()
    rows = conn.execute(COLUMN_TYPES_SQL, (regclass,)).fetchall()
    checks: dict[str, str] = {}
    for name, typname, _typtype, category, typmod, elem, elem_type in rows:
        ident = quote_ident(str(name))
        if category == "A" and elem is not None:
            inner = _scalar_type(pa, str(elem), str(elem_type), -1)
            if inner is not None and not pa.types.is_decimal(inner):
                checks[str(name)] = (
                    f"coalesce(bool_and(array_ndims({ident}) = 1 AND array_lower({ident}, 1) = 1), true)"
                )
        elif typname in ("date", "timestamp", "timestamptz"):
            checks[str(name)] = f"coalesce(bool_and(isfinite({ident})), true)"
        elif typname == "numeric" and int(typmod) >= 4:
            checks[str(name)] = f"NOT coalesce(bool_or({ident} = 'NaN'), false)"
    fits: dict[str, bool] = {}
    if probe and checks:
        found = conn.execute(f"SELECT {', '.join(checks.values())} FROM {regclass}").fetchone()
        fits = dict(zip(checks, found or (), strict=True))
    plans: list[ColumnPlan] = []
    for name, typname, typtype, category, typmod, elem, elem_type in rows:
        ident = quote_ident(str(name))
        arrow = None
        fit = fits.get(str(name), not probe or str(name) not in checks)
        if category == "A" and elem is not None:
            inner = _scalar_type(pa, str(elem), str(elem_type), -1)
            if inner is not None and not pa.types.is_decimal(inner) and probe and fit:
                arrow = pa.list_(inner.value_type if pa.types.is_dictionary(inner) else inner)
                select = f"{ident}::text[]" if pa.types.is_dictionary(inner) else ident
        else:
            arrow = _scalar_type(pa, str(typname), str(typtype), int(typmod))
            select = f"{ident}::text" if arrow is not None and pa.types.is_dictionary(arrow) else ident
            if not fit:
                arrow = None  # infinity or NaN: the column keeps its text form
        if arrow is None:
            arrow, select = pa.string(), f"{ident}::text"
        plans.append(ColumnPlan(str(name), select, arrow))
    return plans


def _has_arrays(conn: psycopg.Connection[Any], regclass: str) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped AND b.typcategory = 'A')",
        (regclass,),
    ).fetchone()
    return bool(row and row[0])


def _csv_readable(pa: Any, arrow: Any) -> bool:
    """Types pyarrow's C++ CSV reader parses from PostgreSQL's CSV output."""
    return bool(
        pa.types.is_integer(arrow)
        or pa.types.is_floating(arrow)
        or pa.types.is_decimal(arrow)
        or pa.types.is_string(arrow)
        or pa.types.is_boolean(arrow)
        or pa.types.is_date32(arrow)
        or pa.types.is_timestamp(arrow)
        or pa.types.is_dictionary(arrow)
    )


def export_table(conn: psycopg.Connection[Any], schema: str, table: str, order: str, path: Path) -> int:
    """Write `schema.table` to `path` (inside the caller's snapshot); the number of rows.

    When every column has a type pyarrow's CSV reader parses, the rows travel as
    `COPY ... (FORMAT csv)` through a pipe into that reader (no Python object per value),
    first without scanning the table for infinity or NaN (`_plan_columns`); if the reader
    refuses a value, the table is probed and exported again; a table with arrays, or whose
    columns pyarrow's CSV reader cannot parse, goes through a cursor."""
    pa = _pyarrow()
    regclass = qualified(schema, table)
    for probe in (False, True):
        if not probe and _has_arrays(conn, regclass):
            continue  # whether they are lists depends on the rows: probe first
        columns = _plan_columns(conn, regclass, probe=probe)
        if not columns or not all(_csv_readable(pa, c.arrow) for c in columns):
            break
        try:
            with conn.transaction():  # a savepoint: the next attempt can still run after a failure
                return _export_via_csv(conn, regclass, columns, order, path)
        except pa.ArrowInvalid:
            continue
    return _export_via_cursor(conn, regclass, _plan_columns(conn, regclass, probe=True), order, path)


def _export_via_csv(
    conn: psycopg.Connection[Any], regclass: str, columns: list[ColumnPlan], order: str, path: Path
) -> int:
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    pa = _pyarrow()
    conn.execute("SET LOCAL TimeZone = 'UTC'")
    selects = []
    read_types = {}
    for column in columns:
        if pa.types.is_timestamp(column.arrow) and column.arrow.tz is not None:
            selects.append(f"({column.select} AT TIME ZONE 'UTC')")  # a UTC wall clock, no offset to parse
            read_types[column.name] = pa.timestamp("us")
        elif pa.types.is_dictionary(column.arrow):
            selects.append(column.select)
            read_types[column.name] = pa.string()
        else:
            selects.append(column.select)
            read_types[column.name] = column.arrow
    names = [c.name for c in columns]
    arrow_schema = pa.schema([pa.field(c.name, c.arrow) for c in columns], metadata=MARKER)
    query = f"COPY (SELECT {', '.join(selects)} FROM {regclass}{order}) TO STDOUT (FORMAT csv)"
    with _copy_stream(conn, query) as stream:
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 22),
            # A one-column row holding NULL is an empty line: a row, not nothing.
            parse_options=pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types=read_types,
                null_values=[""],  # PostgreSQL writes NULL as an empty unquoted field...
                quoted_strings_can_be_null=False,  # ...and an empty string as ""
                strings_can_be_null=True,
                true_values=["t"],
                false_values=["f"],
            ),
        )
        rows = 0
        # Dictionary pages only for the enums (already dictionaries): for other columns they cost
        # more time than snappy needs for the same repeats.
        dictionary = [c.name for c in columns if pa.types.is_dictionary(c.arrow)]
        with pa.parquet.ParquetWriter(str(path), arrow_schema, use_dictionary=dictionary or False) as writer:
            for batch in reader:
                arrays = []
                for index, column in enumerate(columns):
                    array = batch.column(index)
                    if pa.types.is_dictionary(column.arrow):
                        array = pc.dictionary_encode(array).cast(column.arrow)
                    elif array.type != column.arrow:
                        array = array.cast(column.arrow)
                    arrays.append(array)
                writer.write_table(pa.Table.from_arrays(arrays, schema=arrow_schema))
                rows += batch.num_rows
    return rows


class _ChunkReader(io.RawIOBase):
    """A file to read what a producer thread puts into `chunks` (bytes; None at the end)."""

    def __init__(self, chunks: queue.Queue[bytes | None]) -> None:
        super().__init__()
        self._chunks = chunks
        self._buffer = bytearray()
        self._ended = False

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        wanted = -1 if size is None else size
        while not self._ended and (wanted < 0 or len(self._buffer) < wanted):
            chunk = self._chunks.get()
            if chunk is None:
                self._ended = True
            else:
                self._buffer += chunk
        count = len(self._buffer) if wanted < 0 else min(wanted, len(self._buffer))
        out = bytes(self._buffer[:count])
        del self._buffer[:count]
        return out


@contextlib.contextmanager
def _copy_stream(conn: psycopg.Connection[Any], query: str) -> Iterator[BinaryIO]:
    """The output of `query` (a COPY ... TO STDOUT) as a file to read, filled by a thread
    while the caller reads: PostgreSQL producing, psycopg receiving (which holds the GIL)
    and pyarrow parsing and writing Parquet (which releases it) overlap, instead of
    following each other through a spool file. The rows travel in chunks of about 1 MiB
    through a bounded queue (a few MiB in memory at most). The COPY is read to its end even
    when the caller stops early, so the connection stays usable."""
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
    stopped = threading.Event()
    failure: list[BaseException] = []

    def put(item: bytes | None) -> None:
        while not stopped.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            with conn.cursor() as cursor, cursor.copy(query) as copy:
                parts: list[bytes] = []
                size = 0
                for chunk in copy:
                    if stopped.is_set():
                        continue  # the reader gave up: drain the COPY
                    parts.append(chunk)  # type: ignore[arg-type]  # bytes or memoryview: join takes both
                    size += len(chunk)
                    if size >= 1 << 20:
                        put(b"".join(parts))
                        parts, size = [], 0
                if parts:
                    put(b"".join(parts))
        except BaseException as exc:
            failure.append(exc)
        finally:
            put(None)

    thread = threading.Thread(target=produce, name="nself-copy-out", daemon=True)
    thread.start()
    try:
        yield _ChunkReader(chunks)  # type: ignore[misc]
    finally:
        stopped.set()
        thread.join()
        if failure:
            raise failure[0]


def _export_via_cursor(
    conn: psycopg.Connection[Any], regclass: str, columns: list[ColumnPlan], order: str, path: Path
) -> int:
    pa = _pyarrow()
    arrow_schema = pa.schema([pa.field(c.name, c.arrow) for c in columns], metadata=MARKER)
    rows = 0
    select = ", ".join(c.select for c in columns) or "NULL"
    with (
        conn.cursor(name="nself_parquet") as cursor,
        pa.parquet.ParquetWriter(str(path), arrow_schema) as writer,
    ):
        cursor.itersize = BATCH_ROWS
        cursor.execute(f"SELECT {select} FROM {regclass}{order}")
        while batch := cursor.fetchmany(BATCH_ROWS):
            arrays = [
                pa.array([row[i] for row in batch], type=column.arrow) for i, column in enumerate(columns)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=arrow_schema))
            rows += len(batch)
    return rows


def _open(path: Path) -> Any:
    pa = _pyarrow()
    try:
        return pa.parquet.ParquetFile(str(path))
    except (OSError, pa.ArrowInvalid) as exc:
        raise ParquetError(f"{path}: not a Parquet file ({' '.join(str(exc).split())})") from None


def parquet_columns(path: Path) -> list[str]:
    return list(_open(path).schema_arrow.names)


def load_into_temp(conn: psycopg.Connection[Any], path: Path, regclass: str) -> list[str]:
    """COPY the file's rows into pg_temp.nself_import, a table of the target's columns the file
    names, with their types: PostgreSQL checks every value. Returns the file's column names."""
    parquet = _open(path)
    names = list(parquet.schema_arrow.names)
    cols = ", ".join(quote_ident(c) for c in names)
    conn.execute("DROP TABLE IF EXISTS pg_temp.nself_import")
    conn.execute(f"CREATE TEMP TABLE nself_import AS SELECT {cols} FROM {regclass} WITH NO DATA")
    # Columns the file holds as text are read as text and converted by PostgreSQL's input
    # functions; the others arrive as Python values psycopg adapts.
    with conn.cursor() as cursor, cursor.copy(f"COPY pg_temp.nself_import ({cols}) FROM STDIN") as copy:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for row in zip(*columns, strict=True):
                copy.write_row(row)
    return names
