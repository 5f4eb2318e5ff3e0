"""Inspecting a live database (`nself db inspect`, `nself schema indexes`): cache hit
ratios, unused indexes, bloat estimates, slow queries, locks, and an index advisor.

Each report is a function over an open connection (so a caller can read several in one
snapshot of the statistics) with a twin over a URL that opens and closes one. Results are
frozen dataclasses; the CLI prints them as tables or JSON."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from nself.backends.sql.ddl import create_index
from nself.connection import connect, is_connection_target
from nself.errors import NselfError, OptionError
from nself.ir import Catalog
from nself.ir.model import (
    ExclusionConstraint,
    ExclusionElement,
    ForeignKey,
    Index,
    IndexKey,
    PrimaryKey,
    Table,
    UniqueConstraint,
)
from nself.ir.names import qualified_name, quote_ident
from nself.runtime.local import environment_url
from nself.runtime.project import Project
from nself.runtime.sources import describe_source, load_catalog

if TYPE_CHECKING:
    import psycopg

SYSTEM_SCHEMAS = "('pg_catalog', 'information_schema', 'pg_toast')"


@contextmanager
def _connection(url: str) -> Iterator[psycopg.Connection[Any]]:
    with connect(url, autocommit=True) as conn:
        # Names print schema-qualified (relations, operator classes, functions in index
        # expressions), as the IR holds them, whatever the role's search_path is.
        conn.execute("SET search_path = ''")
        yield conn


def _rows(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql.encode(), params)
        return list(cur.fetchall())


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- cache hit


@dataclass(frozen=True)
class TableCacheHit:
    schema: str
    table: str
    heap_hit: int
    heap_read: int
    ratio: float | None  # hits / (hits + reads), rounded to 4 places; None before any access


@dataclass(frozen=True)
class DatabaseCacheHit:
    database: str
    blocks_hit: int
    blocks_read: int
    ratio: float | None  # every block of the database, catalogs and TOAST included


@dataclass(frozen=True)
class CacheHitReport:
    database: str
    table_ratio: float | None  # heap blocks of user tables
    index_ratio: float | None  # blocks of user indexes
    tables: tuple[TableCacheHit, ...]  # the worst first
    # Every database of the server (pg_stat_database; heap and index are not told apart
    # there: the per-relation views only see the database one is connected to).
    databases: tuple[DatabaseCacheHit, ...] = ()


CACHE_HIT_TOTALS = """
SELECT current_database() AS database,
       (SELECT round(sum(heap_blks_hit)::numeric / nullif(sum(heap_blks_hit) + sum(heap_blks_read), 0), 4)
          FROM pg_statio_user_tables) AS table_ratio,
       (SELECT round(sum(idx_blks_hit)::numeric / nullif(sum(idx_blks_hit) + sum(idx_blks_read), 0), 4)
          FROM pg_statio_user_indexes) AS index_ratio
"""

CACHE_HIT_TABLES = """
SELECT schemaname AS schema, relname AS "table",
       coalesce(heap_blks_hit, 0) AS heap_hit, coalesce(heap_blks_read, 0) AS heap_read,
       round(heap_blks_hit::numeric / nullif(heap_blks_hit + heap_blks_read, 0), 4) AS ratio
  FROM pg_statio_user_tables
 WHERE coalesce(heap_blks_hit, 0) + coalesce(heap_blks_read, 0) > 0
 ORDER BY ratio, heap_read DESC, schemaname, relname
 LIMIT %s
"""


CACHE_HIT_DATABASES = """
SELECT datname AS database, blks_hit, blks_read,
       round(blks_hit::numeric / nullif(blks_hit + blks_read, 0), 4) AS ratio
  FROM pg_stat_database
 WHERE datname IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.datname = pg_stat_database.datname
                                           AND NOT d.datallowconn)
 ORDER BY datname
