"""Running ad-hoc SQL (`nself db query`) and psql (`nself db shell`)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from nself.connection import connect, target_params
from nself.errors import NselfError, SourceError, position_of
from nself.runtime.cluster import find_pg_program


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    status: str


def run_query(url: str, sql: str, source: str = "<query>") -> QueryResult:
    """Run `sql` (one or more statements, in one transaction) and return what the last
    statement produced. Errors name source:line:col."""
    with connect(url) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(sql.encode())
                result = QueryResult([], [], cur.statusmessage or "")
                # With several statements, the last result set is the one a user looks at.
                while True:
                    if cur.description is not None:
                        result = QueryResult([c.name for c in cur.description], cur.fetchall(), cur.statusmessage or "")
                    else:
                        result = QueryResult([], [], cur.statusmessage or "")
                    if not cur.nextset():
                        break
        except psycopg.Error as exc:
            message = exc.diag.message_primary or str(exc).splitlines()[0]
            if exc.diag.statement_position:
                line, col = position_of(sql, int(exc.diag.statement_position) - 1)
                raise SourceError(source, line, col, message) from None
            raise NselfError(f"{source}: {message}") from None
    return result


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
