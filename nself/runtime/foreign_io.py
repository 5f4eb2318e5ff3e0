"""`nself data import` of files made elsewhere, read with DuckDB (docs/data.md):

- CSV in any dialect DuckDB's sniffer recognises (delimiter, quote, escape, header; dates
  and timestamps in the format it detects), when the file is not PostgreSQL's own CSV of
  the table (comma-separated, a header of the table's columns: that one PostgreSQL reads);
- JSON lines (`.jsonl`, `.ndjson`, or a `.json` file whose first value is an object);
- Parquet files nself did not write (nself's own carry `nself` in their metadata).

Before anything is sent, every column of the file is checked against the target column's
type in DuckDB (ints, floats, numeric(p,s), booleans, dates, times, timestamps, uuids,
json, enums' labels, varchar(n)'s length); a value that does not fit is one error naming
the file, the column, how many values and the first of them. The rows then stream as Arrow
record batches, every value rendered as the text PostgreSQL reads, through Arrow's CSV
writer into `COPY pg_temp.nself_import FROM STDIN (FORMAT csv)`: the caller's transaction
inserts them into the table from there, so a failure anywhere still writes nothing."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nself.errors import NselfError
from nself.ir.names import quote_ident
from nself.runtime.data_io import DataFileError

if TYPE_CHECKING:
    import psycopg

Kind = Literal["csv", "json", "parquet"]
BATCH_ROWS = 100_000
PARQUET_MARKER = b"nself"  # key of nself's own Parquet files' metadata

# The target's columns: name, base type (domains resolved), typtype, category, typmod, the
# element's type for arrays, and an enum's labels.
TARGET_SQL = """
SELECT a.attname, b.typname, b.typtype, b.typcategory,
       CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE a.atttypmod END,
       e.typname,
       (SELECT array_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = b.oid)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

# PostgreSQL type -> the DuckDB type its values are checked against.
SCALARS = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "FLOAT",
    "float8": "DOUBLE",
    "numeric": "DOUBLE",  # without a precision; numeric(p,s) is DECIMAL(p,s) below
    "bool": "BOOLEAN",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "uuid": "UUID",
    "json": "JSON",
    "jsonb": "JSON",
    "bytea": "BLOB",
}
TEXTS = frozenset({"text", "varchar", "bpchar", "name", "citext"})
# Every spelling of a boolean PostgreSQL's input function accepts (case and spaces aside).
BOOLEANS = ("t", "tr", "tru", "true", "y", "ye", "yes", "on", "1", "f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0")  # fmt: skip


@dataclass(frozen=True)
class Target:
    name: str
    typname: str
    typtype: str
    category: str
    typmod: int
    element: str | None
    labels: tuple[str, ...]

    @property
    def shown(self) -> str:
        if self.typname in ("varchar", "bpchar") and self.typmod >= 4:
            return f"{self.typname}({self.typmod - 4})"
        if self.typname == "numeric" and self.typmod >= 4:
            return f"numeric({((self.typmod - 4) >> 16) & 0xFFFF},{(self.typmod - 4) & 0xFFFF})"
        if self.category == "A" and self.element:
            return f"{self.element}[]"
        return self.typname

    def duck_type(self) -> str | None:
        """The DuckDB type the file's values are checked against; None: checked by PostgreSQL."""
        if self.typname == "numeric" and self.typmod >= 4:
            precision, scale = ((self.typmod - 4) >> 16) & 0xFFFF, (self.typmod - 4) & 0xFFFF
            return f"DECIMAL({precision},{scale})" if 0 < precision <= 38 else "DOUBLE"
        if self.category == "A" and self.element is not None:
            inner = SCALARS.get(self.element) or ("VARCHAR" if self.element in TEXTS else None)
            return f"{inner}[]" if inner and inner != "JSON" else None
        return SCALARS.get(self.typname)


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise NselfError(
            "importing CSV, JSON lines or Parquet made elsewhere needs duckdb: pip install 'duckdb>=1.1'"
        ) from None
    return duckdb


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def foreign_kind(path: Path, columns: set[str]) -> Kind | None:
    """How DuckDB should read `path` for a table of `columns`; None: nself's own reader."""
    import csv

    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "json"
    try:
        if suffix == ".json":
            with path.open("rb") as data:
                start = data.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
            return "json" if start.startswith(b"{") else None
        if suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as data:
                header = next(csv.reader(data), None)
            return None if header and set(header) <= columns else "csv"
    except (OSError, UnicodeDecodeError, csv.Error):
        return "csv" if suffix == ".csv" else None
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            metadata = pq.read_schema(str(path)).metadata or {}
        except Exception:
            return None  # nself's reader says it is not a Parquet file
        return None if PARQUET_MARKER in metadata else "parquet"
    return None


