"""Dump and load benchmark, whole process: `nself db dump` against raw pg_dump, and
`nself db load` of a plain schema then a custom data dump against raw `psql -f` then
`pg_restore`, on the same database in the same run.

The database: `pgbench -i -s SCALE` with a foreign key from accounts to branches, and a
documents table with a primary key and an index. The schema is dumped plain
(`pg_dump --schema-only`), the data custom (`pg_dump -Fc --data-only`), both by raw pg_dump;
each load goes into a fresh database.

Loads measured:
- raw, default flags: `psql -f schema.sql`, `pg_restore -d DB data.dump`;
- raw, nself's flags: the same with `--single-transaction` (all or nothing), `ON_ERROR_STOP`,
  `--exit-on-error`, `--no-owner`;
- `nself db load` (its default: one transaction);
- `nself db load --no-single-transaction`;
and of a full custom dump (`pg_dump -Fc`): raw `pg_restore` against `nself db load` (and
pg_restore with nself's flags against nself's `load()` in-process, which leaves out the CLI's
start-up), and `pg_restore -j 2` against `nself db load --no-single-transaction --jobs 2`.

Best of --repeat, in seconds. Prints a table; asserts nothing.

    python bench/bench_load.py [--scale 5] [--repeat 2] [--url postgresql://...]"""

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
from bench.timing import best_seconds as best  # noqa: E402
from nself.runtime.dump import find_client, libpq_target, load, server_major  # noqa: E402

# What `nself db load` passes pg_restore by default.
NSELF_FLAGS = ("--no-password", "--no-owner", "--exit-on-error", "--single-transaction")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=5, help="pgbench scale (100,000 accounts each)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--url", help="a server to use instead of a throwaway cluster")
    args = parser.parse_args()

    with scratch("load", args.url) as place:
        measure(args, place.work, lambda: place.database("bench_load"))


def measure(args: argparse.Namespace, work: Path, new_database: Callable[[], str]) -> None:
    source = new_database()
    major = server_major(source)
    pgbench, psql = find_client("pgbench", major), find_client("psql", major)
    pg_dump, pg_restore = find_client("pg_dump", major), find_client("pg_restore", major)
    conninfo, env = libpq_target(source)
    subprocess.run(
        [str(pgbench), "-i", "-q", "-s", str(args.scale), conninfo],
        env=env,
        check=True,
        capture_output=True,
    )
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute("ALTER TABLE pgbench_accounts ADD FOREIGN KEY (bid) REFERENCES pgbench_branches")
        conn.execute(
            "CREATE TABLE docs AS SELECT g AS id, md5(g::text) AS digest, repeat(md5(g::text), 4) AS body "
            "FROM generate_series(1, %s) g",
            (args.scale * 60_000,),
        )
        conn.execute("ALTER TABLE docs ADD PRIMARY KEY (id)")
        conn.execute("CREATE INDEX ON docs (digest)")
    schema, data = work / "schema.sql", work / "data.dump"
    subprocess.run(
        [str(pg_dump), "--schema-only", "--no-owner", "-f", str(schema), conninfo], env=env, check=True
    )
    subprocess.run([str(pg_dump), "-Fc", "--data-only", "-f", str(data), conninfo], env=env, check=True)

    project = work / "project"
    project.mkdir()
    (project / "nself.toml").write_text('[environments.bench]\nurl = "env:NSELF_BENCH_URL"\n')

    def nself(url: str, *argv: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "nself", *argv, "--env", "bench"],
            env=as_installed({**os.environ, "NSELF_BENCH_URL": url}, work),
            cwd=project,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def raw(single: bool) -> Callable[[], None]:
        def go() -> None:
            target, environment = libpq_target(new_database())
            one = ["--single-transaction"] if single else []
            strict = ["-v", "ON_ERROR_STOP=1"] if single else []
            subprocess.run(
                [str(psql), "-X", "-q", *strict, *one, "-f", str(schema), target],
                env=environment,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            flags = ["--no-owner", "--exit-on-error"] if single else []
            subprocess.run(
                [str(pg_restore), *flags, *one, "-d", target, str(data)], env=environment, check=True
            )

        return go

    def ours(*options: str) -> Callable[[], None]:
        def go() -> None:
            url = new_database()
            nself(url, "db", "load", str(schema), "--yes")
            nself(url, "db", "load", str(data), "--yes", *options)

        return go

    full = work / "full.dump"

    def raw_full(*options: str) -> Callable[[], None]:
        def go() -> None:
            target, environment = libpq_target(new_database())
            subprocess.run([str(pg_restore), *options, "-d", target, str(full)], env=environment, check=True)

        return go

    def ours_full(*options: str) -> Callable[[], None]:
        return lambda: nself(new_database(), "db", "load", str(full), "--yes", *options)

    rows = [
        (
            "dump: raw pg_dump -Fc",
            best(
                args.repeat,
                lambda: subprocess.run([str(pg_dump), "-Fc", "-f", str(full), conninfo], env=env, check=True),
            ),
        ),
        ("dump: nself db dump", best(args.repeat, lambda: nself(source, "db", "dump", "-o", str(full)))),
        ("load: raw psql -f; pg_restore", best(args.repeat, raw(single=False))),
        ("load: raw, one transaction", best(args.repeat, raw(single=True))),
        ("load: nself db load (default)", best(args.repeat, ours())),
        ("load: nself --no-single-transaction", best(args.repeat, ours("--no-single-transaction"))),
        ("full: raw pg_restore", best(args.repeat, raw_full())),
        ("full: nself db load (default)", best(args.repeat, ours_full())),
        ("full: raw pg_restore, nself's flags", best(args.repeat, raw_full(*NSELF_FLAGS))),
        ("full: nself load() in-process", best(args.repeat, lambda: load(new_database(), full))),
        ("full: raw pg_restore -j 2", best(args.repeat, raw_full("-j", "2"))),
        (
            "full: nself --no-single-transaction -j 2",
            best(args.repeat, ours_full("--no-single-transaction", "-j", "2")),
        ),
    ]
    print(
        f"pgbench -s {args.scale} + docs: {data.stat().st_size / 1e6:.1f} MB data dump, "
        f"{full.stat().st_size / 1e6:.1f} MB full dump; best of {args.repeat}"
    )
    print(f"{'':44}{'s':>8}{'ratio':>8}")
    peers = {"dump": rows[0][1], "load": rows[2][1], "full": rows[6][1]}
    for label, seconds in rows:
        print(f"{label:44}{seconds:8.2f}{seconds / peers[label[:4]]:8.2f}")
    print(f"{'load: nself default / raw, one transaction':44}{'':8}{rows[4][1] / rows[3][1]:8.2f}")
    print(f"{'full: load() in-process / raw, same flags':44}{'':8}{rows[9][1] / rows[8][1]:8.2f}")


if __name__ == "__main__":
    main()
