"""Watch-mode latency: `nself types --watch` on pagila with all six outputs configured, the
time from writing a migration file to the `regenerated ...` line (every output rewritten),
against the peer a user would otherwise run on each save: `nself types` as a whole process,
in the same run.

Four kinds of save, --rounds each:
- append: a statement added at the end of pagila's one migration file (the frontend replays
  only the tail of the file);
- edit near the top: a column added to the first table (the rest of the file is replayed);
- edit near the end: a statement added before the file's last two (the file is replayed from
  the last checkpoint before it);
- new file: a second migration saved and then edited (only that file is read).

Saves are a second apart (the watcher does its bookkeeping for the next round in between).
Prints the median and the best latency, the regeneration's own time as nself reports it
(the rest is the file-event delivery and the watcher's step), and the watcher's CPU time per
round (from /proc, 10 ms ticks, averaged): on a busy machine the wall-clock figures mostly
measure the wait for a core. Asserts nothing.

    python bench/bench_watch.py [--rounds 7]"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import SIX_OUTPUTS as OUTPUTS  # noqa: E402

CORPUS = Path(os.environ.get("NSELF_CORPUS", REPO.parent / "shared" / "corpus"))
PAGILA = CORPUS / "schemas" / "pagila" / "pagila-schema.sql"



def write_project(root: Path) -> None:
    lines = []
    for language, (output, option) in OUTPUTS.items():
        lines += [f"[types.{language}]", f'output = "{output}"', *([option] if option else []), ""]
    (root / "nself.toml").write_text("\n".join(lines), encoding="utf-8")


def environment(bytecode: Path) -> dict[str, str]:
    """Bytecode cached, as for an installed package."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "PYTHONPYCACHEPREFIX": str(bytecode)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def nself(*args: str) -> list[str]:
    return [sys.executable, "-P", "-m", "nself", *args]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if not PAGILA.exists():
        sys.exit(f"pagila not found at {PAGILA} (set NSELF_CORPUS)")
    root = Path(tempfile.mkdtemp(prefix="nself-bench-watch-"))
    bytecode = root / "pyc"
    env = environment(bytecode)
    project = root / "pagila"
    migrations = project / "nself" / "migrations"
    migrations.mkdir(parents=True)
    pagila = migrations / "001_20240101_pagila.sql"
    shutil.copyfile(PAGILA, pagila)
    write_project(project)
    original = pagila.read_text(encoding="utf-8")
    second = migrations / "002_20240102_more.sql"

    # The peer: nself types as a whole process (what a save costs without --watch).
    subprocess.run(nself("types"), cwd=project, env=env, capture_output=True, check=True)  # warm the bytecode
    whole = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(nself("types"), cwd=project, env=env, capture_output=True, check=True)
        whole.append((time.perf_counter() - started) * 1000)

    process = subprocess.Popen(
        nself("types", "--watch"),
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[tuple[float, str]] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put((time.perf_counter(), line.strip()))

    threading.Thread(target=read, daemon=True).start()

    def next_round() -> tuple[float, str]:
        """The next line that ends a round (warnings about the schema are passed over)."""
        while True:
            arrived, line = lines.get(timeout=60)
            if line.startswith(("regenerated", "up to date", "error")):
                return arrived, line

    def cpu_ms() -> float:
        """The watcher process's CPU time so far (user + system, clock ticks of 10 ms)."""
        fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    def measure(save: Callable[[int], None]) -> tuple[list[float], list[float], list[float]]:
        latencies, reported, cpu = [], [], []
        for n in range(args.rounds):
            time.sleep(1.0)  # a person's pace: the watcher's bookkeeping is done by then
            before = cpu_ms()
            written = time.perf_counter()
            save(n)
            arrived, line = next_round()
            cpu.append(cpu_ms() - before)
            if not line.startswith("regenerated"):
                sys.exit(f"watch: unexpected line: {line}")
            latencies.append((arrived - written) * 1000)
            reported.append(float(line.rsplit(" in ", 1)[1].split()[0]))
        return latencies, reported, cpu

    kinds: list[tuple[str, Callable[[int], None]]] = [
        (
            "append",
            lambda n: pagila.write_text(
                original + f"\nCOMMENT ON TABLE public.actor IS 'round {n}';\n", "utf-8"
            ),
        ),
        (
            "edit near the top",
            lambda n: pagila.write_text(
                original.replace(
                    "CREATE TABLE public.actor (\n", f"CREATE TABLE public.actor (\n    extra_{n} integer,\n"
                ),
                "utf-8",
            ),
        ),
        (
            "edit near the end",
            lambda n: pagila.write_text(
                original.replace(
                    "REVOKE USAGE ON SCHEMA public FROM PUBLIC;",
                    f"ALTER TABLE public.store ADD COLUMN extra_{n} integer;\nREVOKE USAGE ON SCHEMA public FROM PUBLIC;",
                ),
                "utf-8",
            ),
        ),
        (
            "new file",
            lambda n: second.write_text(f"ALTER TABLE public.film ADD COLUMN note_{n} text;\n", "utf-8"),
        ),
    ]
    try:
        next_round()  # the first generation
        results = [(label, *measure(save)) for label, save in kinds]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)

    print(f"pagila, {len(OUTPUTS)} outputs, {args.rounds} rounds of each save")
    print(f"{'':24}{'median ms':>10}{'best ms':>9}{'regeneration ms':>17}{'CPU ms':>8}")
    for label, latencies, reported, cpu in results:
        print(
            f"{'watch: ' + label:24}{statistics.median(latencies):10.0f}{min(latencies):9.0f}"
            f"{statistics.median(reported):17.0f}{statistics.mean(cpu):8.0f}"
        )
    print(
        f"{'peer: nself types':24}{statistics.median(whole):10.0f}{min(whole):9.0f}   (whole process, per save)"
    )


if __name__ == "__main__":
    main()
