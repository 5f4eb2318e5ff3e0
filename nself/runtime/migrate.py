"""Applying migration files to a database, with history, rollback and drift checks.

History lives in the database (`_nself.migrations`). Each file runs in its own
transaction unless it opts out (`-- nself:no-transaction`, dbmate's
`-- migrate:up transaction:false` or goose's `-- +goose NO TRANSACTION`), so a failing file leaves schema and history as they
were. Every file starts from a clean session, and the advisory lock shared with the seeds
runner serialises concurrent runs: each file applies once (nself.runtime.session).
Transaction control that would commit part of a file without its history row is refused
before anything runs. An applied file edited since (status `changed`) stops `migrate`, as
Flyway's validate does, unless the caller allows it."""

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

from nself.connection import connect
from nself.errors import NselfError, OptionError, SourceError
from nself.frontends.migration_files import (
    CodeMigration,
    MigrationFile,
    code_migrations,
    discover_migrations,
    natural_key,
)
from nself.ir.names import quote_ident
from nself.runtime.foreign_history import TOOLS, adoption, read_histories
from nself.runtime.session import (
    ADVISORY_LOCK_KEY,
    check_transaction_control,
    clean_session,
    database_error,
    ensure_table,
    locked_connection,
    run_script,
)
from nself.textfiles import read_user_text

__all__ = ["ADVISORY_LOCK_KEY", "run_script"]  # kept importable from here

META_SCHEMA = "_nself"
HISTORY_TABLE = f"{META_SCHEMA}.migrations"



def _no_transaction(section: str) -> re.Pattern[str]:
    """A file's opt-out of a transaction for its `section` (up or down): nself's marker,
    dbmate's `-- migrate:<section> transaction:false`, goose's `-- +goose NO TRANSACTION`."""
    return re.compile(
        rf"^--\s*(nself:no-transaction|migrate:{section}\b.*transaction:false|\+goose\s+(?i:no\s+transaction)\b)",
        re.MULTILINE,
    )


_NO_TRANSACTION = _no_transaction("up")
_NO_TRANSACTION_DOWN = _no_transaction("down")

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
    # statements not run, each `file:line: why` (a platform's extension the server lacks)
    warnings: tuple[str, ...] = ()


def checksum_of(migration: MigrationFile) -> str:
    """What `migrate:status` compares to detect a file edited after it was applied."""
    digest = hashlib.sha256(migration.up_sql.encode())
    if migration.down_sql is not None:
        digest.update(b"\0" + migration.down_sql.encode())
    return digest.hexdigest()


def migration_key(migration: MigrationFile) -> str:
    return migration.version or migration.path.stem


def ensure_history(conn: psycopg.Connection[Any]) -> None:
    ensure_table(
        conn,
        HISTORY_TABLE,
        f"""CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
            version text PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now(),
            duration_ms integer NOT NULL,
            applied_order bigint GENERATED ALWAYS AS IDENTITY
        )""",
        what="the migration history",
    )


@contextmanager
def migration_lock(url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection holding nself's advisory lock, with history ready."""
    with locked_connection(url) as conn:
        ensure_history(conn)
        yield conn


def _applied(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, str, datetime, int]]:
    with database_error(f"cannot read the migration history ({HISTORY_TABLE})"):
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
    with migration_lock(url) as conn:
        return _states(conn, directory)


def _states(conn: psycopg.Connection[Any], directory: Path) -> list[MigrationState]:
    files = discover_migrations(directory) if directory.exists() else []
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


