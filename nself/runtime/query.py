"""Running ad-hoc SQL (`nself db query`) and psql (`nself db shell`, `db query -f`).

Values come back as PostgreSQL's own text (every type is loaded as text), so that what nself
prints is what psql prints: `infinity`, BC dates, numerics of any precision, `t`/`f`. The last
statement's rows stream from the server (psycopg's single-row mode) and are written as they
come, so a large result never sits whole in memory."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError
from psycopg import postgres, pq
from psycopg.types.string import TextLoader

from nself.connection import connect, scrub, target_params
from nself.errors import NselfError, position_of
from nself.runtime.cluster import find_pg_program
from nself.runtime.query_csv import COPY_HEAD, CSV_CHUNK, csv_line, null_token, psql_csv, query_error
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
    """One statement's result: its columns (duplicates kept, in order; none for a command
    that returns no rows), its rows as PostgreSQL's text (None for NULL), read once as they
    arrive, and its command tag, known once the rows are read."""

    def __init__(
        self,
        line: int,
        columns: list[Column] | None,
        rows: Iterator[Row],
        cursor: psycopg.Cursor[Any] | None,
        streamed_tag: str | None = None,
    ) -> None:
        self.line = line  # where the statement starts in the text
        self.returns_rows = columns is not None
        self.columns = columns or []
        self._count = 0
        self.rows = self._counted(rows)
        self._cursor = cursor
        self._streamed_tag = streamed_tag
        self._status: str | None = None

    def _counted(self, rows: Iterator[Row]) -> Iterator[Row]:
        for row in rows:
            self._count += 1
            yield row

    @property
    def status(self) -> str:
        if self._status is not None:
            return self._status
        if self._streamed_tag is not None:
            # psycopg does not keep the tag of a streamed result; for the statements that
            # stream it is the row count after the command's name, as the server writes it.
            return f"{self._streamed_tag} {self._count}"
        return (self._cursor.statusmessage or "") if self._cursor is not None else ""

    def freeze(self) -> None:
        """Keep the command tag before the cursor runs the next statement."""
        self._status = self.status

    @property
    def shows_status(self) -> bool:
        """Whether psql prints the command tag after this result (print.c's rule): always
        for a command, and for rows when they come from INSERT, UPDATE or DELETE RETURNING."""
        return not self.returns_rows or self.status.startswith(("INSERT", "UPDATE", "DELETE"))


class QueryResults:
    """Every statement's result, in order, each streamed: iterate once, reading each
    result's rows before asking for the next (the next statement runs then)."""

    def __init__(self, count: int, results: Iterator[QueryStream]) -> None:
        self.count = count  # how many statements the text holds
        self._results = results

    def __iter__(self) -> Iterator[QueryStream]:
        return self._results


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
def stream_query(url: str, sql: str, source: str = "<query>") -> Iterator[QueryResults]:
    """Run `sql` (one or more statements, in one transaction) and yield every statement's
    result in order, as psql shows them, each one's rows streamed. Errors (also those raised
    while the rows are read) name source:line:col."""
    statements = split_statements(sql)
    current = 0  # offset of the statement running, to place the server's error position
    try:
        with connect(url) as conn, conn.transaction(), conn.cursor() as cur:
            _load_everything_as_text(cur)

            def results() -> Generator[QueryStream]:
                nonlocal current
                for statement in statements:
                    current = statement.offset
                    tag = _streamed_tag(statement.text)
                    with _run(cur, statement.text, streamed=tag is not None) as (first, rows):
                        if cur.description is not None:
                            columns: list[Column] | None = [Column(c.name, c.type_code) for c in cur.description]
                        elif tag is not None:  # streamed, no rows: psycopg kept no description
                            columns = _described(conn, statement.text)
                        else:
                            columns = None
                        line = position_of(sql, statement.offset)[0]
                        result = QueryStream(line, columns, _rows(first, rows), cur, tag)
                        yield result
                        for _ in result.rows:  # rows the reader left: the statement still runs to its end
                            pass
                        result.freeze()

            running = results()
            try:
                yield QueryResults(len(statements), running)
            finally:
                running.close()  # a reader that stopped early: end the statement's stream first
    except psycopg.Error as exc:
        raise _query_error(exc, sql, current, source) from None


def _query_error(exc: psycopg.Error, sql: str, offset: int, source: str) -> NselfError:
    """The server's error as one line, placed at source:line:col when the server gave a
    position (in the statement that starts at `offset` of `sql`)."""
    message = exc.diag.message_primary or str(exc).splitlines()[0]
    position = int(exc.diag.statement_position) if exc.diag.statement_position else None
    return query_error(message, position, sql, offset, source)


@contextlib.contextmanager
def stream_script_csv(url: str, sql: str, source: str = "<query>") -> Iterator[Iterator[bytes]]:
    """`nself.runtime.query_csv.stream_csv` through psycopg: what `psql --csv` writes for
    any script, in chunks of UTF-8 bytes. A script of one query still runs inside COPY (see
    nself.runtime.query_csv); other scripts (several statements, DML ... RETURNING, SHOW,
    EXPLAIN, ...) go through `stream_query`."""
    statements = split_statements(sql)
    if len(statements) != 1 or not _copyable(statements[0].text):
        with stream_query(url, sql, source) as results:
            yield _csv_of_results(results)
        return
    null = null_token()
    current = 0
    try:
        with connect(url) as conn, conn.transaction(), conn.cursor() as cur:
            (last,) = statements
            current = last.offset - len(COPY_HEAD)
            copy_sql = f"{COPY_HEAD}{last.text}\n) TO STDOUT (FORMAT csv, HEADER, NULL '{null}')"
            with cur.copy(copy_sql.encode()):
                yield psql_csv(_copy_batches(conn), null.encode())
    except psycopg.Error as exc:
        raise _query_error(exc, sql, current, source) from None


def _copyable(statement: str) -> bool:
    """Whether `statement` is a query COPY can run: a SELECT (VALUES, TABLE) without INTO."""
    return _streamed_tag(statement) == "SELECT"


def _copy_batches(conn: psycopg.Connection[Any]) -> Iterator[bytes]:
    """The running COPY's messages (one line each, header first) joined in chunks of about
    CSV_CHUNK bytes: one wait per chunk (nself.runtime.copy_out), not one per row as
    psycopg's `Copy` iteration, which was half the client's CPU for 100,000 rows."""
    from nself.runtime.copy_out import receive

    ended = False
    while not ended:
        batch: list[Buffer] = []
        ended = conn.wait(receive(conn.pgconn, CSV_CHUNK, conn.info.encoding, batch.append))
        if batch:
            yield b"".join(batch)


def _csv_of_results(results: QueryResults) -> Iterator[bytes]:
    """Each result as psql --csv prints it: the header and rows of a result with rows, then
    the command tag where psql prints one."""
    for result in results:
        if result.returns_rows:
            yield (csv_line([c.name for c in result.columns]) + "\n").encode()
        for row in result.rows:
            yield (csv_line(row) + "\n").encode()
        if result.shows_status:
            yield (result.status + "\n").encode()


@contextlib.contextmanager
def _run(cur: psycopg.Cursor[Any], text: str, *, streamed: bool) -> Iterator[tuple[Any, Iterator[Any]]]:
    """Run one statement: (its first row or None, the rest), streamed when asked."""
    if streamed:
        rows: Iterator[Any] = cur.stream(text.encode())
        first = next(rows, None)  # runs the statement, so that the description is known
    else:
        # stream() refuses statements without rows (psycopg cannot give their tag then);
        # those return at most a few rows (SHOW, EXPLAIN, CALL).
        cur.execute(text.encode())
        rows = iter(cur.fetchall() if cur.description is not None else [])
        first = next(rows, None)
    try:
        yield first, rows
    finally:
        # A stream holds the connection's lock until it ends: when the reader stops early (an
        # error while writing, a closed pipe), end it (psycopg cancels the query) before the
        # transaction is rolled back, or the rollback would wait forever.
        close = getattr(rows, "close", None)
        if close is not None:
            close()


def _described(conn: psycopg.Connection[Any], text: str) -> list[Column]:
    """The columns `text` returns, as PostgreSQL describes the statement prepared (not run:
    its rows and changes are the streamed run's)."""
    pgconn = conn.pgconn
    prepared = pgconn.prepare(b"", text.encode())
    if prepared.status != pq.ExecStatus.COMMAND_OK:
        return []
    described = pgconn.describe_prepared(b"")
    if described.status != pq.ExecStatus.COMMAND_OK:
        return []
    return [
        Column((described.fname(i) or b"").decode(conn.info.encoding), described.ftype(i))
        for i in range(described.nfields)
    ]


_DML_TAGS = {ast.InsertStmt: "INSERT 0", ast.UpdateStmt: "UPDATE", ast.DeleteStmt: "DELETE"}


def _streamed_tag(statement: str) -> str | None:
    """For a query or DML with RETURNING (the statements whose rows stream), its command
    tag without the row count; None for any other statement."""
    try:
        parsed = parse_sql(statement)
    except ParseError:
        return None
    if len(parsed) != 1:
        return None
    node = parsed[0].stmt
    if isinstance(node, ast.SelectStmt):
        return "SELECT" if node.intoClause is None else None  # SELECT INTO makes a table, no rows
    tag = _DML_TAGS.get(type(node))
    returning = getattr(node, "returningClause", None)  # pglast 7+ (PostgreSQL 18's tree)
    return tag if getattr(returning, "exprs", None) or getattr(node, "returningList", None) else None


def _rows(first: Any, rest: Iterator[Any]) -> Iterator[Row]:
    if first is None:
        return
    yield tuple(first)
    for row in rest:
        yield tuple(row)


def run_query(url: str, sql: str, source: str = "<query>") -> list[QueryResult]:
    """`stream_query` with every row read into lists, one result a statement: for small results."""
    out: list[QueryResult] = []
    with stream_query(url, sql, source) as results:
        for result in results:
            rows = list(result.rows)
            out.append(QueryResult([c.name for c in result.columns], rows, result.status))
    return out


# --------------------------------------------------------------------------- output forms


def unaligned_line(row: Sequence[str | None]) -> str:
    """A row as `psql -At` prints it: fields joined by |, NULL as nothing."""
    return "|".join("" if value is None else value for value in row)


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
