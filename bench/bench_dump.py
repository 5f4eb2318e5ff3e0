"""Dump benchmark: `nself db dump` against the raw pg_dump it runs, on the same database in
the same run. nself adds its own start-up (Python, the project, a version check) and
nothing per row, so the two should be within a few percent on a database of any size.

Measures, best of --repeat runs, in milliseconds:
- raw pg_dump -Fc to a file (the same program and flags nself uses),
- nself.runtime.dump.dump() in-process (pg_dump plus the server-version check),
- `python -m nself db dump -o FILE` as a user runs it (plus interpreter and CLI start-up).

Prints a table; asserts nothing.

    python bench/bench_dump.py [--rows 1000000] [--repeat 3] [--url postgresql://...]

Without --url a throwaway PostgreSQL cluster is started (the machine's initdb/pg_ctl) and
removed afterwards; with it, a scratch database is made on that server and dropped."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from bench.common import as_installed, scratch  # noqa: E402
from bench.timing import best_seconds  # noqa: E402
from nself.runtime.dump import HISTORY_SCHEMA, dump, find_client, libpq_target, server_major  # noqa: E402


def fill(url: str, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, name text, tags text[], doc jsonb, blob bytea, at timestamptz)"
        )
        conn.execute(
            "INSERT INTO items SELECT g, 'item ' || g, ARRAY[g::text, (g %% 7)::text], "
            "jsonb_build_object('g', g, 'half', g / 2), decode(md5(g::text), 'hex'), "
            "timestamptz '2026-01-01' + g * interval '1 second' FROM generate_series(1, %s) g",
            (rows,),
        )
        conn.execute("ANALYZE items")


def best(repeat: int, run: Callable[[], object]) -> float:
    """Milliseconds: the best of `repeat` runs."""
    return best_seconds(repeat, run) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="a server to use instead of a throwaway cluster")
    args = parser.parse_args()

    with scratch("dump", args.url) as place:
        measure(args, place.work, place.database("bench_dump"))


def measure(args: argparse.Namespace, work: Path, url: str) -> None:
    fill(url, args.rows)
    program = find_client("pg_dump", server_major(url))
    conninfo, env = libpq_target(url)
    raw_file, lib_file, cli_file = work / "raw.dump", work / "lib.dump", work / "cli.dump"
    raw_argv = [str(program), "--no-password", "--format=custom", f"--exclude-schema={HISTORY_SCHEMA}"]
    raw_argv += ["--dbname", conninfo, "--file", str(raw_file)]

    project = work / "project"
    project.mkdir()
    (project / "nself.toml").write_text('[environments.bench]\nurl = "env:NSELF_BENCH_URL"\n')
    cli_env = as_installed({**os.environ, "NSELF_BENCH_URL": url}, work)
    cli_argv = [sys.executable, "-P", "-m", "nself", "db", "dump", "--env", "bench", "-o", str(cli_file)]

    raw = best(args.repeat, lambda: subprocess.run(raw_argv, env=env, check=True))
    lib = best(args.repeat, lambda: dump(url, lib_file))
    cli = best(
        args.repeat,
        lambda: subprocess.run(cli_argv, env=cli_env, cwd=project, check=True, stdout=subprocess.DEVNULL),
    )

    print(
        f"{args.rows:,} rows, {program} ({raw_file.stat().st_size / 1e6:.1f} MB custom dump), best of {args.repeat}"
    )
    print(f"{'':28}{'ms':>10}{'vs pg_dump':>12}")
    for label, ms in (
        ("raw pg_dump", raw),
        ("nself dump() in-process", lib),
        ("nself db dump (CLI)", cli),
    ):
        print(f"{label:28}{ms:10.0f}{ms / raw - 1:+12.1%}")


if __name__ == "__main__":
    main()
