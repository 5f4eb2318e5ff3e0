"""Whole-command scale benchmark: nself as users run it (a fresh process, from the shell
prompt back to the prompt) at 1,000, 5,000 and 10,000 tables, against its peers measured in
the same run.

For each size a generated schema (nself's migration files, and the same SQL loaded into a
database; a changed copy in a second database for the diff):
- `nself schema show --format json --from URL` (live introspection) against
  `pg_dump --schema-only` of the same database;
- `nself schema show --format json --from nself/migrations` (the sql frontend, no database)
  and `nself types`, all six outputs configured in nself.toml, from the migration files:
  each cold (the project's cache, .nself/cache, removed before every run), warm (the cache
  filled by the run before: an unchanged project) and after an edit of one table in the last
  migration file (the cache holds the state before that file, which alone is replayed; the
  six outputs are rendered, reusing the pieces of the other tables where the language keeps
  them: codegen.FRAGMENT_LANGUAGES); `types` also with the compile cached but not its rendered outputs
  (.nself/cache/types removed); `types` writes its six files every run (they are removed
  before it); each with its CPU
  time beside it (user + system of the process and the children it waited for: on a shared
  machine the wall time mostly measures the wait for a core);
- `nself schema diff URL_A URL_B` against `migra --unsafe URL_A URL_B` (migra from PyPI,
  installed with the test extra).
Figures are the best of --repeat runs, in milliseconds (the size of .nself/cache after
them in MB), bytecode cached as for an installed
package. The three points of each command are printed side by side with the cost per 1,000
tables, so linear growth is visible. Asserts nothing (figures, never timing tests).

    python bench/bench_scale.py [--sizes 1000,5000,10000] [--repeat 3] [--no-database]

A throwaway PostgreSQL cluster (the machine's initdb/pg_ctl) is started and removed
afterwards; --no-database measures only the commands that read migration files (no database
is loaded, no peers)."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


from bench.common import SIX_OUTPUTS as OUTPUTS  # noqa: E402
from bench.common import Scratch, scratch  # noqa: E402
from nself.runtime.cluster import find_pg_program  # noqa: E402

ENUMS = {
    "status": ("new", "active", "suspended", "gone"),
    "priority": ("low", "normal", "high", "urgent"),
    "channel": ("web", "mobile", "api", "batch"),
}
SCHEMAS = ("app", "billing", "audit", "tenant")
PER_FILE = 500



# --------------------------------------------------------------------------- the generated schema


def table_name(n: int) -> str:
    return f"{SCHEMAS[n % len(SCHEMAS)]}.t{n:05d}"


def table_sql(n: int, changed: bool) -> list[str]:
    """One table with its indexes, comments, and every tenth a view, every 250th a function.
    `changed`: the B side of the diff, where every tenth table is edited."""
    name = table_name(n)
    enum = list(ENUMS)[n % len(ENUMS)]
    refs = sorted({r for r in (n - 1, n // 2) if 0 <= r < n and not (changed and dropped(r))})
    edited = changed and n % 10 == 3
    columns = [
        "id bigserial PRIMARY KEY",
        "code varchar(32) NOT NULL UNIQUE",
        "name text NOT NULL DEFAULT ''",
        "amount numeric(12,2) NOT NULL DEFAULT 0 CHECK (amount >= 0)",
        f"{enum} public.{enum} NOT NULL DEFAULT '{ENUMS[enum][0]}'",
        "tags text[]",
        "payload jsonb",
        "created_at timestamptz NOT NULL DEFAULT now()",
        "updated_at timestamptz",
    ]
    if edited:
        columns[3] = "amount numeric(14,2) NOT NULL DEFAULT 0 CHECK (amount >= 0)"  # retyped
        columns.remove("updated_at timestamptz")  # dropped
        columns.append("note text DEFAULT 'x'")  # added
    columns += [f"t{r:05d}_id bigint REFERENCES {table_name(r)} (id) ON DELETE CASCADE" for r in refs]
    out = [f"CREATE TABLE {name} (\n    " + ",\n    ".join(columns) + "\n);"]
    out += [f"CREATE INDEX ON {name} (t{r:05d}_id);" for r in refs]
    out.append(
        f"CREATE INDEX t{n:05d}_recent_idx ON {name} (created_at) WHERE {enum} <> '{ENUMS[enum][-1]}';"
    )
    if edited:
        out.append(f"CREATE INDEX t{n:05d}_name_idx ON {name} (lower(name));")
    out.append(f"COMMENT ON TABLE {name} IS 'generated table {n}';")
    out.append(f"COMMENT ON COLUMN {name}.amount IS 'never negative';")
    if n % 10 == 9:
        where = "amount > 0" if changed and n % 100 == 9 else "amount >= 0"
        out.append(f"CREATE VIEW {name}_v AS SELECT id, code, name, amount FROM {name} WHERE {where};")
    if n % 250 == 0:
        body = "amount * 2" if changed else "amount"
        out.append(
            f"CREATE FUNCTION {name}_total(p_id bigint) RETURNS numeric LANGUAGE sql STABLE\n"
            f"    AS $$ SELECT coalesce(sum({body}), 0) FROM {name} WHERE id = p_id $$;"
        )
    return out


def schema_sql(tables: int, changed: bool) -> list[str]:
    """The statements of the schema, one chunk per PER_FILE tables (the first chunk also
    creates the schemas and enums)."""
    head = [f"CREATE SCHEMA {schema};" for schema in SCHEMAS]
    for enum, labels in ENUMS.items():
        values = (*labels, "archived") if changed and enum == "status" else labels
        head.append(f"CREATE TYPE public.{enum} AS ENUM ({', '.join(repr(v) for v in values)});")
    chunks = []
    for start in range(0, tables, PER_FILE):
        statements = head if start == 0 else []
        for n in range(start, min(start + PER_FILE, tables)):
            if changed and dropped(n):
                continue  # the tables referencing it lose that foreign key (table_sql)
            statements = statements + table_sql(n, changed)
        chunks.append("\n".join(statements))
    if changed:
        chunks[-1] += "\nCREATE TABLE app.brand_new (id int PRIMARY KEY, note text);"
    return chunks


def dropped(n: int) -> bool:
    """The tables the B side of the diff drops."""
    return n % 100 == 57


def write_migrations(directory: Path, chunks: list[str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for i, chunk in enumerate(chunks, 1):
        (directory / f"{i:03d}_20240101_part{i}.sql").write_text(
            f"-- migrate:up\n{chunk}\n\n-- migrate:down\n", encoding="utf-8"
        )


def load(url: str, chunks: list[str], folder: Path) -> None:
    """Each chunk in its own transaction (10,000 tables in one would outgrow the lock table)."""
    for chunk in chunks:
        path = folder / f"load-{uuid.uuid4().hex[:8]}.sql"
        path.write_text(chunk + "\n", encoding="utf-8")
        done = subprocess.run(
            [
                str(find_pg_program("psql")),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-1",
                "-d",
                url,
                "-f",
                str(path),
            ],
            capture_output=True,
            text=True,
        )
        path.unlink()
        if done.returncode != 0:
            raise SystemExit(f"loading the generated schema failed: {done.stderr[-2000:]}")


# --------------------------------------------------------------------------- measuring


BYTECODE = Path(tempfile.mkdtemp(prefix="nself-bench-pyc-"))


def environment() -> dict[str, str]:
    """Bytecode cached (in a temporary PYTHONPYCACHEPREFIX) as for an installed package."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "PYTHONPYCACHEPREFIX": str(BYTECODE)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


