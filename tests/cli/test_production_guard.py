"""The production guard, by construction (docs/production-safety.md).

The list of commands comes from the CLI tree itself: every command (and every group that
runs on its own) must declare whether it is destructive, and every destructive one is
run here against production by name, against production through an alias (another name,
another host spelling, same server and database) and, where it has an effect to see,
against staging with --yes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from nself.cli.main import app
from nself.cli.safety import Destructive, declaration_of
from nself.errors import OptionError, ProductionGuardError
from nself.runtime.migrate import apply_migrations
from tests.clitools import run_nself
from tests.conftest import NewDatabase

CONFIG = """
[environments.staging]
url = "env:NSELF_GUARD_STAGING_URL"

[environments.prod]
url = "env:NSELF_GUARD_PROD_URL"
production = true

# The same server and database as prod, reached by another host name: not marked.
[environments.alias]
url = "env:NSELF_GUARD_ALIAS_URL"
"""

MIGRATION = """-- migrate:up
CREATE TABLE precious (id int PRIMARY KEY, note text NOT NULL);
-- migrate:down
DROP TABLE precious;
"""
SEED = "INSERT INTO precious VALUES (2, 'seeded') ON CONFLICT DO NOTHING;\n"
DATA = Path(__file__).parent / "data"

# One invocation per destructive command of the tree (the test below fails when a
# destructive command has none), and whether running it on staging visibly changes
# `precious` (the branch commands change databases, not rows: tests/cli/test_db_branch_cli.py).
INVOCATIONS: dict[str, tuple[tuple[str, ...], bool]] = {
    "db migrate:fresh": (("db", "migrate:fresh"), True),
    "db migrate:rollback": (("db", "migrate:rollback"), True),
    # History only: no row of `precious` changes (tests/runtime/test_migrate.py runs them).
    "db migrate:baseline": (("db", "migrate:baseline", "001"), False),
    "db migrate:adopt": (("db", "migrate:adopt"), False),
    "db migrate:repair": (("db", "migrate:repair", "--remove-missing"), False),
    "db load": (("db", "load", str(DATA / "load_replaces_precious.sql")), True),
    "db branch": (("db", "branch", "--auto"), False),
    "db branch create": (("db", "branch", "create", "p"), False),
    "db branch switch": (("db", "branch", "switch", "main"), False),
    "db branch delete": (("db", "branch", "delete", "p"), False),
    "db branch merge": (("db", "branch", "merge", "p"), False),
    "data reset": (("data", "reset", "--keep-schema"), True),
    "data import": (("data", "import", "{rows}", "--upsert"), True),
    "seed": (("seed", "--fresh"), True),
    "seed run": (("seed", "run", "--fresh"), True),
    "mock generate": (("mock", "generate"), True),
    "data anonymize": (("data", "anonymize"), False),
    # {env}: the command names its target with --to; copying staging onto itself is not a test
    "data sync": (("data", "sync", "--from", "staging", "--to", "{env}"), False),
    "db clone": (("db", "clone", "--from", "staging", "--to", "{env}"), False),
    "restore": (("restore", "latest"), False),  # tests/cli/test_backup_cli.py restores for real
}
# Options that make an option-dependent command destructive, with an invocation each.
OPTION_DEPENDENT: dict[str, list[tuple[str, ...]]] = {
    "data import": [("data", "import", "{rows}", "--truncate")],
}


def command_tree() -> Iterator[tuple[str, typer.core.TyperCommand | typer.core.TyperGroup]]:
    """(path, command) for every leaf command and every group that runs on its own."""

    def walk(command: object, path: list[str]) -> Iterator[tuple[str, typer.core.TyperCommand | typer.core.TyperGroup]]:
        children = getattr(command, "commands", None)
        if children is None:
            yield " ".join(path), command  # type: ignore[misc]
            return
        if path and getattr(command, "invoke_without_command", False):
            yield " ".join(path), command  # type: ignore[misc]
        for name, child in sorted(children.items()):
            yield from walk(child, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def destructive_commands() -> dict[str, Destructive]:
    found = {}
    for path, command in command_tree():
        declared = declaration_of(command.callback)
        if isinstance(declared, Destructive):
            found[path] = declared
    return found


def test_every_command_declares_whether_it_is_destructive() -> None:
    undeclared = [path for path, command in command_tree() if declaration_of(command.callback) is None]
    assert undeclared == [], (
        "declare each command with destructive=... (a Destructive or an action) or destructive=False "
        "where it registers; see docs/production-safety.md"
    )
    assert len(list(command_tree())) > 40  # the walk sees the whole tree


def test_every_destructive_command_is_exercised_here() -> None:
    assert set(destructive_commands()) == set(INVOCATIONS)


def test_the_guard_owns_yes_and_force_production() -> None:
    for path, command in command_tree():
        declared = declaration_of(command.callback)
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if isinstance(declared, Destructive):
            assert ("--yes" in options) == declared.confirm, path
            assert ("--force-production" in options) == declared.force_production, path
        else:
            assert "--force-production" not in options, path


def with_host(url: str, host: str) -> str:
    """`url` reaching the same server by another host name (libpq's hostaddr says where)."""
    parts = urlsplit(url)
    netloc = f"{parts.username}@{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, query=f"hostaddr={parts.hostname}"))


Project = tuple[Path, dict[str, str]]


@pytest.fixture
def project(tmp_path: Path, new_database: NewDatabase, monkeypatch: pytest.MonkeyPatch) -> Project:
    (tmp_path / "nself.toml").write_text(CONFIG)
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_20260101_precious.sql").write_text(MIGRATION)
    (tmp_path / "nself" / "seeds").mkdir()
    (tmp_path / "nself" / "seeds" / "001_precious.sql").write_text(SEED)
    (tmp_path / "public.precious.json").write_text(json.dumps([{"id": 1, "note": "replaced"}]))
    staging, prod = new_database("staging"), new_database("prod")
    for url in (staging, prod):
        apply_migrations(url, migrations)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO precious VALUES (1, 'keep')")
    env = {
        "NSELF_GUARD_STAGING_URL": staging,
        "NSELF_GUARD_PROD_URL": prod,
        "NSELF_GUARD_ALIAS_URL": with_host(prod, "prod-alias.invalid"),
    }
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("NSELF_ENV", raising=False)
    return tmp_path, env


def untouched(url: str) -> bool:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.precious') IS NULL").fetchone() == (True,):
            return False
        rows = conn.execute("SELECT p::text FROM precious p ORDER BY 1").fetchall()
        return rows == [("(1,keep)",)]


def invoke(root: Path, argv: tuple[str, ...], *extra: str) -> tuple[int, BaseException | None, str]:
    args = [a.replace("{rows}", str(root / "public.precious.json")) for a in argv]
    if "{env}" in args and "--env" in extra:  # the target is an operand of its own
        at = extra.index("--env")
        args = [extra[at + 1] if a == "{env}" else a for a in args]
        extra = (*extra[:at], *extra[at + 2 :])
    result = CliRunner().invoke(app, [*args, *extra])
    return result.exit_code, result.exception, result.output


def test_production_is_refused_by_name_and_by_server(project: Project) -> None:
    # One project for every command: each refusal must leave it as it was for the next.
    root, env = project
    for path, (argv, _) in sorted(INVOCATIONS.items()):
        yes = ("--yes",) if destructive_commands()[path].confirm else ()
        for variant in [argv, *OPTION_DEPENDENT.get(path, [])]:
            for target in ("prod", "alias"):
                code, exception, output = invoke(root, variant, "--env", target, *yes)
                assert code != 0 and isinstance(exception, ProductionGuardError), (path, target, output)
                assert str(exception).startswith("refusing to "), (path, target)
                if target == "alias":
                    assert "same server and database as 'prod'" in str(exception), (path, target)
                assert untouched(env["NSELF_GUARD_PROD_URL"]), (path, target)


@pytest.mark.parametrize("path", sorted(p for p, (_, effect) in INVOCATIONS.items() if effect))
def test_staging_runs_with_yes_and_refuses_without_a_terminal(project: Project, path: str) -> None:
    root, env = project
    argv, _ = INVOCATIONS[path]
    declared = destructive_commands()[path]
    code, exception, output = invoke(root, argv, "--env", "staging")
    assert isinstance(exception, OptionError), output
    assert str(exception) == f"refusing to {declared.action} on 'staging' without --yes: stdin is not a terminal"
    assert untouched(env["NSELF_GUARD_STAGING_URL"])
    code, exception, output = invoke(root, argv, "--env", "staging", "--yes")
    assert code == 0, (output, exception)
    assert not untouched(env["NSELF_GUARD_STAGING_URL"])


def test_option_dependent_commands_are_not_guarded_without_the_option(project: Project) -> None:
    root, _ = project
    code, exception, output = invoke(root, ("seed", "run"), "--env", "alias")
    assert code == 0, (output, exception)
    code, exception, output = invoke(root, ("data", "import", "{rows}"), "--env", "alias")
    assert code != 0 and not isinstance(exception, ProductionGuardError)  # a duplicate key, not the guard


def test_force_production_where_declared(project: Project) -> None:
    root, env = project
    code, exception, output = invoke(root, INVOCATIONS["db load"][0], "--env", "prod", "--yes", "--force-production")
    assert code == 0, (output, exception)
    assert not untouched(env["NSELF_GUARD_PROD_URL"])


# The two commands that reached production before the guard was declared with the command,
# through the real CLI as a user runs it: both exited 0 and destroyed data.
@pytest.mark.parametrize(
    "argv",
    [("db", "migrate:rollback", "--env", "prod"), ("seed", "--fresh", "--env", "prod")],
    ids=lambda a: " ".join(a),
)
def test_rollback_and_fresh_seeds_refuse_production(project: Project, argv: tuple[str, ...]) -> None:
    root, env = project
    result = run_nself(*argv, cwd=root, env=env)
    assert result.code == 1
    assert result.stderr.startswith("error: refusing to ") and "production = true" in result.stderr
    assert result.stderr.count("\n") == 1
    assert untouched(env["NSELF_GUARD_PROD_URL"])
