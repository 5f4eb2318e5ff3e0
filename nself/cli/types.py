"""`nself types`: generate types for TypeScript, Go, Python, Swift, Rust and GraphQL.

    nself types typescript -o types/db.ts --with-relations
    nself types                  # every output configured in nself.toml [types]
    nself types --check          # exit 1 naming each stale output
    nself types --watch          # regenerate on every change of the migrations

The work is in nself.runtime.codegen; this module parses options and prints."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from nself.cli.common import IncludePlatformOption, OutputOption, err_console, project, warn, write_output
from nself.cli.safety import App
from nself.collector import collector_paused
from nself.connection import is_connection_target
from nself.errors import OptionError

if TYPE_CHECKING:  # the generator is loaded when types are generated, not for --help
    from nself.runtime import codegen
    from nself.runtime.project import Project

app = App(
    help="Generate types from the schema: typescript, go, python, swift, rust, graphql.",
    invoke_without_command=True,
)

SourceOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Environment name, postgresql:// URL, migrations directory, .sql, .dbml or .json file "
        "(default: nself/migrations when it exists, else the local environment).",
        show_default=False,
    ),
]
CheckOption = Annotated[
    bool, typer.Option("--check", help="Write nothing; exit 1 naming each output that is out of date.")
]
ArraysOption = Annotated[
    str | None,
    typer.Option(
        "--arrays",
        help="any (default: array types admit every dimension PostgreSQL accepts) or declared "
        "(the declared dimensions).",
        show_default=False,
    ),
]
WatchOption = Annotated[
    bool, typer.Option("--watch", help="Regenerate whenever the migrations or DBML files change.")
]


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _absolute_source(source: str | None, proj: Project) -> str | None:
    """--from as given on the command line: a path is relative to the working directory."""
    if source is None or is_connection_target(source):
        return source
    if source in proj.environments or source == "local":
        return source
    return str(Path.cwd() / source)


def _report(result: codegen.Regeneration) -> None:
    milliseconds = result.seconds * 1000
    _print_warnings(result.warnings)
    if result.error is not None:
        err_console.print(f"error: {result.error}", markup=False, highlight=False)
    elif result.written:
        names = ", ".join(_display(p) for p in result.written)
        err_console.print(f"regenerated {names} in {milliseconds:.0f} ms", markup=False, highlight=False)
    else:
        err_console.print(f"up to date ({milliseconds:.0f} ms)", markup=False, highlight=False)


def _run_outputs(
    proj: Project,
    outputs: list[codegen.TypeOutput],
    *,
    check: bool,
    watch: bool,
    include_platform: bool = False,
) -> None:
    from nself.runtime import codegen

    if check and watch:
        raise OptionError("--check and --watch cannot be used together")
    if watch:
        err_console.print(
            "watching "
            + ", ".join(_display(p) for p in codegen.watched_paths(proj, outputs))
            + " (Ctrl-C to stop)",
            markup=False,
            highlight=False,
        )
        codegen.watch(proj, outputs, _report, stop=threading.Event(), include_platform=include_platform)
        return
    if not check:
        with collector_paused(), codegen.type_warnings() as found:
            written = codegen.generate_files(proj, outputs, parallel=True, include_platform=include_platform)
        _print_warnings(found)
        for output, wrote in written:
            verb = "wrote" if wrote else "unchanged"
            err_console.print(f"{verb} {_display(output.path)}", markup=False, highlight=False)
        return
    with collector_paused(), codegen.type_warnings() as found:
        results = codegen.generate(proj, outputs, parallel=True, include_platform=include_platform)
    _print_warnings(found)
    stale = codegen.stale(results)
    for path in stale:
        err_console.print(f"stale: {_display(path)}", markup=False, highlight=False)
    if stale:
        raise typer.Exit(1)
    err_console.print(f"{len(results)} output(s) up to date", markup=False, highlight=False)


@app.callback(destructive=False)
def types(
    ctx: typer.Context,
    source: SourceOption = None,
    check: CheckOption = False,
    watch: WatchOption = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """Generate types. Without a language: every output configured in nself.toml [types].

    Examples:

      nself types typescript -o types/db.ts

      nself types python --pydantic --from nself/migrations

      nself types --check
    """
    from nself.runtime import codegen

    if ctx.invoked_subcommand is not None:
        if source or check or watch or include_platform:
            raise OptionError(
                "put --from, --check, --watch and --include-platform after the language "
                "(nself types LANGUAGE --check)"
            )
        return
    proj = project()
    outputs = codegen.configured_outputs(proj)
    if not outputs:
        raise OptionError(
            f'no outputs configured: add [types.LANGUAGE] output = "FILE" to {proj.config_path}, '
            "or name a language (nself types typescript)"
        )
    if source is not None:
        overriding = _absolute_source(source, proj)
        outputs = [codegen.TypeOutput(o.language, o.path, o.options, overriding) for o in outputs]
    _run_outputs(proj, outputs, check=check, watch=watch, include_platform=include_platform)


def _generate_one(
    language: str,
    options: dict[str, Any],
    source: str | None,
    output: Path | None,
    check: bool,
    watch: bool,
    include_platform: bool = False,
) -> None:
    """One language's output. `options`: only those given on the command line; the others
    come from [types.LANGUAGE] in nself.toml when its output is the one written (no -o, or
    -o naming its file), so --check agrees with `nself types`."""
    from nself.runtime import codegen

    proj = project()
    resolved = _absolute_source(source, proj) if source is not None else None
    path = Path.cwd() / output if output is not None else None
    target = codegen.single_output(proj, language, options, resolved, path)
    if check or watch:
        if output is None:
            raise OptionError(f"{'--check' if check else '--watch'} needs --output FILE")
        _run_outputs(proj, [target], check=check, watch=watch, include_platform=include_platform)
        return
    with collector_paused(), codegen.type_warnings() as found:
        text = codegen.render_output(proj, target, include_platform=include_platform)
    _print_warnings(found)
    write_output(text, output)


def _print_warnings(messages: list[str]) -> None:
    for message in messages:
        warn(escape(message))


@app.command("typescript", destructive=False)
def typescript(
    output: OutputOption = None,
    source: SourceOption = None,
    arrays: ArraysOption = None,
    with_relations: Annotated[
        bool, typer.Option("--with-relations", help="Add <Table>WithRelations types with the related rows.")
    ] = False,
    relationships: Annotated[
        bool | None,
        typer.Option(
            "--relationships/--no-relationships",
            help="Foreign keys in Database (the Relationships postgrest-js embeds through; default: on).",
            show_default=False,
        ),
    ] = None,
    flavor: Annotated[
        str | None,
        typer.Option(
            "--flavor",
            help="supabase (a Database type for supabase-js, the default) or kysely (a DB interface).",
            show_default=False,
        ),
    ] = None,
    int8: Annotated[
        str | None,
        typer.Option(
            "--int8",
            help="bigint as number, string or bigint (default: number for supabase, string for kysely).",
            show_default=False,
        ),
    ] = None,
    numeric: Annotated[
        str | None,
        typer.Option(
            "--numeric",
            help="numeric as number, string or bigint (default: as --int8's default).",
            show_default=False,
        ),
    ] = None,
    partitions: Annotated[
        bool, typer.Option("--partitions", help="Also emit each partition (by default only its parent).")
    ] = False,
    check: CheckOption = False,
    watch: WatchOption = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """TypeScript types: a supabase-js Database type, or a kysely DB interface with --flavor kysely.

    Examples:

      nself types typescript -o types/db.ts

      nself types typescript --with-relations --from nself/migrations

      nself types typescript --flavor kysely -o src/db.ts
    """
    # Only what was given: the rest comes from [types.typescript] (see _generate_one).
    options: dict[str, Any] = {}
    if with_relations:
        options["with_relations"] = True
    if flavor is not None:
        options["flavor"] = flavor
    if relationships is not None:
        options["relationships"] = relationships
    if int8:
        options["int8"] = int8
    if numeric:
        options["numeric"] = numeric
    if partitions:
        options["partitions"] = True
    if arrays:
        options["arrays"] = arrays
    _generate_one("typescript", options, source, output, check, watch, include_platform)


@app.command("go", destructive=False)
def go(
    output: OutputOption = None,
    source: SourceOption = None,
    arrays: ArraysOption = None,
    package: Annotated[
        str | None, typer.Option("--package", help="Go package name (default: models).")
    ] = None,
    check: CheckOption = False,
    watch: WatchOption = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """Go structs (standard library only).

    Examples:

      nself types go --package models -o models/db.go
    """
    options: dict[str, Any] = {"package": package} if package else {}
    if arrays:
        options["arrays"] = arrays
    _generate_one("go", options, source, output, check, watch, include_platform)


@app.command("python", destructive=False)
def python(
    output: OutputOption = None,
    source: SourceOption = None,
    arrays: ArraysOption = None,
    pydantic: Annotated[
        bool, typer.Option("--pydantic", help="pydantic v2 models instead of dataclasses.")
    ] = False,
    check: CheckOption = False,
    watch: WatchOption = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """Python dataclasses, or pydantic v2 models with --pydantic.

    Examples:

      nself types python --pydantic -o app/models.py
    """
    options: dict[str, Any] = {"pydantic": True} if pydantic else {}
    if arrays:
        options["arrays"] = arrays
    _generate_one("python", options, source, output, check, watch, include_platform)


@app.command("swift", destructive=False)
def swift(
    output: OutputOption = None,
    source: SourceOption = None,
    arrays: ArraysOption = None,
    check: CheckOption = False,
    watch: WatchOption = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """Swift Codable structs.

    Examples:

      nself types swift -o Models/DB.swift
    """
    _generate_one(
        "swift", {"arrays": arrays} if arrays else {}, source, output, check, watch, include_platform
    )


@app.command("rust", destructive=False)
def rust(
    output: OutputOption = None,
    source: SourceOption = None,
    arrays: ArraysOption = None,
    check: CheckOption = False,
    watch: WatchOption = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """Rust structs with serde.

    Examples:

      nself types rust -o src/models/db.rs
    """
    _generate_one(
        "rust", {"arrays": arrays} if arrays else {}, source, output, check, watch, include_platform
    )


@app.command("graphql", destructive=False)
def graphql(
    output: OutputOption = None,
    source: SourceOption = None,
    arrays: ArraysOption = None,
    with_hasura: Annotated[
        bool, typer.Option("--with-hasura", help="Hasura-style filter, order, input types and root fields.")
    ] = False,
    check: CheckOption = False,
    watch: WatchOption = False,
    include_platform: IncludePlatformOption = False,
) -> None:
    """A GraphQL schema (SDL).

    Examples:

      nself types graphql -o schema.graphql

      nself types graphql --with-hasura --from staging
    """
    options: dict[str, Any] = {"with_hasura": True} if with_hasura else {}
    if arrays:
        options["arrays"] = arrays
    _generate_one(
        "graphql",
        options,
        source,
        output,
        check,
        watch,
        include_platform,
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="types")
