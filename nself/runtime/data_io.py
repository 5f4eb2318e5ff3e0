"""`nself data export` and `nself data import`: the rows of every table as one JSON or CSV file
per table (`schema.table.json` / `schema.table.csv`, names escaped so that every file stays
in the directory), and those files loaded back in one transaction."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from nself.connection import connect, scrub
from nself.errors import NselfError, OptionError
from nself.ir.names import qualified_name, quote_ident
from nself.runtime.sequences import by_sequence, sequence_uses

if TYPE_CHECKING:
    import psycopg

DataFormat = Literal["json", "csv", "parquet"]
FORMATS: tuple[DataFormat, ...] = ("json", "csv", "parquet")
SUFFIXES = (".json", ".csv", ".parquet", ".jsonl", ".ndjson")  # the last two: JSON lines, read by DuckDB
HISTORY_SCHEMA = "_nself"  # nself's migration history is not data
Progress = Callable[[str], None]

# Ordinary and partitioned tables that are not partitions (a parent's rows include its
# partitions'), outside PostgreSQL's own schemas and nself's history.
TABLES_SQL = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> %s AND n.nspname NOT LIKE 'pg\\_%%' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype = 'e')
ORDER BY 1, 2
"""

PRIMARY_KEY_SQL = """
SELECT a.attname
FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = %s::regclass AND i.indisprimary
ORDER BY k.position
"""

COLUMNS_SQL = """
SELECT attname, attgenerated <> '' AS generated, attidentity = 'a' AS identity_always
FROM pg_attribute
WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""

# Foreign keys between tables, each end named by the table rows are loaded through: a
# foreign key declared on a partition (pagila's payment_p2022_01) constrains its
# partitioned parent's load. A self reference is left out by parents_first: it is checked at
# the end of the one statement that loads the table. DEFERRABLE ones neither order: loads run
# after SET CONSTRAINTS ALL DEFERRED, so they are checked at commit, and leaving them out is
# what breaks a cycle at the right place.
FOREIGN_KEYS_SQL = """
SELECT DISTINCT coalesce(pg_partition_root(conrelid), conrelid)::regclass::text,
       coalesce(pg_partition_root(confrelid), confrelid)::regclass::text
FROM pg_constraint WHERE contype = 'f' AND NOT condeferrable
"""


class DataFileError(NselfError):
    """A data file that cannot be read or loaded; the message names the file."""


@dataclass(frozen=True)
class TableFile:
    table: str  # schema.table as the file names it
    path: str
    rows: int


@dataclass(frozen=True)
class ExportResult:
    directory: str
    format: DataFormat
    tables: tuple[TableFile, ...]


@dataclass(frozen=True)
class ImportResult:
    tables: tuple[TableFile, ...]
    upsert: bool
    truncate: bool


# Stands for the one %s placeholder in SQL that also holds quoted identifiers, where a % of
# a name must be doubled (a NUL cannot occur in a name).
PARAMETER = "\0"


def with_parameter(sql: str) -> str:
    return sql.replace("%", "%%").replace(PARAMETER, "%s")


# Characters a file name cannot hold as they are: path separators, the dot that separates
# schema from table, the escape character itself, control characters, and what Windows
# refuses. Each becomes %XX, so a name never leaves the directory (`../../x/` is one file
# name, `%2E%2E%2F%2E%2E%2Fx%2F`), and import maps the file back to its table exactly.
_ESCAPED = frozenset('%./\\:*?"<>|') | frozenset(chr(c) for c in (*range(32), 127))
NAME_MAX = 255  # bytes in one file name (ext4, APFS, NTFS)


def _escape(name: str) -> str:
    return "".join(f"%{ord(c):02X}" if c in _ESCAPED else c for c in name)


def table_file_name(schema: str, table: str, fmt: DataFormat) -> str:
    """The file a table's rows are exported to: `schema.table.fmt`, each name escaped."""
    return f"{_escape(schema)}.{_escape(table)}.{fmt}"


def table_of_file_name(stem: str) -> tuple[str, str] | None:
    """The (schema, table) a file name made by `table_file_name` stands for (its stem, the
    format removed); None when the stem is not `schema.table` with one dot."""
    from urllib.parse import unquote

    parts = stem.split(".")
    if len(parts) != 2 or not all(parts):
        return None
    return unquote(parts[0], errors="strict"), unquote(parts[1], errors="strict")


