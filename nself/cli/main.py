"""The `nself` command tree. Each command group lives in its own module; this one wires
them together and turns errors into one line (a traceback only with --debug)."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, NoReturn

import typer

from nself import __version__
from nself.cli import tree
from nself.cli.coercion import LightGroup
from nself.cli.messages import show_source_warnings
from nself.cli.outcome import error, finish, reported, say
from nself.cli.safety import App

try:  # typer >= 0.20 carries its own copy of click; its exceptions are the ones raised
    from typer._click import exceptions as click
    from typer._click.core import Command
    from typer._click.shell_completion import CompletionItem
except ImportError:  # pragma: no cover - older typer on the real click
    from click import exceptions as click  # type: ignore[no-redef]
    from click.core import Command  # type: ignore[assignment]
    from click.shell_completion import CompletionItem  # type: ignore[assignment]


class LazyCommands(Mapping[str, Any]):
    """The root's commands by name, in nself.cli.tree's order: a command's module is imported
    the first time the command is looked up, so a command loads its own module and no other.
    Listing the names loads nothing; iterating the items (a walk of the whole tree) loads all."""

    def __init__(self) -> None:
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            if name not in tree.MODULES:
                raise KeyError(name)
            self._loaded[name] = _load(name)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(tree.MODULES)

    def __len__(self) -> int:
        return len(tree.MODULES)


def _load(name: str) -> Any:
    """The click command of the top-level command `name`, built from its module alone."""
    module = importlib.import_module(tree.MODULES[name])
    holder = App(add_completion=False)
    if hasattr(module, "register"):
        module.register(holder)
    else:
        holder.add_typer(module.app, name=name)
    command = typer.main.get_command(holder)
    commands = getattr(command, "commands", None)
    return commands[name] if isinstance(commands, dict) else command


class LazyGroup(LightGroup):
    """The root group: its commands come from nself.cli.tree, each loaded when used."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands()  # type: ignore[assignment]

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """The top-level names from the table (no command loaded), then the root's options."""
        names = [
            CompletionItem(name, help=text) for name, _, text in tree.COMMANDS if name.startswith(incomplete)
        ]
        return [*names, *Command.shell_complete(self, ctx, incomplete)]


app = App(
    cls=LazyGroup,
    name="nself",
    help="nself: a compiler for PostgreSQL schemas, with a runtime beside it.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nself {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """nself: a compiler for PostgreSQL schemas, with a runtime beside it.

    Examples:

      nself init

      nself db start

      nself schema show --from nself/migrations --format sql
    """
    if debug:
        os.environ["NSELF_DEBUG"] = "1"
    show_source_warnings()


def help_table() -> dict[str, tuple[str, tuple[tuple[str, str], ...]]]:
    """What nself.cli.help_table holds (scripts/help_table.py writes it): for each top-level
    group with no options of its own, its help and its commands' (name, first paragraph of
    help), as typer's help shows them. Loads the whole tree."""
    root = typer.main.get_command(app)
    table = {}
    for name in tree.MODULES:
        group = root.commands[name]  # type: ignore[attr-defined]
        if not isinstance(getattr(group, "commands", None), dict) or group.params:
            continue
        rows = []
        for sub in group.list_commands(None):
            command = group.commands[sub]
            if command.hidden:
                continue
            text = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
            rows.append((sub, " ".join(text.split())))
        table[name] = (" ".join((group.help or "").split()), tuple(rows))
    return table


def run(argv: list[str] | None = None) -> NoReturn:
    """The `nself` process: run one command, print its error in one line, end the process."""
    finish(execute(list(sys.argv[1:] if argv is None else argv)))


def execute(args: list[str]) -> int:
    """Run one command as the `nself` process does and return its exit code: its error is
    printed in one line (with --debug or $NSELF_DEBUG=1 raised instead, for a traceback).
    The process's entry point ends with this code; tests run commands in-process through it
    (tests/clitools.py)."""
    debug = "--debug" in args or os.environ.get("NSELF_DEBUG") == "1"
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="nself", standalone_mode=False)
    except click.NoArgsIsHelpError:
        return 0  # the help text is already printed
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        error(f"{exc.format_message()}{hint}", args)
        return 2
    except click.ClickException as exc:
        error(exc.format_message(), args)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        say("aborted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code or 0
    except Exception as exc:
        if debug:
            raise
        return reported(exc, args)
    return code if isinstance(code, int) else 0
