"""`nself schema diff`: compare two SOURCEs and write the SQL between them.

Operands (docs/design.md, "Environments"): each is an environment name, a postgresql:// URL, a
migrations directory, a .sql or a .dbml file. The SQL printed turns the first into the
second. A missing first operand is the project's migrations directory and a missing
second one the local database (the default environment), so

    nself schema diff                 migrations  -> local database
    nself schema diff staging         staging     -> local database
    nself schema diff prod staging    prod        -> staging

and `--create-migration NAME` captures what was changed by hand in the local database as
a new migration file (`NNN_YYYYMMDD_name.sql` with `-- migrate:up` / `-- migrate:down`
sections; the down section comes from each operation's reverse())."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path

from nself.backends.sql.migration import destructive_operations, render_operations
from nself.connection import connect
from nself.errors import NselfError, OptionError
from nself.ir import Catalog
from nself.ir.diff import (
    ColumnOrderNote,
    Operation,
    PartitionKeyNote,
    RebuildTable,
    UnsafeDiff,
    diff,
    reverse_operations,
)
from nself.runtime.project import Project
from nself.runtime.sources import database_url_of, describe_source, load_catalog

__all__ = [
    "SchemaDiff",
    "diff_catalogs",
    "diff_sources",
    "migration_text",
    "pending_migrations",
    "refuse_pending_migrations",
    "write_migration",
]


@dataclass(frozen=True)
class SchemaDiff:
    """The operations from `source` to `target` and their SQL, both ways (the way down
    worked out when first asked for: `schema diff` prints only the way up)."""

    source: str  # how the first operand is shown (URLs masked)
    target: str
    up: tuple[Operation, ...]
    up_sql: str
    a: Catalog = field(repr=False, compare=False)
    b: Catalog = field(repr=False, compare=False)
    reorder_columns: bool = False

    @cached_property
    def down(self) -> tuple[Operation, ...]:
        try:
            return tuple(reverse_operations(list(self.up), self.a, self.b, reorder_columns=self.reorder_columns))
        except UnsafeDiff as exc:  # one line, as diff_catalogs says it
            raise NselfError(f"schema diff {self.source} -> {self.target}, the way down: {exc}") from None

    @cached_property
    def down_sql(self) -> str:
        return render_operations(list(self.down))

    @property
    def has_changes(self) -> bool:
        return bool(self.up)

    @property
    def destructive(self) -> list[str]:
        """Why each destructive statement of the up SQL can lose data."""
        return destructive_operations(self.up)

    @property
    def notes(self) -> list[str]:
        """Differences no statement can remove (a column order ALTER TABLE cannot reach),
        and what a statement may do to rows already stored (a routine a partition key uses,
        replaced in place)."""
        return [
            f"{op.schema}.{op.table}: columns stay in the order ({', '.join(op.reached)}), "
            f"not ({', '.join(op.wanted)}): ALTER TABLE cannot reorder columns "
            "(--reorder-columns rebuilds the table instead, unless it is partitioned or a partition)"
            for op in self.up
            if isinstance(op, ColumnOrderNote)
        ] + [op.message() for op in self.up if isinstance(op, PartitionKeyNote)]

    @property
    def rebuilds(self) -> list[str]:
        """Tables the up SQL rebuilds to reorder their columns (--reorder-columns)."""
        return [
            f"{op.new.schema}.{op.new.name}: rebuilt to put its columns in order (rows copied and kept; "
            "ACCESS EXCLUSIVE lock while copying)"
            for op in self.up
            if isinstance(op, RebuildTable)
        ]

    def script(self) -> str:
        """The up SQL with a header naming both sides; empty when nothing differs."""
        if not self.has_changes:
            return ""
        return f"-- nself schema diff: {self.source} -> {self.target}\n\n{self.up_sql}"


def diff_catalogs(
    a: Catalog, b: Catalog, *, source: str = "a", target: str = "b", reorder_columns: bool = False
) -> SchemaDiff:
    """Diff two catalogs and render both directions. `reorder_columns`: rebuild a table
    whose column order ALTER TABLE cannot reach (see nself.ir.diff.RebuildTable)."""
    try:
        up = diff(a, b, reorder_columns=reorder_columns)
    except UnsafeDiff as exc:  # one line: what would be lost, and what to do instead
        raise NselfError(f"schema diff {source} -> {target}: {exc}") from None
    return SchemaDiff(source, target, tuple(up), render_operations(up), a, b, reorder_columns)


def diff_sources(
    first: str | None,
    second: str | None,
    project: Project,
    *,
    reorder_columns: bool = False,
    include_platform: bool = False,
) -> SchemaDiff:
    """Read both SOURCEs (in parallel: each may be a remote database) and diff them. The
    objects of the project's platform are left out of both (unless `include_platform`),
    the tables the project references too: the diff never creates or drops them."""
    first_source = first if first is not None else str(project.migrations_dir)
    if first is None and not project.migrations_dir.is_dir():
        raise OptionError(f"no migrations directory at {project.migrations_dir}: name two SOURCEs to compare")
    with ThreadPoolExecutor(max_workers=2) as pool:
        read = partial(
            load_catalog, project=project, option="SOURCE", include_platform=include_platform, platform_references=False
        )
        a_future = pool.submit(read, first_source)
        b_future = pool.submit(read, second)
        a, b = a_future.result(), b_future.result()
    return diff_catalogs(
        a,
        b,
        source=describe_source(first_source, project),
        target=describe_source(second, project),
        reorder_columns=reorder_columns,
    )


def migration_text(result: SchemaDiff) -> str:
    """A migration file: the up SQL and, below it, the down SQL."""
    header = f"-- Generated by nself schema diff: {result.source} -> {result.target}\n"
    return f"{header}\n-- migrate:up\n{result.up_sql}\n-- migrate:down\n{result.down_sql}"


def pending_migrations(url: str, directory: Path) -> list[str]:
    """The migrations of `directory` that the database at `url` has not applied. Read
    only; a database without nself's history is not run by migrations: none pending."""
    from nself.frontends.migration_files import discover_migrations  # not on a diff's path
    from nself.runtime.migrate import HISTORY_TABLE, migration_key  # (with the SQL parser: only here)

    files = discover_migrations(directory) if directory.is_dir() else []
    if not files:
        return []
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (HISTORY_TABLE,)).fetchone()
        if row is None or not row[0]:
            return []
        applied = {r[0] for r in conn.execute(f"SELECT version FROM {HISTORY_TABLE}")}
    return [m.path.stem for m in files if migration_key(m) not in applied]


