"""`nself backup create`: a physical base backup, each file compressed, optionally
encrypted and checksummed; the manifest last. The cluster nself manages is read straight
from its data directory by a pool of threads (direct.py, as pgBackRest does for a local
cluster); a server reached over the network sends its files over the replication protocol
(a wrapped `pg_basebackup` streaming a tar that is never written out whole)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from nself.connection import connect, scrub
from nself.errors import NselfError
from nself.runtime.backup.codec import key_id, store_stream
from nself.runtime.backup.direct import copy_data_directory
from nself.runtime.backup.manifest import (
    BackupError,
    FileEntry,
    Kind,
    Manifest,
    complete_backups,
    format_time,
    fsync_dir,
    new_backup_id,
    utc_now,
    write_manifest,
)
from nself.runtime.backup.wal import lsn_to_int, segment_name, wait_for_archived
from nself.runtime.dump import find_client, first_error_line, libpq_target

Progress = Callable[[int], None]
DATA_PREFIX = "data/"
# Files up to this size are read from the stream and compressed by worker threads (zstd and
# sha256 release the GIL); bigger ones stream through in the reading thread.
SMALL_FILE = 16 << 20
COMPRESS_THREADS = min(8, (os.cpu_count() or 2) * 2)
MAX_IN_FLIGHT = 16


def _done(entry: FileEntry) -> Future[FileEntry]:
    future: Future[FileEntry] = Future()
    future.set_result(entry)
    return future


def stored_path(relative: str, encrypted: bool) -> str:
    """Where a file of the data directory is stored inside a backup folder."""
    return f"{DATA_PREFIX}{relative}.zst" + (".enc" if encrypted else "")


def original_path(stored: str) -> str:
    path = stored[len(DATA_PREFIX) :] if stored.startswith(DATA_PREFIX) else stored
    for suffix in (".enc", ".zst"):
        path = path.removesuffix(suffix)
    return path


@dataclass(frozen=True, slots=True)
class Source:
    """The server to back up: its URL (secret), its name for messages, and where its WAL
    goes (the repository's wal/ folder when it archives there; else WAL is included). The
    managed cluster also names its data directory, which is then read directly."""

    url: str
    environment: str
    wal_archive: Path | None
    data_dir: Path | None = None


@dataclass
class _Server:
    version: str
    system_identifier: str
    segment_size: int
    database: str


def _server_facts(url: str) -> _Server:
    with connect(url) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), (SELECT system_identifier::text FROM pg_control_system()),"
            " (SELECT setting::bigint * CASE unit WHEN '8kB' THEN 8192 WHEN 'B' THEN 1 ELSE 1 END FROM pg_settings WHERE name = 'wal_segment_size'), current_setting('wal_level'),"
            " current_database(),"
            " (SELECT string_agg(spcname, ', ' ORDER BY spcname) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global'))"
        ).fetchone()
    assert row is not None
    if row[5]:
        raise BackupError(
            f"the server has tablespaces ({row[5]}): nself's physical backups do not support tablespaces yet "
            "(use --logical)"
        )
    if row[3] == "minimal":
        raise BackupError("the server runs with wal_level = minimal: physical backups need replica (or use --logical)")
    return _Server(str(row[0]), str(row[1]), int(row[2]), str(row[4]))


@dataclass
class _Parent:
    manifest: Manifest
    by_path: dict[str, FileEntry] = field(default_factory=dict)


def _parent_for(repo: Path, system_identifier: str) -> _Parent | None:
    physical = [m for m in complete_backups(repo) if m.physical and m.system_identifier == system_identifier]
    if not physical:
        return None
    parent = physical[-1]
    by_path = {original_path(f.path): f if f.ref else _with_ref(f, parent.id) for f in parent.files}
    return _Parent(parent, by_path)


def _with_ref(entry: FileEntry, backup_id: str) -> FileEntry:
    return FileEntry(entry.path, entry.size, entry.sha256, backup_id, entry.source_size, entry.source_mtime, entry.source_sha256)


def create_physical(
    repo: Path,
    source: Source,
    *,
    incremental: bool = False,
    key: bytes | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """Take a base backup of `source` into `repo` and return its manifest."""
    facts = _server_facts(source.url)
    parent = _parent_for(repo, facts.system_identifier) if incremental else None
    if parent is not None and parent.manifest.key_id != (key_id(key) if key is not None else None):
        # Files under another key (or none) cannot be referenced: restore reads one key.
        parent.by_path.clear()
    if incremental and parent is None:
        raise BackupError("--incremental needs a full backup of this server first (run `nself backup create`)")
    kind: Kind = "incremental" if parent else "full"
    received = None if source.wal_archive is not None else active_receiver(repo, source.url, facts.system_identifier)
    started = utc_now()
    repo.mkdir(parents=True, exist_ok=True)
    backup_id = new_backup_id(kind, started, repo)
    folder = repo / backup_id
    folder.mkdir()
    try:
        if source.data_dir is not None and source.wal_archive is not None:
            copied = copy_data_directory(
                source.url, source.data_dir, folder, label=f"nself {backup_id}",
                reuse=lambda name, info: _unchanged(parent, name, info, key),
                stored_path=lambda name: stored_path(name, key is not None), key=key, progress=progress,
            )
            files, directories = copied.files, copied.directories
            timeline, start_lsn, stop_lsn = copied.timeline, copied.start_lsn, copied.stop_lsn
        else:
            files, directories, backup_manifest = _stream_base_backup(
                source, folder, parent, key, progress, with_wal=received is None
            )
            ranges = backup_manifest.get("WAL-Ranges") or []
            if not ranges:
                raise BackupError("pg_basebackup's manifest has no WAL range")
            timeline = int(ranges[0]["Timeline"])
            start_lsn, stop_lsn = str(ranges[0]["Start-LSN"]), str(ranges[-1]["End-LSN"])
    except BaseException:
        # A clean failure removes its folder; a killed process leaves one without a manifest,
        # which `list` reports as incomplete and never as a backup.
        shutil.rmtree(folder, ignore_errors=True)
        raise
    wal_start = segment_name(timeline, lsn_to_int(start_lsn), facts.segment_size)
    wal_stop = segment_name(timeline, max(lsn_to_int(stop_lsn) - 1, lsn_to_int(start_lsn)), facts.segment_size)
    archive = source.wal_archive or received
    if archive is not None:
        try:
            wait_for_archived(archive, wal_stop)
        except NselfError:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    # Every file on disk before the manifest says the backup is complete: the direct copy
    # fsynced each file it wrote (then only the folders remain), the tar stream's files are
    # flushed at once (one fsync per small file there costs more than its compression).
    if source.data_dir is not None and source.wal_archive is not None:
        for directory in sorted({p.parent for p in folder.rglob("*")} | {folder}):
            fsync_dir(directory)
    else:
        os.sync()
    own = [f for f in files if f.ref is None]
    manifest = Manifest(
        id=backup_id,
        kind=kind,
        parent=parent.manifest.id if parent else None,
        encrypted=key is not None,
        started_at=format_time(started),
        stopped_at=format_time(utc_now()),
        size_bytes=sum(f.size for f in own),
        source_bytes=sum(f.source_size or 0 for f in files),
        pg_version=facts.version,
        system_identifier=facts.system_identifier,
        start_lsn=start_lsn,
        stop_lsn=stop_lsn,
        timeline=timeline,
        wal_start=wal_start,
        wal_stop=wal_stop,
        wal_segment_size=facts.segment_size,
        wal_included=source.wal_archive is None and received is None,
        wal_received=received is not None,
        environment=source.environment,
        database=facts.database,  # the environment's database (a physical backup holds them all)
        key_id=key_id(key) if key is not None else None,
        directories=tuple(sorted(directories)),
        files=tuple(files),
    )
    write_manifest(folder, manifest)
    return manifest


def active_receiver(repo: Path, url: str, system_identifier: str) -> Path | None:
    """The folder `nself backup wal` stores this server's WAL into, when a receiver runs now
    (it holds its lock and streams from its slot): a backup then takes no WAL of its own
    (`--wal-method=none`) and waits for the receiver to store its last segment, instead of
    carrying the same WAL twice."""
    import fcntl

    from nself.runtime.backup.manifest import received_wal_dir
    from nself.runtime.backup.receive import INCOMING, slot_name

    folder = received_wal_dir(repo, system_identifier)
    lock = folder / INCOMING / ".lock"
    if not lock.is_file():
        return None
    with lock.open("r") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # held: a receiver runs
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)
            return None
    with connect(url) as conn:
        row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot_name(repo),)).fetchone()
    return folder if row is not None and row[0] else None


def _unchanged(parent: _Parent | None, name: str, info: os.stat_result, key: bytes | None) -> FileEntry | None:
    """The parent's entry for a file whose size and modification time are the same as
    then (the caller confirms it by checksum before referencing it)."""
    previous = parent.by_path.get(name) if parent else None
    if (
        previous is not None
        and previous.source_size == info.st_size
        and previous.source_mtime == info.st_mtime
        and previous.path == stored_path(name, key is not None)
    ):
        return previous
    return None


class _CountingReader:
    """A file object over pg_basebackup's stdout that reports bytes read."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self.raw = raw
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.progress and data:
            self.progress(len(data))
        return data


def _stream_base_backup(
    source: Source,
    folder: Path,
    parent: _Parent | None,
    key: bytes | None,
    progress: Progress | None,
    *,
    with_wal: bool = True,
) -> tuple[list[FileEntry], list[str], dict[str, Any]]:
    conninfo, env = libpq_target(source.url)
    with connect(source.url) as conn:
        major = conn.info.server_version // 10000
    program = find_client("pg_basebackup", major)
    argv = [
        str(program),
        "--dbname", conninfo,
        "--pgdata", "-",
        "--format", "tar",
        "--wal-method", "fetch" if source.wal_archive is None and with_wal else "none",
        "--checkpoint", "fast",
        "--label", f"nself {folder.name}",
        "--no-password",
    ]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stderr is not None
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read() if process.stderr else b""))
    reader.start()
    files: list[FileEntry] = []
    directories: list[str] = []
    backup_manifest: dict[str, Any] = {}
    pending: list[Future[FileEntry]] = []
    pool = ThreadPoolExecutor(max_workers=COMPRESS_THREADS)
    try:
        with tarfile.open(fileobj=_CountingReader(process.stdout, progress), mode="r|") as archive:  # type: ignore[call-overload]
            for member in archive:
                name = member.name.removeprefix("./")
                if member.isdir():
                    directories.append(name)
                    continue
                if member.issym() or member.islnk():
                    raise BackupError(f"{name}: tablespaces (symbolic links in the data directory) are not supported yet")
                handle = archive.extractfile(member)
                assert handle is not None
                if name == "backup_manifest":
                    data = handle.read()
                    backup_manifest = json.loads(data)
                    handle = _BytesReader(data)
                if member.size <= SMALL_FILE:
                    # Read here (the tar stream is sequential), compress in a worker thread.
                    buffered = io.BytesIO(handle.read())
                    pending.append(pool.submit(_store_member, buffered, name, member, folder, parent, key))
                    while sum(not f.done() for f in pending) > MAX_IN_FLIGHT:
                        wait([f for f in pending if not f.done()], return_when=FIRST_COMPLETED)
                else:
                    pending.append(_done(_store_member(handle, name, member, folder, parent, key)))
        files.extend(f.result() for f in pending)
    except tarfile.TarError as exc:
        process.kill()
        process.wait()
        reader.join()
        raise BackupError(f"pg_basebackup: {_error_text(errors, source.url) or exc}") from None
    except BaseException:
        process.kill()
        process.wait()
        reader.join()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    code = process.wait()
    reader.join()
    if code != 0:
        raise BackupError(f"pg_basebackup failed: {_error_text(errors, source.url)}")
    if not backup_manifest:
        raise BackupError("pg_basebackup sent no backup_manifest")
    return files, directories, backup_manifest


