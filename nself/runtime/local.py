"""The `local` environment: a cluster nself manages under the project's .nself/ folder."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from nself.connection import connect
from nself.errors import NselfError, OptionError
from nself.platforms import Platform
from nself.runtime.project import CONFIG_FILE, Environment, Project

if TYPE_CHECKING:  # the cluster's module (and the host's) only where a cluster is managed
    from nself.runtime.cluster import LocalCluster


@dataclass(frozen=True)
class ClusterStatus:
    environment: str
    running: bool
    initialised: bool
    port: int
    data_dir: str
    url: str
    server_version: str | None = None
    # The folder the cluster archives its WAL into (for backups and point-in-time recovery).
    wal_archive: str | None = None
    # What start did beyond starting, e.g. "WAL archiving turned on (restarted)".
    notes: tuple[str, ...] = ()


# The file of the data directory that names the project and environment owning the cluster
# (custom settings, readable by any role with current_setting): checked on every connect,
# so that a command never reads another project's cluster listening on the same port.
IDENTITY_FILE = "nself-identity.conf"
PROJECT_SETTING = "nself.project"
ENVIRONMENT_SETTING = "nself.environment"


class ForeignClusterError(OptionError):
    """The port of the managed cluster is held by a server that is not this project's."""


def local_cluster(project: Project, environment: Environment) -> LocalCluster:
    if not project.config_path.is_file():
        # Outside a project, a cluster would be created wherever the command was typed.
        raise OptionError(f"no {CONFIG_FILE} in {project.root} or above (run `nself init`)")
    if not environment.managed:
        raise OptionError(
            f"--env: {environment.name!r} is a remote environment ({environment.display_url()}); "
            "only environments without a url are managed by nself"
        )
    from nself.runtime.cluster import LocalCluster

    return LocalCluster(root=cluster_root(project, environment), port=environment.port)


# Where clusters go when the project folder is out of the server user's reach (running as
# root in a 0700 home): one folder per project, named by a hash of its path.
FALLBACK_CLUSTERS = Path("/var/lib/nself/clusters")


def cluster_root(project: Project, environment: Environment) -> Path:
    from nself.runtime.cluster import server_user_can_reach

    preferred = project.state_dir / "pg" / environment.name
    if server_user_can_reach(preferred):
        return preferred
    import hashlib  # here: _hashlib (OpenSSL) is 3 ms of every start-up that loads a project

    digest = hashlib.sha256(str(project.root).encode()).hexdigest()[:16]
    return FALLBACK_CLUSTERS / digest / environment.name


def start_local(project: Project, environment: Environment) -> ClusterStatus:
    """Start the managed cluster, archiving its WAL into the project's backup repository
    (a running cluster that did not archive yet is restarted once to turn it on)."""
    cluster = local_cluster(project, environment)
    notes: tuple[str, ...] = ()
    from nself.runtime.backup.restore import recover_interrupted_swap

    if recover_interrupted_swap(cluster):
        notes += ("an interrupted restore left the data directory aside: it was put back",)
    cluster.init()
    _record_identity(project, environment, cluster)
    archiving = _turn_on_archiving(project, cluster)
    statements = cluster.preload("pg_stat_statements")
    if (archiving or statements) and cluster.running:
        cluster.restart()
        turned_on = " and ".join(
            what for what, changed in (("WAL archiving", archiving), ("pg_stat_statements", statements)) if changed
        )
        notes += (f"{turned_on} turned on: the cluster was restarted once",)
    cluster.start()
    check_owner(project, environment, cluster)
    platform = managed_platform(project, environment)
    if platform is not None:
        from nself.runtime.platform import ensure_platform

        if ensure_platform(environment.url(), platform):
            notes += (f"the database got the {platform.name} platform's base (roles, schemas, auth, storage)",)
    _create_statements_extension(cluster)
    return replace(status_local(project, environment), notes=notes)


def managed_platform(project: Project, environment: Environment) -> Platform | None:
    """The platform whose base nself gives the environment's databases: the project's, on
    the cluster nself manages only (a real platform's database has its own base)."""
    return project.platform if environment.managed else None


def _identity(project: Project, environment: Environment) -> dict[str, str]:
    return {PROJECT_SETTING: str(project.root), ENVIRONMENT_SETTING: environment.name}


def _record_identity(project: Project, environment: Environment, cluster: LocalCluster) -> None:
    """Write the owner into the data directory (read at the next start; a running cluster
    of an older nself is told to reload)."""
    wanted = _identity(project, environment)
    if cluster.settings(file=IDENTITY_FILE) == wanted:
        return
    cluster.configure(wanted, file=IDENTITY_FILE)
    if cluster.running:
        cluster.reload()


