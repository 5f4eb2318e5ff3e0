"""The tabular reports of `nself db inspect` beside nself.runtime.inspect's: the reports
of `supabase inspect db` and pg-extras (sizes, record counts, vacuum, activity, blocking,
connections per role, replication slots, statements by calls and by time), and
`inspect report`, which writes every report into a folder as CSV or JSON files.

Each report is a query over PostgreSQL's own views, one frozen dataclass per row; the
function over an open connection has a twin (`report(name, url)`) that opens one."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nself.errors import OptionError
from nself.runtime import inspect
from nself.runtime.inspect import SYSTEM_SCHEMAS, _connection, _float, _rows

Connection = Any  # psycopg.Connection[Any]; Any so the report table below stays simple


# --------------------------------------------------------------------------- sizes


@dataclass(frozen=True)
class RelationSize:
    schema: str
    name: str
    size_bytes: int


@dataclass(frozen=True)
class IndexSize:
    schema: str
    table: str
    name: str
    size_bytes: int


@dataclass(frozen=True)
class TotalSize:
    size_bytes: int


# Tables, partitioned tables' leaves and materialized views of user schemas. A partitioned
# table itself holds no data (its size is 0); its partitions are listed.
_USER_RELATIONS = f"""
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN {SYSTEM_SCHEMAS} AND n.nspname !~ '^pg_temp'
"""

TABLE_SIZES = f"""
SELECT n.nspname AS schema, c.relname AS name, pg_table_size(c.oid) AS size_bytes
{_USER_RELATIONS}
 ORDER BY size_bytes DESC, schema, name
"""

TOTAL_TABLE_SIZES = f"""
SELECT n.nspname AS schema, c.relname AS name, pg_total_relation_size(c.oid) AS size_bytes
{_USER_RELATIONS}
 ORDER BY size_bytes DESC, schema, name
"""

INDEX_SIZES = f"""
SELECT n.nspname AS schema, t.relname AS "table", c.relname AS name, pg_relation_size(c.oid) AS size_bytes
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'i' AND n.nspname NOT IN {SYSTEM_SCHEMAS} AND n.nspname !~ '^pg_temp'
 ORDER BY size_bytes DESC, schema, "table", name
"""


def table_sizes_on(conn: Connection) -> tuple[RelationSize, ...]:
    """Each table's size without its indexes (heap, TOAST, free space and visibility maps)."""
    return tuple(RelationSize(r["schema"], r["name"], int(r["size_bytes"])) for r in _rows(conn, TABLE_SIZES))


def total_table_sizes_on(conn: Connection) -> tuple[RelationSize, ...]:
    """Each table's size with its indexes and TOAST (pg_total_relation_size)."""
    return tuple(
        RelationSize(r["schema"], r["name"], int(r["size_bytes"])) for r in _rows(conn, TOTAL_TABLE_SIZES)
    )


def index_sizes_on(conn: Connection) -> tuple[IndexSize, ...]:
    return tuple(
        IndexSize(r["schema"], r["table"], r["name"], int(r["size_bytes"])) for r in _rows(conn, INDEX_SIZES)
    )


def total_index_size_on(conn: Connection) -> tuple[TotalSize, ...]:
    """The size of every index of the user schemas, in one row."""
    return (TotalSize(sum(i.size_bytes for i in index_sizes_on(conn))),)


# --------------------------------------------------------------------------- table statistics


@dataclass(frozen=True)
class RecordCount:
    schema: str
    table: str
    estimated_rows: int  # n_live_tup: counted by the statistics, not by reading the table


RECORD_COUNTS = """
SELECT schemaname AS schema, relname AS "table", n_live_tup AS estimated_rows
  FROM pg_stat_user_tables
 ORDER BY n_live_tup DESC, schemaname, relname
"""


def table_record_counts_on(conn: Connection) -> tuple[RecordCount, ...]:
    return tuple(RecordCount(r["schema"], r["table"], int(r["estimated_rows"])) for r in _rows(conn, RECORD_COUNTS))


@dataclass(frozen=True)
class SeqScans:
    schema: str
    table: str
    seq_scans: int
    rows_read: int  # seq_tup_read
    index_scans: int


SEQ_SCANS = """
SELECT schemaname AS schema, relname AS "table", seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan
  FROM pg_stat_user_tables
 ORDER BY seq_scan DESC, seq_tup_read DESC, schemaname, relname
"""


