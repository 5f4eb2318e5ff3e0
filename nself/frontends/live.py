"""The live frontend: read a running PostgreSQL's catalog into the IR.

One set-based query per object kind (never one per table), all in one read-only
REPEATABLE READ transaction so they see one snapshot. The session runs with
`search_path = pg_catalog` and `TimeZone = UTC`, so every text PostgreSQL deparses for us
(format_type, pg_get_expr, pg_get_viewdef, ...) is already in the IR's canonical form:
built-in names bare, user objects schema-qualified.

Rules of what is listed (shared with the other frontends, see nself/ir/model.py):
- system schemas (pg_*, information_schema) and objects that belong to an extension
  (pg_depend deptype 'e') are left out, and so is the extension plpgsql;
- what PostgreSQL derives rather than the user declares is left out: identity sequences
  (they are Column.identity), indexes backing PK/UNIQUE/EXCLUDE constraints, constraints,
  indexes and triggers cloned onto partitions, CHECKs a child only inherits; columns,
  however, are listed whole (inherited ones included) since every consumer needs them,
  those an inheritance child only inherits (attislocal false) marked Column.inherited;
- collations made by CREATE COLLATION are listed (pg_catalog's own are not), and so are
  operators made by CREATE OPERATOR (not shells: a commutator or negator never completed);
- what a LANGUAGE sql body written as a string uses (Function.body_depends_on: PostgreSQL
  records none of it) is analysed as the sql frontend analyses it (sql_bodies).
- privileges are the ACL entries beyond PostgreSQL's defaults, without the owner's own.

A view (or materialized view) column is NOT NULL exactly when (a) nowhere in the view's
query, subqueries and CTEs included, is there an outer join (LEFT/RIGHT/FULL), a set
operation (UNION/INTERSECT/EXCEPT) or grouping sets (ROLLUP/CUBE/GROUPING SETS), and
(b) the column's top-level target is a bare column reference (no cast, no expression)
whose origin, traced through subqueries/CTEs/join aliases in FROM as PostgreSQL does for
RowDescription (resorigtbl/resorigcol), is a NOT NULL column of a table in a user schema,
or a NOT NULL column of another view by this same rule. See `view_column_origins`.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from operator import itemgetter
from typing import Any, Literal, cast

import psycopg
from psycopg.rows import dict_row, tuple_row

from nself.connection import connect as connect_to
from nself.connection import mask_url, scrub
from nself.errors import ConnectionFailed, NselfError
from nself.ir import model as m
from nself.ir.builder import CatalogBuilder
from nself.ir.identity import identity_of
from nself.ir.model import Catalog
from nself.ir.trusted import trusted

Row = dict[str, Any]

# The IR's nodes are built from the catalog's rows with its trusted constructors (the same
# objects, without the frozen dataclasses' per-field object.__setattr__: nself.ir.trusted).
_CheckConstraint = trusted(m.CheckConstraint)
_Collation = trusted(m.Collation)
_Column = trusted(m.Column)
_CompositeAttribute = trusted(m.CompositeAttribute)
_CompositeType = trusted(m.CompositeType)
_Dependency = trusted(m.Dependency)
_Domain = trusted(m.Domain)
_Enum = trusted(m.Enum)
_ExclusionConstraint = trusted(m.ExclusionConstraint)
_ExclusionElement = trusted(m.ExclusionElement)
_Extension = trusted(m.Extension)
_ForeignKey = trusted(m.ForeignKey)
_Function = trusted(m.Function)
_FunctionArgument = trusted(m.FunctionArgument)
_Identity = trusted(m.Identity)
_Index = trusted(m.Index)
_IndexKey = trusted(m.IndexKey)
_PartitionOf = trusted(m.PartitionOf)
_PartitionSpec = trusted(m.PartitionSpec)
_Policy = trusted(m.Policy)
_PrimaryKey = trusted(m.PrimaryKey)
_Privilege = trusted(m.Privilege)
_Publication = trusted(m.Publication)
_PublicationTable = trusted(m.PublicationTable)
_RangeType = trusted(m.RangeType)
_Schema = trusted(m.Schema)
_Sequence = trusted(m.Sequence)
_Table = trusted(m.Table)
_Trigger = trusted(m.Trigger)
_UniqueConstraint = trusted(m.UniqueConstraint)
_View = trusted(m.View)
_ViewColumn = trusted(m.ViewColumn)
Connection = psycopg.Connection[Row]

# --------------------------------------------------------------------------- SQL pieces

# Schemas left out: PostgreSQL's own (pg_catalog, pg_toast*, pg_temp_*, information_schema;
# users cannot create schemas named pg_*) and nself's bookkeeping (`_nself`: migration and
# seed history), which is no part of the user's schema.
_USER_SCHEMA = r"(n.nspname NOT LIKE 'pg\_%' AND n.nspname NOT IN ('information_schema', '_nself'))"


# A pg_depend row of Q_VIEW_DEPENDENCIES and Q_DEPENDENCIES, read as a tuple (psycopg's
# tuple rows: no dict built per row, and these are the most numerous rows): what is used,
# in these columns first, then the dependent object.
DependRow = tuple[Any, ...]
_KIND, _REFOBJID, _REFOBJSUBID, _SCHEMA, _NAME, _COLUMN = range(6)


def _dependencies(rows: Iterable[DependRow]) -> tuple[m.Dependency, ...]:
    """Rows of pg_depend (Q_VIEW_DEPENDENCIES, Q_DEPENDENCIES) as the IR records them."""
    # as tuples first (cheaper to hash and sort than the dataclass, whose order is the same:
    # a column's kind is "column" and only its column is not None)
    out: set[tuple[Any, str, str, str | None]] = set()
    for r in rows:
        kind = r[_KIND]
        if kind in ("function", "type", "operator", "collation"):
            out.add((kind, r[_SCHEMA], r[_NAME], None))
        elif r[_REFOBJSUBID] > 0:
            if r[_COLUMN] is not None:
                out.add(("column", r[_SCHEMA], r[_NAME], r[_COLUMN]))
        else:
            out.add(("relation", r[_SCHEMA], r[_NAME], None))
    return tuple(_Dependency(*key) for key in sorted(out))


def _not_extension_member(catalog: str, oid: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{catalog}'::regclass"
        f" AND x.objid = {oid} AND x.deptype = 'e')"
    )


def _comment(catalog: str, oid: str, subid: str = "0") -> str:
    # A scalar subquery (an index lookup per row) rather than a join: catalogs often lack
    # planner statistics, and a misestimated join here costs more than everything else.
    return (
        f"(SELECT description FROM pg_description WHERE objoid = {oid}"
        f" AND classoid = '{catalog}'::regclass AND objsubid = {subid})"
    )


# The comments on relations, their columns and constraints, read once (_Reader.comment): the
# queries of those catalogs return thousands of rows on a schema of many tables, and a
# lookup per row cost the server more than this one read of what is described.
Q_COMMENTS = """
SELECT classoid::regclass::text AS catalog, objoid, objsubid, description
FROM pg_description
WHERE classoid IN ('pg_class'::regclass, 'pg_constraint'::regclass)
"""


# A collation or operator class as pg_get_indexdef names it with search_path=pg_catalog.
def _qualified(nsp: str, name: str) -> str:
    return (
        f"CASE WHEN {nsp} = 'pg_catalog' THEN quote_ident({name})"
        f" ELSE quote_ident({nsp}) || '.' || quote_ident({name}) END"
    )


Q_SCHEMAS = f"""
SELECT n.nspname AS name, {_comment("pg_namespace", "n.oid")} AS comment
FROM pg_namespace n
WHERE {_USER_SCHEMA} AND {_not_extension_member("pg_namespace", "n.oid")}
"""

Q_EXTENSIONS = f"""
SELECT e.extname AS name, n.nspname AS schema, e.extversion AS version, {_comment("pg_extension", "e.oid")} AS comment,
       ARRAY(SELECT c.oid::regclass::text FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
             WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
               AND d.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p')
             ORDER BY 1) AS tables
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
"""

# Collations made by CREATE COLLATION. The whole row as JSON: the locale column is
# colliculocale in PostgreSQL 15 and 16, colllocale from 17, and absent before 15 (an ICU
# locale was in collcollate then), so Python picks what the server has.
Q_COLLATIONS = f"""
SELECT n.nspname AS schema, to_jsonb(coll) AS row, {_comment("pg_collation", "coll.oid")} AS comment
FROM pg_collation coll
JOIN pg_namespace n ON n.oid = coll.collnamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member("pg_collation", "coll.oid")}
"""

# Enums, domains, ranges and free-standing composite types in one pass over pg_type.
Q_TYPES = f"""
SELECT t.oid, t.typtype, n.nspname AS schema, t.typname AS name, t.typrelid,
       CASE WHEN t.typtype = 'e' THEN ARRAY(
           SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
       END AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       t.typnotnull AS not_null,
       CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END AS "default",
       CASE WHEN t.typtype = 'd' AND t.typcollation <> 0 AND t.typcollation <> bt.typcollation
            THEN t.typcollation::regcollation::text END AS collation,
       CASE WHEN t.typtype = 'r' THEN format_type(r.rngsubtype, NULL) END AS subtype,
       {_comment("pg_type", "t.oid")} AS comment
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_range r ON r.rngtypid = t.oid
LEFT JOIN pg_class c ON c.oid = t.typrelid
WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND c.relkind = 'c'))
  AND {_USER_SCHEMA} AND {_not_extension_member("pg_type", "t.oid")}
"""

Q_DOMAIN_CHECKS = f"""
SELECT con.oid, con.contypid, con.conname AS name, pg_get_expr(con.conbin, 0) AS expression,
       con.convalidated AS validated, {_comment("pg_constraint", "con.oid")} AS comment
FROM pg_constraint con
JOIN pg_type t ON t.oid = con.contypid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE con.contypid <> 0 AND con.contype = 'c' AND {_USER_SCHEMA}
"""

Q_SEQUENCES = f"""
SELECT c.oid, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS data_type,
       dep.deptype, dep.refobjid, dep.refobjsubid,
       s.seqstart AS start, s.seqincrement AS increment, s.seqmin AS min_value,
       s.seqmax AS max_value, s.seqcache AS cache, s.seqcycle AS cycle,
       oc.relname AS owner_table, oc.relnamespace = c.relnamespace AS owner_in_schema,
       oa.attname AS owner_column
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_depend dep ON dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
     AND dep.refclassid = 'pg_class'::regclass AND dep.refobjsubid > 0 AND dep.deptype IN ('a', 'i')