"""


def cache_hit_on(conn: psycopg.Connection[Any], limit: int = 10) -> CacheHitReport:
    totals = _rows(conn, CACHE_HIT_TOTALS)[0]
    databases = tuple(
        DatabaseCacheHit(r["database"], int(r["blks_hit"]), int(r["blks_read"]), _float(r["ratio"]))
        for r in _rows(conn, CACHE_HIT_DATABASES)
    )
    tables = tuple(
        TableCacheHit(r["schema"], r["table"], int(r["heap_hit"]), int(r["heap_read"]), _float(r["ratio"]))
        for r in _rows(conn, CACHE_HIT_TABLES, (limit,))
    )
    return CacheHitReport(
        totals["database"], _float(totals["table_ratio"]), _float(totals["index_ratio"]), tables, databases
    )


def cache_hit(url: str, limit: int = 10) -> CacheHitReport:
    with _connection(url) as conn:
        return cache_hit_on(conn, limit)


# --------------------------------------------------------------------------- unused indexes


@dataclass(frozen=True)
class UnusedIndex:
    schema: str
    table: str
    index: str
    size_bytes: int
    definition: str


@dataclass(frozen=True)
class UnusedIndexReport:
    database: str
    stats_reset: dt.datetime | None  # since when idx_scan counts; None: never reset
    indexes: tuple[UnusedIndex, ...]


# Indexes behind a primary key, unique or exclusion constraint enforce something even when
# no query scans them, so they are never "unused".
UNUSED_INDEXES = """
SELECT s.schemaname AS schema, s.relname AS "table", s.indexrelname AS index,
       pg_relation_size(s.indexrelid) AS size_bytes, pg_get_indexdef(s.indexrelid) AS definition
  FROM pg_stat_user_indexes s
  JOIN pg_index i ON i.indexrelid = s.indexrelid
 WHERE s.idx_scan = 0
   AND NOT i.indisunique AND NOT i.indisprimary
   AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
 ORDER BY size_bytes DESC, s.schemaname, s.relname, s.indexrelname
 LIMIT %s
