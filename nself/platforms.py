"""Platforms: what a hosted PostgreSQL creates before a project's first migration runs.

A Supabase project's migrations reference `auth.users`, `auth.uid()`, the `anon` and
`authenticated` roles, the `extensions` schema on the search_path, `storage.objects` and the
`supabase_realtime` publication: the platform made them, the project's files never do.
nself carries its own definition of each platform it knows (SQL files shipped in
nself/data/platforms/NAME/): the sql frontend interprets them before the project's files,
the managed cluster gets them when its database is made, and the platform's own objects
are left out of what nself shows (types, docs, diagrams, lint, diffs) unless asked.

This module only describes platforms (files, roles, search_path) and recognises a
platform's project folders; applying them is the frontends' and the runtime's work."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from nself.errors import OptionError


@dataclass(frozen=True, slots=True)
class PlatformFile:
    name: str  # shown in messages: "<supabase>/02_auth.sql"
    text: str


@dataclass(frozen=True, slots=True)
class StandIn:
    """An extension the platform ships that this server lacks (no package of it here): the
    base defines, without the extension, the objects projects use from it (`provides`),
    written from its own SQL; a project's CREATE EXTENSION of it, and its functions in the
    procedural `languages` it brings, are compiled with a warning and not created."""

    extension: str
    provides: str
    languages: tuple[str, ...] = ()

    def extension_skipped(self, platform: str) -> str:
        """What the sql frontend and the managed cluster say of a CREATE EXTENSION of it."""
        return (
            f"extension {self.extension} is not available on this server: not created "
            f"(the {platform} base provides {self.provides})"
        )

    @staticmethod
    def function_skipped(function: str, language: str) -> str:
        return f"function {function} is in language {language}, which this server lacks: not created"


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    # The database's objects, applied in order to a new database (and interpreted by the sql
    # frontend before a project's migrations).
    files: tuple[PlatformFile, ...]
    # Cluster-wide statements (roles): each creates only what is missing, so it runs
    # against every database the platform is applied to. Not part of any schema.
    cluster_sql: str
    # The database's search_path (ALTER DATABASE ... SET search_path): what every session,
    # and so every migration, starts with.
    search_path: tuple[str, ...]
    # Schemas that are the platform's alone: objects a live database holds there beyond
    # nself's definition (a real project has more auth tables) are the platform's too.
    schemas: tuple[str, ...]
    # The project folder of this platform's tooling, and where its parts live inside it.
    folder: str
    migrations: str
    seeds: str
    tests: str
    stand_ins: tuple[StandIn, ...] = ()

    def stand_in(self, extension: str) -> StandIn | None:
        return next((s for s in self.stand_ins if s.extension == extension), None)

    def stand_in_language(self, language: str) -> StandIn | None:
        return next((s for s in self.stand_ins if language in s.languages), None)


# The package is always installed as files (a wheel unpacked, or the source tree): its data
# is a path beside this module. importlib.resources would cost its import (tempfile, shutil,
# zipfile: 8 ms of every command's start-up that loads a project) for the same files.
DATA = Path(__file__).resolve().parent / "data"


def _read(platform: str) -> tuple[tuple[PlatformFile, ...], str]:
    folder = DATA / "platforms" / platform
    names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".sql"))
    files = tuple(
        PlatformFile(f"<{platform}>/{name}", (folder / name).read_text(encoding="utf-8"))
        for name in names
        if name != "roles.sql"
    )
    return files, (folder / "roles.sql").read_text(encoding="utf-8")


# Each platform's own schemas (Platform.schemas), known without reading its base files: a
# database holding no table in them is not the platform's (nself.runtime.sources).
PLATFORM_SCHEMAS: dict[str, tuple[str, ...]] = {
    "supabase": (
        "auth",
        "storage",
        "extensions",
        "realtime",
        "_realtime",
        "graphql",
        "graphql_public",
        "vault",
        "pgsodium",
        "pgsodium_masks",
        "supabase_functions",
        "supabase_migrations",
        "net",
        "pgbouncer",
        "_analytics",
        "cron",
    ),
}


@cache
def platform_named(name: str) -> Platform:
    """The platform called `name`; OptionError naming the known ones otherwise."""
    if name != "supabase":
        raise OptionError(f"unknown platform {name!r} (known: {', '.join(PLATFORMS)})")
    files, roles = _read("supabase")
    return Platform(
        name="supabase",
        files=files,
        cluster_sql=roles,
        search_path=("$user", "public", "extensions"),
        schemas=PLATFORM_SCHEMAS["supabase"],
        folder="supabase",
        migrations="supabase/migrations",
        seeds="supabase/seed.sql",
        tests="supabase/tests",
        stand_ins=(
            StandIn(
                "pg_graphql",
                "the graphql and graphql_public schemas, graphql_public.graphql() answering that pg_graphql is not enabled",
            ),
            StandIn(
                "pg_net",
                "net.http_get(), net.http_post(), net.http_delete() queueing into net.http_request_queue (no worker sends them)",
            ),
            StandIn("pgjwt", "extensions.sign(), extensions.verify() and their helpers"),
            StandIn("plv8", "nothing: functions in plv8 cannot be created", ("plv8",)),
        ),
    )


PLATFORMS = ("supabase",)


def detect_platform(path: Path) -> Platform | None:
    """The platform whose project layout holds `path` (a migrations folder or one of its
    files): `.../supabase/migrations` is a Supabase project's."""
    path = path.resolve()
    folder = path if path.is_dir() or path.suffix != ".sql" else path.parent
    for name in PLATFORMS:
        platform = platform_named(name)
        top, sub = platform.migrations.split("/", 1)
        if folder.name == sub and folder.parent.name == top:
            return platform
    return None


def project_platform(root: Path) -> Platform | None:
    """The platform whose tooling folder sits in `root` (`supabase/` with its
    `migrations/` or `config.toml`), for `nself init` to adopt."""
    for name in PLATFORMS:
        platform = platform_named(name)
        folder = root / platform.folder
        if (root / platform.migrations).is_dir() or (folder / "config.toml").is_file():
            return platform
    return None
