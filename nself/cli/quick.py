"""The plain invocations that the entry point (nself.cli.entry) runs without the command
tree: `nself schema show`, `nself schema diff`, `nself db query SQL --csv`, `nself db dump`
and `nself db load`. Editors, git hooks, CI and scripts run them many times a day, and typer
and click are a third or more of their imports (psql's start-up sets the bar for `db query`,
pg_dump's and pg_restore's for `db dump` and `db load`). Any other shape of command line
(--help, --debug, an option they do not know, a repeated one, `--`) returns here having done
nothing, and the command tree runs it: the typer commands define the help. The project, the
connection and the errors are nself's own on both paths (nself.cli.outcome).

`show_command`, `diff_command`, `dump_command` and `load_command` are the commands' one
body: the typer commands (nself.cli.schema, nself.cli.db_dump) call them with typer's parsed
options, and `run_schema_show`, `run_schema_diff`, `run_dump` and `run_load` with the same
options read from a plain command line (see each). `db load` is destructive: its plain path
runs the production guard (nself.cli.guard.enforce) as the tree's wrapper does."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from nself.cli.outcome import human_size


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
    elif head == ["db", "dump"]:
        run_dump(rest)
    elif head == ["db", "load"]:
        run_load(rest)
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
        from nself.runtime.query_csv import stream_csv

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


# `db dump` and `db load` ---------------------------------------------------------------
# Both are thin over pg_dump / pg_restore / psql, and a script that backs up or restores
# runs them where the program's own start-up is the bar: the typer commands
# (nself.cli.db_dump) and the plain command lines below run the same bodies.

# (keyword, kind) by option name: a "flag" sets True, an "off" flag False, a "value" takes
# the next argument (or `=VALUE`), a "many" value may be given again and collects a list.
Spec = dict[str, tuple[str, str]]

_ENV: Spec = {"--env": ("env", "value"), "-e": ("env", "value"), "--json": ("as_json", "flag")}
_DUMP_OPTIONS: Spec = {
    **_ENV,
    "--output": ("output", "value"),
    "-o": ("output", "value"),
    "--schema-only": ("schema_only", "flag"),
    "--data-only": ("data_only", "flag"),
    "--format": ("fmt", "value"),
    "-F": ("fmt", "value"),
    "--table": ("tables", "many"),
    "-t": ("tables", "many"),
    "--exclude-table": ("exclude_tables", "many"),
    "-T": ("exclude_tables", "many"),
    "--with-history": ("with_history", "flag"),
}
_LOAD_OPTIONS: Spec = {
    **_ENV,
    "--clean": ("clean", "flag"),
    "--single-transaction": ("single_transaction", "flag"),
    "--no-single-transaction": ("single_transaction", "off"),
    "--jobs": ("jobs", "value"),
    "-j": ("jobs", "value"),
    "--yes": ("yes", "flag"),
    "-y": ("yes", "flag"),
    "--force-production": ("force_production", "flag"),
}


def plain_options(args: list[str], spec: Spec) -> tuple[dict[str, Any], list[str]] | None:
    """(options by keyword, operands) when `args` are plain for `spec`: each option once
    (a "many" one as often as wanted), as `--name VALUE`, `--name=VALUE` or `-x VALUE`, a
    value that is not an option (`-` is one: stdout); None for anything else (--help, `--`,
    an unknown or repeated option, bundled short flags), which the command tree answers."""
    found: dict[str, Any] = {}
    operands: list[str] = []
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            operands.append(arg)
            continue
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name not in spec:
            return None
        key, kind = spec[name]
        if kind in ("flag", "off"):
            if equals or key in found:
                return None
            found[key] = kind == "flag"
            continue
        if not equals:
            given = next(rest, None)
            if given is None or (given.startswith("-") and given != "-"):
                return None
            value = given
        if kind == "many":
            found.setdefault(key, []).append(value)
        elif key in found:
            return None
        else:
            found[key] = value
    return found, operands


@contextlib.contextmanager
def _status(message: str) -> Iterator[None]:
    """rich's spinner on a terminal (as the typer commands show it); nothing otherwise,
    where rich would print nothing either, and without importing it."""
    if not sys.stderr.isatty():
        yield
        return
    from nself.cli.messages import err_console

    with err_console().status(message):
        yield


def _print_json(data: dict[str, Any]) -> None:
    """JSON for scripts, plain (no rich), as every command's --json prints it."""
    import json

    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def dump_command(
    env: str | None,
    output: Path | None,
    *,
    schema_only: bool = False,
    data_only: bool = False,
    fmt: str | None = None,
    tables: list[str] | None = None,
    exclude_tables: list[str] | None = None,
    with_history: bool = False,
    as_json: bool = False,
) -> None:
    """`nself db dump`'s body (see its help in nself.cli.db_dump)."""
    from nself.errors import OptionError

    if fmt not in (None, "custom", "plain"):
        raise OptionError(f"--format: expected custom or plain, got {fmt!r}")
    if as_json and output is not None and str(output) == "-":
        raise OptionError("--json and -o - both want stdout; give -o FILE")
    from datetime import UTC, datetime

    from nself.runtime.dump import dump, dump_format_for
    from nself.runtime.local import database_url
    from nself.runtime.project import load_project

    chosen = dump_format_for(output, "custom" if fmt == "custom" else "plain" if fmt == "plain" else None)
    proj = load_project()
    environ = proj.environment(env)
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        suffix = ".dump" if chosen == "custom" else ".sql"
        output = proj.state_dir / "dumps" / f"{environ.name}-{stamp}{suffix}"
    url = database_url(proj, environ)
    with _status(f"dumping {environ.name}…"):
        result = dump(
            url,
            output,
            fmt=chosen,
            schema_only=schema_only,
            data_only=data_only,
            tables=tables or (),
            exclude_tables=exclude_tables or (),
            with_history=with_history,
        )
    if as_json:
        _print_json(
            {
                "path": result.path,
                "bytes": result.bytes,
                "format": result.format,
                "seconds": round(result.seconds, 3),
                "duration_ms": round(result.seconds * 1000),
            }
        )
    elif result.path != "-":
        _say(f"{result.path} ({human_size(result.bytes)}, {result.format})")


