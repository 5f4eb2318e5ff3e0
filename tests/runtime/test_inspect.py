"""nself.runtime.inspect against real PostgreSQL: what each report says is checked against
what pg_stat_*, pg_locks and pg_blocking_pids say themselves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.frontends.sql import compile_migrations
from nself.runtime import inspect
from nself.runtime.cluster import LocalCluster
from tests.conftest import TEST_CLUSTER_SETTINGS, NewDatabase, run_sql, throwaway_cluster
from tests.corpus import schema_cases


def flush_stats(conn: psycopg.Connection[Any]) -> None:
    """Publish this backend's pending statistics now (PostgreSQL 15+ batches them for up
    to a second); they are flushed when the backend goes idle after this statement."""
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.execute("SELECT 1")


def ratio(hit: int, read: int) -> float:
    """hit / (hit + read) rounded to 4 places as PostgreSQL's round(numeric) does (half
    away from zero), not as Python rounds a binary float."""
    exact = Decimal(int(hit)) / Decimal(int(hit) + int(read))
    return float(exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def scalar(url: str, sql: str) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(sql.encode()).fetchone()
        assert row is not None
        return row[0]


# --------------------------------------------------------------------------- unused indexes


def test_unused_index_listed_until_a_query_uses_it(database: str) -> None:
    with psycopg.connect(database, autocommit=True) as conn:
        # Written on the connection whose statistics are flushed: nothing of another
        # backend's reaches the counters later.
        conn.execute(
            b"CREATE TABLE t (id int PRIMARY KEY, b int, c int UNIQUE);"
            b"CREATE INDEX t_b_idx ON t (b);"
            b"INSERT INTO t SELECT g, g % 100, g FROM generate_series(1, 2000) g; ANALYZE t;"
        )
        flush_stats(conn)
    report = inspect.unused_indexes(database)
    names = [i.index for i in report.indexes]
    # Primary keys and unique indexes enforce something: never "unused".
    assert names == ["t_b_idx"]
    unused = report.indexes[0]
    assert unused.definition == scalar(database, "SELECT pg_get_indexdef('t_b_idx'::regclass)")
    assert unused.size_bytes == scalar(database, "SELECT pg_relation_size('t_b_idx')")
    assert report.stats_reset == scalar(
        database, "SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()"
    )

    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(str(r[0]) for r in conn.execute("EXPLAIN SELECT * FROM t WHERE b = 5").fetchall())
        assert "t_b_idx" in plan
        conn.execute("SELECT * FROM t WHERE b = 5").fetchall()
        flush_stats(conn)
    assert scalar(database, "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = 't_b_idx'") > 0
    assert inspect.unused_indexes(database).indexes == ()


# --------------------------------------------------------------------------- locks


def test_locks_show_the_blocked_backend_and_its_blocker(database: str) -> None:
    run_sql(database, "CREATE TABLE accounts (id int PRIMARY KEY); INSERT INTO accounts VALUES (1);")
    holder = psycopg.connect(database)
    waiter = psycopg.connect(database, autocommit=True)
    try:
        holder.execute("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        holder_pid, waiter_pid = holder.info.backend_pid, waiter.info.backend_pid
        errors: list[BaseException] = []

        def wait() -> None:
            try:
                waiter.execute("SELECT count(*) FROM accounts").fetchone()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        thread = threading.Thread(target=wait)
        thread.start()
        with psycopg.connect(database, autocommit=True) as observer:
            # Poll (no sleep-and-hope) until the server says the waiter waits.
            while True:
                row = observer.execute("SELECT pg_blocking_pids(%s)", (waiter_pid,)).fetchone()
                assert row is not None
                if row[0]:
                    blockers = sorted(row[0])
                    break
            found = inspect.locks_on(observer)
        assert blockers == [holder_pid]
        waiting = [lock for lock in found if lock.pid == waiter_pid and not lock.granted]
        assert len(waiting) == 1
        assert waiting[0].relation == "public.accounts"
        assert waiting[0].mode == "AccessShareLock"
        assert waiting[0].blocked_by == tuple(blockers)
        assert waiting[0].query == "SELECT count(*) FROM accounts"
        held = [lock for lock in found if lock.pid == holder_pid and lock.relation == "public.accounts"]
        assert [(h.mode, h.granted, h.blocking) for h in held] == [
            ("AccessExclusiveLock", True, (waiter_pid,))
        ]
        # Waiters come first.
        assert not found[0].granted
        holder.rollback()
        thread.join()
        assert not errors
    finally:
        holder.close()
        waiter.close()


# --------------------------------------------------------------------------- cache hit


def test_cache_hit_ratios_equal_pg_statio(database: str) -> None:
    run_sql(
        database,
        "CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id int PRIMARY KEY);"
        "INSERT INTO a SELECT g, repeat('x', 50) FROM generate_series(1, 3000) g;"
        "INSERT INTO b SELECT generate_series(1, 10);",
    )
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute("SELECT * FROM a WHERE id = 7").fetchall()
        conn.execute("SELECT count(*) FROM b").fetchall()
        flush_stats(conn)
    with psycopg.connect(database) as conn:
        # One snapshot of the statistics for the report and the oracle.
        conn.execute("SET stats_fetch_consistency = snapshot")
        report = inspect.cache_hit_on(conn, limit=10)
        tables = conn.execute(
            "SELECT relname, heap_blks_hit, heap_blks_read FROM pg_statio_user_tables ORDER BY relname"
        ).fetchall()
        indexes = conn.execute(
            "SELECT sum(idx_blks_hit), sum(idx_blks_read) FROM pg_statio_user_indexes"
        ).fetchone()
        databases = conn.execute(
            "SELECT datname, blks_hit, blks_read FROM pg_stat_database WHERE datname IS NOT NULL"
        ).fetchall()
    assert report.database == database.rsplit("/", 1)[1]
    hit = sum(t[1] for t in tables)
    read = sum(t[2] for t in tables)
    assert report.table_ratio == ratio(hit, read)
    assert indexes is not None
    assert report.index_ratio == ratio(indexes[0], indexes[1])
    by_name = {t.table: t for t in report.tables}
    assert set(by_name) == {name for name, h, r in tables if h + r > 0}
    for name, h, r in tables:
        if h + r:
            assert (by_name[name].heap_hit, by_name[name].heap_read) == (h, r)
            assert by_name[name].ratio == ratio(h, r)
    # Every database that takes connections, with pg_stat_database's counts.
    oracle = {name: (h, r) for name, h, r in databases if name != "template0"}
    assert {d.database: (d.blocks_hit, d.blocks_read) for d in report.databases} == oracle
    for d in report.databases:
        assert d.ratio == (ratio(d.blocks_hit, d.blocks_read) if d.blocks_hit + d.blocks_read else None)
    ratios = [t.ratio for t in report.tables]
    assert ratios == sorted(ratios, key=lambda x: x if x is not None else 2.0)


def test_cache_hit_on_an_untouched_database_has_no_ratio(database: str) -> None:
    report = inspect.cache_hit(database)
    assert (report.table_ratio, report.index_ratio, report.tables) == (None, None, ())
    assert report.database in {d.database for d in report.databases}


# --------------------------------------------------------------------------- bloat


def test_bloat_grows_after_a_mass_delete(database: str) -> None:
    run_sql(
        database,
        "CREATE TABLE events (id int PRIMARY KEY, payload text) WITH (autovacuum_enabled = false);"
        "INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 20000) g; ANALYZE events;",
    )
    before = {(b.kind, b.name): b for b in inspect.bloat(database)}
    # ANALYZE (not VACUUM) after the DELETE: the live tuple count drops, the pages stay.
    run_sql(database, "DELETE FROM events WHERE id % 10 <> 0; ANALYZE events;")
    after = {(b.kind, b.name): b for b in inspect.bloat(database)}
    table_before, table_after = before[("table", "events")], after[("table", "events")]
    relpages = scalar(database, "SELECT relpages FROM pg_class WHERE relname = 'events'")
    block = int(scalar(database, "SHOW block_size"))
    assert table_after.size_bytes == table_before.size_bytes == relpages * block
    # Freshly filled, nothing is waste: the estimate is within a page of the real size
    # (for the index, which has a fillfactor of 90 and inner pages, within 5%).
    assert table_before.wasted_bytes <= block
    assert before[("index", "events_pkey")].ratio < 0.05
    # After deleting nine rows in ten, most of the table is waste.
    assert table_after.wasted_bytes > table_before.wasted_bytes
    assert table_after.ratio > 0.8
    assert ("index", "events_pkey") in after
    # Sorted by waste, largest first.
    wasted = [b.wasted_bytes for b in after.values()]
    assert wasted == sorted(wasted, reverse=True)


# --------------------------------------------------------------------------- slow queries


def test_slow_queries_not_loaded_says_how_to_enable(database: str) -> None:
    report = inspect.slow_queries(database)
    assert not report.available and report.queries == ()
    assert report.message is not None
    assert (
        "shared_preload_libraries" in report.message
        and "CREATE EXTENSION pg_stat_statements" in report.message
    )


@pytest.fixture(scope="module")
def statements_cluster() -> Iterator[LocalCluster]:
    """A second throwaway cluster that preloads pg_stat_statements (the session cluster
    does not)."""
    with throwaway_cluster("nself-test-pgss-") as cluster:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        cluster.stop(immediate=True)
        cluster.start(fast=True, settings=TEST_CLUSTER_SETTINGS)
        yield cluster


def test_slow_queries_from_pg_stat_statements(statements_cluster: LocalCluster) -> None:
    url = statements_cluster.url()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS numbers (n int)")
        assert inspect.slow_queries(url).available is False  # loaded, not yet created here
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
        for _ in range(3):
            conn.execute("INSERT INTO numbers SELECT generate_series(1, 5000)")
    report = inspect.slow_queries(url, order="total", limit=50)
    assert report.available and report.message is None
    with psycopg.connect(url, autocommit=True) as conn:
        oracle = conn.execute(
            "SELECT calls, rows FROM pg_stat_statements WHERE query LIKE 'INSERT INTO numbers%'"
        ).fetchone()
    insert = next(q for q in report.queries if q.query.startswith("INSERT INTO numbers"))
    assert oracle is not None and (insert.calls, insert.rows) == (oracle[0], oracle[1]) == (3, 15000)
    assert insert.mean_ms == pytest.approx(insert.total_ms / 3)
    totals = [q.total_ms for q in report.queries]
    assert totals == sorted(totals, reverse=True)
    by_mean = inspect.slow_queries(url, order="mean", limit=50).queries
    assert [q.mean_ms for q in by_mean] == sorted((q.mean_ms for q in by_mean), reverse=True)
    assert len(inspect.slow_queries(url, limit=1).queries) == 1


def test_statements_of_a_database_without_the_extension_are_read_from_postgres(
    statements_cluster: LocalCluster,
) -> None:
    """The view in one database shows every database's statements: a database without the
    extension gets its own (and only its own) from `postgres`, where it is installed."""
    with psycopg.connect(statements_cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = 'shop'").fetchone() is None:
            conn.execute("CREATE DATABASE shop")
    shop = statements_cluster.url("shop")
    with psycopg.connect(shop, autocommit=True) as conn:
        for _ in range(5):
            conn.execute("SELECT 'only in shop' AS marker")
    by_calls = inspect.slow_queries(shop, order="calls", limit=100)
    assert by_calls.available
    with psycopg.connect(statements_cluster.url(), autocommit=True) as conn:
        oracle = conn.execute(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'shop')"
        ).fetchall()
    assert sorted((q.query, q.calls) for q in by_calls.queries) == sorted(oracle)
    assert ("SELECT $1 AS marker", 5) in {(q.query, q.calls) for q in by_calls.queries}
    assert [q.calls for q in by_calls.queries] == sorted((q.calls for q in by_calls.queries), reverse=True)


# --------------------------------------------------------------------------- index list


SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, email text UNIQUE, name text);
CREATE TABLE books (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id int NOT NULL REFERENCES authors (id),
    editor_id int REFERENCES authors (id),
    title text NOT NULL,
    during int4range,
    CONSTRAINT books_title_during UNIQUE (title, author_id) INCLUDE (editor_id),
    CONSTRAINT books_no_overlap EXCLUDE USING gist (during WITH &&) WHERE (title <> '')
);
CREATE INDEX books_author_idx ON books (author_id, title DESC);
CREATE INDEX books_lower_title ON books (lower(title));
CREATE UNIQUE INDEX authors_name_partial ON authors (name) WHERE name IS NOT NULL;
CREATE TABLE reviews (book_id bigint, author_id int, body text,
    FOREIGN KEY (author_id) REFERENCES authors (id),
    FOREIGN KEY (book_id) REFERENCES books (id));
CREATE INDEX reviews_book_partial ON reviews (book_id) WHERE body IS NOT NULL;
CREATE TABLE measures (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE measures_2026 PARTITION OF measures FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX measures_v_idx ON measures (v);
"""