LEFT JOIN pg_class oc ON oc.oid = dep.refobjid
LEFT JOIN pg_attribute oa ON oa.attrelid = dep.refobjid AND oa.attnum = dep.refobjsubid
WHERE {_USER_SCHEMA} AND {_not_extension_member("pg_class", "c.oid")}
"""

# Tables and views (and composite types' row relations, for their attributes).
Q_RELATIONS = f"""
SELECT c.oid, c.relkind, n.nspname AS schema, c.relname AS name,
       c.relpersistence = 'u' AS unlogged, c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced, c.reloptions AS options,
       c.relispartition AS is_partition, c.relreplident AS replident,
       CASE WHEN c.relreplident = 'i' THEN (
           SELECT ri.relname FROM pg_index x JOIN pg_class ri ON ri.oid = x.indexrelid
           WHERE x.indrelid = c.oid AND x.indisreplident) END AS replident_index,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END AS definition,
       CASE WHEN c.relkind IN ('v', 'm') THEN (
           SELECT r.ev_action::text FROM pg_rewrite r
           WHERE r.ev_class = c.oid AND r.rulename = '_RETURN') END AS query_tree,
       inh.parent_schemas, inh.parent_names
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN LATERAL (
    SELECT array_agg(pn.nspname ORDER BY i.inhseqno) AS parent_schemas,
           array_agg(pc.relname ORDER BY i.inhseqno) AS parent_names
    FROM pg_inherits i
    JOIN pg_class pc ON pc.oid = i.inhparent
    JOIN pg_namespace pn ON pn.oid = pc.relnamespace
    WHERE i.inhrelid = c.oid
) inh ON c.relkind IN ('r', 'p')
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c')
  AND {_USER_SCHEMA} AND {_not_extension_member("pg_class", "c.oid")}
"""

# A pg_depend row's referenced object is an operator of the IR (CREATE OPERATOR's, not an
# extension's; pg_catalog's are pinned, never recorded).
_USER_OPERATOR = (
    "(d.refclassid = 'pg_operator'::regclass AND NOT EXISTS (SELECT 1 FROM pg_depend x"
    " WHERE x.classid = 'pg_operator'::regclass AND x.objid = d.refobjid AND x.deptype = 'e'))"
)


# What each view's query uses, as pg_depend records it for the view's _RETURN rule (as
# migra's schemainspect reads view dependencies): relations, their columns (refobjsubid),
# functions, types (an array type by its element). Built-in objects are pinned and never
# recorded.
Q_VIEW_DEPENDENCIES = f"""
SELECT 'relation' AS kind, d.refobjid, d.refobjsubid,
       n.nspname AS schema, c.relname AS name, a.attname AS column, r.ev_class AS view
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'n'
JOIN pg_class c ON c.oid = d.refobjid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
WHERE r.rulename = '_RETURN' AND d.refobjid <> r.ev_class
UNION ALL
SELECT 'function', d.refobjid, 0, n.nspname, p.proname, NULL, r.ev_class
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_proc'::regclass AND d.deptype = 'n'
JOIN pg_proc p ON p.oid = d.refobjid
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE r.rulename = '_RETURN'
UNION ALL
SELECT 'type', d.refobjid, 0, n.nspname, t.typname, NULL, r.ev_class
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'n'
JOIN pg_type a ON a.oid = d.refobjid
JOIN pg_type t ON t.oid = CASE WHEN a.typcategory = 'A' AND a.typelem <> 0 THEN a.typelem ELSE a.oid END
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE r.rulename = '_RETURN'
UNION ALL
SELECT 'operator', d.refobjid, 0, n.nspname, o.oprname, NULL, r.ev_class
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.deptype = 'n'
JOIN pg_operator o ON o.oid = d.refobjid
JOIN pg_namespace n ON n.oid = o.oprnamespace
WHERE r.rulename = '_RETURN' AND {_USER_OPERATOR}
UNION ALL
SELECT 'collation', d.refobjid, 0, n.nspname, co.collname, NULL, r.ev_class
FROM pg_rewrite r
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
     AND d.refclassid = 'pg_collation'::regclass AND d.deptype = 'n'
JOIN pg_collation co ON co.oid = d.refobjid
JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE r.rulename = '_RETURN' AND n.nspname <> 'pg_catalog'
UNION ALL
SELECT 'collation', d.refobjid, 0, n.nspname, co.collname, NULL, d.objid
FROM pg_depend d
JOIN pg_class v ON v.oid = d.objid AND v.relkind IN ('v', 'm')
JOIN pg_collation co ON co.oid = d.refobjid
JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE d.classid = 'pg_class'::regclass AND d.objsubid > 0 AND d.refclassid = 'pg_collation'::regclass
  AND d.deptype = 'n' AND n.nspname <> 'pg_catalog'
"""

# What the expressions of column defaults and generated columns (pg_attrdef), CHECK and
# exclusion constraints, domain checks (pg_constraint), indexes (pg_class), policies,
# triggers, BEGIN ATOMIC bodies (pg_proc) and domains (pg_type: base type and default) use,
# as pg_depend records it: `owner` names the catalog of the dependent object. Objects
# PostgreSQL pins (pg_catalog's) have no pg_depend rows. Read from each owner's catalog,
# without the rows _Reader.depends_on leaves out anyway (an object's use of its own table, a
# default's of its own column; the constraints other than CHECK and EXCLUDE), which are more
# than half of pg_depend's on a schema of many tables.
_OWN_TABLE = (
    "NOT (d.refclassid = 'pg_class'::regclass AND d.refobjid = {relid} AND d.refobjsubid IN (0, {attnum}))"
)


def _owned_dependencies(
    catalog: str, table: str, oid: str, relid: str, attnum: str = "0", where: str = ""
) -> str:
    own = "" if relid == "0" else " AND " + _OWN_TABLE.format(relid=f"o.{relid}", attnum=attnum)
    return (
        f"SELECT d.classid, d.objid, d.refclassid, d.refobjid, d.refobjsubid, d.deptype FROM {table} o"
        f" JOIN pg_depend d ON d.classid = '{catalog}'::regclass AND d.objid = o.{oid}"
        f" WHERE d.deptype IN ('n', 'a') AND (d.refclassid IN ('pg_class'::regclass, 'pg_proc'::regclass,"
        f" 'pg_type'::regclass, 'pg_collation'::regclass) OR {_USER_OPERATOR}){where}{own}"
    )


# A routine's: its signature's types, its argument defaults' uses and a SQL-standard body's;
# an aggregate's functions (SFUNC, FINALFUNC, COMBINEFUNC, ...) and state types too, and its
# SORTOP (a user's operator like any other use; an extension's: _AGGREGATE_OPERATORS); not
# a SUPPORT function.
_ROUTINE_DEPENDENCIES = " AND NOT (d.refclassid = 'pg_proc'::regclass AND d.refobjid = o.prosupport)"
_AGGREGATE_OPERATORS = """SELECT d.classid, d.objid, d.refclassid, d.refobjid, d.refobjsubid, d.deptype
    FROM pg_proc o JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = o.oid
    WHERE o.prokind = 'a' AND d.deptype = 'n' AND d.refclassid = 'pg_operator'::regclass
      AND EXISTS (SELECT 1 FROM pg_depend x
                  WHERE x.classid = 'pg_operator'::regclass AND x.objid = d.refobjid AND x.deptype = 'e')"""

# A partition key's: the functions and types its expressions use (rows of the partitioned
# table's own pg_class row, deptype 'n'; not the type of a typed table, OF type), and the
# table's columns in the key, which pg_depend records the other way round (each column
# internally dependent on its table): turned round here, so that the table uses them.
_PARTITION_KEY_DEPENDENCIES = """SELECT d.classid, d.objid, d.refclassid, d.refobjid, d.refobjsubid, d.deptype
    FROM pg_partitioned_table o JOIN pg_class r ON r.oid = o.partrelid
    JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = o.partrelid AND d.objsubid = 0
    WHERE d.deptype = 'n' AND d.refclassid IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_collation'::regclass)
      AND NOT (d.refclassid = 'pg_type'::regclass AND d.refobjid = r.reloftype)
    UNION ALL
    SELECT d.refclassid, d.refobjid, d.classid, d.objid, d.objsubid, d.deptype
    FROM pg_partitioned_table o
    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = o.partrelid AND d.refobjsubid = 0
    WHERE d.classid = 'pg_class'::regclass AND d.objid = o.partrelid AND d.objsubid > 0 AND d.deptype = 'i'"""

Q_DEPENDENCIES = f"""
SELECT CASE WHEN d.refclassid = 'pg_proc'::regclass THEN 'function'
            WHEN d.refclassid = 'pg_type'::regclass THEN 'type'
            WHEN d.refclassid = 'pg_operator'::regclass THEN 'operator'
            WHEN d.refclassid = 'pg_collation'::regclass THEN 'collation' ELSE 'relation' END AS kind,
       d.refobjid, d.refobjsubid, n.nspname AS schema,
       coalesce(c.relname, p.proname, t.typname, op.oprname, co.collname) AS name,
       CASE WHEN c.oid IS NOT NULL AND d.refobjsubid > 0 THEN (
           SELECT a.attname FROM pg_attribute a WHERE a.attrelid = d.refobjid AND a.attnum = d.refobjsubid)
       END AS column,
       d.classid::regclass::text AS owner, d.objid
FROM (
    {_owned_dependencies("pg_attrdef", "pg_attrdef", "oid", "adrelid", "o.adnum")}
    UNION ALL
    {_owned_dependencies("pg_constraint", "pg_constraint", "oid", "conrelid", where=" AND o.contype IN ('c', 'x')")}
    UNION ALL
    {_owned_dependencies("pg_class", "pg_index", "indexrelid", "indrelid")}
    UNION ALL
    {_owned_dependencies("pg_policy", "pg_policy", "oid", "polrelid")}
    UNION ALL
    {_owned_dependencies("pg_trigger", "pg_trigger", "oid", "tgrelid")}
    UNION ALL
    {_owned_dependencies("pg_proc", "pg_proc", "oid", "0", where=_ROUTINE_DEPENDENCIES)}
    UNION ALL
    {_owned_dependencies("pg_type", "pg_type", "oid", "0", where=" AND o.typtype = 'd'")}
    UNION ALL
    {_owned_dependencies("pg_publication_rel", "pg_publication_rel", "oid", "prrelid")}
    UNION ALL
    {_PARTITION_KEY_DEPENDENCIES}
    UNION ALL
    {_AGGREGATE_OPERATORS}
) d
LEFT JOIN pg_class c ON d.refclassid = 'pg_class'::regclass AND c.oid = d.refobjid
LEFT JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
LEFT JOIN pg_type ta ON d.refclassid = 'pg_type'::regclass AND ta.oid = d.refobjid
LEFT JOIN pg_type t ON t.oid = CASE WHEN ta.typcategory = 'A' AND ta.typelem <> 0
                                    THEN ta.typelem ELSE ta.oid END
