"""How the `nself` process ends: an error as one line on stderr (secrets scrubbed) with its
exit code, the streams flushed, the interpreter not torn down. Shared by the command tree
(nself.cli.main) and the commands the entry point runs without it (nself.cli.quick);
imports neither typer nor rich."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from nself.errors import NselfError, database_error_line


def run_command(command: Callable[[], int], args: list[str]) -> NoReturn:
    """Run `command` (which returns its exit code) and end the process as nself.cli.main
    does for a command of the tree (without --debug: that one shows tracebacks)."""
    try:
        code = command()
    except KeyboardInterrupt:
        say("aborted")
        finish(130)
    except Exception as exc:
        finish(reported(exc, args))
    finish(code)


def reported(exc: Exception, args: list[str]) -> int:
    """Print the one line for an exception a command raised (not click's) and give its exit
    code: a user error (NselfError, an IR file that does not parse, a database error) 1,
    anything else an internal error, 70. The traceback only with --debug (the caller
    re-raises then)."""
    if isinstance(exc, NselfError) or _is_ir_format_error(exc):
        error(str(exc), args)
        return 1
    database_error = database_error_line(exc)
    if database_error is not None:
        error(database_error, args)
        return 1
    error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", args)
    return 70


def _is_ir_format_error(exc: Exception) -> bool:
    """An IR file that does not parse (nself.ir.IRFormatError): a user error, one line. Read
    from sys.modules: a command that never loaded the IR cannot raise it, and importing the
    IR for the question would cost every command its import."""
    ir = sys.modules.get("nself.ir")
    return ir is not None and isinstance(exc, ir.IRFormatError)


def error(message: str, args: list[str]) -> None:
    """Print `message` as one line. Each layer masks what it shows (nself.connection); this
    is the last net: connection targets given on the command line and $PGPASSWORD are
    scrubbed from every error, whatever raised it."""
    text = " ".join(message.split())
    from nself.connection import is_connection_target, scrub, scrub_secrets

    values = [arg.partition("=")[2] if arg.startswith("--") else arg for arg in args]  # --from=URL
    given = [value for value in values if "=" in value or "://" in value]
    targets = [
        *(part for part in given if is_connection_target(part) or "password" in part.lower()),
        *_environment_urls(),
    ]
    text = scrub_secrets(scrub(text, *targets), [os.environ.get("PGPASSWORD", "")])
    say(f"error: {text}")


def say(line: str) -> None:
    """One line on stderr."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def human_size(size: int) -> str:
    """A byte count as people read it: `512 B`, `1.5 KiB`, ... up to GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _environment_urls() -> list[str]:
    """The URLs of the project's environments whose variables are set (none outside a project)."""
    from nself.runtime.project import load_project

    urls = []
    with contextlib.suppress(Exception):  # a broken nself.toml is the error being printed
        for environment in load_project().environments.values():
            with contextlib.suppress(Exception):
                if not environment.managed:
                    urls.append(environment.base_url())
    return urls


def finish(code: int | None) -> NoReturn:
    """End the process once the command is done (its files written and closed, its
    connections closed): the output streams are flushed and the interpreter is not torn
    down. Teardown frees every object one by one and collects once more, about 0.2 s after
    compiling a 1,000-table schema, for nothing; nself registers no atexit handler. Only
    for the process's own entry point: an in-process caller uses nself.cli.main.execute."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken pipe: nothing more to say
            stream.flush()
    os._exit(code or 0)
