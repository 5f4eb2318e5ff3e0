"""Seeds: SQL files that put known rows into a database.

`nself/seeds/*.sql` run first, then `nself/seeds/<env>/*.sql`, each in name order and in
its own transaction. Each run is recorded (`_nself.seeds`: name, checksum, time), so an
unchanged seed is skipped and a changed one runs again."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from pglast import ast, parse_sql
from pglast import parser as pg_parser
from psycopg import sql

from nself.connection import connect
from nself.errors import OptionError
from nself.frontends.migration_files import natural_key
from nself.runtime.migrate import META_SCHEMA, run_script, slugify

SEED_TABLE = f"{META_SCHEMA}.seeds"

SeedStatus = Literal["new", "ran", "changed"]


@dataclass(frozen=True)
class SeedFile:
    name: str  # relative to the seeds folder: "001_admin.sql", "local/001_demo.sql"
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class SeedState:
    name: str
    status: SeedStatus
    ran_at: datetime | None


@dataclass(frozen=True)
class SeedRun:
    name: str
    action: Literal["ran", "skipped"]
    duration_ms: int


def discover_seeds(seeds_dir: Path, environment: str) -> list[SeedFile]:
    """Shared seeds, then the environment's own, each in natural name order."""
    found: list[SeedFile] = []
    for folder in (seeds_dir, seeds_dir / environment):
        if folder.is_dir():
            files = sorted((p for p in folder.glob("*.sql") if p.is_file()), key=lambda p: natural_key(p.name))
            found.extend(SeedFile(str(p.relative_to(seeds_dir)), p) for p in files)
    return found


def _ensure_history(conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {SEED_TABLE} (
            name text PRIMARY KEY,
            checksum text NOT NULL,
            ran_at timestamptz NOT NULL DEFAULT now(),
            duration_ms integer NOT NULL
        )"""
    )


def _history(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, datetime]]:
    _ensure_history(conn)
    return {r[0]: (r[1], r[2]) for r in conn.execute(f"SELECT name, checksum, ran_at FROM {SEED_TABLE}").fetchall()}


def seed_status(url: str, seeds_dir: Path, environment: str) -> list[SeedState]:
    with connect(url, autocommit=True) as conn:
        history = _history(conn)
    states = []
    for seed in discover_seeds(seeds_dir, environment):
        if seed.name not in history:
            states.append(SeedState(seed.name, "new", None))
        else:
            checksum, ran_at = history[seed.name]
            states.append(SeedState(seed.name, "ran" if checksum == seed.checksum else "changed", ran_at))
    return states


def seeded_tables(seed_sql: str) -> list[str]:
    """Tables a seed writes to (INSERT, COPY, UPDATE targets), as written in the file."""
    names: list[str] = []
    for raw in parse_sql(seed_sql):
        stmt = raw.stmt
        relation = None
        if isinstance(stmt, (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.CopyStmt)):
            relation = stmt.relation
        if relation is not None:
            name = sql.Identifier(*(p for p in (relation.schemaname, relation.relname) if p))
            text = name.as_string(None)
            if text not in names:
                names.append(text)
    return names


def run_seeds(
    url: str,
    seeds_dir: Path,
    environment: str,
    *,
    only: str | None = None,
    fresh: bool = False,
) -> list[SeedRun]:
    """Run new and changed seeds (all of them with `fresh`, after emptying the tables they
    write to). `only` picks one seed by file name, with or without .sql."""

    seeds = discover_seeds(seeds_dir, environment)
    if only is not None:
        wanted = only if only.endswith(".sql") else f"{only}.sql"
        seeds = [s for s in seeds if s.name == wanted or s.path.name == wanted or s.path.stem == only]
        if not seeds:
            raise OptionError(f"no seed named {only!r} in {seeds_dir}")
    runs: list[SeedRun] = []
    with connect(url, autocommit=True) as conn:
        history = _history(conn)
        if fresh:
            tables: list[str] = []
            for seed in seeds:
                try:
                    tables.extend(t for t in seeded_tables(seed.path.read_text(encoding="utf-8")) if t not in tables)
                except pg_parser.ParseError:
                    continue  # the run below reports the error with its position
            if tables:
                conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE".encode())
        for seed in seeds:
            checksum = seed.checksum
            if not fresh and history.get(seed.name, ("", None))[0] == checksum:
                runs.append(SeedRun(seed.name, "skipped", 0))
                continue
            started = time.perf_counter()
            with conn.transaction():
                run_script(conn, seed.path.read_text(encoding="utf-8"), seed.path, 1)
                duration = int((time.perf_counter() - started) * 1000)
                conn.execute(
                    f"""INSERT INTO {SEED_TABLE} (name, checksum, duration_ms) VALUES (%s, %s, %s)
                        ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum,
                        ran_at = now(), duration_ms = excluded.duration_ms""",
                    (seed.name, checksum, duration),
                )
            runs.append(SeedRun(seed.name, "ran", duration))
    return runs


def create_seed(seeds_dir: Path, name: str, *, environment: str | None = None, body: str = "") -> Path:
    """Write the next numbered seed file (`NNN_name.sql`)."""
    slug = slugify(name, "seed name")
    folder = seeds_dir / environment if environment else seeds_dir
    folder.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in folder.glob("*.sql") if (m := re.match(r"^(\d+)_", p.name))]
    path = folder / f"{max(numbers, default=0) + 1:03d}_{slug}.sql"
    if path.exists():
        raise OptionError(f"{path} already exists")
    path.write_text(body or f"-- Seed: {name}\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- extract

_TABLE_INFO = """
SELECT c.oid, n.nspname, c.relname,
       array_agg(a.attname ORDER BY a.attnum) FILTER (WHERE a.attgenerated = ''),
       bool_or(a.attidentity = 'a')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.oid = to_regclass(%s)
GROUP BY c.oid, n.nspname, c.relname
"""

_PARENTS = """
SELECT DISTINCT confrelid FROM pg_constraint WHERE contype = 'f' AND conrelid = %s AND confrelid <> conrelid
"""

_SEQUENCES = """
SELECT a.attname, pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
  AND pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname) IS NOT NULL
