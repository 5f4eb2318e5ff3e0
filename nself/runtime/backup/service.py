"""The backup commands on a project: which server, which repository, which key. The CLI
calls these; they call the modules that do the work."""

from __future__ import annotations

from pathlib import Path

from nself.runtime.backup.archiving import archives_into, ensure_archiving, wal_archive
from nself.runtime.backup.create import Progress, Source, create_physical
from nself.runtime.backup.manifest import Manifest
from nself.runtime.backup.repository import BackupConfig, backup_config
from nself.runtime.local import database_url, local_cluster
from nself.runtime.project import Environment, Project


def backup_key(config: BackupConfig, encrypt: bool) -> bytes | None:
    return config.key() if encrypt or config.encrypt else None


def source_of(project: Project, environment: Environment, config: BackupConfig) -> tuple[Source, list[str]]:
    """The server to back up; for the managed cluster, archiving into the repository is
    turned on first (with a restart when it was running without it)."""
    notes: list[str] = []
    url = database_url(project, environment)
    if not environment.managed:
        return Source(url, environment.name, None), notes
    cluster = local_cluster(project, environment)
    if not archives_into(cluster, config):
        ensure_archiving(cluster, config)
        cluster.restart()
        notes.append("WAL archiving turned on for the managed cluster: it was restarted once")
    return Source(url, environment.name, wal_archive(config)), notes


def create_backup(
    project: Project,
    environment: Environment,
    *,
    incremental: bool = False,
    encrypt: bool = False,
    progress: Progress | None = None,
) -> tuple[Manifest, Path, list[str]]:
    config = backup_config(project)
    key = backup_key(config, encrypt)
    source, notes = source_of(project, environment, config)
    manifest = create_physical(config.repository, source, incremental=incremental, key=key, progress=progress)
    return manifest, config.repository / manifest.id, notes
