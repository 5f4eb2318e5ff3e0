"""The backup commands on a project: which server, which repository, which key. The CLI
calls these; they call the modules that do the work."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nself.errors import NselfError, OptionError
from nself.runtime.backup.archiving import archives_into, ensure_archiving, wal_archive
from nself.runtime.backup.create import Progress, Source, create_physical
from nself.runtime.backup.manifest import BackupError, Manifest, format_time
from nself.runtime.backup.repository import BackupConfig, backup_config
from nself.runtime.backup.restore import RestoreResult
from nself.runtime.backup.timespec import TargetTime
from nself.runtime.local import database_url, local_cluster
from nself.runtime.production import refuse_production
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
    return Source(url, environment.name, wal_archive(config), cluster.data_dir), notes


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
    tablespaces: list[dict[str, Any]] = field(default_factory=list)

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
    result = VerifyResult(
        report.id, report.kind, report.files_checked, report.wal_checked, report.bytes_checked, report.problems,
        tablespaces=report.tablespaces,
    )
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
    tablespace_map: list[str] | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    """`nself restore`: physical backups replace the managed cluster's data directory
    (tablespaces at their locations, or at those of `tablespace_map`, `OLD=NEW` strings);
    logical ones replace the environment's database."""
    import time

    from nself.runtime.backup.logical import restore_logical
    from nself.runtime.backup.manifest import find_backup
    from nself.runtime.backup.restore import _check_key, restore_managed
    from nself.runtime.backup.tablespaces import MAP_OPTION, parse_mapping
    from nself.runtime.backup.verify import verify_backup

    refuse_production(project, environment, "restore a backup")
    mapping = parse_mapping(tablespace_map)
    config = backup_config(project)
    fetch_remote(project, config.repository, backup)
    chosen = find_backup(config.repository, backup) if point_in_time is None else None
    if chosen is not None and not chosen.physical:
        if mapping:
            raise OptionError(f"{MAP_OPTION}: backup {chosen.id} is logical (it has no tablespace folders to place)")
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
        project, environment, config, backup=backup, point_in_time=point_in_time, tablespace_map=mapping,
        progress=progress,
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
    point_in_time: str | None = None,
    anonymize: bool = False,
    anonymize_config: Path | None = None,
    jobs: int = 2,
) -> RestoreResult:
    """`nself restore ID --to ENV`: the backup's data loaded into another environment's
    database. A logical backup is loaded directly; a physical one is first recovered in a
    scratch cluster (to its end point, or to `point_in_time` by replaying its server's WAL),
    dumped there (in a snapshot, with every table's checksum) and loaded. Either way the
    new database is checked table by table before it replaces the old one.

    With `anonymize`, the data goes from the scratch cluster through the anonymiser's sync
    path (nself/anonymize.yaml) into a new database that has the backup's schema; it
    replaces ENV's database once every table holds as many rows as in the backup."""
    import time

    from nself.runtime.backup.logical import load_swapping, restore_logical
    from nself.runtime.backup.manifest import find_backup
    from nself.runtime.backup.restore import _check_key
    from nself.runtime.backup.verify import verify_backup

    refuse_production(project, target, "restore a backup")
    began = time.monotonic()
    config = backup_config(project)
    if anonymize:
        _check_anonymiser(project, anonymize_config)  # before any slow step
    moment: TargetTime | None = None
    if point_in_time is not None:
        manifest, moment = _point_in_time_base(project, target, config, backup, point_in_time)
    else:
        fetch_remote(project, config.repository, backup)
        manifest = find_backup(config.repository, backup)
    key = config.key() if manifest.encrypted or (config.encrypt and manifest.physical) else None  # WAL too
    _check_key(manifest, key)
    report = verify_backup(config.repository, manifest, key=key, read_files=False, read_wal=False)
    if not report.ok:
        raise BackupError(f"backup {manifest.id} is damaged, nothing was changed: {'; '.join(report.problems[:5])}")
    url = database_url(project, target)
    reached = None
    if not manifest.physical and not anonymize:
        database = restore_logical(url, config.repository, manifest, key, jobs=jobs)
    else:
        with _scratch_copy(config.repository, manifest, key, moment, jobs=jobs) as (source_url, reached):
            if anonymize:
                database = _load_anonymised(project, manifest, source_url, url, anonymize_config)
            else:
                import tempfile

                from nself.runtime.backup.logical import dump_database

                with tempfile.TemporaryDirectory(prefix="nself-restore-to-dump-") as tmp:
                    checksums = dump_database(source_url, Path(tmp) / "dump", jobs=jobs)
                    database = load_swapping(url, Path(tmp) / "dump", checksums, f"backup {manifest.id}", jobs=jobs)
    how = " (anonymised)" if anonymize else ""
    return RestoreResult(
        id=manifest.id, kind=manifest.kind, environment=target.name,
        target=(f"{format_time(moment.moment)} in database {database} of {target.name}{how}" if moment else
                f"database {database} of {target.name} from {manifest.id}{how}"),
        time_zone=moment.zone if moment else None, reached_at=format_time(reached) if reached else None,
        data_dir="", seconds=round(time.monotonic() - began, 3),
    )


