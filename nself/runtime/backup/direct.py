"""Base backups of the cluster nself manages, read straight from its data directory (as
pgBackRest does for a local cluster) instead of through one replication stream.

`pg_backup_start(label, fast => true)` on a connection held open for the whole backup;
every file of the data directory read, compressed (zstd), optionally encrypted and
checksummed by a pool of threads (zstd, sha256, AES and file reads release the GIL, so the
threads use every core); then `pg_backup_stop()`, whose backup_label (and tablespace_map)
are stored as files of the backup. The WAL from the backup's start to its stop comes from
the managed cluster's archive (the caller waits until the last segment is there).

Tablespaces (`pg_tblspc/<oid>` links) are read from their locations: the server's version
folder there (`PG_15_<catalog version>`), as pg_basebackup sends it, each file named
`pg_tblspc/<oid>/PG_15_.../...` as in PostgreSQL's own backup_manifest.

The files left out are those pg_basebackup leaves out (the contents of pg_wal,
pg_replslot, pg_stat_tmp, ...; postmaster.pid; temporary and unlogged relations' data), and
a `backup_manifest` in PostgreSQL's own format (a SHA256 per file, the WAL range) is
written, so that pg_verifybackup checks a restored copy exactly as it checks one made by
pg_basebackup. A file that changes while it is read is fine: its torn pages are rewritten by
the full-page images in the WAL that recovery replays up to the backup's stop point."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import zstandard

from nself.connection import connect
from nself.runtime.backup.blocks import (
    BLOCK_THRESHOLD,
    BlockPlan,
    DeltaSource,
    DigestingReader,
    Digests,
    delta_aad,
)
from nself.runtime.backup.codec import CHUNK, ZSTD_LEVEL, store_bytes, store_stream
from nself.runtime.backup.manifest import TABLESPACE_DIR, BackupError, FileEntry

Progress = Callable[[int], None]

# What pg_basebackup leaves out (src/backend/backup/basebackup.c, PostgreSQL 15): folders
# whose contents are not backed up (the folder itself is), and files by name at any depth.
EXCLUDED_CONTENTS = frozenset(
    {"pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial", "pg_snapshots", "pg_subtrans"}
)
EXCLUDED_FILES = frozenset(
    {
        "postgresql.auto.conf.tmp",
        "current_logfiles.tmp",
        "backup_label",
        "tablespace_map",
        "backup_manifest",
        "backup_manifest.tmp",
        "postmaster.pid",
        "postmaster.opts",
    }
)
TEMP_PREFIX = "pgsql_tmp"
CONTROL_FILE = "global/pg_control"
RELCACHE_INIT = "pg_internal.init"
# A temporary relation's file: t<backend>_<relfilenode>[_fork][.segment].
TEMP_RELATION = re.compile(r"^t\d+_\d+(_(fsm|vm|init))?(\.\d+)?$")
# A relation's file: <relfilenode>[_fork][.segment].
RELATION = re.compile(r"^(\d+)(_(fsm|vm|init))?(\.\d+)?$")
# Files at least this big are compressed by zstd's own worker threads too: one big relation
# file (a 1 GB table is one file) would otherwise keep a single core busy at the end.
BIG_FILE = 64 << 20
# Files up to this size are read whole and compressed in one call (most of a data
# directory: thousands of files of a few pages).
SMALL_FILE = 4 << 20
THREADS = min(8, (os.cpu_count() or 2) * 2)
ZSTD_THREADS = max(2, os.cpu_count() or 2)


@dataclass(frozen=True, slots=True)
class DirectCopy:
    files: list[FileEntry]
    directories: list[str]
    start_lsn: str
    stop_lsn: str
    timeline: int
    tablespaces: dict[int, str]  # OID -> location


@dataclass(frozen=True, slots=True)
class _Item:
    relative: str
    size: int


def copy_data_directory(
    url: str,
    data_dir: Path,
    folder: Path,
    *,
    label: str,
    version_dir: str,
    reuse: Callable[[str, os.stat_result], FileEntry | None],
    stored_path: Callable[[str], str],
    key: bytes | None,
    progress: Progress | None,
    blocks: BlockPlan | None = None,
) -> DirectCopy:
    """Back up the data directory `data_dir` of the server at `url` into `folder`.
    `reuse(relative, stat)` returns the parent backup's entry for a file whose size and
    time are unchanged (then only its checksum is computed, to confirm it); `stored_path`
    names a file inside the backup folder. `version_dir` is the server's folder inside each
    tablespace's location (`PG_15_<catalog version>`). With `blocks`, the big relation files
    get a block map entry, and those changed since the parent store only their changed
    chunks (backup/blocks.py)."""
    if not os.access(data_dir, os.R_OK | os.X_OK):
        raise BackupError(f"cannot read the data directory {data_dir}")
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backup_start(%s, true)::text", (label,)).fetchone()
        assert row is not None
        try:
            items, directories, locations = _walk(data_dir, version_dir)
            # pg_control after everything else, as pg_basebackup sends it.
            control = [item for item in items if item.relative == CONTROL_FILE]
            rest = [item for item in items if item.relative != CONTROL_FILE]
            files = _copy_all(data_dir, folder, rest, reuse, stored_path, key, progress, blocks)
            files += _copy_all(data_dir, folder, control, reuse, stored_path, key, progress, blocks)
        except BaseException:
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_backup_stop(false)")
            raise
        # false: nself waits for the archive itself (with a timeout and a clear error),
        # where the server would wait forever on a failing archive_command.
        stopped = conn.execute(
            "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)"
        ).fetchone()
    assert stopped is not None
    stop_lsn, label_file, map_file = str(stopped[0]), str(stopped[1]), str(stopped[2] or "")
    start_lsn, timeline = _parse_label(label_file)
    now = time.time()
    extra = [("backup_label", label_file.encode())]
    if map_file:
        extra.append(("tablespace_map", map_file.encode()))
    for name, data in extra:
        files.append(_store_bytes(data, name, folder, stored_path, key, now))
    # As pg_basebackup's plain format: the tablespace_map is kept (a restore writes its
    # own, with the locations it chose) but not listed in the backup_manifest.
    manifest = backup_manifest([f for f in files if f[0] != "tablespace_map"], timeline, start_lsn, stop_lsn)
    files.append(_store_bytes(manifest, "backup_manifest", folder, stored_path, key, now))
    return DirectCopy([entry for _, entry in files], directories, start_lsn, stop_lsn, timeline, locations)


def _parse_label(label_file: str) -> tuple[str, int]:
    start = re.search(r"^START WAL LOCATION: ([0-9A-F]+/[0-9A-F]+)", label_file, re.MULTILINE)
    timeline = re.search(r"^START TIMELINE: (\d+)", label_file, re.MULTILINE)
    if start is None or timeline is None:
        raise BackupError("pg_backup_stop returned a backup_label without a start location")
    return start.group(1), int(timeline.group(1))


def _walk(data_dir: Path, version_dir: str) -> tuple[list[_Item], list[str], dict[int, str]]:
    """The files to back up (biggest first, so the long ones start early), every folder,
    and the tablespaces (OID -> location, the target of `pg_tblspc/<oid>`). A tablespace's
    files are those of the server's version folder in its location (`PG_15_...`, as
    pg_basebackup sends them), named `pg_tblspc/<oid>/<version folder>/...`; the link itself
    is not a folder of the backup (a restore makes it, to the location or a new one)."""
    items: list[_Item] = []
    directories: list[str] = []
    tablespaces: dict[int, str] = {}
    links = data_dir / TABLESPACE_DIR
    if links.is_dir():
        for link in sorted(links.iterdir(), key=lambda p: p.name):
            if link.is_symlink():
                if not link.name.isdigit():
                    raise BackupError(f"{TABLESPACE_DIR}/{link.name}: not a tablespace (its name is not an OID)")
                tablespaces[int(link.name)] = os.readlink(link)
    _walk_tree(data_dir, "", items, directories)
    for oid in tablespaces:
        inside = links / str(oid) / version_dir
        if inside.is_dir():
            prefix = f"{TABLESPACE_DIR}/{oid}/{version_dir}"
            directories.append(prefix)
            _walk_tree(inside, prefix + "/", items, directories)
    items.sort(key=lambda item: -item.size)
    return items, directories, tablespaces


def _walk_tree(top: Path, top_prefix: str, items: list[_Item], directories: list[str]) -> None:
    for root, dirs, names in os.walk(top):
        relative_root = os.path.relpath(root, top)
        prefix = top_prefix if relative_root == "." else top_prefix + relative_root + "/"
        kept_dirs = []
        for name in sorted(dirs):
            if name.startswith(TEMP_PREFIX):
                continue
            if prefix == f"{TABLESPACE_DIR}/" and os.path.islink(os.path.join(root, name)):
                continue  # a tablespace: walked from its location by the caller
            directories.append(prefix + name)
            if name in EXCLUDED_CONTENTS:
                continue
            if prefix == "" and name == "pg_wal":
                directories.append("pg_wal/archive_status")  # the contents are WAL: left out
                continue
            kept_dirs.append(name)
        dirs[:] = kept_dirs
        in_database = prefix.startswith(("base/", f"{TABLESPACE_DIR}/")) or prefix == "global/"
        unlogged = (
            {m.group(1) for n in names if (m := RELATION.match(n)) and m.group(3) == "init"}
            if in_database
            else set()
        )
        for name in names:
            if name in EXCLUDED_FILES or name.startswith((TEMP_PREFIX, RELCACHE_INIT)):
                continue
            if in_database:
                if TEMP_RELATION.match(name):
                    continue
                match = RELATION.match(name)
                if match and match.group(1) in unlogged and match.group(3) != "init":
                    continue  # an unlogged relation: only its init fork, as pg_basebackup
            try:
                info = os.lstat(os.path.join(root, name))
            except FileNotFoundError:
                continue  # dropped meanwhile
            if stat.S_ISLNK(info.st_mode):
                raise BackupError(f"{prefix}{name}: a symbolic link in the data directory is not supported")
            if stat.S_ISREG(info.st_mode):
                items.append(_Item(prefix + name, info.st_size))


class _Counting:
    """A file read through, counting bytes for the progress line (from a worker thread:
    rich's progress is thread-safe)."""

    def __init__(self, raw: IO[bytes], progress: Progress | None) -> None:
        self.raw = raw
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.progress is not None and data:
            self.progress(len(data))
        return data


def _copy_all(
    data_dir: Path,
    folder: Path,
    items: list[_Item],
    reuse: Callable[[str, os.stat_result], FileEntry | None],
    stored_path: Callable[[str], str],
    key: bytes | None,
    progress: Progress | None,
    blocks: BlockPlan | None = None,
) -> list[tuple[str, FileEntry]]:
    for parent in {str(Path(stored_path(item.relative)).parent) for item in items}:
        (folder / parent).mkdir(parents=True, exist_ok=True)

    local = threading.local()

    def compressor() -> zstandard.ZstdCompressor:
        made: zstandard.ZstdCompressor | None = getattr(local, "compressor", None)
        if made is None:
            made = local.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
        return made

    def one(item: _Item) -> tuple[str, FileEntry] | None:
        path = data_dir / item.relative
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return None  # dropped since the walk: recovery removes it anyway
        with handle:
            info = os.fstat(handle.fileno())
            mapped = (
                blocks is not None
                and info.st_size >= BLOCK_THRESHOLD
                and item.relative.startswith(("base/", "global/", f"{TABLESPACE_DIR}/"))
                and bool(RELATION.match(item.relative.rsplit("/", 1)[-1]))
            )
            previous = reuse(item.relative, info)
            if previous is not None:
                digest = hashlib.sha256()
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                if digest.hexdigest() == previous.source_sha256:
                    if progress is not None:
                        progress(info.st_size)
                    if blocks is not None and blocks.parent is not None and mapped:
                        kept = blocks.parent.files.get(item.relative)
                        if kept is not None and kept.size == info.st_size:
                            blocks.made.files[item.relative] = kept
                    return item.relative, previous
                handle.seek(0)
            target = stored_path(item.relative)
            base = blocks.parent.files.get(item.relative) if blocks is not None and blocks.parent is not None else None
            if blocks is not None and mapped and base is not None:
                source = DeltaSource(handle, base, blocks.digest, progress)
                stored = store_stream(source, folder / target, aad=delta_aad(item.relative), key=key, durable=True)
                blocks.made.files[item.relative] = source.entry(blocks.backup_id)
                return item.relative, FileEntry(
                    path=target,
                    size=stored.size,
                    sha256=stored.sha256,
                    source_size=source.size,
                    source_mtime=info.st_mtime,
                    source_sha256=source.sha256.hexdigest(),
                    delta=True,
                )
            digests = Digests(blocks.digest) if blocks is not None and mapped else None
            if info.st_size <= SMALL_FILE:
                data = handle.read()
                stored = store_bytes(
                    data, folder / target, aad=item.relative, key=key, compressor=compressor(), durable=True
                )
                if digests is not None:
                    digests.feed(data)
                if progress is not None:
                    progress(len(data))
            else:
                reader = _Counting(handle, progress)
                stored = store_stream(
                    DigestingReader(reader, digests) if digests is not None else reader,
                    folder / target,
                    aad=item.relative,
                    key=key,
                    durable=True,
                    threads=ZSTD_THREADS if info.st_size >= BIG_FILE else 0,
                )
            if digests is not None and blocks is not None:
                blocks.made.files[item.relative] = digests.finish(blocks.backup_id)
        return item.relative, FileEntry(
            path=target,
            size=stored.size,
            sha256=stored.sha256,
            source_size=stored.source_size,
            source_mtime=info.st_mtime,
            source_sha256=stored.source_sha256,
        )

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = [pool.submit(one, item) for item in items]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            if future.exception() is not None:
                for other in futures:
                    other.cancel()
                raise future.exception()  # type: ignore[misc]
    return [pair for future in futures if (pair := future.result()) is not None]


def _store_bytes(
    data: bytes, name: str, folder: Path, stored_path: Callable[[str], str], key: bytes | None, mtime: float
) -> tuple[str, FileEntry]:
    target = stored_path(name)
    stored = store_stream(io.BytesIO(data), folder / target, aad=name, key=key, durable=True)
    return name, FileEntry(
        target, stored.size, stored.sha256, None, stored.source_size, mtime, stored.source_sha256
    )


def backup_manifest(
    files: list[tuple[str, FileEntry]], timeline: int, start_lsn: str, stop_lsn: str
) -> bytes:
    """A backup_manifest as PostgreSQL writes one (backup_manifest.c): version 1, the files
    with their size, time and SHA256, the WAL range, and the manifest's own SHA256 over every
    line before its last."""
    lines = ['{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [']
    entries = []
    for name, entry in sorted(files, key=lambda pair: pair[0]):
        modified = datetime.fromtimestamp(entry.source_mtime or 0, UTC).strftime("%Y-%m-%d %H:%M:%S GMT")
        entries.append(
            f'{{ "Path": {json.dumps(name)}, "Size": {entry.source_size}, '
            f'"Last-Modified": "{modified}", "Checksum-Algorithm": "SHA256", "Checksum": "{entry.source_sha256}" }}'
        )
    body = lines[0] + "\n" + ",\n".join(entries) + "\n],\n"
    body += f'"WAL-Ranges": [\n{{ "Timeline": {timeline}, "Start-LSN": "{start_lsn}", "End-LSN": "{stop_lsn}" }}\n],\n'
    checksum = hashlib.sha256(body.encode()).hexdigest()
    return (body + f'"Manifest-Checksum": "{checksum}"}}\n').encode()
