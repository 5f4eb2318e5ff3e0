"""Compile-core benchmark: how long nself takes to read and write a schema, against
`pg_dump --schema-only` of the same database in the same run.

For a generated 1,000-table schema (written as migration files) and for pagila:
- live introspection (nself.frontends.live.introspect) of the loaded database,
- pg_dump --schema-only of the same database,
- the SQL frontend (nself.frontends.sql.compile_migrations) over the files, no database,
- SQL emit (nself.backends.sql.render) and text emit of the introspected Catalog.

Each figure is the best of --repeat runs, in milliseconds. Prints a table; asserts nothing.

    python bench/bench_compile.py [--tables 1000] [--repeat 3] [--url postgresql://...]

Without --url a throwaway PostgreSQL cluster is started (the machine's initdb/pg_ctl)
and removed afterwards. pagila is read from the shared corpus (NSELF_CORPUS, else
../shared/corpus beside the repository); it is skipped with a note when absent."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


from bench.common import scratch  # noqa: E402
from nself.runtime.cluster import find_pg_program  # noqa: E402

CORPUS = Path(os.environ.get("NSELF_CORPUS", REPO.parent / "shared" / "corpus"))


# --------------------------------------------------------------------------- the generated schema


def generate_migrations(directory: Path, tables: int, per_file: int = 100) -> list[Path]:
    """Write `tables` tables as nself migration files of `per_file` tables each: a serial
    PK, NOT NULL/default/check columns, FKs to up to two earlier tables with an index on
    each, a partial index, and comments on the table and a column."""
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for start in range(0, tables, per_file):
        statements = []
        for n in range(start, min(start + per_file, tables)):
            name = f"t{n:04d}"
            refs = [r for r in (n - 1, n // 2) if 0 <= r < n]
            refs = sorted(set(refs))
            columns = [
                "id serial PRIMARY KEY",
                "name text NOT NULL",
                "score integer NOT NULL DEFAULT 0 CHECK (score >= 0)",
                "status varchar(20) NOT NULL DEFAULT 'new'",
                "created_at timestamptz NOT NULL DEFAULT now()",
                "payload jsonb",
            ]
            columns += [f"t{r:04d}_id integer REFERENCES t{r:04d} (id) ON DELETE CASCADE" for r in refs]
            statements.append(f"CREATE TABLE {name} (\n    " + ",\n    ".join(columns) + "\n);")
            statements += [f"CREATE INDEX ON {name} (t{r:04d}_id);" for r in refs]
            statements.append(
                f"CREATE INDEX {name}_recent_idx ON {name} (created_at) WHERE status <> 'done';"
            )
            statements.append(f"COMMENT ON TABLE {name} IS 'Generated table number {n}';")
            statements.append(f"COMMENT ON COLUMN {name}.score IS 'Never negative';")
        path = directory / f"{start // per_file + 1:03d}_20240101_tables_{start:04d}.sql"
        path.write_text("-- migrate:up\n" + "\n".join(statements) + "\n\n-- migrate:down\n", encoding="utf-8")
        files.append(path)
    return files


# --------------------------------------------------------------------------- measuring


@dataclass
class Row:
    case: str
    figures: dict[str, float | str] = field(default_factory=dict)


def best_of(repeat: int, action: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time in ms over `repeat` runs, and the last result."""
    times = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), result


def optional(module: str, name: str) -> Callable[..., Any] | None:
    try:
        found: Callable[..., Any] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        print(f"note: {module}.{name} is not available yet ({exc}); its column is skipped")
        return None
    return found


def psql_file(url: str, path: Path) -> None:
    subprocess.run(
        [str(find_pg_program("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )


def pg_dump_schema(url: str) -> int:
    result = subprocess.run(
        [str(find_pg_program("pg_dump")), "--schema-only", "-d", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return len(result.stdout)


def measure(case: str, url: str, sources: Path, repeat: int) -> Row:
    row = Row(case)
    introspect = optional("nself.frontends.live", "introspect")
    compile_migrations = optional("nself.frontends.sql", "compile_migrations")
    from nself.backends.sql import render as render_sql
    from nself.backends.text import render as render_text

    row.figures["pg_dump --schema-only"], _ = best_of(repeat, lambda: pg_dump_schema(url))
    catalog = None
    if introspect is not None:
        row.figures["live introspect"], catalog = best_of(repeat, lambda: introspect(url))
    if compile_migrations is not None:
        row.figures["sql frontend"], compiled = best_of(repeat, lambda: compile_migrations(sources))
        catalog = catalog if catalog is not None else compiled
    if catalog is not None:
        row.figures["sql emit"], _ = best_of(repeat, lambda: render_sql(catalog, {}))
        row.figures["text emit"], _ = best_of(repeat, lambda: render_text(catalog, {}))
        row.figures["tables"] = str(len(catalog.tables))
    return row


# --------------------------------------------------------------------------- databases


@contextmanager
def server(url: str | None) -> Iterator[Callable[[], str]]:
    """A factory of fresh databases on `url`'s server, or on a throwaway cluster."""
    with scratch("pg", url) as place:
        yield lambda: place.database("bench")


def print_table(rows: list[Row]) -> None:
    columns = [
        "tables",
        "live introspect",
        "pg_dump --schema-only",
        "sql frontend",
        "sql emit",
        "text emit",
    ]
    header = ["case", *columns]

    def cell(value: float | str | None) -> str:
        if value is None:
            return "-"
        return value if isinstance(value, str) else f"{value:.1f}"

    body = [[r.case, *(cell(r.figures.get(c)) for c in columns)] for r in rows]
    widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
    print()
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for b in body:
        print(
            "  ".join(
                x.ljust(w) if i == 0 else x.rjust(w) for i, (x, w) in enumerate(zip(b, widths, strict=True))
            )
        )
    print("\n(milliseconds, best of the runs; '-' = not measured)")
    for r in rows:
        live, dump = r.figures.get("live introspect"), r.figures.get("pg_dump --schema-only")
        if isinstance(live, float) and isinstance(dump, float):
            print(f"{r.case}: live introspection / pg_dump = {live / dump:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tables", type=int, default=1000, help="tables in the generated schema (1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is shown (3)")
    parser.add_argument(
        "--url", help="a server to create the benchmark databases on (default: a throwaway cluster)"
    )
    args = parser.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory(prefix="nself-bench-") as tmp, server(args.url) as new_database:
        migrations = Path(tmp) / "migrations"
        files = generate_migrations(migrations, args.tables)
        url = new_database()
        started = time.perf_counter()
        for path in files:
            psql_file(url, path)
        print(
            f"generated {args.tables} tables in {len(files)} migration files, loaded in "
            f"{time.perf_counter() - started:.1f} s"
        )
        rows.append(measure(f"generated ({args.tables} tables)", url, migrations, args.repeat))

        pagila = CORPUS / "schemas" / "pagila" / "pagila-schema.sql"
        if pagila.exists():
            url = new_database()
            psql_file(url, pagila)
            rows.append(measure("pagila", url, pagila, args.repeat))
        else:
            print(f"note: pagila not found at {pagila} (set NSELF_CORPUS); skipped")
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