def _error_text(errors: list[bytes], url: str) -> str:
    text = b"".join(errors).decode("utf-8", "replace")
    return scrub(first_error_line(text).removeprefix("pg_basebackup: error: "), url) if text.strip() else ""


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.offset + size
        chunk = self.data[self.offset : end]
        self.offset += len(chunk)
        return chunk


def _store_member(
    handle: Any,
    name: str,
    member: tarfile.TarInfo,
    folder: Path,
    parent: _Parent | None,
    key: bytes | None,
) -> FileEntry:
    path = stored_path(name, key is not None)
    previous = parent.by_path.get(name) if parent else None
    if (
        previous is not None
        and previous.source_size == member.size
        and previous.source_mtime == float(member.mtime)
        and previous.path == path
    ):
        # Same size and time as in the parent: confirm by checksum before referencing it.
        with tempfile.SpooledTemporaryFile(max_size=64 << 20) as spool:
            digest = hashlib.sha256()
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                spool.write(chunk)
            if digest.hexdigest() == previous.source_sha256:
                return previous
            spool.seek(0)
            stored = store_stream(spool, folder / path, aad=name, key=key, durable=False)
    else:
        stored = store_stream(handle, folder / path, aad=name, key=key, durable=False)
    return FileEntry(
        path=path,
        size=stored.size,
        sha256=stored.sha256,
        source_size=stored.source_size,
        source_mtime=float(member.mtime),
        source_sha256=stored.source_sha256,
    )


def switch_and_archive(url: str, wal_archive: Path, segment_size: int | None = None) -> str:
    """Commit a marker transaction, switch to a new WAL segment and wait until the old one
    is archived: afterwards the archive holds every committed transaction, and a commit
    record later than any past time (which recovery to a time needs to stop at)."""
    with connect(url, autocommit=True) as conn:
        conn.execute("SELECT txid_current()")
        row = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()
    assert row is not None
    name = str(row[0])
    wait_for_archived(wal_archive, name)
    return name

