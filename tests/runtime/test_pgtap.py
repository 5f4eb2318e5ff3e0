"""nself.runtime.pgtap against a real PostgreSQL with the real pgTAP extension.

The oracle is pgTAP itself: the same file runs in psql and pgTAP's own bookkeeping (the
plan and failure count it keeps in __tcache__, the number of tests it ran in
__tresults___numb_seq) is read at the end; nself's plan, failures and tests run must match."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from nself.errors import NselfError, OptionError
from nself.runtime.pgtap import (
    as_json,
    as_junit,
    ensure_pgtap,
    find_test_files,
    parse_tap,
    run_file,
    run_tests,
)
from nself.runtime.query import psql_environment
from tests.conftest import run_sql

SCHEMA = """\
CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE NOT NULL, name text NOT NULL);
CREATE TABLE posts (id int PRIMARY KEY, author int NOT NULL REFERENCES users, title text);
INSERT INTO users VALUES (1, 'ann@example.com', 'ann'), (2, 'bob@example.com', 'bob');
"""

# One assertion of each kind: passing, failing (with pgTAP's have/want diagnostics),
# skipped, and a TODO that fails; a `#` in a description.
MIXED = """\
SELECT plan(6);
SELECT ok(true, 'truth holds');
SELECT is(1 + 1, 2, 'arithmetic');
SELECT is(2, 3, 'a wrong # sum');
SELECT skip('not on this server', 1);
SELECT todo('later', 1);
SELECT ok(false, 'unfinished feature');
SELECT * FROM finish();
"""

SCHEMA_CHECKS = """\
SELECT plan(6);
SELECT has_table('public', 'users', 'users exists');
SELECT col_is_pk('public', 'users', 'id', 'users.id is the key');
SELECT col_is_pk('public', 'users', 'email', 'users.email is the key');
SELECT results_eq('SELECT name FROM users ORDER BY id', ARRAY['ann', 'bob'], 'names in order');
SELECT fk_ok('public', 'posts', 'author', 'public', 'users', 'id', 'posts.author references users');
SELECT hasnt_table('public', 'ghosts', 'no ghosts');
SELECT * FROM finish();
"""

FEWER_THAN_PLANNED = (
    "SELECT plan(3);\nSELECT ok(true, 'one');\nSELECT ok(true, 'two');\nSELECT * FROM finish();\n"
)
MORE_THAN_PLANNED = (
    "SELECT plan(1);\nSELECT ok(true, 'one');\nSELECT ok(true, 'two');\nSELECT * FROM finish();\n"
)
NO_PLAN = (
    "SELECT * FROM no_plan();\nSELECT ok(true, 'one');\nSELECT ok(true, 'two');\nSELECT * FROM finish();\n"
)

SQL_ERROR = """\
SELECT plan(3);
SELECT ok(true, 'before the error');
SELECT count(*)
  FROM users
  JOIN nowhere ON true;
SELECT ok(true, 'never runs');
SELECT * FROM finish();
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pgtap_verdict(url: str, path: Path) -> dict[str, int]:
    """What pgTAP itself recorded for `path`, read from its bookkeeping tables in the same
    session (from a copy without the final finish(), which drops those tables)."""
    copy = path.with_name("oracle_" + path.name)
    copy.write_text(path.read_text().replace("SELECT * FROM finish();\n", ""))
    script = (
        "BEGIN;\nCREATE EXTENSION IF NOT EXISTS pgtap;\n"
        f"\\i '{copy}'\n"
        "\\echo ORACLE\n"
        "SELECT _get('plan'), num_failed(),\n"
        "       (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM __tresults___numb_seq);\n"
        "ROLLBACK;\n"
    )
    done = subprocess.run(
        ["psql", "-X", "-q", "-A", "-t", "-F", " ", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        env=psql_environment(url),
        check=False,
    )
    assert done.returncode == 0, done.stderr
    planned, failed, ran = map(int, done.stdout.split("ORACLE\n", 1)[1].split())
    return {"planned": planned, "failed": failed, "ran": ran}


def nself_verdict(url: str, path: Path) -> dict[str, int]:
    result = run_file(url, path, path.name, has_pgtap=ensure_pgtap(url))
    return {
        "planned": result.tap.planned or 0,
        "failed": result.count("failed"),
        "ran": len(result.tap.assertions),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MIXED, {"passed": 2, "failed": 1, "skipped": 1, "todo": 1}),
        (SCHEMA_CHECKS, {"passed": 5, "failed": 1, "skipped": 0, "todo": 0}),
        (FEWER_THAN_PLANNED, {"passed": 2, "failed": 0, "skipped": 0, "todo": 0}),
        (MORE_THAN_PLANNED, {"passed": 2, "failed": 0, "skipped": 0, "todo": 0}),
        (NO_PLAN, {"passed": 2, "failed": 0, "skipped": 0, "todo": 0}),
    ],
    ids=["mixed", "schema-checks", "fewer-than-planned", "more-than-planned", "no-plan"],
)
def test_counts_match_pgtaps_own_bookkeeping(
    tmp_path: Path, database: str, text: str, expected: dict[str, int]
) -> None:
    run_sql(database, SCHEMA)
    path = write(tmp_path, "t.sql", text)
    oracle = pgtap_verdict(database, path)
    # no_plan() stores 0 as the plan; finish() then prints `1..N` with the count it ran.
    if text is NO_PLAN:
        oracle["planned"] = oracle["ran"]
    assert nself_verdict(database, path) == oracle
    result = run_file(database, path, path.name, has_pgtap=False)
    assert {s: result.count(s) for s in ("passed", "failed", "skipped", "todo")} == expected


