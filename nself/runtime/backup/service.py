"""The backup commands on a project: which server, which repository, which key. The CLI
calls these; they call the modules that do the work."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from nself.runtime.backup.archiving import archives_into, ensure_archiving, wal_archive
from nself.runtime.backup.create import Progress, Source, create_physical
from nself.runtime.backup.manifest import BackupError, Manifest
from nself.runtime.backup.repository import BackupConfig, backup_config
from nself.runtime.backup.restore import RestoreResult
from nself.runtime.local import database_url, local_cluster
from nself.runtime.project import Environment, Project, guard_destructive


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


def create_logical_backup(
    project: Project,
    environment: Environment,
    *,
    encrypt: bool = False,
    jobs: int = 2,
    progress: Progress | None = None,
) -> tuple[Manifest, Path, list[str]]:
    from nself.runtime.backup.logical import create_logical

    config = backup_config(project)
    key = backup_key(config, encrypt)
    url = database_url(project, environment)
    manifest = create_logical(config.repository, url, environment.name, jobs=jobs, key=key, progress=progress)
    return manifest, config.repository / manifest.id, []


@dataclass
class VerifyResult:
    id: str
    kind: str
    files_checked: int
    wal_checked: int
    bytes_checked: int
    problems: list[str]
    drill: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_command(project: Project, backup_id: str, *, drill: bool = False) -> VerifyResult:
    from nself.runtime.backup.drill import drill as run_drill
    from nself.runtime.backup.manifest import find_backup
    from nself.runtime.backup.verify import verify_backup

    config = backup_config(project)
    manifest = find_backup(config.repository, backup_id)
    key = config.key() if manifest.encrypted else None
    report = verify_backup(config.repository, manifest, key=key)
    result = VerifyResult(report.id, report.kind, report.files_checked, report.wal_checked, report.bytes_checked, report.problems)
    if drill and report.ok:
        done = run_drill(config.repository, manifest, key)
        result.drill = {"databases": done.databases, "tables": done.tables, "btree_indexes": done.indexes}
        result.problems += done.problems
    return result


def restore_backup(
    project: Project,
    environment: Environment,
    backup: str,
    point_in_time: str | None,
    *,
    progress: Progress | None = None,
) -> RestoreResult:
    """`nself restore`: physical backups replace the managed cluster's data directory;
    logical ones replace the environment's database."""
    import time

    from nself.runtime.backup.logical import restore_logical
    from nself.runtime.backup.manifest import find_backup
    from nself.runtime.backup.restore import _check_key, restore_managed
    from nself.runtime.backup.verify import verify_backup

    guard_destructive(environment, "restore a backup")
    config = backup_config(project)
    fetch_remote(project, config.repository, backup)
    chosen = find_backup(config.repository, backup) if point_in_time is None else None
    if chosen is not None and not chosen.physical:
        began = time.monotonic()
        key = config.key() if chosen.encrypted else None
        _check_key(chosen, key)
        report = verify_backup(config.repository, chosen, key=key)
        if not report.ok:
            raise BackupError(f"backup {chosen.id} is damaged, nothing was changed: {'; '.join(report.problems[:5])}")
        url = database_url(project, environment)
        database = restore_logical(url, config.repository, chosen, key)
        return RestoreResult(
            id=chosen.id, kind=chosen.kind, environment=environment.name,
            target=f"database {database} as dumped by {chosen.id}", time_zone=None, reached_at=None,
            data_dir="", seconds=round(time.monotonic() - began, 3),
        )
    return restore_managed(
        project, environment, config, backup=backup, point_in_time=point_in_time, progress=progress
    )


def fetch_remote(project: Project, repo: Path, backup: str, *, wal_from: str | None = None) -> None:
    """Before a restore reads `backup` (or `latest`): download it from the project's
    object storage when it is not complete locally (nothing without a storage setting)."""
    from nself.runtime.backup.transfer import fetch_for_restore

    fetch_for_restore(project, repo, backup, wal_from=wal_from)


def restore_to_environment(
    project: Project,
    target: Environment,
    backup: str,
    *,
    jobs: int = 2,
) -> RestoreResult:
    """`nself restore ID --to ENV`: the backup's data loaded into another environment's
    database. A logical backup is loaded directly; a physical one is first recovered in a
    scratch cluster, dumped there (in a snapshot, with every table's checksum) and loaded.
    Either way the new database is checked table by table before it replaces the old one."""
    import shutil
    import tempfile
    import time

    from nself.runtime.backup.drill import recover_copy
    from nself.runtime.backup.logical import dump_database, load_swapping, restore_logical
    from nself.runtime.backup.manifest import find_backup
    from nself.runtime.backup.restore import _check_key
    from nself.runtime.backup.verify import verify_backup
    from nself.runtime.cluster import LocalCluster, free_port
    from nself.runtime.project import url_with_database

    guard_destructive(target, "restore a backup")
    began = time.monotonic()
    config = backup_config(project)
    fetch_remote(project, config.repository, backup)
    manifest = find_backup(config.repository, backup)
    key = config.key() if manifest.encrypted else None
    _check_key(manifest, key)
    report = verify_backup(config.repository, manifest, key=key, read_files=False, read_wal=False)
    if not report.ok:
        raise BackupError(f"backup {manifest.id} is damaged, nothing was changed: {'; '.join(report.problems[:5])}")
    url = database_url(project, target)
    if not manifest.physical:
        database = restore_logical(url, config.repository, manifest, key, jobs=jobs)
    else:
        root = Path(tempfile.mkdtemp(prefix=f"nself-restore-to-{manifest.id}-"))
        root.chmod(0o755)
        scratch = LocalCluster(root=root / "cluster", port=free_port())
        try:
            problems = recover_copy(config.repository, manifest, key, scratch)
            if problems:
                raise BackupError(f"backup {manifest.id} is damaged, nothing was changed: {'; '.join(problems[:5])}")
            source_db = manifest.database or "postgres"
            with tempfile.TemporaryDirectory(prefix="nself-restore-to-dump-") as tmp:
                checksums = dump_database(url_with_database(scratch.url(), source_db), Path(tmp) / "dump", jobs=jobs)
                database = load_swapping(url, Path(tmp) / "dump", checksums, f"backup {manifest.id}", jobs=jobs)
        finally:
            with contextlib.suppress(Exception):
                scratch.stop(immediate=True)
            shutil.rmtree(root, ignore_errors=True)
    return RestoreResult(
        id=manifest.id, kind=manifest.kind, environment=target.name,
        target=f"database {database} of {target.name} from {manifest.id}", time_zone=None, reached_at=None,
        data_dir="", seconds=round(time.monotonic() - began, 3),
    )
