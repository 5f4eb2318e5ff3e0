"""`schema docs` read from a live database: each table's row count and size against what
PostgreSQL says (count(*), pg_class.reltuples, pg_total_relation_size), and the html page
in a real headless Chromium (tests/browser.py): no console error or request, each table's
neighbourhood diagram holds exactly the tables pg_constraint joins it to, the search box
filters the page. A screenshot is left in the test's output folder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nself.backends.docs.document import anchor, qualified
from nself.frontends.live import introspect
from nself.runtime.cluster import LocalCluster
from nself.runtime.docs import document_schema, read_table_statistics
from tests.browser import Browser
from tests.conftest import run_sql
from tests.corpus import create_loaded, pagila

pytestmark = pytest.mark.oracle

Key = tuple[str, str]

# Rows in a few of pagila's tables, a partitioned table and a table never analyzed.
DATA_SQL = """
INSERT INTO public.language (name) SELECT 'language ' || g FROM generate_series(1, 120) g;
INSERT INTO public.country (country) SELECT 'country ' || g FROM generate_series(1, 3000) g;
INSERT INTO public.city (city, country_id) SELECT 'city ' || g, 1 + g % 3000 FROM generate_series(1, 5000) g;
CREATE TABLE public.measurement (id int, at date NOT NULL, reading text) PARTITION BY RANGE (at);
CREATE TABLE public.measurement_2024 PARTITION OF public.measurement FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.measurement_2025 PARTITION OF public.measurement FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO public.measurement SELECT g, date '2024-01-01' + g % 700, repeat('x', 200) FROM generate_series(1, 20000) g;
CREATE TABLE public.unanalyzed (id int);
INSERT INTO public.unanalyzed SELECT generate_series(1, 500);
-- sizes must hold still while the test compares them: no autovacuum adds a free-space or
-- visibility map behind its back, and the table that must stay unanalyzed stays so
DO $$
DECLARE t regclass;
BEGIN
  FOR t IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'r' LOOP
    EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = off)', t);
  END LOOP;
END $$;
"""
ANALYZE_SQL = "VACUUM ANALYZE public.language, public.country, public.city, public.measurement;"

# Sizes as PostgreSQL gives them: a partitioned table's are its partitions' (pg_inherits).
SIZES_SQL = """
SELECT n.nspname, c.relname,
  CASE WHEN c.relkind = 'p'
    THEN (SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i WHERE i.inhparent = c.oid)
    ELSE pg_total_relation_size(c.oid) END::bigint,
  c.reltuples, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'
"""

NEIGHBOURS_SQL = """
SELECT cn.nspname, cc.relname, pn.nspname, pc.relname
FROM pg_constraint con
JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
JOIN pg_class pc ON pc.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0
"""


@pytest.fixture(scope="module")
def live_pagila(corpus: Path, pg_cluster: LocalCluster) -> Iterator[str]:
    """pagila's schema with some rows, in a database of its own (for the module)."""
    name = f"docs_live_{uuid.uuid4().hex[:8]}"
    url = create_loaded(pg_cluster, name, pagila(corpus))
    run_sql(url, DATA_SQL)
    run_sql(url, ANALYZE_SQL)  # VACUUM runs outside a transaction block
    yield url
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgresql_says(url: str) -> tuple[dict[Key, int], dict[Key, int], dict[Key, float], dict[Key, str]]:
    """(count(*), total bytes, reltuples, relkind) of every table of public."""
    with psycopg.connect(url) as conn:
        facts = conn.execute(SIZES_SQL).fetchall()
        counts = {
            (s, n): int(conn.execute(f'SELECT count(*) FROM "{s}"."{n}"').fetchone()[0])  # type: ignore[index]
            for s, n, _, _, _ in facts
        }
    return (
        counts,
        {(s, n): b for s, n, b, _, _ in facts},
        {(s, n): t for s, n, _, t, _ in facts},
        {(s, n): k for s, n, _, _, k in facts},
    )


def test_row_counts_and_sizes_are_postgresqls(live_pagila: str) -> None:
    counts, sizes, _, _ = postgresql_says(live_pagila)
    statistics = read_table_statistics(live_pagila)
    for key, count in counts.items():
        assert statistics[key].exact, key
        assert statistics[key].rows == count, key
        assert statistics[key].total_bytes == sizes[key], key
    assert statistics[("public", "measurement")].rows == 20000
    assert statistics[("public", "city")].rows == 5000


def test_big_tables_show_postgresqls_estimate(live_pagila: str) -> None:
    _, sizes, reltuples, kinds = postgresql_says(live_pagila)
    statistics = read_table_statistics(live_pagila, exact_count_bytes=0)
    for key, tuples in reltuples.items():
        found = statistics[key]
        assert found.total_bytes == sizes[key], key
        if found.exact:  # an empty heap is counted, whatever the threshold
            assert found.rows == 0 and sizes[key] >= 0, key
        elif key == ("public", "unanalyzed"):
            assert found.rows is None  # never analyzed: no guess
        elif kinds[key] != "p":
            assert found.rows == max(int(tuples), 0), key
    assert statistics[("public", "measurement")].rows == 20000  # ANALYZE counted every row
    assert not statistics[("public", "measurement")].exact


def test_html_docs_in_chromium(live_pagila: str, browser: Browser, tmp_path: Path) -> None:
    catalog = introspect(live_pagila)
    [(name, text)] = document_schema(catalog, "html", url=live_pagila).items()
    page = tmp_path / name
    page.write_text(text, encoding="utf-8")
    browser.open(page)

    counts, sizes, _, _ = postgresql_says(live_pagila)
    shown = browser.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('section.object.table')].map(s => [s.id, {
             rows: s.querySelector('dd.rows')?.dataset.rows,
             bytes: s.querySelector('dd.size')?.dataset.bytes,
             left: [...s.querySelectorAll('figure.neighbourhood g.referenced-by')].map(g => g.dataset.table),
             right: [...s.querySelectorAll('figure.neighbourhood g.references')].map(g => g.dataset.table),
           }]))"""
    )
    referenced: dict[Key, set[str]] = {}
    referencing: dict[Key, set[str]] = {}
    with psycopg.connect(live_pagila) as conn:
        for cs, cn, ps, pn in conn.execute(NEIGHBOURS_SQL):
            if (cs, cn) != (ps, pn):
                referenced.setdefault((cs, cn), set()).add(qualified(ps, pn))
                referencing.setdefault((ps, pn), set()).add(qualified(cs, cn))
    assert set(shown) == {anchor("table", *key) for key in counts}
    for key, count in counts.items():
        section = shown[anchor("table", *key)]
        assert int(section["rows"]) == count, key
        assert int(section["bytes"]) == sizes[key], key
        assert set(section["right"]) == referenced.get(key, set()), key
        assert set(section["left"]) == referencing.get(key, set()), key

    # the search box: only the objects whose name holds the text stay
    browser.fill("#search", "film")
    visible = browser.evaluate(
        "() => [...document.querySelectorAll('section.object.table:not(.hidden) h3 code')].map(c => c.textContent)"
    )
    assert sorted(visible) == sorted(qualified(*k) for k in counts if "film" in qualified(*k))
    screenshot = browser.screenshot(tmp_path / "docs.png")
    browser.fill("#search", "")
    assert browser.evaluate("() => document.querySelectorAll('section.object.hidden').length") == 0
    errors, requests = browser.problems()
    assert errors == [] and requests == []
    print(f"screenshot: {screenshot}")