@pytest.mark.skipif(
    shutil.which("pg_prove") is None, reason="pg_prove (libtap-parser-sourcehandler-pgtap-perl) not installed"
)
def test_file_verdicts_match_pg_prove(tmp_path: Path, database: str) -> None:
    """A second, independent harness: Perl's TAP::Harness through pg_prove decides which
    files pass; nself must agree on every file (TODO failures pass, unmet plans and
    missing plans and SQL errors fail)."""
    run_sql(database, SCHEMA + "CREATE EXTENSION pgtap;")
    texts = {
        "mixed": MIXED,
        "schema": SCHEMA_CHECKS,
        "fewer": FEWER_THAN_PLANNED,
        "more": MORE_THAN_PLANNED,
        "no_plan": NO_PLAN,
        "unfinished": NO_PLAN.replace("SELECT * FROM finish();\n", ""),
        "error": SQL_ERROR,
        "todo_only": "SELECT plan(2);\nSELECT ok(true);\nSELECT todo('later', 1);\nSELECT ok(false, 'x');\n",
    }
    nself, harness = {}, {}
    for name, text in texts.items():
        path = write(tmp_path, f"{name}.sql", text)
        nself[name] = run_file(database, path, path.name, has_pgtap=True).ok
        done = subprocess.run(
            ["pg_prove", "--ext", ".sql", str(path)],
            capture_output=True,
            text=True,
            env={"PATH": os.environ["PATH"], **psql_environment(database)},
            check=False,
        )
        harness[name] = done.returncode == 0
    assert nself == harness
    assert harness == {
        "mixed": False,
        "schema": False,
        "fewer": False,
        "more": False,
        "no_plan": True,
        "unfinished": False,
        "error": False,
        "todo_only": True,
    }


def test_mixed_file_details(tmp_path: Path, database: str) -> None:
    result = run_file(database, write(tmp_path, "t.sql", MIXED), "t.sql", has_pgtap=ensure_pgtap(database))
    assert [(a.number, a.status, a.description, a.reason) for a in result.tap.assertions] == [
        (1, "passed", "truth holds", ""),
        (2, "passed", "arithmetic", ""),
        (3, "failed", "a wrong # sum", ""),
        (4, "skipped", "", "not on this server"),
        (5, "todo", "unfinished feature", "later"),
    ]
    failing = result.tap.assertions[2]
    assert failing.diagnostics == ('Failed test 3: "a wrong # sum"', "have: 2", "want: 3")
    assert not result.ok
    # pgTAP reports the missing sixth test itself; nself calls it a plan mismatch.
    assert result.problems == ["planned 6 tests but ran 5"]


def test_plan_mismatch_and_missing_plan_fail_the_file(tmp_path: Path, database: str) -> None:
    has = ensure_pgtap(database)
    fewer = run_file(database, write(tmp_path, "a.sql", FEWER_THAN_PLANNED), "a.sql", has_pgtap=has)
    more = run_file(database, write(tmp_path, "b.sql", MORE_THAN_PLANNED), "b.sql", has_pgtap=has)
    no_plan = run_file(database, write(tmp_path, "c.sql", NO_PLAN), "c.sql", has_pgtap=has)
    # no_plan() without the finish() that prints the plan
    unfinished = NO_PLAN.replace("SELECT * FROM finish();\n", "")
    unplanned = run_file(database, write(tmp_path, "d.sql", unfinished), "d.sql", has_pgtap=has)
    assert (fewer.ok, fewer.problems) == (False, ["planned 3 tests but ran 2"])
    assert (more.ok, more.problems) == (False, ["planned 1 test but ran 2"])
    assert (no_plan.ok, no_plan.problems) == (True, [])
    assert (unplanned.ok, unplanned.count("passed")) == (False, 2)
    assert unplanned.problems[0].startswith("no plan:")


