"""`nself backup create`: a physical base backup, each file compressed, optionally
encrypted and checksummed; the manifest last. The cluster nself manages is read straight
from its data directory by a pool of threads (direct.py, as pgBackRest does for a local
cluster); a server reached over the network sends its files over the replication protocol
(a wrapped `pg_basebackup` streaming a tar that is never written out whole)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
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
from nself.runtime.backup.blocks import MAP_NAME, BlockMap, BlockPlan, digester, map_path, read_map
from nself.runtime.backup.codec import key_id, store_bytes, store_stream
from nself.runtime.backup.direct import copy_data_directory
from nself.runtime.backup.manifest import (
    TABLESPACE_DIR,
    BackupError,
    FileEntry,
    Kind,
    Manifest,
    Tablespace,
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
    version_dir: str  # the server's folder inside each tablespace location: PG_15_<catalog version>
    tablespace_names: dict[int, str]


def _server_facts(url: str) -> _Server:
    with connect(url) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), (SELECT system_identifier::text FROM pg_control_system()),"
            " (SELECT setting::bigint * CASE unit WHEN '8kB' THEN 8192 WHEN 'B' THEN 1 ELSE 1 END FROM pg_settings WHERE name = 'wal_segment_size'), current_setting('wal_level'),"
            " current_database(),"
            " (SELECT json_object_agg(oid, spcname) FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global')),"
            " current_setting('server_version_num')::int / 10000, (SELECT catalog_version_no FROM pg_control_system())"
        ).fetchone()
    assert row is not None
    if row[3] == "minimal":
        raise BackupError("the server runs with wal_level = minimal: physical backups need replica (or use --logical)")
    names = {int(oid): str(name) for oid, name in (row[5] or {}).items()}
    return _Server(str(row[0]), str(row[1]), int(row[2]), str(row[4]), f"PG_{row[6]}_{row[7]}", names)


def _tablespaces(
    locations: dict[int, str], files: list[FileEntry], facts: _Server
) -> tuple[Tablespace, ...]:
    """The manifest's tablespaces: each with its location and the bytes of its files."""
    sizes = dict.fromkeys(locations, 0)
    for entry in files:
        name = original_path(entry.path)
        if name.startswith(f"{TABLESPACE_DIR}/"):
            oid = name.split("/")[1]
            if oid.isdigit() and int(oid) in sizes:
                sizes[int(oid)] += entry.source_size or 0
    return tuple(
        Tablespace(oid, location, facts.version_dir, facts.tablespace_names.get(oid), sizes[oid])
        for oid, location in sorted(locations.items())
    )


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
    return dataclasses.replace(entry, ref=backup_id)


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
    block_map: FileEntry | None = None
    try:
        if source.data_dir is not None and source.wal_archive is not None:
            # Block maps: the parent's (an incremental stores the changed chunks of its big
            # relation files against it) and this backup's. A parent under another key has
            # none to use (parent.by_path was cleared above: nothing is referenced).
            parent_map = read_map(repo, parent.manifest, key) if parent is not None and parent.by_path else None
            blocks = BlockPlan(backup_id, digester(key), parent_map, BlockMap(keyed=key is not None))
            copied = copy_data_directory(
                source.url, source.data_dir, folder, label=f"nself {backup_id}", version_dir=facts.version_dir,
                reuse=lambda name, info: _unchanged(parent, name, info, key),
                stored_path=lambda name: stored_path(name, key is not None), key=key, progress=progress,
                blocks=blocks,
            )
            files, directories, locations = copied.files, copied.directories, copied.tablespaces
            map_name = map_path(key is not None)
            stored_map = store_bytes(blocks.made.to_bytes(), folder / map_name, aad=MAP_NAME, key=key, durable=True)
            block_map = FileEntry(map_name, stored_map.size, stored_map.sha256, source_size=stored_map.source_size,
                                  source_sha256=stored_map.source_sha256)
            timeline, start_lsn, stop_lsn = copied.timeline, copied.start_lsn, copied.stop_lsn
        else:
            files, directories, locations, backup_manifest = _stream_base_backup(
                source, folder, parent, key, progress, with_wal=received is None, tablespaces=bool(facts.tablespace_names)
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
    own = [f for f in files if f.ref is None] + ([block_map] if block_map is not None else [])
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
        tablespaces=_tablespaces(locations, files, facts),
        files=tuple(files),
        block_map=block_map,
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
    tablespaces: bool = False,
) -> tuple[list[FileEntry], list[str], dict[int, str], dict[str, Any]]:
    """The server's base backup over the replication protocol. Without tablespaces, one tar
    on pg_basebackup's stdout, each file compressed as it streams by. pg_basebackup writes
    a server with tablespaces as one tar per tablespace (`<oid>.tar`, which it cannot send
    to stdout), so those go to a folder inside the backup first and are read from there
    (their files named `pg_tblspc/<oid>/...`, as in the server's backup_manifest)."""
    conninfo, env = libpq_target(source.url)
    with connect(source.url) as conn:
        major = conn.info.server_version // 10000
    program = find_client("pg_basebackup", major)
    incoming = folder / INCOMING
    argv = [
        str(program),
        "--dbname", conninfo,
        "--pgdata", str(incoming) if tablespaces else "-",
        "--format", "tar",
        "--wal-method", "fetch" if source.wal_archive is None and with_wal else "none",
        "--checkpoint", "fast",
        "--label", f"nself {folder.name}",
        "--no-password",
    ]
    received = _Received()
    pool = ThreadPoolExecutor(max_workers=COMPRESS_THREADS)
    try:
        if tablespaces:
            done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            if done.returncode != 0:
                raise BackupError(f"pg_basebackup failed: {_error_text([done.stderr], source.url)}")
            archives = sorted(incoming.glob("*.tar"), key=lambda p: (p.name == "base.tar", p.name))
            for path in archives:
                prefix = "" if path.name == "base.tar" else f"{TABLESPACE_DIR}/{path.stem}/"
                if prefix and not path.stem.isdigit():
                    raise BackupError(f"pg_basebackup wrote an unexpected archive {path.name}")
                with path.open("rb") as raw:
                    _store_tar(_CountingReader(raw, progress), prefix, received, pool, folder, parent, key, source.url)
                path.unlink()
            manifest_file = incoming / "backup_manifest"
            if manifest_file.is_file():
                data = manifest_file.read_bytes()
                received.manifest = json.loads(data)
                received.pending.append(_done(_store_member(_BytesReader(data), "backup_manifest", _file_info(
                    "backup_manifest", len(data), int(manifest_file.stat().st_mtime)), folder, parent, key)))
            received.files.extend(f.result() for f in received.pending)
            shutil.rmtree(incoming, ignore_errors=True)
        else:
            _stream_stdout(argv, env, received, pool, folder, parent, key, progress, source.url)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if not received.manifest:
        raise BackupError("pg_basebackup sent no backup_manifest")
    return received.files, received.directories, received.tablespaces, received.manifest


