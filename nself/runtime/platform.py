"""A platform's base on a database of the managed cluster (nself.platforms).

A Supabase project's migrations run on a database the platform prepared: its roles, the
`extensions` schema on the database's search_path, `auth.users`, `storage.objects`, ...
`ensure_platform` gives a database of the cluster nself manages that base, once: the
roles (cluster-wide, each created only when missing), then the platform's files, the
database's search_path and a row in `_nself.platform`, all in one transaction, so a
failure leaves the database as it was. Never run against a real platform's database: it
has its own base already."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from pglast import ast, parse_sql
from pglast.parser import ParseError
from psycopg import sql

from nself.connection import connect
from nself.platforms import PLATFORMS, Platform, platform_named
from nself.runtime.migrate import META_SCHEMA
from nself.runtime.session import database_error, ensure_table, locked_connection, run_script

PLATFORM_TABLE = f"{META_SCHEMA}.platform"


def _ensure_table(conn: psycopg.Connection[Any]) -> None:
    ensure_table(
        conn,
        PLATFORM_TABLE,
        f"""CREATE TABLE IF NOT EXISTS {PLATFORM_TABLE} (
            name text PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )""",
        what="the platform record",
    )


def platform_applied(conn: psycopg.Connection[Any], platform: Platform) -> bool:
    if conn.execute("SELECT to_regclass(%s) IS NULL", (PLATFORM_TABLE,)).fetchone() == (True,):
        return False
    row = conn.execute(f"SELECT 1 FROM {PLATFORM_TABLE} WHERE name = %s", (platform.name,)).fetchone()
    return row is not None


def stand_in_skip(conn: psycopg.Connection[Any]) -> Callable[[str], str | None] | None:
    """For a database that holds a platform's base: what a migration's statement must not
    run (None: nothing to skip). A CREATE EXTENSION of an extension the platform ships that
    this server lacks (the base defines what projects use from it), and a function in a
    language such an extension brings, are skipped with the sql frontend's warning."""
    if conn.execute("SELECT to_regclass(%s) IS NULL", (PLATFORM_TABLE,)).fetchone() == (True,):
        return None
    names = [row[0] for row in conn.execute(f"SELECT name FROM {PLATFORM_TABLE} ORDER BY name")]
    platforms = [platform_named(name) for name in names if name in PLATFORMS]
    available = {row[0] for row in conn.execute("SELECT name FROM pg_available_extensions")}
    languages = {row[0] for row in conn.execute("SELECT lanname FROM pg_language")}
    extensions = {
        s.extension: s.extension_skipped(p.name)
        for p in platforms
        for s in p.stand_ins
        if s.extension not in available
    }
    missing_languages = {lang for p in platforms for s in p.stand_ins for lang in s.languages} - languages
    if not extensions and not missing_languages:
        return None

    def skip(text: str) -> str | None:
        lowered = text.lower()
        if "extension" not in lowered and not any(lang in lowered for lang in missing_languages):
            return None
        try:
            statements = parse_sql(text)
        except ParseError:
            return None  # PostgreSQL says what is wrong with it
        for raw in statements:
            node = raw.stmt
            if isinstance(node, ast.CreateExtensionStmt) and node.extname in extensions:
                return extensions[node.extname]
            if isinstance(node, ast.CreateFunctionStmt):
                language = next(
                    (o.arg.sval.lower() for o in node.options or () if o.defname == "language"), "sql"
                )
                if language in missing_languages:
                    name = ".".join(n.sval for n in node.funcname or ())
                    return next(
                        s.function_skipped(name, language)
                        for p in platforms
                        for s in p.stand_ins
                        if language in s.languages
                    )
        return None

    return skip


def ensure_platform(url: str, platform: Platform) -> bool:
    """Give the database at `url` the base of `platform` unless it has it already; True
    when it was applied now. The database's search_path is set again when missing (a branch
    copied from a template keeps the objects but not the setting). Every command on the
    managed cluster calls this: a database that has the base is checked without waiting
    for nself's lock (which a long migration may hold)."""
    with connect(url, autocommit=True) as conn:
        if platform_applied(conn, platform):
            _ensure_search_path(conn, platform)
            return False
    with locked_connection(url) as conn:
        if platform_applied(conn, platform):
            _ensure_search_path(conn, platform)
            return False
        with database_error(f"cannot give the database the {platform.name} platform's base"), conn.transaction():
            run_script(conn, platform.cluster_sql, Path(f"<{platform.name}>/roles.sql"), 1)
            for file in platform.files:
                run_script(conn, file.text, Path(file.name), 1)
            _set_search_path(conn, platform)
            _ensure_table(conn)
            conn.execute(f"INSERT INTO {PLATFORM_TABLE} (name) VALUES (%s)", (platform.name,))
        return True


def _ensure_search_path(conn: psycopg.Connection[Any], platform: Platform) -> None:
    row = conn.execute(
        """SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
           WHERE d.datname = current_database() AND s.setrole = 0
             AND EXISTS (SELECT FROM unnest(s.setconfig) c WHERE c LIKE 'search\\_path=%')"""
    ).fetchone()
    if row is None or row[0] == 0:
        with database_error("cannot set the database's search_path"):
            _set_search_path(conn, platform)


def _set_search_path(conn: psycopg.Connection[Any], platform: Platform) -> None:
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    conn.execute(
        sql.SQL("ALTER DATABASE {} SET search_path TO {}").format(
            sql.Identifier(row[0]), sql.SQL(", ").join(map(sql.Identifier, platform.search_path))
        )
    )
