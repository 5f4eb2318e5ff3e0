"""The user's project: nself.toml, its environments, and the guard on production.

An environment is either the cluster nself manages under .nself/ (no `url`) or a
connection URL read from the process environment (`url = "env:NAME"`). URLs hold
passwords, so every place that shows one uses `mask_url`."""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from nself.connection import is_connection_target, is_url, mask_url, secrets_in
from nself.errors import OptionError, SourceError, line_containing
from nself.platforms import PLATFORMS, Platform, platform_named
from nself.textfiles import deepest_nesting, read_user_text

CONFIG_FILE = "nself.toml"
STATE_DIR = ".nself"
# {environment: {"branch": NAME, "database": DATABASE}}, written by `nself db branch switch`.
BRANCH_FILE = "branch"
DEFAULT_LOCAL_PORT = 54329
# The ports `nself init` chooses from, one per project, so that two projects' clusters can
# run side by side; nself's own scratch clusters (free_port) keep out of them.
PROJECT_PORTS = range(DEFAULT_LOCAL_PORT, DEFAULT_LOCAL_PORT + 600)


@dataclass(frozen=True)
class Environment:
    name: str
    # None for the managed local cluster (see `Project.local_cluster`).
    url_setting: str | None = None
    production: bool = False
    port: int = DEFAULT_LOCAL_PORT
    settings: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # The database of the branch chosen with `nself db branch switch`; None: the URL's own.
    branch_database: str | None = None

    @property
    def managed(self) -> bool:
        return self.url_setting is None

    def url(self) -> str:
        """The connection URL, on the current branch's database. Secret: never print it;
        use `display_url`."""
        if self.branch_database is None:
            return self.base_url()
        return url_with_database(self.base_url(), self.branch_database)

    def base_url(self) -> str:
        """The URL of nself.toml (resolving `env:NAME`), ignoring branches."""
        if self.url_setting is None:
            return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        if self.url_setting.startswith("env:"):
            variable = self.url_setting[4:]
            value = os.environ.get(variable)
            if not value:
                raise OptionError(
                    f"environment {self.name!r}: variable {variable} is not set (nself.toml url = \"env:{variable}\")"
                )
            return value
        return self.url_setting

    def display_url(self) -> str:
        try:
            return mask_url(self.url())
        except OptionError:
            return self.url_setting or ""