def apply_migrations(
    url: str,
    directory: Path,
    *,
    on_start: Callable[[MigrationFile], None] | None = None,
    on_done: Callable[[MigrationRun], None] | None = None,
    allow_changed: bool = False,
) -> list[MigrationRun]:
    """Apply every pending migration in order, each from a clean session; `on_done` hears of
    each as it completes (so a failure on file N still shows 1..N-1). Refused before
    anything runs when a pending file holds transaction control it must not, or (unless
    `allow_changed`) when an applied file was edited since: that edit would never reach
    the database."""
    files = discover_migrations(directory) if directory.exists() else []
    runs: list[MigrationRun] = []
    with migration_lock(url) as conn:
        applied = _applied(conn)
        if not allow_changed:
            edited = [m for m in files if migration_key(m) in applied and applied[migration_key(m)][1] != checksum_of(m)]
            if edited:
                names = ", ".join(_display(m.path) for m in edited)
                raise MigrationFailed(
                    f"applied migration(s) edited since they were applied (status changed): {names}; "
                    "restore the applied text, or allow it (--allow-changed)"
                )
        pending = [m for m in files if migration_key(m) not in applied]
        blocking = _first_code_migration(directory, applied) if pending else None
        if blocking is not None:
            # goose keeps no history of files nself ran: it would run them again, so nself
            # does not start a sequence it cannot finish
            raise MigrationFailed(
                f"{_display(blocking.path)} is a goose migration written in Go, which nself cannot run, and "
                "it is pending: nothing was applied; run the migrations with goose (goose up), then record "
                "them in nself's history with nself db migrate:adopt --from goose"
            )
        if pending:
            _refuse_what_another_tool_applied(conn, pending)
        from nself.runtime.platform import stand_in_skip  # (that module imports this one)

        skip = stand_in_skip(conn) if pending else None
        for migration in pending:
            check_transaction_control(
                migration.up_sql, migration.path, migration.up_line, in_transaction=_in_transaction(migration), what="migration", fold=True
            )
        for migration in pending:
            if on_start:
                on_start(migration)
            run = _apply_one(conn, migration, migration_key(migration), skip)
            runs.append(run)
            if on_done:
                on_done(run)
    return runs


def _first_code_migration(directory: Path, applied: dict[str, Any]) -> CodeMigration | None:
    """The first Go migration after everything applied."""
    done = [natural_key(key) for key in applied]
    last = max(done) if done else None
    return next((c for c in code_migrations(directory) if last is None or natural_key(c.version) > last), None)


def _in_transaction(migration: MigrationFile) -> bool:
    if _diesel_outside_transaction(migration):
        return False
    return not _NO_TRANSACTION.search(migration.path.read_text(encoding="utf-8"))


def _down_in_transaction(migration: MigrationFile) -> bool:
    if _diesel_outside_transaction(migration):
        return False
    return not _NO_TRANSACTION_DOWN.search((migration.down_path or migration.path).read_text(encoding="utf-8"))


def _diesel_outside_transaction(migration: MigrationFile) -> bool:
    """diesel's `run_in_transaction = false` in the migration folder's metadata.toml (both
    directions, as diesel reads it)."""
    if migration.layout != "diesel":
        return False
    metadata = migration.path.parent / "metadata.toml"
    if not metadata.is_file():
        return False
    import tomllib

    try:
        settings = tomllib.loads(read_user_text(metadata))
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(metadata, None, None, f"not valid TOML: {exc}") from None
    return settings.get("run_in_transaction", True) is False


def _run_section(
    conn: psycopg.Connection[Any],
    sql: str,
    path: Path,
    line: int,
    record: Callable[[], int],
    *,
    in_transaction: bool,
    skip: Callable[[str], str | None] | None = None,
) -> tuple[list[str], int]:
    """Run one section of a migration and then `record` its history change: together in one
    transaction, or (a file that opted out) one after the other. What `run_script` skipped,
    and what `record` returned."""
    if in_transaction:
        with conn.transaction():
            skipped = run_script(conn, sql, path, line, fold=True, skip=skip)
            return skipped, record()
    try:
        skipped = run_script(conn, sql, path, line, skip=skip)
    except NselfError:
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")  # a transaction the file opened and did not end
        raise
    return skipped, record()


