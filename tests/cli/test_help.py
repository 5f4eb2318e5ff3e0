"""Every command of the tree has --help with examples."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from nself import __version__
from nself.cli.main import app
from tests.clitools import run_nself


def command_paths() -> list[list[str]]:
    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, prefix: list[str]) -> None:
        commands = getattr(command, "commands", None)
        if commands is None:
            paths.append(prefix)
            return
        for name, sub in sorted(commands.items()):
            walk(sub, [*prefix, name])

    walk(root, [])
    return paths


def test_every_command_has_examples() -> None:
    runner = CliRunner()
    missing = []
    paths = command_paths()
    assert len(paths) > 20
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert result.exit_code == 0, (path, result.output)
        if "Examples" not in result.output:
            missing.append(" ".join(path))
    assert not missing, f"commands without examples in --help: {missing}"


def test_version_answers_without_loading_the_command_tree(tmp_path: Path) -> None:
    """`nself --version` is asked by editors and build systems: typer and rich stay unloaded."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-m", "nself", "--version"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert done.stdout == f"nself {__version__}\n"
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"typer", "rich", "click", "nself.cli.main", "psycopg"}
    assert run_nself("--version", cwd=tmp_path).stdout == f"nself {__version__}\n"