def test_sql_error_names_file_and_line_and_the_run_goes_on(tmp_path: Path, database: str) -> None:
    run_sql(database, SCHEMA)
    files = [write(tmp_path, "1_error.sql", SQL_ERROR), write(tmp_path, "2_fine.sql", NO_PLAN)]
    run = run_tests(database, files, tmp_path)
    broken, fine = run.files
    # The server's error position falls on line 5 (`JOIN nowhere`), the statement starts on line 3.
    assert broken.error == '1_error.sql:5: relation "nowhere" does not exist'
    assert (broken.ok, broken.count("passed")) == (False, 1)
    assert fine.ok and fine.count("passed") == 2
    assert (run.ok, run.failed_files) == (False, 1)
    # An error with no position (raised while executing) names the line where the statement ends.
    runtime = write(tmp_path, "3_runtime.sql", "SELECT plan(1);\nSELECT 1 /\n  0;\n")
    assert (
        run_file(database, runtime, "3_runtime.sql", has_pgtap=False).error
        == "3_runtime.sql:3: division by zero"
    )


def test_an_error_counts_even_when_the_file_turns_on_error_stop_off(tmp_path: Path, database: str) -> None:
    text = "\\set ON_ERROR_STOP 0\nSELECT plan(2);\nSELECT ok(true, 'one');\nSELECT nope;\nSELECT ok(true, 'two');\n"
    result = run_file(database, write(tmp_path, "t.sql", text), "t.sql", has_pgtap=False)
    assert result.error == 't.sql:4: column "nope" does not exist'
    assert (result.ok, result.count("passed")) == (False, 1)


def snapshot(url: str) -> tuple[object, ...]:
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT array_agg(relname ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ).fetchone()
        rows = conn.execute("SELECT count(*), max(name) FROM users").fetchone()
        extensions = conn.execute("SELECT array_agg(extname ORDER BY extname) FROM pg_extension").fetchone()
        functions = conn.execute("SELECT count(*) FROM pg_proc WHERE proname = 'plan'").fetchone()
    return tables, rows, extensions, functions


def test_a_run_leaves_the_database_as_it_was(tmp_path: Path, database: str) -> None:
    run_sql(database, SCHEMA)
    before = snapshot(database)
    assert before[2] == (["plpgsql"],)  # no pgtap: the run creates it, and rolls it back
    writes = write(
        tmp_path,
        "writes.sql",
        "SELECT plan(2);\n"
        "CREATE TABLE scratch (id int);\n"
        "INSERT INTO scratch VALUES (1);\n"
        "INSERT INTO users VALUES (3, 'cy@example.com', 'zed');\n"
        "UPDATE users SET name = 'changed' WHERE id = 1;\n"
        "SELECT has_table('scratch');\n"
        "SELECT is((SELECT count(*) FROM users), 3::bigint, 'three users inside the test');\n"
        "SELECT * FROM finish();\n",
    )
    errors = write(
        tmp_path,
        "z_error.sql",
        "SELECT plan(1);\nINSERT INTO users VALUES (4, 'd@example.com', 'd');\nSELECT nope;\n",
    )
    run = run_tests(database, [writes, errors], tmp_path)
    assert run.files[0].ok and run.files[0].count("passed") == 2
    assert run.files[1].error is not None
    assert snapshot(database) == before


def test_pgtap_already_installed_is_used_and_kept(tmp_path: Path, database: str) -> None:
    run_sql(database, "CREATE EXTENSION pgtap;")
    assert ensure_pgtap(database) is True
    run = run_tests(database, [write(tmp_path, "t.sql", NO_PLAN)], tmp_path)
    assert run.ok
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pgtap'").fetchone() == (1,)


def test_a_role_that_cannot_create_pgtap_gets_one_line(database: str) -> None:
    # pgtap.control says superuser = false, so creating it needs CREATE on the schema, which
    # PostgreSQL 15 no longer grants on public. With the Debian package installed this is
    # the honest way to reach "this database cannot get pgtap".
    run_sql(
        database,
        "DO $$ BEGIN CREATE ROLE nself_pgtap_tester LOGIN; EXCEPTION WHEN duplicate_object THEN END $$;",
    )
    url = make_conninfo(database, user="nself_pgtap_tester", password="s3cret-pw")
    with pytest.raises(NselfError) as caught:
        ensure_pgtap(url)
    message = str(caught.value)
    assert message.startswith("cannot create the pgtap extension in ")
    assert "permission denied for schema public" in message
    assert "s3cret-pw" not in message and "\n" not in message


