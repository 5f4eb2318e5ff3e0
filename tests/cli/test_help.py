"""Every command of the tree has --help with examples."""

from __future__ import annotations

import os
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


def test_top_level_help_is_typers_from_the_light_table(tmp_path: Path) -> None:
    """`nself --help` is printed from nself.cli.tree without typer: the same words as typer's
    own help of the loaded tree (every command, in order, with its help)."""
    import re
    import subprocess
    import sys

    from nself.cli.tree import root_help

    typers = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "100", "NO_COLOR": "1"}).output

    def words(text: str) -> list[str]:
        return re.findall(r"[^\s│╭╮╰╯─]+", text)

    assert words(root_help(100)) == words(typers)
    done = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-m", "nself", "--help"],
        cwd=tmp_path, capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "100"},
    )
    assert done.stdout == root_help(100)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"typer", "rich", "nself.cli.main"}


def test_group_help_is_typers_from_the_generated_table(tmp_path: Path) -> None:
    """`nself GROUP --help` of a group without options of its own is printed from
    nself.cli.help_table (scripts/help_table.py writes it): the table is the tree's, and the
    text has the same words as typer's help of the group."""
    import re
    import subprocess
    import sys

    from nself.cli.help_table import GROUPS
    from nself.cli.main import help_table
    from nself.cli.tree import group_help

    assert help_table() == GROUPS, "nself/cli/help_table.py is stale: run python scripts/help_table.py"
    assert {"db", "schema", "data", "backup", "mock"} <= set(GROUPS)

    def words(text: str) -> list[str]:
        return re.findall(r"[^\s│╭╮╰╯─]+", text)

    for name in GROUPS:
        typers = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "100", "NO_COLOR": "1"}).output
        assert words(group_help(name, 100) or "") == words(typers), name
    done = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-m", "nself", "db", "--help"],
        cwd=tmp_path, capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "100"},
    )
    assert done.stdout == group_help("db", 100)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert not imported & {"typer", "rich", "nself.cli.main"}


def test_a_command_loads_its_own_group_only(tmp_path: Path) -> None:
    """`nself db migrate:status --help` imports the db group and none of the others, nor
    pydantic (which typer would load to coerce the options not given: nself.cli.coercion)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-m", "nself", "db", "migrate:status", "--help"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert "migrate:status" in done.stdout
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "nself.cli.db_lint" in imported  # imported by nself.cli.db (import_module itself is not timed)
    assert not imported & {"nself.cli.schema_docs", "nself.runtime.codegen", "nself.cli.backup_storage", "pydantic"}


def test_completion_lists_the_top_level_commands_from_the_table(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "_NSELF_COMPLETE": "complete_bash", "COMP_WORDS": "nself s", "COMP_CWORD": "1"}
    done = subprocess.run([sys.executable, "-m", "nself"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.stdout.split() == ["schema", "seed"]
    env.update(COMP_WORDS="nself schema d", COMP_CWORD="2")
    done = subprocess.run([sys.executable, "-m", "nself"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert sorted(done.stdout.split()) == ["diagram", "diff", "docs"]


def test_given_paths_numbers_and_flags_do_not_load_pydantic(tmp_path: Path) -> None:
    """Typer would coerce a given path, number or flag through pydantic too; they pass as
    typer would return them (nself.cli.coercion), and the command runs on to its own error."""
    import subprocess
    import sys

    (tmp_path / "nself.toml").write_text('[environments.dev]\nurl = "postgresql://nobody@127.0.0.1:1/x"\n')
    (tmp_path / "data.dump").write_bytes(b"PGDMP")
    # `-j2` (a short option's value attached) takes the command tree: the plain path
    # (nself.cli.quick) would run `--jobs 2` without typer at all.
    done = subprocess.run(
        [sys.executable, "-P", "-X", "importtime", "-m", "nself", "db", "load", "data.dump", "-j2",
         "--no-single-transaction", "--env", "nope"],
        cwd=tmp_path, capture_output=True, text=True,
    )  # fmt: skip
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    errors = [line for line in done.stderr.splitlines() if not line.startswith("import time:")]
    assert done.returncode == 1 and len(errors) == 1 and "nope" in errors[0], errors
    assert "nself.cli.db_dump" in imported and "pydantic" not in imported