LEFT JOIN pg_operator op ON d.refclassid = 'pg_operator'::regclass AND op.oid = d.refobjid
LEFT JOIN pg_collation co ON d.refclassid = 'pg_collation'::regclass AND co.oid = d.refobjid
JOIN pg_namespace n ON n.oid = coalesce(c.relnamespace, p.pronamespace, t.typnamespace, op.oprnamespace,
                                         co.collnamespace)
WHERE NOT (d.refclassid = 'pg_collation'::regclass AND n.nspname = 'pg_catalog')
"""

# Read as tuples (_TUPLE_ROWS: one row per column of every table and view), in this order:
# _A_RELID, _A_NUM, ... below.
Q_COLUMNS = f"""
SELECT a.attrelid, a.attnum, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) || repeat('[]', greatest(a.attndims - 1, 0)) AS data_type,
       a.attnotnull AS not_null,
       -- a default uses no column: deparsed without its table (whose opening, a relation
       -- cache entry built per table, is most of the server's work here), a generated column with it
       CASE WHEN a.atthasdef THEN pg_get_expr(ad.adbin, CASE WHEN a.attgenerated = '' THEN 0 ELSE ad.adrelid END)
       END AS "default",
       a.attidentity AS identity, a.attgenerated AS generated,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
            THEN a.attcollation::regcollation::text END AS collation,
       a.attcollation, a.attislocal, ad.oid AS attrdef
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm', 'c') AND {_USER_SCHEMA}
"""
AttributeRow = tuple[Any, ...]
(
    _A_RELID,
    _A_NUM,
    _A_NAME,
    _A_TYPE,
    _A_NOT_NULL,
    _A_DEFAULT,
    _A_IDENTITY,
    _A_GENERATED,
    _A_COLLATION,
    _A_COLLATION_OID,
    _A_LOCAL,
    _A_ATTRDEF,
) = range(12)


Q_CONSTRAINTS = f"""
SELECT con.oid, con.conrelid, con.conname AS name, con.contype, con.condeferrable AS deferrable,
       con.condeferred AS initially_deferred, con.convalidated AS validated,
       con.connoinherit AS no_inherit, con.conindid,
       CASE WHEN con.contype = 'c' THEN pg_get_expr(con.conbin, con.conrelid) END AS expression,
       con.conkey, con.confrelid, fn.nspname AS ref_schema, fc.relname AS ref_table, con.confkey,
       con.confupdtype, con.confdeltype, con.confmatchtype,
       CASE WHEN con.contype = 'x' THEN ARRAY(
           SELECT CASE WHEN opn.nspname = 'pg_catalog' THEN op.oprname::text
                       ELSE quote_ident(opn.nspname) || '.' || op.oprname END
           FROM unnest(con.conexclop) WITH ORDINALITY k(opoid, ord)
           JOIN pg_operator op ON op.oid = k.opoid
           JOIN pg_namespace opn ON opn.oid = op.oprnamespace ORDER BY k.ord) END AS operators,
       CASE WHEN con.contype = 'x' THEN ARRAY(
           SELECT ARRAY[opn.nspname::text, op.oprname::text]
           FROM unnest(con.conexclop) WITH ORDINALITY k(opoid, ord)
           JOIN pg_operator op ON op.oid = k.opoid
           JOIN pg_namespace opn ON opn.oid = op.oprnamespace
           WHERE opn.nspname <> 'pg_catalog' ORDER BY k.ord) END AS operators_used
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conparentid = 0 AND con.conislocal
  AND c.relkind IN ('r', 'p') AND {_USER_SCHEMA}
"""

Q_INDEXES = f"""
SELECT i.indexrelid, i.indrelid, n.nspname AS schema, ic.relname AS name, tc.relname AS "table",
       am.amname AS method, i.indisunique AS "unique", i.indnullsnotdistinct AS nulls_not_distinct,
       i.indnkeyatts, pg_get_expr(i.indpred, i.indrelid) AS predicate, ic.reloptions AS options,
       ic.relispartition AS is_partition,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
               AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) AS backs_constraint
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = tc.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE tc.relkind IN ('r', 'p', 'm') AND {_USER_SCHEMA}
"""
# (indexes of tables that belong to an extension are dropped in Python, with their tables)

# One row per index column (key and INCLUDE), in index order.
Q_INDEX_COLUMNS = f"""
SELECT i.indexrelid, i.indrelid, k.ord, k.attnum,
       CASE WHEN k.attnum = 0 THEN pg_get_indexdef(i.indexrelid, k.ord::int, false) END AS expression,
       k.ord <= i.indnkeyatts AS is_key,
       i.indoption[k.ord - 1] AS option,
       CASE WHEN k.ord <= i.indnkeyatts AND NOT oc.opcdefault
            THEN {_qualified("ocn.nspname", "oc.opcname")} END AS opclass,
       i.indcollation[k.ord - 1] AS collation_oid,
       CASE WHEN k.ord <= i.indnkeyatts AND i.indcollation[k.ord - 1] <> 0
            THEN i.indcollation[k.ord - 1]::regcollation::text END AS collation,
       -- the collation an expression key has by default: its type's (the opclass's input
       -- type where it stores another: gin_trgm_ops keeps int4 trigrams of a text)
       CASE WHEN k.attnum = 0 THEN coalesce(
           (SELECT ot.typcollation FROM pg_type ot
            WHERE oc.opckeytype <> 0 AND ot.oid = oc.opcintype AND ot.typtype <> 'p'),
           (SELECT it.typcollation FROM pg_attribute ia JOIN pg_type it ON it.oid = ia.atttypid
            WHERE ia.attrelid = i.indexrelid AND ia.attnum = k.ord)) END AS expression_collation
FROM pg_index i
JOIN pg_class tc ON tc.oid = i.indrelid
JOIN pg_namespace n ON n.oid = tc.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
LEFT JOIN pg_opclass oc ON oc.oid = i.indclass[k.ord - 1] AND k.ord <= i.indnkeyatts
LEFT JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
WHERE tc.relkind IN ('r', 'p', 'm') AND {_USER_SCHEMA}
"""


def _option(name: str, condition: str, value: str | None = None) -> str:
    return f"CASE WHEN {condition} THEN '{name}'" + (f" || ' = ' || {value}" if value else "") + " END"


def _regproc(column: str) -> str:
    return f"{column}::regproc::text"


def _modify(column: str) -> str:
    return f"CASE {column} WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END"


# An aggregate's CREATE AGGREGATE options, in the order pg_dump writes them, on one line
# (`SFUNC = public._group_concat, STYPE = text`): what the IR keeps as its body.
_AGGREGATE_OPTIONS = (
    "concat_ws(', ', "
    + ", ".join(
        [
            "'SFUNC = ' || " + _regproc("a.aggtransfn"),
            "'STYPE = ' || format_type(a.aggtranstype, NULL)",
            _option("SSPACE", "a.aggtransspace <> 0", "a.aggtransspace::text"),
            _option("INITCOND", "a.agginitval IS NOT NULL", "quote_literal(a.agginitval)"),
            _option("FINALFUNC", "a.aggfinalfn::oid <> 0", _regproc("a.aggfinalfn")),
            _option("FINALFUNC_EXTRA", "a.aggfinalfn::oid <> 0 AND a.aggfinalextra"),
            _option(
                "FINALFUNC_MODIFY",
                "a.aggfinalfn::oid <> 0 AND a.aggfinalmodify <> 'r'",
                _modify("a.aggfinalmodify"),
            ),
            _option("COMBINEFUNC", "a.aggcombinefn::oid <> 0", _regproc("a.aggcombinefn")),
            _option("SERIALFUNC", "a.aggserialfn::oid <> 0", _regproc("a.aggserialfn")),
            _option("DESERIALFUNC", "a.aggdeserialfn::oid <> 0", _regproc("a.aggdeserialfn")),
            _option("MSFUNC", "a.aggmtransfn::oid <> 0", _regproc("a.aggmtransfn")),
            _option("MINVFUNC", "a.aggmtransfn::oid <> 0", _regproc("a.aggminvtransfn")),
            _option("MSTYPE", "a.aggmtransfn::oid <> 0", "format_type(a.aggmtranstype, NULL)"),
            _option("MSSPACE", "a.aggmtransspace <> 0", "a.aggmtransspace::text"),
            _option("MINITCOND", "a.aggminitval IS NOT NULL", "quote_literal(a.aggminitval)"),
            _option("MFINALFUNC", "a.aggmfinalfn::oid <> 0", _regproc("a.aggmfinalfn")),
            _option("MFINALFUNC_EXTRA", "a.aggmfinalfn::oid <> 0 AND a.aggmfinalextra"),
            _option(
                "MFINALFUNC_MODIFY",
                "a.aggmfinalfn::oid <> 0 AND a.aggmfinalmodify <> 'r'",
                _modify("a.aggmfinalmodify"),
            ),
            _option(
                "SORTOP",
                "a.aggsortop <> 0",
                "(SELECT 'OPERATOR(' || quote_ident(son.nspname) || '.' || so.oprname || ')'"
                " FROM pg_operator so JOIN pg_namespace son ON son.oid = so.oprnamespace WHERE so.oid = a.aggsortop)",
            ),
            _option(
                "PARALLEL",
                "p.proparallel <> 'u'",
                "CASE p.proparallel WHEN 's' THEN 'safe' ELSE 'restricted' END",
            ),
        ]
    )
    + ")"
)

def _operator_name(oid: str) -> str:
    """An operator by oid as `OPERATOR(schema.name)` (NULL for none)."""
    return (
        "(SELECT 'OPERATOR(' || quote_ident(xn.nspname) || '.' || x.oprname || ')'"
        f" FROM pg_operator x JOIN pg_namespace xn ON xn.oid = x.oprnamespace WHERE x.oid = {oid})"
    )


# CREATE OPERATOR's operators (not shells, not an extension's).
Q_OPERATORS = f"""
SELECT o.oid, n.nspname AS schema, o.oprname AS name,
       CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END AS left_type,
       format_type(o.oprright, NULL) AS right_type,
       {_regproc("o.oprcode")} AS function,
       {_operator_name("o.oprcom")} AS commutator, {_operator_name("o.oprnegate")} AS negator,
       CASE WHEN o.oprrest::oid <> 0 THEN {_regproc("o.oprrest")} END AS restrict,
       CASE WHEN o.oprjoin::oid <> 0 THEN {_regproc("o.oprjoin")} END AS "join",
       o.oprcanhash AS hashes, o.oprcanmerge AS merges,
       {_comment("pg_operator", "o.oid")} AS comment
