"""Running ad-hoc SQL (`nself db query`) and psql (`nself db shell`, `db query -f`).

Values come back as PostgreSQL's own text (every type is loaded as text), so that what nself
prints is what psql prints: `infinity`, BC dates, numerics of any precision, `t`/`f`. The last
statement's rows stream from the server (psycopg's single-row mode) and are written as they
come, so a large result never sits whole in memory."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError
from psycopg import postgres
from psycopg.types.string import TextLoader

from nself.connection import connect, scrub, target_params
from nself.errors import NselfError, SourceError, position_of
from nself.runtime.cluster import find_pg_program
from nself.runtime.session import split_statements

if TYPE_CHECKING:
    from psycopg.abc import Buffer

Row = tuple[str | None, ...]

# Types whose text JSON carries as a number or a literal (see `json_value`); the rest are strings.
_INTEGERS = {postgres.types[name].oid for name in ("int2", "int4", "int8", "oid")}
_DECIMALS = {postgres.types[name].oid for name in ("float4", "float8", "numeric")}
_BOOL = postgres.types["bool"].oid
_JSON = {postgres.types["json"].oid, postgres.types["jsonb"].oid}
# The largest integer that every JSON reader (JavaScript's doubles included) holds exactly.
_JSON_SAFE_INTEGER = 2**53


@dataclass(frozen=True)
class Column:
    name: str
    type_oid: int


class QueryStream:
    """The last statement's result: its columns (duplicates kept, in order), its rows as
    PostgreSQL's text (None for NULL), read once as they arrive, and its command tag, known
    once the rows are read."""

    def __init__(self, columns: list[Column], rows: Iterator[Row], cursor: psycopg.Cursor[Any] | None) -> None:
        self.columns = columns
        self.rows = rows
        self._cursor = cursor

    @property
    def status(self) -> str:
        return (self._cursor.statusmessage or "") if self._cursor is not None else ""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[Row]
    status: str


def _load_everything_as_text(cur: psycopg.Cursor[Any]) -> None:
    """Every value as the text PostgreSQL sends. Unknown types (enums, domains, arrays of
    them) load as text already; the known ones are told to."""
    for info in postgres.types:
        cur.adapters.register_loader(info.oid, TextLoader)
        if info.array_oid:
            cur.adapters.register_loader(info.array_oid, TextLoader)


@contextlib.contextmanager
def stream_query(url: str, sql: str, source: str = "<query>") -> Iterator[QueryStream]:
    """Run `sql` (one or more statements, in one transaction) and yield what the last
    statement produces, its rows streamed. Errors (also those raised while the rows are
    read) name source:line:col."""
    statements = split_statements(sql)
    current = 0  # offset of the statement running, to place the server's error position
    try:
        with connect(url) as conn, conn.transaction(), conn.cursor() as cur:
            _load_everything_as_text(cur)
            for statement in statements[:-1]:
                current = statement.offset
                cur.execute(statement.text.encode())
            if not statements:
                yield QueryStream([], iter(()), None)
                return
            last = statements[-1]
            current = last.offset
            if _returns_many_rows(last.text):
                rows: Iterator[Any] = cur.stream(last.text.encode())
                first = next(rows, None)  # runs the statement, so that the description is known
            else:
                # stream() refuses statements without rows (psycopg cannot give their tag then);
                # those return at most a few rows (SHOW, EXPLAIN, CALL).
                cur.execute(last.text.encode())
                rows = iter(cur.fetchall() if cur.description is not None else [])
                first = next(rows, None)
            if first is None and cur.description is None:
                # No rows: psycopg's stream drops the result that names the columns.
                columns = _describe(conn, last.text)
            else:
                columns = [Column(c.name, c.type_code) for c in cur.description or []]
            try:
                yield QueryStream(columns, _rows(first, rows), cur)
            finally:
                # A stream holds the connection's lock until it ends: when the reader stops
                # early (an error while writing, a closed pipe), end it (psycopg cancels the
                # query) before the transaction is rolled back, or the rollback would wait forever.
                close = getattr(rows, "close", None)
                if close is not None:
                    close()
    except psycopg.Error as exc:
        raise _query_error(exc, sql, current, source) from None


def _describe(conn: psycopg.Connection[Any], statement: str) -> list[Column]:
    """The columns `statement` returns, from the server's description of it (parsed as the
    unnamed prepared statement, not run again)."""
    pgconn = conn.pgconn
    ok = psycopg.pq.ExecStatus.COMMAND_OK
    if pgconn.prepare(b"", statement.encode(conn.info.encoding)).status != ok:
        return []
    described = pgconn.describe_prepared(b"")
    if described.status != ok:
        return []
    encoding = conn.info.encoding
    names = [(described.fname(i) or b"").decode(encoding) for i in range(described.nfields)]
    return [Column(name, described.ftype(i)) for i, name in enumerate(names)]


def _query_error(exc: psycopg.Error, sql: str, offset: int, source: str) -> NselfError:
    """The server's error as one line, placed at source:line:col when the server gave a
    position (in the statement that starts at `offset` of `sql`)."""
    message = exc.diag.message_primary or str(exc).splitlines()[0]
    if exc.diag.statement_position:
        line, col = position_of(sql, offset + int(exc.diag.statement_position) - 1)
        return SourceError(source, line, col, message)
    return NselfError(f"{source}: {message}")


# The last statement of `db query --csv`, when a query, runs inside COPY: the server writes
# the CSV and nself passes its bytes on (a sixth of the work of reading each row).
_COPY_HEAD = "COPY (\n"
# Bytes after which the CSV is handed on (fewer, larger writes).
_CSV_CHUNK = 1 << 16
# An unquoted \. alone in a field: psql quotes it, COPY only in a one-column row.
_LONE_END_MARKER = re.compile(rb"(?:^|,)\\\.(?=,|\n)", re.MULTILINE)


@contextlib.contextmanager
def stream_csv(url: str, sql: str, source: str = "<query>") -> Iterator[Iterator[bytes]]:
    """Run `sql` as `stream_query` does and yield what the last statement returns as
    `psql --csv` writes it (header, then one line per row), in chunks of UTF-8 bytes.

    A query (SELECT, VALUES, TABLE) runs as `COPY (query) TO STDOUT (FORMAT csv, HEADER)`:
    the server's output functions give the same text, and COPY's CSV differs from psql's in
    two places only. COPY quotes an empty string to tell it from NULL, where psql writes
    both as nothing: so NULL is written as a random token for this run (an empty string is
    then unquoted) and the token is removed; a value equal to the token, the only one COPY
    would quote, is a 128-bit guess. And COPY leaves a lone `\\.` unquoted in a row of many
    columns, which psql quotes: such a line is rewritten. Other statements (DML ...
    RETURNING, SHOW, EXPLAIN, ...) go through `stream_query`."""
    statements = split_statements(sql)
    if not statements or not _copyable(statements[-1].text):
        with stream_query(url, sql, source) as result:
            yield _csv_of_rows(result)
        return
    null = f"nself-null-{uuid.uuid4().hex}"
    current = 0
    try:
        with connect(url) as conn, conn.transaction(), conn.cursor() as cur:
            for statement in statements[:-1]:
                current = statement.offset
                cur.execute(statement.text.encode())
            last = statements[-1]
            current = last.offset - len(_COPY_HEAD)
            copy_sql = f"{_COPY_HEAD}{last.text}\n) TO STDOUT (FORMAT csv, HEADER, NULL '{null}')"
            with cur.copy(copy_sql.encode()) as copy:
                yield _psql_csv(copy, null.encode())
    except psycopg.Error as exc:
        raise _query_error(exc, sql, current, source) from None


def _copyable(statement: str) -> bool:
    """Whether `statement` is a query COPY can run: a SELECT (VALUES, TABLE) without INTO."""
    try:
        parsed = parse_sql(statement)
    except ParseError:
        return False
    if len(parsed) != 1:
        return False
    node = parsed[0].stmt
    return isinstance(node, ast.SelectStmt) and node.intoClause is None


def _psql_csv(messages: Iterable[Buffer], null: bytes) -> Iterator[bytes]:
    """COPY's CSV (one message a line, header first; NULL written as `null`) as psql --csv
    writes it."""
    lines = iter(messages)
    header = next(lines, None)
    if header is None:
        return
    if bytes(header) == b"\n":
        # No columns: psql writes the empty header and no rows (COPY writes an empty line for each).
        for _ in lines:
            pass
        yield b"\n"
        return
    chunk: list[Buffer] = [header]
    size = len(header)
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= _CSV_CHUNK:
            yield _psql_csv_chunk(chunk, null)
            chunk.clear()
            size = 0
    if chunk:
        yield _psql_csv_chunk(chunk, null)


def _psql_csv_chunk(lines: list[Buffer], null: bytes) -> bytes:
    """Lines of COPY's CSV joined, NULL as nothing, a lone `\\.` quoted."""
    joined = b"".join(lines).replace(null, b"")
    # A backslash is rare (one test by memchr); \. rarer still.
    if b"\\" not in joined or _LONE_END_MARKER.search(joined) is None:
        return joined
    fixed = (bytes(line).replace(null, b"") for line in lines)
    return b"".join(_psql_csv_line(line) if _LONE_END_MARKER.search(line) else line for line in fixed)


