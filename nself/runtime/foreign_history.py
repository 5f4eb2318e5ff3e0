"""The migration histories other tools keep in the database, read so that a project they
migrated can move to nself without running its migrations again.

Each tool records what it applied in a table of its own, under its own key for a file:

| tool | table | key of a file | finished |
|---|---|---|---|
| Prisma | `_prisma_migrations` | the folder's name | `finished_at` set, `rolled_back_at` not |
| Supabase CLI | `supabase_migrations.schema_migrations` | the version | every row |
| dbmate | `schema_migrations (version)` | the version | every row |
| golang-migrate | `schema_migrations (version, dirty)` | the number | every file up to the one row's version, unless dirty |
| diesel | `__diesel_schema_migrations` | the version without its dashes | every row |
| goose | `goose_db_version` | the number | its latest row says applied |
| Atlas | `atlas_schema_revisions` | the version | executed with every statement and no error, or resolved; every file up to a baseline |

Prisma also stores a SHA-256 of each `migration.sql`; a file edited since it was applied is
named, as Prisma's own `migrate` names it. Rails' `schema_migrations` has dbmate's shape and
keys, so it reads as dbmate's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from nself.frontends.migration_files import MigrationFile
from nself.runtime.session import database_error

TOOLS = ("prisma", "supabase", "dbmate", "golang-migrate", "goose", "diesel", "atlas")
_NAMES = {
    "prisma": "Prisma",
    "supabase": "the Supabase CLI",
    "dbmate": "dbmate",
    "golang-migrate": "golang-migrate",
    "goose": "goose",
    "diesel": "diesel",
    "atlas": "Atlas",
}
# Atlas's revision types (a bit set): a baseline, a file executed, a failed file resolved
_ATLAS_BASELINE, _ATLAS_EXECUTE, _ATLAS_RESOLVED = 1, 2, 4


@dataclass(frozen=True)
class ForeignHistory:
    """What one tool's table says was applied, by that tool's key for a file."""

    tool: str  # one of TOOLS
    table: str  # as a message names it
    finished: frozenset[str]  # keys the tool finished applying
    failed: frozenset[str] = frozenset()  # keys it started and did not finish (Prisma, Atlas)
    checksums: dict[str, frozenset[str]] = field(default_factory=dict)  # Prisma's, by key
    up_to: int | None = None  # golang-migrate, Atlas's baseline: every version up to this one is applied
    dirty: bool = False  # golang-migrate: the last migration failed half-way

    @property
    def name(self) -> str:
        return _NAMES[self.tool]

    def key(self, migration: MigrationFile) -> str:
        """The tool's name for `migration`."""
        if self.tool == "prisma":
            return migration.path.parent.name
        return self.version_key(migration.version)

    def version_key(self, version: str) -> str:
        """The tool's name for a migration of `version`."""
        if self.tool == "diesel":
            return version.replace("-", "")
        if self.tool in ("golang-migrate", "goose"):
            return str(int(version)) if version.isdigit() else version
        return version

    def records(self, migration: MigrationFile) -> bool:
        """Whether the tool recorded `migration` as applied."""
        if self.up_to is not None and migration.version.isdigit() and int(migration.version) <= self.up_to:
            return True
        return self.key(migration) in self.finished


@dataclass(frozen=True)
class Adoption:
    history: ForeignHistory
    applied: list[MigrationFile]  # recorded as applied by the tool, in apply order
    problems: list[str]  # why the history cannot be taken as it is, one line each


def read_histories(conn: psycopg.Connection[Any]) -> list[ForeignHistory]:
    """Every other tool's migration history in the database `conn` is connected to."""
    with database_error("cannot look for other tools' migration histories"):
        found = dict(
            conn.execute(
                """SELECT t.name, format('%I.%I', n.nspname, c.relname)
                   FROM (VALUES ('_prisma_migrations'), ('supabase_migrations.schema_migrations'),
                                ('schema_migrations'), ('__diesel_schema_migrations'),
                                ('atlas_schema_revisions.atlas_schema_revisions'),
                                ('atlas_schema_revisions'), ('goose_db_version')) AS t (name)
                   JOIN pg_class c ON c.oid = to_regclass(t.name)
                   JOIN pg_namespace n ON n.oid = c.relnamespace"""
            ).fetchall()
        )
    prisma = found.get("_prisma_migrations")
    supabase = found.get("supabase_migrations.schema_migrations")
    # the search path may reach the Supabase CLI's table by its bare name
    schema_migrations = found.get("schema_migrations") if found.get("schema_migrations") != supabase else None
    diesel = found.get("__diesel_schema_migrations")
    # Atlas keeps it in a schema of its own, or in the one its URL names
    atlas = found.get("atlas_schema_revisions.atlas_schema_revisions") or found.get("atlas_schema_revisions")
    histories: list[ForeignHistory] = []
    with database_error("cannot read another tool's migration history"):
        if prisma:
            histories.append(_prisma(conn, prisma))
        if supabase:
            rows = conn.execute(f"SELECT version FROM {supabase}").fetchall()
            histories.append(ForeignHistory("supabase", supabase, frozenset(r[0] for r in rows)))
        if schema_migrations:
            histories.append(_schema_migrations(conn, schema_migrations))
        if diesel:
            rows = conn.execute(f"SELECT version FROM {diesel}").fetchall()
            histories.append(ForeignHistory("diesel", diesel, frozenset(r[0] for r in rows)))
        if atlas:
            histories.append(_atlas(conn, atlas))
        if goose := found.get("goose_db_version"):
            # one row per up or down; the latest row of a version says where it stands
            rows = conn.execute(
                f"SELECT DISTINCT ON (version_id) version_id, is_applied FROM {goose} ORDER BY version_id, id DESC"
            ).fetchall()
            applied = frozenset(str(version) for version, is_applied in rows if is_applied and version != 0)
            histories.append(ForeignHistory("goose", goose, applied))
    return histories