def _point_in_time_base(
    project: Project, target: Environment, config: BackupConfig, backup: str, point_in_time: str
) -> tuple[Manifest, TargetTime]:
    """The physical backup to replay from up to TIME, and TIME; refused before anything is
    touched when TIME is before that backup, in the future or after the newest WAL. TIME
    without a zone is read in the source server's zone (the target's when the source is not
    an environment of the project). The source server, when reachable, first switches WAL
    and waits until it is stored: the archive then holds every transaction committed so far."""
    from datetime import UTC, datetime

    from nself.connection import connect
    from nself.runtime.backup.create import switch_and_archive
    from nself.runtime.backup.manifest import complete_backups, find_backup, wal_dir_for
    from nself.runtime.backup.restore import _base_for_time, _newest_wal_time
    from nself.runtime.backup.timespec import parse_target_time

    repo = config.repository
    fetch_remote(project, repo, backup)
    if backup == "latest":
        physical = [m for m in complete_backups(repo) if m.physical]
        if not physical:
            raise BackupError(f"no complete physical backup in {repo}")
        hint = physical[-1]
    else:
        hint = find_backup(repo, backup)
    source_url = reachable_source(project, hint)
    with connect(source_url or database_url(project, target)) as conn:
        row = conn.execute("SHOW TimeZone").fetchone()
    moment = parse_target_time(point_in_time, server_zone=str(row[0]) if row else "UTC")
    if moment.moment > datetime.now(UTC):
        raise BackupError(f"--point-in-time {point_in_time!r} ({format_time(moment.moment)}) is in the future")
    base = _base_for_time(repo, None if backup == "latest" else backup, moment)
    if not base.physical:
        raise BackupError(f"backup {base.id} is logical: it has no WAL to replay to a point in time")
    fetch_remote(project, repo, base.id, wal_from=base.wal_start)
    wal = wal_dir_for(repo, base)
    if source_url is not None and base.system_identifier == hint.system_identifier:
        switch_and_archive(source_url, wal)
    newest_wal = _newest_wal_time(wal)
    if newest_wal is None or moment.moment > newest_wal:
        raise BackupError(
            f"--point-in-time {format_time(moment.moment)} is after the newest archived WAL of backup {base.id}'s "
            f"server ({format_time(newest_wal) if newest_wal else 'none'}); nothing was changed"
        )
    return base, moment


def reachable_source(project: Project, manifest: Manifest) -> str | None:
    """The URL of the server `manifest` was taken of, when it is an environment of the
    project, answers, and is still that server (same system identifier)."""
    from nself.connection import connect

    origin = project.environments.get(manifest.environment or "")
    if origin is None:
        return None
    try:
        url = database_url(project, origin)
        with connect(url, connect_timeout=5) as conn:
            row = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
    except NselfError:
        return None
    return url if row is not None and str(row[0]) == manifest.system_identifier else None


