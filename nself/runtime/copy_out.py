"""Reading a `COPY ... TO STDOUT` through psycopg a chunk at a time. PostgreSQL sends one
message per row, and psycopg's `Copy.read` goes through `Connection.wait` once per row,
which is most of the client's time for a COPY of many small rows. `receive` is a psycopg
generator (for `Connection.wait`) that takes every row libpq has already received and
waits only when there is none: one wait per chunk."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any


def receive(
    pgconn: Any, limit: int, encoding: str, add: Callable[[Any], object]
) -> Generator[Any, Any, bool]:
    """Hand the COPY's rows, as they come, to `add` (one buffer a row, valid after the call),
    until about `limit` bytes of them or the end of the data; whether the data ended. At the
    end (libpq's -1) the final result is fetched and checked as psycopg's own `Copy.read`
    does (a COPY's error raised). Within the `Cursor.copy` block that started the COPY: when
    the block ends early, psycopg cancels the COPY and reads what is left."""
    from psycopg import errors, pq
    from psycopg.generators import fetch_many
    from psycopg.waiting import Wait

    size = 0
    while size < limit:
        nbytes, data = pgconn.get_copy_data(1)
        if nbytes > 0:
            add(data)
            size += nbytes
        elif nbytes == 0:  # would block
            while not (yield Wait.R):
                pass
            pgconn.consume_input()
        else:
            results = yield from fetch_many(pgconn)
            if len(results) != 1 or results[0].status != pq.ExecStatus.COMMAND_OK:
                raise errors.error_from_result(results[-1], encoding=encoding)
            return True
    return False
