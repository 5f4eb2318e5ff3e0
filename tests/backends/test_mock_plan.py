"""Mock-data plans for what PostgreSQL can and cannot store, read from a live schema."""

from __future__ import annotations

import psycopg
import pytest

from nself.backends.mock import MockPlanError, default_config, plan_mock
from nself.frontends.live import introspect
from nself.runtime.mock.executor import generate_mock
from tests.conftest import run_sql

# trigger.dev's migrations make such tables: the application creates the partitions later
EVENTS = """
CREATE TABLE events (id text NOT NULL, at timestamptz NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE runs (id int, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE runs_2026 PARTITION OF runs FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
"""


def test_a_partitioned_table_without_partitions_gets_no_rows(database: str) -> None:
    run_sql(database, EVENTS)
    catalog = introspect(database)
    counts = {t.name: t.count for t in plan_mock(catalog, {}).tables}
    assert counts == {"events": 0, "runs": 50}
    assert {t.name: t.count for t in plan_mock(catalog, {}, count=1000).tables} == {"events": 0, "runs": 1000}
    config = default_config(catalog)
    assert config["tables"]["events"]["count"] == 0
    results = {r.table: r.rows for r in generate_mock(database, catalog, config)}
    assert results == {"public.events": 0, "public.runs": 50}
    with pytest.raises(MockPlanError, match=r"^events: partitioned by RANGE \(at\) with no partition, so no row can be stored"):
        plan_mock(catalog, {"tables": {"events": {"count": 50}}})


def test_a_money_like_name_on_an_integer_column_gets_whole_numbers(database: str) -> None:
    # trigger.dev's run_executions.drift_amount_in_ms: an integer named like an amount
    run_sql(database, "CREATE TABLE runs (id int PRIMARY KEY, drift_amount_in_ms integer NOT NULL, price numeric(8, 2))")
    catalog = introspect(database)
    columns = default_config(catalog)["tables"]["runs"]["columns"]
    assert columns["drift_amount_in_ms"] == {"type": "integer", "min": 1, "max": 1000}
    assert columns["price"]["type"] == "number" and columns["price"]["precision"] == 2
    assert {r.table: r.rows for r in generate_mock(database, catalog, default_config(catalog))} == {"public.runs": 50}


def test_columns_a_check_allows_one_of_get_values_in_the_first(database: str) -> None:
    # trigger.dev's TaskSchedule_window_exclusive, NOT VALID: PostgreSQL still checks new rows
    run_sql(
        database,
        'CREATE TABLE schedules (id int PRIMARY KEY, "windowSeconds" int, "windowPercentage" int, '
        'CONSTRAINT window_exclusive CHECK ("windowSeconds" IS NULL OR "windowPercentage" IS NULL) NOT VALID)',
    )
    catalog = introspect(database)
    assert {r.table: r.rows for r in generate_mock(database, catalog, default_config(catalog))} == {"public.schedules": 50}
    with psycopg.connect(database) as conn:
        counted = conn.execute('SELECT count("windowSeconds"), count("windowPercentage") FROM schedules').fetchone()
    assert counted is not None and counted[0] > 0 and counted[1] == 0


def test_a_partial_unique_index_holds_for_the_rows_it_covers(database: str) -> None:
    # trigger.dev's RuntimeEnvironment: one staging or preview root per project
    run_sql(
        database,
        "CREATE TYPE env_type AS ENUM ('DEVELOPMENT', 'STAGING', 'PREVIEW');"
        "CREATE TABLE projects (id int PRIMARY KEY);"
        "CREATE TABLE envs (id int PRIMARY KEY, project_id int NOT NULL REFERENCES projects, type env_type NOT NULL,"
        " parent_id int REFERENCES envs, is_default boolean NOT NULL);"
        "CREATE UNIQUE INDEX one_root ON envs (project_id, type) WHERE parent_id IS NULL AND type IN ('STAGING', 'PREVIEW');"
        "CREATE UNIQUE INDEX one_default ON envs (is_default) WHERE is_default;",
    )
    catalog = introspect(database)
    config = default_config(catalog)
    config["tables"]["envs"]["columns"]["is_default"] = {"type": "constant", "value": "false"}
    results = {r.table: r.rows for r in generate_mock(database, catalog, config)}
    assert results["public.envs"] > 0
