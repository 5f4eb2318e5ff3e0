"""`nself db query SQL --csv [--env NAME]` answered without the command tree: scripts run
it over and over, and psql's start-up sets the bar. Typer, rich and the db group's modules
(about as long to import as the rest of the command) are not loaded; the project, the
connection and the query are nself's own, as on the typer path, and so are the errors
(nself.cli.ending). Only that exact shape takes this path: any other word (another
option, --help, --debug, a misspelling) goes through typer as before."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from typing import NoReturn

from nself.errors import OptionError


def query_csv_args(args: list[str]) -> tuple[str, str | None] | None:
    """(SQL, environment) when `args` are `db query` with one SQL argument, --csv and at
    most one --env; None otherwise."""
    if args[:2] != ["db", "query"] or "_NSELF_COMPLETE" in os.environ or os.environ.get("NSELF_DEBUG") == "1":
        return None
    sql: str | None = None
    env: str | None = None
    csv = envs = 0
    rest = iter(args[2:])
    for arg in rest:
        if arg == "--csv":
            csv += 1
        elif arg == "--env":
            env, envs = next(rest, None), envs + 1
            if env is None or env.startswith("-"):
                return None
        elif arg.startswith("--env="):
            env, envs = arg.partition("=")[2], envs + 1
        elif arg.startswith("-") or sql is not None:
            return None
        else:
            sql = arg
    if sql is None or csv != 1 or envs > 1:
        return None
    return sql, env


def run_query_csv(sql: str, env: str | None, args: list[str]) -> NoReturn:
    from nself.cli.ending import end, fail

    try:
        from nself.runtime.local import database_url
        from nself.runtime.project import load_project
        from nself.runtime.query import stream_csv

        proj = load_project()
        url = database_url(proj, proj.environment(env))
        with reader_gone(), stream_csv(url, sql) as chunks:
            write_bytes(chunks)
    except Exception as exc:
        fail(exc, args)
    end(0)


@contextlib.contextmanager
def reader_gone() -> Iterator[None]:
    """`db query ... | head`: the reader closed the pipe before the last row. The statement's
    transaction is rolled back (the error leaves the stream), and the user is told so."""
    try:
        yield
    except BrokenPipeError:
        # Python would fail again flushing stdout at exit: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise OptionError(
            "stdout was closed before every row was written (broken pipe); the statement's transaction was rolled back"
        ) from None


def write_bytes(chunks: Iterable[bytes]) -> None:
    """Bytes straight to stdout's buffer (no decoding, no text layer)."""
    sys.stdout.flush()
    out = sys.stdout.buffer
    for chunk in chunks:
        out.write(chunk)
    out.flush()