INCOMING = ".incoming"


@dataclass
class _Received:
    files: list[FileEntry] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    tablespaces: dict[int, str] = field(default_factory=dict)  # OID -> location
    manifest: dict[str, Any] = field(default_factory=dict)
    pending: list[Future[FileEntry]] = field(default_factory=list)
    # The submitted ones not known to be done yet: counting the not-done ones of all of
    # `pending` for each file was quadratic (a million checks for a fresh cluster's backup).
    in_flight: list[Future[FileEntry]] = field(default_factory=list)


def parse_tablespace_map(text: str) -> dict[int, str]:
    """A tablespace_map as pg_backup_stop writes it: `<oid> <location>` per line, a
    backslash escaping a newline, carriage return or backslash of the location."""
    found: dict[int, str] = {}
    for line in re.split(r"(?<!\\)\n", text):
        oid, _, location = line.partition(" ")
        if oid.isdigit() and location:
            found[int(oid)] = re.sub(r"\\(.)", r"\1", location, flags=re.DOTALL)
    return found


def _file_info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = size, mtime
    return info


def _stream_stdout(
    argv: list[str],
    env: dict[str, str],
    received: _Received,
    pool: ThreadPoolExecutor,
    folder: Path,
    parent: _Parent | None,
    key: bytes | None,
    progress: Progress | None,
    url: str,
) -> None:
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stderr is not None
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read() if process.stderr else b""))
    reader.start()
    try:
        _store_tar(_CountingReader(process.stdout, progress), "", received, pool, folder, parent, key, url)
        received.files.extend(f.result() for f in received.pending)
    except tarfile.TarError as exc:
        process.kill()
        process.wait()
        reader.join()
        raise BackupError(f"pg_basebackup: {_error_text(errors, url) or exc}") from None
    except BaseException:
        process.kill()
        process.wait()
        reader.join()
        raise
    code = process.wait()
    reader.join()
    if code != 0:
        raise BackupError(f"pg_basebackup failed: {_error_text(errors, url)}")


def _store_tar(
    raw: Any,
    prefix: str,
    received: _Received,
    pool: ThreadPoolExecutor,
    folder: Path,
    parent: _Parent | None,
    key: bytes | None,
    url: str,
) -> None:
    """Store every file of one tar of pg_basebackup (`prefix`: where it goes in the data
    directory: "" for base.tar, `pg_tblspc/<oid>/` for a tablespace's)."""
    with tarfile.open(fileobj=raw, mode="r|") as archive:
        for member in archive:
            name = (prefix + member.name.removeprefix("./")).rstrip("/")
            if name == prefix.rstrip("/"):
                continue  # the archive's own top folder
            if member.isdir():
                received.directories.append(name)
                continue
            if member.issym() and prefix == "" and name.startswith(f"{TABLESPACE_DIR}/") and name.count("/") == 1:
                oid = name.split("/")[1]
                if oid.isdigit():
                    received.tablespaces[int(oid)] = member.linkname
                    continue
            if member.issym() or member.islnk():
                raise BackupError(f"{name}: a link in the data directory (outside pg_tblspc) is not supported")
            handle: Any = archive.extractfile(member)
            assert handle is not None
            if name == "backup_manifest":
                data = handle.read()
                received.manifest = json.loads(data)
                handle = _BytesReader(data)
            elif name == "tablespace_map":
                # In tar format the server sends this map instead of the pg_tblspc links.
                data = handle.read()
                received.tablespaces.update(parse_tablespace_map(data.decode()))
                handle = _BytesReader(data)
            if member.size <= SMALL_FILE:
                # Read here (the tar stream is sequential), compress in a worker thread.
                buffered = io.BytesIO(handle.read())
                future = pool.submit(_store_member, buffered, name, member, folder, parent, key)
                received.pending.append(future)
                received.in_flight = [f for f in received.in_flight if not f.done()] + [future]
                while len(received.in_flight) > MAX_IN_FLIGHT:
                    wait(received.in_flight, return_when=FIRST_COMPLETED)
                    received.in_flight = [f for f in received.in_flight if not f.done()]
            else:
                received.pending.append(_done(_store_member(handle, name, member, folder, parent, key)))


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