@contextlib.contextmanager
def _scratch_copy(
    repo: Path, manifest: Manifest, key: bytes | None, moment: TargetTime | None, *, jobs: int
) -> Iterator[tuple[str, datetime | None]]:
    """A scratch cluster holding the backup's data (a physical backup recovered to its end
    point or to `moment`; a logical one loaded), deleted afterwards: yields the URL of the
    backup's database in it and the time of the last transaction replayed."""
    import shutil
    import tempfile

    from nself.runtime.backup.drill import recover_to
    from nself.runtime.backup.logical import extract_dump, pg_restore_into
    from nself.runtime.cluster import LocalCluster, free_port
    from nself.runtime.project import url_with_database

    root = Path(tempfile.mkdtemp(prefix=f"nself-restore-to-{manifest.id}-"))
    root.chmod(0o755)
    scratch = LocalCluster(root=root / "cluster", port=free_port())
    source_db = manifest.database or "postgres"
    try:
        reached = None
        if manifest.physical:
            problems, reached = recover_to(repo, manifest, key, scratch, moment.moment if moment else None)
            if problems:
                raise BackupError(f"backup {manifest.id} is damaged, nothing was changed: {'; '.join(problems[:5])}")
            if moment is not None and reached is not None and reached > moment.moment:
                raise BackupError(f"recovery replayed past the target ({format_time(reached)}); nothing was changed")
        else:
            scratch.start(fast=True)
            if source_db != "postgres":
                from psycopg import sql

                from nself.connection import connect

                with connect(scratch.url(), autocommit=True) as conn:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(source_db)))
            with tempfile.TemporaryDirectory(prefix="nself-restore-to-dump-") as tmp:
                pg_restore_into(scratch.url(source_db), extract_dump(repo, manifest, Path(tmp) / "dump", key), jobs)
        yield url_with_database(scratch.url(), source_db), reached
    finally:
        with contextlib.suppress(Exception):
            scratch.stop(immediate=True)
        shutil.rmtree(root, ignore_errors=True)


def _check_anonymiser(project: Project, config_file: Path | None) -> None:
    from nself.errors import OptionError
    from nself.runtime.anonymize.api import config_path
    from nself.runtime.anonymize.config import anonymize_key, load_config

    path = config_path(project, config_file)
    if not path.is_file():
        hint = "" if config_file is not None else " (write one with `nself data anonymize init`)"
        raise OptionError(f"--anonymize-config: no file {path}{hint}")
    load_config(path)  # its syntax; its columns are checked against the backup's schema later
    anonymize_key(project)


def _load_anonymised(project: Project, manifest: Manifest, source_url: str, url: str, config_file: Path | None = None) -> str:
    """The backup's database (at `source_url`, in a scratch cluster) copied into a new
    database of `url`'s server through the anonymiser; it replaces `url`'s database only
    when every table arrived whole."""
    from nself.runtime.anonymize.api import copy_anonymised
    from nself.runtime.backup.logical import copy_schema, fill_swapping, row_counts
    from nself.runtime.dump import HISTORY_SCHEMA

    origin = project.environments.get(manifest.environment or "")
    expected = row_counts(source_url)

    def fill(new_url: str) -> None:
        copy_schema(source_url, new_url, data_of=HISTORY_SCHEMA)  # the migration history as it was
        copy_anonymised(
            project, source_url, new_url, source_name=manifest.environment or manifest.id,
            source_production=bool(origin is not None and origin.production), config_file=config_file,
        )
        actual = row_counts(new_url)
        differ = [name for name, count in expected.items() if actual.get(name) != count]
        if differ:
            raise BackupError(f"the anonymised copy lost rows of {', '.join(differ[:5])}; nothing was changed")

    return fill_swapping(url, fill)
