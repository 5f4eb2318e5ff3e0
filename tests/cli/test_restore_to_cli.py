"""`nself restore ID --to ENV` with `--anonymize` (through the anonymiser's sync path, from
a scratch cluster) and with `--point-in-time` (a scratch cluster recovered to TIME), through
the real CLI against real PostgreSQL."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC

import psycopg
import pytest

from nself.runtime.backup.logical import table_checksums
from tests.clitools import run_nself
from tests.conftest import NewDatabase, run_sql
from tests.runtime.anonymize.pii import CONFIG, SCHEMA_SQL, UNTOUCHED, checksums, counts, leaks, revalidate
from tests.runtime.backup.conftest import BackupProject, discard, make_project

TOML = """
[environments.staging]
url = "env:T_RESTORE_STAGING_URL"

[environments.prod]
url = "env:T_RESTORE_PROD_URL"
production = true

[anonymize]
key = "env:T_RESTORE_ANON_KEY"
"""


@pytest.fixture(scope="module")
def source() -> Iterator[BackupProject]:
    made = make_project(TOML)
    (made.root / "nself").mkdir()
    shutil.copy(CONFIG, made.root / "nself" / "anonymize.yaml")
    made.sql(SCHEMA_SQL)
    try:
        yield made
    finally:
        made.cluster.stop(immediate=True)
        discard(made.root)


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()  # type: ignore[arg-type]


def environ(new_database: NewDatabase) -> dict[str, str]:
    return {
        "T_RESTORE_STAGING_URL": new_database("staging"),
        "T_RESTORE_PROD_URL": new_database("prod"),
        "T_RESTORE_ANON_KEY": "a key for the restore tests",
    }


def test_restore_to_anonymized_from_physical_and_logical(source: BackupProject, new_database: NewDatabase) -> None:
    env = environ(new_database)
    staging = env["T_RESTORE_STAGING_URL"]
    # nself's migration history is not data: it arrives as it was.
    source.sql("CREATE SCHEMA IF NOT EXISTS _nself; CREATE TABLE IF NOT EXISTS _nself.restore_probe (id serial PRIMARY KEY, name text);"
               "INSERT INTO _nself.restore_probe (name) VALUES ('20260101_init')")
    physical = json.loads(run_nself("backup", "create", "--json", cwd=source.root).stdout)["id"]
    logical = json.loads(run_nself("backup", "create", "--logical", "--json", cwd=source.root).stdout)["id"]
    for backup in (physical, logical):
        run_sql(staging, "DROP TABLE IF EXISTS stale; CREATE TABLE stale (x int)")
        done = run_nself("restore", backup, "--to", "staging", "--anonymize", "--yes", "--json", cwd=source.root, env=env)
        assert done.code == 0, done.stderr
        assert "anonymised" in json.loads(done.stdout)["target"]
        assert leaks(source.url, staging) == []  # no original value of a configured column
        assert counts(staging) == counts(source.url)
        assert checksums(staging, UNTOUCHED) == checksums(source.url, UNTOUCHED)  # the rest byte-identical
        revalidate(staging)  # every constraint holds for every row
        assert rows(staging, "SELECT name FROM _nself.restore_probe") == [("20260101_init",)]
        with psycopg.connect(staging) as conn:
            assert "public.stale" not in table_checksums(conn)  # ENV's database was replaced


def test_restore_to_anonymized_refuses_production_and_changes_nothing(
    source: BackupProject, new_database: NewDatabase
) -> None:
    env = environ(new_database)
    run_sql(env["T_RESTORE_PROD_URL"], "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)")
    done = run_nself("restore", "latest", "--to", "prod", "--anonymize", "--yes", cwd=source.root, env=env)
    assert done.code == 1 and "production" in done.stderr and "Traceback" not in done.stderr
    assert rows(env["T_RESTORE_PROD_URL"], "SELECT x FROM kept") == [(1,)]
    alone = run_nself("restore", "latest", "--anonymize", "--yes", cwd=source.root, env=env)
    assert alone.code == 1 and "--anonymize needs --to" in alone.stderr
    no_rules = run_nself("restore", "latest", "--to", "staging", "--anonymize-config", "missing.yaml", "--yes",
                         cwd=source.root, env=env)
    assert no_rules.code == 1 and "--anonymize-config: no file" in no_rules.stderr and "Traceback" not in no_rules.stderr


def test_restore_to_point_in_time(source: BackupProject, new_database: NewDatabase) -> None:
    env = environ(new_database)
    staging = env["T_RESTORE_STAGING_URL"]
    source.sql("CREATE TABLE to_pitr (id int PRIMARY KEY)")
    assert run_nself("backup", "create", cwd=source.root).code == 0
    source.sql("INSERT INTO to_pitr VALUES (1)")
    (moment,) = source.rows("SELECT clock_timestamp()")[0]
    time.sleep(0.1)
    source.sql("INSERT INTO to_pitr VALUES (2)")
    at = moment.astimezone(UTC).isoformat()
    done = run_nself("restore", "--to", "staging", "--point-in-time", at, "--yes", "--json", cwd=source.root, env=env)
    assert done.code == 0, done.stderr
    assert rows(staging, "SELECT id FROM to_pitr") == [(1,)]
    assert json.loads(done.stdout)["reached_at"] is not None
    assert source.rows("SELECT id FROM to_pitr ORDER BY id") == [(1,), (2,)]  # the source untouched
    # Anonymised as well, up to the same time.
    done = run_nself("restore", "--to", "staging", "--point-in-time", at, "--anonymize", "--yes", cwd=source.root, env=env)
    assert done.code == 0, done.stderr
    assert rows(staging, "SELECT id FROM to_pitr") == [(1,)] and leaks(source.url, staging) == []
    future = run_nself("restore", "--to", "staging", "--point-in-time", "2999-01-01 00:00:00+00", "--yes", cwd=source.root, env=env)
    assert future.code == 1 and "future" in future.stderr