def attached_indexes(url: str) -> set[str]:
    """Indexes PostgreSQL made on partitions as copies of their parent's indexes."""
    return set(
        scalar(
            url,
            "SELECT coalesce(array_agg(relname::text), '{}') FROM pg_class WHERE relkind = 'i' AND relispartition",
        )
    )


def _shape(indexes: tuple[inspect.IndexInfo, ...]) -> list[tuple[object, ...]]:
    return [(i.schema, i.table, i.name, i.definition, i.unique, i.primary, i.partial) for i in indexes]


def test_offline_index_list_equals_what_postgresql_prints(database: str, tmp_path: Path) -> None:
    run_sql(database, SCHEMA)
    live = inspect.live_indexes(database)
    names = {i.name for i in live}
    assert names == set(
        scalar(database, "SELECT array_agg(indexname::text) FROM pg_indexes WHERE schemaname = 'public'")
    )
    for index in live:
        assert index.size_bytes == scalar(database, f"SELECT pg_relation_size('{index.name}'::regclass)")
    assert "CREATE INDEX measures_v_idx ON ONLY public.measures USING btree (v)" in {
        i.definition for i in live
    }
    # Offline, a partition's copies of its parent's indexes are not known by name.
    unpartitioned = tuple(i for i in live if i.name not in attached_indexes(database))
    assert len(unpartitioned) == len(live) - 2
    file = tmp_path / "schema.sql"
    file.write_text(SCHEMA)
    assert _shape(inspect.catalog_indexes(compile_migrations(file))) == _shape(unpartitioned)
    assert _shape(inspect.catalog_indexes(introspect(database))) == _shape(unpartitioned)
    partial = {i.name for i in live if i.partial}
    assert partial == {"authors_name_partial", "reviews_book_partial", "books_no_overlap"}
    assert {i.name for i in live if i.primary} == {
        "authors_pkey",
        "books_pkey",
        "measures_pkey",
        "measures_2026_pkey",
    }


