"""nself.runtime.inspect_reports against real PostgreSQL: each report equals what
PostgreSQL's own views and functions say (pg_stat_user_tables, pg_total_relation_size,
pg_stat_activity, pg_blocking_pids, pg_replication_slots...)."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from nself.runtime import inspect, inspect_reports
from tests.conftest import run_sql
from tests.runtime.test_inspect import flush_stats

SCHEMA = """
CREATE SCHEMA shop;
CREATE TABLE shop.books (id int PRIMARY KEY, title text, body text);
CREATE INDEX books_title_idx ON shop.books (title);
CREATE TABLE shop.notes (id int, note text) WITH (autovacuum_enabled = false,
    autovacuum_vacuum_threshold = 10, autovacuum_vacuum_scale_factor = 0.1);
CREATE TABLE events (id bigint, at date, payload text) PARTITION BY RANGE (at);
CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX events_at_idx ON events (at);
CREATE MATERIALIZED VIEW book_titles AS SELECT title FROM shop.books;
INSERT INTO shop.books SELECT g, 'title ' || g, repeat('x', 3000 + g) FROM generate_series(1, 300) g;
INSERT INTO shop.notes SELECT g, 'n' FROM generate_series(1, 1000) g;
INSERT INTO events SELECT g, date '2026-03-01', 'p' FROM generate_series(1, 500) g;
REFRESH MATERIALIZED VIEW book_titles;
"""

USER_TABLES = """
SELECT n.nspname, c.relname, {function}(c.oid)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
"""


def rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(sql.encode(), params or None).fetchall()]


def test_sizes_equal_postgresql_size_functions(database: str) -> None:
    run_sql(database, SCHEMA)
    table_sizes = inspect_reports.report("table-sizes", database)
    assert {(r.schema, r.name, r.size_bytes) for r in table_sizes} == set(
        rows(database, USER_TABLES.format(function="pg_table_size"))
    )
    assert [r.size_bytes for r in table_sizes] == sorted((r.size_bytes for r in table_sizes), reverse=True)
    total = inspect_reports.report("total-table-size", database)
    assert {(r.schema, r.name, r.size_bytes) for r in total} == set(
        rows(database, USER_TABLES.format(function="pg_total_relation_size"))
    )
    indexes = inspect_reports.report("index-sizes", database)
    oracle = rows(
        database,
        "SELECT schemaname, tablename, indexname, pg_relation_size(format('%I.%I', schemaname, indexname)::regclass)"
        " FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        # a partitioned table's index holds nothing (its partitions' indexes are listed)
        " AND (SELECT relkind FROM pg_class WHERE oid = format('%I.%I', schemaname, indexname)::regclass) = 'i'",
    )
    assert {(r.schema, r.table, r.name, r.size_bytes) for r in indexes} == set(oracle)
    assert {"books_title_idx", "books_pkey", "events_2026_at_idx"} <= {r.name for r in indexes}
    (index_total,) = inspect_reports.report("total-index-size", database)
    assert index_total.size_bytes == sum(row[3] for row in oracle) > 0


def test_record_counts_seq_scans_and_vacuum_equal_pg_stat_user_tables(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        # The rows are written on this connection, whose statistics flush_stats publishes:
        # another backend's would reach the counters when it exits, perhaps after ANALYZE.
        conn.execute(SCHEMA.encode())
        conn.execute("DELETE FROM shop.notes WHERE id <= 400")
        flush_stats(conn)  # before ANALYZE, which sets the counts its own way
        conn.execute("ANALYZE shop.notes")
        for _ in range(3):
            conn.execute("SELECT count(*) FROM shop.books WHERE body LIKE 'y%'")
        flush_stats(conn)
    oracle = {
        (r[0], r[1]): r[2:]
        for r in rows(
            database,
            "SELECT s.schemaname, s.relname, s.n_live_tup, s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0),"
            " s.n_dead_tup, greatest(c.reltuples, 0)::bigint FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid",
        )
    }
    counts = inspect_reports.report("table-record-counts", database)
    assert {(r.schema, r.table): r.estimated_rows for r in counts} == {k: v[0] for k, v in oracle.items()}
    assert {(r.schema, r.table): r.estimated_rows for r in counts}[("shop", "notes")] == 600
    scans = inspect_reports.report("seq-scans", database)
    assert {(r.schema, r.table): (r.seq_scans, r.rows_read, r.index_scans) for r in scans} == {
        k: v[1:4] for k, v in oracle.items()
    }
    assert {(r.schema, r.table): r.seq_scans for r in scans}[("shop", "books")] >= 3
    vacuum = {(r.schema, r.table): r for r in inspect_reports.report("vacuum-stats", database)}
    assert {k: (r.dead_rows, r.estimated_rows) for k, r in vacuum.items()} == {
        k: (v[4], v[5]) for k, v in oracle.items()
    }
    notes = vacuum[("shop", "notes")]
    # The table's own settings: 10 + 0.1 x 600 rows = 70; 400 dead rows are above it.
    assert (notes.dead_rows, notes.autovacuum_threshold, notes.expect_autovacuum) == (400, 70, True)
    assert notes.last_analyze is not None and notes.last_vacuum is None
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("VACUUM shop.notes")
        flush_stats(conn)
    after = {(r.schema, r.table): r for r in inspect_reports.report("vacuum-stats", database)}[("shop", "notes")]
    assert after.last_vacuum is not None and after.dead_rows == 0 and not after.expect_autovacuum


@contextmanager
def blocked_session(url: str) -> Iterator[tuple[int, int]]:
    """(holder pid, waiter pid): the holder keeps an ACCESS EXCLUSIVE lock on
    public.accounts in an open transaction, the waiter waits for it in a thread."""
    run_sql(url, "CREATE TABLE accounts (id int PRIMARY KEY); INSERT INTO accounts VALUES (1);")
    holder = psycopg.connect(url)
    waiter = psycopg.connect(url, autocommit=True)
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            waiter.execute("SELECT count(*) FROM accounts").fetchone()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    thread = threading.Thread(target=wait)
    try:
        holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        thread.start()
        with psycopg.connect(url, autocommit=True) as observer:
            while not observer.execute("SELECT pg_blocking_pids(%s)", (waiter.info.backend_pid,)).fetchone()[0]:  # type: ignore[index]
                pass
        yield holder.info.backend_pid, waiter.info.backend_pid
    finally:
        holder.rollback()
        thread.join()
        holder.close()
        waiter.close()
    assert not errors


def test_blocking_long_running_and_grouped_locks_equal_pg_stat_activity(database: str) -> None:
    with blocked_session(database) as (holder, waiter):
        blocking = inspect_reports.report("blocking", database)
        oracle = rows(
            database,
            "SELECT pid, b FROM pg_stat_activity, unnest(pg_blocking_pids(pid)) b WHERE datname = current_database()",
        )
        assert {(r.blocked_pid, r.blocking_pid) for r in blocking} == set(oracle) == {(waiter, holder)}
        (row,) = blocking
        assert row.blocked_query == "SELECT count(*) FROM accounts"
        assert row.blocking_query == "LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"
        assert row.blocking_state == "idle in transaction"
        running = inspect_reports.report("long-running-queries", database, min_seconds=0)
        states = dict(rows(database, "SELECT pid, state FROM pg_stat_activity WHERE pid IN (%s, %s)", (holder, waiter)))
        assert {r.pid: r.state for r in running if r.pid in (holder, waiter)} == states
        assert states == {holder: "idle in transaction", waiter: "active"}
        assert all(r.duration_seconds >= 0 for r in running)
        assert not [r for r in inspect_reports.report("long-running-queries", database) if r.pid == waiter]
        # locks: the waiting session's locks first, then its blocker's, each session's together.
        found = [lock for lock in inspect.locks(database) if lock.pid in (holder, waiter)]
        pids = [lock.pid for lock in found]
        assert pids == sorted(pids, key=lambda p: p != waiter)
        assert found[0].pid == waiter and not found[0].granted and found[0].blocked_by == (holder,)
        assert {lock.blocking for lock in found if lock.pid == holder and lock.relation} == {(waiter,)}
    assert inspect_reports.report("blocking", database) == ()


def test_role_connections_equal_pg_stat_activity(database: str) -> None:
    role = f"viewer_{urlsplit(database).path.lstrip('/')}"
    run_sql(database, f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 3")
    parts = urlsplit(database)
    as_role = urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
    try:
        with psycopg.connect(as_role), psycopg.connect(as_role):
            found = {r.role: r for r in inspect_reports.report("role-connections", database)}
            oracle = dict(rows(database, "SELECT usename, count(*) FROM pg_stat_activity WHERE usename IS NOT NULL GROUP BY 1"))
            assert (found[role].connections, found[role].connection_limit) == (oracle[role], 3) == (2, 3)
            assert found["postgres"].connections >= 1
            assert found["postgres"].connection_limit == int(rows(database, "SHOW max_connections")[0][0])
    finally:
        run_sql(database, f"DROP ROLE {role}")


def test_replication_slots_equal_pg_replication_slots(database: str) -> None:
    slot = f"slot_{urlsplit(database).path.lstrip('/')}"
    run_sql(database, f"SELECT pg_create_physical_replication_slot('{slot}', true)")
    try:
        before = rows(database, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = %s", (slot,))[0][0]
        found = {r.slot: r for r in inspect_reports.report("replication-slots", database)}
        after = rows(database, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, slot_type, active, wal_status FROM pg_replication_slots WHERE slot_name = %s", (slot,))[0]
        mine = found[slot]
        assert (mine.slot_type, mine.active, mine.wal_status) == (after[1], after[2], after[3]) == ("physical", False, "reserved")
        assert before <= (mine.retained_wal_bytes or 0) <= after[0]
        assert set(found) == {r[0] for r in rows(database, "SELECT slot_name FROM pg_replication_slots")}
    finally:
        run_sql(database, f"SELECT pg_drop_replication_slot('{slot}')")


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_report_writes_every_report(database: str, tmp_path: Path, fmt: str) -> None:
    run_sql(database, SCHEMA)
    written = inspect_reports.write_reports(database, tmp_path / "out", fmt)
    assert [w.report for w in written] == list(inspect_reports.REPORTS)
    files = {p.name for p in (tmp_path / "out").iterdir()}
    assert files == {f"{name}.{fmt}" for name in inspect_reports.REPORTS}
    path = tmp_path / "out" / f"total-table-size.{fmt}"
    if fmt == "json":
        sizes = {(r["schema"], r["name"]): r["size_bytes"] for r in json.loads(path.read_text())}
    else:
        with path.open() as f:
            sizes = {(r["schema"], r["name"]): int(r["size_bytes"]) for r in csv.DictReader(f)}
    assert sizes == {(r[0], r[1]): r[2] for r in rows(database, USER_TABLES.format(function="pg_total_relation_size"))}
    # A report without rows still says what it would hold.
    if fmt == "csv":
        assert (tmp_path / "out" / "blocking.csv").read_text().startswith("blocked_pid,blocked_query,")
    assert {w.report: w.rows for w in written}["blocking"] == 0


def test_unknown_report_and_format_are_option_errors(database: str, tmp_path: Path) -> None:
    from nself.errors import OptionError

    with pytest.raises(OptionError, match="not a report"):
        inspect_reports.report("sizes", database)
    with pytest.raises(OptionError, match="--format"):
        inspect_reports.write_reports(database, tmp_path, "xml")
