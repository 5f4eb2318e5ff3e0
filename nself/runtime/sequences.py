"""Which sequences fill which columns, as the catalog records it.

A column draws from a sequence when its default names it (`nextval('...')`: pg_depend
ties the default to the sequence) or when the column owns it (serial, identity). A schema
restored from pg_dump has the first kind without the second: `pg_get_serial_sequence` and
`TRUNCATE ... RESTART IDENTITY` see only owned sequences, so whatever restarts or advances
sequences after rows change (mock generate, data import) asks here instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# Every (sequence, column) pair in the database: by a column default, or by ownership.
SEQUENCE_USES_SQL = """
WITH used(seq, rel, col) AS (
    SELECT d.refobjid, ad.adrelid, ad.adnum
    FROM pg_attrdef ad
    JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                    AND d.refclassid = 'pg_class'::regclass
  UNION
    SELECT d.objid, d.refobjid, d.refobjsubid
    FROM pg_depend d
    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
      AND d.deptype IN ('a', 'i') AND d.refobjsubid > 0
)
SELECT sn.nspname, s.relname, q.seqincrement > 0,
       t.oid, tn.nspname, t.relname, a.attname,
       a.atttypid IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype, 'numeric'::regtype)
FROM used u
JOIN pg_class s ON s.oid = u.seq AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_sequence q ON q.seqrelid = s.oid
JOIN pg_class t ON t.oid = u.rel
JOIN pg_namespace tn ON tn.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = u.rel AND a.attnum = u.col AND NOT a.attisdropped
ORDER BY 1, 2, 5, 6, 7
"""


@dataclass(frozen=True)
class SequenceUse:
    """One column that draws from one sequence."""

    sequence: tuple[str, str]  # (schema, name)
    ascending: bool
    relation: int  # the table's oid (a partition has its own copy of the parent's default)
    table: tuple[str, str]  # (schema, name)
    column: str
    integer: bool  # smallint, integer, bigint or numeric: max() of it can go to setval


def sequence_uses(conn: psycopg.Connection[Any]) -> list[SequenceUse]:
    return [
        SequenceUse((str(r[0]), str(r[1])), bool(r[2]), int(r[3]), (str(r[4]), str(r[5])), str(r[6]), bool(r[7]))
        for r in conn.execute(SEQUENCE_USES_SQL).fetchall()
    ]


def by_sequence(uses: list[SequenceUse]) -> dict[tuple[str, str], list[SequenceUse]]:
    grouped: dict[tuple[str, str], list[SequenceUse]] = {}
    for use in uses:
        grouped.setdefault(use.sequence, []).append(use)
    return grouped