def load_foreign(
    conn: psycopg.Connection[Any], path: Path, kind: Kind, regclass: str, table: str
) -> list[str]:
    """Check the file against the table's types, then COPY its rows into pg_temp.nself_import
    (the table's columns the file names); returns those columns, in the file's order."""
    import pyarrow.csv as pcsv

    duckdb = _duckdb()
    targets = {
        str(row[0]): Target(
            str(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]), row[5], tuple(row[6] or ())
        )
        for row in conn.execute(TARGET_SQL, (regclass,)).fetchall()
    }
    zone = conn.execute("SHOW TimeZone").fetchone()
    db = duckdb.connect(":memory:")
    try:
        try:
            db.execute(f"SET TimeZone = {literal(str(zone[0]) if zone else 'UTC')}")
        except duckdb.Error:
            db.execute("SET TimeZone = 'UTC'")
        source, file_types = _source(db, duckdb, path, kind, targets)
        unknown = [name for name in file_types if name not in targets]
        if unknown:
            raise DataFileError(f"{path}: column {unknown[0]!r} is not in table {table}")
        names = list(file_types)
        checks, renders = [], []
        for name in names:
            check, render = _column(quote_ident(name, always=True), file_types[name], targets[name])
            checks.append(check)
            renders.append(render)
        _check(db, duckdb, path, source, names, checks, targets, table)
        cols = ", ".join(quote_ident(c, always=True) for c in names)
        conn.execute("DROP TABLE IF EXISTS pg_temp.nself_import")
        conn.execute(f"CREATE TEMP TABLE nself_import AS SELECT {cols} FROM {regclass} WITH NO DATA")
        if not names:
            return names
        select = ", ".join(
            f"{render} AS {quote_ident(name, always=True)}" for name, render in zip(names, renders, strict=True)
        )
        options = pcsv.WriteOptions(include_header=False, batch_size=BATCH_ROWS)
        try:
            relation = db.sql(f"SELECT {select} FROM {source}")
            # to_arrow_reader since DuckDB 1.4 (fetch_record_batch before, deprecated in 2.0)
            reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
            reader = reader(BATCH_ROWS)
            with (
                conn.cursor() as cursor,
                cursor.copy(f"COPY pg_temp.nself_import ({cols}) FROM STDIN (FORMAT csv)") as copy,
            ):
                for batch in reader:
                    buffer = io.BytesIO()
                    pcsv.write_csv(batch, buffer, options)
                    copy.write(buffer.getbuffer())
        except duckdb.Error as exc:
            raise DataFileError(f"{path}: cannot read: {_first_line(exc)}") from None
        return names
    finally:
        db.close()


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).strip().splitlines()[0].split()) if str(exc).strip() else type(exc).__name__


def _source(
    db: Any, duckdb: Any, path: Path, kind: Kind, targets: dict[str, Target]
) -> tuple[str, dict[str, str]]:
    """The table function reading `path` as DuckDB sees it, and the file's columns with the
    DuckDB types they are read as."""
    file = literal(str(path))
    try:
        if kind == "parquet":
            source = f"read_parquet({file})"
        elif kind == "json":
            sniffed = _describe(db, f"read_json({file}, format = 'newline_delimited')")
            # Read each key as JSON text where the column is json, else as text (PostgreSQL's
            # input of it is what is checked): nested objects stay as they were written.
            spec = ", ".join(
                f"{literal(name)}: {literal('JSON' if _json_target(targets.get(name)) else 'VARCHAR')}"
                for name in sniffed
            )
            source = f"read_json({file}, format = 'newline_delimited', columns = {{{spec}}})"
        else:
            row = db.execute(f"SELECT Delimiter, Quote, Escape, NewLineDelimiter, SkipRows, HasHeader, Columns, DateFormat, TimestampFormat FROM sniff_csv({file})").fetchall()[0]  # fmt: skip
            delimiter, quote, escape, newline, skip, header, columns, date_format, ts_format = row
            if not header:
                raise DataFileError(f"{path}:1: expected a header line naming the columns")
            types = {}
            for column in columns:
                name, sniffed_type = str(column["name"]), str(column["type"])
                target = targets.get(name)
                # Dates and timestamps in the format the sniffer found are read as such;
                # everything else as its text, as written.
                keep = target is not None and sniffed_type in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE") and target.typname in ("date", "timestamp", "timestamptz")  # fmt: skip
                types[name] = sniffed_type if keep else "VARCHAR"
            spec = ", ".join(f"{literal(n)}: {literal(t)}" for n, t in types.items())
            # The sniffer says "(empty)" for a quote or escape it did not see: DuckDB's default.
            options = [f"{key} = {literal(value)}" for key, value in (("quote", quote), ("escape", escape)) if value and value != "(empty)"]  # fmt: skip
            options += [
                f"delim = {literal(delimiter)}",
                f"skip = {int(skip)}",
                "header = true",
                "auto_detect = false",
                "allow_quoted_nulls = false",  # "" is an empty string, an empty field NULL
                f"columns = {{{spec}}}",
            ]
            if newline and newline != "(empty)":
                options.append(f"new_line = {literal(newline)}")
            if date_format:
                options.append(f"dateformat = {literal(date_format)}")
            if ts_format:
                options.append(f"timestampformat = {literal(ts_format)}")
            source = f"read_csv({file}, {', '.join(options)})"
        return source, _describe(db, source)
    except duckdb.Error as exc:
        raise DataFileError(f"{path}: cannot read as {'JSON lines' if kind == 'json' else kind.upper() if kind == 'csv' else 'Parquet'}: {_first_line(exc)}") from None  # fmt: skip


