"""Mock-data throughput: the plan's users/posts/comments config at 100,000 rows per table,
against `pgbench -i` (PostgreSQL's own data generator, an upper bound) in the same run.

    python bench/bench_mock.py [--rows 100000]

Prints figures; asserts nothing."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from nself.frontends.live import introspect
from nself.runtime.cluster import LocalCluster, find_pg_program, free_port
from nself.runtime.mock.executor import generate_mock

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
            "users": {"count": rows, "columns": {
                "email": {"type": "email"}, "name": {"type": "fullName"},
                "avatar": {"type": "avatar"}, "created_at": {"type": "pastDate", "years": 2}}},
            "posts": {"count": rows, "columns": {
                "title": {"type": "sentence", "words": 5}, "body": {"type": "paragraphs", "count": 3},
                "user_id": {"type": "foreignKey", "table": "users"},
                "published": {"type": "boolean", "probability": 0.8}}},
            "comments": {"count": rows, "columns": {
                "content": {"type": "paragraph"}, "user_id": {"type": "foreignKey", "table": "users"},
                "post_id": {"type": "foreignKey", "table": "posts"}}},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="nself-bench-mock-"))
    os.chmod(root, 0o755)
    cluster = LocalCluster(root / "pg", free_port())
    cluster.start(fast=True)
    try:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE mock")
            conn.execute("CREATE DATABASE pgbench")
        url = cluster.url("mock")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(SCHEMA)
        catalog = introspect(url)
        started = time.perf_counter()
        results = generate_mock(url, catalog, config(args.rows))
        elapsed = time.perf_counter() - started
        total = sum(r.rows for r in results)
        print(f"nself mock generate: {total:,} rows in {elapsed:.2f} s = {total / elapsed:,.0f} rows/s")
        for r in results:
            print(f"  {r.table:20} {r.rows:>9,} rows {r.seconds:6.2f} s {r.rows / r.seconds:>10,.0f} rows/s")

        scale = max(1, args.rows * 3 // 100_000)
        pgbench = str(find_pg_program("pgbench"))
        started = time.perf_counter()
        subprocess.run(
            [pgbench, "-i", "-q", "-s", str(scale), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "pgbench"],
            check=True, capture_output=True,
        )
        pg_elapsed = time.perf_counter() - started
        pg_rows = scale * 100_000
        print(
            f"pgbench -i -s {scale} (default steps: tables, data, vacuum, primary keys): "
            f"{pg_rows:,} rows in {pg_elapsed:.2f} s = {pg_rows / pg_elapsed:,.0f} rows/s"
        )
        print(f"ratio: nself is {total / elapsed / (pg_rows / pg_elapsed):.2f} x pgbench's rate (target >= 0.20)")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
