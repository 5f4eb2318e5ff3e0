"""What the commands call: environments in, results out, every refusal made before a
connection writes anything.

Destructive (they replace rows): `sync_environments` on its target, `anonymize_environment`
and `clone_environment` on their target. Production is guarded twice: a production target
needs --force-production like every destructive command, and a production source is never
copied unanonymised, whatever the flags."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nself.connection import connect, scrub
from nself.errors import OptionError, ProductionGuardError
from nself.frontends.live import introspect
from nself.ir import model as m
from nself.runtime.anonymize.config import CONFIG_PATH, Config, anonymize_key, load_config, parse_config
from nself.runtime.anonymize.detect import render_config, suggest
from nself.runtime.anonymize.engine import (
    PreviewTable,
    Progress,
    SyncResult,
    anonymize_in_place,
    make_plan,
    preview,
    sync,
)
from nself.runtime.anonymize.plan import AnonymizeError, Plan, resolve_table
from nself.runtime.anonymize.subset import load_subset
from nself.runtime.local import database_url
from nself.runtime.production import refuse_production
from nself.runtime.project import Environment, Project, url_with_database


@dataclass(frozen=True)
class InitResult:
    path: str
    columns: int  # rules written (columns following a foreign key not counted)
    tables: int


def config_path(project: Project, given: Path | None) -> Path:
    return given if given is not None else project.root / CONFIG_PATH


def _load(project: Project, given: Path | None) -> Config:
    path = config_path(project, given)
    if not path.is_file():
        hint = "" if given is not None else " (write one with `nself data anonymize init`)"
        raise OptionError(f"--config: no file {path}{hint}")
    return load_config(path)


def _same_database(a: str, b: str) -> bool:
    from psycopg.conninfo import conninfo_to_dict

    def identity(url: str) -> tuple[str, str, str]:
        params = conninfo_to_dict(url)
        return (str(params.get("host", "")), str(params.get("port", "5432")), str(params.get("dbname", "")))

    return identity(a) == identity(b)


def _uncovered(plan: Plan, config: Config, catalog: m.Catalog, url: str) -> list[str]:
    """Columns that look personal and that the config neither rewrites nor mentions."""
    mentioned: set[tuple[str, str, str]] = set(plan.configured_columns())
    for table_rules in config.tables:
        table = resolve_table(catalog, table_rules.name, table_rules.position, "tables")
        mentioned.update((table.schema, table.name, c.column) for c in table_rules.columns)
    with connect(url) as conn:
        found = suggest(conn, catalog, sample=False)
    return [
        f"{s.table}.{s.column} ({s.why})"
        for s in found
        if (s.schema, s.table, s.column) not in mentioned and (s.schema, s.table) not in plan.skipped
    ]


def sync_environments(
    project: Project,
    source: Environment,
    target: Environment,
    *,
    anonymize: bool,
    config_file: Path | None = None,
    tables: Sequence[str] = (),
    subset_file: Path | None = None,
    force_production: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    if source.production and not anonymize:
        raise ProductionGuardError(
            f"refusing to copy data out of {source.name!r} without --anonymize: it is marked production = true"
        )
    refuse_production(
        project, target, f"replace the data of {target.name!r}", force_production=force_production
    )
    config = _load(project, config_file) if anonymize else None
    subset = load_subset(subset_file) if subset_file is not None else None
    key = anonymize_key(project) if anonymize else b""
    source_url = database_url(project, source)
    target_url = database_url(project, target)
    if _same_database(source_url, target_url):
        raise OptionError(f"--from {source.name} and --to {target.name} are the same database")
    catalog = introspect(source_url)
    plan = make_plan(catalog, config, key) if config is not None else None
    if source.production and config is not None and plan is not None:
        _refuse_unanonymised(plan, config, catalog, source_url, source.name)
    return sync(
        source_url, target_url, catalog=catalog, plan=plan, tables=tables, subset=subset, progress=progress
    )


def copy_anonymised(
    project: Project,
    source_url: str,
    target_url: str,
    *,
    source_name: str,
    source_production: bool,
    config_file: Path | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Every table of `source_url` copied into `target_url` (which has the schema) through
    the project's anonymisation rules: what `restore --to ENV --anonymize` runs from the
    scratch cluster a backup was recovered in. Data from production needs a rule for every
    column that looks personal, as `data sync` does. The caller guards the target."""
    config = _load(project, config_file)
    key = anonymize_key(project)
    catalog = introspect(source_url)
    plan = make_plan(catalog, config, key)
    if not plan.tables:
        raise AnonymizeError(f"{config.path} anonymises nothing")
    if source_production:
        _refuse_unanonymised(plan, config, catalog, source_url, source_name)
    return sync(source_url, target_url, catalog=catalog, plan=plan, progress=progress)


def _refuse_unanonymised(plan: Plan, config: Config, catalog: m.Catalog, url: str, name: str) -> None:
    if not plan.tables:
        raise ProductionGuardError(
            f"refusing to copy {name!r} (production): {config.path} anonymises nothing"
        )
    missing = _uncovered(plan, config, catalog, url)
    if missing:
        listed = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise ProductionGuardError(
            f"refusing to copy {name!r} (production): {config.path} has no rule for {listed}; "
            "add one (`keep` if it is not personal)"
        )


