"""Is this target production? Decided by the server and database it reaches, not by the
name it was reached through (docs/production-safety.md).

An environment marked `production = true` is production by name. Any other environment,
or a raw URL, is production when it reaches the same server and database as one: the same
host, port and database (normalised, before connecting), or, once connected, the same
database on the same running server. A running server is known by the time its postmaster
started (`pg_postmaster_start_time()`, readable by every role, exact to the microsecond)
and, where the role may read it, its system identifier (`pg_control_system()`). The start
time tells apart a staging server cloned from production's base backup, which shares its
system identifier; the identifier guards against two servers started in the same
microsecond.

Connections are made only when a destructive command runs, and each target is read once
per process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nself.connection import connect, parse_target
from nself.errors import NselfError, OptionError, ProductionGuardError

if TYPE_CHECKING:
    from nself.runtime.project import Environment, Project

LOOPBACK = {"localhost", "127.0.0.1", "::1", ""}
# A production server we cannot reach within this many seconds is not the one the
# destructive command is about to write to.
IDENTITY_TIMEOUT = 5


@dataclass(frozen=True)
class ServerIdentity:
    database: str
    started: str
    system_identifier: str | None

    def same_as(self, other: ServerIdentity) -> bool:
        if self.database != other.database or self.started != other.started:
            return False
        known = self.system_identifier is not None and other.system_identifier is not None
        return not known or self.system_identifier == other.system_identifier


_IDENTITIES: dict[str, ServerIdentity | None] = {}


def server_identity(url: str) -> ServerIdentity | None:
    """The identity of the database `url` reaches; None when it cannot be reached. Cached
    for the life of the process."""
    if url in _IDENTITIES:
        return _IDENTITIES[url]
    import psycopg

    identity: ServerIdentity | None = None
    try:
        with connect(url, autocommit=True, connect_timeout=IDENTITY_TIMEOUT) as conn:
            row = conn.execute("SELECT current_database(), pg_postmaster_start_time()::text").fetchone()
            system_identifier = None
            try:
                found = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
                system_identifier = str(found[0]) if found else None
            except psycopg.Error:  # not granted to this role: the start time still identifies the server
                system_identifier = None
            if row:
                identity = ServerIdentity(str(row[0]), str(row[1]), system_identifier)
    except (NselfError, psycopg.Error):  # unreachable, or it would not say: not comparable
        identity = None
    _IDENTITIES[url] = identity
    return identity


def _address(url: str) -> tuple[str, str, str] | None:
    """(host, port, database) as libpq would use them, with loopback names made one."""
    params = parse_target(url)
    if params is None:
        return None
    host = params.get("host") or params.get("hostaddr") or ""
    host = "localhost" if host.lower() in LOOPBACK else host.lower()
    port = params.get("port") or "5432"
    database = params.get("dbname") or params.get("user") or ""
    return host, port, database


def production_twin(project: Project, url: str, *, exclude: str | None = None) -> str | None:
    """The name of the production environment whose server and database `url` reaches, or
    None. `exclude`: an environment not to compare with (the one `url` came from)."""
    candidates: list[tuple[str, str]] = []
    for name, environment in sorted(project.environments.items()):
        if not environment.production or name == exclude:
            continue
        try:
            candidates.append((name, project.environment(name).url()))
        except OptionError:  # its variable is not set here: nothing here can reach it through it
            continue
    if not candidates:
        return None
    address = _address(url)
    for name, production_url in candidates:
        if address is not None and address == _address(production_url):
            return name
    target = server_identity(url)
    if target is None:
        return None  # unreachable: the command itself will say so, and cannot write there
    for name, production_url in candidates:
        identity = server_identity(production_url)
        if identity is not None and identity.same_as(target):
            return name
    return None


def refuse_production(
    project: Project,
    environment: Environment,
    action: str,
    *,
    force_production: bool = False,
    allows_force: bool = False,
    url: str | None = None,
) -> None:
    """The production guard: raise ProductionGuardError when `environment` (or `url`, a
    target given directly) is production by name or by server, unless forced."""
    if force_production:
        return
    hint = " (--force-production allows it)" if allows_force else ""
    if url is None and environment.production:
        raise ProductionGuardError(
            f"refusing to {action} on {environment.name!r}: it is marked production = true in nself.toml{hint}"
        )
    target = url if url is not None else environment.url()
    twin = production_twin(project, target, exclude=None if url is not None else environment.name)
    if twin is not None:
        where = "that target" if url is not None else repr(environment.name)
        raise ProductionGuardError(
            f"refusing to {action} on {where}: it reaches the same server and database as "
            f"{twin!r}, which is marked production = true in nself.toml{hint}"
        )