# --------------------------------------------------------------------------- advisor


def test_missing_foreign_key_indexes_offline_and_the_fix_is_accepted(database: str, tmp_path: Path) -> None:
    file = tmp_path / "schema.sql"
    file.write_text(SCHEMA)
    found = inspect.unindexed_foreign_keys(compile_migrations(file))
    # books.author_id leads books_author_idx; reviews.book_id only has a partial index.
    assert [(f.table, f.columns) for f in found] == [
        ("books", ("editor_id",)),
        ("reviews", ("author_id",)),
        ("reviews", ("book_id",)),
    ]
    assert found[0].suggestion == "CREATE INDEX books_editor_id_idx ON public.books (editor_id);"
    run_sql(database, SCHEMA)
    assert inspect.unindexed_foreign_keys(introspect(database)) == found
    run_sql(database, "\n".join(f.suggestion for f in found))
    assert inspect.unindexed_foreign_keys(introspect(database)) == ()


def test_a_suggested_name_that_is_taken_gets_a_suffix(database: str) -> None:
    run_sql(
        database,
        "CREATE TABLE p (id int PRIMARY KEY); CREATE TABLE c (p_id int REFERENCES p);"
        "CREATE INDEX c_p_id_idx ON c (p_id) WHERE p_id > 0;",
    )
    found = inspect.unindexed_foreign_keys(introspect(database))
    assert [f.suggestion for f in found] == ["CREATE INDEX c_p_id_idx1 ON public.c (p_id);"]
    run_sql(database, found[0].suggestion)


