"""Passwords never shown, through the real CLI: a password holding quotes, spaces and `@`
given as --env, as a --from conninfo, in environment URLs of servers that cannot be
reached, and as the user's PGPASSWORD for db dump / db load (which must keep it). Every
command of the tree is run with such a target. (The production guard: test_production_guard.py.)"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
import typer
from typer.testing import CliRunner

from nself.cli.main import app
from nself.runtime.cluster import LocalCluster
from tests.clitools import Result, run_nself, run_nself_process
from tests.conftest import NewDatabase

PASSWORD = "p@ss w'o\"rd@x"
# What must never be shown: the password, and every part of it between `@`s (libpq reads
# `u:p@ss@h` as password `p`, host `ss@h`, and its errors quote the host).
FRAGMENTS = [PASSWORD, *(part for part in PASSWORD.split("@") if len(part) >= 3)]

CONFIG = """
[environments.staging]
url = "env:NSELF_TEST_STAGING_URL"

[environments.prod]
url = "env:NSELF_TEST_PROD_URL"
production = true
"""


def shown(text: str) -> list[str]:
    return [fragment for fragment in FRAGMENTS if fragment in text]


def with_password(url: str, password: str = PASSWORD, *, encode: bool = True) -> str:
    parts = urlsplit(url)
    secret = quote(password, safe="") if encode else password
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{secret}@{parts.hostname}:{parts.port}"))


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
    for raw in (True, False):  # percent-encoded, and as a user may type it
        unreachable = {**env, "NSELF_TEST_STAGING_URL": with_password("postgresql://app@127.0.0.1:1/app", encode=raw)}
        results.append(run_nself("db", "migrate", "--env", "staging", cwd=root, env=unreachable))
        results.append(run_nself("--debug", "db", "migrate", "--env", "staging", cwd=root, env=unreachable))
    for result in results:
        assert shown(result.stdout + result.stderr) == [], result
    assert results[0].code == 0, results[0].stderr
    assert "error: <query>:1:" in results[4].stderr


RAW_URL = with_password("postgresql://app@127.0.0.1:1/app", encode=False)
CONNINFO = f"host=127.0.0.1 port=1 user=app dbname=app password='{PASSWORD.replace(chr(39), chr(92) + chr(39))}'"


def leaves() -> Iterator[tuple[list[str], typer.core.TyperCommand]]:
    def walk(command: object, path: list[str]) -> Iterator[tuple[list[str], typer.core.TyperCommand]]:
        children = getattr(command, "commands", None)
        if children is None:
            yield path, command  # type: ignore[misc]
            return
        for name, child in sorted(children.items()):
            yield from walk(child, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def test_no_command_shows_a_password_given_as_env_or_from(
    project: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, env = project
    monkeypatch.chdir(root)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runs = 0
    for path, command in leaves():
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        required = ["x" for param in command.params if param.required and param.param_type_name == "argument"]
        for option, target in (("--env", RAW_URL), ("--from", CONNINFO), ("--from", RAW_URL)):
            if option not in options or "--watch" in path:
                continue
            yes = ["--yes"] if "--yes" in options else []
            result = CliRunner().invoke(app, [*path, *required, option, target, *yes])
            runs += 1
            text = result.output + (str(result.exception) if result.exception else "")
            assert result.exit_code != 0, (path, option, text)
            assert shown(text) == [], (path, option, text)
            if option == "--env" and path == ["db", "migrate"]:
                assert "not a connection URL (postgresql://app:***@127.0.0.1:1/app)" in text, text
    assert runs > 30


# --------------------------------------------------------------------------- PGPASSWORD


@pytest.fixture
def password_role(pg_cluster: LocalCluster, new_database: NewDatabase) -> Iterator[str]:
    """A role that must give its password (scram), owning a database of its own: the URL
    has no password, so only $PGPASSWORD can let a client in."""
    role = f"pw_{uuid.uuid4().hex[:8]}"
    url = new_database("pw")
    database = urlsplit(url).path.lstrip("/")
    hba = pg_cluster.data_dir / "pg_hba.conf"
    original = hba.read_text()
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD {psycopg.sql.Literal(PASSWORD).as_string(conn)}")
        conn.execute(f'ALTER DATABASE "{database}" OWNER TO {role}')
        hba.write_text(f"host {database} {role} 127.0.0.1/32 scram-sha-256\n" + original)
        conn.execute("SELECT pg_reload_conf()")
    try:
        yield urlunsplit(urlsplit(url)._replace(netloc=f"{role}@127.0.0.1:{pg_cluster.port}"))
    finally:
        hba.write_text(original)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
        with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO postgres')
            conn.execute(f"DROP ROLE {role}")


def test_dump_and_load_keep_the_users_pgpassword(tmp_path: Path, password_role: str) -> None:
    (tmp_path / "nself.toml").write_text('[environments.pw]\nurl = "env:NSELF_TEST_PW_URL"\n')
    env = {"NSELF_TEST_PW_URL": password_role, "PGPASSWORD": PASSWORD}
    with psycopg.connect(password_role, password=PASSWORD, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int); INSERT INTO kept VALUES (1), (2)")
    dumped = run_nself("db", "dump", "--env", "pw", "-o", "pw.dump", cwd=tmp_path, env=env)
    assert dumped.code == 0, dumped.stderr
    with psycopg.connect(password_role, password=PASSWORD, autocommit=True) as conn:
        conn.execute("DROP TABLE kept")
    loaded = run_nself("db", "load", "pw.dump", "--env", "pw", "--yes", cwd=tmp_path, env=env)
    assert loaded.code == 0, loaded.stderr
    with psycopg.connect(password_role, password=PASSWORD) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (2,)
    wrong = run_nself("db", "dump", "--env", "pw", "-o", "x.dump", cwd=tmp_path, env={**env, "PGPASSWORD": "nope"})
    assert wrong.code == 1 and "password authentication failed" in wrong.stderr
    # The plain path (nself.cli.quick, a process of its own) says the same line.
    plain = run_nself_process(
        "db", "dump", "--env", "pw", "-o", "x.dump", cwd=tmp_path, env={**env, "PGPASSWORD": "nope"}
    )
    assert (plain.code, plain.stdout, plain.stderr) == (wrong.code, wrong.stdout, wrong.stderr)
    for result in (dumped, loaded, wrong, plain):
        assert shown(result.stdout + result.stderr) == []
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert tmp_path / "pw.dump" in written
    for path in written:  # the dump, and anything nself wrote beside it
        assert shown(path.read_bytes().decode("utf-8", "replace")) == [], path
