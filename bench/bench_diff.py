"""Schema-diff time, nself against migra, on the same pairs of databases in one run.

    python bench/bench_diff.py [--repeat N] [--tables N] [--corpus PATH]

Pairs (each an A and a B database in a throwaway cluster):
- pagila: the corpus's pagila schema, and pagila with a dozen edits of every kind;
- generated: N tables (default 1,000) with primary keys, foreign keys, indexes and a view
  every tenth table, and the same with 10% of tables changed (columns added, dropped and
  retyped, indexes added, tables dropped and created).

For each tool: the whole job (read both databases, diff, render SQL) and the diff +
render alone (both schemas already read). Prints the median of --repeat runs; no
assertions (DESIGN.md: figures, never timing tests)."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import scratch  # noqa: E402
from nself.backends.sql.migration import render_operations  # noqa: E402
from nself.frontends.live import introspect  # noqa: E402
from nself.ir.diff import diff  # noqa: E402

PAGILA_EDITS = """
SET search_path = public;
CREATE TABLE review (review_id serial PRIMARY KEY, film_id integer REFERENCES film(film_id), stars smallint);
ALTER TABLE customer ADD COLUMN loyalty integer NOT NULL DEFAULT 0;
ALTER TABLE staff DROP COLUMN picture;
ALTER TABLE language ALTER COLUMN name TYPE character(10);
ALTER TYPE mpaa_rating ADD VALUE 'NC-18';
DROP INDEX idx_title; CREATE INDEX idx_title ON film (lower(title));
ALTER TABLE film ADD CONSTRAINT film_length_check CHECK (length > 0);
DROP VIEW sales_by_store; CREATE VIEW sales_by_store AS SELECT 1 AS one;
CREATE OR REPLACE FUNCTION last_updated() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.last_update = clock_timestamp(); RETURN NEW; END $$;
ALTER TABLE customer ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_store ON customer FOR SELECT USING (store_id = 1);
COMMENT ON TABLE film IS 'films';
GRANT SELECT ON customer TO PUBLIC;
"""


def generated_schema(tables: int, changed: bool) -> str:
    """`tables` tables in 10 schemas; with `changed`, every tenth table is altered."""
    out = [f"CREATE SCHEMA s{i};" for i in range(10)]
    for i in range(tables):
        schema = f"s{i % 10}"
        cols = [
            "id bigserial PRIMARY KEY",
            "name text NOT NULL",
            "created_at timestamptz DEFAULT now()",
            "score integer",
        ]
        if i > 0:
            cols.append(f"parent_id bigint REFERENCES s{(i - 1) % 10}.t{i - 1}(id)")
        touched = changed and i % 10 == 3
        if touched:
            cols[3] = "score bigint"  # retyped
            cols.append("extra text DEFAULT 'x'")  # added
            cols.remove("created_at timestamptz DEFAULT now()")  # dropped
        if changed and i % 10 == 7 and i + 1 < tables:
            continue  # dropped table (no later table references it: see below)
        if i > 0 and changed and (i - 1) % 10 == 7:
            cols = [c for c in cols if not c.startswith("parent_id")]
        out.append(f"CREATE TABLE {schema}.t{i} ({', '.join(cols)});")
        out.append(f"CREATE INDEX t{i}_name_idx ON {schema}.t{i} (name);")
        if touched:
            out.append(f"CREATE INDEX t{i}_score_idx ON {schema}.t{i} (score) WHERE score > 0;")
        if i % 10 == 0:
            out.append(f"CREATE VIEW {schema}.v{i} AS SELECT id, name FROM {schema}.t{i};")
    if changed:
        out.append("CREATE TABLE s0.brand_new (id int PRIMARY KEY, note text);")
    return "\n".join(out)


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def nself_full(a: str, b: str) -> str:
    return render_operations(diff(introspect(a), introspect(b)))


def nself_cli(a: str, b: str) -> str:
    """As `nself schema diff` runs it: both databases read at once."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        fa, fb = pool.submit(introspect, a), pool.submit(introspect, b)
        return render_operations(diff(fa.result(), fb.result()))


def migra_parts() -> tuple[Any, Any, Any] | None:
    try:
        warnings.filterwarnings("ignore")
        from migra import Migration
        from schemainspect import get_inspector
        from sqlalchemy.pool import NullPool
        from sqlbag import S
    except ImportError as exc:
        print(f"migra not available ({exc}): pip install -e '.[test]'")
        return None

    def inspect(url: str) -> Any:
        with S(url, poolclass=NullPool) as s:
            return get_inspector(s)

    def full(a: str, b: str) -> str:
        with S(a, poolclass=NullPool) as s0, S(b, poolclass=NullPool) as s1:
            m = Migration(s0, s1)
            m.set_safety(False)
            m.add_all_changes()
            return str(m.sql)

    def alone(ia: Any, ib: Any) -> str:
        m = Migration(ia, ib)
        m.set_safety(False)
        m.add_all_changes()
        return str(m.sql)

    return inspect, full, alone


def run_pair(label: str, a: str, b: str, repeat: int) -> None:
    ca, cb = introspect(a), introspect(b)
    ops = diff(ca, cb)
    rows = [
        ("nself", "introspect A + B, diff, render", median_time(lambda: nself_full(a, b), repeat)),
        ("nself", "diff + render alone", median_time(lambda: render_operations(diff(ca, cb)), repeat)),
        ("nself", "as the CLI runs it (reads at once)", median_time(lambda: nself_cli(a, b), repeat)),
    ]
    peer = migra_parts()
    if peer is not None:
        inspect, full, alone = peer
        ia, ib = inspect(a), inspect(b)
        rows.append(("migra", "inspect A + B, diff, render", median_time(lambda: full(a, b), repeat)))
        rows.append(("migra", "diff + render alone", median_time(lambda: alone(ia, ib), repeat)))
    print(
        f"\n{label}: {len(ca.tables)} -> {len(cb.tables)} tables, {len(ops)} operations (median of {repeat})"
    )
    for tool, what, seconds in rows:
        print(f"  {tool:<6} {what:<34} {seconds * 1000:9.1f} ms")
    if peer is not None:
        print(
            f"  ratio nself/migra: whole job {rows[0][2] / rows[3][2]:.2f} "
            f"(as the CLI runs it {rows[2][2] / rows[3][2]:.2f}), diff alone {rows[1][2] / rows[4][2]:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument(
        "--corpus", type=Path, default=Path(os.environ.get("NSELF_CORPUS", REPO.parent / "shared" / "corpus"))
    )
    args = parser.parse_args()

    with scratch("diff") as place:

        def database(sql: str) -> str:
            url = place.database("b")
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(sql.encode())
            return url

        pagila = args.corpus / "schemas" / "pagila" / "pagila-schema.sql"
        if pagila.is_file():
            text = pagila.read_text(encoding="utf-8")
            run_pair("pagila", database(text), database(text + PAGILA_EDITS), args.repeat)
        else:
            print(f"pagila skipped: {pagila} not found")
        run_pair(
            f"generated {args.tables} tables",
            database(generated_schema(args.tables, changed=False)),
            database(generated_schema(args.tables, changed=True)),
            args.repeat,
        )


if __name__ == "__main__":
    main()