def seq_scans_on(conn: Connection) -> tuple[SeqScans, ...]:
    return tuple(
        SeqScans(r["schema"], r["table"], int(r["seq_scan"]), int(r["seq_tup_read"]), int(r["idx_scan"]))
        for r in _rows(conn, SEQ_SCANS)
    )


@dataclass(frozen=True)
class VacuumStats:
    schema: str
    table: str
    last_vacuum: dt.datetime | None
    last_autovacuum: dt.datetime | None
    last_analyze: dt.datetime | None
    last_autoanalyze: dt.datetime | None
    estimated_rows: int  # pg_class.reltuples (-1 before the first VACUUM or ANALYZE: 0 here)
    dead_rows: int  # n_dead_tup
    autovacuum_threshold: int  # threshold + scale factor * reltuples, the table's own settings first
    expect_autovacuum: bool  # dead rows above the threshold: autovacuum will visit soon


# autovacuum_vacuum_threshold and _scale_factor come from the table's reloptions when set
# there, else from the server's settings (as autovacuum.c reads them).
VACUUM_STATS = """
WITH t AS (
  SELECT s.schemaname, s.relname, s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
         greatest(c.reltuples, 0)::bigint AS reltuples, s.n_dead_tup,
         coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                    WHERE option_name = 'autovacuum_vacuum_threshold')::bigint,
                  current_setting('autovacuum_vacuum_threshold')::bigint) AS threshold,
         coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                    WHERE option_name = 'autovacuum_vacuum_scale_factor')::float8,
                  current_setting('autovacuum_vacuum_scale_factor')::float8) AS scale_factor
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
)
SELECT schemaname AS schema, relname AS "table", last_vacuum, last_autovacuum, last_analyze, last_autoanalyze,
       reltuples, n_dead_tup, (threshold + scale_factor * reltuples)::bigint AS autovacuum_threshold
  FROM t
 ORDER BY n_dead_tup DESC, schemaname, relname
"""


def vacuum_stats_on(conn: Connection) -> tuple[VacuumStats, ...]:
    return tuple(
        VacuumStats(
            r["schema"],
            r["table"],
            r["last_vacuum"],
            r["last_autovacuum"],
            r["last_analyze"],
            r["last_autoanalyze"],
            int(r["reltuples"]),
            int(r["n_dead_tup"]),
            int(r["autovacuum_threshold"]),
            int(r["n_dead_tup"]) > int(r["autovacuum_threshold"]),
        )
        for r in _rows(conn, VACUUM_STATS)
    )


# --------------------------------------------------------------------------- activity


@dataclass(frozen=True)
class LongRunningQuery:
    pid: int
    user: str | None
    state: str | None
    duration_seconds: float  # since the query began
    query: str


LONG_RUNNING = f"""
SELECT pid, usename AS "user", state,
       extract(epoch FROM clock_timestamp() - query_start)::float8 AS duration_seconds,
       left(query, {inspect.QUERY_WIDTH}) AS query
  FROM pg_stat_activity
 WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'
   AND state IS DISTINCT FROM 'idle' AND query_start IS NOT NULL
   AND clock_timestamp() - query_start >= make_interval(secs => %s)
 ORDER BY duration_seconds DESC, pid
"""

# pg-extras and Supabase list queries running for more than five minutes.
LONG_RUNNING_SECONDS = 300.0


def long_running_queries_on(conn: Connection, min_seconds: float = LONG_RUNNING_SECONDS) -> tuple[LongRunningQuery, ...]:
    """Queries of other sessions (every database of the server) running at least
    `min_seconds`, the longest first."""
    return tuple(
        LongRunningQuery(int(r["pid"]), r["user"], r["state"], float(r["duration_seconds"]), r["query"] or "")
        for r in _rows(conn, LONG_RUNNING, (min_seconds,))
    )


@dataclass(frozen=True)
class Blocking:
    blocked_pid: int
    blocked_query: str
    blocked_seconds: float  # since the blocked query began
    blocking_pid: int
    blocking_query: str
    blocking_state: str | None
    blocking_seconds: float | None  # since the blocking session's transaction began


