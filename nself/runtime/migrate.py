"""Applying migration files to a database, with history, rollback and drift checks.

History lives in the database (`_nself.migrations`). Each file runs in its own
transaction unless it opts out (`-- nself:no-transaction`, or dbmate's
`-- migrate:up transaction:false`), so a failing file leaves schema and history as they
were. A session-level advisory lock serialises concurrent runs: each file applies once."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import psycopg
from pglast import parser as pg_parser

from nself.connection import connect
from nself.errors import NselfError, OptionError, SourceError, position_of
from nself.frontends.migration_files import MigrationFile, discover_migrations

META_SCHEMA = "_nself"
HISTORY_TABLE = f"{META_SCHEMA}.migrations"
# Any constant would do; this one is "nself" in ASCII so it is recognisable in pg_locks.
ADVISORY_LOCK_KEY = 0x6E73656C66

_LEADING_COMMENTS = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_NO_TRANSACTION = re.compile(r"^--\s*(nself:no-transaction|migrate:up\b.*transaction:false)", re.MULTILINE)

Status = Literal["applied", "pending", "changed", "missing"]


class MigrationFailed(NselfError):
    pass


@dataclass(frozen=True)
class MigrationState:
    version: str
    name: str
    status: Status
    file: str | None
    checksum: str | None
    applied_at: datetime | None = None
    duration_ms: int | None = None


@dataclass(frozen=True)
class MigrationRun:
    version: str
    name: str
    file: str
    duration_ms: int
    direction: Literal["up", "down"] = "up"


def checksum_of(migration: MigrationFile) -> str:
    """What `migrate:status` compares to detect a file edited after it was applied."""
    digest = hashlib.sha256(migration.up_sql.encode())
    if migration.down_sql is not None:
        digest.update(b"\0" + migration.down_sql.encode())
    return digest.hexdigest()


def migration_key(migration: MigrationFile) -> str:
    return migration.version or migration.path.stem


def ensure_history(conn: psycopg.Connection[Any]) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
            version text PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            duration_ms integer NOT NULL,
            applied_order bigint GENERATED ALWAYS AS IDENTITY
        )"""
    )


@contextmanager
def migration_lock(url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection holding the project's advisory lock, with history ready."""
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            ensure_history(conn)
            yield conn
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def _applied(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, str, datetime, int]]:
    rows = conn.execute(
        f"SELECT version, name, checksum, applied_at, duration_ms FROM {HISTORY_TABLE} ORDER BY applied_order"
    ).fetchall()
    return {row[0]: (row[1], row[2], row[3], row[4]) for row in rows}


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def migration_status(url: str, directory: Path) -> list[MigrationState]:
    files = discover_migrations(directory) if directory.exists() else []
    with migration_lock(url) as conn:
        applied = _applied(conn)
    states: list[MigrationState] = []
    seen: set[str] = set()
    for migration in files:
        key = migration_key(migration)
        seen.add(key)
        checksum = checksum_of(migration)
        if key in applied:
            name, stored, at, duration = applied[key]
            status: Status = "applied" if stored == checksum else "changed"
            states.append(MigrationState(key, migration.name, status, _display(migration.path), checksum, at, duration))
        else:
            states.append(MigrationState(key, migration.name, "pending", _display(migration.path), checksum))
    for key, (name, stored, at, duration) in applied.items():
        if key not in seen:
            states.append(MigrationState(key, name, "missing", None, stored, at, duration))
    return states


def _statements(sql: str) -> list[tuple[int, str]]:
    """(offset, text) of each statement, split by PostgreSQL's own scanner."""
    try:
        parts = pg_parser.split(sql, with_parser=False, only_slices=True)
    except pg_parser.ParseError:
        return [(0, sql)]
    return [(piece.start, sql[piece]) for piece in parts]


def run_script(conn: psycopg.Connection[Any], sql: str, path: Path, first_line: int) -> None:
    """Run each statement of `sql`; an error names path:line:col of the failing statement."""
    for offset, statement in _statements(sql):
        try:
            conn.execute(statement.encode())
        except psycopg.Error as exc:
            diag = exc.diag
            position = offset + len(_LEADING_COMMENTS.match(statement).group(0))  # type: ignore[union-attr]
            if diag.statement_position:
                position = offset + int(diag.statement_position) - 1
            line, col = position_of(sql, position)
            message = diag.message_primary or str(exc).splitlines()[0]
            raise SourceError(path, line + first_line - 1, col, message) from None


def apply_migrations(
    url: str,
    directory: Path,
    *,
    on_start: Callable[[MigrationFile], None] | None = None,
) -> list[MigrationRun]:
    """Apply every pending migration in order. Files edited after they were applied are
    reported by `migration_status`, not re-run."""
    files = discover_migrations(directory) if directory.exists() else []
    runs: list[MigrationRun] = []
    with migration_lock(url) as conn:
        applied = _applied(conn)
        for migration in files:
            key = migration_key(migration)
            if key in applied:
                continue
            if on_start:
                on_start(migration)
            runs.append(_apply_one(conn, migration, key))
    return runs