def load_command(
    file: Path,
    env: str | None,
    *,
    clean: bool = False,
    single_transaction: bool = True,
    jobs: int = 1,
    as_json: bool = False,
) -> None:
    """`nself db load`'s body, once the production guard has passed (see its help in
    nself.cli.db_dump)."""
    from nself.runtime.dump import detect_format, load
    from nself.runtime.local import database_url
    from nself.runtime.project import load_project

    detect_format(file)  # a missing file is an error before anything connects
    proj = load_project()
    environ = proj.environment(env)
    url = database_url(proj, environ)
    with _status(f"loading {file} into {environ.name}…"):
        result = load(url, file, clean=clean, single_transaction=single_transaction, jobs=jobs)
    if as_json:
        _print_json(
            {
                "path": result.path,
                "format": result.format,
                "seconds": round(result.seconds, 3),
                "duration_ms": round(result.seconds * 1000),
                "environment": environ.name,
            }
        )
    else:
        _say(f"loaded {result.path} into {environ.name} ({result.seconds:.1f}s)")


def run_dump(args: list[str]) -> None:
    """Run `nself db dump ARGS` and end the process when ARGS are plain (plain_options, no
    operand); None, having done nothing, otherwise."""
    parsed = plain_options(args, _DUMP_OPTIONS)
    if parsed is None or parsed[1]:
        return None
    options = parsed[0]
    output = Path(options.pop("output")) if "output" in options else None

    def dump() -> int:
        dump_command(options.pop("env", None), output, **options)
        return 0

    _run(dump, ["db", "dump", *args])
    return None


def run_load(args: list[str]) -> None:
    """Run `nself db load FILE ARGS` and end the process when they are plain (plain_options,
    one operand, --jobs a number) and the guard need not ask (--yes, or no terminal to ask
    on: it refuses then); None, having done nothing, otherwise (the tree asks)."""
    parsed = plain_options(args, _LOAD_OPTIONS)
    if parsed is None or len(parsed[1]) != 1:
        return None
    options, (file,) = parsed
    jobs = options.get("jobs", "1")
    if not jobs.isdigit():
        return None  # the tree's message for a value that is not a number
    options["jobs"] = int(jobs)
    yes, force = options.pop("yes", False), options.pop("force_production", False)
    if not yes and sys.stdin.isatty():
        return None

    def load() -> int:
        from nself.cli.guard import LOAD_DUMP, enforce

        enforce(LOAD_DUMP, {"file": Path(file), **options}, yes=yes, force_production=force)
        load_command(Path(file), options.pop("env", None), **options)
        return 0

    _run(load, ["db", "load", *args])
    return None
