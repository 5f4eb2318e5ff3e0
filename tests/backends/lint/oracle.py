"""What PostgreSQL itself says each lint rule should find: one pg_catalog query per rule,
written from the catalog's own columns (pg_index.indkey, pg_constraint.conkey,
quote_ident, ...) rather than from the IR, so it checks the rules and the IR together.

Each query returns (schema, name) rows in the form the rule's findings name objects:
`table`, `table.column`, `table.constraint`, `index`, `function(argument types)`. Objects
of extensions and partitions are left out, as the IR and the rules leave them out."""

from __future__ import annotations

import psycopg

# A relation `c` in namespace `n` that the IR holds: a user schema, not an extension's.
USER_RELATION = """
    n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""

ORACLES: dict[str, str] = {
    "no-primary-key": f"""
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {USER_RELATION}
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p')
    """,
    # An FK is covered when the first len(conkey) key columns of a full (not partial) index
    # are its columns, in any order.
    "fk-without-index": f"""
        SELECT n.nspname, c.relname || '.' || k.conname
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE k.contype = 'f' AND k.conparentid = 0 AND {USER_RELATION}
          AND NOT EXISTS (
            SELECT 1 FROM pg_index i
            WHERE i.indrelid = c.oid AND i.indpred IS NULL AND i.indnkeyatts >= cardinality(k.conkey)
              AND (SELECT array_agg(x ORDER BY x) FROM unnest((i.indkey::int2[])[0:cardinality(k.conkey) - 1]) x)
                = (SELECT array_agg(x ORDER BY x) FROM unnest(k.conkey) x))
    """,
    # Indexes equal in every pg_index column that shapes lookups; of each group, all but the
    # one kept (a copy of a parent's index on a partition first, then a constraint's, then
    # unique ones, then by name) are reported; copies are reported on their parent.
    "duplicate-index": f"""
        WITH idx AS (
          SELECT n.nspname, c.relname, ic.relname AS iname, k.conname, k.contype, i.indisunique,
                 ic.relispartition AS copy,
                 (i.indkey::text, i.indnkeyatts, i.indclass::text, i.indcollation::text, i.indoption::text,
                  pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid), ic.relam)::text
                   AS signature
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_constraint k
            ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')
          WHERE {USER_RELATION}
        ), ranked AS (
          SELECT *, row_number() OVER (
            PARTITION BY nspname, relname, signature
            ORDER BY NOT copy, CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2
                     ELSE CASE WHEN indisunique THEN 3 ELSE 4 END END,
                     coalesce(conname, iname) COLLATE "C") AS rank
          FROM idx)
        SELECT nspname, CASE WHEN conname IS NULL THEN iname ELSE relname || '.' || conname END
        FROM ranked WHERE rank > 1 AND NOT copy
    """,
    # A plain btree index whose keys (each as pg_get_indexdef prints it, with its operator
    # class, collation and sort options) begin a longer btree index's keys, under the same
    # predicate, the longer index holding its INCLUDE columns too.
    # A foreign key declared on a partition (not copied from a parent: conparentid = 0)
    # that none of the tables it is a partition of declares (same columns, same target).
    "fk-on-partition": f"""
        SELECT n.nspname, c.relname || '.' || k.conname
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE k.contype = 'f' AND k.conparentid = 0 AND c.relispartition AND {USER_RELATION}
          AND NOT EXISTS (
            SELECT 1 FROM pg_partition_ancestors(c.oid) a JOIN pg_constraint p ON p.conrelid = a.relid
            WHERE a.relid <> c.oid AND p.contype = 'f' AND p.confrelid = k.confrelid AND p.confkey = k.confkey
              AND ARRAY(SELECT attname FROM unnest(p.conkey) WITH ORDINALITY u(n, o)
                        JOIN pg_attribute ON attrelid = p.conrelid AND attnum = u.n ORDER BY o)
                = ARRAY(SELECT attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
                        JOIN pg_attribute ON attrelid = k.conrelid AND attnum = u.n ORDER BY o))
    """,
    "redundant-index": f"""
        WITH idx AS (
          SELECT n.nspname, ic.relname AS iname, i.indrelid, i.indexrelid, i.indisunique, i.indnkeyatts,
                 i.indkey::int2[] AS columns, pg_get_expr(i.indpred, i.indrelid) AS predicate,
                 ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, false) || ' ' || (i.indclass::oid[])[k - 1]
                              || ' ' || (i.indcollation::oid[])[k - 1] || ' ' || (i.indoption::int2[])[k - 1]
                       FROM generate_series(1, i.indnkeyatts) k ORDER BY k) AS keys,
                 EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                         AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) AS backs_constraint
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = ic.relam
          WHERE am.amname = 'btree' AND NOT c.relispartition AND {USER_RELATION})
        SELECT DISTINCT a.nspname, a.iname FROM idx a JOIN idx b ON b.indrelid = a.indrelid
        WHERE NOT a.indisunique AND NOT a.backs_constraint AND b.indnkeyatts > a.indnkeyatts
          AND b.keys[1:a.indnkeyatts] = a.keys AND a.predicate IS NOT DISTINCT FROM b.predicate
          AND a.columns[a.indnkeyatts:] <@ b.columns
    """,
    "timestamp-without-time-zone": f"""
        SELECT n.nspname, c.relname || '.' || a.attname
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attislocal AND a.atttypid IN ('timestamp'::regtype, '_timestamp'::regtype) AND {USER_RELATION}
    """,
    "varchar-length": f"""
        SELECT n.nspname, c.relname || '.' || a.attname
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attislocal AND a.atttypmod >= 0 AND {USER_RELATION}
          AND a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype, '_varchar'::regtype, '_bpchar'::regtype)
    """,
    "nullable-unique-column": f"""
        SELECT n.nspname, c.relname || '.' || k.conname
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_index i ON i.indexrelid = k.conindid
        WHERE k.contype = 'u' AND k.conparentid = 0 AND NOT c.relispartition AND NOT i.indnullsnotdistinct
          AND {USER_RELATION}
          AND EXISTS (SELECT 1 FROM pg_attribute a
                      WHERE a.attrelid = c.oid AND a.attnum = ANY (k.conkey) AND NOT a.attnotnull)
    """,
    # serial: a column default calling nextval whose sequence is owned by (auto-dependent on)
    # that very column.
    "serial-column": f"""
        SELECT n.nspname, c.relname || '.' || a.attname
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
          AND {USER_RELATION} AND pg_get_expr(ad.adbin, ad.adrelid) LIKE 'nextval(%'
          AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
                      WHERE d.classid = 'pg_class'::regclass AND d.refobjid = c.oid
                        AND d.refobjsubid = a.attnum AND d.deptype = 'a')
    """,
    "rls-without-policy": f"""
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND {USER_RELATION}
          AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
    """,
    "policy-without-rls": f"""
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND {USER_RELATION}
          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)
    """,
    # oidvectortypes prints the IN argument types as the IR's identity arguments do (the
    # session's search_path is pg_catalog, as the IR's canonical forms assume).
    "security-definer-search-path": """
        SELECT n.nspname, p.proname || '(' || oidvectortypes(p.proargtypes) || ')'
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
          AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search\\_path=%')
    """,
    "enum-without-labels": """
        SELECT n.nspname, t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype = 'e' AND NOT EXISTS (SELECT 1 FROM pg_enum e WHERE e.enumtypid = t.oid)
          AND NOT EXISTS (SELECT 1 FROM pg_depend d
                          WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    """,
}

# quote_ident() quotes exactly the names that reserved-word-name and quoted-identifier
# report between them, for tables, views and table columns.
NEEDS_QUOTES = f"""
    SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {USER_RELATION} AND quote_ident(c.relname) <> c.relname
    UNION ALL
    SELECT n.nspname, c.relname || '.' || a.attname
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attislocal AND {USER_RELATION} AND quote_ident(a.attname) <> a.attname
"""

# Each (table, command, the permissive policies that apply) seen by at least one role, for
# groups of two or more; `public` policies apply to every role.
PERMISSIVE_POLICY_GROUPS = """
    WITH p AS (
      SELECT schemaname, tablename, policyname, roles, command
      FROM pg_policies,
           unnest(CASE cmd WHEN 'ALL' THEN ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] ELSE ARRAY[cmd] END)
             AS command
      WHERE permissive = 'PERMISSIVE'
    ), r AS (
      SELECT DISTINCT schemaname, tablename, unnest(roles || '{public}'::name[]) AS role FROM p
    ), applying AS (
      SELECT r.schemaname, r.tablename, p.command, r.role,
             string_agg(p.policyname, ', ' ORDER BY p.policyname COLLATE "C") AS policies, count(*) AS n
      FROM r JOIN p USING (schemaname, tablename)
      WHERE r.role = ANY (p.roles) OR 'public' = ANY (p.roles)
      GROUP BY 1, 2, 3, 4)
    SELECT DISTINCT schemaname, tablename, command, policies FROM applying WHERE n > 1
"""


def query_rows(url: str, *queries: str) -> list[set[tuple[str, ...]]]:
    """The rows of each query, over one connection."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET search_path = pg_catalog")
        return [{tuple(row) for row in conn.execute(sql).fetchall()} for sql in queries]
