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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nself.errors import NselfError
from nself.ir.names import qualified_name, quote_ident
from nself.runtime.copy_out import receive

if TYPE_CHECKING:
    import psycopg
    import pyarrow as pa

BATCH_ROWS = 50_000  # one row group per batch (through a cursor)
CHUNK_BYTES = 8 << 20  # one row group per chunk of PostgreSQL's CSV (through COPY)
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
    if any(row[3] == "A" for row in rows if str(row[0]) in checks):
        probe = True  # whether an array column is a list depends on its rows
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
    regclass = qualified_name(schema, table, always=True)
    columns = _plan_columns(conn, regclass, probe=False)
    for attempt in range(2):
        if not columns or not all(_csv_readable(pa, c.arrow) for c in columns):
            break
        try:
            # No savepoint needed: a value the reader refuses leaves the COPY read to its end.
            return _export_via_csv(conn, regclass, columns, order, path)
        except pa.ArrowInvalid:
            if attempt == 0:
                columns = _plan_columns(conn, regclass, probe=True)
    return _export_via_cursor(conn, regclass, _plan_columns(conn, regclass, probe=True), order, path)


def _export_via_csv(
    conn: psycopg.Connection[Any], regclass: str, columns: list[ColumnPlan], order: str, path: Path
) -> int:
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    pa = _pyarrow()
    if conn.info.parameter_status("TimeZone") != "UTC":  # reported by the server: no query
        conn.execute("SET LOCAL TimeZone = 'UTC'")  # until the export's transaction ends
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
    read_options = pcsv.ReadOptions(column_names=names, use_threads=False)
    # A one-column row holding NULL is an empty line: a row, not nothing.
    parse_options = pcsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False)
    convert_options = pcsv.ConvertOptions(
        column_types=read_types,
        null_values=[""],  # PostgreSQL writes NULL as an empty unquoted field...
        quoted_strings_can_be_null=False,  # ...and an empty string as ""
        strings_can_be_null=True,
        true_values=["t"],
        false_values=["f"],
    )
    # Dictionary pages only for the enums (already dictionaries): for other columns they cost
    # more time than snappy needs for the same repeats.
    dictionary = [c.name for c in columns if pa.types.is_dictionary(c.arrow)]

    def convert(chunk: bytearray, writer: Any) -> int:
        """One chunk of whole rows: parsed by pyarrow's C++ reader and written as a row group."""
        table = pcsv.read_csv(
            pa.BufferReader(chunk),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
        arrays = []
        for index, column in enumerate(columns):
            array = table.column(index)
            if pa.types.is_dictionary(column.arrow):
                array = pc.dictionary_encode(array).cast(column.arrow)
            elif array.type != column.arrow:
                array = array.cast(column.arrow)
            arrays.append(array)
        writer.write_table(pa.Table.from_arrays(arrays, schema=arrow_schema))
        return int(table.num_rows)

    with pa.parquet.ParquetWriter(str(path), arrow_schema, use_dictionary=dictionary or False) as writer:
        return _copy_in_chunks(conn, query, lambda chunk: convert(chunk, writer))


def _copy_in_chunks(conn: psycopg.Connection[Any], query: str, convert: Callable[[bytearray], int]) -> int:
    """Run `query` (a COPY ... TO STDOUT) and hand its output to `convert` in chunks of about
    CHUNK_BYTES of whole rows (PostgreSQL sends one row per message), on one worker thread,
    while this thread receives the next chunk: pyarrow's parsing and Parquet writing release
    the GIL, so they overlap with the receiving, and the worker needs the GIL only a few
    times per chunk. (A reader thread pulling from a Python file instead would contend for
    the GIL with the receiving loop on every read.) Returns the sum of `convert`'s results.
    A failure in `convert` stops the conversions; the COPY is still read to its end, so the
    transaction stays usable, and the failure is raised."""
    from concurrent.futures import Future, ThreadPoolExecutor

    total = 0
    failure: BaseException | None = None
    pending: list[Future[int]] = []

    def settle(keep: int) -> None:
        nonlocal total, failure
        while len(pending) > keep:
            future = pending.pop(0)
            try:
                total += future.result()
            except BaseException as exc:
                failure = failure or exc

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="nself-parquet") as worker:
        with conn.cursor() as cursor, cursor.copy(query):
            ended = False
            while not ended:
                # One wait per chunk instead of one per row (nself.runtime.copy_out): half
                # the client's time for a COPY's many small messages. Each row is copied
                # into the chunk at once, so its buffer is freed and its memory reused.
                chunk = bytearray()
                ended = conn.wait(receive(conn.pgconn, CHUNK_BYTES, conn.info.encoding, chunk.extend))
                if chunk and failure is None:
                    settle(1)  # at most two chunks converting or waiting: bounded memory
                    pending.append(worker.submit(convert, chunk))
                del chunk
        settle(0)
    if failure is not None:
        raise failure
    return total


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
    cols = ", ".join(quote_ident(c, always=True) for c in names)
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
