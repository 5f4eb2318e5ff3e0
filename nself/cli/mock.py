"""`nself mock`: deterministic, shareable mock data."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from nself.cli.common import (
    EnvOption,
    IncludePlatformOption,
    JsonOption,
    console,
    environment,
    err_console,
    print_json,
    project,
)
from nself.cli.safety import App
from nself.errors import OptionError

# Runtime modules (numpy, psycopg) are imported inside the commands: `nself --help` and
# the other command groups should not pay for them at start-up.

app = App(
    help="Deterministic mock data: the same config and seed give the same rows everywhere.",
    no_args_is_help=True,
)


@app.command("init", destructive=False)
def init(
    env: EnvOption = None,
    seed: Annotated[int, typer.Option("--seed", help="The seed recorded in nself/mock/mock.seed.")] = 42,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config.")] = False,
    include_platform: IncludePlatformOption = False,
    as_json: JsonOption = False,
) -> None:
    """Write nself/mock/mock.config.yaml from the schema (a generator per column) and mock.seed.

    Examples:

      nself mock init

      nself mock init --seed 7 --force --json
    """
    from nself.runtime.mock.commands import init_mock

    proj, environ = environment(env)
    _wrote(init_mock(proj, environ, seed=seed, force=force, include_platform=include_platform), as_json)


def _wrote(paths: Iterable[Path], as_json: bool, **extra: object) -> None:
    """The files a command wrote: `wrote PATH` lines, or {"written": [...], ...} with --json."""
    written = [str(path) for path in paths]
    if as_json:
        print_json({"written": written, **extra})
        return
    for path in written:
        console.print(f"wrote {path}")


@app.command("generate", destructive="empty the tables and fill them with mock rows")
def generate_command(
    tables: Annotated[
        list[str] | None, typer.Argument(help="Only these tables (default: all).", show_default=False)
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Override the config's seed.")] = None,
    preset: Annotated[
        str | None,
        typer.Option("--preset", help="minimal (10), medium (1,000) or stress (100,000) rows per table."),
    ] = None,
    env: EnvOption = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", "-y", help="Also empty tables that reference the generated ones, without asking."
        ),
    ] = False,
    include_platform: IncludePlatformOption = False,
    as_json: JsonOption = False,
) -> None:
    """Empty the tables and fill them with mock rows (refused on production). Tables that
    reference them are emptied too: nself lists them and asks first (--yes to agree).

    Examples:

      nself mock generate

      nself mock generate users --seed 42

      nself mock generate --preset stress
    """
    from nself.runtime.mock.commands import generate

    proj, environ = environment(env)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=as_json,
    ) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = bar.add_task(table, total=total)
            bar.update(tasks[table], completed=done)

        def confirm(cascaded: list[str]) -> bool:
            if yes:
                return True
            if not sys.stdin.isatty():
                return False
            bar.stop()  # the question is asked outside the progress display
            answer = typer.confirm(
                f"This also empties {', '.join(cascaded)} (they reference the generated tables). Continue?"
            )
            bar.start()
            return answer

        results = generate(
            proj,
            environ,
            tables=tables,
            seed=seed,
            preset=preset,
            progress=advance,
            confirm=confirm,
            include_platform=include_platform,
        )
    if as_json:
        print_json([{**r.__dict__, "duration_ms": round(r.seconds * 1000)} for r in results])
        return
    for result in results:
        if result.cascaded:
            console.print(f"{result.table}: emptied (it references a generated table)")
            continue
        rate = result.rows / result.seconds if result.seconds > 0 else 0
        console.print(f"{result.table}: {result.rows} rows ({rate:,.0f} rows/s)")


@app.command("preview", destructive=False)
def preview_command(
    table: Annotated[str, typer.Argument(help="Table to preview.")],
    rows: Annotated[int, typer.Option("--rows", "-n", help="How many rows.")] = 5,
    env: EnvOption = None,
    include_platform: IncludePlatformOption = False,
    as_json: JsonOption = False,
) -> None:
    """Print rows a table would get, without writing anything.

    Examples:

      nself mock preview users --rows 3
    """
    from nself.runtime.mock.commands import preview

    proj, environ = environment(env)
    columns, values = preview(proj, environ, table, rows, include_platform=include_platform)
    if as_json:
        print_json([dict(zip(columns, row, strict=True)) for row in values])
        return
    out = Table(*columns)
    for row in values:
        out.add_row(*("NULL" if v is None else v for v in row))
    console.print(out)


@app.command("config", destructive=False)
def config() -> None:
    """Open the mock config in $EDITOR, then check it.

    Examples:

      EDITOR=nano nself mock config
    """
    from nself.runtime.mock.project import CONFIG_NAME, load_config, mock_dir

    path = mock_dir(project().root) / CONFIG_NAME
    if not path.exists():
        raise OptionError(f"{path} not found: run `nself mock init` first")
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    subprocess.run([*shlex.split(editor), str(path)], check=False)
    load_config(path)
    console.print(f"{path} is valid")


@app.command("export", destructive=False)
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="Archive to write (.tar.gz).")] = Path(
        "mock.tar.gz"
    ),
    as_json: JsonOption = False,
) -> None:
    """Pack the mock config and seed to share them.

    Examples:

      nself mock export -o mock.tar.gz

      nself mock export --json
    """
    from nself.runtime.mock.project import export_archive

    names = export_archive(project().root, output)
    if as_json:
        print_json({"written": [str(output)], "files": list(names)})
        return
    console.print(f"wrote {output} ({', '.join(names)})")


@app.command("import", destructive=False)
def import_command(
    archive: Annotated[Path, typer.Argument(help="Archive made by `nself mock export`.")],
    as_json: JsonOption = False,
) -> None:
    """Unpack a shared mock config and seed into nself/mock/.

    Examples:

      nself mock import mock.tar.gz

      nself mock import mock.tar.gz --json
    """
    from nself.runtime.mock.project import import_archive

    _wrote(import_archive(project().root, archive), as_json)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="mock")
