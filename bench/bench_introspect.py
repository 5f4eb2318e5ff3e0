"""Live-introspection benchmark: nself.frontends.live.introspect against
`pg_dump --schema-only` of the same database, in the same run, with the time each catalog
query takes.

Databases: a generated schema of --tables tables (serial PK, NOT NULL/default/CHECK
columns, an enum column, FKs to two earlier tables with an index each, a partial index,
comments on the table and a column; one view per 10 tables), and pagila from the shared
corpus (NSELF_CORPUS, else ../shared/corpus; skipped with a note when absent).

Figures are the best of --repeat runs, in milliseconds; nothing is asserted.

    python bench/bench_introspect.py [--tables 1000] [--repeat 5] [--url postgresql://...]

Without --url a throwaway cluster (nself.runtime.cluster.LocalCluster) is started and
removed afterwards; with --url, databases are created and dropped on that server."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from bench.common import scratch  # noqa: E402
from nself.frontends import live  # noqa: E402
from nself.runtime.cluster import find_pg_program  # noqa: E402

CORPUS = Path(os.environ.get("NSELF_CORPUS", REPO.parent / "shared" / "corpus"))


def generated_schema(tables: int) -> str:
    out = ["CREATE TYPE state AS ENUM ('new', 'active', 'gone');"]
    for n in range(tables):
        name = f"t{n:04d}"
        refs = sorted({r for r in (n - 1, n // 2) if 0 <= r < n})
        columns = [
            "id serial PRIMARY KEY",
            "name text NOT NULL DEFAULT ''",
            "amount numeric(12,2) CHECK (amount >= 0)",
            "state state NOT NULL DEFAULT 'new'",
            "created_at timestamptz NOT NULL DEFAULT now()",
        ]
        columns += [f"ref_{r:04d} integer REFERENCES t{r:04d} (id) ON DELETE CASCADE" for r in refs]
        out.append(f"CREATE TABLE {name} ({', '.join(columns)});")
        out += [f"CREATE INDEX ON {name} (ref_{r:04d});" for r in refs]
        out.append(f"CREATE INDEX ON {name} (lower(name)) WHERE state <> 'gone';")
        out.append(f"COMMENT ON TABLE {name} IS 'table number {n}';")
        out.append(f"COMMENT ON COLUMN {name}.name IS 'what it is called';")
        if n % 10 == 9:
            out.append(f"CREATE VIEW v_{name} AS SELECT id, name, amount FROM {name} WHERE state = 'active';")
    return "\n".join(out)


def best_of(repeat: int, fn: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def query_times(url: str, repeat: int) -> dict[str, float]:
    """The best time of each catalog query over `repeat` introspections."""
    names = {value: name for name, value in vars(live).items() if name.startswith("Q_")}
    best: dict[str, float] = defaultdict(lambda: float("inf"))
    original = live._Reader.rows

    def timed(self: live._Reader, query: str) -> list[live.Row]:
        start = time.perf_counter()
        rows = original(self, query)
        name = names.get(query, "other")
        best[name] = min(best[name], (time.perf_counter() - start) * 1000)
        return rows

    live._Reader.rows = timed  # type: ignore[method-assign]
    try:
        for _ in range(repeat):
            live.introspect(url)
    finally:
        live._Reader.rows = original  # type: ignore[method-assign]
    return dict(best)


def pg_dump(url: str) -> None:
    subprocess.run(
        [str(find_pg_program("pg_dump")), "--schema-only", "--no-owner", "-d", url],
        check=True,
        stdout=subprocess.DEVNULL,
    )


@contextmanager
def server(url: str | None) -> Iterator[Callable[[str], str]]:
    """Yields make_database(name) -> url on a given server or a throwaway cluster."""
    with scratch("introspect", url) as place:
        yield place.database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", help="an existing server (superuser) instead of a throwaway cluster")
    args = parser.parse_args()

    with server(args.url) as make_database:
        cases: list[tuple[str, str]] = []
        url = make_database("bench_generated")
        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(generated_schema(args.tables).encode())
            conn.execute("ANALYZE")
        print(f"generated {args.tables} tables in {time.perf_counter() - start:.1f} s")
        cases.append((f"generated ({args.tables} tables)", url))
        pagila = CORPUS / "schemas" / "pagila" / "pagila-schema.sql"
        if pagila.exists():
            url = make_database("bench_pagila")
            subprocess.run(
                [
                    str(find_pg_program("psql")),
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-d",
                    url,
                    "-f",
                    str(pagila),
                ],
                check=True,
                capture_output=True,
            )
            cases.append(("pagila", url))
        else:
            print(f"note: pagila not found at {pagila}; skipped")

        print()
        print(f"{'case':<26} {'tables':>6} {'introspect':>11} {'pg_dump -s':>11} {'ratio':>6}")
        breakdowns = []
        for name, url in cases:
            live.introspect(url)  # warm the server's caches for both tools alike
            pg_dump(url)
            ours = best_of(args.repeat, lambda url=url: live.introspect(url))  # type: ignore[misc]
            theirs = best_of(args.repeat, lambda url=url: pg_dump(url))  # type: ignore[misc]
            tables = len(live.introspect(url).tables)
            print(f"{name:<26} {tables:>6} {ours:>11.1f} {theirs:>11.1f} {ours / theirs:>6.2f}")
            breakdowns.append((name, query_times(url, args.repeat)))
        print("\n(milliseconds, best of the runs; ratio = introspect / pg_dump --schema-only)")
        for name, times in breakdowns:
            print(f"\ncatalog queries for {name} ({len(times)} kinds; total {sum(times.values()):.1f} ms):")
            for query, ms in sorted(times.items(), key=lambda kv: -kv[1]):
                print(f"  {query:<20} {ms:8.1f}")


if __name__ == "__main__":
    main()