def test_seq_scan_heavy_tables_match_pg_stat_user_tables(database: str) -> None:
    rows = inspect.SEQ_ROWS_MIN + 500
    with psycopg.connect(database, autocommit=True) as conn:
        # The rows are written on this connection, whose statistics flush_stats publishes:
        # another backend's would reach n_live_tup when it exits, perhaps between the report
        # and the oracle.
        conn.execute(
            f"CREATE TABLE big (id int, v int); INSERT INTO big SELECT g, g FROM generate_series(1, {rows}) g;"
            "CREATE TABLE small (id int); INSERT INTO small VALUES (1);".encode()
        )
        for _ in range(inspect.SEQ_SCAN_MIN):
            conn.execute("SELECT count(*) FROM big WHERE v = 3").fetchone()
            conn.execute("SELECT count(*) FROM small").fetchone()
        flush_stats(conn)
    found = inspect.seq_scan_tables(database)
    assert [t.table for t in found] == ["big"]
    with psycopg.connect(database) as conn:
        oracle = conn.execute(
            "SELECT seq_scan, n_live_tup, seq_tup_read FROM pg_stat_user_tables WHERE relname = 'big'"
        ).fetchone()
    assert oracle is not None
    assert (found[0].seq_scan, found[0].live_rows) == (oracle[0], oracle[1])
    assert found[0].rows_per_seq_scan == oracle[2] // oracle[0]