def _psql_csv_line(line: bytes) -> bytes:
    """One line of COPY's CSV (a quoted field may hold newlines) rewritten by psql's rules."""
    (fields,) = csv.reader(io.StringIO(line.decode(), newline=""))
    return (csv_line(fields) + "\n").encode()


def _csv_of_rows(result: QueryStream) -> Iterator[bytes]:
    if result.columns:
        yield (csv_line([c.name for c in result.columns]) + "\n").encode()
    for row in result.rows:
        yield (csv_line(row) + "\n").encode()


def _returns_many_rows(statement: str) -> bool:
    """Whether `statement` is a query or DML with RETURNING: the ones whose rows stream."""
    try:
        parsed = parse_sql(statement)
    except ParseError:
        return False
    if len(parsed) != 1:
        return False
    node = parsed[0].stmt
    if isinstance(node, ast.SelectStmt):
        return node.intoClause is None  # SELECT INTO creates a table and returns no rows
    return isinstance(node, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)) and bool(getattr(node, "returningList", None))


def _rows(first: Any, rest: Iterator[Any]) -> Iterator[Row]:
    if first is None:
        return
    yield tuple(first)
    for row in rest:
        yield tuple(row)


def run_query(url: str, sql: str, source: str = "<query>") -> QueryResult:
    """`stream_query` with every row read into a list: for small results."""
    with stream_query(url, sql, source) as result:
        rows = list(result.rows)
        return QueryResult([c.name for c in result.columns], rows, result.status)


