"""Every command of the tree has --help with examples."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from nself.cli.main import app


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
