"""Query output benchmark: `nself db query` against psql on the same rows in the same run,
whole process (start-up included), as a user runs them.

- `nself db query --csv` against `psql --csv -c` (target: at most 1.5x psql);
- the terminal table (`nself db query`, output to a file) against psql's aligned output;
- the time to the first line of the table (it streams in batches, as psql's FETCH_COUNT).

Each figure is the best of --repeat runs, in milliseconds. The outputs of --csv are compared
byte for byte. Prints a table; asserts nothing.

    python bench/bench_query.py [--rows 100000] [--repeat 3] [--url postgresql://...]

Without --url a throwaway PostgreSQL cluster is started (the machine's initdb/pg_ctl) and
removed afterwards; with it, a scratch database is made on that server and dropped."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from bench.common import as_installed, scratch  # noqa: E402
from nself.runtime.cluster import find_pg_program  # noqa: E402
from nself.runtime.query import psql_environment  # noqa: E402

QUERY = "select * from items order by id"


def fill(url: str, rows: int) -> None:
    """Rows with the awkward values of a real table: quotes and commas, NULLs, empty strings."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE items AS SELECT g AS id, 'item ' || g AS name, "
            "timestamptz '2026-01-01' + g * interval '1 second' AS at, g * 1.5 AS price, g %% 2 = 0 AS flag, "
            "CASE g %% 10 WHEN 0 THEN NULL WHEN 1 THEN '' ELSE 'says \"hi\", twice' END AS note, "
            "md5(g::text) AS digest FROM generate_series(1, %s) g",
            (rows,),
        )
        conn.execute("ANALYZE items")


def best(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """The best wall-clock and the best CPU (user + system of the child) milliseconds: on a
    shared machine the CPU figure is the steadier one."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        run()
        walls.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    return min(walls), min(cpus)


def first_line_ms(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Milliseconds from start to the first line on stdout (the rest is read and dropped)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = (time.perf_counter() - started) * 1000
    proc.stdout.read()
    proc.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--url", help="a server to use instead of a throwaway cluster")
    args = parser.parse_args()

    with scratch("query", args.url) as place:
        measure(args, place.work, place.database("bench_query"))


def measure(args: argparse.Namespace, work: Path, url: str) -> None:
    fill(url, args.rows)
    project = work / "project"
    project.mkdir()
    (project / "nself.toml").write_text('[environments.bench]\nurl = "env:NSELF_BENCH_URL"\n')
    nself_env = as_installed({**os.environ, "NSELF_BENCH_URL": url, "NO_COLOR": "1"}, work)
    nself = [sys.executable, "-m", "nself", "db", "query", "--env", "bench", QUERY]
    psql_env = {**os.environ, **psql_environment(url)}
    psql = [str(find_pg_program("psql")), "-X", "-c", QUERY]

    def run(argv: list[str], env: dict[str, str], out: Path) -> Callable[[], object]:
        def go() -> None:
            with out.open("wb") as sink:
                subprocess.run(argv, env=env, cwd=project, stdout=sink, check=True)

        return go

    ours_csv, theirs_csv = work / "nself.csv", work / "psql.csv"
    figures = [
        (
            "--csv",
            best(args.repeat, run([*nself, "--csv"], nself_env, ours_csv)),
            best(args.repeat, run([*psql, "--csv"], psql_env, theirs_csv)),
        ),
        (
            "start-up (select 1 --csv)",
            best(args.repeat, run([*nself[:-1], "select 1", "--csv"], nself_env, work / "one.csv")),
            best(args.repeat, run([*psql[:-1], "select 1", "--csv"], psql_env, work / "one-psql.csv")),
        ),
        (
            "table (to a file)",
            best(args.repeat, run(nself, nself_env, work / "nself.txt")),
            best(args.repeat, run(psql, psql_env, work / "psql.txt")),
        ),
    ]
    first = (
        min(first_line_ms(nself, nself_env, project) for _ in range(args.repeat)),
        min(first_line_ms(psql, psql_env, project) for _ in range(args.repeat)),
    )
    same = ours_csv.read_bytes() == theirs_csv.read_bytes()
    size = theirs_csv.stat().st_size / 1e6
    print(f"{args.rows:,} rows ({size:.1f} MB of CSV), whole process, best of {args.repeat}")
    print(f"{'':28}{'nself ms':>10}{'psql ms':>10}{'ratio':>7}{'nself cpu':>11}{'psql cpu':>10}{'ratio':>7}")
    for label, (ours, ours_cpu), (theirs, theirs_cpu) in figures:
        print(
            f"{label:28}{ours:10.0f}{theirs:10.0f}{ours / theirs:7.2f}"
            f"{ours_cpu:11.0f}{theirs_cpu:10.0f}{ours_cpu / max(theirs_cpu, 1):7.2f}"
        )
    (csv_ms, csv_cpu), (up_ms, up_cpu) = figures[0][1], figures[1][1]
    (pcsv_ms, pcsv_cpu), (pup_ms, pup_cpu) = figures[0][2], figures[1][2]
    print(
        f"{'--csv less start-up':28}{csv_ms - up_ms:10.0f}{pcsv_ms - pup_ms:10.0f}"
        f"{(csv_ms - up_ms) / max(pcsv_ms - pup_ms, 1):7.2f}{csv_cpu - up_cpu:11.0f}{pcsv_cpu - pup_cpu:10.0f}"
    )
    print(f"{'table: first line':28}{first[0]:10.0f}{first[1]:10.0f}{first[0] / first[1]:7.2f}")
    print(f"--csv output identical to psql's: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
