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

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def _plan_columns(conn: psycopg.Connection[Any], regclass: str) -> list[ColumnPlan]:
    pa = _pyarrow()
    plans: list[ColumnPlan] = []
    for name, typname, typtype, category, typmod, elem, elem_type in conn.execute(
        COLUMN_TYPES_SQL, (regclass,)
    ).fetchall():
        ident = quote_ident(str(name))
        arrow = None
        if category == "A" and elem is not None:
            inner = _scalar_type(pa, str(elem), str(elem_type), -1)
            if inner is not None and not pa.types.is_decimal(inner):
                # A list holds one-dimensional arrays starting at 1; anything else keeps its text.
                row = conn.execute(
                    f"SELECT coalesce(bool_and(array_ndims({ident}) = 1 AND array_lower({ident}, 1) = 1), true) "
                    f"FROM {regclass}"
                ).fetchone()
                if row is not None and row[0]:
                    arrow = pa.list_(inner.value_type if pa.types.is_dictionary(inner) else inner)
                    select = f"{ident}::text[]" if pa.types.is_dictionary(inner) else ident
        else:
            arrow = _scalar_type(pa, str(typname), str(typtype), int(typmod))
            select = f"{ident}::text" if arrow is not None and pa.types.is_dictionary(arrow) else ident
            if arrow is not None and typname in ("date", "timestamp", "timestamptz"):
                # infinity has no Arrow value: such a column keeps its text form.
                row = conn.execute(f"SELECT bool_or(isfinite({ident})) IS NOT FALSE AND "
                                   f"coalesce(bool_and(isfinite({ident})), true) FROM {regclass}").fetchone()  # fmt: skip
                if row is None or not row[0]:
                    arrow = None
            if arrow is not None and pa.types.is_decimal(arrow):
                row = conn.execute(f"SELECT bool_or({ident} = 'NaN') FROM {regclass}").fetchone()
                if row is not None and row[0]:
                    arrow = None
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
    `COPY ... (FORMAT csv)` through a spool file into that reader (no Python object per
    value); otherwise, or if the reader refuses a value, through a cursor."""
    pa = _pyarrow()
    regclass = qualified(schema, table)
    columns = _plan_columns(conn, regclass)
    if columns and all(_csv_readable(pa, c.arrow) for c in columns):
        try:
            with conn.transaction():  # a savepoint: the slow path can still run after a failure
                return _export_via_csv(conn, regclass, columns, order, path)
        except pa.ArrowInvalid:
            pass
    return _export_via_cursor(conn, regclass, columns, order, path)


def _export_via_csv(
    conn: psycopg.Connection[Any], regclass: str, columns: list[ColumnPlan], order: str, path: Path
) -> int:
    import tempfile

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
    with tempfile.TemporaryFile(prefix="nself-parquet-") as spool:
        with (
            conn.cursor() as cursor,
            cursor.copy(
                f"COPY (SELECT {', '.join(selects)} FROM {regclass}{order}) TO STDOUT (FORMAT csv)"
            ) as copy,
        ):
            for chunk in copy:
                spool.write(chunk)
        spool.seek(0)
        reader = pcsv.open_csv(
            spool,
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 24),
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
        with pa.parquet.ParquetWriter(str(path), arrow_schema) as writer:
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