def test_parse_tap_directives_diagnostics_and_plans() -> None:
    tap = parse_tap(
        "# leading note\n"
        "ok 1 - plain\n"
        "not ok 2 - broken \\# hash # TODO not yet\n"
        "# Failed (TODO) test 2\n"
        "ok 3 # SKIP no network\n"
        "ok 4 - bonus # todo surprise\n"
        "42\n"
        "1..4\n"
    )
    assert tap.planned == 4 and tap.diagnostics == ("leading note",)
    assert [(a.number, a.status, a.description, a.reason) for a in tap.assertions] == [
        (1, "passed", "plain", ""),
        (2, "todo", "broken # hash", "not yet"),
        (3, "skipped", "", "no network"),
        (4, "passed", "bonus", "surprise"),
    ]
    assert tap.assertions[1].diagnostics == ("Failed (TODO) test 2",)
    skipped_all = parse_tap("1..0 # Skipped: no pgcrypto\n")
    assert (skipped_all.planned, skipped_all.skip_all) == (0, "no pgcrypto")


def test_reports_json_and_junit(tmp_path: Path, database: str) -> None:
    run_sql(database, SCHEMA)
    files = [
        write(tmp_path, "a.sql", MIXED),
        write(tmp_path, "b.sql", SQL_ERROR),
        write(tmp_path, "c.sql", NO_PLAN),
    ]
    run = run_tests(database, files, tmp_path)
    data = as_json(run)
    assert data["summary"] == {
        "passed": 5,
        "failed": 1,
        "skipped": 1,
        "todo": 1,
        "files": 3,
        "failed_files": 2,
    }
    root = ElementTree.fromstring(as_junit(run))
    # a.sql: 5 assertions + the plan; b.sql: 1 assertion + the SQL error (its unmet plan is
    # not reported twice); c.sql: 2 assertions.
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        "tests": "10",
        "failures": "2",
        "errors": "1",
        "skipped": "2",
    }
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert list(suites) == ["a.sql", "b.sql", "c.sql"]
    assert len(suites["a.sql"].findall("testcase")) == int(suites["a.sql"].get("tests", "0")) == 6
    failure = suites["a.sql"].find("testcase/failure")
    assert (
        failure is not None
        and failure.get("message") == "a wrong # sum"
        and "want: 3" in (failure.text or "")
    )
    error = suites["b.sql"].find("testcase/error")
    assert error is not None and error.get("message") == 'b.sql:5: relation "nowhere" does not exist'


def test_find_test_files(tmp_path: Path) -> None:
    for name in (
        "nself/tests/10_b.sql",
        "nself/tests/2_a.sql",
        "nself/tests/sub/1_c.sql",
        "nself/tests/notes.txt",
    ):
        write(tmp_path, name, "")
    found = find_test_files(tmp_path, (), cwd=tmp_path)
    assert [p.relative_to(tmp_path / "nself/tests").as_posix() for p in found] == [
        "2_a.sql",
        "10_b.sql",
        "sub/1_c.sql",
    ]
    assert find_test_files(tmp_path, ["nself/tests/sub", "nself/tests/2_a.sql"], cwd=tmp_path) == [
        tmp_path / "nself/tests/sub/1_c.sql",
        tmp_path / "nself/tests/2_a.sql",
    ]
    with pytest.raises(OptionError, match=r"FILE_OR_DIR missing\.sql: no such file"):
        find_test_files(tmp_path, ["missing.sql"], cwd=tmp_path)
    with pytest.raises(NselfError, match="no test files"):
        find_test_files(tmp_path / "nself", (), cwd=tmp_path)


def test_xunit_runtests_inside_a_file(tmp_path: Path, database: str) -> None:
    # pgTAP's runtests() prints each test function as an indented subtest, then one
    # top-level `ok`/`not ok` per function and the plan: the top level is what counts.
    text = """\
CREATE FUNCTION test_passes() RETURNS SETOF text LANGUAGE sql AS $$ SELECT ok(true, 'inner pass') $$;
CREATE FUNCTION test_fails() RETURNS SETOF text LANGUAGE sql AS $$ SELECT is(1, 2, 'inner fail') $$;
SELECT * FROM runtests();
"""
    result = run_file(database, write(tmp_path, "x.sql", text), "x.sql", has_pgtap=False)
    assert (result.error, result.tap.planned) == (None, 2)
    assert [(a.status, a.description) for a in result.tap.assertions] == [
        ("failed", "public.test_fails"),
        ("passed", "public.test_passes"),
    ]
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'test\\_%'").fetchone() == (0,)