def _apply_one(
    conn: psycopg.Connection[Any],
    migration: MigrationFile,
    key: str,
    skip: Callable[[str], str | None] | None = None,
) -> MigrationRun:
    started = time.perf_counter()

    def record() -> int:
        duration_ms = int((time.perf_counter() - started) * 1000)
        clean_session(conn)  # the file may have left a role without rights on the history
        with database_error(f"cannot record {_display(migration.path)} in {HISTORY_TABLE}"):
            conn.execute(
                f"INSERT INTO {HISTORY_TABLE} (version, name, checksum, duration_ms) VALUES (%s, %s, %s, %s)",
                (key, migration.name, checksum_of(migration), duration_ms),
            )
        return duration_ms

    clean_session(conn)
    skipped, duration = _run_section(
        conn, migration.up_sql, migration.path, migration.up_line, record, in_transaction=_in_transaction(migration), skip=skip
    )
    return MigrationRun(key, migration.name, _display(migration.path), duration, warnings=tuple(skipped))


@dataclass(frozen=True)
class HistoryChange:
    """One row of the history that baseline or repair wrote or removed."""

    version: str
    name: str
    change: Literal["baselined", "adopted", "checksum realigned", "removed"]
    file: str | None


def _refuse_what_another_tool_applied(conn: psycopg.Connection[Any], pending: list[MigrationFile]) -> None:
    """Pending files that another tool's history records as applied would run a second time
    (and fail half-way through a schema that already holds them): refuse before anything runs."""
    for history in read_histories(conn):
        already = [m for m in pending if history.records(m)]
        if already:
            raise MigrationFailed(
                f"{len(already)} pending migration(s) were already applied by {history.name} ({history.table}), "
                f"the first {_display(already[0].path)}; record them in nself's history without running them: "
                "nself db migrate:adopt"
            )


def adopt_migrations(url: str, directory: Path, tool: str | None = None) -> list[HistoryChange]:
    """Take over a database another tool migrated (Prisma, the Supabase CLI, dbmate,
    golang-migrate, goose, diesel, Atlas): record in nself's history every file its history holds as
    applied, without running anything; the others stay pending. Refused, with nothing
    written, when that history has a failed or dirty migration, a Prisma file edited since,
    or a record with no file. One transaction."""
    if tool is not None and tool not in TOOLS:
        raise OptionError(f"--from: {tool!r} is not one of {', '.join(TOOLS)}")
    files = discover_migrations(directory) if directory.exists() else []
    with migration_lock(url) as conn, conn.transaction():
        histories = [h for h in read_histories(conn) if tool is None or h.tool == tool]
        if not histories:
            which = TOOLS if tool is None else (tool,)
            raise OptionError(f"no migration history of {', '.join(which)} in this database: nothing to adopt")
        if len(histories) > 1:
            names = ", ".join(f"{h.tool} ({h.table})" for h in histories)
            raise OptionError(f"more than one tool's migration history here: {names}; choose one with --from")
        code = [c.version for c in code_migrations(directory)]
        taken = adoption(histories[0], files, _display(directory), code)
        if taken.problems:
            shown = "; ".join(taken.problems[:3])
            more = f" (and {len(taken.problems) - 3} more)" if len(taken.problems) > 3 else ""
            raise MigrationFailed(f"cannot adopt {taken.history.table}: {shown}{more}")
        return _record_without_running(conn, taken.applied, "adopted")


def _record_without_running(
    conn: psycopg.Connection[Any], migrations: list[MigrationFile], change: Literal["baselined", "adopted"]
) -> list[HistoryChange]:
    """Record `migrations` as applied (current checksum, duration 0) without running them;
    those already recorded are left as they are."""
    applied = _applied(conn)
    changes: list[HistoryChange] = []
    for migration in migrations:
        key = migration_key(migration)
        if key in applied:
            continue
        with database_error(f"cannot record {_display(migration.path)} in {HISTORY_TABLE}"):
            conn.execute(
                f"INSERT INTO {HISTORY_TABLE} (version, name, checksum, duration_ms) VALUES (%s, %s, %s, 0)",
                (key, migration.name, checksum_of(migration)),
            )
        changes.append(HistoryChange(key, migration.name, change, _display(migration.path)))
    return changes