def check_owner(project: Project, environment: Environment, cluster: LocalCluster) -> None:
    """Refuse a server on the cluster's port that is not this project's cluster (another
    project's, left listening on the same port, or not nself's at all)."""
    wanted = _identity(project, environment)
    try:
        with connect(cluster.url(), connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT current_setting(%s, true), current_setting(%s, true), "
                "CASE WHEN pg_has_role('pg_read_all_settings', 'member') THEN current_setting('data_directory') END",
                (PROJECT_SETTING, ENVIRONMENT_SETTING),
            ).fetchone()
    except NselfError as exc:
        raise ForeignClusterError(
            f"port {cluster.port} of environment {environment.name!r}: cannot tell whether the server there is "
            f"this project's cluster: {exc}"
        ) from None
    assert row is not None  # one row, always
    found = {PROJECT_SETTING: row[0], ENVIRONMENT_SETTING: row[1]}
    if found == wanted:
        return
    if row[2] and Path(row[2]).resolve() == cluster.data_dir.resolve():
        # Our own data directory, its identity rewritten (a project folder moved, or a cluster
        # of an older nself) and not read yet: a reload is not instantaneous.
        return
    if found.get(PROJECT_SETTING):
        owner = f"the {found[ENVIRONMENT_SETTING]!r} cluster of the project in {found[PROJECT_SETTING]}"
    else:
        owner = "a server that is not this project's cluster"
    raise ForeignClusterError(
        f"port {cluster.port} of environment {environment.name!r} is held by {owner}; "
        f"stop it, or give {environment.name!r} another port in {project.config_path}"
    )


def _create_statements_extension(cluster: LocalCluster) -> None:
    """pg_stat_statements in a database of its own, not in the project's (whose schema
    stays what its migrations say): `db inspect` reads every database's statements from
    there (nself.runtime.inspect.STATEMENTS_DATABASE)."""
    from nself.ir.names import quote_ident
    from nself.runtime.inspect import STATEMENTS_DATABASE

    with connect(cluster.url(), autocommit=True, connect_timeout=5) as conn:
        preloaded = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
        if not preloaded or "pg_stat_statements" not in str(preloaded[0]):
            return
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (STATEMENTS_DATABASE,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {quote_ident(STATEMENTS_DATABASE)}".encode())
    with connect(cluster.url(STATEMENTS_DATABASE), autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")


def _turn_on_archiving(project: Project, cluster: LocalCluster) -> bool:
    from nself.runtime.backup.archiving import ensure_archiving
    from nself.runtime.backup.repository import backup_config

    return ensure_archiving(cluster, backup_config(project))


def stop_local(project: Project, environment: Environment) -> ClusterStatus:
    local_cluster(project, environment).stop()
    return status_local(project, environment)


def status_local(project: Project, environment: Environment) -> ClusterStatus:
    cluster = local_cluster(project, environment)
    running = cluster.running
    version = None
    archive = cluster.settings().get("archive_command") if cluster.initialised else None
    if running:
        check_owner(project, environment, cluster)
        with connect(cluster.url(), connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            version = str(row[0]) if row else None
    return ClusterStatus(
        environment=environment.name,
        running=running,
        initialised=cluster.initialised,
        port=cluster.port,
        data_dir=str(cluster.data_dir),
        url=cluster.url(),
        server_version=version,
        wal_archive=_archive_folder(archive),
    )


def _archive_folder(command: str | None) -> str | None:
    if not command:
        return None
    import shlex

    words = shlex.split(command.replace("%p", "PATH"))
    return words[words.index("push") + 2] if "push" in words else None


def database_url(project: Project, environment: Environment) -> str:
    """The URL to connect to `environment`, starting the managed local cluster first when
    it is not running (as `nself db start` would)."""
    if environment.managed:
        cluster = local_cluster(project, environment)
        if not cluster.running:
            start_local(project, environment)
        else:
            _record_identity(project, environment, cluster)
            check_owner(project, environment, cluster)
            if (platform := managed_platform(project, environment)) is not None:
                from nself.runtime.platform import ensure_platform

                ensure_platform(environment.url(), platform)
    return environment.url()


def environment_url(project: Project, name: str | None = None) -> str:
    """`database_url` of the environment called `name` (default: the default one)."""
    return database_url(project, project.environment(name))
