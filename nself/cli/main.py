"""The `nself` command tree. Each command group lives in its own module; this one wires
them together and turns errors into one line (a traceback only with --debug)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated, NoReturn

import typer

from nself import __version__
from nself.cli import backup, data, db, init, mock, restore, schema, seed, types
from nself.errors import NselfError
from nself.ir import IRFormatError

try:  # typer >= 0.20 carries its own copy of click; its exceptions are the ones raised
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover - older typer on the real click
    from click import exceptions as click  # type: ignore[no-redef]

app = typer.Typer(
    name="nself",
    help="nself: a compiler for PostgreSQL schemas, with a runtime beside it.",
    no_args_is_help=True,
    add_completion=False,
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


app.command("init")(init.init)
app.add_typer(db.app, name="db")
app.add_typer(schema.app, name="schema")
app.add_typer(data.app, name="data")
app.add_typer(backup.app, name="backup")


for group in (types, seed, mock, restore):
    group.register(app)


def run(argv: list[str] | None = None) -> NoReturn:
    """The `nself` process: run one command, print its error in one line, end the process."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("NSELF_DEBUG") == "1"
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="nself", standalone_mode=False)
    except (NselfError, IRFormatError) as exc:
        if debug:
            raise
        typer.echo(f"error: {' '.join(str(exc).split())}", err=True)
        _exit(1)
    except click.NoArgsIsHelpError:
        _exit(0)  # the help text is already printed
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        typer.echo(f"error: {' '.join(exc.format_message().split())}{hint}", err=True)
        _exit(2)
    except click.ClickException as exc:
        typer.echo(f"error: {' '.join(exc.format_message().split())}", err=True)
        _exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        _exit(130)
    except typer.Exit as exc:
        _exit(exc.exit_code)
    except Exception as exc:
        if debug:
            raise
        typer.echo(
            f"error: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
            err=True,
        )
        _exit(70)
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int | None) -> NoReturn:
    """End the process once the command is done (its files written and closed, its
    connections closed): the output streams are flushed and the interpreter is not torn
    down. Teardown frees every object one by one and collects once more, about 0.2 s after
    compiling a 1,000-table schema, for nothing; nself registers no atexit handler. Only
    for the process's own entry point: an in-process caller uses the typer `app`."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken pipe: nothing more to say
            stream.flush()
    os._exit(code or 0)