"""

STATS_RESET = "SELECT current_database() AS database, stats_reset FROM pg_stat_database WHERE datname = current_database()"


def unused_indexes_on(conn: psycopg.Connection[Any], limit: int | None = None) -> UnusedIndexReport:
    reset = _rows(conn, STATS_RESET)[0]
    rows = _rows(conn, UNUSED_INDEXES, (limit,))
    return UnusedIndexReport(
        reset["database"],
        reset["stats_reset"],
        tuple(
            UnusedIndex(r["schema"], r["table"], r["index"], int(r["size_bytes"]), r["definition"])
            for r in rows
        ),
    )


def unused_indexes(url: str, limit: int | None = None) -> UnusedIndexReport:
    with _connection(url) as conn:
        return unused_indexes_on(conn, limit)


# --------------------------------------------------------------------------- bloat


@dataclass(frozen=True)
class Bloat:
    kind: str  # "table" or "index"
    schema: str
    table: str
    name: str  # the table itself, or the index
    size_bytes: int  # relpages * block size, as of the last VACUUM/ANALYZE
    wasted_bytes: int  # size beyond what the estimated live tuples need (at the fillfactor)
    ratio: float  # wasted / size, 0..1, 4 places


# The estimate of ioguix/pgsql-bloat-estimation (table/table_bloat.sql and
# btree/btree_bloat.sql), rewritten: a tuple's size is its header plus the average width of
# its columns from pg_stats (weighted by how often they are not null), aligned; the pages
# the live tuples need follow from the tuples per page at the fillfactor; what pg_class
# holds beyond that is waste. It reads only statistics (no table scan), so it is as fresh
# as the last ANALYZE, and tables or indexes with columns that have no statistics are left
# out rather than guessed. For tables the row size also counts the padding PostgreSQL puts
# between columns to align them (computed in Python, column by column), which the original
# query leaves out: without it a fresh table of mixed int/text/bigint columns shows ~10%
# of "waste" that is padding.
#
# One row per column of every table with pages, in column order, with its statistics.
TABLE_COLUMNS = f"""
SELECT c.oid, n.nspname AS schema, c.relname AS "table", c.reltuples, c.relpages,
       coalesce(substring(array_to_string(c.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int, 100) AS fillfactor,
       current_setting('block_size')::int AS block_size,
       a.attlen, a.attalign, s.avg_width, s.null_frac, s.attname IS NOT NULL AS has_stats
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
                      AND s.attname = a.attname AND NOT s.inherited
 WHERE c.relkind IN ('r', 'm') AND c.relpages > 0 AND c.reltuples >= 0 AND n.nspname NOT IN {SYSTEM_SCHEMAS}
 ORDER BY c.oid, a.attnum
"""

MAXALIGN = 8
HEAP_PAGE_HEADER = 24
HEAP_TUPLE_HEADER = 23
LINE_POINTER = 4
ALIGNMENT = {"c": 1, "s": 2, "i": 4, "d": 8}


def _align(offset: float, alignment: int) -> float:
    return -(-offset // alignment) * alignment


def _heap_tuple_size(columns: list[dict[str, Any]]) -> float:
    """The average bytes a row takes in a heap page, line pointer included: the header
    (with a null bitmap when a column holds nulls), then each column at its alignment
    (varlena values under 127 bytes have a 1-byte header and no alignment), weighted by
    how often the column is not null; header and data each padded to MAXALIGN."""
    header = HEAP_TUPLE_HEADER
    if any((column["null_frac"] or 0) > 0 for column in columns):
        header += (len(columns) + 7) // 8
    data = 0.0
    for column in columns:
        present = 1 - float(column["null_frac"] or 0)
        width = float(column["avg_width"] or 0)
        short_varlena = column["attlen"] == -1 and width < 127
        alignment = 1 if short_varlena else ALIGNMENT[column["attalign"]]
        data += present * (_align(data, alignment) - data + width)
    return _align(header, MAXALIGN) + _align(data, MAXALIGN) + LINE_POINTER


def _table_bloat(conn: psycopg.Connection[Any]) -> list[Bloat]:
    by_table: dict[int, list[dict[str, Any]]] = {}
    for row in _rows(conn, TABLE_COLUMNS):
        by_table.setdefault(row["oid"], []).append(row)
    found = []
    for columns in by_table.values():
        if not all(c["has_stats"] for c in columns):
            continue  # never analysed (or new columns): no guess
        first = columns[0]
        block = int(first["block_size"])
        per_page = max(
            1, int((block - HEAP_PAGE_HEADER) * first["fillfactor"] / 100 // _heap_tuple_size(columns))
        )
        needed = -(-int(first["reltuples"]) // per_page)
        size = int(first["relpages"]) * block
        wasted = max(int(first["relpages"]) - needed, 0) * block
        found.append(
            Bloat(
                "table", first["schema"], first["table"], first["table"], size, wasted, _ratio(wasted, size)
            )
        )
    return found


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


INDEX_BLOAT = f"""
WITH keys AS (
  SELECT i.indexrelid, i.indrelid, k.attnum, k.position
    FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, position)
), x AS (
  SELECT ic.oid, n.nspname AS schema, tc.relname AS "table", ic.relname AS name,
         ic.reltuples, ic.relpages,
         coalesce(substring(array_to_string(ic.reloptions, ' ') FROM 'fillfactor=([0-9]+)')::int, 90) AS fillfactor,
         current_setting('block_size')::numeric AS bs,
         -- 8 bytes of index tuple header (+ a null bitmap when a key can be null)
         8 + CASE WHEN max(coalesce(s.null_frac, 0)) > 0 THEN 4 ELSE 0 END AS hdr,
         sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS data_width,
         count(*) FILTER (WHERE s.attname IS NULL) AS without_stats
    FROM keys
    JOIN pg_class ic ON ic.oid = keys.indexrelid
    JOIN pg_class tc ON tc.oid = keys.indrelid
    JOIN pg_namespace n ON n.oid = ic.relnamespace
    JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
    -- a key on a column has its statistics under the table; an expression key
    -- (attnum 0) under the index itself
    LEFT JOIN pg_attribute ta ON ta.attrelid = tc.oid AND ta.attnum = keys.attnum AND keys.attnum > 0
    LEFT JOIN pg_attribute ia ON ia.attrelid = ic.oid AND ia.attnum = keys.position
    LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND NOT s.inherited
         AND ((keys.attnum > 0 AND s.tablename = tc.relname AND s.attname = ta.attname)
           OR (keys.attnum = 0 AND s.tablename = ic.relname AND s.attname = ia.attname))
   WHERE ic.relpages > 1 AND n.nspname NOT IN {SYSTEM_SCHEMAS}
   GROUP BY ic.oid, n.nspname, tc.relname, ic.relname, ic.reltuples, ic.relpages, ic.reloptions
), estimated AS (
  SELECT *,
         -- one metapage, then leaf pages of (line pointer + aligned tuple) items;
         -- 24 bytes of page header and 16 of btree special space per page
         1 + ceil(reltuples / floor((bs - 40) * fillfactor / (100 * (4 + 8 * ceil((hdr + data_width) / 8.0)))))
           AS est_pages
    FROM x WHERE without_stats = 0 AND reltuples >= 0
)
SELECT 'index' AS kind, schema, "table", name, (relpages * bs)::bigint AS size_bytes,
       greatest(relpages - est_pages, 0)::bigint * bs::bigint AS wasted_bytes
  FROM estimated
"""


def bloat_on(conn: psycopg.Connection[Any], limit: int | None = None) -> tuple[Bloat, ...]:
    found = _table_bloat(conn) + [
        Bloat(
            r["kind"],
            r["schema"],
            r["table"],
            r["name"],
            int(r["size_bytes"]),
            int(r["wasted_bytes"]),
            _ratio(int(r["wasted_bytes"]), int(r["size_bytes"])),
        )
        for r in _rows(conn, INDEX_BLOAT)
    ]
    found.sort(key=lambda b: (-b.wasted_bytes, b.kind, b.schema, b.table, b.name))
    return tuple(found[:limit] if limit is not None else found)


def bloat(url: str, limit: int | None = None) -> tuple[Bloat, ...]:
    with _connection(url) as conn:
        return bloat_on(conn, limit)


# --------------------------------------------------------------------------- slow queries


@dataclass(frozen=True)
class SlowQuery:
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    share: float  # of the total execution time of all statements, 0..1


@dataclass(frozen=True)
class SlowQueryReport:
    available: bool
    message: str | None  # why not available, and how to enable it
    order: str  # "total" or "mean"
    queries: tuple[SlowQuery, ...] = field(default=())


ENABLE_PG_STAT_STATEMENTS = (
    "add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart the server, "
    "then run CREATE EXTENSION pg_stat_statements in this database"
)

SLOW_QUERIES = """
SELECT query, calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows,
       coalesce(total_exec_time / nullif(sum(total_exec_time) OVER (), 0), 0) AS share
  FROM {relation}
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = %s)
 ORDER BY {order} DESC, queryid
 LIMIT %s