# --------------------------------------------------------------------------- output forms


def unaligned_line(row: Sequence[str | None]) -> str:
    """A row as `psql -At` prints it: fields joined by |, NULL as nothing."""
    return "|".join("" if value is None else value for value in row)


def csv_field(value: str | None) -> str:
    """A field as `psql --csv` prints it (print.c, csv_print_field): quoted when it holds the
    separator, a quote, CR or LF, or is exactly `\\.`; NULL prints as nothing."""
    if value is None:
        return ""
    if any(c in value for c in ',"\r\n') or value == "\\.":
        return '"' + value.replace('"', '""') + '"'
    return value


def csv_line(values: Sequence[str | None]) -> str:
    return ",".join(csv_field(v) for v in values)


def json_value(value: str | None, type_oid: int) -> str:
    """A value as JSON text: numbers for integers and decimals a JSON reader holds exactly,
    strings for the rest (NaN, Infinity, 20-digit numerics, dates, ...); json and jsonb as
    they are; booleans as true/false."""
    if value is None:
        return "null"
    if type_oid in _JSON:
        return value
    if type_oid == _BOOL:
        return "true" if value == "t" else "false"
    if type_oid in _INTEGERS and abs(int(value)) <= _JSON_SAFE_INTEGER:
        return value
    if type_oid in _DECIMALS and _exact_as_double(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _exact_as_double(text: str) -> bool:
    try:
        exact = Decimal(text)
    except InvalidOperation:
        return False
    return exact.is_finite() and Decimal(repr(float(exact))) == exact


def json_object(columns: Sequence[Column], row: Row) -> str:
    """One row as a JSON object, keys in column order; a duplicate column name stays a
    duplicate key, as PostgreSQL's own row_to_json writes it."""
    members = (f"{json.dumps(c.name, ensure_ascii=False)}: {json_value(v, c.type_oid)}" for c, v in zip(columns, row, strict=True))
    return "{" + ", ".join(members) + "}"


# --------------------------------------------------------------------------- psql


def psql_environment(url: str) -> dict[str, str]:
    """libpq variables for `url`: the password travels as PGPASSWORD, never in argv."""
    params = target_params(url)
    names = {
        "host": "PGHOST",
        "port": "PGPORT",
        "user": "PGUSER",
        "dbname": "PGDATABASE",
        "password": "PGPASSWORD",
        "sslmode": "PGSSLMODE",
        "sslrootcert": "PGSSLROOTCERT",
        "connect_timeout": "PGCONNECT_TIMEOUT",
        "application_name": "PGAPPNAME",
    }
    env = {name: str(params[key]) for key, name in names.items() if params.get(key) is not None}
    return env


def open_psql(url: str, args: Sequence[str] = ()) -> None:
    """Replace this process with psql on `url`, `args` passed through. Without a terminal on
    stdin (SQL piped in), psql stops at the first error and exits non-zero, unless the
    caller set ON_ERROR_STOP itself."""
    psql = shutil.which("psql") or str(find_pg_program("psql"))
    env = {**os.environ, **psql_environment(url)}
    argv = [Path(psql).name, *args]
    if not sys.stdin.isatty() and not any("ON_ERROR_STOP" in a for a in args):
        argv[1:1] = ["-v", "ON_ERROR_STOP=1"]
    sys.stdout.flush()
    os.execvpe(psql, argv, env)


def run_psql_script(url: str, path: Path, psql_options: Sequence[str] = ()) -> None:
    """Run `path` (a psql script, meta-commands included) with psql as `db load` does:
    ON_ERROR_STOP, in one transaction, its output on our stdout. A failure is one line."""
    from nself.runtime.dump import run_psql_file

    sys.stdout.flush()
    done = run_psql_file(url, path, psql_options=psql_options, capture_stdout=False)
    if done.stderr:
        sys.stderr.write(scrub(done.stderr, url))