def refuse_in_place_on_production(environment: Environment) -> None:
    # Rewriting production's own rows would destroy them: never, not even with a flag.
    if environment.production:
        raise ProductionGuardError(
            f"refusing to anonymise {environment.name!r} in place: it is marked production = true "
            "(copy it with `nself data sync --anonymize` instead)"
        )


def anonymize_environment(
    project: Project,
    environment: Environment,
    *,
    config_file: Path | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    refuse_in_place_on_production(environment)
    config = _load(project, config_file)
    key = anonymize_key(project)
    url = database_url(project, environment)
    catalog = introspect(url)
    plan = make_plan(catalog, config, key)
    if not plan.tables:
        raise AnonymizeError(f"{config.path} anonymises nothing")
    return anonymize_in_place(url, catalog=catalog, plan=plan, progress=progress)


def preview_environment(
    project: Project, environment: Environment, *, config_file: Path | None = None, limit: int = 5
) -> list[PreviewTable]:
    if limit < 1:
        raise OptionError("--limit: expected a positive number of rows")
    config = _load(project, config_file)
    key = anonymize_key(project)
    url = database_url(project, environment)
    catalog = introspect(url)
    return preview(url, catalog=catalog, plan=make_plan(catalog, config, key), limit=limit)


def init_config(
    project: Project, environment: Environment, *, output: Path | None = None, force: bool = False
) -> InitResult:
    path = config_path(project, output)
    if path.exists() and not force:
        raise OptionError(f"{path} exists; edit it, or write it again with --force")
    url = database_url(project, environment)
    catalog = introspect(url)
    with connect(url) as conn:
        conn.read_only = True
        found = suggest(conn, catalog)
    text = render_config(found, catalog, f"environment {environment.name!r}")
    parse_config(text, str(path))  # what init writes must read back
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return InitResult(
        str(path), sum(1 for s in found if s.follows is None), len({(s.schema, s.table) for s in found})
    )


def clone_environment(
    project: Project,
    source: Environment,
    target: Environment,
    *,
    anonymize: bool,
    config_file: Path | None = None,
    force_production: bool = False,
    progress: Progress | None = None,
) -> SyncResult:
    """Recreate the target's database with the source's schema (pg_dump --schema-only) and
    copy the rows through `sync_environments`. Every check runs before the target is
    dropped; a failed data copy leaves the new schema empty, never the source touched."""
    from nself.runtime.dump import (
        ClientProgramError,
        find_client,
        first_error_line,
        libpq_target,
        server_major,
    )

    if source.production and not anonymize:
        raise ProductionGuardError(
            f"refusing to clone {source.name!r} without --anonymize: it is marked production = true"
        )
    refuse_production(
        project, target, f"recreate the database of {target.name!r}", force_production=force_production
    )
    source_url = database_url(project, source)
    target_url = database_url(project, target)
    if _same_database(source_url, target_url):
        raise OptionError(f"--from {source.name} and --to {target.name} are the same database")
    config = _load(project, config_file) if anonymize else None
    key = anonymize_key(project) if anonymize else b""
    catalog = introspect(source_url)
    plan = make_plan(catalog, config, key) if config is not None else None  # errors before the drop
    if source.production and config is not None and plan is not None:
        _refuse_unanonymised(plan, config, catalog, source_url, source.name)

    major = server_major(source_url)
    conninfo, env = libpq_target(source_url)
    dump = subprocess.run(
        [str(find_client("pg_dump", major)), "--no-password", "--schema-only", "--no-owner", "--no-privileges",
         "--dbname", conninfo],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if dump.returncode != 0:
        raise ClientProgramError(
            scrub(f"pg_dump --schema-only failed: {first_error_line(dump.stderr)}", source_url)
        )
    _recreate_database(target_url)
    target_conninfo, target_env = libpq_target(target_url)
    load = subprocess.run(
        [str(find_client("psql", server_major(target_url))), "--no-password", "--no-psqlrc", "--quiet",
         "-v", "ON_ERROR_STOP=1", "--single-transaction", "--dbname", target_conninfo],
        input=dump.stdout, env=target_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if load.returncode != 0:
        raise ClientProgramError(
            scrub(f"loading the schema failed: {first_error_line(load.stderr)}", target_url)
        )
    return sync(source_url, target_url, catalog=catalog, plan=plan, progress=progress)


@contextmanager
def _as_option_error(database: str) -> Iterator[None]:
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise OptionError(f"cannot recreate database {database}: {exc.diag.message_primary or exc}") from None


def _recreate_database(url: str) -> None:
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict

    database = str(conninfo_to_dict(url).get("dbname") or "")
    if not database:
        raise OptionError("the target URL names no database")
    maintenance = url_with_database(url, "postgres" if database != "postgres" else "template1")
    with connect(maintenance, autocommit=True) as conn, _as_option_error(database):
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND application_name = 'nself' "
            "AND pid <> pg_backend_pid()",
            (database,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
