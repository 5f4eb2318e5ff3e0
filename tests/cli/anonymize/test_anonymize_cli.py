"""`nself data sync`, `nself data anonymize` (and init, --preview) and `nself db clone`
through the real CLI, against real PostgreSQL."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import psycopg
import pytest

from tests.clitools import run_nself
from tests.conftest import NewDatabase, run_sql
from tests.runtime.anonymize.pii import CONFIG, DDL_SQL, SCHEMA_SQL, checksums, counts, leaks, revalidate

TOML = """
[environments.staging]
url = "env:T_STAGING_URL"

[environments.clone]
url = "env:T_CLONE_URL"

[environments.prod]
url = "env:T_PROD_URL"
production = true

[anonymize]
key = "env:T_ANON_KEY"
"""


@pytest.fixture
def project(tmp_path: Path, new_database: NewDatabase) -> tuple[Path, dict[str, str]]:
    (tmp_path / "nself.toml").write_text(TOML)
    (tmp_path / "nself").mkdir()
    shutil.copy(CONFIG, tmp_path / "nself" / "anonymize.yaml")
    env = {
        "T_PROD_URL": new_database("prod"),
        "T_STAGING_URL": new_database("staging"),
        "T_CLONE_URL": new_database("clone"),
        "T_ANON_KEY": "a key for the tests",
    }
    run_sql(env["T_PROD_URL"], SCHEMA_SQL)
    run_sql(env["T_STAGING_URL"], DDL_SQL + "INSERT INTO roles VALUES (7, 'staging only');")
    return tmp_path, env


def test_sync_from_production_needs_anonymize_and_writes_nothing(
    project: tuple[Path, dict[str, str]],
) -> None:
    root, env = project
    before = checksums(env["T_STAGING_URL"]), checksums(env["T_PROD_URL"])
    result = run_nself("data", "sync", "--yes", "--from", "prod", "--to", "staging", cwd=root, env=env)
    assert result.code == 1
    assert result.stderr.strip() == (
        "error: refusing to copy data out of 'prod' without --anonymize: it is marked production = true"
    )
    assert (checksums(env["T_STAGING_URL"]), checksums(env["T_PROD_URL"])) == before


def test_sync_from_production_anonymized(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    result = run_nself("data", "sync", "--yes", "--from", "prod", "--to", "staging", "--anonymize", "--json", cwd=root, env=env
    )
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["anonymized"] is True
    assert {t["table"]: t["rows"] for t in report["tables"]} == {
        f"public.{t}": n for t, n in counts(env["T_PROD_URL"]).items()
    }
    people = next(t for t in report["tables"] if t["table"] == "public.people")
    assert "email" in people["anonymized"]
    assert leaks(env["T_PROD_URL"], env["T_STAGING_URL"]) == []
    revalidate(env["T_STAGING_URL"])


def test_production_source_needs_a_rule_for_every_personal_column(
    project: tuple[Path, dict[str, str]],
) -> None:
    root, env = project
    (root / "nself" / "anonymize.yaml").write_text("tables:\n  people:\n    email: fake\n")
    before = checksums(env["T_STAGING_URL"])
    result = run_nself("data", "sync", "--yes", "--from", "prod", "--to", "staging", "--anonymize", cwd=root, env=env)
    assert result.code == 1
    assert "error: refusing to copy 'prod' (production):" in result.stderr
    assert "has no rule for addresses.city" in result.stderr
    assert checksums(env["T_STAGING_URL"]) == before


def test_production_target_is_guarded(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    result = run_nself("data", "sync", "--yes", "--from", "staging", "--to", "prod", cwd=root, env=env)
    assert result.code == 1
    assert "refusing to replace the rows of the copied tables on 'prod'" in result.stderr
    result = run_nself("db", "clone", "--yes", "--from", "staging", "--to", "prod", cwd=root, env=env)
    assert result.code == 1 and "refusing to drop and recreate the database on 'prod'" in result.stderr
    assert counts(env["T_PROD_URL"])["people"] == 120


def test_bad_config_is_one_line(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    (root / "nself" / "anonymize.yaml").write_text("tables:\n  people:\n    emial: fake\n")
    result = run_nself("data", "sync", "--yes", "--from", "prod", "--to", "staging", "--anonymize", cwd=root, env=env)
    assert result.code == 1
    assert result.stderr.startswith("error: nself/anonymize.yaml:3:5: tables.people.emial: no column 'emial'")
    assert result.stderr.count("\n") == 1


def test_anonymize_in_place_preview_and_production(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    run_sql(env["T_STAGING_URL"], "TRUNCATE roles CASCADE")
    run_sql(env["T_STAGING_URL"], SCHEMA_SQL.split(DDL_SQL, 1)[1])  # staging gets prod's rows
    before = checksums(env["T_STAGING_URL"])
    preview = run_nself(
        "data", "anonymize", "--env", "staging", "--preview", "--limit", "2", "--json", cwd=root, env=env
    )
    assert preview.code == 0, preview.stderr
    shown = {t["table"]: t for t in json.loads(preview.stdout)}
    assert len(shown["public.people"]["before"]) == 2
    assert shown["public.people"]["before"] != shown["public.people"]["after"]
    assert checksums(env["T_STAGING_URL"]) == before  # --preview wrote nothing

    refused = run_nself("data", "anonymize", "--env", "prod", "--yes", cwd=root, env=env)
    assert refused.code == 1 and "refusing to rewrite personal data in place on 'prod'" in refused.stderr

    done = run_nself("data", "anonymize", "--env", "staging", "--yes", cwd=root, env=env)
    assert done.code == 0, done.stderr
    assert done.stdout.strip() == "staging: anonymised 5 table(s)"
    assert leaks(env["T_PROD_URL"], env["T_STAGING_URL"]) == []
    revalidate(env["T_STAGING_URL"])


def test_init_writes_rules_that_cover_production(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    (root / "nself" / "anonymize.yaml").unlink()
    result = run_nself("data", "anonymize", "init", "--env", "prod", cwd=root, env=env)
    assert result.code == 0, result.stderr
    text = (root / "nself" / "anonymize.yaml").read_text()
    for line in (
        'email: fake:email  # the name "email" says an email address',
        'first_name: fake:first_name  # the name "first_name" says a first name',
        "signup_ip: fake:ip",
        "# customer_email: follows people.email",
        "contact.email: fake:email",
        '"kids[*].name": fake:name',
        "bio: fake:text",
        "ssn: fake:pattern",
    ):
        assert line in text, text
    again = run_nself("data", "anonymize", "init", "--env", "prod", cwd=root, env=env)
    assert again.code == 1 and "exists" in again.stderr
    # What init wrote is accepted from production and gives a copy that keeps every constraint.
    synced = run_nself("data", "sync", "--yes", "--from", "prod", "--to", "staging", "--anonymize", cwd=root, env=env)
    assert synced.code == 0, synced.stderr
    revalidate(env["T_STAGING_URL"])
    with psycopg.connect(env["T_STAGING_URL"]) as conn:
        assert conn.execute("SELECT count(*) FROM people WHERE email LIKE '%realmail.test'").fetchone() == (
            0,
        )


def test_db_clone_recreates_the_target(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    run_sql(env["T_CLONE_URL"], "CREATE TABLE leftover (x int)")
    refused = run_nself("db", "clone", "--yes", "--from", "prod", "--to", "clone", cwd=root, env=env)
    assert refused.code == 1 and "without --anonymize" in refused.stderr
    result = run_nself("db", "clone", "--yes", "--from", "prod", "--to", "clone", "--anonymize", cwd=root, env=env)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("cloned prod into clone: 6 tables")
    assert counts(env["T_CLONE_URL"]) == counts(env["T_PROD_URL"])
    assert leaks(env["T_PROD_URL"], env["T_CLONE_URL"]) == []
    revalidate(env["T_CLONE_URL"])
    with psycopg.connect(env["T_CLONE_URL"]) as conn:
        assert conn.execute("SELECT to_regclass('leftover')").fetchone() == (None,)


def test_sync_subset_from_production(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    (root / "subset.yaml").write_text("start:\n  people: {order_by: id, limit: 3}\n")
    result = run_nself("data", "sync", "--yes", "--from", "prod", "--to", "staging", "--anonymize", "--subset", "subset.yaml", "--json",
        cwd=root, env=env,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    rows = {t["table"]: t["rows"] for t in json.loads(result.stdout)["tables"]}
    assert 3 <= rows["public.people"] < 120
    revalidate(env["T_STAGING_URL"])
    assert leaks(env["T_PROD_URL"], env["T_STAGING_URL"]) == []
