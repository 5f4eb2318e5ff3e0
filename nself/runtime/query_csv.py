"""`nself db query --csv`: what `psql --csv` writes for a script, from PostgreSQL's own
output functions.

A script of one query (SELECT, VALUES, TABLE, WITH ... SELECT) runs as
`COPY (query) TO STDOUT (FORMAT csv, HEADER)`: the server writes the text psql receives,
and nself passes its bytes on. COPY's CSV differs from psql's in two places only. COPY
quotes an empty string to tell it from NULL, where psql writes both as nothing: so NULL is
written as a random token for this run (an empty string is then unquoted) and the token is
removed; a value equal to the token, the only one COPY would quote, is a 128-bit guess.
And COPY leaves a lone `\\.` unquoted in a row of many columns, which psql quotes: a chunk
holding one has it quoted.

That COPY runs on libpq directly (nself.libpq, connected by nself.connection.connect_libpq),
without psycopg, pglast or the rest of nself.runtime.query: their imports were most of the
command's time. The server tells whether the script is one query: it is prepared (parsed
and analysed, not run) as `SELECT * FROM (script) AS q`, which PostgreSQL accepts for one
SELECT, VALUES or TABLE without INTO and refuses for anything else (several statements,
DML ... RETURNING, a data-modifying WITH, SHOW, EXPLAIN, a syntax error). Everything it
refuses, and any target libpq cannot be loaded for, goes through psycopg
(nself.runtime.query.stream_script_csv), whose errors are the ones reported."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence

from nself.errors import NselfError, SourceError, position_of

# The query inside the COPY starts on the line after this head (so that a trailing line
# comment in the query cannot swallow the end of the COPY).
COPY_HEAD = "COPY (\n"
# Bytes after which the CSV is handed on (fewer, larger writes).
CSV_CHUNK = 1 << 16
# An unquoted \. alone in a field: psql quotes it, COPY only in a one-column row.
_LONE_END_MARKER = re.compile(rb"(?:^|,)\\\.(?=,|\n)", re.MULTILINE)


@contextlib.contextmanager
def stream_csv(url: str, sql: str, source: str = "<query>") -> Iterator[Iterator[bytes]]:
    """Run `sql` (one or more statements, in one transaction) and yield what `psql --csv`
    writes for it (each result's header and rows, then its command tag where psql prints
    one), in chunks of bytes. Errors name source:line:col where the server gave a
    position."""
    from nself.connection import connect_libpq

    query = _without_final_semicolon(sql)
    conn = connect_libpq(url) if query.strip() else None
    if conn is not None:
        from nself.libpq import ServerError

        with conn:
            try:
                conn.run(b"BEGIN")
                one_query = conn.parses(f"SELECT * FROM (\n{query}\n) AS nself_query".encode())
            except ServerError as exc:
                raise query_error(exc.message, exc.position, sql, 0, source) from None
            if one_query:
                null = null_token()
                copy = f"{COPY_HEAD}{query}\n) TO STDOUT (FORMAT csv, HEADER, NULL '{null}')"
                try:
                    yield psql_csv(conn.copy_out(copy.encode(), CSV_CHUNK), null.encode())
                    if not conn.busy:  # every row read: the statement's transaction is kept
                        conn.run(b"COMMIT")
                except ServerError as exc:
                    raise query_error(exc.message, exc.position, sql, -len(COPY_HEAD), source) from None
                return
    from nself.runtime.query import stream_script_csv

    with stream_script_csv(url, sql, source) as chunks:
        yield chunks


def _without_final_semicolon(sql: str) -> str:
    """`sql` without the `;` that ends its last statement. Were that `;` inside a comment
    or a literal left open, both texts fail alike: the server refuses the query either way
    and the script takes psycopg's path."""
    stripped = sql.rstrip()
    return stripped[:-1] if stripped.endswith(";") else sql


def null_token() -> str:
    """The NULL string of one COPY: 128 random bits, which no value holds by chance."""
    return f"nself-null-{os.urandom(16).hex()}"


def query_error(message: str, position: int | None, sql: str, offset: int, source: str) -> NselfError:
    """The server's error as one line, placed at source:line:col when the server gave a
    position (1-based, in the statement sent, which starts at `offset` of `sql`: negative
    for a head added before it)."""
    if position:
        line, col = position_of(sql, max(offset + position - 1, 0))
        return SourceError(source, line, col, message)
    return NselfError(f"{source}: {message}")


def psql_csv(chunks: Iterable[bytes], null: bytes) -> Iterator[bytes]:
    """COPY's CSV (chunks of whole lines, the header first; NULL written as `null`) as
    psql --csv writes it, a chunk per chunk."""
    found = iter(chunks)
    first = next(found, b"")
    if not first:
        return
    if first.startswith(b"\n"):
        # No columns: psql writes the empty header and no rows (COPY writes an empty line for each).
        for _ in found:
            pass
        yield b"\n"
        return
    yield _psql_csv_chunk(first, null)
    for chunk in found:
        yield _psql_csv_chunk(chunk, null)


def _psql_csv_chunk(chunk: bytes, null: bytes) -> bytes:
    """Whole lines of COPY's CSV, NULL as nothing, a lone `\\.` quoted."""
    # A backslash is rare (one test by memchr); \. rarer still.
    if b"\\" not in chunk:
        return chunk.replace(null, b"")
    # A `\.` field found by the pattern may lie inside a quoted value ("a,\.,b"). Outside
    # quoted values COPY writes no quote at all, and inside them it doubles each one: so an
    # even count of quotes since the chunk's start (a line's start) means outside.
    out: list[bytes] = []
    copied = counted = quotes = 0
    for found in _LONE_END_MARKER.finditer(chunk):
        at = found.end() - 2
        quotes += chunk.count(b'"', counted, at)
        counted = at
        if quotes % 2 == 0:
            out += [chunk[copied:at], b'"\\."']
            copied = at + 2
    if not out:
        return chunk.replace(null, b"")
    out.append(chunk[copied:])
    return b"".join(out).replace(null, b"")


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