def list_tables(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return [(str(s), str(t)) for s, t in conn.execute(TABLES_SQL, (HISTORY_SCHEMA,)).fetchall()]


def _primary_key(conn: psycopg.Connection[Any], regclass: str) -> list[str]:
    return [str(row[0]) for row in conn.execute(PRIMARY_KEY_SQL, (regclass,)).fetchall()]


def select_tables(all_tables: list[tuple[str, str]], wanted: Sequence[str]) -> list[tuple[str, str]]:
    if not wanted:
        return all_tables
    chosen: list[tuple[str, str]] = []
    for name in wanted:
        matches = [t for t in all_tables if name in (f"{t[0]}.{t[1]}", t[1])]
        if not matches:
            raise OptionError(f"--table: no table {name!r} in the database")
        chosen.extend(m for m in matches if m not in chosen)
    return sorted(chosen)


def export_data(
    url: str,
    directory: Path,
    *,
    fmt: DataFormat = "json",
    tables: Sequence[str] = (),
    progress: Progress | None = None,
) -> ExportResult:
    """Write one file per table into `directory`, every table read in one REPEATABLE READ
    snapshot so the files agree with each other (foreign keys hold across them)."""
    import psycopg

    if fmt not in FORMATS:
        raise OptionError(f"--format: expected json, csv or parquet, got {fmt!r}")
    written: list[TableFile] = []
    with connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        try:
            with conn.transaction():
                chosen = select_tables(list_tables(conn), tables)
                files = [table_file_name(schema, table, fmt) for schema, table in chosen]
                for (schema, table), file in zip(chosen, files, strict=True):
                    if len(file.encode("utf-8")) > NAME_MAX:
                        raise OptionError(
                            f"{schema}.{table}: its file name would be {len(file.encode('utf-8'))} bytes, "
                            f"more than the {NAME_MAX} a file system allows; leave it out with --table"
                        )
                directory.mkdir(parents=True, exist_ok=True)
                for (schema, table), file in zip(chosen, files, strict=True):
                    name = f"{schema}.{table}"
                    if progress:
                        progress(name)
                    path = directory / file
                    key = _primary_key(conn, qualified_name(schema, table, always=True))
                    # Primary-key order makes two exports of the same rows the same bytes.
                    order = f" ORDER BY {', '.join(quote_ident(c, always=True) for c in key)}" if key else ""
                    if fmt == "parquet":
                        from nself.runtime.parquet_io import export_table  # pyarrow only when asked for

                        rows = export_table(conn, schema, table, order, path)
                    elif fmt == "json":
                        rows = _export_json(conn, schema, table, order, path)
                    else:
                        rows = _export_csv(conn, schema, table, order, path)
                    written.append(TableFile(name, str(path), rows))
        except psycopg.Error as exc:
            raise NselfError(f"export failed: {scrub(error_message(exc), url)}") from None
    return ExportResult(str(directory), fmt, tuple(written))


def _export_json(conn: psycopg.Connection[Any], schema: str, table: str, order: str, path: Path) -> int:
    rows = 0
    with conn.cursor(name="nself_export") as cursor, path.open("w", encoding="utf-8") as out:
        cursor.execute(
            f"SELECT row_to_json(t)::text FROM {qualified_name(schema, table, always=True)} t{order}"
        )
        out.write("[")
        for (line,) in cursor:
            out.write(",\n" if rows else "\n")
            out.write(line)
            rows += 1
        out.write("\n]\n" if rows else "]\n")
    return rows


def _export_csv(conn: psycopg.Connection[Any], schema: str, table: str, order: str, path: Path) -> int:
    query = f"COPY (SELECT * FROM {qualified_name(schema, table, always=True)}{order}) TO STDOUT WITH (FORMAT csv, HEADER)"
    with conn.cursor() as cursor, path.open("wb") as out:
        with cursor.copy(query) as copy:
            for chunk in copy:
                out.write(chunk)
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class _Planned:
    path: Path
    fmt: DataFormat
    schema: str
    table: str

    @property
    def regclass(self) -> str:
        return qualified_name(self.schema, self.table, always=True)


def data_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
        if not files:
            raise OptionError(f"{path}: no .json, .jsonl, .csv or .parquet files in this directory")
        return files
    if not path.is_file():
        raise OptionError(f"{path}: no such file or directory")
    if path.suffix not in SUFFIXES:
        raise OptionError(f"{path}: expected a .json, .jsonl, .ndjson, .csv or .parquet file")
    return [path]


def _format_of(path: Path) -> DataFormat:
    return "json" if path.suffix == ".json" else "parquet" if path.suffix == ".parquet" else "csv"


def _resolve(
    conn: psycopg.Connection[Any], path: Path, name: str, *, from_file: bool = False
) -> tuple[str, str]:
    """The table `name` (schema.table, or a table on the search path) names. A file name
    made by export names its table exactly (`table_of_file_name`); other names, such as
    files written before names were escaped, may hold dots themselves, so every split
    point is tried."""
    if from_file:
        try:
            exact = table_of_file_name(name)
        except UnicodeDecodeError:
            exact = None
        if exact is not None:
            found = conn.execute(
                "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = %s AND c.relname = %s",
                exact,
            ).fetchone()
            if found is not None:
                return str(found[0]), str(found[1])
    pieces = name.split(".")
    candidates = [(".".join(pieces[:i]), ".".join(pieces[i:])) for i in range(1, len(pieces))]
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND ((n.nspname, c.relname) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
        "OR c.oid = to_regclass(quote_ident(%s))) ORDER BY 1, 2",
        ([c[0] for c in candidates], [c[1] for c in candidates], name),
    ).fetchall()
    if not rows:
        raise DataFileError(f"{path}: no table {name!r} in the database")
    if len(rows) > 1:
        found = ", ".join(f"{s}.{t}" for s, t in rows)
        raise DataFileError(f"{path}: {name!r} could be any of {found}; name the table with --table")
    return str(rows[0][0]), str(rows[0][1])


def _parents_first(conn: psycopg.Connection[Any], planned: list[_Planned]) -> list[_Planned]:
    by_name = {
        str(conn.execute("SELECT %s::regclass::text", (p.regclass,)).fetchone()[0]): p  # type: ignore[index]
        for p in planned
    }
    return [by_name[name] for name in parents_first(conn, list(by_name))]


def parents_first(conn: psycopg.Connection[Any], names: list[str]) -> list[str]:
    """Referenced tables before the tables that reference them (`names` as regclass text);
    tables in a cycle keep the given order (only a DEFERRABLE constraint can let such a
    cycle load, after SET CONSTRAINTS ALL DEFERRED)."""
    parents: dict[str, set[str]] = {name: set() for name in names}
    for child, parent in conn.execute(FOREIGN_KEYS_SQL).fetchall():
        if child != parent and child in parents and parent in parents:
            parents[child].add(parent)
    ordered: list[str] = []
    done: set[str] = set()
    remaining = list(names)
    while remaining:
        ready = [n for n in remaining if parents[n] <= done] or remaining[:1]
        for name in ready:
            ordered.append(name)
            done.add(name)
            remaining.remove(name)
    return ordered


def import_data(
    url: str,
    path: Path,
    *,
    table: str | None = None,
    upsert: bool = False,
    truncate: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Load every file under `path` in ONE transaction: a failure anywhere leaves every table
    as it was. Tables load parents first; identity and serial sequences are moved past the
    largest value loaded so later inserts do not collide."""
    import psycopg

    if upsert and truncate:
        raise OptionError(
            "--upsert and --truncate exclude each other (after --truncate there is nothing to update)"
        )
    files = data_files(path)
    if table is not None and len(files) != 1:
        raise OptionError("--table: give one file, not a directory of them")
    loaded: list[TableFile] = []
    current: Path = files[0]
    with connect(url) as conn:
        try:
            with conn.transaction():
                planned: list[_Planned] = []
                for file in files:
                    current = file
                    name = table if table is not None else file.name.rsplit(".", 1)[0]
                    schema, relname = _resolve(conn, file, name, from_file=table is None)
                    planned.append(_Planned(file, _format_of(file), schema, relname))
                ordered = _parents_first(conn, planned)
                # Constraints declared DEFERRABLE wait until commit, so a cycle of them loads too.
                conn.execute("SET CONSTRAINTS ALL DEFERRED")
                if truncate:
                    conn.execute("TRUNCATE " + ", ".join(p.regclass for p in ordered))
                for item in ordered:
                    current = item.path
                    if progress:
                        progress(f"{item.schema}.{item.table}")
                    rows = _load(conn, item, upsert=upsert)
                    loaded.append(TableFile(f"{item.schema}.{item.table}", str(item.path), rows))
                advance_sequences(conn, [item.regclass for item in ordered])
        except psycopg.Error as exc:
            raise DataFileError(f"{current}: {scrub(error_message(exc), url)}") from None
    return ImportResult(tuple(loaded), upsert, truncate)


def error_message(exc: Exception) -> str:
    import psycopg

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.IntegrityError) and exc.diag.message_detail:
        # The detail names the offending key: "Key (author_id)=(99) is not present in table ..."
        first += f" ({' '.join(exc.diag.message_detail.split())})"
    if isinstance(exc, psycopg.Error) and exc.diag.context:
        # COPY names the line: "COPY nself_import, line 3, column id: ..."
        for part in exc.diag.context.splitlines():
            if part.startswith("COPY ") and ", line " in part:
                return f"line {part.split(', line ', 1)[1].split(',', 1)[0].split(':', 1)[0]}: {first}"
    return first


def _load(conn: psycopg.Connection[Any], item: _Planned, *, upsert: bool) -> int:
    import psycopg

    columns = conn.execute(COLUMNS_SQL, (item.regclass,)).fetchall()
    known = {str(c[0]) for c in columns}
    generated = {str(c[0]) for c in columns if c[1]}
    overriding = " OVERRIDING SYSTEM VALUE" if any(c[2] for c in columns) else ""
    from nself.runtime.foreign_io import foreign_kind

    kind = foreign_kind(item.path, known)
    if kind is not None:
        from nself.runtime.foreign_io import load_foreign

        header = load_foreign(conn, item.path, kind, item.regclass, f"{item.schema}.{item.table}")
        names = [c for c in header if c not in generated]
        source = "pg_temp.nself_import"
        params: tuple[Any, ...] | None = None
    elif item.fmt == "json":
        text, keys = _read_json(item.path)
        unknown = sorted(set(keys) - known)
        if unknown:
            raise DataFileError(
                f"{item.path}: column {unknown[0]!r} is not in table {item.schema}.{item.table}"
            )
        names = [str(c[0]) for c in columns if str(c[0]) in keys and str(c[0]) not in generated]
        source = f"json_populate_recordset(NULL::{item.regclass}, {PARAMETER}::json)"
        params = (text,)
    elif item.fmt == "parquet":
        from nself.runtime.parquet_io import load_into_temp, parquet_columns

        header = parquet_columns(item.path)
        unknown = sorted(set(header) - known)
        if unknown:
            raise DataFileError(
                f"{item.path}: column {unknown[0]!r} is not in table {item.schema}.{item.table}"
            )
        if header:
            load_into_temp(conn, item.path, item.regclass)
        names = [c for c in header if c not in generated]
        source = "pg_temp.nself_import"
        params = None
    else:
        header = _read_csv_header(item.path)
        unknown = sorted(set(header) - known)
        if unknown:
            raise DataFileError(
                f"{item.path}: column {unknown[0]!r} is not in table {item.schema}.{item.table}"
            )
        # A temporary table of exactly the header's columns and types: COPY checks each value
        # (naming its line) and generated columns in the file are read, then left out.
        cols = ", ".join(quote_ident(c, always=True) for c in header)
        conn.execute("DROP TABLE IF EXISTS pg_temp.nself_import")
        conn.execute(f"CREATE TEMP TABLE nself_import AS SELECT {cols} FROM {item.regclass} WITH NO DATA")
        with (
            conn.cursor() as cursor,
            item.path.open("rb") as data,
            cursor.copy(f"COPY pg_temp.nself_import ({cols}) FROM STDIN WITH (FORMAT csv, HEADER)") as copy,
        ):
            while chunk := data.read(1 << 16):
                copy.write(chunk)
        names = [c for c in header if c not in generated]
        source = "pg_temp.nself_import"
        params = None
    if not names:
        return 0
    target = ", ".join(quote_ident(c, always=True) for c in names)
    sql = f"INSERT INTO {item.regclass} ({target}){overriding} SELECT {target} FROM {source}"
    if upsert:
        key = _primary_key(conn, item.regclass)
        if not key:
            raise DataFileError(
                f"{item.path}: --upsert needs a primary key and {item.schema}.{item.table} has none"
            )
        rest = [c for c in names if c not in key]
        action = (
            "DO UPDATE SET "
            + ", ".join(
                f"{quote_ident(c, always=True)} = EXCLUDED.{quote_ident(c, always=True)}" for c in rest
            )
            if rest
            else "DO NOTHING"
        )
        sql += f" ON CONFLICT ({', '.join(quote_ident(c, always=True) for c in key)}) {action}"
    if params is None:
        return max(conn.execute(sql).rowcount, 0)
    try:
        with conn.transaction():  # a savepoint, so a bad value's row can still be looked for
            return max(conn.execute(with_parameter(sql), params).rowcount, 0)
    except psycopg.DataError as exc:
        row = _bad_json_row(conn, item, params[0])
        where = f"row {row}: " if row is not None else ""
        raise DataFileError(f"{item.path}: {where}{error_message(exc)}") from None


# PostgreSQL does not say which element of the array held a bad value; converting the rows
# one by one on the server (each in its own subtransaction) finds the first.
FIND_BAD_ROW = """
DO $nself$
DECLARE
    target text := (SELECT rel FROM pg_temp.nself_target);
    r record;
BEGIN
    FOR r IN SELECT i, v FROM pg_temp.nself_rows ORDER BY i LOOP
        BEGIN
            EXECUTE format('SELECT json_populate_record(NULL::%s, $1)', target) USING r.v;
        EXCEPTION WHEN data_exception THEN
            RAISE EXCEPTION 'nself bad row %', r.i;
        END;
    END LOOP;
END
$nself$
"""


def _bad_json_row(conn: psycopg.Connection[Any], item: _Planned, text: str) -> int | None:
    """The 1-based position in the file's array of the first row PostgreSQL cannot convert."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute("CREATE TEMP TABLE nself_target AS SELECT %s::text AS rel", (item.regclass,))
            conn.execute(
                "CREATE TEMP TABLE nself_rows AS SELECT i, v FROM json_array_elements(%s::json) WITH ORDINALITY AS e(v, i)",
                (text,),
            )
            conn.execute(FIND_BAD_ROW)
            raise _NoBadRow  # leave the savepoint, dropping the temporary tables
    except psycopg.Error as exc:
        message = exc.diag.message_primary or ""
        if message.startswith("nself bad row "):
            return int(message.removeprefix("nself bad row "))
        return None
    except _NoBadRow:
        return None


class _NoBadRow(Exception):
    pass


def _read_json(path: Path) -> tuple[str, set[str]]:
    """The file's text (PostgreSQL converts the values) and every key any row uses."""
    try:
        text = path.read_text(encoding="utf-8")
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise DataFileError(f"{path}: invalid JSON: arrays or objects nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: cannot read: {exc}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataFileError(f"{path}: expected a JSON array of objects (one per row)")
    return text, {key for row in rows for key in row}


def _read_csv_header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8", newline="") as data:
            header = next(csv.reader(data), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataFileError(f"{path}: cannot read: {exc}") from None
    if not header:
        raise DataFileError(f"{path}:1: expected a header line naming the columns")
    return header


def advance_sequences(conn: psycopg.Connection[Any], regclasses: list[str]) -> None:
    """Move every sequence that numbers a loaded integer column (owned or only named by the
    column's default, nself.runtime.sequences) past the largest value it holds in all the
    loaded tables that share it, never back: later inserts must not collide with the rows
    just loaded. Descending sequences are left alone."""
    from psycopg import sql

    loaded = {int(r[0]) for r in conn.execute("SELECT unnest(%s::regclass[])::oid", (regclasses,)).fetchall()}
    for (seq_schema, seq_name), uses in by_sequence(sequence_uses(conn)).items():
        columns = [u for u in uses if u.relation in loaded and u.integer and u.ascending]
        if not columns:
            continue
        largest = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT max({})::numeric FROM {}").format(
                sql.Identifier(u.column), sql.Identifier(*u.table)
            )
            for u in columns
        )
        sequence = sql.Identifier(seq_schema, seq_name)
        conn.execute(
            sql.SQL(
                "SELECT setval({name}, m::bigint) FROM (SELECT max(m) AS m FROM ({largest}) x(m)) y, {seq} s "
                "WHERE m > CASE WHEN s.is_called THEN s.last_value ELSE s.last_value - 1 END"
            ).format(name=sql.Literal(sequence.as_string(conn)), largest=largest, seq=sequence)
        )
