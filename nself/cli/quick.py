"""`nself schema show` and `nself schema diff`: the commands themselves, and the plain
invocations of them that the entry point (nself.cli.entry) runs without the command tree.
typer and click are a third or more of the imports of a diff, which editors, git hooks and
CI run many times a day.

`show_command` and `diff_command` are the commands' one body: the typer commands
(nself.cli.schema) call them with typer's parsed options, and `run_schema_show` and
`run_schema_diff` with the same options read from a plain command line (see each). Anything
else (--help, an option they do not know, a repeated one, `--`) is left to the typer
command, which also defines the help."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

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
