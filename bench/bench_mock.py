"""Mock-data throughput: the plan's users/posts/comments config at 100,000 rows per table,
against `pgbench -i` (PostgreSQL's own data generator, an upper bound) in the same run.

Also the database's own floor for the same rows: nself's rows copied out, then loaded back
the way nself loads them (one transaction: TRUNCATE, keys and foreign keys set aside,
`COPY ... FROM STDIN (FORMAT binary, FREEZE)` of the bytes already made, keys and foreign
keys added back).
What nself takes beyond it is generating the values and reading the parents' keys; what the
floor takes beyond pgbench is the server writing these rows (about 2.2x the bytes of
pgbench's) and checking three foreign keys pgbench does not have.

Also the CPU seconds of each side, the client's and the throwaway cluster's (Linux, from
/proc): on a machine whose cores are all taken, wall clock follows CPU.

    python bench/bench_mock.py [--rows 100000] [--repeat 1]

Prints figures; asserts nothing."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import scratch, server_cpu_seconds  # noqa: E402
from nself.frontends.live import introspect  # noqa: E402
from nself.runtime.cluster import LocalCluster, find_pg_program  # noqa: E402
from nself.runtime.mock.executor import generate_mock  # noqa: E402

SCHEMA = """
CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text NOT NULL,
                    avatar text, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE posts (id serial PRIMARY KEY, title text NOT NULL, body text,
                    user_id int NOT NULL REFERENCES users, published boolean NOT NULL DEFAULT false);
CREATE TABLE comments (id serial PRIMARY KEY, content text NOT NULL,
                       user_id int NOT NULL REFERENCES users, post_id int NOT NULL REFERENCES posts);
