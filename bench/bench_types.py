"""Type-generation benchmark: how long `nself types` takes, with no database.

For pagila (the corpus's pg_dump file, read as one migration) and for a generated
1,000-table schema written as migration files (bench_compile.generate_migrations):
- compile: nself.frontends.sql.compile_migrations over the files;
- render per language (typescript, go, python, swift, rust, graphql) of that Catalog,
  best of --repeat (a language whose backend is missing is skipped with a note);
- whole process: `nself types` in a fresh interpreter with all six outputs configured in
  nself.toml (start-up, compile, render, write), best of --repeat, after one warm-up run
  (bytecode cached as for an installed package; see environment()).
Then watch-mode latency on a pagila-sized project: `nself types --watch` running with all
outputs configured; the time from writing a migration file to the `regenerated ...` line
(every output rewritten), --watch-rounds times.

    python bench/bench_types.py [--tables 1000] [--repeat 3] [--watch-rounds 5]

Prints figures; asserts nothing. Targets (issue 3): under one second for 1,000 tables;
under 150 ms for a watch regeneration of a pagila-sized project."""

from __future__ import annotations

import argparse
import importlib
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_compile import generate_migrations  # noqa: E402

from bench.common import SIX_OUTPUTS as OUTPUTS  # noqa: E402
from nself.backends import TYPE_LANGUAGES, load_renderer  # noqa: E402
from nself.ir import Catalog  # noqa: E402
from nself.runtime.codegen import RENDER_COST  # noqa: E402
from nself.runtime.forked import forked_map  # noqa: E402

CORPUS = Path(os.environ.get("NSELF_CORPUS", REPO.parent / "shared" / "corpus"))
PAGILA = CORPUS / "schemas" / "pagila" / "pagila-schema.sql"



