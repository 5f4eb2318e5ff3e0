"""The `nself` process's entry point. `nself --version`, `nself --help` and `nself GROUP
--help` answer before the command tree (typer, rich, every command group) is imported:
editors and build systems ask them often, and they need none of it (the help comes from
nself.cli.tree's tables).
Any other command loads typer and only the module of the command it runs (nself.cli.main)."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from nself import __version__


def run(argv: list[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    text = quick_answer(args)
    if text is not None:
        _answer(text)
    from nself.cli.main import run as run_command

    run_command(args)


def quick_answer(args: list[str]) -> str | None:
    """What `nself ARGS` prints without loading the command tree (the version, the root's or a
    group's help), or None when the command tree must answer."""
    given = [a for a in args if a != "--debug"]
    if given == ["--version"]:
        return f"nself {__version__}\n"
    if "_NSELF_COMPLETE" not in os.environ:
        if given in ([], ["--help"], ["-h"]):
            from nself.cli.tree import root_help

            return root_help()
        if len(given) == 2 and given[1] in ("--help", "-h"):
            from nself.cli.tree import group_help

            return group_help(given[0])
    return None


def _answer(text: str) -> NoReturn:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `nself --help | head`: the reader has what it wanted
        pass
    os._exit(0)
