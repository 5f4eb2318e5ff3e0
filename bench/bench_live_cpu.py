"""`schema diff` and `schema show` of live databases against migra and pg_dump, by CPU as
well as wall time: on a shared machine the wall time mostly measures the wait for a core,
while the CPU each side spends moves little with the load.

For each size, bench_scale's generated schema and its changed copy are loaded into two
databases of a throwaway cluster. Then, the tools alternating, each run after a warm-up:
- `nself schema diff URL_A URL_B` and `migra --unsafe URL_A URL_B`;
- `nself schema show --format json --from URL_A` and `pg_dump --schema-only URL_A`.
For each it prints the best wall time, and the median CPU time of the client (user + system
of the process and its children) and of the server: the cluster's backends and parallel
workers, read from /proc (Linux) before and after each command. `--tree DIR` (repeatable)
times the nself of another checkout as well (main, for a before and after in one run).
Asserts nothing.

    python bench/bench_live_cpu.py [--sizes 1000,5000] [--repeat 3] [--tree ../main]"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_scale import load, schema_sql  # noqa: E402
from bench.common import Scratch, scratch  # noqa: E402
from nself.runtime.cluster import find_pg_program  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def server_cpu_ms(postmaster: int) -> float:
    """CPU of the postmaster's children: the reaped ones (its cutime, cstime) and the live."""
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[13]) + int(fields[14])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == postmaster:
            ticks += int(stat[11]) + int(stat[12])
    return ticks / TICK * 1000


def run(argv: list[str], env: dict[str, str], postmaster: int) -> tuple[float, float, float]:
    """(wall, client CPU, server CPU) of one run, milliseconds."""
    server = server_cpu_ms(postmaster)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, cwd=tempfile.gettempdir())
    wall = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(0.3)  # the backends exit after the client: let the postmaster reap them
    if done.returncode not in (0, 2):  # migra: 2 when they differ
        raise SystemExit(f"{' '.join(argv[:6])} failed ({done.returncode}): {done.stderr[-2000:]!r}")
    client = (after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime) * 1000
    return wall, client, server_cpu_ms(postmaster) - server


def measure(tables: int, repeat: int, place: Scratch, trees: list[Path]) -> None:
    urls = []
    for changed in (False, True):
        urls.append(place.database(f"cpu_{tables}"))
        load(urls[-1], schema_sql(tables, changed), place.work)
    a, b = urls
    assert place.cluster is not None
    postmaster = int((place.cluster.data_dir / "postmaster.pid").read_text().split()[0])
    pycache = place.work / "pycache"  # bytecode cached, as for an installed package
    commands: dict[str, tuple[list[str], Path | None]] = {}
    for tree in trees:
        tag = "" if tree == REPO else f" [{tree.name}]"
        nself = [sys.executable, "-P", "-m", "nself"]
        commands[f"schema diff{tag}"] = ([*nself, "schema", "diff", a, b], tree)
        commands[f"schema show{tag}"] = ([*nself, "schema", "show", "--format", "json", "--from", a], tree)
    migra = shutil.which("migra") or str(Path(sys.executable).parent / "migra")
    if Path(migra).exists():
        commands["migra --unsafe"] = ([migra, "--unsafe", a, b], None)
    commands["pg_dump --schema-only"] = ([str(find_pg_program("pg_dump")), "--schema-only", "-d", a], None)
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for attempt in range(repeat + 1):
        for name, (argv, tree) in commands.items():
            env = {**os.environ, "NO_COLOR": "1", "PYTHONPYCACHEPREFIX": str(pycache)}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            if tree is not None:
                env["PYTHONPATH"] = str(tree)
            figures = run(argv, env, postmaster)
            if attempt:
                runs[name].append(figures)
    print(f"\n{tables:,} tables (load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}), ms:")
    print(f"  {'':<34}{'wall':>8}{'client CPU':>12}{'server CPU':>12}{'CPU':>8}")
    for name, found in runs.items():
        wall = min(f[0] for f in found)
        client = statistics.median(f[1] for f in found)
        server = statistics.median(f[2] for f in found)
        print(f"  {name:<34}{wall:>8.0f}{client:>12.0f}{server:>12.0f}{client + server:>8.0f}")
    for ours, peer in (("schema diff", "migra --unsafe"), ("schema show", "pg_dump --schema-only")):
        if ours in runs and peer in runs:
            wall = min(f[0] for f in runs[ours]) / min(f[0] for f in runs[peer])
            cpu = statistics.median(f[1] + f[2] for f in runs[ours]) / statistics.median(
                f[1] + f[2] for f in runs[peer]
            )
            print(f"  {ours} / {peer}: {wall:.2f}x wall, {cpu:.2f}x CPU")
    for url in urls:
        place.drop(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], help="another checkout's nself to time too")
    args = parser.parse_args()
    trees = [REPO, *(Path(t).resolve() for t in args.tree)]
    with scratch("cpu") as place:
        for tables in (int(s) for s in args.sizes.split(",")):
            measure(tables, args.repeat, place, trees)


if __name__ == "__main__":
    main()
