"""Running the real `nself` command as a user would: `run_nself` runs it in this process,
through the entry point the `nself` process itself uses (nself.cli.entry.quick_answer, then
nself.cli.main.execute), with its own argv, environment, working directory, stdin and
stdout/stderr (file descriptors included, so the programs nself starts, psql or pg_dump,
write into the same capture); `run_nself_process` starts a separate process, for the tests
whose subject is the process itself (start-up imports, signals, exit without teardown).

In-process saves a Python start-up and the import of typer, rich, psycopg and the command's
modules per call (0.3 to 0.5 s each, more under load, on ~900 calls of the suite)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def nself_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a `nself` run: this one, no colours, 200 columns, no --debug."""
    environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    environ.pop("NSELF_DEBUG", None)
    return environ


def run_nself_process(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> Result:
    """`nself ARGS` in a separate process (`python -P -m nself`)."""
    done = subprocess.run(
        # -P: the project folder holds a nself/ directory that must not shadow the package.
        [sys.executable, "-P", "-m", "nself", *args],
        cwd=cwd,
        env=nself_environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def run_nself(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """`nself ARGS` run in this process as the `nself` process runs it: the same entry point
    and exit code (an exception let through by --debug is printed as the interpreter would,
    exit 1), the environment of nself_environment(env) in os.environ, `cwd` as the working
    directory, stdin from /dev/null, stdout and stderr captured at the file descriptors.
    Everything it changed in the process (environment, working directory, standard streams,
    signal handlers, warning filters) is put back afterwards. More than `timeout` seconds
    raises subprocess.TimeoutExpired, as subprocess.run would."""
    from nself.cli.entry import quick_answer

    with _isolated(cwd, nself_environment(env)) as (out, err), _deadline(args, timeout):
        try:
            text = quick_answer(list(args))
            if text is not None:
                sys.stdout.write(text)
                code = 0
            else:
                from nself.cli.main import execute

                code = execute(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except subprocess.TimeoutExpired:
            raise
        except BaseException as exc:  # what the interpreter prints of an uncaught exception
            sys.stderr.write("".join(traceback.format_exception(exc)))
            code = 1
    return Result(code, out.getvalue(), err.getvalue())


class _Captured:
    """What a command wrote to one file descriptor, read once the run is over."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115
        self.text = ""

    def close(self) -> None:
        self.file.seek(0)
        self.text = self.file.read().decode("utf-8", "replace")
        self.file.close()

    def getvalue(self) -> str:
        return self.text


@contextlib.contextmanager
def _isolated(cwd: Path, environ: dict[str, str]) -> Iterator[tuple[_Captured, _Captured]]:
    saved_environ = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_signals = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    out, err = _Captured(), _Captured()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved_fds = [os.dup(fd) for fd in (0, 1, 2)]
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
        os.dup2(out.file.fileno(), 1)
        os.dup2(err.file.fileno(), 2)
        # The streams a Python process opens on a pipe: stdout block-buffered, stderr
        # line-buffered with backslashreplace, both UTF-8.
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", 1, encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
        os.environ.clear()
        os.environ.update(environ)
        os.chdir(cwd)
        _fresh_consoles()
        with warnings.catch_warnings():
            _process_warnings()
            yield out, err
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for stream in (sys.stdin, sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.close()
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        for fd, saved in enumerate(saved_fds):
            os.dup2(saved, fd)
            os.close(saved)
        os.close(null)
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
        for number, handler in saved_signals.items():
            signal.signal(number, handler)
        _fresh_consoles()
        out.close()
        err.close()


def _fresh_consoles() -> None:
    """nself's rich consoles read the environment (NO_COLOR, COLUMNS, the terminal) when they
    are made, at import: remake each as a new process would make it, in place."""
    from rich.console import Console

    seen: set[int] = set()
    for name, module in list(sys.modules.items()):
        if not name.startswith("nself.") or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Console) and id(value) not in seen:
                seen.add(id(value))
                fresh = Console(
                    file=value._file,
                    stderr=value.stderr,
                    highlight=value._highlight,
                    soft_wrap=value.soft_wrap,
                )
                vars(value).update(vars(fresh))


def _process_warnings() -> None:
    """Python's default warning filters and display (on sys.stderr), as in a new process."""
    warnings.resetwarnings()
    for action, category in (
        ("ignore", ResourceWarning),
        ("ignore", ImportWarning),
        ("ignore", PendingDeprecationWarning),
        ("ignore", DeprecationWarning),
    ):
        warnings.simplefilter(action, category)  # type: ignore[arg-type]
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: Any = None,
        line: str | None = None,
    ) -> None:
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show


@contextlib.contextmanager
def _deadline(args: tuple[str, ...], timeout: float) -> Iterator[None]:
    """subprocess.TimeoutExpired after `timeout` seconds (where this is the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(number: int, frame: FrameType | None) -> None:
        raise subprocess.TimeoutExpired(["nself", *args], timeout)

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
