"""`nself db branch merge NAME`: the migrations applied on a branch and not on its parent
are applied to the parent, in the order the branch applied them, and recorded in the
parent's history with the branch's checksums (docs/branches.md).

Nothing is applied before every one of them is known to apply: when all of them run in a
transaction they are first run on the parent inside one transaction that is rolled back,
then applied inside one transaction (so a failure halfway still changes nothing); when one
opts out of transactions (`-- nself:no-transaction`), they are first applied to a scratch
copy of the parent (CREATE DATABASE ... TEMPLATE), which is then dropped. A conflict (a
migration the parent no longer accepts, a version applied on both with other text, a file
edited or removed since the branch applied it) is one error naming it; the parent is left
as it was."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from nself.connection import connect
from nself.errors import NselfError
from nself.frontends.migration_files import MigrationFile, discover_migrations
from nself.runtime.branches import MAIN, Branch, _find, _free_database, _maintenance_url, _run
from nself.runtime.local import database_url
from nself.runtime.migrate import (
    HISTORY_TABLE,
    MigrationRun,
    _apply_one,
    _display,
    _in_transaction,
    checksum_of,
    migration_key,
    migration_lock,
)
from nself.runtime.production import refuse_production
from nself.runtime.project import Environment, Project, url_with_database
from nself.runtime.session import check_transaction_control, database_error

# The scratch copy a merge with non-transactional migrations is checked on (not named like a
# branch, so `list` never shows it); dropped when done.
SCRATCH_PREFIX = "nself_merge_check_"


class MergeConflict(NselfError):
    """The branch's migrations cannot be merged into its parent; nothing was applied."""


@dataclass(frozen=True)
class MergeResult:
    branch: str
    parent: str
    database: str
    parent_database: str
    checked_on: str  # "transaction" (rolled back on the parent) or "scratch copy"
    to_merge: list[str] = field(default_factory=list)  # the files, in the branch's order
    migrations: list[MigrationRun] = field(default_factory=list)
    applied: bool = True


def merge_branch(
    project: Project,
    environment: Environment,
    name: str,
    *,
    check_only: bool = False,
    on_done: Callable[[MigrationRun], None] | None = None,
) -> MergeResult:
    """Apply to the parent of branch `name` the migrations the branch applied and the
    parent did not (see the module's docstring). `check_only`: check, apply nothing."""
    refuse_production(project, environment, "merge a database branch's migrations into its parent")
    if name == MAIN:
        raise NselfError("'main' has no parent to merge into; name a branch")
    branch = _find(project, environment, name)
    parent = branch.parent or MAIN
    parent_branch = _find(project, environment, parent)
    server_url = database_url(project, environment)
    branch_url = url_with_database(server_url, branch.database)
    parent_url = url_with_database(server_url, parent_branch.database)
    files = {migration_key(m): m for m in _files(project)}

    branch_history = _history(branch_url)
    new = _to_merge(branch, parent_branch, branch_history, _history(parent_url), files)
    transactional = all(_in_transaction(m) for _, m in new)
    result = MergeResult(
        branch.name,
        parent,
        branch.database,
        parent_branch.database,
        "transaction" if transactional else "scratch copy",
        [_display(m.path) for _, m in new],
        applied=not check_only,
    )
    if not new:
        return result
    for _, migration in new:
        check_transaction_control(
            migration.up_sql,
            migration.path,
            migration.up_line,
            in_transaction=_in_transaction(migration),
            what="migration",
            fold=True,
        )
    if transactional:
        with migration_lock(parent_url) as conn:
            _check_in_transaction(conn, new, branch, parent_branch)
            if not check_only:
                with conn.transaction():
                    runs = [_apply_one(conn, migration, key) for key, migration in new]
                for run in runs:
                    result.migrations.append(run)
                    if on_done:
                        on_done(run)
        return result
    _check_on_scratch(project, environment, new, branch, parent_branch)
    if not check_only:
        with migration_lock(parent_url) as conn:
            if _history_of(conn).keys() & {key for key, _ in new}:
                raise MergeConflict(
                    f"{parent_branch.database}: its migration history changed during the merge; retry"
                )
            for key, migration in new:
                run = _apply_one(conn, migration, key)
                result.migrations.append(run)
                if on_done:
                    on_done(run)
    return result


