"""`nself init`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nself.cli.common import console
from nself.cli.safety import App
from nself.runtime.scaffold import init_project


def init(
    directory: Annotated[Path, typer.Argument(help="Project folder (default: the current one).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing nself.toml.")] = False,
) -> None:
    """Create nself.toml and the nself/ folder layout (migrations, seeds, mock, tests). In a
    Supabase project (a folder holding supabase/), nself.toml uses supabase/migrations,
    supabase/seed.sql and supabase/tests where they are, on the Supabase platform's base.

    Examples:

      nself init

      nself init my-app
    """
    for path in init_project(directory.resolve(), force=force):
        console.print(f"created {path}")


def register(app: App) -> None:
    app.command("init", destructive=False)(init)
