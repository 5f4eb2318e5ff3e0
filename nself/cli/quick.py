"""The plain invocations that the entry point (nself.cli.entry) runs without the command
tree: `nself schema show`, `nself schema diff` and `nself db query SQL --csv`. Editors, git
hooks, CI and scripts run them many times a day, and typer and click are a third or more of
their imports (psql's start-up sets the bar for `db query`). Any other shape of command line
(--help, --debug, an option they do not know, a repeated one, `--`) returns here having done
nothing, and the command tree runs it: the typer commands define the help. The project, the
connection and the errors are nself's own on both paths (nself.cli.outcome).

`show_command` and `diff_command` are the commands' one body: the typer commands
(nself.cli.schema) call them with typer's parsed options, and `run_schema_show` and
`run_schema_diff` with the same options read from a plain command line (see each)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path


def run_plain(args: list[str]) -> None:
    """Run `args` and end the process when they are a plain invocation of one of this
    module's commands; None, having done nothing, otherwise."""
    if os.environ.get("NSELF_DEBUG") == "1" or "_NSELF_COMPLETE" in os.environ:
        return None  # tracebacks and completion: the command tree's way
    head, rest = args[:2], args[2:]
    if head == ["schema", "diff"]:
        run_schema_diff(rest)
    elif head == ["schema", "show"]:
        run_schema_show(rest)
    elif head == ["db", "query"]:
        run_query_csv(args)
    return None


# The flags `schema diff` takes, by the keyword of diff_command they set.
_DIFF_FLAGS = {
    "--exit-code": "exit_code",
    "--reorder-columns": "reorder_columns",
    "--include-platform": "include_platform",
}


Write = Callable[[str, Path | None], None]  # text, and the file to write it to (else stdout)

# `schema show`'s options with a value, by their names, and the keyword each sets.
_SHOW_OPTIONS = {
    "--from": "source",
    "--format": "format",
    "-f": "format",
    "--output": "output",
    "-o": "output",
}


def show_command(
    source: str | None, format: str, output: Path | None, *, include_platform: bool, write: Write
) -> None:
    """Print (or write to `output`) the schema read from `source` in `format`; what the
    format cannot hold is warned of."""
    from nself.backends import SCHEMA_FORMATS, load_losses, load_renderer
    from nself.cli.messages import warn
    from nself.errors import OptionError
    from nself.runtime.project import load_project
    from nself.runtime.sources import load_catalog

    if format not in SCHEMA_FORMATS:
        raise OptionError(f"--format: {format!r} is not one of {', '.join(SCHEMA_FORMATS)}")
    catalog = load_catalog(source, load_project(), include_platform=include_platform)
    files = load_renderer(SCHEMA_FORMATS[format])(catalog, {})
    losses = load_losses(SCHEMA_FORMATS[format])
    warn(*(f"{format}: {loss}" for loss in (losses(catalog) if losses else [])))
    write("".join(files.values()), output)


def run_schema_show(args: list[str]) -> None:
    """Run `nself schema show ARGS` and end the process when ARGS are plain: --from, --format
    (-f) and --output (-o), each once, as `--name VALUE` or `--name=VALUE`, and the flag
    --include-platform. None, having done nothing, otherwise."""
    options: dict[str, str] = {}
    include_platform = False
    rest = iter(args)
    for arg in rest:
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg == "--include-platform" and not include_platform:
            include_platform = True
            continue
        key = _SHOW_OPTIONS.get(name)
        if key is None or key in options:
            return None
        if not equals:
            value = next(rest, "-")
            if value.startswith("-"):
                return None
        options[key] = value
    if os.environ.get("NSELF_DEBUG") == "1":
        return None  # tracebacks: the command tree's way
    output = Path(options["output"]) if "output" in options else None

    def show() -> int:
        from nself.cli.messages import write_output

        show_command(
            options.get("source"),
            options.get("format", "text"),
            output,
            include_platform=include_platform,
            write=write_output,
        )
        return 0

    _run(show, ["schema", "show", *args])
    return None


def diff_command(
    first: str | None,
    second: str | None,
    *,
    create_migration: str | None,
    exit_code: bool,
    reorder_columns: bool,
    include_platform: bool,
    write: Write,
) -> int:
    """Print the SQL from `first` to `second` with `write` (or write it as a migration),
    warnings and notes on stderr; the exit code (1 with `exit_code` when they differ)."""
    from nself.cli.messages import note, warn
    from nself.runtime import schema_diff
    from nself.runtime.project import load_project

    proj = load_project()
    if create_migration is not None:
        schema_diff.refuse_pending_migrations(second, proj)
    result = schema_diff.diff_sources(
        first, second, proj, reorder_columns=reorder_columns, include_platform=include_platform
    )
    warn(*(f"destructive: {reason}" for reason in result.destructive), *result.notes, *result.rebuilds)
    if not result.has_changes:
        note(f"no differences: {result.source} -> {result.target}")
    elif create_migration is not None:
        path = schema_diff.write_migration(result, create_migration, proj)
        note(f"wrote {path}")
    else:
        write(result.script(), None)
    return 1 if exit_code and result.has_changes else 0


def run_schema_diff(args: list[str]) -> None:
    """Run `nself schema diff ARGS` and end the process when ARGS are plain (see the module
    docstring); None, having done nothing, otherwise."""
    operands: list[str] = []
    flags = dict.fromkeys(_DIFF_FLAGS.values(), False)
    for arg in args:
        if arg in _DIFF_FLAGS:
            flags[_DIFF_FLAGS[arg]] = True
        elif arg.startswith("-") or len(operands) == 2:
            return None
        else:
            operands.append(arg)
    if os.environ.get("NSELF_DEBUG") == "1":
        return None  # tracebacks: the command tree's way
    first = operands[0] if operands else None
    second = operands[1] if len(operands) > 1 else None

    def diff() -> int:
        from nself.cli.messages import write_output

        return diff_command(first, second, create_migration=None, write=write_output, **flags)

    _run(diff, ["schema", "diff", *args])
    return None


def _run(command: Callable[[], int], args: list[str]) -> None:
    from nself.cli.messages import show_source_warnings
    from nself.cli.outcome import run_command

    show_source_warnings()
    run_command(command, args)


def query_csv_args(args: list[str]) -> tuple[str, str | None] | None:
    """(SQL, environment) when `args` are `db query` with one SQL argument, --csv and at
    most one --env; None otherwise."""
    if args[:2] != ["db", "query"]:
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


def run_query_csv(args: list[str]) -> None:
    """Run `nself db query SQL --csv [--env NAME]` (the whole command line `args`) and end the
    process: the rows are COPY's CSV, straight to stdout. None, having done nothing, for any
    other shape."""
    found = query_csv_args(args)
    if found is None:
        return None
    sql, env = found

    def query() -> int:
        from nself.runtime.local import database_url
        from nself.runtime.project import load_project
        from nself.runtime.query import stream_csv

        proj = load_project()
        url = database_url(proj, proj.environment(env))
        with reader_gone(), stream_csv(url, sql) as chunks:
            write_bytes(chunks)
        return 0

    _run(query, args)
    return None


@contextlib.contextmanager
def reader_gone() -> Iterator[None]:
    """`db query ... | head`: the reader closed the pipe before the last row. The statement's
    transaction is rolled back (the error leaves the stream), and the user is told so."""
    from nself.errors import OptionError

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