def test_unused_needs_a_live_source(tmp_path: Path) -> None:
    from nself.errors import OptionError
    from nself.runtime.project import load_project

    (tmp_path / "nself.toml").write_text("[environments.local]\n")
    file = tmp_path / "schema.sql"
    file.write_text(SCHEMA)
    with pytest.raises(OptionError, match="--unused needs a live database"):
        inspect.schema_indexes(str(file), load_project(tmp_path), unused=True)


@pytest.mark.parametrize("case", ["pagila", "openstreetmap", "lemmy"])
def test_corpus_index_lists_and_advice(corpus: Path, new_database: NewDatabase, case: str) -> None:
    """On real schemas: the indexes read offline (from the introspected Catalog) are the
    ones pg_get_indexdef prints, and every CREATE INDEX the advisor suggests is accepted
    and silences it."""
    url = new_database(case, case=next(c for c in schema_cases(corpus) if c.name == case))
    live = tuple(i for i in inspect.live_indexes(url) if i.name not in attached_indexes(url))
    catalog = introspect(url)
    assert _shape(inspect.catalog_indexes(catalog)) == _shape(live)
    advice = inspect.unindexed_foreign_keys(catalog)
    if advice:
        run_sql(url, "\n".join(f.suggestion for f in advice))
        assert inspect.unindexed_foreign_keys(introspect(url)) == ()


def test_partitions_foreign_keys(database: str) -> None:
    """A partitioned table's key is reported once, on the parent; a key declared on one
    partition alone is reported on it; an index of the parent covers its partitions."""
    run_sql(
        database,
        "CREATE TABLE owners (id int PRIMARY KEY);"
        "CREATE TABLE things (id int, owner_id int REFERENCES owners, other_id int, at date,"
        " PRIMARY KEY (id, at)) PARTITION BY RANGE (at);"
        "CREATE TABLE things_2026 PARTITION OF things FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');"
        "CREATE TABLE things_2027 PARTITION OF things FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');"
        "ALTER TABLE things_2027 ADD FOREIGN KEY (other_id) REFERENCES owners;",
    )
    found = inspect.unindexed_foreign_keys(introspect(database))
    assert [(f.table, f.columns) for f in found] == [
        ("things", ("owner_id",)),
        ("things_2027", ("other_id",)),
    ]
    run_sql(database, "CREATE INDEX ON things (other_id);")
    found = inspect.unindexed_foreign_keys(introspect(database))
    assert [(f.table, f.columns) for f in found] == [("things", ("owner_id",))]
    run_sql(database, found[0].suggestion)
    assert inspect.unindexed_foreign_keys(introspect(database)) == ()
