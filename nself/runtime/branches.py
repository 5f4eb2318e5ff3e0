"""Database branches: copies of an environment's database on the same server, made with
CREATE DATABASE ... TEMPLATE, and the one an environment is switched to (.nself/branch).

A branch NAME of a database DB is the database "DB__NAME"; `main` is DB itself. Who made a
branch, from what and when is kept in a comment on the branch database, so `list` reads it
from the server."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import sql

from nself.connection import APPLICATION_NAME, connect, target_params
from nself.errors import OptionError
from nself.runtime.local import database_url
from nself.runtime.production import refuse_production
from nself.runtime.project import Environment, Project, url_with_database

MAIN = "main"
SEPARATOR = "__"
# PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; a longer name would silently
# collide with another branch's.
MAX_DATABASE_BYTES = 63
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_]*")
# Git's usual default branches stand for the main database under --auto.
GIT_MAIN_BRANCHES = frozenset({"main", "master"})


@dataclass(frozen=True)
class Branch:
    name: str
    database: str
    size_bytes: int
    created: str | None
    parent: str | None
    current: bool


def validate_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise OptionError(
            f"branch name {name!r}: use lowercase letters, digits and _ (starting with a letter or digit)"
        )
    return name


def sanitise(git_branch: str) -> str:
    """A branch name from a git branch: `feature/X-1` -> `feature_x_1`."""
    name = re.sub(r"[^a-z0-9]+", "_", git_branch.lower()).strip("_")
    if not name:
        raise OptionError(f"--auto: git branch {git_branch!r} has no letters or digits to name a branch")
    return name


def main_database(environment: Environment) -> str:
    params = target_params(environment.base_url())
    name = params.get("dbname") or params.get("user")
    if not name:
        raise OptionError(f"environment {environment.name!r}: its URL names no database")
    return str(name)


def branch_database(environment: Environment, name: str) -> str:
    main = main_database(environment)
    if name == MAIN:
        return main
    database = f"{main}{SEPARATOR}{validate_name(name)}"
    if len(database.encode()) > MAX_DATABASE_BYTES:
        room = MAX_DATABASE_BYTES - len(main.encode()) - len(SEPARATOR)
        raise OptionError(
            f"branch name {name!r}: database {database!r} exceeds {MAX_DATABASE_BYTES} bytes; "
            f"use at most {max(room, 0)} characters"
        )
    return database


def current_branch(project: Project, environment: Environment) -> str:
    entry = project.branch_state().get(environment.name)
    return entry["branch"] if entry else MAIN


def list_branches(project: Project, environment: Environment) -> list[Branch]:
    main = main_database(environment)
    current = current_branch(project, environment)
    prefix = main + SEPARATOR
    with connect(_maintenance_url(project, environment, main), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT d.datname, pg_database_size(d.oid), shobj_description(d.oid, 'pg_database') "
            "FROM pg_database d WHERE d.datname = %s OR left(d.datname, %s) = %s ORDER BY d.datname",
            (main, len(prefix), prefix),
        ).fetchall()
    branches = []
    for database, size, comment in rows:
        name = MAIN if database == main else database[len(prefix) :]
        if name != MAIN and not NAME_PATTERN.fullmatch(name):
            continue  # a database someone else named like a branch
        about = _read_comment(comment)
        branches.append(
            Branch(name, database, int(size), about.get("created"), about.get("parent"), name == current)
        )
    return sorted(branches, key=lambda b: (b.name != MAIN, b.name))


def create_branch(project: Project, environment: Environment, name: str, source: str | None = None) -> Branch:
    """Copy `source` (default: the current branch) into a new branch `name`."""
    refuse_production(
        project,
        environment,
        "create a database branch (branches are for development databases, not production)",
    )
    validate_name(name)
    if name == MAIN:
        raise OptionError("branch name 'main' is the environment's own database; choose another")
    parent = source or current_branch(project, environment)
    source_db = branch_database(environment, parent)
    target_db = branch_database(environment, name)
    existing = {b.name for b in list_branches(project, environment)}
    if name in existing:
        raise OptionError(f"branch {name!r} exists already ({target_db})")
    if parent not in existing:
        raise OptionError(f"--from: no branch {parent!r} (known: {', '.join(sorted(existing))})")
    comment = json.dumps(
        {"nself_branch": name, "parent": parent, "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
        sort_keys=True,
    )
    with connect(_maintenance_url(project, environment, source_db, target_db), autocommit=True) as conn:
        _free_database(conn, source_db, f"branch {parent!r}")
        # FILE_COPY (the only strategy before 15) copies files instead of WAL-logging every block.
        strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}" + strategy).format(
            sql.Identifier(target_db), sql.Identifier(source_db)
        )
        _run(conn, create, source_db)
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(sql.Identifier(target_db), sql.Literal(comment))
        )
    return _find(project, environment, name)


def switch_branch(project: Project, environment: Environment, name: str) -> Branch:
    """Make `name` the database every later command on `environment` uses."""
    refuse_production(
        project,
        environment,
        "switch database branches (branches are for development databases, not production)",
    )
    if name != MAIN:
        validate_name(name)
    branch = _find(project, environment, name)
    state = project.branch_state()
    if name == MAIN:
        state.pop(environment.name, None)
    else:
        state[environment.name] = {"branch": name, "database": branch.database}
    _write_state(project.branch_file, state)
    return _find(project, environment, name)


def delete_branch(project: Project, environment: Environment, name: str) -> Branch:
    refuse_production(
        project,
        environment,
        "delete a database branch (branches are for development databases, not production)",
    )
    if name == MAIN:
        raise OptionError("refusing to delete 'main': it is the environment's own database")
    validate_name(name)
    if name == current_branch(project, environment):
        raise OptionError(
            f"refusing to delete {name!r}: it is the current branch; `nself db branch switch main` first"
        )
    branch = _find(project, environment, name)
    with connect(_maintenance_url(project, environment, branch.database), autocommit=True) as conn:
        _free_database(conn, branch.database, f"branch {name!r}")
        _run(conn, sql.SQL("DROP DATABASE {}").format(sql.Identifier(branch.database)), branch.database)
    return branch


def auto_branch(project: Project, environment: Environment) -> tuple[Branch, bool]:
    """Switch to the branch named after the project's git branch, creating it (from main)
    when missing. Returns the branch and whether it was created."""
    refuse_production(
        project,
        environment,
        "switch to a git-named database branch (branches are for development databases, not production)",
    )
    git_branch = _git_branch(project.root)
    name = MAIN if git_branch in GIT_MAIN_BRANCHES else sanitise(git_branch)
    if name != MAIN:
        main = main_database(environment)
        room = MAX_DATABASE_BYTES - len(main.encode()) - len(SEPARATOR)
        name = name[:room].rstrip("_") or name[:room]
    created = False
    if name not in {b.name for b in list_branches(project, environment)}:
        create_branch(project, environment, name, source=MAIN)
        created = True
    return switch_branch(project, environment, name), created


# --------------------------------------------------------------------------- helpers


def _find(project: Project, environment: Environment, name: str) -> Branch:
    branches = list_branches(project, environment)
    for branch in branches:
        if branch.name == name:
            return branch
    known = ", ".join(b.name for b in branches)
    raise OptionError(f"no branch {name!r} on {environment.name!r} (known: {known})")


def _maintenance_url(project: Project, environment: Environment, *avoid: str) -> str:
    """A URL of the server on a database none of `avoid` (a database being copied or
    dropped cannot have sessions, ours included)."""
    url = database_url(project, environment)  # starts the managed cluster when needed
    for candidate in ("postgres", "template1"):
        if candidate not in avoid:
            return url_with_database(url, candidate)
    raise AssertionError("unreachable: at most two databases are avoided")


def _free_database(conn: Any, database: str, what: str) -> None:
    """End nself's own sessions on `database`; any other session is an error naming it."""
    conn.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name = %s",
        (database, APPLICATION_NAME),
    )
    others = conn.execute(
        "SELECT pid, coalesce(nullif(application_name, ''), 'no application_name'), coalesce(usename, '') "
        "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() AND application_name <> %s "
        "ORDER BY pid",
        (database, APPLICATION_NAME),
    ).fetchall()
    if others:
        sessions = ", ".join(f"pid {pid} ({app}, user {user})" for pid, app, user in others)
        raise OptionError(f"{what} ({database}) has other connections: {sessions}; close them and retry")


def _run(conn: Any, statement: sql.Composed, busy_database: str) -> None:
    import psycopg

    try:
        conn.execute(statement)
    except psycopg.errors.ObjectInUse:
        # A session arrived between the check and the statement (PostgreSQL waits 5 s for it).
        raise OptionError(
            f"{busy_database} is being accessed by other users; close their connections and retry"
        ) from None
    except psycopg.errors.InsufficientPrivilege as exc:
        raise OptionError(f"{busy_database}: {exc.diag.message_primary or 'permission denied'}") from None


def _read_comment(comment: str | None) -> dict[str, str]:
    try:
        about = json.loads(comment) if comment else {}
    except json.JSONDecodeError:
        return {}
    return {k: str(v) for k, v in about.items()} if isinstance(about, dict) else {}


def _write_state(path: Path, state: dict[str, dict[str, str]]) -> None:
    if not state:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _git_branch(root: Path) -> str:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--abbrev-ref", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise OptionError("--auto: git is not installed") from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.split()) or f"exit {done.returncode}"
        raise OptionError(f"--auto: cannot read the git branch of {root}: {reason}")
    branch = done.stdout.strip()
    if branch == "HEAD":
        raise OptionError("--auto: git HEAD is detached; check out a branch first")
    return branch