# --------------------------------------------------------------------------- helpers


def _files(project: Project) -> list[MigrationFile]:
    directory = project.migrations_dir
    return discover_migrations(directory) if directory.exists() else []


def _history(url: str) -> dict[str, tuple[str, str]]:
    with connect(url, autocommit=True) as conn:
        return _history_of(conn)


def _history_of(conn: psycopg.Connection[Any]) -> dict[str, tuple[str, str]]:
    """version -> (name, checksum), in the order applied; empty when there is no history."""
    with database_error(f"cannot read the migration history ({HISTORY_TABLE})"):
        if conn.execute("SELECT to_regclass(%s)", (HISTORY_TABLE,)).fetchone() == (None,):
            return {}
        rows = conn.execute(
            f"SELECT version, name, checksum FROM {HISTORY_TABLE} ORDER BY applied_order"
        ).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def _to_merge(
    branch: Branch,
    parent: Branch,
    branch_history: dict[str, tuple[str, str]],
    parent_history: dict[str, tuple[str, str]],
    files: dict[str, MigrationFile],
) -> list[tuple[str, MigrationFile]]:
    """The branch's migrations the parent lacks, in the branch's order, each with its file,
    checked to be the text the branch applied."""
    new: list[tuple[str, MigrationFile]] = []
    where = f"branch {branch.name!r} ({branch.database}) into {parent.name!r} ({parent.database})"
    for version, (name, checksum) in branch_history.items():
        if version in parent_history:
            if parent_history[version][1] != checksum:
                raise MergeConflict(
                    f"cannot merge {where}: migration {version} ({name}) was applied on both with different text; "
                    "nothing was applied"
                )
            continue
        migration = files.get(version)
        if migration is None:
            raise MergeConflict(
                f"cannot merge {where}: migration {version} ({name}) has no file in the migrations folder any more; "
                "nothing was applied"
            )
        if checksum_of(migration) != checksum:
            raise MergeConflict(
                f"cannot merge {where}: {_display(migration.path)} was edited since the branch applied it; "
                "nothing was applied"
            )
        new.append((version, migration))
    return new


class _Rollback(Exception):
    pass


def _check_in_transaction(
    conn: psycopg.Connection[Any], new: list[tuple[str, MigrationFile]], branch: Branch, parent: Branch
) -> None:
    """Run every migration on the parent in one transaction and roll it back."""
    try:
        with conn.transaction():
            for key, migration in new:
                _apply_conflicting(conn, migration, key, branch, parent)
            raise _Rollback
    except _Rollback:
        pass


def _apply_conflicting(
    conn: psycopg.Connection[Any], migration: MigrationFile, key: str, branch: Branch, parent: Branch
) -> MigrationRun:
    try:
        return _apply_one(conn, migration, key)
    except NselfError as error:
        raise MergeConflict(
            f"cannot merge branch {branch.name!r} into {parent.name!r} ({parent.database}): "
            f"{_display(migration.path)} no longer applies to it: {error}; nothing was applied"
        ) from None


def _check_on_scratch(
    project: Project,
    environment: Environment,
    new: list[tuple[str, MigrationFile]],
    branch: Branch,
    parent: Branch,
) -> None:
    """Apply every migration to a copy of the parent, then drop the copy."""
    scratch = SCRATCH_PREFIX + hashlib.sha256(parent.database.encode()).hexdigest()[:16]
    with _scratch_copy(project, environment, parent, scratch) as url, migration_lock(url) as conn:
        for key, migration in new:
            _apply_conflicting(conn, migration, key, branch, parent)


@contextlib.contextmanager
def _scratch_copy(project: Project, environment: Environment, parent: Branch, scratch: str) -> Iterator[str]:
    maintenance = _maintenance_url(project, environment, parent.database, scratch)
    with connect(maintenance, autocommit=True) as conn:
        _free_database(conn, parent.database, f"branch {parent.name!r}")
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
        _run(
            conn,
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(scratch), sql.Identifier(parent.database)
            ),
            parent.database,
        )
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(scratch), sql.Literal(json.dumps({"nself_merge_check": parent.name}))
            )
        )
    try:
        yield url_with_database(maintenance, scratch)
    finally:
        with connect(maintenance, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
