"""`nself init`: the project files of docs/design.md ("Project files")."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from pathlib import Path

from nself.errors import OptionError
from nself.platforms import Platform, project_platform
from nself.runtime.project import CONFIG_FILE, DEFAULT_LOCAL_PORT, PROJECT_PORTS, STATE_DIR

CONFIG_TEMPLATE = f"""\
# nself project configuration. Environments: `local` is the cluster nself runs under
# {STATE_DIR}/; others are URLs read from environment variables, never written here.

[environments.local]
port = {{port}}                  # free when `nself init` ran; each project has its own

# [environments.staging]
# url = "env:STAGING_DATABASE_URL"

# [environments.prod]
# url = "env:PROD_DATABASE_URL"
# production = true            # destructive commands refuse this environment
"""

LAYOUT = (
    "nself/migrations",
    "nself/seeds",
    "nself/seeds/local",
    "nself/mock",
    "nself/tests",
)


def platform_header(platform: Platform) -> str:
    """The top of nself.toml for a project of `platform`, adopted where its files are."""
    return f"""\
# A {platform.name} project, used as it is: its migrations, seed and tests stay where its
# tooling keeps them, and nself applies the platform's base (roles, schemas, auth.users,
# ...) before them. Its own objects stay out of types, docs and diffs (--include-platform).
platform = "{platform.name}"
migrations = "{platform.migrations}"
seeds = "{platform.seeds}"
tests = "{platform.tests}"

"""


# Where other migration tools keep their files by default, and how to tell their layout.
_OTHER_TOOLS = (
    ("prisma/migrations", "Prisma", "*/migration.sql"),
    ("db/migrations", "dbmate", "*.sql"),
    ("migrations", "Atlas", "atlas.sum"),
    ("migrations", "diesel", "*/up.sql"),
    ("migrations", "golang-migrate", "*.up.sql"),
)


def other_tools_migrations(root: Path) -> tuple[str, str] | None:
    """(folder, tool) of migrations another tool keeps in its default place under `root`,
    or beside the one schema.prisma of a monorepo (packages/prisma/migrations)."""
    for folder, tool, pattern in _OTHER_TOOLS:
        path = root / folder
        if path.is_dir() and any(path.glob(pattern)):
            return folder, tool
    nested = [
        schema.parent / "migrations"
        for schema in _files_named(root, "schema.prisma", depth=4)
        if any((schema.parent / "migrations").glob("*/migration.sql"))
    ]
    if len(nested) == 1:
        return nested[0].relative_to(root).as_posix(), "Prisma"
    return None


def _files_named(root: Path, name: str, depth: int) -> list[Path]:
    """Files called `name` in `root` and its folders down to `depth` levels, leaving out
    hidden folders and node_modules (a monorepo's packages, not its dependencies)."""
    found: list[Path] = []
    level = [root]
    for _ in range(depth + 1):
        found += [d / name for d in level if (d / name).is_file()]
        level = [
            child
            for d in level
            for child in sorted(d.iterdir())
            if child.is_dir() and not child.name.startswith(".") and child.name != "node_modules"
        ]
    return found


def other_tool_header(folder: str, tool: str) -> str:
    return f"""\
# The migrations {tool} wrote, used where they are. On a database {tool} migrated,
# `nself db migrate:adopt` records them in nself's history without running them again.
migrations = "{folder}"

"""


def init_project(root: Path, *, force: bool = False) -> list[Path]:
    """Write nself.toml and the nself/ folders; return what was created. In a folder that
    holds a platform's project (`supabase/`), nself.toml points at its files instead and
    no nself/ folders are made; where another tool keeps migrations (prisma/migrations,
    db/migrations, migrations/), nself.toml points at them and no nself/migrations is made."""
    created: list[Path] = []
    config = root / CONFIG_FILE
    if config.exists() and not force:
        raise OptionError(f"{config} already exists (use --force to overwrite it)")
    root.mkdir(parents=True, exist_ok=True)
    platform = project_platform(root)
    other = other_tools_migrations(root) if platform is None else None
    header = platform_header(platform) if platform is not None else other_tool_header(*other) if other else ""
    config.write_text(header + CONFIG_TEMPLATE.replace("{port}", str(choose_local_port(root))), encoding="utf-8")
    created.append(config)
    layout = () if platform is not None else [f for f in LAYOUT if not (other and f == "nself/migrations")]
    for folder in layout:
        path = root / folder
        if not path.exists():
            path.mkdir(parents=True)
            (path / ".gitkeep").touch()
            created.append(path)
    gitignore = root / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if f"{STATE_DIR}/" not in lines:
        with gitignore.open("a", encoding="utf-8") as handle:
            handle.write(f"{STATE_DIR}/\n")
        created.append(gitignore)
    return created


# A project's port comes from PROJECT_PORTS, at a place its path picks (a stopped cluster
# holds no port, so a free port alone would not tell two projects apart).
PORT_RANGE = len(PROJECT_PORTS)


def choose_local_port(root: Path, is_free: Callable[[int], bool] | None = None) -> int:
    """A port for the project's local cluster: from a place in DEFAULT_LOCAL_PORT.. that
    the project's path picks, the first one nothing listens on."""
    is_free = is_free or port_is_free
    start = int(hashlib.sha256(str(root).encode()).hexdigest(), 16) % PORT_RANGE
    for step in range(PORT_RANGE):
        port = DEFAULT_LOCAL_PORT + (start + step) % PORT_RANGE
        if is_free(port):
            return port
    raise OptionError(f"no free port in {DEFAULT_LOCAL_PORT}..{DEFAULT_LOCAL_PORT + PORT_RANGE - 1} for the local cluster")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