"""


def extract_seed(url: str, tables: list[str], *, where: str | None = None) -> str:
    """A seed script holding the live rows of `tables` (parents before children), with
    every value quoted by PostgreSQL itself so arrays, json, bytea, composites and NULLs
    come back exactly. Re-running it is harmless (ON CONFLICT DO NOTHING), and it moves
    serial/identity sequences past the inserted values."""
    if not tables:
        raise OptionError("name at least one table to extract")
    with connect(url) as conn:
        info: dict[int, tuple[str, str, list[str], bool]] = {}
        for name in tables:
            row = conn.execute(_TABLE_INFO, (name,)).fetchone()
            if row is None:
                raise OptionError(f"no table {name!r} in the database")
            info[row[0]] = (row[1], row[2], list(row[3] or []), bool(row[4]))
        order = _parents_first(conn, list(info))
        lines = ["-- Extracted by `nself seed extract`.", ""]
        for oid in order:
            schema, table, columns, always_identity = info[oid]
            target = sql.Identifier(schema, table).as_string(conn)
            column_list = ", ".join(sql.Identifier(c).as_string(conn) for c in columns)
            values = ", ".join(f"quote_nullable({sql.Identifier(c).as_string(conn)})" for c in columns)
            query = f"SELECT concat_ws(', ', {values}) FROM {target}"
            if where:
                query += f" WHERE {where}"
            query += " ORDER BY 1"
            try:
                rows = conn.execute(query.encode()).fetchall()
            except psycopg.Error as exc:
                raise OptionError(f"--where: {exc.diag.message_primary or exc}") from None
            override = " OVERRIDING SYSTEM VALUE" if always_identity else ""
            for (row_values,) in rows:
                lines.append(f"INSERT INTO {target} ({column_list}){override} VALUES ({row_values}) ON CONFLICT DO NOTHING;")
            for column, sequence in conn.execute(_SEQUENCES, (oid,)).fetchall():
                ident = sql.Identifier(column).as_string(conn)
                lines.append(
                    f"SELECT setval({sql.Literal(sequence).as_string(conn)}, "
                    f"(SELECT max({ident}) FROM {target}), true) WHERE EXISTS (SELECT FROM {target});"
                )
            lines.append("")
    return "\n".join(lines)


def _parents_first(conn: psycopg.Connection[Any], oids: list[int]) -> list[int]:
    parents = {oid: {r[0] for r in conn.execute(_PARENTS, (oid,)).fetchall()} & set(oids) for oid in oids}
    ordered: list[int] = []
    visiting: set[int] = set()

    def visit(oid: int) -> None:
        if oid in ordered or oid in visiting:
            return  # a cycle: keep the given order for the rest of it
        visiting.add(oid)
        for parent in sorted(parents[oid]):
            visit(parent)
        visiting.discard(oid)
        ordered.append(oid)

    for oid in oids:
        visit(oid)
    return ordered