def _atlas(conn: psycopg.Connection[Any], table: str) -> ForeignHistory:
    rows = conn.execute(f"SELECT version, type, applied, total, coalesce(error, '') FROM {table}").fetchall()
    finished: set[str] = set()
    failed: set[str] = set()
    up_to: int | None = None
    for version, kind, applied, total, error in rows:
        if kind & _ATLAS_BASELINE:
            up_to = max(up_to or 0, int(version)) if str(version).isdigit() else up_to
            finished.add(version)
        elif kind & _ATLAS_RESOLVED or (kind & _ATLAS_EXECUTE and applied == total and not error):
            finished.add(version)
        else:
            failed.add(version)
    return ForeignHistory("atlas", table, frozenset(finished), frozenset(failed), up_to=up_to)


def _prisma(conn: psycopg.Connection[Any], table: str) -> ForeignHistory:
    rows = conn.execute(
        f"SELECT migration_name, checksum, finished_at IS NOT NULL, rolled_back_at IS NOT NULL FROM {table}"
    ).fetchall()
    finished = {name for name, _, done, rolled_back in rows if done and not rolled_back}
    # a failed run is left with neither time set until `prisma migrate resolve` marks it
    failed = {name for name, _, done, rolled_back in rows if not done and not rolled_back} - finished
    checksums: dict[str, set[str]] = {}
    for name, checksum, done, rolled_back in rows:
        if done and not rolled_back:
            checksums.setdefault(name, set()).add(checksum)
    return ForeignHistory(
        "prisma",
        table,
        frozenset(finished),
        frozenset(failed),
        {name: frozenset(sums) for name, sums in checksums.items()},
    )


def _schema_migrations(conn: psycopg.Connection[Any], table: str) -> ForeignHistory:
    """dbmate's table (and Rails'), or golang-migrate's: the latter has a `dirty` column and
    one row, the version the database is at."""
    columns = {
        r[0]
        for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table,),
        ).fetchall()
    }
    if "dirty" in columns:
        row = conn.execute(f"SELECT version, dirty FROM {table} ORDER BY version DESC LIMIT 1").fetchone()
        if row is None:
            return ForeignHistory("golang-migrate", table, frozenset())
        return ForeignHistory("golang-migrate", table, frozenset(), up_to=int(row[0]), dirty=bool(row[1]))
    rows = conn.execute(f"SELECT version FROM {table}").fetchall()
    return ForeignHistory("dbmate", table, frozenset(str(r[0]) for r in rows))


def prisma_checksums(text: bytes) -> set[str]:
    """The checksums Prisma accepts for a migration.sql: SHA-256 of the text as it is and with
    its line endings turned either way (git may have changed them), each as 64 hex digits or
    as an older Prisma wrote them (a byte under 16 as one digit)."""
    variants = {text, text.replace(b"\r\n", b"\n"), text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")}
    sums: set[str] = set()
    for variant in variants:
        digest = hashlib.sha256(variant).digest()
        sums.add(digest.hex())
        sums.add("".join(f"{byte:x}" for byte in digest))
    return sums


def adoption(
    history: ForeignHistory, files: Iterable[MigrationFile], directory: str, code_versions: Iterable[str] = ()
) -> Adoption:
    """Which of `files` the tool applied, and what stops its history from being taken as it is:
    a migration it failed and left unresolved, a dirty golang-migrate version, a Prisma file
    edited since, a record with no file (`code_versions`: goose's Go migrations, which have
    files nself does not run)."""
    files = list(files)
    applied = [m for m in files if history.records(m)]
    problems: list[str] = []
    if history.dirty:
        problems.append(
            f"{history.table} is dirty at version {history.up_to}: that migration failed half-way under "
            f"{history.name}; fix the database and the version first (`migrate force`)"
        )
    resolve = {"prisma": "prisma migrate resolve", "atlas": "atlas migrate set"}.get(history.tool, "")
    for key in sorted(history.failed):
        problems.append(f"{key} failed under {history.name} and was not resolved (`{resolve}`)")
    for migration in applied:
        expected = history.checksums.get(history.key(migration))
        if expected and not expected & prisma_checksums(migration.path.read_bytes()):
            problems.append(f"{migration.path}: edited since {history.name} applied it (its checksum differs)")
    known = {history.key(m) for m in files} | {history.version_key(v) for v in code_versions}
    for key in sorted(history.finished - known):
        problems.append(f"{key} is recorded in {history.table} but no migration in {directory} has that name")
    if history.up_to is not None and not any(m.version.isdigit() and int(m.version) == history.up_to for m in files):
        problems.append(f"{history.table} is at version {history.up_to} but no migration in {directory} has it")
    return Adoption(history, applied, problems)
