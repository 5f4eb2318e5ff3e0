"""`nself db test` run as a user runs it, against a real PostgreSQL with pgTAP: the text
report and summary, exit codes, --json, --junit (parsed back with xml.etree), operands,
and errors in one line."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import psycopg
import pytest

from tests.clitools import Result, run_nself
from tests.conftest import run_sql

PASSING = """\
SELECT plan(2);
SELECT has_table('public', 'users', 'users exists');
SELECT col_is_pk('public', 'users', 'id', 'users.id is the key');
SELECT * FROM finish();
"""

FAILING = """\
SELECT plan(4);
INSERT INTO users VALUES (3, 'cy');
SELECT is((SELECT count(*) FROM users), 3::bigint, 'three users');
SELECT is((SELECT name FROM users WHERE id = 1), 'bob', 'first user is bob');
SELECT skip('needs pg_cron', 1);
SELECT * FROM finish();
"""

BROKEN = """\
SELECT plan(2);
SELECT ok(true, 'first');
SELECT * FROM missing_table;
SELECT ok(true, 'second');
SELECT * FROM finish();
"""

EXPECTED = """\
nself/tests/01_passing.sql .. ok (2 passed)
nself/tests/02_failing.sql .. FAILED (1 passed, 1 failed, 1 skipped)
  not ok 2 - first user is bob
    # Failed test 2: "first user is bob"
    # have: ann
    # want: bob
  planned 4 tests but ran 3
nself/tests/10_broken.sql .. FAILED (1 passed)
  SQL error: nself/tests/10_broken.sql:3: relation "missing_table" does not exist
FAILED 6 tests in 3 files: 4 passed, 1 failed, 1 skipped, 0 todo; 2 of 3 files failed
"""


@pytest.fixture
def project(tmp_path: Path, database: str) -> Path:
    run_sql(
        database,
        "CREATE TABLE users (id int PRIMARY KEY, name text); INSERT INTO users VALUES (1, 'ann'), (2, 'bo');",
    )
    (tmp_path / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_TEST_URL"\n')
    tests = tmp_path / "nself" / "tests"
    tests.mkdir(parents=True)
    (tests / "01_passing.sql").write_text(PASSING)
    (tests / "02_failing.sql").write_text(FAILING)
    (tests / "10_broken.sql").write_text(BROKEN)
    return tmp_path


def db_test(project: Path, database: str, *args: str) -> Result:
    return run_nself("db", "test", "--env", "staging", *args, cwd=project, env={"NSELF_TEST_URL": database})


def test_text_report_summary_and_exit_code(project: Path, database: str) -> None:
    result = db_test(project, database)
    assert (result.code, result.stdout) == (1, EXPECTED), result.stderr
    # the INSERT of 02_failing.sql was rolled back
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*), bool_or(name = 'cy') FROM users").fetchone() == (2, False)


def test_passing_files_exit_zero_and_verbose_lists_every_assertion(project: Path, database: str) -> None:
    result = db_test(project, database, "nself/tests/01_passing.sql", "-v")
    assert (result.code, result.stdout) == (
        0,
        "nself/tests/01_passing.sql .. ok (2 passed)\n"
        "  ok 1 - users exists\n"
        "  ok 2 - users.id is the key\n"
        "2 tests in 1 file: 2 passed, 0 failed, 0 skipped, 0 todo; all files passed\n",
    ), result.stderr


def test_verbose_shows_skips_with_their_reason(project: Path, database: str) -> None:
    result = db_test(project, database, "nself/tests/02_failing.sql", "--verbose")
    assert result.code == 1
    assert result.stdout.splitlines()[1:7] == [
        "  ok 1 - three users",
        "  not ok 2 - first user is bob",
        '    # Failed test 2: "first user is bob"',
        "    # have: ann",
        "    # want: bob",
        "  ok 3 # SKIP needs pg_cron",
    ]


def test_json_and_junit(project: Path, database: str) -> None:
    result = db_test(project, database, "--json", "--junit", "build/pgtap.xml")
    assert result.code == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"] == {
        "passed": 4,
        "failed": 1,
        "skipped": 1,
        "todo": 0,
        "files": 3,
        "failed_files": 2,
    }
    assert [(f["path"], f["ok"], f["planned"]) for f in data["files"]] == [
        ("nself/tests/01_passing.sql", True, 2),
        ("nself/tests/02_failing.sql", False, 4),
        ("nself/tests/10_broken.sql", False, 2),
    ]
    assert data["files"][1]["assertions"][1] == {
        "number": 2,
        "status": "failed",
        "ok": False,
        "description": "first user is bob",
        "directive": None,
        "reason": "",
        "diagnostics": ['Failed test 2: "first user is bob"', "have: ann", "want: bob"],
    }
    assert data["files"][2]["error"] == 'nself/tests/10_broken.sql:3: relation "missing_table" does not exist'
    root = ElementTree.parse(project / "build/pgtap.xml").getroot()
    # 2 + (3 assertions + the unmet plan) + (1 assertion + the SQL error)
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "8",
        "failures": "2",
        "errors": "1",
        "skipped": "1",
    }
    assert [len(s.findall("testcase")) for s in root.iter("testsuite")] == [2, 4, 2]


def test_bad_operand_and_missing_tests_are_one_line(project: Path, database: str, tmp_path: Path) -> None:
    missing = db_test(project, database, "nself/tests/nope.sql")
    assert missing.code != 0 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [missing.stderr.strip()]
    assert "FILE_OR_DIR nself/tests/nope.sql: no such file or directory" in missing.stderr
    for path in (project / "nself" / "tests").iterdir():
        path.unlink()
    empty = db_test(project, database)
    assert empty.code != 0 and "no test files: nself/tests/ has no .sql files" in empty.stderr
    assert "Traceback" not in empty.stderr + missing.stderr