def _apply_one(conn: psycopg.Connection[Any], migration: MigrationFile, key: str) -> MigrationRun:
    started = time.perf_counter()
    in_transaction = not _NO_TRANSACTION.search(migration.path.read_text(encoding="utf-8"))

    def record(duration_ms: int) -> None:
        conn.execute(
            f"INSERT INTO {HISTORY_TABLE} (version, name, checksum, duration_ms) VALUES (%s, %s, %s, %s)",
            (key, migration.name, checksum_of(migration), duration_ms),
        )

    if in_transaction:
        with conn.transaction():
            run_script(conn, migration.up_sql, migration.path, migration.up_line)
            duration = int((time.perf_counter() - started) * 1000)
            record(duration)
    else:
        run_script(conn, migration.up_sql, migration.path, migration.up_line)
        duration = int((time.perf_counter() - started) * 1000)
        record(duration)
    return MigrationRun(key, migration.name, _display(migration.path), duration)


def rollback_migrations(url: str, directory: Path, *, steps: int = 1) -> list[MigrationRun]:
    """Run the down sections of the last `steps` applied migrations, newest first."""
    if steps < 1:
        raise OptionError("--steps must be at least 1")
    files = {migration_key(m): m for m in (discover_migrations(directory) if directory.exists() else [])}
    runs: list[MigrationRun] = []
    with migration_lock(url) as conn:
        newest = conn.execute(
            f"SELECT version FROM {HISTORY_TABLE} ORDER BY applied_order DESC LIMIT %s", (steps,)
        ).fetchall()
        for (key,) in newest:
            migration = files.get(key)
            if migration is None:
                raise MigrationFailed(f"cannot roll back {key}: its migration file is gone from {directory}")
            if migration.down_sql is None or not migration.down_sql.strip():
                raise MigrationFailed(f"cannot roll back {key}: {_display(migration.path)} has no down section")
            started = time.perf_counter()
            with conn.transaction():
                run_script(conn, migration.down_sql, migration.down_path or migration.path, migration.down_line or 1)
                conn.execute(f"DELETE FROM {HISTORY_TABLE} WHERE version = %s", (key,))
            duration = int((time.perf_counter() - started) * 1000)
            runs.append(MigrationRun(key, migration.name, _display(migration.path), duration, "down"))
    return runs


def drop_everything(url: str) -> None:
    """Drop every user schema (history included) and recreate an empty `public`, as in a
    new database. Used by `migrate:fresh`, which the caller guards."""
    with connect(url, autocommit=True) as conn, conn.transaction():
        schemas = [
            row[0]
            for row in conn.execute(
                """SELECT nspname FROM pg_namespace
                   WHERE nspname NOT IN ('pg_catalog', 'information_schema')
                     AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'"""
            ).fetchall()
        ]
        for schema in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.execute("CREATE SCHEMA public")
        conn.execute("COMMENT ON SCHEMA public IS 'standard public schema'")
        conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        for (extension,) in conn.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'").fetchall():
            conn.execute(f'DROP EXTENSION IF EXISTS "{extension}" CASCADE')


_SLUG = re.compile(r"[^a-z0-9]+")
_SHORT_VERSION = re.compile(r"^\d{1,6}$")


def slugify(name: str, what: str) -> str:
    """`name` as a file-name part ('Add Posts!' -> 'add_posts'); `what` names the input in
    the error when nothing is left."""
    slug = _SLUG.sub("_", name.lower()).strip("_")
    if not slug:
        raise OptionError(f"{what}: {name!r} has no letters or digits to name a file with")
    return slug


def next_migration_path(directory: Path, name: str, today: date | None = None, *, what: str = "migration name") -> Path:
    """`directory/NNN_YYYYMMDD_name.sql`, NNN one past the highest short numeric version
    already there (timestamp-versioned files of other tools do not count)."""
    slug = slugify(name, what)
    numbers = [0]
    if directory.is_dir():
        numbers += [int(m.version) for m in discover_migrations(directory) if _SHORT_VERSION.match(m.version)]
    day = (today or datetime.now(UTC).date()).strftime("%Y%m%d")
    return directory / f"{max(numbers) + 1:03d}_{day}_{slug}.sql"


def create_migration(directory: Path, name: str, *, up_sql: str = "", down_sql: str = "") -> Path:
    """Write `NNN_YYYYMMDD_name.sql` with empty (or given) up and down sections."""
    path = next_migration_path(directory, name)
    directory.mkdir(parents=True, exist_ok=True)
    up = up_sql.rstrip() + "\n" if up_sql.strip() else "\n"
    down = down_sql.rstrip() + "\n" if down_sql.strip() else "\n"
    path.write_text(f"-- migrate:up\n{up}\n-- migrate:down\n{down}", encoding="utf-8")
    return path
