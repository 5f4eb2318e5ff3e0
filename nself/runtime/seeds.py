"""Seeds: SQL files that put known rows into a database.

`nself/seeds/*.sql` run first, then `nself/seeds/<env>/*.sql`, each in name order, from a
clean session and in its own transaction, under the advisory lock the migrations runner
takes (nself.runtime.session): concurrent runs apply a seed once. Each run is recorded
(`_nself.seeds`: name, checksum, time), so an unchanged seed is skipped and a changed one
runs again. `fresh` empties the tables the seeds write to and runs every seed, all in one
transaction: a failing seed leaves rows and history as they were."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from pglast import ast, parse_sql
from pglast import parser as pg_parser
from pglast.stream import RawStream
from pglast.visitors import Visitor
from psycopg import sql

from nself.connection import connect
from nself.errors import OptionError, SourceError, position_of
from nself.frontends.migration_files import natural_key
from nself.runtime.migrate import META_SCHEMA, slugify
from nself.runtime.session import (
    check_transaction_control,
    clean_session,
    database_error,
    ensure_table,
    locked_connection,
    run_script,
)
from nself.textfiles import read_user_text

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
    """Shared seeds, then the environment's own, each in natural name order. `seeds_dir`
    may be one file (`seeds = "supabase/seed.sql"` in nself.toml): the one seed."""
    if seeds_dir.is_file():
        return [SeedFile(seeds_dir.name, seeds_dir)]
    found: list[SeedFile] = []
    for folder in (seeds_dir, seeds_dir / environment):
        if folder.is_dir():
            files = sorted((p for p in folder.glob("*.sql") if p.is_file()), key=lambda p: natural_key(p.name))
            found.extend(SeedFile(str(p.relative_to(seeds_dir)), p) for p in files)
    return found


def _ensure_history(conn: psycopg.Connection[Any]) -> None:
    ensure_table(
        conn,
        SEED_TABLE,
        f"""CREATE TABLE IF NOT EXISTS {SEED_TABLE} (
            name text PRIMARY KEY,
            checksum text NOT NULL,
            ran_at timestamptz NOT NULL DEFAULT now(),
            duration_ms integer NOT NULL
        )""",
        what="the seed history",
    )


def _history(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, datetime]]:
    _ensure_history(conn)
    with database_error(f"cannot read the seed history ({SEED_TABLE})"):
        rows = conn.execute(f"SELECT name, checksum, ran_at FROM {SEED_TABLE}").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


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


class _WrittenTables(Visitor):
    """Targets of every writing statement, nested ones (a CTE's INSERT) included."""

    def __init__(self) -> None:
        super().__init__()
        self.relations: list[ast.RangeVar | None] = []

    def visit_InsertStmt(self, ancestors: Any, node: ast.InsertStmt) -> None:
        self.relations.append(node.relation)

    def visit_UpdateStmt(self, ancestors: Any, node: ast.UpdateStmt) -> None:
        self.relations.append(node.relation)

    def visit_DeleteStmt(self, ancestors: Any, node: ast.DeleteStmt) -> None:
        self.relations.append(node.relation)

    def visit_MergeStmt(self, ancestors: Any, node: ast.MergeStmt) -> None:
        self.relations.append(node.relation)

    def visit_CopyStmt(self, ancestors: Any, node: ast.CopyStmt) -> None:
        if node.is_from:
            self.relations.append(node.relation)


def seeded_tables(seed_sql: str) -> list[str]:
    """Tables a seed writes to (INSERT, UPDATE, DELETE, MERGE and COPY FROM targets, in CTEs
    too), quoted as written in the file: PostgreSQL resolves them on the search path."""
    visitor = _WrittenTables()
    visitor(parse_sql(seed_sql))
    names: list[str] = []
    for relation in visitor.relations:
        if relation is None:
            continue
        text = sql.Identifier(*(p for p in (relation.schemaname, relation.relname) if p)).as_string(None)
        if text not in names:
            names.append(text)
    return names


def _read(seed: SeedFile) -> str:
    return read_user_text(seed.path)


def _tables_of(seed: SeedFile, text: str) -> list[str]:
    try:
        return seeded_tables(text)
    except pg_parser.ParseError as exc:
        line, col = position_of(text, exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0)
        raise SourceError(seed.path, line, col, str(exc.args[0])) from None


# What emptying `seeded` (oids) empties: the tables, what references them by foreign key
# (TRUNCATE refuses to leave those dangling), and their partitions and inheritance children,
# transitively. `listed` is false for a table that a listed ancestor's TRUNCATE empties.
_EMPTIED = """
WITH RECURSIVE emptied(oid) AS (
    SELECT unnest(%(seeded)s::oid[])
  UNION
    SELECT x.oid FROM emptied e, LATERAL (
        SELECT conrelid FROM pg_constraint WHERE contype = 'f' AND confrelid = e.oid
        UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = e.oid
    ) x(oid)
)
SELECT e.oid, format('%%I.%%I', n.nspname, c.relname), e.oid = ANY(%(seeded)s::oid[]),
       NOT EXISTS (SELECT FROM pg_inherits i JOIN emptied p ON p.oid = i.inhparent WHERE i.inhrelid = e.oid)
FROM emptied e JOIN pg_class c ON c.oid = e.oid JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY 2
"""


@dataclass(frozen=True)
class Emptied:
    tables: list[str]  # listed in the TRUNCATE, qualified and quoted by PostgreSQL
    oids: set[int]  # every table emptied, partitions and children included


def _resolve(conn: psycopg.Connection[Any], names: list[str]) -> set[int]:
    """The tables (ordinary or partitioned) `names` designate on the search path. A view a
    seed writes through is not emptied; a table that does not exist is reported by its
    seed when it runs."""
    rows = conn.execute(
        "SELECT c.oid FROM unnest(%s::text[]) AS name JOIN pg_class c ON c.oid = to_regclass(name)"
        " WHERE c.relkind IN ('r', 'p')",
        (names,),
    ).fetchall()
    return {int(row[0]) for row in rows}


def _empty_tables(conn: psycopg.Connection[Any], names: list[str], *, cascade: bool) -> Emptied:
    """TRUNCATE the tables `names` (restarting the sequences they own). Tables that reference
    them by foreign key go in the same TRUNCATE when they hold no rows; when some do, refuse
    with their list unless `cascade`. What is emptied is named in the TRUNCATE, so it is
    exactly what is reported. Runs inside the caller's transaction."""
    seeded = _resolve(conn, names)
    if not seeded:
        return Emptied([], set())
    rows = conn.execute(_EMPTIED, {"seeded": sorted(seeded)}).fetchall()
    listed = [name for _, name, _, top in rows if top]
    # Locked before they are counted: no row can arrive between the count and the TRUNCATE.
    conn.execute(f"LOCK TABLE {', '.join(listed)} IN ACCESS EXCLUSIVE MODE".encode())
    others = [name for _, name, is_seeded, top in rows if top and not is_seeded]
    holding = [name for name in others if _has_rows(conn, name)]
    if holding and not cascade:
        raise OptionError(
            "--fresh: these tables reference the seeded tables and hold rows that emptying them "
            f"would remove: {', '.join(holding)}; seed them too, or empty them as well with --cascade"
        )
    conn.execute(f"TRUNCATE {', '.join(listed)} RESTART IDENTITY".encode())
    return Emptied(listed, {int(row[0]) for row in rows})


def _has_rows(conn: psycopg.Connection[Any], table: str) -> bool:
    return conn.execute(f"SELECT EXISTS (SELECT FROM {table})".encode()).fetchone() == (True,)


def run_seeds(
    url: str,
    seeds_dir: Path,
    environment: str,
    *,
    only: str | None = None,
    fresh: bool = False,
    cascade: bool = False,
    on_emptied: Callable[[list[str]], None] | None = None,
) -> list[SeedRun]:
    """Run new and changed seeds; with `fresh`, empty the tables they write to and run every
    one of them, in one transaction (`cascade` lets it empty the tables that reference
    them too; `on_emptied` hears which tables, once committed). `only` picks one seed by
    file name, with or without .sql. Every seed to run is checked before the first runs."""
    if cascade and not fresh:
        raise OptionError("--cascade goes with --fresh")
    every = discover_seeds(seeds_dir, environment)
    seeds = every
    if only is not None:
        wanted = only if only.endswith(".sql") else f"{only}.sql"
        seeds = [s for s in seeds if s.name == wanted or s.path.name == wanted or s.path.stem == only]
        if not seeds:
            raise OptionError(f"no seed named {only!r} in {seeds_dir}")
    runs: list[SeedRun] = []
    with locked_connection(url) as conn:
        history = _history(conn)
        texts = {seed.name: _read(seed) for seed in seeds}
        checksums = {seed.name: seed.checksum for seed in seeds}
        to_run = [s for s in seeds if fresh or history.get(s.name, ("", None))[0] != checksums[s.name]]
        for seed in to_run:
            check_transaction_control(texts[seed.name], seed.path, 1, in_transaction=True, what="seed")
        if not fresh:
            for seed in seeds:
                if seed not in to_run:
                    runs.append(SeedRun(seed.name, "skipped", 0))
                    continue
                with conn.transaction():
                    runs.append(_run_one(conn, seed, texts[seed.name], checksums[seed.name]))
            return runs
        names: list[str] = []
        for seed in to_run:
            names.extend(t for t in _tables_of(seed, texts[seed.name]) if t not in names)
        with conn.transaction():
            with database_error("--fresh: cannot empty the seeded tables"):
                emptied = _empty_tables(conn, names, cascade=cascade)
                _forget_seeds_of(conn, [s for s in every if s not in to_run], emptied.oids)
            for seed in to_run:
                runs.append(_run_one(conn, seed, texts[seed.name], checksums[seed.name]))
    if on_emptied:
        on_emptied(emptied.tables)
    return runs


def _forget_seeds_of(conn: psycopg.Connection[Any], seeds: list[SeedFile], emptied: set[int]) -> None:
    """Seeds not run now whose rows were just emptied are new again: their history would say
    they ran."""
    for seed in seeds:
        try:
            tables = seeded_tables(_read(seed))
        except (pg_parser.ParseError, SourceError):
            continue  # reported when it runs
        if _resolve(conn, tables) & emptied:
            conn.execute(f"DELETE FROM {SEED_TABLE} WHERE name = %s", (seed.name,))


def _run_one(conn: psycopg.Connection[Any], seed: SeedFile, text: str, checksum: str) -> SeedRun:
    """Run one seed from a clean session and record it, inside the caller's transaction."""
    started = time.perf_counter()
    clean_session(conn)
    run_script(conn, text, seed.path, 1)
    duration = int((time.perf_counter() - started) * 1000)
    clean_session(conn)  # the seed may have left a role without rights on the history
    with database_error(f"cannot record {seed.name} in {SEED_TABLE}"):
        conn.execute(
            f"""INSERT INTO {SEED_TABLE} (name, checksum, duration_ms) VALUES (%s, %s, %s)
                ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum,
                ran_at = now(), duration_ms = excluded.duration_ms""",
            (seed.name, checksum, duration),
        )
    return SeedRun(seed.name, "ran", duration)


def create_seed(seeds_dir: Path, name: str, *, environment: str | None = None, body: str = "") -> Path:
    """Write the next numbered seed file (`NNN_name.sql`)."""
    slug = slugify(name, "seed name")
    if seeds_dir.is_file():
        raise OptionError(f"the project's seeds are one file ({seeds_dir}, nself.toml `seeds`): add to it")
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


_WHERE_PREFIX = "SELECT WHERE "


def where_expression(where: str) -> str:
    """`--where` as one SQL expression, rendered again from its parse tree, or OptionError:
    the text is never pasted into a query, so it cannot end the statement, add another,
    or turn the SELECT into something else (ORDER BY, UNION, FOR UPDATE)."""
    try:
        parsed = parse_sql(_WHERE_PREFIX + where)
    except pg_parser.ParseError as exc:
        at = exc.args[1] - len(_WHERE_PREFIX) + 1 if len(exc.args) > 1 and exc.args[1] else None
        raise OptionError(f"--where: {exc.args[0]}" + (f" (at character {at})" if at and at > 0 else "")) from None
    stmt = parsed[0].stmt if len(parsed) == 1 else None
    if not isinstance(stmt, ast.SelectStmt) or stmt.whereClause is None:
        raise OptionError(f"--where: {where!r} is not one condition (a single SQL expression)")
    empty = parse_sql("SELECT")[0].stmt
    assert empty is not None
    shape = stmt(skip_none=True)
    shape.pop("whereClause")
    if shape != empty(skip_none=True):
        raise OptionError(f"--where: {where!r} is not one condition (a single SQL expression)")
    return str(RawStream()(stmt.whereClause))


def extract_seed(url: str, tables: list[str], *, where: str | None = None) -> str:
    """A seed script holding the live rows of `tables` (parents before children), with
    every value quoted by PostgreSQL itself so arrays, json, bytea, composites and NULLs
    come back exactly. Re-running it is harmless (ON CONFLICT DO NOTHING), and it moves
    serial/identity sequences past the inserted values. Reads in a READ ONLY transaction
    that is rolled back; `where` must be one expression (`where_expression`)."""
    if not tables:
        raise OptionError("name at least one table to extract")
    condition = where_expression(where) if where is not None else None
    with connect(url) as conn:
        conn.read_only = True
        try:
            return _extract(conn, tables, condition)
        finally:
            conn.rollback()


def _extract(conn: psycopg.Connection[Any], tables: list[str], where: str | None) -> str:
    info: dict[int, tuple[str, str, list[str], bool]] = {}
    for name in tables:
        try:
            row = conn.execute(_TABLE_INFO, (name,)).fetchone()
        except psycopg.Error as exc:
            raise OptionError(f"{name!r}: {exc.diag.message_primary or exc}") from None
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
        if where is not None:
            query += f" WHERE {where}"
        query += " ORDER BY 1"
        try:
            # Prepared: the extended protocol runs exactly one statement.
            rows = conn.execute(query.encode(), prepare=True).fetchall()
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
