"""`nself db branch`: copies of an environment's database to work on, and switching
between them (docs/branches.md)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from nself.cli.common import EnvOption, JsonOption, console, environment, err_console, print_json
from nself.cli.db_inspect import format_bytes
from nself.cli.safety import App, Destructive

if TYPE_CHECKING:
    from nself.runtime.branches import Branch

NameArgument = Annotated[
    str,
    typer.Argument(
        help="Branch name: lowercase letters, digits and _; `main` is the environment's own database."
    ),
]

# Branches are for development databases: every command that creates, switches to or drops
# one is refused on production (and only dropping asks first).
DEV_ONLY = "(branches are for development databases, not production)"

branch_app = App(
    help="Database branches: copies of the database on the same server (CREATE DATABASE ... TEMPLATE).",
    no_args_is_help=False,
)


def register(app: App) -> None:
    app.add_typer(branch_app, name="branch")


@branch_app.callback(
    invoke_without_command=True,
    destructive=Destructive(
        f"switch to a git-named database branch {DEV_ONLY}", when=("auto",), confirm=False
    ),
)
def branch(
    ctx: typer.Context,
    auto: Annotated[
        bool,
        typer.Option(
            "--auto",
            help="Switch to the branch named after the current git branch, creating it from main if missing.",
        ),
    ] = False,
    env: EnvOption = None,
    as_json: JsonOption = False,
) -> None:
    """Database branches: copies of the database on the same server (CREATE DATABASE ... TEMPLATE).

    Examples:

      nself db branch create feature_login

      nself db branch --auto
    """
    if ctx.invoked_subcommand is not None:
        return
    if not auto:
        typer.echo(ctx.get_help())
        return
    from nself.runtime.branches import auto_branch

    proj, environ = environment(env)
    with err_console.status("branching from git"):
        found, created = auto_branch(proj, environ)
    if as_json:
        print_json({**dataclasses.asdict(found), "created": created})
        return
    if created:
        console.print(f"created branch {found.name} ({found.database})")
    console.print(f"{environ.name}: on branch {found.name} ({found.database})")


@branch_app.command("create", destructive=Destructive(f"create a database branch {DEV_ONLY}", confirm=False))
def create(
    name: NameArgument,
    source: Annotated[
        str | None,
        typer.Option("--from", help="Branch to copy (default: the current one).", show_default=False),
    ] = None,
    env: EnvOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a branch: a copy of the current branch's database (or of --from's).

    The source database must have no other connections (nself's own are ended). Refused on
    production environments.

    Examples:

      nself db branch create feature_login

      nself db branch create experiment --from main
    """
    from nself.runtime.branches import create_branch

    proj, environ = environment(env)
    with err_console.status(f"copying into branch {name}"):
        made = create_branch(proj, environ, name, source)
    if as_json:
        print_json(dataclasses.asdict(made))
        return
    console.print(
        f"created branch {made.name} ({made.database}, from {made.parent}); `nself db branch switch {made.name}` to use it"
    )


@branch_app.command("list", destructive=False)
def list_(env: EnvOption = None, as_json: JsonOption = False) -> None:
    """List the branches: name, database, size, creation time; * marks the current one.

    Examples:

      nself db branch list

      nself db branch list --json
    """
    from nself.runtime.branches import list_branches

    proj, environ = environment(env)
    branches = list_branches(proj, environ)
    if as_json:
        print_json([dataclasses.asdict(b) for b in branches])
        return
    _print_table(branches)


@branch_app.command("switch", destructive=Destructive(f"switch database branches {DEV_ONLY}", confirm=False))
def switch(name: NameArgument, env: EnvOption = None, as_json: JsonOption = False) -> None:
    """Use this branch's database in every later command on the environment.

    Recorded in .nself/branch; `main` goes back to the environment's own database. Refused
    on production environments.

    Examples:

      nself db branch switch feature_login

      nself db branch switch main --json
    """
    from nself.runtime.branches import switch_branch

    proj, environ = environment(env)
    found = switch_branch(proj, environ, name)
    if as_json:
        print_json(dataclasses.asdict(found))
        return
    console.print(f"{environ.name}: on branch {found.name} ({found.database})")


@branch_app.command("delete", destructive=f"delete a database branch {DEV_ONLY}")
def delete(
    name: NameArgument,
    env: EnvOption = None,
    as_json: JsonOption = False,
) -> None:
    """Drop a branch's database. Refuses main, the current branch and production environments.

    Examples:

      nself db branch delete feature_login --yes

      nself db branch delete feature_login --yes --json
    """
    from nself.runtime.branches import delete_branch

    proj, environ = environment(env)
    dropped = delete_branch(proj, environ, name)
    if as_json:
        print_json(dataclasses.asdict(dropped))
        return
    console.print(f"deleted branch {dropped.name} ({dropped.database})")


@branch_app.command(
    "merge",
    destructive=Destructive("merge a database branch's migrations into its parent", confirm=False),
)
def merge(
    name: NameArgument,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Only check that the branch's migrations apply to the parent; apply nothing."
        ),
    ] = False,
    env: EnvOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply the migrations applied on a branch (and not on its parent) to its parent, and
    record them in the parent's history.

    Every one is checked to apply first (on the parent in a transaction rolled back, or on
    a scratch copy when one opts out of transactions); a conflict changes nothing. Refused
    on production environments.

    Examples:

      nself db branch merge feature_login

      nself db branch merge feature_login --check --json
    """
    from nself.runtime.branch_merge import merge_branch

    proj, environ = environment(env)
    with err_console.status(f"merging branch {name}"):
        result = merge_branch(proj, environ, name, check_only=check)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    if not result.to_merge:
        console.print(
            f"{result.parent} ({result.parent_database}) has every migration of branch {result.branch}"
        )
    elif check:
        for file in result.to_merge:
            console.print(f"would apply {file}")
        console.print(
            f"branch {result.branch} merges into {result.parent} cleanly (checked in a {result.checked_on})"
        )
    else:
        for run in result.migrations:
            console.print(f"[green]applied[/green] {run.file} to {result.parent} ({run.duration_ms} ms)")
        console.print(f"merged branch {result.branch} into {result.parent} ({result.parent_database})")


def _print_table(branches: list[Branch]) -> None:
    table = Table("", "branch", "database", "size", "created", "from", box=None)
    for b in branches:
        table.add_row(
            "*" if b.current else "",
            b.name,
            b.database,
            format_bytes(b.size_bytes),
            b.created or "",
            b.parent or "",
        )
    console.print(table)
