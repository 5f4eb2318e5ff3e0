"""`nself schema docs`: the docs backend's page, with each table's row count and size when
the schema is read from a live database (docs/schema-docs.md).

Row counts: a table whose heap (every partition's, for a partitioned table) is at most
EXACT_COUNT_BYTES is counted exactly with `count(*)` (a scan of a few megabytes takes
milliseconds); a bigger one (or one the user may not read) shows PostgreSQL's estimate,
`pg_class.reltuples` (summed over the leaf partitions), as of its last VACUUM or ANALYZE,
marked as an estimate; never analyzed, it shows none rather than a guess. Sizes: `pg_total_relation_size`, the heap
with its indexes and TOAST, summed over the partition tree for a partitioned table."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from nself.backends import docs as docs_backend
from nself.backends.docs.document import TableStatistics
from nself.connection import connect
from nself.ir import Catalog

EXACT_COUNT_BYTES = 8 * 1024 * 1024

# Tables (plain, partitioned, partitions) of the user's schemas: the sums run over the
# table's partition tree (the table alone when it has none).
STATISTICS_SQL = """
SELECT n.nspname, c.relname,
       sum(pg_total_relation_size(t.relid))::bigint AS total_bytes,
       sum(pg_relation_size(t.relid))::bigint AS heap_bytes,
       sum(greatest(k.reltuples, 0)) FILTER (WHERE t.isleaf)::bigint AS estimate,
       bool_or(k.reltuples < 0) FILTER (WHERE t.isleaf) AS never_analyzed,
       bool_and(has_table_privilege(k.oid, 'SELECT')) AS countable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
  SELECT relid, isleaf FROM pg_partition_tree(c.oid)
  UNION ALL  -- a table in no partition tree, which pg_partition_tree leaves out
  SELECT c.oid, true WHERE c.relkind = 'r' AND NOT c.relispartition
) t
JOIN pg_class k ON k.oid = t.relid
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
GROUP BY n.nspname, c.relname
"""


def read_table_statistics(
    url: str, *, exact_count_bytes: int = EXACT_COUNT_BYTES
) -> dict[tuple[str, str], TableStatistics]:
    """Each table's rows and size in the database at `url` (see the module's docstring)."""
    found: dict[tuple[str, str], TableStatistics] = {}
    with connect(url, autocommit=True) as conn:
        # a consistent picture: one snapshot for the sizes and every count
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for schema, name, total_bytes, heap_bytes, estimate, never_analyzed, countable in conn.execute(
            STATISTICS_SQL
        ).fetchall():
            if countable and heap_bytes <= exact_count_bytes:
                query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))
                row = conn.execute(query).fetchone()
                rows: int | None = int(row[0]) if row else 0
                exact = True
            else:
                rows, exact = (None if never_analyzed else int(estimate or 0)), False
            found[(schema, name)] = TableStatistics(rows, exact, int(total_bytes))
        conn.execute("COMMIT")
    return found


def document_schema(
    catalog: Catalog, format_name: str, schemas: Sequence[str] = (), *, url: str | None = None
) -> dict[str, str]:
    """The docs backend's file for `catalog`; with `url` (the live database it was read
    from), each table's row count and size on its page."""
    statistics = read_table_statistics(url) if url is not None else None
    return docs_backend.render(
        catalog, {"format": format_name, "schemas": tuple(schemas), "statistics": statistics}
    )