def best_ms(action: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def available_languages() -> tuple[list[str], list[str]]:
    present, missing = [], []
    for language, module in TYPE_LANGUAGES.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:
            missing.append(language)
        else:
            present.append(language)
    return present, missing


def write_project(root: Path, languages: list[str]) -> None:
    lines = []
    for language in languages:
        output, option = OUTPUTS[language]
        lines += [f"[types.{language}]", f'output = "{output}"']
        if option:
            lines.append(option)
        lines.append("")
    (root / "nself.toml").write_text("\n".join(lines), encoding="utf-8")


def nself_command(*args: str) -> list[str]:
    return [sys.executable, "-P", "-m", "nself", *args]


BYTECODE = Path(tempfile.mkdtemp(prefix="nself-bench-pyc-"))


def environment() -> dict[str, str]:
    """The subprocesses' environment. Bytecode is cached (in a temporary PYTHONPYCACHEPREFIX,
    even when PYTHONDONTWRITEBYTECODE is set here) as it is for an installed package:
    otherwise every run would compile nself's sources first."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "PYTHONPYCACHEPREFIX": str(BYTECODE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure_schema(label: str, migrations: Path, languages: list[str], repeat: int) -> None:
    from nself.frontends.sql import compile_migrations

    catalog: Catalog = compile_migrations(migrations)
    compile_ms = best_ms(lambda: compile_migrations(migrations), repeat)
    print(
        f"\n{label}: {len(catalog.tables)} tables, {len(catalog.views)} views, {len(catalog.functions)} functions"
    )
    print(f"  {'compile (sql frontend)':<28}{compile_ms:9.1f} ms")
    total = compile_ms
    options = {"with_relations": True, "pydantic": True, "with_hasura": True}
    for language in languages:
        render = load_renderer(TYPE_LANGUAGES[language])
        render(catalog, options)  # warm: imports and templates
        ms = best_ms(lambda render=render: render(catalog, options), repeat)
        total += ms
        print(f"  {'render ' + language:<28}{ms:9.1f} ms")
    print(f"  {'compile + all renders':<28}{total:9.1f} ms")
    longest_first = sorted(languages, key=lambda language: -RENDER_COST.get(language, 1))
    renders = [load_renderer(TYPE_LANGUAGES[language]) for language in longest_first]
    forked_ms = best_ms(lambda: forked_map(lambda render: render(catalog, options), renders), repeat)
    print(
        f"  {f'all renders, {os.cpu_count()} processes':<28}{forked_ms:9.1f} ms  (forked_map, as nself types runs them)"
    )
    start_ms = best_ms(
        lambda: subprocess.run(nself_command("--version"), env=environment(), capture_output=True), repeat
    )
    print(f"  {'start-up (nself --version)':<28}{start_ms:9.1f} ms")

    project = migrations.parent.parent
    write_project(project, languages)
    subprocess.run(nself_command("types"), cwd=project, env=environment(), capture_output=True)  # warm
    times = []
    for _ in range(repeat):
        for language in languages:  # force every output to be rewritten
            (project / OUTPUTS[language][0]).unlink(missing_ok=True)
        started = time.perf_counter()
        done = subprocess.run(
            nself_command("types"), cwd=project, env=environment(), capture_output=True, text=True
        )
        times.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            print(f"  whole process failed: {done.stderr.strip()}")
            return
    print(f"  {'whole process (nself types)':<28}{min(times):9.1f} ms  ({len(languages)} outputs written)")


def measure_watch(project: Path, migration: Path, languages: list[str], rounds: int) -> None:
    write_project(project, languages)
    process = subprocess.Popen(
        nself_command("types", "--watch"),
        cwd=project,
        env=environment(),
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
    latencies: list[float] = []
    reported: list[float] = []
    try:
        lines.get(timeout=60)  # watching ...
        lines.get(timeout=60)  # the first generation
        original = migration.read_text(encoding="utf-8")
        for round_number in range(rounds):
            time.sleep(0.3)
            text = original + f"\nCOMMENT ON TABLE public.actor IS 'round {round_number}';\n"
            written = time.perf_counter()
            migration.write_text(text, encoding="utf-8")
            arrived, line = lines.get(timeout=60)
            if not line.startswith("regenerated"):
                print(f"  watch: unexpected line: {line}")
                break
            latencies.append((arrived - written) * 1000)
            reported.append(float(line.rsplit(" in ", 1)[1].split()[0]))
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if latencies:
        print(
            f"\nwatch (pagila, {len(languages)} outputs, {len(latencies)} rounds): write -> all outputs rewritten "
            f"median {statistics.median(latencies):.0f} ms, min {min(latencies):.0f} ms; "
            f"regeneration itself median {statistics.median(reported):.0f} ms "
            "(the rest is the watcher's 50 ms step and file-event delivery)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--watch-rounds", type=int, default=5)
    args = parser.parse_args()

    languages, missing = available_languages()
    if missing:
        print(f"note: skipped (backend not present): {', '.join(missing)}")
    try:
        importlib.import_module("nself.frontends.sql")
    except ModuleNotFoundError:
        print("note: nself.frontends.sql is not present; nothing to measure without a database")
        return

    root = Path(tempfile.mkdtemp(prefix="nself-bench-types-"))
    try:
        if PAGILA.exists():
            pagila_project = root / "pagila"
            migrations = pagila_project / "nself" / "migrations"
            migrations.mkdir(parents=True)
            pagila_file = migrations / "001_20240101_pagila.sql"
            shutil.copyfile(PAGILA, pagila_file)
            measure_schema("pagila", migrations, languages, args.repeat)
        else:
            print(f"note: pagila skipped (corpus not found at {CORPUS}; set NSELF_CORPUS)")

        generated_project = root / "generated"
        generated = generated_project / "nself" / "migrations"
        generate_migrations(generated, args.tables)
        measure_schema(f"generated ({args.tables} tables)", generated, languages, args.repeat)

        if PAGILA.exists():
            measure_watch(pagila_project, pagila_file, languages, args.watch_rounds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(BYTECODE, ignore_errors=True)


if __name__ == "__main__":
    main()