BLOCKING = f"""
SELECT a.pid AS blocked_pid, left(a.query, {inspect.QUERY_WIDTH}) AS blocked_query,
       extract(epoch FROM clock_timestamp() - a.query_start)::float8 AS blocked_seconds,
       b.pid AS blocking_pid, left(b.query, {inspect.QUERY_WIDTH}) AS blocking_query, b.state AS blocking_state,
       extract(epoch FROM clock_timestamp() - b.xact_start)::float8 AS blocking_seconds
  FROM pg_stat_activity a
  CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS blocker(pid)
  JOIN pg_stat_activity b ON b.pid = blocker.pid
 WHERE a.pid <> pg_backend_pid()
 ORDER BY blocked_seconds DESC, a.pid, b.pid
"""


def blocking_on(conn: Connection) -> tuple[Blocking, ...]:
    """One row per (blocked pid, pid it waits for), as pg_blocking_pids says."""
    return tuple(
        Blocking(
            int(r["blocked_pid"]),
            r["blocked_query"] or "",
            float(r["blocked_seconds"] or 0),
            int(r["blocking_pid"]),
            r["blocking_query"] or "",
            r["blocking_state"],
            _float(r["blocking_seconds"]),
        )
        for r in _rows(conn, BLOCKING)
    )


@dataclass(frozen=True)
class RoleConnections:
    role: str
    connections: int  # sessions of the role in pg_stat_activity, every database
    connection_limit: int  # rolconnlimit, or max_connections when the role has none


ROLE_CONNECTIONS = """
SELECT r.rolname AS role, count(a.pid) AS connections,
       CASE WHEN r.rolconnlimit = -1 THEN current_setting('max_connections')::int ELSE r.rolconnlimit END
         AS connection_limit
  FROM pg_roles r LEFT JOIN pg_stat_activity a ON a.usesysid = r.oid
 WHERE r.rolcanlogin
 GROUP BY r.rolname, r.rolconnlimit
 ORDER BY connections DESC, role
"""


def role_connections_on(conn: Connection) -> tuple[RoleConnections, ...]:
    return tuple(
        RoleConnections(r["role"], int(r["connections"]), int(r["connection_limit"]))
        for r in _rows(conn, ROLE_CONNECTIONS)
    )


@dataclass(frozen=True)
class ReplicationSlot:
    slot: str
    slot_type: str  # physical or logical
    database: str | None  # logical slots only
    active: bool
    active_pid: int | None
    wal_status: str | None
    retained_wal_bytes: int | None  # WAL kept for the slot: current LSN - restart_lsn


REPLICATION_SLOTS = """
SELECT slot_name, slot_type, database, active, active_pid, wal_status,
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
                       restart_lsn)::bigint AS retained_wal_bytes
  FROM pg_replication_slots
 ORDER BY retained_wal_bytes DESC NULLS LAST, slot_name
"""


def replication_slots_on(conn: Connection) -> tuple[ReplicationSlot, ...]:
    return tuple(
        ReplicationSlot(
            r["slot_name"],
            r["slot_type"],
            r["database"],
            bool(r["active"]),
            r["active_pid"],
            r["wal_status"],
            None if r["retained_wal_bytes"] is None else int(r["retained_wal_bytes"]),
        )
        for r in _rows(conn, REPLICATION_SLOTS)
    )


# --------------------------------------------------------------------------- the report table


@dataclass(frozen=True)
class Report:
    name: str  # the command: `nself db inspect NAME`
    summary: str  # one line for --help
    rows: Callable[[Connection], Sequence[Any]]  # dataclass rows


def _locks_rows(conn: Connection) -> Sequence[Any]:
    return inspect.locks_on(conn)


def _cache_hit_rows(conn: Connection) -> Sequence[Any]:
    return inspect.cache_hit_on(conn, 1_000_000).tables


def _unused_rows(conn: Connection) -> Sequence[Any]:
    return inspect.unused_indexes_on(conn).indexes


def _bloat_rows(conn: Connection) -> Sequence[Any]:
    return inspect.bloat_on(conn)


def _statements(order: str) -> Callable[[Connection], Sequence[Any]]:
    def rows(conn: Connection) -> Sequence[Any]:
        return inspect.slow_queries_on(conn, order, 1000).queries

    return rows


