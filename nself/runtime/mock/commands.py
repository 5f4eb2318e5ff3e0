"""What the `nself mock` commands do, as library functions the CLI calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nself.backends.mock import default_config, render
from nself.errors import OptionError
from nself.frontends.live import introspect
from nself.runtime.local import database_url
from nself.runtime.mock.executor import Confirm, Progress, TableResult, generate_mock, preview_rows
from nself.runtime.mock.project import CONFIG_NAME, load_config, mock_dir, read_seed, write_seed
from nself.runtime.production import refuse_production
from nself.runtime.project import Environment, Project
from nself.runtime.sources import platform_of_database, strip_platform


def mock_catalog(project: Project, url: str, *, include_platform: bool = False) -> Any:
    """The schema mock data is made for: the database's, without its platform's objects
    (Supabase's auth.users, storage.objects, ...: rows there come from the platform's
    services) unless `include_platform`. A project table's key to a platform table still
    picks its values from the rows already there."""
    catalog = introspect(url)
    platform = None if include_platform else platform_of_database(catalog, project)
    if platform is None:
        return catalog
    return strip_platform(catalog, platform, keep_referenced=False)


def init_mock(
    project: Project,
    environment: Environment,
    *,
    seed: int = 42,
    force: bool = False,
    include_platform: bool = False,
) -> list[Path]:
    """Write mock.config.yaml (guessed from the environment's schema) and mock.seed."""
    folder = mock_dir(project.root)
    config_path = folder / CONFIG_NAME
    if config_path.exists() and not force:
        raise OptionError(f"{config_path} already exists (use --force to overwrite it)")
    catalog = mock_catalog(project, database_url(project, environment), include_platform=include_platform)
    folder.mkdir(parents=True, exist_ok=True)
    config_path.write_text(render(catalog, {"seed": seed})[CONFIG_NAME], encoding="utf-8")
    return [config_path, write_seed(project.root, seed)]


def project_config(project: Project, catalog: Any) -> dict[str, Any]:
    """The project's mock config, or the guessed one when `mock init` was never run."""
    path = mock_dir(project.root) / CONFIG_NAME
    config = load_config(path) if path.exists() else default_config(catalog)
    seed = read_seed(project.root)
    if seed is not None and "seed" not in config:
        config["seed"] = seed
    return config


def generate(
    project: Project,
    environment: Environment,
    *,
    tables: list[str] | None = None,
    seed: int | None = None,
    preset: str | None = None,
    progress: Progress | None = None,
    confirm: Confirm | None = None,
    include_platform: bool = False,
) -> list[TableResult]:
    """Empty and fill the tables; `confirm` is asked before tables that reference them are
    emptied as well (refused without it)."""
    refuse_production(project, environment, "generate mock data")
    url = database_url(project, environment)
    catalog = mock_catalog(project, url, include_platform=include_platform)
    return generate_mock(
        url,
        catalog,
        project_config(project, catalog),
        only=tables or None,
        seed=seed,
        preset=preset,
        progress=progress,
        confirm=confirm,
    )


def preview(
    project: Project, environment: Environment, table: str, rows: int, *, include_platform: bool = False
) -> tuple[list[str], list[list[str | None]]]:
    catalog = mock_catalog(project, database_url(project, environment), include_platform=include_platform)
    return preview_rows(catalog, project_config(project, catalog), table, rows)
