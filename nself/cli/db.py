"""`nself db`: the local cluster, and (in later modules) migrations, query, shell, dump."""

from __future__ import annotations

import dataclasses

import typer

from nself.cli.common import EnvOption, JsonOption, console, environment, print_json
from nself.runtime.local import ClusterStatus, start_local, status_local, stop_local

app = typer.Typer(help="Database operations: local cluster, migrations, queries, dumps.", no_args_is_help=True)


def _print_status(status: ClusterStatus, as_json: bool) -> None:
    if as_json:
        print_json(dataclasses.asdict(status))
        return
    state = "[green]running[/green]" if status.running else "[red]stopped[/red]"
    version = f" (PostgreSQL {status.server_version})" if status.server_version else ""
    console.print(f"{status.environment}: {state}{version}")
    console.print(f"  url:  {status.url}")
    console.print(f"  data: {status.data_dir}")


@app.command("start")
def start(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Start the local PostgreSQL cluster under .nself/ (initialising it on first use).

    Examples:

      nself db start
    """
    proj, environ = environment(env)
    _print_status(start_local(proj, environ), as_json)


@app.command("stop")
def stop(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Stop the local PostgreSQL cluster.

    Examples:

      nself db stop
    """
    proj, environ = environment(env)
    _print_status(stop_local(proj, environ), as_json)


@app.command("status")
def status(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Show whether the local cluster runs, its URL and data folder.

    Examples:

      nself db status --json
    """
    proj, environ = environment(env)
    _print_status(status_local(proj, environ), as_json)