FROM pg_operator o
JOIN pg_namespace n ON n.oid = o.oprnamespace
WHERE {_USER_SCHEMA} AND o.oprcode::oid <> 0 AND {_not_extension_member("pg_operator", "o.oid")}
"""

Q_FUNCTIONS = f"""
SELECT p.oid, n.nspname AS schema, p.proname AS name, p.prokind,
       pg_get_function_result(p.oid) AS returns, l.lanname AS language,
       CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) ELSE p.prosrc END AS body,
       CASE WHEN p.prokind = 'a' THEN {_AGGREGATE_OPTIONS} END AS aggregate_options,
       p.provolatile, p.proisstrict AS strict, p.prosecdef AS security_definer,
       p.proleakproof AS leakproof, p.proparallel, p.procost, p.prorows, p.proretset,
       p.proconfig, p.proargnames, p.proargmodes, p.prosqlbody IS NOT NULL AS atomic,
       ARRAY(SELECT format_type(u.t, NULL)
             FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY u(t, ord)
             ORDER BY u.ord) AS argtypes,
       CASE WHEN p.pronargdefaults > 0 THEN ARRAY(
           SELECT pg_get_function_arg_default(p.oid, g.i)
           FROM generate_series(1, cardinality(coalesce(p.proallargtypes, p.proargtypes::oid[]))) g(i)
           ORDER BY g.i) END AS argdefaults,
       {_comment("pg_proc", "p.oid")} AS comment
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
-- aggregates: plain ones only (an ordered-set aggregate's ORDER BY arguments have no place in the IR)
WHERE (p.prokind IN ('f', 'p', 'w') OR (p.prokind = 'a' AND a.aggkind = 'n')) AND {_USER_SCHEMA}
  AND {_not_extension_member("pg_proc", "p.oid")}
  -- made by PostgreSQL along with another object (a range type's constructors)
  AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = 'pg_proc'::regclass
                  AND x.objid = p.oid AND x.deptype = 'i')
"""

Q_TRIGGERS = f"""
SELECT n.nspname AS schema, c.relname AS "table", t.tgname AS name, t.tgtype,
       fn.nspname AS function_schema, f.proname AS function, t.tgnargs, t.tgargs,
       t.tgrelid, t.tgattr::int2[] AS tgattr,
       CASE WHEN t.tgqual IS NOT NULL THEN pg_get_triggerdef(t.oid, false) END AS triggerdef,
       t.tgconstraint <> 0 AS "constraint", t.tgdeferrable AS deferrable,
       t.tginitdeferred AS initially_deferred, t.tgenabled AS enabled,
       t.tgoldtable AS old_table, t.tgnewtable AS new_table, t.oid,
       {_comment("pg_trigger", "t.oid")} AS comment
FROM pg_trigger t
JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_proc f ON f.oid = t.tgfoid
JOIN pg_namespace fn ON fn.oid = f.pronamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {_USER_SCHEMA}
  AND {_not_extension_member("pg_class", "c.oid")}
"""

Q_POLICIES = f"""
SELECT p.oid, p.polrelid, n.nspname AS schema, c.relname AS "table", p.polname AS name,
       p.polpermissive AS permissive, p.polcmd,
       ARRAY(SELECT CASE WHEN r.oid = 0 THEN 'public' ELSE pg_get_userbyid(r.oid) END
             FROM unnest(p.polroles) r(oid)) AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS with_check,
       {_comment("pg_policy", "p.oid")} AS comment
FROM pg_policy p
JOIN pg_class c ON c.oid = p.polrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_SCHEMA} AND {_not_extension_member("pg_class", "c.oid")}
"""

# Publications, the tables they list (with column lists and row filters, PostgreSQL 15)
# and the schemas they publish every table of (FOR TABLES IN SCHEMA, 15).
Q_PUBLICATIONS = f"""
SELECT p.oid, p.pubname AS name, p.puballtables AS all_tables, p.pubinsert, p.pubupdate,
       p.pubdelete, p.pubtruncate, p.pubviaroot AS via_root,
       {_comment("pg_publication", "p.oid")} AS comment
FROM pg_publication p
"""
Q_PUBLICATION_TABLES = """
SELECT pr.oid, pr.prrelid, pr.prpubid AS pubid, n.nspname AS schema, c.relname AS "table",
       ARRAY(SELECT a.attname::text FROM unnest(pr.prattrs::int2[]) k(attnum)
             JOIN pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.attnum
             ORDER BY k.attnum) AS columns,
       pg_get_expr(pr.prqual, pr.prrelid) AS "where"
FROM pg_publication_rel pr
JOIN pg_class c ON c.oid = pr.prrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
"""
Q_PUBLICATION_SCHEMAS = """
SELECT pn.pnpubid AS pubid, n.nspname AS schema
FROM pg_publication_namespace pn
JOIN pg_namespace n ON n.oid = pn.pnnspid
"""

_GRANTEE = "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END"

# ACL entries of every kind of object. Entries the owner holds are left out, and so are
# PostgreSQL's default grants to PUBLIC (EXECUTE on functions, USAGE on types), which
# show up in an ACL as soon as anything else is granted.
# The relations with privileges of their own read once, materialized: joined to pg_namespace
# as a subquery, they were read again for every user schema (the planner expects one).
Q_PRIVILEGES = f"""
WITH acl_class AS MATERIALIZED (
    SELECT * FROM pg_class WHERE relacl IS NOT NULL AND relkind IN ('r', 'p', 'v', 'm', 'S')
)
SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS kind, c.oid AS objid,
       n.nspname AS schema, c.relname AS name, NULL::name AS column_name,
       {_GRANTEE} AS grantee, a.privilege_type, a.is_grantable