_WARM: set[str] = set()


def best_ms(argv: list[str], repeat: int, cwd: Path, before: object = None) -> float:
    """Best wall time of the whole process over `repeat` runs (with a warm-up run the first
    time a command is measured, which writes its bytecode)."""
    times = []
    warm = " ".join(argv[:5]) in _WARM
    _WARM.add(" ".join(argv[:5]))
    for attempt in range(0 if warm else -1, repeat):
        if before is not None:
            before()  # type: ignore[operator]
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=environment(), capture_output=True, text=True)
        elapsed = (time.perf_counter() - started) * 1000
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime) * 1000
        if done.returncode != 0 and not (
            argv[0].endswith("migra") and done.returncode == 2
        ):  # 2: they differ
            raise SystemExit(f"{' '.join(argv[:6])} ... failed ({done.returncode}): {done.stderr[-2000:]}")
        if attempt >= 0:
            times.append(elapsed)
            if elapsed == min(times):
                CPU[" ".join(argv)] = cpu
    return min(times)


# command line -> CPU milliseconds (user + system, the process and the children it waited for)
# of its best run: on a shared machine the wall time mostly measures the wait for a core
CPU: dict[str, float] = {}


def cpu_ms(argv: list[str]) -> float:
    return CPU[" ".join(argv)]


def nself(*args: str) -> list[str]:
    return [sys.executable, "-P", "-m", "nself", *args]


def write_project(project: Path) -> None:
    lines = []
    for language, (output, option) in OUTPUTS.items():
        lines += [f"[types.{language}]", f'output = "{output}"', *([option] if option else []), ""]
    (project / "nself.toml").write_text("\n".join(lines), encoding="utf-8")


