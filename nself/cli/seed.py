"""`nself seed`: run, create, list and extract seed files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nself.cli.common import EnvOption, JsonOption, console, environment, print_json, project, write_output
from nself.cli.safety import App, Destructive
from nself.runtime.local import database_url

# runtime.seeds loads psycopg and pglast: imported inside the commands that use it.

# Plain seed runs add what the seed files say; --fresh empties the seeded tables first.
FRESH = Destructive("empty the seeded tables and run every seed", when=("fresh",))

app = App(help="Seed data: SQL files run per environment, tracked by checksum.", invoke_without_command=True)


def _seeds_dir() -> Path:
    return project().seeds_path


FreshOption = Annotated[
    bool,
    typer.Option(
        "--fresh",
        help="Empty the seeded tables and run every seed, all in one transaction. Refused when "
        "other tables referencing them hold rows, unless --cascade.",
    ),
]
CascadeOption = Annotated[
    bool,
    typer.Option("--cascade", help="With --fresh: also empty the tables that reference the seeded ones (named)."),
]


def _run(name: str | None, env: str | None, fresh: bool, cascade: bool, as_json: bool) -> None:
    from nself.runtime.seeds import run_seeds

    proj, environ = environment(env)

    def emptied(tables: list[str]) -> None:
        if not as_json:
            console.print(f"[yellow]emptied[/yellow] {', '.join(tables) or 'no tables'}")

    runs = run_seeds(
        database_url(proj, environ),
        proj.seeds_path,
        environ.name,
        only=name,
        fresh=fresh,
        cascade=cascade,
        on_emptied=emptied,
    )
    if as_json:
        print_json([run.__dict__ for run in runs])
        return
    for run in runs:
        if run.action == "ran":
            console.print(f"[green]ran[/green] {run.name} ({run.duration_ms} ms)")
        else:
            console.print(f"[dim]unchanged[/dim] {run.name}")
    if not runs:
        console.print("no seeds found in nself/seeds/")


@app.callback(destructive=FRESH)
def seed(
    ctx: typer.Context,
    env: EnvOption = None,
    fresh: FreshOption = False,
    cascade: CascadeOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run all seeds: nself/seeds/*.sql, then nself/seeds/<env>/*.sql. Unchanged seeds are
    skipped; changed ones run again.

    Examples:

      nself seed

      nself seed --json

      nself seed run users --env staging
    """
    if ctx.invoked_subcommand is None:
        _run(None, env, fresh, cascade, as_json)


@app.command("run", destructive=FRESH)
def run(
    name: Annotated[str | None, typer.Argument(help="Run only this seed (file name, .sql optional).")] = None,
    env: EnvOption = None,
    fresh: FreshOption = False,
    cascade: CascadeOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run seeds (all, or one by name).

    Examples:

      nself seed run

      nself seed run 001_admin_users --fresh
    """
    _run(name, env, fresh, cascade, as_json)


@app.command("init", destructive=False)
def init() -> None:
    """Create nself/seeds/ with a folder for the local environment.

    Examples:

      nself seed init
    """
    for folder in (_seeds_dir(), _seeds_dir() / "local"):
        folder.mkdir(parents=True, exist_ok=True)
        console.print(f"ready {folder}")


@app.command("create", destructive=False)
def create(
    name: Annotated[str, typer.Argument(help="What the seed holds, e.g. admin_users.")],
    env_folder: Annotated[str | None, typer.Option("--for-env", help="Put it in nself/seeds/<env>/.")] = None,
) -> None:
    """Create the next numbered seed file.

    Examples:

      nself seed create admin_users

      nself seed create demo_data --for-env staging
    """
    from nself.runtime.seeds import create_seed

    console.print(f"created {create_seed(_seeds_dir(), name, environment=env_folder)}")


@app.command("list", destructive=False)
def list_seeds(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """List the seed files that run for an environment, in order.

    Examples:

      nself seed list --env staging
    """
    from nself.runtime.seeds import discover_seeds

    _, environ = environment(env)
    seeds = discover_seeds(_seeds_dir(), environ.name)
    if as_json:
        print_json([s.name for s in seeds])
        return
    for s in seeds:
        console.print(s.name)


@app.command("status", destructive=False)
def status(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Show which seeds have run, and which are new or changed since.

    Examples:

      nself seed status
    """
    from nself.runtime.seeds import seed_status

    proj, environ = environment(env)
    states = seed_status(database_url(proj, environ), proj.seeds_path, environ.name)
    if as_json:
        print_json([s.__dict__ for s in states])
        return
    table = Table("seed", "status", "ran at", box=None)
    for s in states:
        table.add_row(s.name, s.status, f"{s.ran_at:%Y-%m-%d %H:%M:%S}" if s.ran_at else "")
    console.print(table)


@app.command("extract", destructive=False)
def extract(
    tables: Annotated[list[str], typer.Argument(help="Tables to extract (schema.table or table).")],
    where: Annotated[
        str | None,
        typer.Option("--where", help="One SQL condition for the rows to keep (read-only; one expression)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: a new seed).")] = None,
    env: EnvOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write a seed file from live rows, parents before children.

    With --json, prints {"path", "tables", "bytes", "duration_ms"} of the file written.

    Examples:

      nself seed extract users

      nself seed extract users --where "role = 'admin'" --json
    """
    import time

    from nself.runtime.seeds import create_seed, extract_seed

    started = time.perf_counter()
    proj, environ = environment(env)
    text = extract_seed(database_url(proj, environ), tables, where=where)
    if output is None:
        output = create_seed(_seeds_dir(), "extract_" + "_".join(t.split(".")[-1] for t in tables), body=text)
        if not as_json:
            console.print(f"created {output}")
    elif as_json:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    else:
        write_output(text, output)
    if as_json:
        print_json(
            {
                "path": str(output),
                "tables": tables,
                "bytes": len(text.encode()),
                "duration_ms": round((time.perf_counter() - started) * 1000),
            }
        )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="seed")
