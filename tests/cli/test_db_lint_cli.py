"""`nself db lint` run as a user runs it: the text and JSON output, exit codes by --fail-on,
--rule and --skip, nself.toml [lint], and errors in one line. Most sources are a .sql
file (the SQL frontend, no database); one test reads a live database through --env."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clitools import run_nself
from tests.conftest import run_sql

# One finding at each level: an error (policy without RLS), a warning (timestamp without
# time zone) and an info (varchar(n)).
SCHEMA = """\
CREATE TABLE public.account (id int PRIMARY KEY, name varchar(40) NOT NULL, made timestamp NOT NULL);
CREATE POLICY own ON public.account USING (id > 0);
"""

EXPECTED_TEXT = """\
error policy-without-rls public.account: table account has policy own but row level security is \
disabled: PostgreSQL ignores it and every role with a grant sees every row
warning timestamp-without-time-zone public.account.made: column account.made is timestamp without time zone
info varchar-length public.account.name: column account.name is character varying(40)
3 findings: 1 error, 1 warning, 1 info
"""

WARNINGS_ONLY = "CREATE TABLE public.event (id int PRIMARY KEY, at timestamp);\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "warnings.sql").write_text(WARNINGS_ONLY)
    (tmp_path / "clean.sql").write_text("CREATE TABLE public.event (id int PRIMARY KEY, at timestamptz);\n")
    return tmp_path


def lint(project: Path, *args: str) -> tuple[int, str, str]:
    result = run_nself("db", "lint", *args, cwd=project)
    return result.code, result.stdout, result.stderr


def test_text_output_one_line_per_finding_then_a_summary(project: Path) -> None:
    code, out, _ = lint(project, "--from", "schema.sql")
    assert (code, out) == (1, EXPECTED_TEXT)
    assert lint(project, "--from", "clean.sql")[:2] == (0, "no findings\n")


@pytest.mark.parametrize(
    ("source", "fail_on", "code"),
    [
        ("schema.sql", None, 1),
        ("schema.sql", "never", 0),
        ("warnings.sql", None, 0),
        ("warnings.sql", "error", 0),
        ("warnings.sql", "warning", 1),
        ("warnings.sql", "info", 1),
        ("clean.sql", "info", 0),
    ],
)
def test_exit_code_follows_fail_on(project: Path, source: str, fail_on: str | None, code: int) -> None:
    args = ["--from", source] + (["--fail-on", fail_on] if fail_on else [])
    assert lint(project, *args)[0] == code


def test_json_lists_findings_with_object_and_remedy(project: Path) -> None:
    code, out, _ = lint(project, "--from", "schema.sql", "--json")
    assert code == 1
    findings = json.loads(out)
    assert [(f["level"], f["rule"]) for f in findings] == [
        ("error", "policy-without-rls"),
        ("warning", "timestamp-without-time-zone"),
        ("info", "varchar-length"),
    ]
    assert findings[1] == {
        "rule": "timestamp-without-time-zone",
        "level": "warning",
        "object": {"schema": "public", "name": "account.made", "kind": "column"},
        "message": "column account.made is timestamp without time zone",
        "remedy": findings[1]["remedy"],
    }
    assert all(set(f) == {"rule", "level", "object", "message", "remedy"} and f["remedy"] for f in findings)
    assert lint(project, "--from", "clean.sql", "--json")[:2] == (0, "[]\n")


def test_rule_runs_only_those_and_skip_leaves_out(project: Path) -> None:
    _, out, _ = lint(project, "--from", "schema.sql", "--rule", "varchar-length", "--rule", "no-primary-key")
    assert out.splitlines() == [EXPECTED_TEXT.splitlines()[2], "1 finding: 1 info"]
    code, out, _ = lint(
        project, "--from", "schema.sql", "--skip", "policy-without-rls", "--skip", "varchar-length"
    )
    assert (code, out.splitlines()) == (0, [EXPECTED_TEXT.splitlines()[1], "1 finding: 1 warning"])


def test_unknown_rule_or_level_is_one_line(project: Path) -> None:
    code, out, err = lint(project, "--from", "schema.sql", "--rule", "no-such-rule")
    assert (
        code != 0
        and out == ""
        and "--rule: unknown rule 'no-such-rule'" in err
        and len(err.splitlines()) == 1
    )
    code, _, err = lint(project, "--from", "schema.sql", "--fail-on", "fatal")
    assert code != 0 and "--fail-on: 'fatal' is not one of error, warning, info, never" in err


def test_list_rules(project: Path) -> None:
    code, out, _ = lint(project, "--list-rules")
    assert code == 0 and "fk-without-index (warning): " in out and len(out.splitlines()) >= 15


def test_nself_toml_skips_rules_changes_levels_and_fail_on(project: Path) -> None:
    (project / "nself.toml").write_text(
        '[lint]\nskip = ["varchar-length"]\npolicy-without-rls = "info"\ntimestamp-without-time-zone = "off"\n'
    )
    code, out, _ = lint(project, "--from", "schema.sql")
    assert (code, out.splitlines()[-1]) == (0, "1 finding: 1 info")
    assert out.startswith("info policy-without-rls public.account: ")
    (project / "nself.toml").write_text('[lint]\nfail-on = "warning"\n')
    assert lint(project, "--from", "warnings.sql")[0] == 1
    assert lint(project, "--from", "warnings.sql", "--fail-on", "error")[0] == 0


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ('[lint]\nskip = "varchar-length"\n', "nself.toml:2:1: lint.skip must be a list of rule ids"),
        ('[lint]\nskip = ["no-such-rule"]\n', "nself.toml:2:1: lint.skip: unknown rule 'no-such-rule'"),
        (
            '[lint]\n\nvarchar-length = "fatal"\n',
            'nself.toml:3:1: lint.varchar-length must be one of error, warning, info or "off"',
        ),
        (
            '[lint]\nfail-on = "sometimes"\n',
            "nself.toml:2:1: lint.fail-on must be one of error, warning, info, never",
        ),
        ("[lint]\nno-such-rule = 'error'\n", "nself.toml:2:1: lint.no-such-rule: unknown rule or setting"),
        ("lint = 3\n", "nself.toml:1:1: [lint] must be a table"),
    ],
)
def test_bad_config_is_one_line_at_its_line(project: Path, config: str, error: str) -> None:
    (project / "nself.toml").write_text(config)
    code, out, err = lint(project, "--from", "schema.sql")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and error in err, err


def test_env_reads_the_live_database(project: Path, database: str) -> None:
    run_sql(database, SCHEMA)
    (project / "nself.toml").write_text('[environments.staging]\nurl = "env:LINT_TEST_URL"\n')
    result = run_nself("db", "lint", "--env", "staging", cwd=project, env={"LINT_TEST_URL": database})
    assert (result.code, result.stdout) == (1, EXPECTED_TEXT)
    unknown = run_nself("db", "lint", "--env", "nowhere", cwd=project)
    assert unknown.code == 1 and "--env: no environment 'nowhere'" in unknown.stderr


def test_pending_migrations_and_function_bodies_of_a_live_database(tmp_path: Path, database: str) -> None:
    """Linting an environment also judges the project's pending migration files against
    it, and checks PL/pgSQL bodies with plpgsql_check when the server has it."""
    from nself.runtime.migrate import apply_migrations

    folder = tmp_path / "nself" / "migrations"
    folder.mkdir(parents=True)
    (folder / "001_t.sql").write_text("-- migrate:up\nCREATE TABLE public.t (id int PRIMARY KEY, nosuch int);\n")
    apply_migrations(database, folder)
    run_sql(
        database,
        "CREATE FUNCTION public.broken() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT missing FROM public.t); END $$;",
    )
    (folder / "002_more.sql").write_text(
        "-- migrate:up\nALTER TABLE public.t ADD COLUMN owner int NOT NULL;\nCREATE INDEX t_owner ON public.t (owner);\n"
    )
    (tmp_path / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_TEST_LINT_URL"\n')
    done = run_nself("db", "lint", "--env", "staging", "--json", cwd=tmp_path, env={"NSELF_TEST_LINT_URL": database})
    found = {(f["rule"], f["object"]["name"]): f for f in json.loads(done.stdout)}
    assert found[("add-not-null-column", "t.owner")]["message"].startswith("nself/migrations/002_more.sql:2: ")
    assert found[("index-not-concurrent", "t")]["message"].startswith("nself/migrations/002_more.sql:3: ")
    assert done.code == 1  # an error-level finding
    plpgsql_check = Path("/usr/share/postgresql/15/extension/plpgsql_check.control").exists()
    assert (("plpgsql-check", "broken()") in found) == plpgsql_check
    offline = run_nself("db", "lint", "--from", "nself/migrations", "--json", cwd=tmp_path)
    assert not {f["rule"] for f in json.loads(offline.stdout)} & {"add-not-null-column", "index-not-concurrent"}
    rules = run_nself("db", "lint", "--list-rules", cwd=tmp_path).stdout
    assert "type-change-rewrite (warning)" in rules and "plpgsql-check (error)" in rules
    only = run_nself(
        "db", "lint", "--env", "staging", "--rule", "type-change-rewrite", cwd=tmp_path, env={"NSELF_TEST_LINT_URL": database}
    )
    assert (only.code, only.stdout) == (0, "no findings\n")
