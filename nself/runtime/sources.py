"""SOURCE operands: where a command reads a schema from.

A SOURCE is an environment name, a postgresql:// URL, a migrations directory, a .sql
file, a .dbml file or an IR .json file (docs/design.md, "Environments").

A project on a platform (nself.toml `platform = "supabase"`, or migrations kept in
`supabase/migrations`) compiles its migrations on the platform's base, and the platform's
own objects are left out of what is read (nself.ir.platform) unless `include_platform`;
a database that holds the platform's base (`auth.users`, `storage.objects`) is read the
same way."""

from __future__ import annotations

from pathlib import Path

from nself.connection import is_connection_target, mask_url
from nself.errors import OptionError, SourceError
from nself.ir import Catalog, IRFormatError, catalog_from_json
from nself.ir.platform import without_platform
from nself.platforms import PLATFORM_SCHEMAS, PLATFORMS, Platform, detect_platform, platform_named
from nself.runtime.local import environment_url
from nself.runtime.project import Project
from nself.textfiles import read_user_text


def describe_source(source: str | None, project: Project) -> str:
    if source is None:
        return f"environment {project.environment().name!r}"
    if is_connection_target(source):
        return mask_url(source)
    return source


def database_url_of(source: str | None, project: Project) -> str | None:
    """The URL of the database that `source` names (an environment, the default one, or a
    postgresql:// URL); None when it names files."""
    if source is None:
        return environment_url(project)
    if source.startswith(("postgresql://", "postgres://")):
        return source
    path = Path(source)
    if path.is_dir() or path.suffix in (".sql", ".dbml", ".json"):
        return None
    if source in project.environments or source == "local":
        return environment_url(project, source)
    return None


def load_catalog(
    source: str | None,
    project: Project,
    *,
    option: str = "--from",
    include_platform: bool = False,
    platform_references: bool = True,
) -> Catalog:
    """Read the schema that `source` names. None means the default environment. The
    objects of the project's platform are left out unless `include_platform`; with
    `platform_references`, the platform's tables the project's foreign keys reference
    (`auth.users`) stay, for types and diagrams to reach."""
    catalog, platform = _load(source, project, option)
    if platform is None or include_platform:
        return catalog
    return strip_platform(catalog, platform, keep_referenced=platform_references)


def strip_platform(catalog: Catalog, platform: Platform, *, keep_referenced: bool = True) -> Catalog:
    """`catalog` without `platform`'s own objects (nself.ir.platform)."""
    from nself.frontends.sql import platform_catalog

    return without_platform(
        catalog, platform_catalog(platform), platform.schemas, keep_referenced=keep_referenced
    )


def platform_of_path(path: Path, project: Project) -> Platform | None:
    """The platform whose base migrations at `path` are compiled on: the one whose layout
    holds them (`supabase/migrations`), else the project's."""
    return detect_platform(path) or project.platform


def platform_of_database(catalog: Catalog, project: Project) -> Platform | None:
    """The project's platform, else the one whose base tables the database holds."""
    if project.platform is not None:
        return project.platform
    for name in PLATFORMS:
        schemas = PLATFORM_SCHEMAS[name]
        if not any(table.schema in schemas for table in catalog.tables):
            continue  # none of its base tables can be there: no need to read or compile its base
        platform = platform_named(name)
        from nself.frontends.sql import platform_catalog

        tables = platform_catalog(platform).tables
        if tables and all(catalog.table(t.schema, t.name) is not None for t in tables):
            return platform
    return None


def _load(source: str | None, project: Project, option: str) -> tuple[Catalog, Platform | None]:
    if source is None:
        catalog = _introspect(environment_url(project))
        return catalog, platform_of_database(catalog, project)
    if is_connection_target(source):
        catalog = _introspect(source)
        return catalog, platform_of_database(catalog, project)
    path = Path(source)
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_dir():
        platform = platform_of_path(path, project)
        return compile_migration_files(path, platform, project), platform
    if path.suffix in (".sql", ".dbml", ".json"):
        if not path.is_file():
            raise OptionError(f"{option}: file not found: {source}")
        if path.suffix == ".sql":
            platform = platform_of_path(path, project)
            return compile_migration_files(path, platform, project), platform
        if path.suffix == ".dbml":
            from nself.frontends.dbml import parse_dbml

            return parse_dbml(read_user_text(path), str(path)), None
        try:
            return catalog_from_json(read_user_text(path)), None
        except IRFormatError as exc:
            raise SourceError(path, None, None, str(exc)) from None
    if source in project.environments or source == "local":
        catalog = _introspect(environment_url(project, source))
        return catalog, platform_of_database(catalog, project)
    raise OptionError(
        f"{option}: {mask_url(source)!r} is not an environment of nself.toml, a postgresql:// URL or "
        "key=value connection string, a migrations directory, or a .sql, .dbml or .json file"
    )


def compile_migration_files(path: Path, platform: Platform | None, project: Project | None = None) -> Catalog:
    """The schema the migrations at `path` build (a folder, or one .sql file); what the SQL
    frontend went past (a statement not modelled, an expression not canonicalised) is
    warned of, one SourceWarning naming file:line each, which the CLI prints on stderr.
    With a `project`, the compile is cached in its `.nself/cache/` (nself.frontends.sql_cache)."""
    from nself.frontends.sql import compile_migrations_with_warnings, report_warnings

    cache_dir = compile_cache_dir(project) if project is not None else None
    return report_warnings(compile_migrations_with_warnings(path, platform, cache_dir=cache_dir))


def compile_cache_dir(project: Project) -> Path:
    """Where the sql frontend keeps its cache for `project` (deleting it is always safe)."""
    return project.state_dir / "cache"


def _introspect(url: str) -> Catalog:
    from nself.frontends.live import introspect

    return introspect(url)