def baseline_migrations(url: str, directory: Path, version: str) -> list[HistoryChange]:
    """Adopt a database whose schema already holds the migrations up to `version` (as
    Flyway's baseline does): record every file up to and including it as applied, with its
    current checksum, without running anything. Files already applied are left as they are;
    the later ones stay pending. One transaction."""
    files = discover_migrations(directory) if directory.exists() else []
    keys = [migration_key(m) for m in files]
    if version not in keys:
        known = f"{keys[0]} .. {keys[-1]}" if keys else "none"
        raise OptionError(f"VERSION: no migration {version!r} in {_display(directory)} (known: {known})")
    with migration_lock(url) as conn, conn.transaction():
        return _record_without_running(conn, files[: keys.index(version) + 1], "baselined")


def repair_migrations(url: str, directory: Path, *, remove_missing: bool = False) -> list[HistoryChange]:
    """Make the history agree with the files without running any (as Flyway's repair does):
    the stored checksum of each applied file edited since (status `changed`) becomes the
    file's, so `migrate` stops refusing; with `remove_missing`, history rows whose file is
    gone (status `missing`) are removed. One transaction. Only for edits that do not change
    what the file did (comments, formatting): the database is not touched."""
    changes: list[HistoryChange] = []
    with migration_lock(url) as conn, conn.transaction():
        states = _states(conn, directory)
        changed = [s for s in states if s.status == "changed"]
        missing = [s for s in states if s.status == "missing"] if remove_missing else []
        with database_error(f"cannot update {HISTORY_TABLE}"):
            for state in changed:
                conn.execute(f"UPDATE {HISTORY_TABLE} SET checksum = %s WHERE version = %s", (state.checksum, state.version))
                changes.append(HistoryChange(state.version, state.name, "checksum realigned", state.file))
            for state in missing:
                conn.execute(f"DELETE FROM {HISTORY_TABLE} WHERE version = %s", (state.version,))
                changes.append(HistoryChange(state.version, state.name, "removed", None))
    return changes


def rollback_migrations(
    url: str,
    directory: Path,
    *,
    steps: int = 1,
    on_done: Callable[[MigrationRun], None] | None = None,
) -> list[MigrationRun]:
    """Run the down sections of the last `steps` applied migrations, newest first, each from
    a clean session and in its own transaction; `on_done` hears of each as it completes.
    Every down section is checked before the first runs."""
    if steps < 1:
        raise OptionError("--steps must be at least 1")
    files = {migration_key(m): m for m in (discover_migrations(directory) if directory.exists() else [])}
    runs: list[MigrationRun] = []
    with migration_lock(url) as conn:
        with database_error(f"cannot read the migration history ({HISTORY_TABLE})"):
            newest = conn.execute(
                f"SELECT version FROM {HISTORY_TABLE} ORDER BY applied_order DESC LIMIT %s", (steps,)
            ).fetchall()
        chosen: list[tuple[str, MigrationFile, str]] = []
        for (key,) in newest:
            migration = files.get(key)
            if migration is None:
                raise MigrationFailed(f"cannot roll back {key}: its migration file is gone from {directory}")
            if migration.down_sql is None or not migration.down_sql.strip():
                raise MigrationFailed(f"cannot roll back {key}: {_display(migration.path)} has no down section")
            path = migration.down_path or migration.path
            check_transaction_control(
                migration.down_sql,
                path,
                migration.down_line or 1,
                in_transaction=_down_in_transaction(migration),
                what="migration",
                fold=True,
            )
            chosen.append((key, migration, migration.down_sql))
        for key, migration, down_sql in chosen:
            started = time.perf_counter()

            def forget(key: str = key, started: float = started) -> int:
                clean_session(conn)
                with database_error(f"cannot update {HISTORY_TABLE}"):
                    conn.execute(f"DELETE FROM {HISTORY_TABLE} WHERE version = %s", (key,))
                return int((time.perf_counter() - started) * 1000)

            clean_session(conn)
            _, duration = _run_section(
                conn,
                down_sql,
                migration.down_path or migration.path,
                migration.down_line or 1,
                forget,
                in_transaction=_down_in_transaction(migration),
            )
            run = MigrationRun(key, migration.name, _display(migration.path), duration, "down")
            runs.append(run)
            if on_done:
                on_done(run)
    return runs


