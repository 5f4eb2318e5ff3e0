"""`nself db dump` and `nself db load` through the real CLI: files, output, errors. The
oracle is PostgreSQL: the rows read back from the environment a dump was loaded into."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.clitools import run_nself, run_nself_process
from tests.conftest import NewDatabase, run_sql

CONFIG = """
[environments.source]
url = "env:NSELF_TEST_SOURCE_URL"

[environments.copy]
url = "env:NSELF_TEST_COPY_URL"
"""


@pytest.fixture
def project(tmp_path: Path, new_database: NewDatabase) -> tuple[Path, dict[str, str]]:
    (tmp_path / "nself.toml").write_text(CONFIG)
    env = {"NSELF_TEST_SOURCE_URL": new_database("source"), "NSELF_TEST_COPY_URL": new_database("copy")}
    run_sql(
        env["NSELF_TEST_SOURCE_URL"],
        "CREATE TABLE notes (id int PRIMARY KEY, body text, tags text[]);"
        "INSERT INTO notes SELECT g, 'note ' || g, ARRAY[g::text] FROM generate_series(1, 100) g;",
    )
    return tmp_path, env


def notes(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT * FROM notes ORDER BY id").fetchall()


def test_dump_to_the_default_path_then_load(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    dumped = run_nself("db", "dump", "--env", "source", "--json", cwd=root, env=env)
    assert dumped.code == 0, dumped.stderr
    report = json.loads(dumped.stdout)
    path = Path(report["path"])
    assert path.parent == root / ".nself" / "dumps"
    assert path.name.startswith("source-") and path.suffix == ".dump"
    assert report["bytes"] == path.stat().st_size and report["format"] == "custom"
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file is left"

    loaded = run_nself("db", "load", str(path), "--env", "copy", "--yes", cwd=root, env=env)
    assert loaded.code == 0, loaded.stderr
    assert "loaded" in loaded.stdout
    assert notes(env["NSELF_TEST_COPY_URL"]) == notes(env["NSELF_TEST_SOURCE_URL"])


def test_plain_sql_to_stdout(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    result = run_nself("db", "dump", "--env", "source", "--schema-only", "-o", "-", cwd=root, env=env)
    assert result.code == 0, result.stderr
    assert "CREATE TABLE public.notes" in result.stdout
    assert "COPY" not in result.stdout


def test_dump_prints_path_and_size(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    result = run_nself("db", "dump", "--env", "source", "-o", "out/notes.sql", cwd=root, env=env)
    assert result.code == 0, result.stderr
    assert (root / "out" / "notes.sql").read_text().count("COPY public.notes") == 1
    assert result.stdout.startswith("out/notes.sql (") and "plain" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("dump", "--schema-only", "--data-only"), "exclude each other"),
        (("dump", "--format", "tar"), "--format"),
        (("dump", "--format", "custom", "-o", "-"), "cannot go to stdout"),
        (("load", "missing.dump", "--yes"), "missing.dump: file not found"),
    ],
)
def test_bad_options_are_one_line(
    project: tuple[Path, dict[str, str]], args: tuple[str, ...], message: str
) -> None:
    root, env = project
    result = run_nself("db", *args, "--env", "source", cwd=root, env=env)
    assert result.code != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_failed_load_is_one_line_and_changes_nothing(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    assert run_nself("db", "dump", "--env", "source", "-o", "all.dump", cwd=root, env=env).code == 0
    run_sql(env["NSELF_TEST_COPY_URL"], "CREATE TABLE notes (id int); INSERT INTO notes VALUES (7);")
    result = run_nself("db", "load", "all.dump", "--env", "copy", "--yes", cwd=root, env=env)
    assert result.code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "all.dump" in lines[0] and 'relation "notes" already exists' in lines[0], lines
    assert notes(env["NSELF_TEST_COPY_URL"]) == [(7,)]


def test_load_clean_replaces_what_the_dump_holds(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    assert run_nself("db", "dump", "--env", "source", "-o", "all.dump", cwd=root, env=env).code == 0
    run_sql(env["NSELF_TEST_COPY_URL"], "CREATE TABLE notes (id int); INSERT INTO notes VALUES (7);")
    result = run_nself("db", "load", "all.dump", "--env", "copy", "--clean", "--yes", cwd=root, env=env)
    assert result.code == 0, result.stderr
    assert notes(env["NSELF_TEST_COPY_URL"]) == notes(env["NSELF_TEST_SOURCE_URL"])


def unkeyed(script: str) -> str:
    """A plain dump without pg_dump 15.14+'s `\\restrict KEY` lines (a new key each dump)."""
    lines = script.splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith(("\\restrict", "\\unrestrict")))