"""


def config(rows: int) -> dict[str, object]:
    return {
        "seed": 42,
        "tables": {
            "users": {
                "count": rows,
                "columns": {
                    "email": {"type": "email"},
                    "name": {"type": "fullName"},
                    "avatar": {"type": "avatar"},
                    "created_at": {"type": "pastDate", "years": 2},
                },
            },
            "posts": {
                "count": rows,
                "columns": {
                    "title": {"type": "sentence", "words": 5},
                    "body": {"type": "paragraphs", "count": 3},
                    "user_id": {"type": "foreignKey", "table": "users"},
                    "published": {"type": "boolean", "probability": 0.8},
                },
            },
            "comments": {
                "count": rows,
                "columns": {
                    "content": {"type": "paragraph"},
                    "user_id": {"type": "foreignKey", "table": "users"},
                    "post_id": {"type": "foreignKey", "table": "posts"},
                },
            },
        },
    }


TABLES = ("users", "posts", "comments")
CONSTRAINTS = [
    ("users", "users_pkey", "PRIMARY KEY (id)"),
    ("users", "users_email_key", "UNIQUE (email)"),
    ("posts", "posts_pkey", "PRIMARY KEY (id)"),
    ("comments", "comments_pkey", "PRIMARY KEY (id)"),
    ("posts", "posts_user_id_fkey", "FOREIGN KEY (user_id) REFERENCES users(id)"),
    ("comments", "comments_post_id_fkey", "FOREIGN KEY (post_id) REFERENCES posts(id)"),
    ("comments", "comments_user_id_fkey", "FOREIGN KEY (user_id) REFERENCES users(id)"),
]


def load_floor(url: str, server: Callable[[], float]) -> tuple[float, float, float]:
    """Seconds to load the rows now in the tables back as nself loads them, from bytes
    already made (COPY TO in memory first, not timed), and the client's and the server's
    CPU seconds for that load."""
    with psycopg.connect(url) as conn:
        data = {}
        for table in TABLES:
            with conn.cursor() as cur, cur.copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy:
                data[table] = b"".join(bytes(chunk) for chunk in copy)
        conn.rollback()
        before, own = server(), os.times()
        started = time.perf_counter()
        with conn.transaction():
            conn.execute("TRUNCATE users, posts, comments RESTART IDENTITY CASCADE")
            for table, name, _ in reversed(CONSTRAINTS):
                conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            for table in TABLES:
                with (
                    conn.cursor() as cur,
                    cur.copy(f"COPY {table} FROM STDIN (FORMAT binary, FREEZE)") as copy,
                ):
                    for start in range(0, len(data[table]), 1 << 20):
                        copy.write(data[table][start : start + (1 << 20)])
            for table, name, definition in CONSTRAINTS:
                conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        seconds = time.perf_counter() - started
        after = os.times()
        return seconds, after.user + after.system - own.user - own.system, server() - before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, alternated; the best is shown")
    args = parser.parse_args()
    with scratch("mock") as place:
        measure(args, place.database("mock"), place.database("pgbench"), place.cluster)


def measure(args: argparse.Namespace, url: str, pgbench_url: str, cluster: LocalCluster | None = None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(SCHEMA)
    catalog = introspect(url)
    scale = max(1, args.rows * 3 // 100_000)
    pgbench = str(find_pg_program("pgbench"))
    pg_rows = scale * 100_000
    best: dict[str, float] = {}
    cpu: dict[str, tuple[float, float]] = {}  # (client, server) CPU seconds of the best run
    results = []

    def server() -> float:
        time.sleep(0.05)  # the postmaster reaps an ended backend (its CPU) on a signal
        return server_cpu_seconds(cluster) or 0.0

    def keep(name: str, client: float, server_used: float) -> None:
        if name not in cpu or client + server_used < sum(cpu[name]):
            cpu[name] = (client, server_used)

    for _ in range(args.repeat):
        before, own = server(), os.times()
        started = time.perf_counter()
        results = generate_mock(url, catalog, config(args.rows))
        best["nself"] = min(best.get("nself", 1e9), time.perf_counter() - started)
        after = os.times()
        keep("nself", after.user + after.system - own.user - own.system, server() - before)
        seconds, floor_client, floor_server = load_floor(url, server)
        best["floor"] = min(best.get("floor", 1e9), seconds)
        keep("floor", floor_client, floor_server)
        before, children = server(), resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            [
                pgbench,
                "-i",
                "-q",
                "-s",
                str(scale),
                pgbench_url,
            ],
            check=True,
            capture_output=True,
        )
        best["pgbench"] = min(best.get("pgbench", 1e9), time.perf_counter() - started)
        done = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime
        keep("pgbench", used, server() - before)
    total = sum(r.rows for r in results)
    rate = {name: (pg_rows if name == "pgbench" else total) / seconds for name, seconds in best.items()}
    print(f"nself mock generate: {total:,} rows in {best['nself']:.2f} s = {rate['nself']:,.0f} rows/s")
    for r in results:
        print(f"  {r.table:20} {r.rows:>9,} rows {r.seconds:6.2f} s {r.rows / r.seconds:>10,.0f} rows/s")
    print(
        f"floor (COPY of the same rows, keys set aside): {best['floor']:.2f} s = {rate['floor']:,.0f} rows/s"
    )
    print(
        f"pgbench -i -s {scale} (default steps: tables, data, vacuum, primary keys): "
        f"{pg_rows:,} rows in {best['pgbench']:.2f} s = {rate['pgbench']:,.0f} rows/s"
    )
    print(f"ratio: nself is {rate['nself'] / rate['pgbench']:.2f} x pgbench's rate (target >= 0.5)")
    print(
        f"       nself is {rate['nself'] / rate['floor']:.2f} x the floor's; the floor is "
        f"{rate['floor'] / rate['pgbench']:.2f} x pgbench's"
    )
    if cluster is not None and server_cpu_seconds(cluster) is not None:
        # On cores all taken, wall clock follows CPU: the ratio of rates tends to this one.
        (ours, ours_server), (theirs, theirs_server) = cpu["nself"], cpu["pgbench"]
        floor, floor_server = cpu["floor"]
        print(
            f"CPU s (the run with the least): nself {ours:.2f} client + {ours_server:.2f} server = "
            f"{ours + ours_server:.2f}; floor {floor:.2f} + {floor_server:.2f} = {floor + floor_server:.2f}; pgbench {theirs:.2f} + {theirs_server:.2f} = {theirs + theirs_server:.2f}; "
            f"rows per CPU second: nself {(total / (ours + ours_server)) / (pg_rows / (theirs + theirs_server)):.2f} x pgbench's"
        )


if __name__ == "__main__":
    main()
