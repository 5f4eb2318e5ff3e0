"""Production guards (each destructive command x each environment kind) and passwords
never shown, through the real CLI."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.clitools import Result, run_nself
from tests.conftest import NewDatabase

PASSWORD = "s3cr3t-Pa55word"

CONFIG = """
[environments.staging]
url = "env:NSELF_TEST_STAGING_URL"

[environments.prod]
url = "env:NSELF_TEST_PROD_URL"
production = true
"""

# Every destructive command, with what proves it did (or did not) touch the database.
# Commands added by later features join this table.
DESTRUCTIVE_COMMANDS: list[tuple[str, ...]] = [
    ("db", "migrate:fresh", "--yes"),
    ("mock", "generate"),
    ("db", "load", str(Path(__file__).parent / "data" / "load_replaces_precious.sql")),
    ("data", "reset", "--keep-schema", "--yes"),
    ("data", "import", str(Path(__file__).parent / "data" / "public.precious.json"), "--truncate"),
]


def with_password(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{PASSWORD}@{parts.hostname}:{parts.port}"))


@pytest.fixture
def project(tmp_path: Path, new_database: NewDatabase) -> tuple[Path, dict[str, str]]:
    (tmp_path / "nself.toml").write_text(CONFIG)
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_20260101_t.sql").write_text("-- migrate:up\nCREATE TABLE t (x int);\n-- migrate:down\nDROP TABLE t;\n")
    env = {
        "NSELF_TEST_STAGING_URL": with_password(new_database("staging")),
        "NSELF_TEST_PROD_URL": with_password(new_database("prod")),
    }
    return tmp_path, env


def keep_marker(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE precious (id int); INSERT INTO precious VALUES (1);")


def has_marker(url: str) -> bool:
    """The marker table still exists and holds its row."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('public.precious') IS NULL").fetchone() == (True,):
            return False
        return conn.execute("SELECT count(*) FROM precious").fetchone() == (1,)


@pytest.mark.parametrize("command", DESTRUCTIVE_COMMANDS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_destructive_commands_refuse_production(
    project: tuple[Path, dict[str, str]], command: tuple[str, ...], environment: str
) -> None:
    root, env = project
    url = env[f"NSELF_TEST_{environment.upper()}_URL"]
    keep_marker(url)
    result = run_nself(*command, "--env", environment, cwd=root, env=env)
    if environment == "prod":
        assert result.code == 1
        assert "production" in result.stderr and "refusing" in result.stderr
        assert has_marker(url), "a refused command must not touch the database"
    else:
        assert result.code == 0, result.stderr
        assert not has_marker(url)


def commands_to_scan() -> list[tuple[str, ...]]:
    return [
        ("db", "migrate", "--env", "staging"),
        ("db", "migrate:status", "--env", "staging"),
        ("db", "migrate:status", "--env", "staging", "--json"),
        ("db", "query", "select current_user", "--env", "staging"),
        ("db", "query", "select nonsense from", "--env", "staging"),
        ("db", "migrate:fresh", "--yes", "--env", "prod"),
        ("db", "status", "--env", "prod"),
        ("schema", "show", "--from", "staging"),
    ]


def test_passwords_never_appear_in_output(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    results: list[Result] = [run_nself(*args, cwd=root, env=env) for args in commands_to_scan()]
    unreachable = {**env, "NSELF_TEST_STAGING_URL": f"postgresql://app:{PASSWORD}@127.0.0.1:1/app"}
    results.append(run_nself("db", "migrate", "--env", "staging", cwd=root, env=unreachable))
    results.append(run_nself("--debug", "db", "migrate", "--env", "staging", cwd=root, env=unreachable))
    for args, result in zip([*commands_to_scan(), ("unreachable",), ("unreachable --debug",)], results, strict=True):
        assert PASSWORD not in result.stdout + result.stderr, args
    assert results[0].code == 0, results[0].stderr
    assert "error: <query>:1:" in results[4].stderr