@dataclass(frozen=True)
class Project:
    root: Path
    config: dict[str, Any]
    environments: dict[str, Environment]

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def migrations_dir(self) -> Path:
        """`migrations = "PATH"` of nself.toml (relative to the project), else nself/migrations."""
        return self._path("migrations", "nself/migrations")

    @property
    def seeds_path(self) -> Path:
        """The seeds folder (`seeds = "PATH"`, else nself/seeds), or one seed file."""
        return self._path("seeds", "nself/seeds")

    @property
    def tests_dir(self) -> Path:
        """The pgTAP tests folder (`tests = "PATH"`, else nself/tests)."""
        return self._path("tests", "nself/tests")

    @property
    def platform(self) -> Platform | None:
        """The platform the project's database comes from (`platform = "supabase"`)."""
        name = self.config.get("platform")
        return platform_named(name) if isinstance(name, str) else None

    def _path(self, key: str, default: str) -> Path:
        value = self.config.get(key)
        return self.root / (value if isinstance(value, str) else default)

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def environment(self, name: str | None = None) -> Environment:
        """The environment called `name`; by default NSELF_ENV, else `local`."""
        chosen = name or os.environ.get("NSELF_ENV") or "local"
        if chosen in self.environments:
            return self._on_branch(self.environments[chosen])
        if chosen == "local":
            return self._on_branch(Environment("local"))
        known = ", ".join(sorted(self.environments)) or "none"
        if is_connection_target(chosen):
            raise OptionError(
                f"--env takes the name of an environment of {self.config_path}, not a connection URL "
                f"({mask_url(chosen)}); known: {known}"
            )
        raise OptionError(f"--env: no environment {chosen!r} in {self.config_path} (known: {known})")

    @property
    def branch_file(self) -> Path:
        return self.state_dir / BRANCH_FILE

    def branch_state(self) -> dict[str, dict[str, str]]:
        """The branch each environment is switched to (.nself/branch); empty when none is."""
        path = self.branch_file
        if not path.is_file():
            return {}
        try:
            state: Any = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SourceError(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
        valid = isinstance(state, dict) and all(
            isinstance(entry, dict)
            and isinstance(entry.get("database"), str)
            and isinstance(entry.get("branch"), str)
            for entry in state.values()
        )
        if not valid:
            raise SourceError(path, None, None, 'expected {"ENV": {"branch": NAME, "database": NAME}}')
        return {env: {"branch": entry["branch"], "database": entry["database"]} for env, entry in state.items()}

    def _on_branch(self, environment: Environment) -> Environment:
        # Every command reaches its database through here, so a switched branch applies to all.
        entry = self.branch_state().get(environment.name)
        return replace(environment, branch_database=entry["database"]) if entry else environment


def url_with_database(url: str, database: str) -> str:
    """`url` pointing at another database of the same server."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("dbname="))
        return urlunsplit(parts._replace(path="/" + quote(database, safe=""), query=query))
    from psycopg.conninfo import make_conninfo  # a key=value connection string

    return make_conninfo(url, dbname=database)


def find_project_root(start: Path) -> Path | None:
    for directory in (start, *start.parents):
        if (directory / CONFIG_FILE).is_file():
            return directory
    return None


def load_project(start: Path | None = None) -> Project:
    """The project around `start` (default: the working directory). Without an
    nself.toml the project is the working directory with only the `local` environment."""
    start = (start or Path.cwd()).resolve()
    root = find_project_root(start)
    if root is None:
        return Project(root=start, config={}, environments={"local": Environment("local")})
    path = root / CONFIG_FILE
    text = read_user_text(path)
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, exc) from exc
    except RecursionError:  # tomllib recurses once per nested array or inline table
        line, col = deepest_nesting(text)
        raise SourceError(path, line, col, "arrays or inline tables nested too deeply") from None
    _check_top_level(path, text, config)
    return Project(root=root, config=config, environments=_environments(path, text, config))


# Top-level keys naming where the project keeps its files (relative to nself.toml).
PATH_KEYS = ("migrations", "seeds", "tests")


def _check_top_level(path: Path, text: str, config: dict[str, Any]) -> None:
    for key in PATH_KEYS:
        value = config.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise SourceError(path, line_containing(text, key), 1, f"{key} must be a path (a string)")
    platform = config.get("platform")
    if platform is not None and platform not in PLATFORMS:
        raise SourceError(
            path,
            line_containing(text, "platform"),
            1,
            f"platform must be one of: {', '.join(repr(p) for p in PLATFORMS)}",
        )


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> SourceError:
    # tomllib reports "message (at line L, column C)"; 3.14 adds lineno/colno attributes.
    text = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)", text)
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", text) or "invalid TOML"
    if match:
        return SourceError(path, int(match.group(1)), int(match.group(2)), message)
    return SourceError(path, None, None, message)


def _environments(path: Path, text: str, config: dict[str, Any]) -> dict[str, Environment]:
    raw = config.get("environments", {})
    if not isinstance(raw, dict):
        raise SourceError(path, line_containing(text, "environments"), 1, "[environments] must be a table")
    environments: dict[str, Environment] = {}
    for name, settings in raw.items():
        line = line_containing(text, f"environments.{name}")
        if not isinstance(settings, dict):
            raise SourceError(path, line, 1, f"environments.{name} must be a table")
        url = settings.get("url")
        if url is not None and not isinstance(url, str):
            raise SourceError(path, line_containing(text, "url") or line, 1, f"environments.{name}.url must be a string")
        if isinstance(url, str) and not (url.startswith("env:") or is_url(url)):
            raise SourceError(
                path,
                line_containing(text, url) or line,
                1,
                f'environments.{name}.url must be "env:VARIABLE" or a postgresql:// URL',
            )
        if isinstance(url, str) and not url.startswith("env:") and secrets_in(url):
            raise SourceError(
                path,
                line_containing(text, url) or line,
                1,
                f'environments.{name}.url holds a password in clear; use url = "env:VARIABLE"',
            )
        production = settings.get("production", False)
        if not isinstance(production, bool):
            raise SourceError(path, line_containing(text, "production") or line, 1, f"environments.{name}.production must be true or false")
        port = settings.get("port", DEFAULT_LOCAL_PORT)
        if not isinstance(port, int) or not 0 < port < 65536:
            raise SourceError(path, line_containing(text, "port") or line, 1, f"environments.{name}.port must be a port number")
        environments[name] = Environment(name, url, production, port, settings)
    environments.setdefault("local", Environment("local"))
    return environments
