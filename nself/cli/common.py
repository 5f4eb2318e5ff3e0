"""What every command shares: the project, --env, consoles and output writing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from nself.cli import messages

if TYPE_CHECKING:  # loaded by the commands that read nself.toml, when they run
    from nself.runtime.project import Environment, Project


def _flags_as_flags() -> None:
    """Help shows a boolean flag as `--json`, not `--json <bool>`: typer >= 0.20 prints a
    type beside every option, flags included. Patched once, at the one seam typer's help
    reads (TyperOption.display_type_rich); older typer prints flags bare already."""
    try:
        from typer.core import TyperOption
    except ImportError:  # pragma: no cover - a typer without its own option class
        return
    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "__nself_flags__", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and getattr(self, "metavar", None) is None:
            return None
        result: str | None = original(self, ctx)
        return result

    display_type_rich.__nself_flags__ = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_as_flags()

console = Console(highlight=False, soft_wrap=True)
err_console = messages.err_console()

EnvOption = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        help="Environment from nself.toml (default: $NSELF_ENV, else local).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
SourceOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Environment name, postgresql:// URL, migrations directory, .sql, .dbml or .json file "
        "(default: the local environment).",
        show_default=False,
    ),
]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file instead of stdout.", show_default=False),
]
IncludePlatformOption = Annotated[
    bool,
    typer.Option(
        "--include-platform",
        help="Keep the objects of the project's platform (Supabase's auth, storage, ...), left out by default.",
    ),
]
SchemasOption = Annotated[
    list[str] | None,
    typer.Option(
        "--schema", "-s", metavar="NAME", help="Only this schema (repeatable; default: every schema)."
    ),
]


def project() -> Project:
    from nself.runtime.project import load_project

    return load_project()


def environment(name: str | None) -> tuple[Project, Environment]:
    from nself.runtime.project import load_project

    proj = load_project()
    return proj, proj.environment(name)


def print_json(data: Any) -> None:
    # Plain print, not rich: scripts parse this.
    typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def write_output(text: str, output: Path | None) -> None:
    """Write `text` to `output`, or to stdout without it."""
    messages.write_output(text, output, lambda text: typer.echo(text, nl=not text.endswith("\n")))


def write_with_summary(text: str, output: Path | None, as_json: bool, started: float, **extra: Any) -> None:
    """Write a document as write_output does; with --json the document must go to a file
    (-o) and stdout gets {"written": [PATH], "bytes", ..., "duration_ms"} (`started`:
    time.perf_counter() when the command began)."""
    if not as_json:
        write_output(text, output)
        return
    if output is None:
        from nself.errors import OptionError

        raise OptionError("--json: give --output FILE (the document goes there, the JSON summary to stdout)")
    import time

    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print_json(
        {
            "written": [str(output)],
            "bytes": len(text.encode()),
            **extra,
            "duration_ms": round((time.perf_counter() - started) * 1000),
        }
    )


def warn(message: str) -> None:
    messages.warn(message)
