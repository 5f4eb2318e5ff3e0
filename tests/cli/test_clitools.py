"""The in-process runner of tests/clitools.py answers as the `nself` process does (output,
errors, exit codes, what programs nself starts write), and leaves this process as it was."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.clitools import run_nself, run_nself_process

SCHEMA = "CREATE TABLE public.t (id integer PRIMARY KEY, name text NOT NULL);\n"


@pytest.mark.parametrize(
    "args",
    [
        ("--version",),
        ("db", "--help"),
        ("schema", "show", "--from", "schema.sql", "--format", "sql"),
        ("schema", "show", "--from", "schema.sql", "--format", "json"),
        ("schema", "show", "--frm", "x"),
        ("schema", "show", "--from", "missing.sql"),
        ("no-such-command",),
    ],
)
def test_in_process_equals_the_process(tmp_path: Path, args: tuple[str, ...]) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    process = run_nself_process(*args, cwd=tmp_path)
    before = (dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, sys.stdin)
    inside = run_nself(*args, cwd=tmp_path)
    assert inside == process
    assert (dict(os.environ), os.getcwd(), sys.stdout, sys.stderr, sys.stdin) == before


def test_environment_and_programs_output_are_the_commands(tmp_path: Path, database: str) -> None:
    """The environment given is the command's (an env: URL), and psql, started by `db query
    --file`, writes into the same capture as nself itself."""
    (tmp_path / "nself.toml").write_text('[environments.dev]\nurl = "env:CLITOOLS_URL"\n')
    (tmp_path / "q.sql").write_text("SELECT 40 + 2 AS answer;\n")
    args = ("db", "query", "--env", "dev", "--file", "q.sql", "--csv")
    process = run_nself_process(*args, cwd=tmp_path, env={"CLITOOLS_URL": database})
    inside = run_nself(*args, cwd=tmp_path, env={"CLITOOLS_URL": database})
    assert inside == process
    assert "42" in inside.stdout, inside
    assert "CLITOOLS_URL" not in os.environ
