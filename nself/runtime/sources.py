"""SOURCE operands: where a command reads a schema from.

A SOURCE is an environment name, a postgresql:// URL, a migrations directory, a .sql
file, a .dbml file or an IR .json file (docs/design.md, "Environments")."""

from __future__ import annotations

from pathlib import Path

from nself.connection import is_connection_target, mask_url
from nself.errors import OptionError, SourceError
from nself.ir import Catalog, IRFormatError, catalog_from_json
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


def load_catalog(source: str | None, project: Project, *, option: str = "--from") -> Catalog:
    """Read the schema that `source` names. None means the default environment."""
    if source is None:
        return _introspect(environment_url(project))
    if is_connection_target(source):
        return _introspect(source)
    path = Path(source)
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_dir():
        from nself.frontends.sql import compile_migrations

        return compile_migrations(path)
    if path.suffix in (".sql", ".dbml", ".json"):
        if not path.is_file():
            raise OptionError(f"{option}: file not found: {source}")
        if path.suffix == ".sql":
            from nself.frontends.sql import compile_migrations

            return compile_migrations(path)
        if path.suffix == ".dbml":
            from nself.frontends.dbml import parse_dbml

            return parse_dbml(read_user_text(path), str(path))
        try:
            return catalog_from_json(read_user_text(path))
        except IRFormatError as exc:
            raise SourceError(path, None, None, str(exc)) from None
    if source in project.environments or source == "local":
        return _introspect(environment_url(project, source))
    raise OptionError(
        f"{option}: {mask_url(source)!r} is not an environment of nself.toml, a postgresql:// URL or "
        "key=value connection string, a migrations directory, or a .sql, .dbml or .json file"
    )


def _introspect(url: str) -> Catalog:
    from nself.frontends.live import introspect

    return introspect(url)
