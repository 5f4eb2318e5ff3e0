"""`nself data reset`: empty an environment's database.

Two ways, chosen by the caller:
- rebuild (the default): drop every schema and apply the migrations again, exactly as
  `nself db migrate:fresh` does (the same library functions), so the database is what the
  migrations give and nothing else;
- keep the schema: one `TRUNCATE ... RESTART IDENTITY CASCADE` over every user table,
  leaving the schema, the migration history and the tables extensions own untouched.

Either way the seed history (`_nself.seeds`) no longer describes the rows, so it is
emptied too; with `keep_seeds` the environment's seeds then run again through the seeds
runner. The caller guards production (nself.runtime.production.refuse_production)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg

from nself.connection import connect
from nself.errors import NselfError
from nself.platforms import Platform
from nself.runtime.migrate import META_SCHEMA, apply_migrations, drop_everything
from nself.runtime.platform import ensure_platform
from nself.runtime.seeds import SEED_TABLE, run_seeds

# Ordinary and partitioned tables outside the system schemas and nself's own, minus the
# tables an extension created (pg_depend deptype 'e'): their rows belong to the extension
# (PostGIS's spatial_ref_sys, for one).
_USER_TABLES = """
SELECT format('%%I.%%I', n.nspname, c.relname)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', %s)
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
  AND NOT EXISTS (
      SELECT FROM pg_depend d
      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
"""

ResetMode = Literal["rebuilt", "truncated"]


@dataclass(frozen=True)
class ResetResult:
    mode: ResetMode
    tables: list[str] = field(default_factory=list)  # emptied by TRUNCATE (keep-schema)
    migrations: list[str] = field(default_factory=list)  # versions applied (rebuild)
    seeds: list[str] = field(default_factory=list)  # seeds that ran again (keep-seeds)


def user_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """Every table whose rows a reset removes, qualified and quoted by PostgreSQL."""
    return [row[0] for row in conn.execute(_USER_TABLES, (META_SCHEMA,)).fetchall()]


def truncate_user_tables(url: str) -> list[str]:
    """Empty every user table and restart the sequences they own, in one transaction, and
    forget which seeds ran (their rows are gone). Returns the tables, qualified."""
    with connect(url) as conn:
        try:
            with conn.transaction():
                names = user_tables(conn)
                if names:
                    conn.execute(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE".encode())
                if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (SEED_TABLE,)).fetchone() == (True,):
                    conn.execute(f"DELETE FROM {SEED_TABLE}")
        except psycopg.Error as exc:
            message = exc.diag.message_primary or str(exc).splitlines()[0]
            raise NselfError(f"reset failed, no rows were removed: {message}") from None
        return names


def reset_data(
    url: str,
    migrations_dir: Path,
    seeds_dir: Path,
    environment: str,
    *,
    keep_schema: bool = False,
    keep_seeds: bool = False,
    on_step: Callable[[str], None] | None = None,
    platform: Platform | None = None,
) -> ResetResult:
    """Empty the database at `url` (see the module docstring), then re-run the seeds of
    `environment` when `keep_seeds`. `platform`: the base to give the emptied database
    again before the migrations (on the managed cluster)."""

    def step(what: str) -> None:
        if on_step:
            on_step(what)

    if keep_schema:
        step("truncating every table")
        result = ResetResult("truncated", tables=truncate_user_tables(url))
    else:
        step("dropping every schema")
        drop_everything(url)  # `_nself` goes with it: migration and seed history alike
        if platform is not None:
            step(f"applying the {platform.name} platform's base")
            ensure_platform(url, platform)
        runs = apply_migrations(url, migrations_dir, on_start=lambda m: step(f"applying {m.path.name}"))
        result = ResetResult("rebuilt", migrations=[run.version for run in runs])
    if keep_seeds:
        step("running seeds")
        ran = run_seeds(url, seeds_dir, environment)
        result = ResetResult(
            result.mode, result.tables, result.migrations, [run.name for run in ran if run.action == "ran"]
        )
    return result
