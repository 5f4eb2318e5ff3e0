"""The `nself` command tree. Each command group lives in its own module; this one wires
them together and turns errors into one line (a traceback only with --debug)."""

from __future__ import annotations

import contextlib
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
from nself.cli.safety import App
from nself.errors import NselfError, database_error_line

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
    _print_source_warnings()


def _print_source_warnings() -> None:
    """Print every SourceWarning raised while the command runs (nself.errors) on stderr as
    `warning: MESSAGE`, one line each; other warnings as Python shows them."""
    import warnings

    from nself.errors import SourceWarning

    shown = warnings.showwarning
    if getattr(shown, "nself_source_warnings", False):
        return

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if issubclass(category, SourceWarning):
            typer.echo(f"warning: {' '.join(str(message).split())}", err=True)
        else:
            shown(message, category, *args, **kwargs)

    show.nself_source_warnings = True  # type: ignore[attr-defined]
    warnings.showwarning = show
    warnings.simplefilter("always", SourceWarning)


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
    _exit(execute(list(sys.argv[1:] if argv is None else argv)))


def execute(args: list[str]) -> int:
    """Run one command as the `nself` process does and return its exit code: its error is
    printed in one line (with --debug or $NSELF_DEBUG=1 raised instead, for a traceback).
    The process's entry point ends with this code; tests run commands in-process through it
    (tests/clitools.py)."""
    debug = "--debug" in args or os.environ.get("NSELF_DEBUG") == "1"
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="nself", standalone_mode=False)
    except NselfError as exc:
        if debug:
            raise
        _error(str(exc), args)
        return 1
    except click.NoArgsIsHelpError:
        return 0  # the help text is already printed
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _error(f"{exc.format_message()}{hint}", args)
        return 2
    except click.ClickException as exc:
        _error(exc.format_message(), args)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 130
    except typer.Exit as exc:
        return exc.exit_code or 0
    except Exception as exc:
        if debug:
            raise
        if _is_ir_format_error(exc):
            _error(str(exc), args)
            return 1
        database_error = database_error_line(exc)
        if database_error is not None:
            _error(database_error, args)
            return 1
        _error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", args)
        return 70
    return code if isinstance(code, int) else 0


def _is_ir_format_error(exc: Exception) -> bool:
    """An IR file that does not parse (nself.ir.IRFormatError): a user error, one line. Read
    from sys.modules: a command that never loaded the IR cannot raise it, and importing the
    IR for the question would cost every command its import."""
    ir = sys.modules.get("nself.ir")
    return ir is not None and isinstance(exc, ir.IRFormatError)


def _error(message: str, args: list[str]) -> None:
    """Print `message` as one line. Each layer masks what it shows (nself.connection); this
    is the last net: connection targets given on the command line and $PGPASSWORD are
    scrubbed from every error, whatever raised it."""
    text = " ".join(message.split())
    from nself.connection import is_connection_target, scrub, scrub_secrets

    values = [arg.partition("=")[2] if arg.startswith("--") else arg for arg in args]  # --from=URL
    given = [value for value in values if "=" in value or "://" in value]
    targets = [*(part for part in given if is_connection_target(part) or "password" in part.lower()), *_environment_urls()]
    text = scrub_secrets(scrub(text, *targets), [os.environ.get("PGPASSWORD", "")])
    typer.echo(f"error: {text}", err=True)


def _environment_urls() -> list[str]:
    """The URLs of the project's environments whose variables are set (none outside a project)."""
    from nself.runtime.project import load_project

    urls = []
    with contextlib.suppress(Exception):  # a broken nself.toml is the error being printed
        for environment in load_project().environments.values():
            with contextlib.suppress(Exception):
                if not environment.managed:
                    urls.append(environment.base_url())
    return urls


def _exit(code: int | None) -> NoReturn:
    """End the process once the command is done (its files written and closed, its
    connections closed): the output streams are flushed and the interpreter is not torn
    down. Teardown frees every object one by one and collects once more, about 0.2 s after
    compiling a 1,000-table schema, for nothing; nself registers no atexit handler. Only
    for the process's own entry point: an in-process caller uses execute()."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken pipe: nothing more to say
            stream.flush()
    os._exit(code or 0)