REPORTS: dict[str, Report] = {
    r.name: r
    for r in (
        Report("table-sizes", "Size of each table without its indexes, largest first.", table_sizes_on),
        Report("total-table-size", "Size of each table with its indexes and TOAST, largest first.", total_table_sizes_on),
        Report("index-sizes", "Size of each index, largest first.", index_sizes_on),
        Report("total-index-size", "Size of every index together.", total_index_size_on),
        Report("table-record-counts", "Estimated rows of each table (pg_stat_user_tables.n_live_tup).", table_record_counts_on),
        Report("seq-scans", "Sequential scans per table, most first.", seq_scans_on),
        Report("vacuum-stats", "Dead rows, autovacuum threshold and last (auto)vacuum/analyze per table.", vacuum_stats_on),
        Report("long-running-queries", "Queries running for more than five minutes, longest first.", long_running_queries_on),
        Report("blocking", "Sessions waiting for a lock, with the session holding it.", blocking_on),
        Report("role-connections", "Connections per role, with each role's limit.", role_connections_on),
        Report("replication-slots", "Replication slots, with the WAL each one retains.", replication_slots_on),
        Report("locks", "Locks held or awaited by other sessions.", _locks_rows),
        Report("cache-hit", "Tables by buffer cache hit ratio, worst first.", _cache_hit_rows),
        Report("unused-indexes", "Indexes never scanned.", _unused_rows),
        Report("bloat", "Estimated bloat of tables and btree indexes.", _bloat_rows),
        Report("outliers", "Statements by total execution time (pg_stat_statements).", _statements("total")),
        Report("calls", "Statements by number of calls (pg_stat_statements).", _statements("calls")),
        Report("slow-queries", "Statements by mean execution time (pg_stat_statements).", _statements("mean")),
    )
}


def report(name: str, url: str, **options: Any) -> tuple[Any, ...]:
    """The rows of report `name` (a key of REPORTS) of the database at `url`."""
    if name not in REPORTS:
        raise OptionError(f"{name!r} is not a report: {', '.join(REPORTS)}")
    with _connection(url) as conn:
        return tuple(REPORTS[name].rows(conn, **options))


# --------------------------------------------------------------------------- inspect report


REPORT_FORMATS = ("csv", "json")


@dataclass(frozen=True)
class WrittenReport:
    report: str
    path: str
    rows: int


def row_dict(row: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(row) and not isinstance(row, type):
        return dataclasses.asdict(row)
    return dict(row)


def _csv_value(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return " ".join(str(v) for v in value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def write_reports(url: str, directory: Path, fmt: str = "csv") -> tuple[WrittenReport, ...]:
    """Every report of REPORTS into `directory` (created), one `<report>.csv` or `.json`
    file each, all read over one connection. Statement reports are written empty when
    pg_stat_statements is not available."""
    if fmt not in REPORT_FORMATS:
        raise OptionError(f"--format: {fmt!r} is not one of {', '.join(REPORT_FORMATS)}")
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    with _connection(url) as conn:
        for name, spec in REPORTS.items():
            rows = [row_dict(r) for r in spec.rows(conn)]
            path = directory / f"{name}.{fmt}"
            if fmt == "json":
                path.write_text(json.dumps(rows, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
            else:
                path.write_text(_csv_text(spec, rows), encoding="utf-8")
            written.append(WrittenReport(name, str(path), len(rows)))
    return tuple(written)


def _csv_text(spec: Report, rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    header = list(rows[0]) if rows else _header(spec)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(row[k]) for k in header])
    return out.getvalue()


_ROW_TYPES: dict[str, type[Any]] = {
    "table-sizes": RelationSize,
    "total-table-size": RelationSize,
    "index-sizes": IndexSize,
    "total-index-size": TotalSize,
    "table-record-counts": RecordCount,
    "seq-scans": SeqScans,
    "vacuum-stats": VacuumStats,
    "long-running-queries": LongRunningQuery,
    "blocking": Blocking,
    "role-connections": RoleConnections,
    "replication-slots": ReplicationSlot,
    "locks": inspect.Lock,
    "cache-hit": inspect.TableCacheHit,
    "unused-indexes": inspect.UnusedIndex,
    "bloat": inspect.Bloat,
    "outliers": inspect.SlowQuery,
    "calls": inspect.SlowQuery,
    "slow-queries": inspect.SlowQuery,
}


def _header(spec: Report) -> list[str]:
    """The columns of a report without rows (a CSV file still says what it would hold)."""
    return [f.name for f in dataclasses.fields(_ROW_TYPES[spec.name])]