def test_plain_dump_and_load_run_without_the_command_tree_and_say_the_same(
    project: tuple[Path, dict[str, str]],
) -> None:
    """`db dump` and `db load` with plain options are run by the entry point without typer,
    click or rich (nself.cli.quick): the same files, output, errors and exit codes as the
    commands of the tree (run_nself runs the tree), and the same production guard."""
    root, env = project
    (root / "nself.toml").write_text(
        CONFIG + '\n[environments.prod]\nurl = "env:NSELF_TEST_COPY_URL"\nproduction = true\n'
    )
    for args in (
        ("dump", "--env", "source", "-o", "out/notes.sql"),
        ("dump", "-e", "source", "--schema-only", "-o", "-"),
        ("dump", "--env=source", "--table", "notes", "-t", "nothing_else", "-F", "plain", "-o", "-"),
        ("dump", "--env", "source", "--format", "tar"),
        ("dump", "--env", "source", "--schema-only", "--data-only"),
        ("dump", "--env", "source", "--json", "-o", "-"),
        ("load", "missing.dump", "--env", "copy", "--yes"),
        ("load", "out/notes.sql", "--env", "prod", "--yes"),
        ("load", "out/notes.sql", "--env", "copy", "--yes", "--jobs", "0"),
    ):
        plain = run_nself_process("db", *args, cwd=root, env=env)
        tree = run_nself("db", *args, cwd=root, env=env)
        assert (plain.code, unkeyed(plain.stdout), plain.stderr) == (tree.code, unkeyed(tree.stdout), tree.stderr), args
    with psycopg.connect(env["NSELF_TEST_COPY_URL"]) as conn:  # refused on production: nothing loaded
        assert conn.execute("SELECT to_regclass('public.notes')").fetchone() == (None,)

    dumped = run_nself_process("db", "dump", "--env", "source", "--json", "-o", "all.dump", cwd=root, env=env)
    assert dumped.code == 0 and dumped.stderr == ""
    report = json.loads(dumped.stdout)
    assert report["path"] == "all.dump" and report["bytes"] == (root / "all.dump").stat().st_size
    loaded = run_nself_process(
        "db", "load", "all.dump", "--env", "prod", "--yes", "--force-production", "--json", cwd=root, env=env
    )
    assert loaded.code == 0, loaded.stderr
    assert json.loads(loaded.stdout)["environment"] == "prod"
    assert notes(env["NSELF_TEST_COPY_URL"]) == notes(env["NSELF_TEST_SOURCE_URL"])

    done = run_nself_process(
        "db", "dump", "--env", "source", "-o", "again.dump", cwd=root, env={**env, "PYTHONPROFILEIMPORTTIME": "1"}
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "nself.runtime.dump" in imported
    assert not {name for name in imported if name.split(".")[0] in ("typer", "click", "rich")}


@pytest.mark.parametrize(
    ("args", "plain"),
    [
        (["db", "dump", "-o", "x.dump", "--table", "a", "-t", "b"], True),
        (["db", "load", "x.dump", "--yes", "-j", "2", "--no-single-transaction"], True),
        (["db", "dump", "--help"], False),
        (["db", "dump", "--env", "a", "--env", "b"], False),
        (["db", "dump", "--json=1"], False),
        (["db", "dump", "-o"], False),
        (["db", "dump", "-o", "--json"], False),
        (["db", "dump", "extra"], False),
        (["db", "load", "--yes"], False),
        (["db", "load", "a.dump", "b.dump", "--yes"], False),
        (["db", "load", "x.dump", "--yes", "--jobs", "two"], False),
        (["db", "load", "x.dump", "-yj", "2"], False),
        (["db", "load", "--", "x.dump", "--yes"], False),
    ],
)
def test_only_plain_dump_and_load_lines_take_the_short_path(args: list[str], plain: bool) -> None:
    from nself.cli.quick import _DUMP_OPTIONS, _LOAD_OPTIONS, plain_options

    spec = _DUMP_OPTIONS if args[1] == "dump" else _LOAD_OPTIONS
    parsed = plain_options(args[2:], spec)
    operands = 0 if args[1] == "dump" else 1
    taken = parsed is not None and len(parsed[1]) == operands
    if taken and parsed is not None and "jobs" in parsed[0]:
        taken = parsed[0]["jobs"].isdigit()
    assert taken == plain