FROM acl_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(c.relacl) a
WHERE a.grantee <> c.relowner AND {_USER_SCHEMA} AND {_not_extension_member("pg_class", "c.oid")}
UNION ALL
SELECT 'TABLE', c.oid, n.nspname, c.relname, att.attname, {_GRANTEE}, a.privilege_type, a.is_grantable
-- the few columns with privileges of their own found first, in one scan (OFFSET 0 keeps the
-- planner from looking up every relation's columns by index instead: a third of the query)
FROM (SELECT * FROM pg_attribute WHERE attacl IS NOT NULL AND attnum > 0 AND NOT attisdropped OFFSET 0) att
JOIN pg_class c ON c.oid = att.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL aclexplode(att.attacl) a
WHERE c.relkind IN ('r', 'p', 'v', 'm')
  AND a.grantee <> c.relowner AND {_USER_SCHEMA} AND {_not_extension_member("pg_class", "c.oid")}
UNION ALL
SELECT 'SCHEMA', n.oid, n.nspname, n.nspname, NULL, {_GRANTEE}, a.privilege_type, a.is_grantable
FROM pg_namespace n
CROSS JOIN LATERAL aclexplode(n.nspacl) a
WHERE n.nspacl IS NOT NULL AND a.grantee <> n.nspowner
  AND {_USER_SCHEMA} AND {_not_extension_member("pg_namespace", "n.oid")}
UNION ALL
SELECT 'FUNCTION', p.oid, n.nspname, p.proname, NULL, {_GRANTEE}, a.privilege_type, a.is_grantable
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
CROSS JOIN LATERAL aclexplode(p.proacl) a
WHERE p.proacl IS NOT NULL AND a.grantee <> p.proowner
  AND NOT (a.grantee = 0 AND a.privilege_type = 'EXECUTE' AND NOT a.is_grantable)
  AND {_USER_SCHEMA} AND {_not_extension_member("pg_proc", "p.oid")}
UNION ALL
SELECT 'TYPE', t.oid, n.nspname, t.typname, NULL, {_GRANTEE}, a.privilege_type, a.is_grantable
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
CROSS JOIN LATERAL aclexplode(t.typacl) a
WHERE t.typacl IS NOT NULL AND a.grantee <> t.typowner
  AND NOT (a.grantee = 0 AND a.privilege_type = 'USAGE' AND NOT a.is_grantable)
  AND {_USER_SCHEMA} AND {_not_extension_member("pg_type", "t.oid")}
"""


MIN_SERVER_VERSION = 130000

# Catalog columns newer than the oldest server supported, with what stands in for them
# before (the queries above are written for PostgreSQL 15).
_SINCE_VERSION: tuple[tuple[int, str, str], ...] = (
    (150000, "i.indnullsnotdistinct", "false"),
    (150000, "unnest(pr.prattrs::int2[])", "unnest(ARRAY[]::int2[])"),
    (150000, "pg_get_expr(pr.prqual, pr.prrelid)", "NULL::text"),
    (
        140000,
        "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) ELSE p.prosrc END",
        "p.prosrc",
    ),
    (140000, "p.prosqlbody IS NOT NULL AS atomic", "false AS atomic"),
    (140000, "o.prosqlbody IS NOT NULL", "false"),
)


def for_server_version(query: str, version: int) -> str:
    """`query` with the catalog columns a server of `version` lacks replaced."""
    for since, text, replacement in _SINCE_VERSION:
        if version < since:
            query = query.replace(text, replacement)
    return query


# --------------------------------------------------------------------------- connecting


def connect(url: str) -> Connection:
    """A connection set up for introspection, or ConnectionFailed (nself.connection masks
    the URL and its password)."""
    return cast("Connection", connect_to(url, row_factory=dict_row))


# --------------------------------------------------------------------------- introspection


def introspect(url: str) -> Catalog:
    """The Catalog of the database at `url` (a libpq URL or key=value string). The largest
    catalog queries (the columns, the dependencies) run on other connections at the same
    time as the others, in the same snapshot (see _prefetch)."""
    with connect(url) as conn:
        try:
            return introspect_connection(conn, helper=lambda: connect(url))
        except psycopg.OperationalError as exc:  # the server went away meanwhile
            detail = " ".join(str(exc).split())
            raise ConnectionFailed(f"lost the connection to {mask_url(url)}: {scrub(detail, url)}") from None


def introspect_connection(
    conn: psycopg.Connection[Any], *, helper: Callable[[], Connection] | None = None
) -> Catalog:
    """The Catalog read over an open connection that is not inside a transaction. Runs in
    its own read-only transaction; the connection is left as it was found. `helper` opens
    another connection to the same database for each of the largest queries, run meanwhile
    in this transaction's snapshot; without it, or when that fails, every query runs on `conn`."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ValueError("introspect_connection needs a connection outside any transaction")
    autocommit = conn.autocommit
    isolation = conn.isolation_level
    read_only = conn.read_only
    row_factory = conn.row_factory
    conn.row_factory = dict_row
    conn.autocommit = False
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        conn.execute(_SESSION)
        reader = _Reader(cast(Connection, conn))
        if helper is None:
            return reader.read()
        with ThreadPoolExecutor(max_workers=len(_PREFETCHED)) as pool:
            reader.prefetched = _prefetch(cast(Connection, conn), helper, pool, reader.version)
            return reader.read()
    finally:
        conn.rollback()
        conn.row_factory = row_factory
        conn.autocommit = autocommit
        conn.isolation_level = isolation
        conn.read_only = read_only


# jit and parallel workers: catalog queries are short, and compiling them or starting worker
# processes (each with cold caches) costs the server more than running them
_SESSION = (
    "SET LOCAL search_path = pg_catalog; SET LOCAL TimeZone = 'UTC'; SET LOCAL jit = off;"
    " SET LOCAL max_parallel_workers_per_gather = 0"
)
# Read on helper connections, one each (the largest shares of the server's work: on a schema
# of many tables, the columns take about as long as all the other queries together, and the
# dependencies about half as long).
_PREFETCHED = ("Q_COLUMNS", "Q_DEPENDENCIES")
# Read as tuples (_Reader.tuples), by their text: the queries of most rows on a schema of many
# tables, where building a dict per row was about half of reading the rows.
_TUPLE_ROWS = frozenset(("Q_COLUMNS", "Q_DEPENDENCIES", "Q_VIEW_DEPENDENCIES"))


def _prefetch(
    conn: Connection, helper: Callable[[], Connection], pool: ThreadPoolExecutor, version: int
) -> dict[str, Future[list[Any]]]:
    """The _PREFETCHED queries started on helper connections that read `conn`'s snapshot
    (exported, then imported in a REPEATABLE READ transaction), so all see one state of the
    database. Empty when the snapshot cannot be exported: `conn` is then in a new
    transaction, set up as the failed one was. (Not under a savepoint: PostgreSQL exports no
    snapshot from a subtransaction.)"""
    try:
        snapshot = conn.execute("SELECT pg_export_snapshot() AS id").fetchone()
    except psycopg.Error:
        conn.rollback()
        conn.execute(_SESSION)
        return {}
    if snapshot is None:
        return {}

    def read(query: str, as_tuples: bool) -> list[Any]:
        with helper() as other:
            other.autocommit = True  # the transaction begun here, with its isolation level
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            other.execute(cast(Any, f"SET TRANSACTION SNAPSHOT '{snapshot['id']}'"))
            other.execute(_SESSION)
            cursor = other.cursor(row_factory=tuple_row) if as_tuples else other.cursor()
            return cursor.execute(cast(Any, query)).fetchall()

    return {
        for_server_version(globals()[name], version): pool.submit(
            read, for_server_version(globals()[name], version), name in _TUPLE_ROWS
        )
        for name in _PREFETCHED
    }


_FK_ACTIONS: dict[str, m.ForeignKeyAction] = {
    "a": "NO ACTION",
    "r": "RESTRICT",
    "c": "CASCADE",
    "n": "SET NULL",
    "d": "SET DEFAULT",
}
_FK_MATCH: dict[str, m.ForeignKeyMatch] = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
_VOLATILITY: dict[str, Literal["IMMUTABLE", "STABLE", "VOLATILE"]] = {
    "i": "IMMUTABLE",
    "s": "STABLE",
    "v": "VOLATILE",
}
_PARALLEL: dict[str, Literal["SAFE", "RESTRICTED", "UNSAFE"]] = {
    "s": "SAFE",
    "r": "RESTRICTED",
    "u": "UNSAFE",
}
_ARG_MODES: dict[str, Literal["IN", "OUT", "INOUT", "VARIADIC", "TABLE"]] = {
    "i": "IN",
    "o": "OUT",
    "b": "INOUT",
    "v": "VARIADIC",
    "t": "TABLE",
}
_FUNCTION_KINDS: dict[str, Literal["function", "procedure", "aggregate", "window"]] = {
    "f": "function",
    "p": "procedure",
    "a": "aggregate",
    "w": "window",
}
_POLICY_COMMANDS: dict[str, Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]] = {
    "*": "ALL",
    "r": "SELECT",
    "a": "INSERT",
    "w": "UPDATE",
    "d": "DELETE",
}
_PARTITION_STRATEGIES = ("RANGE", "LIST", "HASH")
_REPLICA_IDENTITIES: dict[str, m.ReplicaIdentity] = {
    "d": "DEFAULT",
    "f": "FULL",
    "n": "NOTHING",
    "i": "INDEX",
}

# pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h)
_TRIGGER_ROW = 1 << 0
_TRIGGER_BEFORE = 1 << 1
_TRIGGER_EVENTS = ((1 << 2, "INSERT"), (1 << 4, "UPDATE"), (1 << 3, "DELETE"), (1 << 5, "TRUNCATE"))
_TRIGGER_INSTEAD = 1 << 6

# pg_index.indoption bits
_INDOPTION_DESC = 1
_INDOPTION_NULLS_FIRST = 2


_COLLATION_PROVIDERS: dict[str, Literal["libc", "icu", "builtin"]] = {
    "c": "libc",
    "i": "icu",
    "b": "builtin",
}


def collation_of_row(schema: str, row: dict[str, Any], comment: str | None) -> m.Collation:
    """A Collation from a pg_collation row (as JSON), in the IR's canonical form: libc
    with lc_collate and lc_ctype, icu and builtin with locale."""
    provider = _COLLATION_PROVIDERS.get(row["collprovider"], "libc")
    if provider == "libc":
        return _Collation(
            schema=schema,
            name=row["collname"],
            provider=provider,
            lc_collate=row.get("collcollate"),
            lc_ctype=row.get("collctype"),
            deterministic=row.get("collisdeterministic", True),
            comment=comment,
        )
    locale = row.get("colllocale") or row.get("colliculocale") or row.get("collcollate")
    return _Collation(
        schema=schema,
        name=row["collname"],
        provider=provider,
        locale=locale,
        deterministic=row.get("collisdeterministic", True),
        comment=comment,
    )


