"""The `nself` process's entry point. `nself --version` answers before the command tree (typer,
rich, every command group) is imported: editors and build systems ask it often, and it is the
one question that needs none of it."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from nself import __version__


def run(argv: list[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    if [a for a in args if a != "--debug"] == ["--version"]:
        sys.stdout.write(f"nself {__version__}\n")
        sys.stdout.flush()
        os._exit(0)
    from nself.cli.main import run as run_command

    run_command(args)
