"""`nself restore`: the managed cluster brought back to a backup's end point, or to a
point in time by replaying the WAL archive.

Nothing is destroyed before the new state is proven: the backup is verified and
extracted into a folder beside the data directory while the cluster still runs; then the
cluster stops, its data directory is renamed aside (kept), the extracted one takes its
name and PostgreSQL recovers it there, once, on the cluster's port, up to the target
(paused at it and checked; stopping before the target is an error). Only after the
promotion is the old directory deleted; on failure it is renamed back and started."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nself.connection import connect
from nself.errors import NselfError
from nself.runtime.backup.blocks import Version, assemble, versions_of
from nself.runtime.backup.codec import CodecError, key_id, restore_to
from nself.runtime.backup.create import original_path, switch_and_archive
from nself.runtime.backup.manifest import (
    BackupError,
    FileEntry,
    Manifest,
    chain,
    complete_backups,
    find_backup,
    format_time,
    fsync_dir,
    wal_dir_for,
)
from nself.runtime.backup.repository import BackupConfig
from nself.runtime.backup.tablespaces import (
    Swap,
    TablespacePlan,
    discard_staging,
    live_tablespaces,
    plan_in_place,
    record_staging,
    target_of,
    write_links,
)
from nself.runtime.backup.timespec import TargetTime, parse_target_time
from nself.runtime.backup.verify import verify_backup
from nself.runtime.backup.wal import archived_segments, restore_command
from nself.runtime.cluster import ClusterError, LocalCluster, hand_to_server_user
from nself.runtime.local import local_cluster, start_local
from nself.runtime.production import refuse_production
from nself.runtime.project import Environment, Project

Progress = Callable[[int], None]
RECOVERY_FILE = "nself-recovery.conf"
# In a data directory being recovered by `nself restore`: until it is gone (after the
# promotion), the directory is not the cluster's yet and the one kept aside goes back
# if the restore was interrupted.
RESTORING_MARK = "nself-restoring"
EXTRACT_THREADS = min(8, (os.cpu_count() or 2) * 2)


@dataclass
class RestoreResult:
    id: str
    kind: str
    environment: str
    target: str  # "consistent end of backup ID" or the target time (UTC)
    time_zone: str | None  # how a TIME without a zone was read
    reached_at: str | None  # the last transaction replayed (UTC), as PostgreSQL reports it
    data_dir: str
    seconds: float
    notes: list[str] = field(default_factory=list)
    # Physical restores: each tablespace with the location it was restored at.
    tablespaces: list[dict[str, Any]] = field(default_factory=list)


def restore_managed(
    project: Project,
    environment: Environment,
    config: BackupConfig,
    *,
    backup: str | None,
    point_in_time: str | None,
    tablespace_map: dict[str, str] | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    refuse_production(project, environment, "restore a backup")
    began = time.monotonic()
    cluster = local_cluster(project, environment)
    repo = config.repository
    target: TargetTime | None = None
    if point_in_time is not None:
        url = start_local(project, environment).url
        with connect(url) as conn:
            row = conn.execute("SHOW TimeZone").fetchone()
            ident = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
        own_system = str(ident[0]) if ident else None
        target = parse_target_time(point_in_time, server_zone=str(row[0]) if row else "UTC")
        # Without an ID, the cluster's own history: a repository that also keeps a remote
        # server's backups never has them picked to replace this cluster by surprise.
        base = _base_for_time(repo, backup, target, system_identifier=own_system)
        from nself.runtime.backup.service import fetch_remote, reachable_source

        fetch_remote(project, repo, base.id, wal_from=base.wal_start)  # WAL past the backup's end
        now = datetime.now(UTC)
        if target.moment > now:
            raise BackupError(f"--point-in-time {point_in_time!r} ({format_time(target.moment)}) is in the future")
        wal_source = wal_dir_for(repo, base)
        # Everything committed so far into the archive, and a commit after TIME to stop at:
        # on this cluster for its own backups, on the remote server (when it answers) for
        # a backup of one, whose WAL `nself backup wal` receives.
        origin = url if base.system_identifier in (None, own_system) else reachable_source(project, base)
        if origin is not None:
            switch_and_archive(origin, wal_source)
        newest = _newest_wal_time(wal_source)
        if newest is None or target.moment > newest:
            raise BackupError(
                f"--point-in-time {format_time(target.moment)} is after the newest archived WAL "
                f"({format_time(newest) if newest else 'none'})"
            )
    else:
        base = find_backup(repo, backup or "latest")
        wal_source = wal_dir_for(repo, base)
    if not base.physical:
        raise BackupError(f"backup {base.id} is logical: it restores with `nself restore {base.id}` into a database, not a cluster")
    key = config.key() if base.encrypted or config.encrypt else None
    _check_key(base, key)
    report = verify_backup(repo, base, key=key, read_files=False, read_wal=False)
    if not report.ok:
        raise BackupError(f"backup {base.id} is damaged, nothing was changed: {'; '.join(report.problems[:5])}")
    # Where each tablespace goes; a location in the way is refused before anything is touched.
    live = live_tablespaces(cluster.data_dir)
    plans = plan_in_place(base, tablespace_map or {}, live)

    # The new data directory is built beside the cluster's while it still runs (and each
    # tablespace's folder beside its old one, in its location).
    scratch = LocalCluster(root=cluster.root.parent / f"{cluster.root.name}.restore-{base.id}", port=cluster.port)
    discard_scratch(scratch)  # left by a restore that was killed
    version_dir = base.tablespaces[0].version_dir if base.tablespaces else _live_version_dir(live)
    swap = Swap.plan(plans, live, version_dir, str(int(time.time())))
    try:
        created = record_staging(scratch.root, plans)
        for location in created:
            hand_to_server_user(location)
        extract(repo, base, scratch.data_dir, key, progress, tablespaces=plans)
        recovery = {"restore_command": recovery_command(wal_source, key, scratch.root), "recovery_target_action": "promote"}
        if target is not None:
            recovery["recovery_target_time"] = target.moment.isoformat()
        else:
            recovery["recovery_target"] = "immediate"
        scratch.root.chmod(0o755)
        scratch.configure(recovery, file=RECOVERY_FILE)
        (scratch.data_dir / "recovery.signal").touch()
        (scratch.data_dir / RESTORING_MARK).write_text(swap.to_text(), encoding="utf-8")
        hand_to_server_user(scratch.root)
        for plan in plans:
            hand_to_server_user(plan.staging)
    except BaseException:
        discard_scratch(scratch)
        raise
    reached = _recover_in_place(cluster, scratch, target, swap)
    return RestoreResult(
        id=base.id,
        kind=base.kind,
        environment=environment.name,
        target=format_time(target.moment) if target else f"consistent end of backup {base.id}",
        time_zone=target.zone if target else None,
        reached_at=format_time(reached) if reached else None,
        data_dir=str(cluster.data_dir),
        seconds=round(time.monotonic() - began, 3),
        tablespaces=[plan.summary() for plan in plans],
    )


def _live_version_dir(live: dict[int, Path]) -> str | None:
    """The version folder (`PG_15_...`) the live cluster uses in its tablespace locations
    (a backup without tablespaces does not name it)."""
    for location in live.values():
        with contextlib.suppress(OSError):
            for child in sorted(location.iterdir()):
                if child.is_dir() and child.name.startswith("PG_") and "." not in child.name:
                    return child.name
    return None


def recovery_command(wal_dir: Path, key: bytes | None, folder: Path) -> str:
    """The restore_command of a recovery reading `wal_dir`. With a key (the WAL may be
    encrypted), the helper reads it from a file in `folder` (outside the data directory,
    readable by the server user only, deleted with the folder)."""
    if key is None:
        return restore_command(wal_dir)
    key_file = folder / "wal.key"
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key.hex())
    hand_to_server_user(key_file)
    return restore_command(wal_dir, ["--key-file", str(key_file)])


def discard_scratch(scratch: LocalCluster) -> None:
    """Remove a scratch folder, stopping the server a killed restore may have left in it."""
    if scratch.data_dir.exists():
        with contextlib.suppress(NselfError):
            scratch.stop(immediate=True)
    discard_staging(scratch.root)
    shutil.rmtree(scratch.root, ignore_errors=True)


def recover_interrupted_swap(cluster: LocalCluster) -> bool:
    """A restore killed after moving the old data directory aside leaves either no data
    directory or one still marked as being recovered (its server perhaps running, in
    recovery): put the old one back. True when it did."""
    kept = sorted(cluster.root.glob("data.before-restore-*"))
    if not kept:
        return False
    if cluster.data_dir.exists():
        if not (cluster.data_dir / RESTORING_MARK).exists():
            return False
        with contextlib.suppress(NselfError):
            cluster.stop(immediate=True)
        with contextlib.suppress(OSError):
            Swap.from_text((cluster.data_dir / RESTORING_MARK).read_text(encoding="utf-8")).undo(str(int(time.time())))
        failed = cluster.root / f"data.failed-restore-{int(time.time())}"
        os.rename(cluster.data_dir, failed)
        shutil.rmtree(failed, ignore_errors=True)
    os.rename(kept[-1], cluster.data_dir)
    return True


def _base_for_time(
    repo: Path, backup: str | None, target: TargetTime, *, system_identifier: str | None = None
) -> Manifest:
    """The backup to replay from up to `target`: the one named, else the newest physical
    backup that ended before it (of the server `system_identifier` names, when given)."""
    physical = [m for m in complete_backups(repo) if m.physical]
    if system_identifier is not None:
        physical = [m for m in physical if m.system_identifier in (None, system_identifier)]
    if backup not in (None, "latest"):
        chosen = find_backup(repo, str(backup))
        if chosen.stopped > target.moment:
            raise BackupError(f"backup {chosen.id} ended at {chosen.stopped_at}, after --point-in-time {format_time(target.moment)}")
        return chosen
    if not physical:
        raise BackupError(f"no complete physical backup in {repo}")
    before = [m for m in physical if m.stopped <= target.moment]
    if not before:
        raise BackupError(
            f"--point-in-time {format_time(target.moment)} is before the oldest backup "
            f"(which ended at {physical[0].stopped_at}); nothing was changed"
        )
    return before[-1]


def _newest_wal_time(wal_dir: Path) -> datetime | None:
    segments = archived_segments(wal_dir)
    if not segments:
        return None
    newest = max(segments.values(), key=lambda p: p.stat().st_mtime)
    return datetime.fromtimestamp(newest.stat().st_mtime, UTC)


def _check_key(manifest: Manifest, key: bytes | None) -> None:
    if not manifest.encrypted:
        return
    if key is None:
        raise BackupError(f"backup {manifest.id} is encrypted: set NSELF_BACKUP_KEY or [backup] key in nself.toml")
    if manifest.key_id and manifest.key_id != key_id(key):
        raise BackupError(f"backup {manifest.id} was encrypted with another key (wrong key); nothing was changed")


def delta_versions(repo: Path, manifest: Manifest) -> dict[str, list[Version]]:
    """For each block-incremental file of `manifest`, the stored versions it is assembled
    from (a whole copy, then deltas, oldest first). A missing ancestor or base is an error
    naming it, raised before anything is written."""
    deltas = [entry for entry in manifest.files if entry.delta]
    if not deltas:
        return {}
    by_id = {m.id: m for m in chain(repo, manifest)}
    indexes: dict[str, dict[str, FileEntry]] = {}

    def index(m: Manifest) -> dict[str, FileEntry]:
        if m.id not in indexes:
            indexes[m.id] = {original_path(f.path): f for f in m.files}
        return indexes[m.id]

    result: dict[str, list[Version]] = {}
    for entry in deltas:
        name = original_path(entry.path)
        try:
            result[name] = versions_of(name, entry, manifest, by_id, index)
        except BackupError as exc:
            raise BackupError(f"backup {manifest.id} is damaged, nothing was changed: {exc.one_line()}") from None
    return result


def extract(
    repo: Path,
    manifest: Manifest,
    data_dir: Path,
    key: bytes | None,
    progress: Progress | None = None,
    *,
    tablespaces: list[TablespacePlan] | None = None,
    durable: bool = True,
) -> None:
    """Write the data directory of a physical backup into `data_dir` (references to
    ancestor backups resolved), every file through its zstd checksum and GCM tag; each
    tablespace's files into the staging folder of its plan, `pg_tblspc/<oid>` linking to
    its location. `durable=False` skips the fsync of each file: for a scratch cluster that
    runs without fsync and is deleted afterwards (a drill, `restore --to`)."""
    plans = tablespaces or []
    if {p.tablespace.oid for p in plans} != {t.oid for t in manifest.tablespaces}:
        raise BackupError(f"backup {manifest.id} has tablespaces: each needs a location to be restored at")
    data_dir.mkdir(parents=True)
    data_dir.chmod(0o700)
    for plan in plans:
        plan.staging.mkdir(parents=True, mode=0o700, exist_ok=True)
    targets: dict[str, Path] = {}
    for directory in manifest.directories:
        folder = target_of(directory, data_dir, plans)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
    for entry in manifest.files:
        name = original_path(entry.path)
        target = target_of(name, data_dir, plans)
        if target is None:
            raise BackupError(f"backup {manifest.id}: {name} is a tablespace's link, not a file")
        targets[name] = target
        target.parent.mkdir(parents=True, exist_ok=True)

    versions = delta_versions(repo, manifest)

    def one(entry: FileEntry) -> int:
        name = original_path(entry.path)
        source = repo / (entry.ref or manifest.id) / entry.path
        try:
            if entry.delta:
                # A block-incremental file: assembled from the chain, its whole sha256 checked.
                assemble(repo, name, versions[name], targets[name], key=key, expect_encrypted=manifest.encrypted,
                         expect_sha256=entry.source_sha256, durable=durable)
                return entry.source_size or 0
            # fsync'd here, by the extracting threads while others decompress: PostgreSQL's
            # start (which fsyncs the whole directory after a backup) then finds nothing to write.
            restore_to(source, targets[name], aad=name, key=key, expect_encrypted=manifest.encrypted,
                       expect_size=entry.size, expect_sha256=entry.sha256, durable=durable)
        except CodecError as exc:
            detail = exc.one_line().split(": ", 1)[-1]
            raise BackupError(
                f"backup {manifest.id} is damaged, nothing was changed: {entry.ref or manifest.id}/{entry.path}: {detail}"
            ) from None
        return entry.source_size or 0

    # zstd, AES and file I/O release the GIL: a few threads use the cores.
    with ThreadPoolExecutor(max_workers=EXTRACT_THREADS) as pool:
        for size in pool.map(one, manifest.files):
            if progress:
                progress(size)
    write_links(data_dir, plans)


def _recover_paused(scratch: LocalCluster, *, archive: bool = False, fast: bool = False) -> datetime | None:
    """Start `scratch` in recovery, pausing at the target; the time of the last replayed
    transaction. A server that stops before (missing WAL, target never reached) raises.
    `archive` keeps the configured archive_mode (the managed cluster archives the new
    timeline once promoted; nothing is archived while in recovery). `fast` starts it
    without fsync (LocalCluster.start): for a scratch cluster deleted afterwards."""
    settings = {"recovery_target_action": "pause"} if archive else {"archive_mode": "off", "recovery_target_action": "pause"}
    try:
        scratch.start(fast=fast, settings=settings)
    except ClusterError:
        raise BackupError(f"recovery failed before reaching the target: {_last_fatal(scratch)}") from None
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline:
        if not scratch.running:
            raise BackupError(f"recovery stopped before reaching the target: {_last_fatal(scratch)}")
        try:
            with connect(scratch.url(), connect_timeout=5) as conn:
                row = conn.execute(
                    "SELECT pg_is_in_recovery(), pg_get_wal_replay_pause_state(), pg_last_xact_replay_timestamp()"
                ).fetchone()
        except NselfError:
            time.sleep(0.1)
            continue
        assert row is not None
        if not row[0]:
            raise BackupError("recovery ended without pausing at the target")
        if row[1] == "paused":
            return row[2]  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise BackupError("recovery did not reach the target within an hour")


def _last_fatal(cluster: LocalCluster) -> str:
    with contextlib.suppress(OSError):
        lines = cluster.log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        for line in reversed(lines):
            if "FATAL:" in line or "PANIC:" in line:
                return line.split("FATAL:", 1)[-1].split("PANIC:", 1)[-1].strip()
    return f"see {cluster.log_file}"


def _recover_in_place(
    cluster: LocalCluster, scratch: LocalCluster, target: TargetTime | None, swap: Swap
) -> datetime | None:
    """Stop the cluster, move its data directory aside and the extracted one in, recover
    it there on the cluster's port (paused at the target, checked, then promoted): one
    PostgreSQL start. On any failure the new directory is dropped and the old one goes
    back and is started again; the old one is deleted only once the new one is promoted."""
    for left in cluster.root.glob("data.discarded-*"):  # a background deletion cut short
        shutil.rmtree(left, ignore_errors=True)
    try:
        cluster.stop()
    except BaseException:
        discard_scratch(scratch)
        raise
    old = cluster.root / f"data.before-restore-{int(time.time())}"
    had_data = cluster.data_dir.exists()
    if had_data:
        os.rename(cluster.data_dir, old)
    os.rename(scratch.data_dir, cluster.data_dir)
    fsync_dir(cluster.root)
    try:
        # The tablespaces' folders after the data directory: a restore killed from here on
        # leaves a marked data directory whose mark says what to put back.
        swap.apply()
        reached = _recover_paused(cluster, archive=True)
        if target is not None and reached is not None and reached > target.moment:
            raise BackupError(f"recovery replayed past the target ({format_time(reached)}); nothing was changed")
        with connect(cluster.url(), connect_timeout=5) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
        _wait_promoted(cluster)
    except BaseException:
        with contextlib.suppress(NselfError):
            cluster.stop(immediate=True)
        swap.undo(str(int(time.time())))
        failed = cluster.root / f"data.failed-restore-{int(time.time())}"
        os.rename(cluster.data_dir, failed)
        if had_data:
            os.rename(old, cluster.data_dir)
            with contextlib.suppress(NselfError):
                cluster.start()
        shutil.rmtree(failed, ignore_errors=True)
        discard_scratch(scratch)
        raise
    cluster.configure({}, file=RECOVERY_FILE)
    (cluster.data_dir / RESTORING_MARK).unlink()
    fsync_dir(cluster.data_dir)
    # The old data directory is no longer needed: deleted in the background (thousands of
    # files take a while to unlink and nothing waits for them).
    discard_scratch(scratch)
    for kept in swap.kept():
        delete_in_background(kept)
    if had_data:
        gone = cluster.root / f"data.discarded-{int(time.time())}"
        os.rename(old, gone)
        delete_in_background(gone)
    return reached


def delete_in_background(path: Path) -> None:
    """Remove a folder with `rm -rf` in its own session (it outlives this process)."""
    subprocess.Popen(["rm", "-rf", "--", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


def _wait_promoted(cluster: LocalCluster) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        with connect(cluster.url(), connect_timeout=5) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        if row is not None and not row[0]:
            return
        time.sleep(0.1)
    raise BackupError("the restored cluster did not finish recovery within 10 minutes")