def _json_target(target: Target | None) -> bool:
    """Columns read from JSON lines as JSON (objects and arrays kept whole): json, jsonb and arrays."""
    return target is not None and (target.typname in ("json", "jsonb") or target.category == "A")


def _describe(db: Any, source: str) -> dict[str, str]:
    return {str(row[0]): str(row[1]) for row in db.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def _column(ident: str, file_type: str, target: Target) -> tuple[str, str]:
    """(SQL true where a value does not fit the target, SQL of the text sent to PostgreSQL)."""
    text_source = file_type == "VARCHAR"
    nested = file_type.startswith(("STRUCT", "MAP")) or file_type.endswith("]")
    duck = target.duck_type()
    if target.typname in TEXTS and target.category != "A":
        render = f"to_json({ident})::VARCHAR" if nested else f"{ident}::VARCHAR"
        if target.typname in ("varchar", "bpchar") and target.typmod >= 4:
            return f"length({render}) > {target.typmod - 4}", render
        return "false", render
    if target.labels:  # an enum: one of its labels
        labels = ", ".join(literal(label) for label in target.labels)
        return f"{ident}::VARCHAR NOT IN ({labels})", f"{ident}::VARCHAR"
    if target.typname in ("json", "jsonb") and target.category != "A":
        if text_source:
            return f"NOT json_valid({ident})", ident
        return "false", f"to_json({ident})::VARCHAR"
    if target.typname == "bytea" and target.category != "A":
        return ("false", ident) if text_source else ("false", f"'\\x' || hex({ident}::BLOB)")
    if target.category != "A" and duck is None:
        return "false", f"{ident}::VARCHAR"  # PostgreSQL's input function checks it
    if text_source:
        if target.typname == "bool":
            return f"lower(trim({ident})) NOT IN ({', '.join(map(literal, BOOLEANS))})", ident
        if target.category == "A":
            return "false", ident  # PostgreSQL's array literal: its input function checks it
        # Checked by DuckDB's cast; sent as written, for PostgreSQL to read exactly.
        return f"TRY_CAST({ident} AS {duck}) IS NULL", ident
    if target.category == "A":
        # Each element as its text, for PostgreSQL's input function of the element type (a
        # cast to a typed list would turn an element that does not fit into NULL).
        elements = f"TRY_CAST({ident} AS VARCHAR[])"
        quoted = """CASE WHEN x IS NULL THEN 'NULL' ELSE '"' || replace(replace(x, '\\', '\\\\'), '"', '\\"') || '"' END"""
        render = f"'{{' || array_to_string([{quoted} FOR x IN {elements}], ',') || '}}'"
        return f"{elements} IS NULL", render
    value = f"TRY_CAST({ident} AS {duck})"
    # strftime, not a cast to VARCHAR: DuckDB hands a CSV column read with a date format back
    # in that format when cast to text.
    formats = {
        "DATE": "%Y-%m-%d",
        "TIMESTAMP": "%Y-%m-%d %H:%M:%S.%f",
        "TIMESTAMPTZ": "%Y-%m-%d %H:%M:%S.%f%z",
    }
    if duck in formats:
        return f"{value} IS NULL", f"strftime({value}, {literal(formats[duck])})"
    return f"{value} IS NULL", f"{value}::VARCHAR"


def _check(
    db: Any,
    duckdb: Any,
    path: Path,
    source: str,
    names: list[str],
    checks: list[str],
    targets: dict[str, Target],
    table: str,
) -> None:
    """One scan of the file counting, per column, the values that do not fit, and the first."""
    if not names:
        return
    parts = []
    for name, check in zip(names, checks, strict=True):
        ident = quote_ident(name, always=True)
        bad = f"({ident} IS NOT NULL AND ({check}))"
        parts.append(f"count(*) FILTER (WHERE {bad}), min(n) FILTER (WHERE {bad})")
    try:
        row = db.execute(
            f"SELECT {', '.join(parts)} FROM (SELECT *, row_number() OVER () AS n FROM {source})"
        ).fetchall()[0]
    except duckdb.Error as exc:
        raise DataFileError(f"{path}: cannot read: {_first_line(exc)}") from None
    for index, name in enumerate(names):
        count, first = row[2 * index], row[2 * index + 1]
        if count:
            value = db.execute(
                f"SELECT {quote_ident(name, always=True)}::VARCHAR FROM (SELECT *, row_number() OVER () AS n FROM {source}) WHERE n = {int(first)}"
            ).fetchall()
            shown = value[0][0] if value else None
            if shown is not None and len(shown) > 60:
                shown = shown[:57] + "..."
            target = targets[name]
            raise DataFileError(
                f"{path}: column {name!r}: {count} value{'s' if count != 1 else ''} do{'' if count != 1 else 'es'} not fit "
                f"{table}.{name} ({target.shown}), the first in row {first}: {shown!r}; nothing was imported"
            )
