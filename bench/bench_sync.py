"""Sync benchmark: `data sync --anonymize` (nself.runtime.anonymize.engine.sync) against raw
`pg_dump -Fc --data-only | pg_restore --single-transaction` of the same data, in the same
run (also with --disable-triggers, which skips the foreign-key checks nself keeps), plus a
plain `data sync` (no anonymisation) to show what the transform costs.

The data: the PII test schema (tests/runtime/anonymize/pii_schema.sql) grown to --people
people (each with 1-2 addresses, ~2 orders, payments and a message), anonymised with
tests/runtime/anonymize/pii_anonymize.yaml (27 columns rewritten, an email used as a key).

Measures, best of --repeat runs: seconds and MB/s (of the source tables' on-disk size).
Prints a table; asserts nothing.

    python bench/bench_sync.py [--people 200000] [--repeat 2] [--url postgresql://...]

Without --url a throwaway PostgreSQL cluster is started and removed afterwards."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from bench.common import scratch  # noqa: E402
from nself.frontends.live import introspect  # noqa: E402
from nself.runtime.anonymize.config import load_config  # noqa: E402
from nself.runtime.anonymize.engine import make_plan, sync  # noqa: E402
from nself.runtime.dump import find_client, libpq_target, server_major  # noqa: E402

PII = REPO / "tests" / "runtime" / "anonymize"
TABLES = ("roles", "people", "addresses", "orders", "payments", "messages")


def schema_and_rows(people: int) -> tuple[str, str]:
    """The PII schema's DDL, and its INSERTs with the 120 people grown to `people`."""
    text = (PII / "pii_schema.sql").read_text(encoding="utf-8")
    ddl, rows = text.split("INSERT INTO roles", 1)
    rows = (
        ("INSERT INTO roles" + rows)
        .replace("generate_series(1, 120)", f"generate_series(1, {people})")
        # Values that stay valid past 120 people: IPs within range, birth dates before 2015.
        .replace(
            "format('192.168.%s.%s', i / 250, i % 250 + 1)",
            "format('10.%s.%s.%s', i / 62500 % 250, i / 250 % 250, i % 250 + 1)",
        )
        .replace("date '1960-01-01' + i * 53", "date '1960-01-01' + i * 53 % 20000")
    )
    return ddl, rows


def best(repeat: int, before: Callable[[], None], run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        before()
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--url", help="a server to use (a scratch database is made there)")
    args = parser.parse_args()

    with scratch("sync", args.url) as place:
        measure(args, place.database("bench_sync_src"), place.database("bench_sync_dst"))


def measure(args: argparse.Namespace, source: str, target: str) -> None:
    ddl, rows = schema_and_rows(args.people)
    started = time.perf_counter()
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(ddl)  # type: ignore[arg-type]
        conn.execute(rows)  # type: ignore[arg-type]
        conn.execute("VACUUM ANALYZE")
        size = sum(
            conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0]  # type: ignore[index]
            for t in TABLES
        )
        counted = sum(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES)  # type: ignore[index]
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(ddl)  # type: ignore[arg-type]
    print(f"source: {args.people} people, {counted} rows, {size / 1e6:.0f} MB on disk "
          f"(made in {time.perf_counter() - started:.1f} s)")  # fmt: skip

    def empty_target() -> None:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("TRUNCATE " + ", ".join(TABLES))  # type: ignore[arg-type]

    catalog = introspect(source)
    plan_config = load_config(PII / "pii_anonymize.yaml")

    def anonymised() -> None:
        sync(source, target, catalog=catalog, plan=make_plan(catalog, plan_config, b"bench key"))

    def plain() -> None:
        sync(source, target, catalog=catalog, plan=None)

    major = server_major(source)
    dump_program, restore_program = find_client("pg_dump", major), find_client("pg_restore", major)
    source_info, source_env = libpq_target(source)
    target_info, target_env = libpq_target(target)

    def dump_restore(*extra: str) -> Callable[[], None]:
        def run() -> None:
            dump = subprocess.Popen(
                [str(dump_program), "-Fc", "--data-only", "--dbname", source_info],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=source_env,
            )  # fmt: skip
            restore = subprocess.run(
                [str(restore_program), "--data-only", "--single-transaction", *extra, "--dbname", target_info],
                stdin=dump.stdout, env=target_env, check=True, capture_output=True,
            )  # fmt: skip
            assert dump.wait() == 0 and restore.returncode == 0

        return run

    figures = {
        # The yardstick: constraints checked, as nself checks them (the cycle loads because
        # its foreign key is DEFERRABLE INITIALLY DEFERRED).
        "pg_dump -Fc | pg_restore (data)": best(args.repeat, empty_target, dump_restore()),
        "  same, --disable-triggers": best(args.repeat, empty_target, dump_restore("--disable-triggers")),
        "nself data sync (plain)": best(args.repeat, empty_target, plain),
        "nself data sync --anonymize": best(args.repeat, empty_target, anonymised),
    }
    peer = figures["pg_dump -Fc | pg_restore (data)"]
    print(f"{'':34} {'seconds':>8} {'MB/s':>8} {'vs peer':>8}")
    for label, seconds in figures.items():
        print(f"{label:34} {seconds:8.2f} {size / 1e6 / seconds:8.1f} {peer / seconds:7.2f}x")


if __name__ == "__main__":
    main()
