"""Parquet export benchmark: `data export --format parquet` (nself.runtime.data_io.export_data)
against `COPY ... TO STDOUT (FORMAT csv)` of the same tables into files, in the same run.

The data: the PII test schema (tests/runtime/anonymize/pii_schema.sql) grown to --people.
Measures, best of --repeat runs (interleaved with the peer's): seconds and MB/s (of the tables' on-disk size).
Prints a table; asserts nothing.

    python bench/bench_parquet.py [--people 100000] [--repeat 2] [--url postgresql://...]"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import psycopg  # noqa: E402
from bench_sync import TABLES, schema_and_rows  # noqa: E402

from bench.common import scratch  # noqa: E402
from nself.runtime.data_io import export_data  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="a server to use (a scratch database is made there)")
    args = parser.parse_args()
    with scratch("parquet", args.url) as place:
        measure(args, place.work, place.database("bench_parquet"))


def measure(args: argparse.Namespace, root: Path, url: str) -> None:
    ddl, rows = schema_and_rows(args.people)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(ddl)  # type: ignore[arg-type]
        conn.execute(rows)  # type: ignore[arg-type]
        conn.execute("VACUUM ANALYZE")
        size = sum(conn.execute("SELECT pg_table_size(%s)", (t,)).fetchone()[0] for t in TABLES)  # type: ignore[index]
    print(f"source: {args.people} people, {size / 1e6:.0f} MB of table data")

    def csv_copy() -> None:
        out = root / "csv"
        out.mkdir(exist_ok=True)
        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            for table in TABLES:
                with (
                    (out / f"{table}.csv").open("wb") as file,
                    cursor.copy(
                        f"COPY {table} TO STDOUT (FORMAT csv)"  # type: ignore[arg-type]
                    ) as copy,
                ):
                    for chunk in copy:
                        file.write(chunk)

    def parquet() -> None:
        export_data(url, root / "parquet", fmt="parquet", tables=TABLES)

    # Interleaved (peer, nself, peer, nself, ...): on a shared machine a change of load
    # then weighs on both figures alike. Best of --repeat each.
    runs = (
        ("COPY ... TO STDOUT (FORMAT csv)", csv_copy),
        ("nself data export --format parquet", parquet),
    )
    figures: dict[str, float] = {}
    for _ in range(args.repeat):
        for label, run in runs:
            started = time.perf_counter()
            run()
            elapsed = time.perf_counter() - started
            figures[label] = min(figures.get(label, elapsed), elapsed)
    peer = figures["COPY ... TO STDOUT (FORMAT csv)"]
    print(f"{'':36} {'seconds':>8} {'MB/s':>8} {'vs peer':>8}")
    for label, seconds in figures.items():
        print(f"{label:36} {seconds:8.2f} {size / 1e6 / seconds:8.1f} {peer / seconds:7.2f}x")
    parquet_size = sum(p.stat().st_size for p in (root / "parquet").iterdir())
    csv_size = sum(p.stat().st_size for p in (root / "csv").iterdir())
    print(f"files: csv {csv_size / 1e6:.0f} MB, parquet {parquet_size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