class _Reader:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.builder = CatalogBuilder()
        self.encoding = conn.info.encoding
        self.version = conn.info.server_version
        if self.version < MIN_SERVER_VERSION:
            raise NselfError(
                f"PostgreSQL {self.version // 10000} is too old to introspect: 13 or later is needed"
            )
        self.indexes: dict[int, Row] = {}
        self.functions: dict[int, m.Function] = {}
        self.composite_rows: dict[int, Row] = {}
        # identity sequences by (table oid, attnum), for Column.identity
        self.identities: dict[tuple[int, int], Row] = {}
        # every column of the relations in user schemas: (relation oid, attnum) -> row
        self.attributes: dict[tuple[int, int], AttributeRow] = {}
        self.relations: dict[int, Row] = {}
        self.origins: dict[int, dict[int, tuple[int, int]]] = {}
        # view oid -> the rows of Q_VIEW_DEPENDENCIES for it
        self.view_dependencies: dict[int, list[DependRow]] = defaultdict(list)
        self.view_not_null: dict[tuple[int, int], bool] = {}
        # queries already running on a helper connection (see _prefetch), by their text
        self.prefetched: dict[str, Future[list[Any]]] = {}
        # (catalog of the dependent object, its oid) -> the rows of Q_DEPENDENCIES for it
        self.dependencies: dict[tuple[str, int], list[DependRow]] | None = None
        # (catalog, oid, subid) -> comment, of relations, columns and constraints (Q_COMMENTS)
        self.comments: dict[tuple[str, int, int], str] | None = None

    def rows(self, query: str) -> list[Row]:
        return cast("list[Row]", self._read(query, as_tuples=False))

    def tuples(self, query: str) -> list[tuple[Any, ...]]:
        """The rows of one of the _TUPLE_ROWS queries, as tuples in its columns' order."""
        return cast("list[tuple[Any, ...]]", self._read(query, as_tuples=True))

    def _read(self, query: str, *, as_tuples: bool) -> list[Any]:
        text = for_server_version(query, self.version)
        found = self.prefetched.pop(text, None)
        if found is not None:
            try:
                return found.result()
            except (psycopg.Error, NselfError):  # the helper could not connect or read: here then
                pass
        cursor = self.conn.cursor(row_factory=tuple_row) if as_tuples else self.conn.cursor()
        return cursor.execute(cast(Any, text)).fetchall()

    def read(self) -> Catalog:
        self.read_namespaces()
        self.read_types()
        self.read_sequences()
        self.read_relations()
        self.read_functions()
        self.read_operators()
        self.read_triggers()
        self.read_policies()
        self.read_privileges()
        self.read_publications()
        self.analyse_sql_bodies()
        return self.builder.freeze()

    # ----------------------------------------------------------------- namespaces

    def read_namespaces(self) -> None:
        for r in self.rows(Q_SCHEMAS):
            self.builder.add(_Schema(name=r["name"], comment=r["comment"]))
        for r in self.rows(Q_EXTENSIONS):
            self.builder.add(
                _Extension(
                    name=r["name"],
                    schema=r["schema"],
                    version=r["version"],
                    comment=r["comment"],
                    tables=tuple(r["tables"]),
                )
            )
        for r in self.rows(Q_COLLATIONS):
            self.builder.add(collation_of_row(r["schema"], r["row"], r["comment"]))

    # ----------------------------------------------------------------- types

    def read_types(self) -> None:
        types = self.rows(Q_TYPES)
        checks: dict[int, list[m.CheckConstraint]] = defaultdict(list)
        if any(t["typtype"] == "d" for t in types):
            for r in self.rows(Q_DOMAIN_CHECKS):
                checks[r["contypid"]].append(
                    _CheckConstraint(
                        name=r["name"],
                        expression=r["expression"],
                        validated=r["validated"],
                        comment=r["comment"],
                        depends_on=self.depends_on("pg_constraint", r["oid"], own_type=r["contypid"]),
                    )
                )
        # Composite types' attributes come with the relations' columns (read later).
        for t in types:
            kind = t["typtype"]
            if kind == "e":
                self.builder.add(
                    _Enum(
                        schema=t["schema"], name=t["name"], labels=tuple(t["labels"]), comment=t["comment"]
                    )
                )
            elif kind == "d":
                self.builder.add(
                    _Domain(
                        schema=t["schema"],
                        name=t["name"],
                        data_type=t["base_type"],
                        not_null=t["not_null"],
                        default=t["default"],
                        collation=t["collation"],
                        checks=tuple(checks.get(t["oid"], ())),
                        comment=t["comment"],
                        depends_on=self.depends_on("pg_type", t["oid"]),
                    )
                )
            elif kind == "r":
                self.builder.add(
                    _RangeType(
                        schema=t["schema"], name=t["name"], subtype=t["subtype"], comment=t["comment"]
                    )
                )
            else:
                self.composite_rows[t["typrelid"]] = t

    # ----------------------------------------------------------------- sequences

    def read_sequences(self) -> None:
        for r in self.rows(Q_SEQUENCES):
            if r["deptype"] == "i":
                self.identities[(r["refobjid"], r["refobjsubid"])] = r
                continue
            # OWNED BY a table of another schema has no place in the IR (the owner is
            # named within the sequence's schema): left out rather than misnamed.
            owned = (r["owner_table"], r["owner_column"]) if r["owner_in_schema"] else None
            self.builder.add(
                _Sequence(
                    schema=r["schema"],
                    name=r["name"],
                    data_type=r["data_type"],
                    start=r["start"],
                    increment=r["increment"],
                    min_value=r["min_value"],
                    max_value=r["max_value"],
                    cache=r["cache"],
                    cycle=r["cycle"],
                    owned_by=owned,
                    comment=self.comment("pg_class", r["oid"]),
                )
            )

    # ----------------------------------------------------------------- tables, views, indexes

    def read_relations(self) -> None:
        relations = {r["oid"]: r for r in self.rows(Q_RELATIONS)}
        columns: dict[int, list[AttributeRow]] = defaultdict(list)
        for a in sorted(self.tuples(Q_COLUMNS), key=itemgetter(_A_RELID, _A_NUM)):
            self.attributes[(a[_A_RELID], a[_A_NUM])] = a
            if a[_A_RELID] in relations:
                columns[a[_A_RELID]].append(a)
        constraints: dict[int, list[m.Constraint]] = defaultdict(list)
        index_columns: dict[int, list[Row]] = defaultdict(list)
        if any(r["relkind"] in ("r", "p", "m") for r in relations.values()):
            for r in sorted(self.rows(Q_INDEX_COLUMNS), key=lambda r: (r["indexrelid"], r["ord"])):
                index_columns[r["indexrelid"]].append(self.index_column(r))
            for r in self.rows(Q_INDEXES):
                self.indexes[r["indexrelid"]] = r
                if r["indrelid"] in relations and not r["backs_constraint"] and not r["is_partition"]:
                    self.builder.add(self.index(r, index_columns[r["indexrelid"]]))
            for r in self.rows(Q_CONSTRAINTS):
                if r["conrelid"] in relations:
                    constraints[r["conrelid"]].append(self.constraint(r, index_columns))

        self.relations = relations
        if any(r["relkind"] in ("v", "m") for r in relations.values()):
            for d in self.tuples(Q_VIEW_DEPENDENCIES):
                if d[-1] in relations:  # the view
                    self.view_dependencies[d[-1]].append(d)
        for oid, rel in relations.items():
            kind = rel["relkind"]
            cols = columns.get(oid, [])
            if kind in ("r", "p"):
                self.builder.add(self.table(rel, cols, constraints.get(oid, [])))
            elif kind in ("v", "m"):
                self.builder.add(
                    _View(
                        schema=rel["schema"],
                        name=rel["name"],
                        definition=rel["definition"],
                        columns=tuple(
                            _ViewColumn(
                                name=c[_A_NAME],
                                data_type=c[_A_TYPE],
                                not_null=self.view_column_not_null(oid, c[_A_NUM]),
                                comment=self.comment("pg_class", oid, c[_A_NUM]),
                                collation=c[_A_COLLATION],
                            )
                            for c in cols
                        ),
                        materialized=kind == "m",
                        options=tuple(rel["options"] or ()),
                        comment=self.comment("pg_class", oid),
                        depends_on=self.view_depends_on(oid),
                    )
                )
            elif oid in self.composite_rows:
                t = self.composite_rows[oid]
                self.builder.add(
                    _CompositeType(
                        schema=t["schema"],
                        name=t["name"],
                        attributes=tuple(
                            _CompositeAttribute(
                                name=c[_A_NAME], data_type=c[_A_TYPE], collation=c[_A_COLLATION]
                            )
                            for c in cols
                        ),
                        comment=t["comment"],
                    )
                )

    def table(self, rel: Row, cols: list[AttributeRow], constraints: list[m.Constraint]) -> m.Table:
        partition_by = None
        if rel["partkey"]:
            strategy, _, key = rel["partkey"].partition(" ")
            assert strategy in _PARTITION_STRATEGIES, rel["partkey"]
            partition_by = _PartitionSpec(
                strategy=strategy, key=_strip_parens(key), depends_on=self.depends_on("pg_class", rel["oid"])
            )
        partition_of = None
        inherits: tuple[tuple[str, str], ...] = ()
        parents = list(zip(rel["parent_schemas"] or (), rel["parent_names"] or (), strict=True))
        if rel["is_partition"] and parents:
            partition_of = _PartitionOf(
                parent_schema=parents[0][0], parent=parents[0][1], bound=rel["bound"]
            )
        else:
            inherits = tuple(parents)
        return _Table(
            schema=rel["schema"],
            name=rel["name"],
            # a partition's columns all come from its parent: not marked (nself/ir/model.py)
            columns=tuple(
                self.column(c, inherited=not c[_A_LOCAL] and not rel["is_partition"]) for c in cols
            ),
            constraints=tuple(constraints),
            partition_by=partition_by,
            partition_of=partition_of,
            inherits=inherits,
            unlogged=rel["unlogged"],
            rls_enabled=rel["rls_enabled"],
            rls_forced=rel["rls_forced"],
            options=tuple(rel["options"] or ()),
            comment=self.comment("pg_class", rel["oid"]),
            replica_identity=_REPLICA_IDENTITIES[rel["replident"]],
            replica_identity_index=rel["replident_index"],
        )

    def column(self, c: AttributeRow, inherited: bool = False) -> m.Column:
        identity = None
        if c[_A_IDENTITY]:
            seq = self.identities[(c[_A_RELID], c[_A_NUM])]
            identity = _Identity(
                generation="ALWAYS" if c[_A_IDENTITY] == "a" else "BY DEFAULT",
                start=seq["start"],
                increment=seq["increment"],
                min_value=seq["min_value"],
                max_value=seq["max_value"],
                cache=seq["cache"],
                cycle=seq["cycle"],
            )
        generated = c[_A_DEFAULT] if c[_A_GENERATED] == "s" else None
        return _Column(
            name=c[_A_NAME],
            data_type=c[_A_TYPE],
            not_null=c[_A_NOT_NULL],
            default=None if generated is not None else c[_A_DEFAULT],
            identity=identity,
            generated=generated,
            collation=c[_A_COLLATION],
            comment=self.comment("pg_class", c[_A_RELID], c[_A_NUM]),
            inherited=inherited,
            depends_on=(
                self.depends_on("pg_attrdef", c[_A_ATTRDEF], c[_A_RELID], c[_A_NUM])
                if c[_A_ATTRDEF] is not None
                else None
            ),
        )

    def view_depends_on(self, view: int) -> tuple[m.Dependency, ...]:
        return _dependencies(self.view_dependencies.get(view, ()))

    def depends_on(
        self, owner: str, objid: int, relid: int = 0, attnum: int = 0, own_type: int = 0
    ) -> tuple[m.Dependency, ...]:
        """What the object `objid` of catalog `owner` uses (pg_depend), without its own table
        `relid` (nor its own column `attnum`: a default's), nor its own domain `own_type`
        (a domain check's)."""
        if self.dependencies is None:
            self.dependencies = defaultdict(list)
            for r in self.tuples(Q_DEPENDENCIES):
                self.dependencies[(r[-2], r[-1])].append(r)  # (owner, objid)
        rows = self.dependencies.get((owner, objid))
        if rows is None:  # uses nothing pg_depend records (a third of them: plain defaults)
            return ()
        return _dependencies(
            r
            for r in rows
            if not (r[_KIND] == "relation" and r[_REFOBJID] == relid and r[_REFOBJSUBID] in (0, attnum))
            and not (r[_KIND] == "type" and r[_REFOBJID] == own_type)
        )

    def comment(self, catalog: str, oid: int, subid: int = 0) -> str | None:
        """The comment on object `oid` of `catalog` (pg_class or pg_constraint), or on its
        column `subid`."""
        if self.comments is None:
            self.comments = {
                (r["catalog"], r["objoid"], r["objsubid"]): r["description"] for r in self.rows(Q_COMMENTS)
            }
        return self.comments.get((catalog, oid, subid))

    def view_column_not_null(self, view: int, attnum: int) -> bool:
        """Whether PostgreSQL could know a view column is never NULL: see `view_origins`.
        The origin must be a column pg_depend records the view as using, and its NOT NULL
        is pg_attribute's (of a table), or this same rule's (of another view)."""
        key = (view, attnum)
        if key in self.view_not_null:
            return self.view_not_null[key]
        self.view_not_null[key] = False  # a cycle (impossible in PostgreSQL) stays nullable
        origin = self.view_origins(view).get(attnum)
        used = {(r[_REFOBJID], r[_REFOBJSUBID]) for r in self.view_dependencies.get(view, ())}
        result = False
        if origin is not None and origin in used:
            rel = self.relations.get(origin[0])
            if rel is not None and rel["relkind"] in ("v", "m"):
                result = self.view_column_not_null(*origin)
            elif rel is not None and rel["relkind"] in ("r", "p"):
                column = self.attributes.get(origin)
                result = bool(column and column[_A_NOT_NULL])
        self.view_not_null[key] = result
        return result

    def view_origins(self, view: int) -> dict[int, tuple[int, int]]:
        if view not in self.origins:
            tree = self.relations[view]["query_tree"]
            self.origins[view] = view_column_origins(tree) if tree else {}
        return self.origins[view]

    def column_names(self, relid: int, attnums: list[int] | None) -> tuple[str, ...]:
        return tuple(self.attribute(relid, n)[_A_NAME] for n in attnums or ())

    def attribute(self, relid: int, attnum: int) -> AttributeRow:
        """A column's row as Q_COLUMNS has it; of a relation outside the user's schemas,
        looked up (only its name, NOT NULL and collation then)."""
        try:
            return self.attributes[(relid, attnum)]
        except KeyError:
            r = self.rows(
                "SELECT attname AS name, attnotnull AS not_null, attcollation FROM pg_attribute"
                f" WHERE attrelid = {int(relid)} AND attnum = {int(attnum)}"
            )[0]
            found: list[Any] = [None] * 12
            found[_A_RELID], found[_A_NUM], found[_A_NAME] = relid, attnum, r["name"]
            found[_A_NOT_NULL], found[_A_COLLATION_OID] = r["not_null"], r["attcollation"]
            self.attributes[(relid, attnum)] = tuple(found)
            return self.attributes[(relid, attnum)]

    def index_column(self, r: Row) -> Row:
        """An index column row with its column name and, only when it differs from the
        column's (or expression's) own, its collation."""
        if r["attnum"]:
            column = self.attribute(r["indrelid"], r["attnum"])
            r["column_name"] = column[_A_NAME]
            default_collation = column[_A_COLLATION_OID]
        else:
            r["column_name"] = None
            default_collation = r["expression_collation"]
        if r["collation_oid"] in (0, default_collation):
            r["collation"] = None
        return r

    def constraint(self, r: Row, index_columns: dict[int, list[Row]]) -> m.Constraint:
        kind = r["contype"]
        name: str = r["name"]
        deferrable: bool = r["deferrable"]
        deferred: bool = r["initially_deferred"]
        comment = self.comment("pg_constraint", r["oid"])
        if kind == "c":
            return _CheckConstraint(
                name=name,
                expression=r["expression"],
                no_inherit=r["no_inherit"],
                validated=r["validated"],
                comment=comment,
                depends_on=self.depends_on("pg_constraint", r["oid"], r["conrelid"]),
            )
        if kind == "f":
            return _ForeignKey(
                name=name,
                columns=self.column_names(r["conrelid"], r["conkey"]),
                ref_schema=r["ref_schema"],
                ref_table=r["ref_table"],
                ref_columns=self.column_names(r["confrelid"], r["confkey"]),
                on_update=_FK_ACTIONS[r["confupdtype"]],
                on_delete=_FK_ACTIONS[r["confdeltype"]],
                match=_FK_MATCH[r["confmatchtype"]],
                deferrable=deferrable,
                initially_deferred=deferred,
                validated=r["validated"],
                comment=comment,
            )
        icols = index_columns.get(r["conindid"], [])
        keys = [c for c in icols if c["is_key"]]
        include = tuple(c["column_name"] for c in icols if not c["is_key"])
        if kind == "p":
            return _PrimaryKey(
                name=name,
                columns=tuple(c["column_name"] for c in keys),
                include=include,
                deferrable=deferrable,
                initially_deferred=deferred,
                comment=comment,
            )
        if kind == "u":
            return _UniqueConstraint(
                name=name,
                columns=tuple(c["column_name"] for c in keys),
                include=include,
                nulls_not_distinct=bool(self.indexes.get(r["conindid"], {}).get("nulls_not_distinct")),
                deferrable=deferrable,
                initially_deferred=deferred,
                comment=comment,
            )
        info = self.indexes.get(r["conindid"], {})
        elements = []
        for key, operator in zip(keys, r["operators"], strict=True):
            descending, nulls_first = _direction(key["option"])
            elements.append(
                _ExclusionElement(
                    # a column name, or the expression as an index key has it, in parentheses
                    expression=key["column_name"] or f"({_strip_parens(key['expression'])})",
                    operator=operator,
                    opclass=key["opclass"],
                    descending=descending,
                    nulls_first=nulls_first,
                )
            )
        return _ExclusionConstraint(
            name=name,
            method=info.get("method", "gist"),
            elements=tuple(elements),
            include=include,
            predicate=info.get("predicate"),
            deferrable=deferrable,
            initially_deferred=deferred,
            comment=comment,
            # the constraint's (its columns) and its index's (expressions, predicate), and
            # its operators outside pg_catalog: pg_depend holds none for them (only its
            # index's on the operator class they belong to), pg_constraint.conexclop does
            depends_on=tuple(
                sorted(
                    {
                        *self.depends_on("pg_constraint", r["oid"], r["conrelid"]),
                        *self.depends_on("pg_class", r["conindid"], r["conrelid"]),
                        *(_Dependency("operator", schema, op) for schema, op in r["operators_used"]),
                    }
                )
            ),
        )

    def index(self, r: Row, icols: list[Row]) -> m.Index:
        keys = []
        for c in icols:
            if not c["is_key"]:
                continue
            descending, nulls_first = _direction(c["option"])
            keys.append(
                _IndexKey(
                    column=c["column_name"],
                    expression=None if c["column_name"] else _strip_parens(c["expression"]),
                    collation=c["collation"],
                    opclass=c["opclass"],
                    descending=descending,
                    nulls_first=nulls_first,
                )
            )
        return _Index(
            schema=r["schema"],
            name=r["name"],
            table=r["table"],
            keys=tuple(keys),
            unique=r["unique"],
            method=r["method"],
            include=tuple(c["column_name"] for c in icols if not c["is_key"]),
            predicate=r["predicate"],
            nulls_not_distinct=r["nulls_not_distinct"],
            options=tuple(r["options"] or ()),
            comment=self.comment("pg_class", r["indexrelid"]),
            depends_on=self.depends_on("pg_class", r["indexrelid"], r["indrelid"]),
        )

    # ----------------------------------------------------------------- routines

    def read_functions(self) -> None:
        for r in self.rows(Q_FUNCTIONS):
            f = self.function(r)
            if r["atomic"] or r["prokind"] == "a":  # a SQL-standard body's uses; an aggregate's
                f = dataclasses.replace(f, depends_on=self.depends_on("pg_proc", r["oid"]))
            else:
                f = dataclasses.replace(f, defaults_depends_on=self.depends_on("pg_proc", r["oid"]))
            self.functions[r["oid"]] = f
            self.builder.add(f)

    def read_operators(self) -> None:
        for r in self.rows(Q_OPERATORS):
            self.builder.add(
                m.Operator(
                    schema=r["schema"],
                    name=r["name"],
                    left_type=r["left_type"],
                    right_type=r["right_type"],
                    function=r["function"],
                    commutator=r["commutator"],
                    negator=r["negator"],
                    restrict=r["restrict"],
                    join=r["join"],
                    hashes=r["hashes"],
                    merges=r["merges"],
                    comment=r["comment"],
                )
            )

    def analyse_sql_bodies(self) -> None:
        """What each LANGUAGE sql string body uses (Function.body_depends_on), analysed over
        the catalog read, as the sql frontend analyses it (nself.frontends.sql_bodies), with
        the routine's own SET search_path or else the default one (`"$user", public`: the
        path it was created with is not recorded). A body the analysis does not model, or
        whose names do not resolve there, is left not analysed (None)."""
        functions = [f for f in self.builder.all(m.Function) if f.language == "sql"]
        if not functions:
            return
        # the analyser: imported only for a schema that needs it
        from nself.frontends import sql_bodies
        from nself.ir.names import DEFAULT_SEARCH_PATH

        for f in functions:
            if not sql_bodies.analysed(f):
                continue
            try:
                used = sql_bodies.body_dependencies(f, self.builder, DEFAULT_SEARCH_PATH)
            except Exception:  # not modelled or not resolved, as the sql frontend warns of
                continue
            self.builder.add(dataclasses.replace(f, body_depends_on=used))

    @staticmethod
    def function(r: Row) -> m.Function:
        types: list[str] = r["argtypes"]
        names: list[str] = r["proargnames"] or []
        modes: list[str] = r["proargmodes"] or ["i"] * len(types)
        defaults: list[str | None] = r["argdefaults"] or [None] * len(types)
        arguments = tuple(
            _FunctionArgument(
                name=(names[i] or None) if i < len(names) else None,
                data_type=types[i],
                mode=_ARG_MODES[modes[i]],
                default=defaults[i],
            )
            for i in range(len(types))
        )
        default_cost = 1.0 if r["language"] in ("c", "internal") else 100.0
        default_rows = 1000.0 if r["proretset"] else 0.0
        cost = float(r["procost"])
        rows = float(r["prorows"])
        return _Function(
            schema=r["schema"],
            name=r["name"],
            arguments=arguments,
            kind=_FUNCTION_KINDS[r["prokind"]],
            returns=r["returns"],
            language=r["language"],
            body=r["aggregate_options"] or r["body"] or "",
            volatility=_VOLATILITY[r["provolatile"]],
            strict=r["strict"],
            security_definer=r["security_definer"],
            leakproof=r["leakproof"],
            parallel=_PARALLEL[r["proparallel"]],
            cost=None if cost == default_cost else cost,
            rows=None if rows == default_rows else rows,
            config=tuple(r["proconfig"] or ()),
            comment=r["comment"],
        )

    # ----------------------------------------------------------------- table-scoped

    def read_triggers(self) -> None:
        for r in self.rows(Q_TRIGGERS):
            tgtype: int = r["tgtype"]
            if tgtype & _TRIGGER_INSTEAD:
                timing: Literal["BEFORE", "AFTER", "INSTEAD OF"] = "INSTEAD OF"
            elif tgtype & _TRIGGER_BEFORE:
                timing = "BEFORE"
            else:
                timing = "AFTER"
            raw: bytes = bytes(r["tgargs"] or b"")
            arguments = tuple(a.decode(self.encoding) for a in raw.split(b"\0")[: r["tgnargs"]])
            self.builder.add(
                _Trigger(
                    schema=r["schema"],
                    table=r["table"],
                    name=r["name"],
                    timing=timing,
                    events=tuple(event for bit, event in _TRIGGER_EVENTS if tgtype & bit),
                    function_schema=r["function_schema"],
                    function=r["function"],
                    for_each_row=bool(tgtype & _TRIGGER_ROW),
                    arguments=arguments,
                    update_columns=self.column_names(r["tgrelid"], r["tgattr"]),
                    when=trigger_when(r["triggerdef"]) if r["triggerdef"] else None,
                    constraint=r["constraint"],
                    deferrable=r["deferrable"],
                    initially_deferred=r["initially_deferred"],
                    enabled=r["enabled"],
                    old_table=r["old_table"],
                    new_table=r["new_table"],
                    comment=r["comment"],
                    depends_on=self.depends_on("pg_trigger", r["oid"], r["tgrelid"]),
                )
            )

    def read_policies(self) -> None:
        for r in self.rows(Q_POLICIES):
            self.builder.add(
                _Policy(
                    schema=r["schema"],
                    table=r["table"],
                    name=r["name"],
                    permissive=r["permissive"],
                    command=_POLICY_COMMANDS[r["polcmd"]],
                    roles=tuple(sorted(r["roles"])),
                    using=r["using"],
                    with_check=r["with_check"],
                    comment=r["comment"],
                    depends_on=self.depends_on("pg_policy", r["oid"], r["polrelid"]),
                )
            )

    def read_publications(self) -> None:
        publications = self.rows(Q_PUBLICATIONS)
        if not publications:
            return
        tables: dict[int, list[m.PublicationTable]] = defaultdict(list)
        for r in self.rows(Q_PUBLICATION_TABLES):
            tables[r["pubid"]].append(
                _PublicationTable(
                    r["schema"],
                    r["table"],
                    tuple(r["columns"]),
                    r["where"],
                    depends_on=self.depends_on("pg_publication_rel", r["oid"], r["prrelid"]),
                )
            )
        schemas: dict[int, list[str]] = defaultdict(list)
        if self.version >= 150000:
            for r in self.rows(Q_PUBLICATION_SCHEMAS):
                schemas[r["pubid"]].append(r["schema"])
        for r in publications:
            self.builder.add(
                _Publication(
                    name=r["name"],
                    all_tables=r["all_tables"],
                    tables=tuple(sorted(tables[r["oid"]], key=lambda t: (t.schema, t.table))),
                    schemas=tuple(sorted(schemas[r["oid"]])),
                    publish=tuple(
                        action for action in ("insert", "update", "delete", "truncate") if r[f"pub{action}"]
                    ),
                    via_partition_root=r["via_root"],
                    comment=r["comment"],
                )
            )

    def read_privileges(self) -> None:
        for r in self.rows(Q_PRIVILEGES):
            name: str = r["name"]
            if r["kind"] == "FUNCTION":
                function = self.functions.get(r["objid"])
                if function is None:  # an ordered-set aggregate: not in the IR
                    continue
                name = f"{function.name}({function.identity_arguments})"
            privilege = _Privilege(
                object_kind=r["kind"],
                schema=r["schema"],
                object_name=name,
                grantee=r["grantee"],
                privilege=r["privilege_type"],
                column=r["column_name"],
                grantable=r["is_grantable"],
            )
            # The same grant from two grantors is one privilege, grantable if either is.
            known = self.builder.get(m.Privilege, *identity_of(privilege))
            if known is None or (privilege.grantable and not known.grantable):
                self.builder.add(privilege)