def drop_everything(url: str) -> None:
    """Drop every user schema (history included) and recreate an empty `public`, as in a
    new database. Used by `migrate:fresh`, which the caller guards. One transaction: a
    failure (permission denied, say) drops nothing."""
    with (
        connect(url, autocommit=True) as conn,
        database_error("cannot drop everything, nothing was dropped"),
        conn.transaction(),
    ):
        schemas = [
            row[0]
            for row in conn.execute(
                """SELECT nspname FROM pg_namespace
                   WHERE nspname NOT IN ('pg_catalog', 'information_schema')
                     AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'"""
            ).fetchall()
        ]
        for schema in schemas:
            conn.execute(f"DROP SCHEMA {quote_ident(schema, always=True)} CASCADE")
        conn.execute("CREATE SCHEMA public")
        conn.execute("COMMENT ON SCHEMA public IS 'standard public schema'")
        conn.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
        for (extension,) in conn.execute("SELECT extname FROM pg_extension WHERE extname <> 'plpgsql'").fetchall():
            conn.execute(f"DROP EXTENSION IF EXISTS {quote_ident(extension, always=True)} CASCADE")


_SLUG = re.compile(r"[^a-z0-9]+")
_SHORT_VERSION = re.compile(r"^\d{1,6}$")


def slugify(name: str, what: str) -> str:
    """`name` as a file-name part ('Add Posts!' -> 'add_posts'); `what` names the input in
    the error when nothing is left."""
    slug = _SLUG.sub("_", name.lower()).strip("_")
    if not slug:
        raise OptionError(f"{what}: {name!r} has no letters or digits to name a file with")
    return slug


def next_migration_path(
    directory: Path,
    name: str,
    today: date | None = None,
    *,
    what: str = "migration name",
    timestamped: bool = False,
    now: datetime | None = None,
) -> Path:
    """`directory/NNN_YYYYMMDD_name.sql`, NNN one past the highest short numeric version
    already there (timestamp-versioned files of other tools do not count). `timestamped`
    (a platform's folder, as Supabase keeps it): `directory/YYYYMMDDHHMMSS_name.sql`, after
    every version there."""
    slug = slugify(name, what)
    if timestamped:
        stamp = int((now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S"))
        if directory.is_dir():
            versions = [int(m.version) for m in discover_migrations(directory) if m.version.isdigit()]
            stamp = max([stamp, *(v + 1 for v in versions)])
        return directory / f"{stamp}_{slug}.sql"
    numbers = [0]
    if directory.is_dir():
        numbers += [int(m.version) for m in discover_migrations(directory) if _SHORT_VERSION.match(m.version)]
    day = (today or datetime.now(UTC).date()).strftime("%Y%m%d")
    return directory / f"{max(numbers) + 1:03d}_{day}_{slug}.sql"


def create_migration(
    directory: Path, name: str, *, up_sql: str = "", down_sql: str = "", platform_layout: bool = False
) -> Path:
    """Write `NNN_YYYYMMDD_name.sql` with empty (or given) up and down sections; in a
    platform's folder (`platform_layout`), a timestamped file as its tooling writes them
    (see `platform_migration_text`)."""
    path = next_migration_path(directory, name, timestamped=platform_layout)
    directory.mkdir(parents=True, exist_ok=True)
    if platform_layout:
        path.write_text(platform_migration_text(up_sql, down_sql), encoding="utf-8")
        return path
    up = up_sql.rstrip() + "\n" if up_sql.strip() else "\n"
    down = down_sql.rstrip() + "\n" if down_sql.strip() else "\n"
    path.write_text(f"-- migrate:up\n{up}\n-- migrate:down\n{down}", encoding="utf-8")
    return path


def platform_migration_text(up_sql: str, down_sql: str, header: str = "") -> str:
    """A migration for a platform's folder (Supabase): the up SQL alone, since its tooling
    runs the whole file; the down SQL, if any, follows as comments (no `-- migrate:down`
    marker, so nself does not run it either)."""
    text = header + (up_sql.rstrip() + "\n" if up_sql.strip() else "\n")
    if down_sql.strip():
        text += "\n-- To undo it (not run: Supabase applies whole files and has no down migrations):\n"
        text += "".join(f"-- {line}".rstrip() + "\n" for line in down_sql.strip().splitlines())
    return text