def refuse_pending_migrations(target: str | None, project: Project) -> None:
    """--create-migration captures what the target database has that the migrations do
    not: with migrations it has not applied yet, the new migration would undo them. Say
    so and stop (OptionError)."""
    url = database_url_of(target, project)
    if url is None:
        return
    pending = pending_migrations(url, project.migrations_dir)
    if pending:
        raise OptionError(
            f"--create-migration: {describe_source(target, project)} has {len(pending)} pending "
            f"migration(s) ({', '.join(pending)}); the new migration would undo them. "
            "Apply them first (nself db migrate), then create the migration"
        )


def write_migration(result: SchemaDiff, name: str, project: Project, today: dt.date | None = None) -> Path:
    """Write `result` as the next migration of the project; returns its path."""
    from nself.runtime.migrate import next_migration_path, platform_migration_text

    directory = project.migrations_dir
    platform_layout = project.platform is not None
    path = next_migration_path(directory, name, today, what="--create-migration", timestamped=platform_layout)
    directory.mkdir(parents=True, exist_ok=True)
    if platform_layout:
        header = f"-- Generated by nself schema diff: {result.source} -> {result.target}\n\n"
        path.write_text(platform_migration_text(result.up_sql, result.down_sql, header), encoding="utf-8")
    else:
        path.write_text(migration_text(result), encoding="utf-8")
    return path