"""


def pg_stat_statements_missing(conn: psycopg.Connection[Any]) -> str | None:
    """Why pg_stat_statements cannot be read here (with how to enable it), or None."""
    row = _statements_state(conn)
    if row["version"] < 130000:
        return "slow-queries needs PostgreSQL 13 or newer (pg_stat_statements.total_exec_time)"
    if not row["preloaded"]:
        return f"pg_stat_statements is not loaded: {ENABLE_PG_STAT_STATEMENTS}"
    if not row["installed"]:
        return "pg_stat_statements is loaded but not installed in this database: run CREATE EXTENSION pg_stat_statements"
    return None


def _statements_state(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    return _rows(
        conn,
        "SELECT current_setting('server_version_num')::int AS version,"
        " 'pg_stat_statements' = ANY(string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))"
        " AS preloaded,"
        " EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed,"
        " current_database() AS database",
    )[0]


SLOW_QUERY_ORDERS = {"total": "total_exec_time", "mean": "mean_exec_time", "calls": "calls"}


def _order_column(order: str) -> str:
    if order not in SLOW_QUERY_ORDERS:
        raise OptionError(f"--order: {order!r} is not one of {', '.join(SLOW_QUERY_ORDERS)}")
    return SLOW_QUERY_ORDERS[order]


# Where the managed cluster installs pg_stat_statements (nself.runtime.local): a database of
# its own, so the project's schema holds no extension its migrations do not declare. The
# view shows the statements of every database, so a database without the extension is
# read from there, or from `postgres`, where hosted servers often have it.
STATEMENTS_DATABASE = "nself_stats"
STATEMENTS_DATABASES = (STATEMENTS_DATABASE, "postgres")


def slow_queries_on(conn: psycopg.Connection[Any], order: str = "total", limit: int = 10) -> SlowQueryReport:
    column = _order_column(order)
    missing = pg_stat_statements_missing(conn)
    if missing is not None:
        state = _statements_state(conn)
        if state["preloaded"] and state["version"] >= 130000:
            existing = {
                r["datname"]
                for r in _rows(conn, "SELECT datname FROM pg_database WHERE datallowconn AND datname = ANY(%s)", (list(STATEMENTS_DATABASES),))
            }
            for other in (d for d in STATEMENTS_DATABASES if d in existing and d != state["database"]):
                found = _statements_elsewhere(conn, other, state["database"], column, limit)
                if found is not None:
                    return SlowQueryReport(True, None, order, found)
        return SlowQueryReport(False, missing, order)
    return SlowQueryReport(True, None, order, _statements(conn, current_database(conn), column, limit) or ())


def current_database(conn: psycopg.Connection[Any]) -> str:
    return str(_rows(conn, "SELECT current_database() AS d")[0]["d"])


def _statements(
    conn: psycopg.Connection[Any], database: str, column: str, limit: int
) -> tuple[SlowQuery, ...] | None:
    found = _rows(
        conn,
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_stat_statements'",
    )
    if not found:
        return None
    sql = SLOW_QUERIES.format(order=column, relation=qualified_name(found[0]["nspname"], "pg_stat_statements"))
    return tuple(
        SlowQuery(
            r["query"],
            int(r["calls"]),
            float(r["total_ms"]),
            float(r["mean_ms"]),
            int(r["rows"]),
            float(r["share"]),
        )
        for r in _rows(conn, sql, (database, limit))
    )


def _statements_elsewhere(
    conn: psycopg.Connection[Any], other_database: str, database: str, column: str, limit: int
) -> tuple[SlowQuery, ...] | None:
    """The statements of `database` read from the view in `other_database`, when the
    extension is installed there (and this role may connect to it)."""
    import psycopg

    try:
        other = psycopg.connect(
            conn.info.dsn, password=conn.info.password, dbname=other_database, autocommit=True, connect_timeout=5
        )
    except psycopg.Error:
        return None
    with other:
        other.execute("SET search_path = ''")
        return _statements(other, database, column, limit)


def slow_queries(url: str, order: str = "total", limit: int = 10) -> SlowQueryReport:
    _order_column(order)  # a bad option is reported before connecting
    with _connection(url) as conn:
        return slow_queries_on(conn, order, limit)


# --------------------------------------------------------------------------- locks


@dataclass(frozen=True)
class Lock:
    pid: int
    locktype: str
    relation: str | None
    mode: str
    granted: bool
    blocked_by: tuple[int, ...]  # pg_blocking_pids(pid): whom this backend waits for
    blocking: tuple[int, ...]  # the backends that wait for this one
    state: str | None
    query: str | None  # truncated to QUERY_WIDTH characters
    age_seconds: float | None  # since the backend's transaction began


QUERY_WIDTH = 200

# Every lock of other backends in this database (and on shared objects), without the
# virtual transaction id each backend holds on itself: it says nothing until someone
# waits for it, and then the waiter's transactionid or relation lock says it better.
LOCKS = f"""
SELECT l.pid, l.locktype,
       CASE WHEN l.relation IS NOT NULL THEN
         (SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.oid = l.relation) END AS relation,
       l.mode, l.granted, pg_blocking_pids(l.pid) AS blocked_by, a.state,
       left(a.query, {QUERY_WIDTH}) AS query,
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8 AS age_seconds
  FROM pg_locks l
  JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.pid <> pg_backend_pid()
   AND l.locktype <> 'virtualxid'
   AND (l.database IS NULL OR l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
 ORDER BY l.granted, age_seconds DESC NULLS LAST, l.pid, relation NULLS LAST, l.mode
"""


def locks_on(conn: psycopg.Connection[Any], limit: int | None = None) -> tuple[Lock, ...]:
    rows = _rows(conn, LOCKS)
    waiting: dict[int, set[int]] = {}
    for r in rows:
        for blocker in r["blocked_by"] or ():
            waiting.setdefault(int(blocker), set()).add(int(r["pid"]))
    found = tuple(
        Lock(
            int(r["pid"]),
            r["locktype"],
            r["relation"],
            r["mode"],
            bool(r["granted"]),
            tuple(sorted(int(p) for p in r["blocked_by"] or ())),
            tuple(sorted(waiting.get(int(r["pid"]), ()))),
            r["state"],
            r["query"],
            _float(r["age_seconds"]),
        )
        for r in rows
    )
    found = tuple(sorted(found, key=_lock_group))
    return found[:limit] if limit is not None else found


def _lock_group(lock: Lock) -> tuple[int, int, bool, str, str]:
    """Locks grouped by session: the sessions that wait first, then those that block
    them, then the rest; each session's ungranted lock first."""
    rank = 0 if lock.blocked_by else 1 if lock.blocking else 2
    return rank, lock.pid, lock.granted, lock.relation or "", lock.mode


def locks(url: str, limit: int | None = None) -> tuple[Lock, ...]:
    with _connection(url) as conn:
        return locks_on(conn, limit)


# --------------------------------------------------------------------------- index list


@dataclass(frozen=True)
class IndexInfo:
    schema: str
    table: str
    name: str
    definition: str  # as pg_get_indexdef prints it
    unique: bool
    primary: bool
    partial: bool
    size_bytes: int | None = None  # live sources only
    scans: int | None = None  # idx_scan, live sources only


LIVE_INDEXES = f"""
SELECT n.nspname AS schema, t.relname AS "table", c.relname AS name,
       pg_get_indexdef(c.oid) AS definition, i.indisunique AS "unique", i.indisprimary AS "primary",
       i.indpred IS NOT NULL AS partial, pg_relation_size(c.oid) AS size_bytes, s.idx_scan AS scans
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = c.oid
 WHERE n.nspname NOT IN {SYSTEM_SCHEMAS} AND n.nspname !~ '^pg_temp'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = t.oid
                   AND d.deptype = 'e')
 ORDER BY n.nspname, t.relname, c.relname
"""


def live_indexes(url: str) -> tuple[IndexInfo, ...]:
    with _connection(url) as conn:
        return tuple(
            IndexInfo(
                r["schema"],
                r["table"],
                r["name"],
                r["definition"],
                r["unique"],
                r["primary"],
                r["partial"],
                int(r["size_bytes"]),
                None if r["scans"] is None else int(r["scans"]),
            )
            for r in _rows(conn, LIVE_INDEXES)
        )


def catalog_indexes(catalog: Catalog) -> tuple[IndexInfo, ...]:
    """Every index of a schema read offline: the CREATE INDEX ones, and those PostgreSQL
    builds for primary key, unique and exclusion constraints, with the definition
    pg_get_indexdef would print for each. The copies PostgreSQL makes on each partition of
    a partitioned table's indexes are not listed: it names them when it attaches them."""
    partitioned = {(t.schema, t.name) for t in catalog.tables if t.partition_by is not None}
    found = [
        IndexInfo(
            i.schema,
            i.table,
            i.name,
            index_definition(i, partitioned=(i.schema, i.table) in partitioned),
            i.unique,
            False,
            i.predicate is not None,
        )
        for i in catalog.indexes
    ]
    for table in catalog.tables:
        for constraint in table.constraints:
            if isinstance(constraint, PrimaryKey | UniqueConstraint):
                index = Index(
                    table.schema,
                    constraint.name,
                    table.name,
                    tuple(IndexKey(column=column) for column in constraint.columns),
                    unique=True,
                    include=constraint.include,
                    nulls_not_distinct=isinstance(constraint, UniqueConstraint)
                    and constraint.nulls_not_distinct,
                )
                found.append(
                    IndexInfo(
                        table.schema,
                        table.name,
                        constraint.name,
                        index_definition(index, partitioned=table.partition_by is not None),
                        True,
                        isinstance(constraint, PrimaryKey),
                        False,
                    )
                )
            elif isinstance(constraint, ExclusionConstraint):
                index = Index(
                    table.schema,
                    constraint.name,
                    table.name,
                    tuple(_exclusion_key(e) for e in constraint.elements),
                    method=constraint.method,
                    include=constraint.include,
                    predicate=constraint.predicate,
                )
                found.append(
                    IndexInfo(
                        table.schema,
                        table.name,
                        constraint.name,
                        index_definition(index, partitioned=table.partition_by is not None),
                        False,
                        False,
                        constraint.predicate is not None,
                    )
                )
    return tuple(sorted(found, key=lambda i: (i.schema, i.table, i.name)))


# --------------------------------------------------------------------------- advisor


@dataclass(frozen=True)
class UnindexedForeignKey:
    schema: str
    table: str
    constraint: str
    columns: tuple[str, ...]
    references: str
    suggestion: str  # a CREATE INDEX statement that covers the columns


@dataclass(frozen=True)
class SeqScanHeavyTable:
    schema: str
    table: str
    seq_scan: int
    idx_scan: int
    live_rows: int
    rows_per_seq_scan: int


@dataclass(frozen=True)
class MissingIndexReport:
    foreign_keys: tuple[UnindexedForeignKey, ...]
    seq_scan_tables: tuple[SeqScanHeavyTable, ...] | None  # None: no live statistics (offline source)


# A table is listed when it is read by sequential scans more often than by index scans,
# at least SEQ_SCAN_MIN times, and each of those scans reads on average at least
# SEQ_ROWS_MIN rows: a small table is cheaper to scan than to index.
SEQ_SCAN_MIN = 50
SEQ_ROWS_MIN = 10_000

SEQ_SCAN_TABLES = """
SELECT schemaname AS schema, relname AS "table", seq_scan, coalesce(idx_scan, 0) AS idx_scan,
       n_live_tup AS live_rows, (seq_tup_read / nullif(seq_scan, 0))::bigint AS rows_per_seq_scan
  FROM pg_stat_user_tables
 WHERE seq_scan >= %s AND seq_scan > coalesce(idx_scan, 0)
   AND seq_tup_read / nullif(seq_scan, 0) >= %s
 ORDER BY seq_tup_read DESC, schemaname, relname
"""


def _index_columns(index: Index) -> tuple[str, ...] | None:
    """The leading plain columns of a full btree index (None when it cannot serve FK
    lookups: partial, another method, or an expression first)."""
    if index.method != "btree" or index.predicate is not None:
        return None
    columns: list[str] = []
    for key in index.keys:
        if key.column is None:
            break
        columns.append(key.column)
    return tuple(columns)


def unindexed_foreign_keys(catalog: Catalog) -> tuple[UnindexedForeignKey, ...]:
    """Foreign keys whose columns are not the leading columns (in any order) of a btree
    index, primary key or unique constraint of their table (or, for a partition, of a
    table it is a partition of: those indexes are copied onto it): deleting or updating a
    referenced row then scans the whole referencing table, and so do joins on the key."""
    taken: dict[str, set[str]] = {}  # relation names per schema: a new index must not clash
    relations = [(n.schema, n.name) for n in catalog.tables] + [(n.schema, n.name) for n in catalog.indexes]
    relations += [(n.schema, n.name) for n in catalog.views] + [(n.schema, n.name) for n in catalog.sequences]
    for schema, name in relations:
        taken.setdefault(schema, set()).add(name)
    for table in catalog.tables:
        taken[table.schema].update(c.name for c in table.constraints)
    found = []
    for table in catalog.tables:
        lineage = [table, *_ancestors(catalog, table)]
        leading = [cols for t in lineage for cols in _leading_columns(catalog, t)]
        inherited = {_fk_target(fk) for t in lineage[1:] for fk in t.foreign_keys}
        for fk in table.foreign_keys:
            if _fk_target(fk) in inherited:
                continue  # the parent's key, reported on the parent
            if any(set(cols[: len(fk.columns)]) == set(fk.columns) for cols in leading):
                continue
            name = _index_name(table.name, fk, taken[table.schema])
            taken[table.schema].add(name)
            key_list = ", ".join(quote_ident(c) for c in fk.columns)
            found.append(
                UnindexedForeignKey(
                    table.schema,
                    table.name,
                    fk.name,
                    fk.columns,
                    f"{fk.ref_schema}.{fk.ref_table}({', '.join(fk.ref_columns)})",
                    f"CREATE INDEX {quote_ident(name)} ON {qualified_name(table.schema, table.name)} ({key_list});",
                )
            )
    return tuple(found)


def _ancestors(catalog: Catalog, table: Table) -> list[Table]:
    """The tables `table` is a partition of, nearest first."""
    found: list[Table] = []
    current = table
    while current.partition_of is not None:
        parent = catalog.table(current.partition_of.parent_schema, current.partition_of.parent)
        if parent is None or parent in found:
            break
        found.append(parent)
        current = parent
    return found


def _leading_columns(catalog: Catalog, table: Table) -> list[tuple[str, ...]]:
    leading = [c.columns for c in table.constraints if isinstance(c, PrimaryKey | UniqueConstraint)]
    for index in catalog.indexes_of(table.schema, table.name):
        columns = _index_columns(index)
        if columns:
            leading.append(columns)
    return leading


def _fk_target(fk: ForeignKey) -> tuple[tuple[str, ...], str, str, tuple[str, ...]]:
    return fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns


def _index_name(table: str, fk: ForeignKey, taken: set[str]) -> str:
    """PostgreSQL's own default (`table_col1_col2_idx`, cut to 63 bytes), made unique."""
    base = f"{table}_{'_'.join(fk.columns)}"
    for n in range(0, 1000):
        suffix = "_idx" if n == 0 else f"_idx{n}"
        name = base.encode()[: 63 - len(suffix)].decode(errors="ignore") + suffix
        if name not in taken:
            return name
    raise NselfError(f"no free index name for {table}.{fk.name}")


def seq_scan_tables(url: str) -> tuple[SeqScanHeavyTable, ...]:
    with _connection(url) as conn:
        return tuple(
            SeqScanHeavyTable(
                r["schema"],
                r["table"],
                int(r["seq_scan"]),
                int(r["idx_scan"]),
                int(r["live_rows"]),
                int(r["rows_per_seq_scan"]),
            )
            for r in _rows(conn, SEQ_SCAN_TABLES, (SEQ_SCAN_MIN, SEQ_ROWS_MIN))
        )


def missing_indexes(catalog: Catalog, url: str | None) -> MissingIndexReport:
    return MissingIndexReport(
        unindexed_foreign_keys(catalog), seq_scan_tables(url) if url is not None else None
    )


_FUNCTION_CALL = re.compile(r"[A-Za-z_][A-Za-z_0-9$.]*\(")


def _looks_like_function(expression: str) -> bool:
    """Whether pg_get_indexdef prints this key bare: a function call, `lower(title)`, whose
    opening parenthesis closes at the end (ruleutils' looks_like_function)."""
    match = _FUNCTION_CALL.match(expression)
    if match is None:
        return False
    depth, quoted = 0, False
    for position in range(match.end() - 1, len(expression)):
        char = expression[position]
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return position == len(expression) - 1
    return False


def index_definition(index: Index, *, partitioned: bool = False) -> str:
    """CREATE INDEX as pg_get_indexdef prints it: `ON ONLY` on a partitioned table, and a
    function-call key not wrapped in parentheses (CREATE INDEX accepts it either way)."""
    text = create_index(index, only=partitioned).rstrip(";")
    head, sep, rest = text.partition(f" USING {index.method} ")
    for key in index.keys:
        if key.expression is not None and _looks_like_function(key.expression):
            rest = rest.replace(f"({key.expression})", key.expression, 1)
    return head + sep + rest


def _exclusion_key(element: ExclusionElement) -> IndexKey:
    text = element.expression
    if text.startswith("(") and text.endswith(")"):
        key = IndexKey(expression=text[1:-1])
    else:
        key = IndexKey(column=text)
    return replace(
        key, opclass=element.opclass, descending=element.descending, nulls_first=element.nulls_first
    )


def live_url(source: str | None, project: Project) -> str | None:
    """The URL of SOURCE when it is a live database (an environment or a URL), else None
    (a migrations directory or a schema file)."""
    if source is None:
        return environment_url(project)
    if is_connection_target(source):
        return source
    if source in project.environments or source == "local":
        return environment_url(project, source)
    return None


@dataclass(frozen=True)
class IndexReport:
    source: str  # masked
    live: bool
    indexes: tuple[IndexInfo, ...] = ()
    unused: UnusedIndexReport | None = None
    missing: MissingIndexReport | None = None


def schema_indexes(
    source: str | None, project: Project, *, unused: bool = False, missing: bool = False
) -> IndexReport:
    """`nself schema indexes`: every index of SOURCE, or (with `unused`) the unused ones,
    or (with `missing`) the advisor's findings. `unused` needs a live SOURCE."""
    url = live_url(source, project)
    described = describe_source(source, project)
    if unused:
        if url is None:
            raise OptionError(
                f"--unused needs a live database (an environment or a postgresql:// URL), not {described}"
            )
        return IndexReport(described, True, unused=unused_indexes(url))
    if missing:
        catalog = load_catalog(source, project)
        return IndexReport(described, url is not None, missing=missing_indexes(catalog, url))
    if url is not None:
        return IndexReport(described, True, indexes=live_indexes(url))
    return IndexReport(described, False, indexes=catalog_indexes(load_catalog(source, project)))
