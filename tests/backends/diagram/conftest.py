"""Databases the diagram tests draw, loaded once per session, and what PostgreSQL itself
says they hold (pg_class, pg_constraint, pg_attribute, pg_index): the oracle every format
is compared with."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.ir import Catalog
from nself.runtime.cluster import LocalCluster
from tests import golden
from tests.conftest import run_sql
from tests.corpus import create_loaded, lemmy, openstreetmap, pagila

HERE = Path(__file__).resolve().parent
EDGE_CASES_SQL = HERE / "edge_cases.sql"
GOLDEN = HERE / "golden"
CASES = ("edge_cases", "pagila", "openstreetmap", "lemmy")

# Relations of the user's schemas: not the system's and not an extension's own.
RELATIONS_SQL = """
SELECT n.nspname, c.relname, c.relkind, pn.nspname, p.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_class p ON p.oid = i.inhparent LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
"""

# Foreign keys as declared (conparentid = 0: the copies PostgreSQL makes on partitions are
# the partitioned table's one key), with the facts their cardinality follows from.
FOREIGN_KEYS_SQL = """
SELECT cn.nspname, cc.relname, pn.nspname, pc.relname, con.conname,
  (SELECT string_agg(a.attname, ', ' ORDER BY k.i)
   FROM unnest(con.conkey) WITH ORDINALITY AS k(n, i)
   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS columns,
  NOT EXISTS (SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey) AND NOT a.attnotnull)
    AS not_null,
  EXISTS (SELECT 1 FROM pg_index i
          WHERE i.indrelid = con.conrelid AND i.indisunique AND i.indpred IS NULL
            AND i.indexprs IS NULL
            AND (i.indkey::int2[])[0:i.indnkeyatts - 1] <@ con.conkey) AS unique_child,
  EXISTS (SELECT 1 FROM pg_index i
          WHERE i.indrelid = con.conrelid AND i.indisprimary
            AND con.conkey <@ (i.indkey::int2[])[0:i.indnkeyatts - 1]) AS identifying
FROM pg_constraint con
JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
JOIN pg_class pc ON pc.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = cc.oid AND d.deptype = 'e')
"""

# Each column with the markers a box shows: in the primary key, in a foreign key (any, the
# copies on partitions too), unique on its own by a non-primary unique index without
# predicate or expressions, NOT NULL (PostgreSQL records none on view columns).
COLUMNS_SQL = """
SELECT n.nspname, c.relname, a.attname,
  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary
          AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])) AS pk,
  EXISTS (SELECT 1 FROM pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f'
          AND a.attnum = ANY (f.conkey)) AS fk,
  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND NOT i.indisprimary
          AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum
          AND i.indpred IS NULL AND i.indexprs IS NULL) AS uk,
  a.attnotnull
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1, 2, a.attnum
"""

Key = tuple[str, str]
LoadCase = Callable[[str], "Loaded"]


@dataclass(frozen=True)
class Edge:
    """A foreign key: `child` references `parent`; the sides are how many rows one row at
    the other end has (one, zero_or_one, zero_or_more)."""

    child: Key
    parent: Key
    name: str
    columns: str  # the child's columns, in key order, joined by ", "
    parent_side: str
    child_side: str
    identifying: bool


@dataclass(frozen=True)
class Loaded:
    """A schema loaded into PostgreSQL: nself's catalog of it and PostgreSQL's own word."""

    name: str
    catalog: Catalog
    relations: dict[Key, str]  # relkind
    partition_parents: dict[Key, Key]
    foreign_keys: Counter[Edge]
    columns: dict[Key, tuple[str, ...]]
    # (column, keys as mermaid lists them, NOT NULL) per relation, in column order
    markers: dict[Key, tuple[tuple[str, tuple[str, ...], bool], ...]]


Markers = dict[Key, tuple[tuple[str, tuple[str, ...], bool], ...]]


def pg_facts(
    url: str,
) -> tuple[dict[Key, str], dict[Key, Key], Counter[Edge], dict[Key, tuple[str, ...]], Markers]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(RELATIONS_SQL).fetchall()
        relations = {(s, n): kind for s, n, kind, _, _ in rows}
        partition_parents = {(s, n): (ps, pn) for s, n, _, ps, pn in rows if pn is not None}
        foreign_keys: Counter[Edge] = Counter(
            Edge(
                (cs, cn),
                (ps, pn),
                name,
                columns,
                "one" if not_null else "zero_or_one",
                "zero_or_one" if unique_child else "zero_or_more",
                identifying,
            )
            for cs, cn, ps, pn, name, columns, not_null, unique_child, identifying in conn.execute(
                FOREIGN_KEYS_SQL
            )
        )
        columns: dict[Key, list[str]] = {}
        markers: dict[Key, list[tuple[str, tuple[str, ...], bool]]] = {}
        for schema, relation, column, pk, fk, uk, not_null in conn.execute(COLUMNS_SQL):
            if (schema, relation) in relations:
                columns.setdefault((schema, relation), []).append(column)
                keys = tuple(k for k, on in (("PK", pk), ("FK", fk), ("UK", uk)) if on)
                markers.setdefault((schema, relation), []).append((column, keys, not_null))
    return (
        relations,
        partition_parents,
        foreign_keys,
        {k: tuple(v) for k, v in columns.items()},
        {k: tuple(v) for k, v in markers.items()},
    )


@pytest.fixture(scope="session")
def diagram_databases(pg_cluster: LocalCluster) -> dict[str, Loaded]:
    """Loaded cases by name, each loaded on first use. Not dropped one by one at the end:
    the session's cluster is removed then (a DROP DATABASE costs a checkpoint each)."""
    return {}


@pytest.fixture
def load_case(
    request: pytest.FixtureRequest, pg_cluster: LocalCluster, diagram_databases: dict[str, Loaded]
) -> LoadCase:
    def load(case: str) -> Loaded:
        if case in diagram_databases:
            return diagram_databases[case]
        database = f"diagram_{case}_{uuid.uuid4().hex[:8]}"
        if case == "edge_cases":
            with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            url = pg_cluster.url(database)
            run_sql(url, EDGE_CASES_SQL.read_text(encoding="utf-8"))
        else:
            corpus_dir: Path = request.getfixturevalue("corpus")
            chosen = {"pagila": pagila, "openstreetmap": openstreetmap, "lemmy": lemmy}[case](corpus_dir)
            url = create_loaded(pg_cluster, database, chosen)
        relations, partition_parents, foreign_keys, columns, markers = pg_facts(url)
        diagram_databases[case] = Loaded(
            database, introspect(url), relations, partition_parents, foreign_keys, columns, markers
        )
        return diagram_databases[case]

    return load


def assert_golden(name: str, text: str) -> None:
    """Compare `text` with golden/`name` (tests/golden.py)."""
    golden.assert_golden(GOLDEN / name, text)