def measure_files(project: Path, repeat: int) -> dict[str, float]:
    """The commands that compile the migration files: cold, warm, and after an edit of the
    last file."""
    migrations = project / "nself" / "migrations"
    last = sorted(migrations.glob("*.sql"))[-1]
    original = last.read_text(encoding="utf-8")
    edits = iter(range(1_000_000))

    def remove_outputs() -> None:
        for output, _ in OUTPUTS.values():
            (project / output).unlink(missing_ok=True)

    def cold() -> None:
        shutil.rmtree(project / ".nself" / "cache", ignore_errors=True)
        remove_outputs()

    def renders_not_cached() -> None:
        shutil.rmtree(project / ".nself" / "cache" / "types", ignore_errors=True)
        remove_outputs()

    # a table of the last file (its first CREATE TABLE)
    edited = original.split("CREATE TABLE ", 1)[1].split(" ", 1)[0]

    def edit_last() -> None:
        # one table of the last file changed, another way each run (a column added and
        # commented): the last file differs from the one cached, and the outputs' pieces
        # of every other table are those of the run before
        n = next(edits)
        last.write_text(
            original.replace(
                "-- migrate:down",
                f"ALTER TABLE {edited} ADD COLUMN edit_{n} integer;\n"
                f"COMMENT ON COLUMN {edited}.edit_{n} IS 'edit {n}';\n\n-- migrate:down",
            ),
            encoding="utf-8",
        )
        remove_outputs()

    show = nself("schema", "show", "--format", "json", "--from", str(migrations))
    figures: dict[str, float] = {}
    for name, argv, before in (
        ("schema show (files) cold", show, cold),
        ("schema show (files) warm", show, None),
        ("types (all six) cold", nself("types"), cold),
        ("types, compile cached", nself("types"), renders_not_cached),
        ("types (all six) warm", nself("types"), remove_outputs),
        ("types, last file edited", nself("types"), edit_last),
    ):
        figures[name] = best_ms(argv, repeat, project, before=before)
        figures[f"{name}, CPU"] = cpu_ms(argv)
    # what the caches hold on the users' disks after those runs (MB, not ms)
    cache = project / ".nself" / "cache"
    figures["cache on disk, MB"] = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) / 1e6
    last.write_text(original, encoding="utf-8")
    return figures


def measure(tables: int, repeat: int, place: Scratch, *, files_only: bool = False) -> dict[str, float]:
    root = place.work
    project = root / f"p{tables}"
    migrations = project / "nself" / "migrations"
    chunks_a, chunks_b = schema_sql(tables, changed=False), schema_sql(tables, changed=True)
    write_migrations(migrations, chunks_a)
    write_project(project)
    if files_only:
        figures = measure_files(project, repeat)
        shutil.rmtree(project, ignore_errors=True)
        return figures
    urls = []
    for chunks in (chunks_a, chunks_b):
        urls.append(place.database(f"scale_{tables}"))
        load(urls[-1], chunks, root)
    a, b = urls
    migra = shutil.which("migra") or str(Path(sys.executable).parent / "migra")

    figures = {
        "schema show (live)": best_ms(
            nself("schema", "show", "--format", "json", "--from", a), repeat, project
        ),
        "pg_dump --schema-only": best_ms(
            [str(find_pg_program("pg_dump")), "--schema-only", "-d", a], repeat, project
        ),
        **measure_files(project, repeat),
        "schema diff": best_ms(nself("schema", "diff", a, b), repeat, project),
    }
    if Path(migra).exists():
        figures["migra"] = best_ms([migra, "--unsafe", a, b], repeat, project)
    for url in urls:
        place.drop(url)
    shutil.rmtree(project, ignore_errors=True)
    return figures


def report(results: dict[int, dict[str, float]]) -> None:
    sizes = sorted(results)
    names = list(results[sizes[0]])
    print(
        f"\nwhole process, best of runs, ms ({', '.join(f'{s:,}' for s in sizes)} tables; then ms per 1,000 tables)"
    )
    for name in names:
        cells = "".join(f"{results[s][name]:>10.0f}" for s in sizes)
        per = "".join(f"{results[s][name] / s * 1000:>8.0f}" for s in sizes)
        print(f"  {name:<24}{cells}   |{per}")
    pairs = [("schema show (live)", "pg_dump --schema-only"), ("schema diff", "migra")]
    for ours, peer in pairs:
        if ours in results[sizes[0]] and peer in results[sizes[0]]:
            ratios = "  ".join(f"{s:,}: {results[s][ours] / results[s][peer]:.2f}x" for s in sizes)
            print(f"  {ours} / {peer}: {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--no-database", action="store_true", help="only the commands that read migration files"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    results: dict[int, dict[str, float]] = {}
    try:
        with scratch("scale") as place:
            for tables in sizes:
                results[tables] = measure(tables, args.repeat, place, files_only=args.no_database)
                print(
                    f"{tables:,} tables: " + ", ".join(f"{k} {v:.0f} ms" for k, v in results[tables].items()),
                    flush=True,
                )
                print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
            report(results)
    finally:
        shutil.rmtree(BYTECODE, ignore_errors=True)


if __name__ == "__main__":
    main()
