"""Bad input gives one line naming the file:line:col or the option, a non-zero exit and
no traceback; --debug shows the traceback."""

import uuid
from pathlib import Path

import psycopg
import pytest

from nself.runtime.cluster import LocalCluster
from tests.clitools import run_nself, run_nself_process


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_malformed_nself_toml(tmp_path: Path) -> None:
    (tmp_path / "nself.toml").write_text("[environments.local]\nport = = 5\n")
    # A separate process: the one line and the exit code as the shell sees them (the other
    # tests run nself in-process, through the same entry point).
    result = run_nself_process("schema", "show", cwd=tmp_path)
    assert result.code == 1
    assert_one_line_error(result.stderr, f"{tmp_path / 'nself.toml'}:2:")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "nself.toml").write_text("[environments.local]\nport = = 5\n")
    result = run_nself_process("--debug", "schema", "show", cwd=tmp_path)
    assert result.code != 0
    assert "Traceback" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("schema", "show", "--frm", "x"), "--frm"),
        (("schema", "show", "--format", "xml"), "--format"),
        (("schema", "show", "--from", "missing.dbml"), "--from"),
        (("schema", "show", "--from", "nowhere"), "--from"),
        (("schema", "show", "--from", "bad.json"), "bad.json: Catalog.tables[0]"),
        (("db", "status", "--env", "qa"), "--env"),
        (("no-such-command",), "no-such-command"),
    ],
)
def test_bad_options_name_the_option(tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    (tmp_path / "bad.json").write_text('{"ir_version": 1, "tables": [{"schema": "s"}]}')
    result = run_nself(*args, cwd=tmp_path)
    assert result.code in (1, 2)
    assert_one_line_error(result.stderr, fragment)


def test_unreachable_server_is_one_line_without_password(tmp_path: Path) -> None:
    url = "postgresql://app:hunter2@127.0.0.1:1/app"
    result = run_nself("schema", "show", "--from", url, cwd=tmp_path)
    assert result.code == 1
    assert_one_line_error(result.stderr)
    assert "hunter2" not in result.stderr + result.stdout


def test_every_command_has_help_with_examples(tmp_path: Path) -> None:
    for args in (("init",), ("db", "start"), ("db", "status"), ("schema", "show")):
        result = run_nself(*args, "--help", cwd=tmp_path)
        assert result.code == 0, result.stderr
        assert "Examples" in result.stdout, args


def test_a_database_error_anywhere_is_postgresqls_message_in_one_line(
    tmp_path: Path, pg_cluster: LocalCluster, database: str
) -> None:
    """A role that may not create nself's history schema: PostgreSQL's own message and SQLSTATE,
    exit 1, never "internal error" (exit 70)."""
    role = f"weak_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
        conn.execute(f"REVOKE CREATE ON DATABASE {database.rsplit('/', 1)[1]} FROM PUBLIC")
    weak_url = database.replace(f"//{pg_cluster.user}@", f"//{role}:pw@")
    (tmp_path / "nself.toml").write_text('[environments.weak]\nurl = "env:WEAK_URL"\n')
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_20260101_init.sql").write_text("-- migrate:up\ncreate table t (id int);\n")
    result = run_nself("db", "migrate", "--env", "weak", cwd=tmp_path, env={"WEAK_URL": weak_url})
    try:
        assert result.code == 1, result.stderr
        assert_one_line_error(result.stderr, "permission denied")
        assert "internal error" not in result.stderr
    finally:
        with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")


@pytest.mark.parametrize(
    "command",
    [
        ("schema", "show", "--from", "migrations"),
        ("schema", "diff", "migrations", "migrations"),
        ("types", "typescript", "--from", "migrations"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_commands_that_compile_migrations_print_their_warnings(tmp_path: Path, command: tuple[str, ...]) -> None:
    """What the SQL frontend went past is a warning naming file:line on stderr, one line
    each (a construct the expression canonicaliser does not model: TABLESAMPLE); statements
    that only change rows are not."""
    (tmp_path / "nself.toml").write_text("[environments.local]\n")
    migration = tmp_path / "migrations" / "1_init.up.sql"
    migration.parent.mkdir()
    migration.write_text(
        "CREATE TABLE t (a int);\n\nCREATE VIEW v AS SELECT * FROM t TABLESAMPLE SYSTEM (10);\nINSERT INTO t VALUES (1);\n"
    )
    result = run_nself(*command, cwd=tmp_path)
    assert result.code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings and set(warnings) == {
        f"warning: {migration}:3: view definition not canonicalised (Unsupported: RangeTableSample); kept as "
        "pglast prints it, which may differ from what PostgreSQL records"
    }