# --------------------------------------------------------------------------- text helpers


def _direction(option: int | None) -> tuple[bool, bool | None]:
    """(descending, nulls_first) from an indoption; nulls_first None when it is the
    default for the direction (NULLS LAST ascending, NULLS FIRST descending)."""
    option = option or 0
    descending = bool(option & _INDOPTION_DESC)
    nulls_first = bool(option & _INDOPTION_NULLS_FIRST)
    return descending, (None if nulls_first == descending else nulls_first)


def _strip_parens(text: str) -> str:
    """`text` without one pair of parentheses around the whole of it, if it has them."""
    if text.startswith("(") and _matching_paren(text, 0) == len(text) - 1:
        return text[1:-1]
    return text


def _matching_paren(text: str, start: int) -> int:
    """The index of the parenthesis closing the one at `start`, skipping string literals
    and quoted identifiers; -1 when it is not closed."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            escapes = (
                i > 0 and text[i - 1] in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            )
            i += 1
            while i < n:
                if escapes and text[i] == "\\":
                    i += 2
                    continue
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        i += 2
                        continue
                    break
                i += 1
        elif ch == '"':
            i += 1
            while i < n:
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        i += 2
                        continue
                    break
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


# The tokens of PostgreSQL's node text (outfuncs.c, read back by read.c's pg_strtok): a
# brace or parenthesis alone, else a run of other characters up to whitespace or one of
# them, backslash escaping the next character. (Written as a first character or escape, then
# possessive runs: the same tokens as `(?:\\.|[^\s(){}\\])+`, in half the time on a view's tree.)
_NODE_TOKEN = re.compile(r"[(){}]|(?:[^\s(){}\\]|\\.)(?:[^\s(){}\\]++|\\.)*+")

NodeValue = Any  # a node (dict with "_": its type), a list of values, a token (str) or None


def read_node_tree(text: str) -> NodeValue:
    """A query tree as stored in the catalog (pg_rewrite.ev_action, pg_node_tree) read back
    into values, as PostgreSQL's nodeRead does: `{TYPE :field value ...}` is a dict with its
    type under "_", `(...)` a list, `<>` None; a field whose value spans several tokens
    (`:constvalue 4 [ 1 0 0 0 ]`) keeps them as a list."""
    return _read_tokens(_NODE_TOKEN.findall(text))


def _read_tokens(tokens: list[str]) -> NodeValue:
    """The values of node text already split into tokens (read_node_tree)."""
    stack: list[Any] = [[]]  # open lists and nodes; a node's field being read is in "__field"
    for token in tokens:
        top = stack[-1]
        if token == "{":
            stack.append({"_": None})
        elif token == "(":
            stack.append([])
        elif token in ("}", ")"):
            done = stack.pop()
            if isinstance(done, dict):
                _end_field(done)
            _add_value(stack[-1], done)
        elif isinstance(top, dict) and top["_"] is None:
            top["_"] = token
        elif isinstance(top, dict) and token.startswith(":"):
            _end_field(top)
            top["__field"] = token[1:]
            top["__values"] = []
        else:
            _add_value(top, None if token == "<>" else token)
    result = stack[0]
    return result[0] if len(result) == 1 else result


def _add_value(container: Any, value: Any) -> None:
    if isinstance(container, dict):
        container.setdefault("__values", []).append(value)
    else:
        container.append(value)


def _end_field(node: dict[str, Any]) -> None:
    field = node.pop("__field", None)
    values = node.pop("__values", [])
    if field is not None:
        node[field] = values[0] if len(values) == 1 else (values or None)


# Fields whose value, other than `<>`, lets a query turn a NOT NULL column's value into NULL
# (see view_column_origins). Each belongs to one kind of node of a stored query tree:
# jointype to JOINEXPR and RANGETBLENTRY (1, 2, 3: LEFT, FULL, RIGHT), setOperations and
# groupingSets to QUERY.
_NULLING_FIELDS = ((":jointype", ("1", "2", "3")), (":setOperations", None), (":groupingSets", None))


def _can_null_a_column(tokens: list[str]) -> bool:
    """Whether anything in a query tree's tokens can make a plain column reference NULL
    although its column is NOT NULL: an outer join (on a join or its range table entry), a
    set operation, grouping sets. (list.index scans at C speed: a view's tree is
    thousands of tokens, its range table most of them.)"""
    last = len(tokens) - 1
    for field, values in _NULLING_FIELDS:
        at = -1
        while True:
            try:
                at = tokens.index(field, at + 1)
            except ValueError:
                break
            if at < last and (tokens[at + 1] in values if values else tokens[at + 1] != "<>"):
                return True
    return False


def _depth(tokens: list[str], end: int) -> int:
    """How many lists and nodes are open before tokens[end]."""
    head = tokens[:end]
    return head.count("(") + head.count("{") - head.count(")") - head.count("}")


def _top_target_list(tokens: list[str]) -> list[Any]:
    """The targetList of the first query in a query tree's tokens, read into values (the
    rest of the tree is not read: the range table, before it, is most of the text)."""
    try:
        top = tokens.index("{")
    except ValueError:
        return []
    fields_depth = _depth(tokens, top) + 1
    at = top
    while True:
        try:
            at = tokens.index(":targetList", at + 1)
        except ValueError:
            return []
        if _depth(tokens, at) == fields_depth:  # a field of the first query, not of a subquery's
            break
    if at + 1 >= len(tokens) or tokens[at + 1] != "(":
        return []  # <>: no target list
    depth = 0
    for end in range(at + 1, len(tokens)):
        token = tokens[end]
        if token in ("(", "{"):
            depth += 1
        elif token in (")", "}"):
            depth -= 1
            if depth == 0:
                break
    value = _read_tokens(tokens[at + 1 : end + 1])
    return value if isinstance(value, list) else [value]


def view_column_origins(tree: str) -> dict[int, tuple[int, int]]:
    """For a view's query tree (pg_rewrite.ev_action as text): the view columns that are a
    bare column reference, as {column number: (relation oid, attnum)} of the column they
    come from (PostgreSQL's resorigtbl/resorigcol of the top query's target entries, traced
    through subqueries in FROM).

    The view's columns may be NOT NULL only when nothing anywhere in the query can turn a
    value into NULL: so a query with an outer join, a set operation or grouping sets gives
    no origins at all."""
    tokens = _NODE_TOKEN.findall(tree)
    if _can_null_a_column(tokens):
        return {}
    origins: dict[int, tuple[int, int]] = {}
    for entry in _top_target_list(tokens):
        if not isinstance(entry, dict) or entry.get("resjunk") != "false":
            continue
        expr = entry.get("expr")
        table, column = int(entry.get("resorigtbl") or 0), int(entry.get("resorigcol") or 0)
        if isinstance(expr, dict) and expr["_"] == "VAR" and table:
            origins[int(entry["resno"])] = (table, column)
    return origins


_WHEN_MARKERS = (" FOR EACH ROW WHEN (", " FOR EACH STATEMENT WHEN (")


def trigger_when(triggerdef: str) -> str | None:
    """The WHEN condition of a trigger, from pg_get_triggerdef(oid, false): the text inside
    `WHEN ( ... )`."""
    for marker in _WHEN_MARKERS:
        at = triggerdef.find(marker)
        if at >= 0:
            open_at = at + len(marker) - 1
            close_at = _matching_paren(triggerdef, open_at)
            if close_at > open_at:
                return triggerdef[open_at + 1 : close_at]
    return None
