"""`nself db branch` through the real CLI. The oracle is PostgreSQL: rows written through
`nself db query` after a switch are counted directly in each database, and pg_database
says which branch databases exist."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.clitools import run_nself
from tests.conftest import NewDatabase, run_sql

CONFIG = """
[environments.dev]
url = "env:NSELF_BRANCH_DEV_URL"

[environments.prod]
url = "env:NSELF_BRANCH_PROD_URL"
production = true
"""


def count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM notes").fetchone()
        assert row is not None
        return int(row[0])


def databases(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


@pytest.fixture
def project(tmp_path: Path, new_database: NewDatabase) -> Iterator[tuple[Path, dict[str, str]]]:
    (tmp_path / "nself.toml").write_text(CONFIG)
    env = {"NSELF_BRANCH_DEV_URL": new_database("dev"), "NSELF_BRANCH_PROD_URL": new_database("prod")}
    for url in env.values():
        run_sql(
            url,
            "CREATE TABLE notes (id serial PRIMARY KEY, body text); INSERT INTO notes (body) VALUES ('first');",
        )
    yield tmp_path, env
    with psycopg.connect(
        env["NSELF_BRANCH_DEV_URL"].rsplit("/", 1)[0] + "/postgres", autocommit=True
    ) as conn:
        for url in env.values():
            prefix = url.rsplit("/", 1)[1] + "\\_\\_%"
            for (name,) in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (prefix,)
            ).fetchall():
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def nself(root: Path, env: dict[str, str], *args: str) -> str:
    result = run_nself("db", *args, cwd=root, env=env)
    assert result.code == 0, result.stderr
    return result.stdout


def test_writes_on_a_branch_stay_on_it(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    main = env["NSELF_BRANCH_DEV_URL"]
    branch = main + "__work"
    nself(root, env, "branch", "create", "work", "--env", "dev")
    switched = json.loads(nself(root, env, "branch", "switch", "work", "--env", "dev", "--json"))
    assert (switched["name"], switched["database"]) == ("work", branch.rsplit("/", 1)[1])
    nself(root, env, "query", "INSERT INTO notes (body) VALUES ('on work')", "--env", "dev")
    assert (count(main), count(branch)) == (1, 2)
    listed = json.loads(nself(root, env, "branch", "list", "--env", "dev", "--json"))
    assert [(b["name"], b["database"], b["current"]) for b in listed] == [
        ("main", main.rsplit("/", 1)[1], False),
        ("work", branch.rsplit("/", 1)[1], True),
    ]
    assert all(b["size_bytes"] > 0 for b in listed)

    nself(root, env, "branch", "switch", "main", "--env", "dev")
    nself(root, env, "query", "INSERT INTO notes (body) VALUES ('on main')", "--env", "dev")
    nself(root, env, "query", "INSERT INTO notes (body) VALUES ('on main again')", "--env", "dev")
    assert (count(main), count(branch)) == (3, 2)
    rows = json.loads(
        nself(root, env, "query", "SELECT body FROM notes ORDER BY id", "--env", "dev", "--json")
    )
    assert [r["body"] for r in rows] == ["first", "on main", "on main again"]

    deleted = json.loads(nself(root, env, "branch", "delete", "work", "--yes", "--env", "dev", "--json"))
    assert (deleted["name"], deleted["database"]) == ("work", branch.rsplit("/", 1)[1])
    assert branch.rsplit("/", 1)[1] not in databases(main)


def test_schema_commands_read_the_switched_branch(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    nself(root, env, "branch", "create", "wide", "--env", "dev")
    nself(root, env, "branch", "switch", "wide", "--env", "dev")
    nself(root, env, "query", "CREATE TABLE only_on_wide (x int)", "--env", "dev")
    run = ("schema", "show", "--from", "dev", "--format", "sql")
    assert "only_on_wide" in run_nself(*run, cwd=root, env=env).stdout
    nself(root, env, "branch", "switch", "main", "--env", "dev")
    shown = run_nself(*run, cwd=root, env=env)
    assert shown.code == 0 and "notes" in shown.stdout and "only_on_wide" not in shown.stdout


def test_auto_creates_and_switches_to_the_git_branch(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(root)]
    subprocess.run([*git, "init", "-q", "-b", "feature/x-1"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    out = nself(root, env, "branch", "--auto", "--env", "dev")
    assert "created branch feature_x_1" in out and "on branch feature_x_1" in out
    branch = env["NSELF_BRANCH_DEV_URL"] + "__feature_x_1"
    nself(root, env, "query", "INSERT INTO notes (body) VALUES ('feature')", "--env", "dev")
    assert count(branch) == 2 and count(env["NSELF_BRANCH_DEV_URL"]) == 1


def test_a_busy_source_is_one_line_naming_the_connection(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    with psycopg.connect(env["NSELF_BRANCH_DEV_URL"], application_name="my-editor") as other:
        result = run_nself("db", "branch", "create", "blocked", "--env", "dev", cwd=root, env=env)
        pid = other.info.backend_pid
    assert result.code == 1
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert f"pid {pid} (my-editor" in result.stderr


@pytest.mark.parametrize("name", ["Bad-Name", "x" * 80])
def test_bad_names_are_one_line_errors(project: tuple[Path, dict[str, str]], name: str) -> None:
    root, env = project
    result = run_nself("db", "branch", "create", name, "--env", "dev", cwd=root, env=env)
    assert result.code == 1 and "branch name" in result.stderr
    assert result.stderr.strip().count("\n") == 0


@pytest.mark.parametrize(
    "command",
    [("create", "p"), ("switch", "main"), ("delete", "p", "--yes"), ("--auto",)],
    ids=lambda c: " ".join(c),
)
def test_production_is_refused_and_untouched(
    project: tuple[Path, dict[str, str]], command: tuple[str, ...]
) -> None:
    root, env = project
    before = databases(env["NSELF_BRANCH_PROD_URL"])
    result = run_nself("db", "branch", *command, "--env", "prod", cwd=root, env=env)
    assert result.code == 1
    assert "refusing" in result.stderr and "production" in result.stderr
    assert databases(env["NSELF_BRANCH_PROD_URL"]) == before
    assert not (root / ".nself" / "branch").exists()


def test_passwords_never_appear_in_output(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    parts = urlsplit(env["NSELF_BRANCH_DEV_URL"])
    secret = "s3cr3t-Br4nch"
    with_password = {
        **env,
        "NSELF_BRANCH_DEV_URL": urlunsplit(
            parts._replace(netloc=f"{parts.username}:{secret}@{parts.hostname}:{parts.port}")
        ),
    }
    unreachable = {**env, "NSELF_BRANCH_DEV_URL": f"postgresql://app:{secret}@127.0.0.1:1/app"}
    runs = [
        run_nself("db", "branch", "create", "pw", "--env", "dev", "--json", cwd=root, env=with_password),
        run_nself("db", "branch", "list", "--env", "dev", cwd=root, env=with_password),
        run_nself("db", "branch", "switch", "nothere", "--env", "dev", cwd=root, env=with_password),
        run_nself("db", "branch", "create", "pw2", "--env", "dev", cwd=root, env=unreachable),
    ]
    assert [r.code for r in runs] == [0, 0, 1, 1], [r.stderr for r in runs]
    for run in runs:
        assert secret not in run.stdout + run.stderr
