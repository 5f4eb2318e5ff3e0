"""`sync --subset`: some rows, closed under every foreign key, anonymised on the way."""

from __future__ import annotations

import psycopg
import pytest

from nself.errors import SourceError
from nself.frontends.live import introspect
from nself.runtime.anonymize.config import load_config
from nself.runtime.anonymize.engine import make_plan, sync
from nself.runtime.anonymize.subset import parse_subset
from tests.conftest import NewDatabase, run_sql
from tests.runtime.anonymize.pii import CONFIG, DDL_SQL, SCHEMA_SQL, counts, leaks, revalidate

SUBSET = """
start:
  people:
    where: "id % 10 = 7"
    order_by: created_at DESC
    limit: 5
"""


def test_subset_is_closed_under_foreign_keys(new_database: NewDatabase) -> None:
    source, target = new_database("sub_src"), new_database("sub_dst")
    settings = "CREATE TABLE app_settings (k text PRIMARY KEY, v text);"
    run_sql(source, SCHEMA_SQL + settings + "INSERT INTO app_settings VALUES ('a', '1'), ('b', '2');")
    run_sql(target, DDL_SQL + settings)
    catalog = introspect(source)
    plan = make_plan(catalog, load_config(CONFIG), b"k")
    sync(source, target, catalog=catalog, plan=plan, subset=parse_subset(SUBSET, "s.yaml"))
    revalidate(target)  # every foreign key (the cycle and the self-reference too) holds
    with psycopg.connect(target) as conn:  # no foreign key joins it to people: copied whole
        assert conn.execute("SELECT count(*) FROM app_settings").fetchone() == (2,)
    got, full = counts(target), counts(source)
    assert 1 <= got["roles"] <= full["roles"]  # only the roles the chosen people have
    assert 5 <= got["people"] < full["people"]
    with psycopg.connect(source) as conn:
        wanted = conn.execute(
            "SELECT id FROM people WHERE id % 10 = 7 ORDER BY created_at DESC LIMIT 5"
        ).fetchall()
        # Down: every order, address and message of the start people, and every payment of those orders.
        orders = conn.execute(
            "SELECT count(*) FROM orders o JOIN people p ON p.email = o.customer_email WHERE p.id = ANY(%s)",
            ([w[0] for w in wanted],),
        ).fetchone()
    with psycopg.connect(target) as conn:
        ids = {r[0] for r in conn.execute("SELECT id FROM people").fetchall()}
        assert {w[0] for w in wanted} <= ids
        # Up: the managers of the chosen people came along, and nothing else was pulled down.
        assert conn.execute("SELECT count(*) FROM orders").fetchone() == orders
        assert conn.execute("SELECT count(*) FROM payments").fetchone() == orders
    assert leaks(source, target) == []


def test_subset_errors_name_the_line(database: str) -> None:
    with pytest.raises(SourceError, match=r"^s\.yaml:3:5: start\.people: unknown option 'limt'"):
        parse_subset("start:\n  people:\n    limt: 5\n", "s.yaml")
    run_sql(database, DDL_SQL)
    catalog = introspect(database)
    with pytest.raises(SourceError, match=r"^s\.yaml:2:3: start: no table 'peple'"):
        sync(
            database,
            database,
            catalog=catalog,
            plan=None,
            subset=parse_subset("start:\n  peple: {}\n", "s.yaml"),
        )
