"""Backups to and from object storage: upload, download, sync, and the remote listing.

The remote layout mirrors the local repository (nself/runtime/backup/__init__.py):

    <prefix>/<id>/<file>                  every file of the backup folder
    <prefix>/<id>/backup.manifest.json    uploaded LAST: the remote backup is complete
    <prefix>/wal/<file>                   the WAL archive of the managed cluster
    <prefix>/wal/received/<system id>/<file>   the WAL `nself backup wal` received

Rules every function keeps:
- an upload reads the local backup and never changes it; it checks each local file against
  the manifest's sha256 before sending it, compares each stored object with it afterwards,
  and puts the manifest last, so an interrupted upload leaves a remote folder without a
  manifest, which `list_remote` reports as incomplete and never as a backup;
- objects already stored with the expected size and sha256 are skipped: a second run
  resumes where the first stopped;
- a download writes each file whole (temporary file, renamed) after comparing its bytes with
  the manifest's sha256, and writes the manifest last: a damaged object stops it with the
  object's name and the local folder stays incomplete;
- nothing is deleted unless `sync(delete=True)` is asked for, and then a remote backup's
  manifest goes first, so a half-deleted backup is never taken for a complete one."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from nself.errors import NselfError
from nself.runtime.backup.bundle import (
    INDEX_NAME,
    Bundle,
    BundleIndex,
    build_bundle,
    bundle_name,
    bundled,
)
from nself.runtime.backup.manifest import (
    MANIFEST_NAME,
    RECEIVED_DIR,
    WAL_DIR,
    BackupError,
    Manifest,
    atomic_write_bytes,
    id_order,
    is_backup_id,
    list_backups,
    read_manifest,
    wal_dir_for,
)
from nself.runtime.storage import ObjectInfo, ObjectStore, StorageError, sha256_file
from nself.runtime.storage.base import sha256_bytes

if TYPE_CHECKING:
    from nself.runtime.project import Project

T = TypeVar("T")
DEFAULT_JOBS = 8


class TransferProgress(Protocol):
    """What a long transfer reports (the CLI draws it with rich); called from worker threads."""

    def add_total(self, nbytes: int) -> None:
        """More bytes are going to move."""

    def advance(self, nbytes: int) -> None:
        """`nbytes` more bytes moved."""

    def note(self, message: str) -> None:
        """What is being done now (a backup id, "WAL")."""


@dataclass
class TransferReport:
    """What a transfer did, by object key (relative to the store's prefix)."""

    uploaded: list[str] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Same name on both sides but different bytes (WAL): left alone, reported.
    conflicts: list[str] = field(default_factory=list)
    # Backups (ids) made complete on the other side, and those left incomplete.
    backups_uploaded: list[str] = field(default_factory=list)
    backups_downloaded: list[str] = field(default_factory=list)
    backups_deleted: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    bytes_moved: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "uploaded": len(self.uploaded),
            "downloaded": len(self.downloaded),
            "skipped": len(self.skipped),
            "deleted": len(self.deleted),
            "conflicts": self.conflicts,
            "backups_uploaded": self.backups_uploaded,
            "backups_downloaded": self.backups_downloaded,
            "backups_deleted": self.backups_deleted,
            "incomplete": self.incomplete,
            "bytes_moved": self.bytes_moved,
        }


@dataclass(frozen=True)
class RemoteBackup:
    """A backup folder of the store: complete (`manifest` set, every file present) or not
    (`problem` says why it must not be used)."""

    id: str
    manifest: Manifest | None
    problem: str | None
    stored_bytes: int
    objects: int

    @property
    def complete(self) -> bool:
        return self.manifest is not None and self.problem is None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "complete": self.complete,
            "problem": self.problem,
            "stored_bytes": self.stored_bytes,
            "objects": self.objects,
        }
        if self.manifest is not None:
            m = self.manifest
            data.update(
                kind=m.kind,
                parent=m.parent,
                encrypted=m.encrypted,
                started_at=m.started_at,
                stopped_at=m.stopped_at,
                size_bytes=m.size_bytes,
                wal_start=m.wal_start,
                wal_stop=m.wal_stop,
            )
        return data


# --------------------------------------------------------------------------- helpers


def _key(backup_id: str, relative: str) -> str:
    return f"{backup_id}/{relative}"


def _local_files(folder: Path) -> dict[str, Path]:
    """Every file of a backup folder by its '/'-separated relative path (temporary files of
    a writer, dot-named, left out)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            found[path.relative_to(folder).as_posix()] = path
    return found


def _wal_files(repo: Path, folder: str = WAL_DIR) -> dict[str, Path]:
    """The stored WAL files of one WAL folder of the repository (`wal`, or
    `wal/received/<system id>`), by name; temporary and dot-named files left out."""
    directory = repo.joinpath(*folder.split("/"))
    if not directory.is_dir():
        return {}
    return {p.name: p for p in sorted(directory.iterdir()) if p.is_file() and not p.name.startswith(".")}


def _wal_folders(repo: Path) -> list[str]:
    """Every WAL folder of the local repository: the archive and each received/ server."""
    received = repo / WAL_DIR / RECEIVED_DIR
    folders = [WAL_DIR]
    if received.is_dir():
        folders += [f"{WAL_DIR}/{RECEIVED_DIR}/{p.name}" for p in sorted(received.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    return folders


def _remote_wal_folders(store: ObjectStore) -> dict[str, list[ObjectInfo]]:
    """The WAL objects of the store by folder (`wal`, `wal/received/<system id>`)."""
    folders: dict[str, list[ObjectInfo]] = {}
    for info in store.list(WAL_DIR + "/"):
        folder, _, name = info.key.rpartition("/")
        received = folder.startswith(f"{WAL_DIR}/{RECEIVED_DIR}/") and folder.count("/") == 2
        if (folder == WAL_DIR or received) and name and not name.startswith("."):
            folders.setdefault(folder, []).append(info)
    return folders


def wal_folder_of(repo: Path, manifest: Manifest) -> str:
    """The repository-relative WAL folder a physical backup replays (see wal_dir_for)."""
    return wal_dir_for(repo, manifest).relative_to(repo).as_posix()


def _wal_in_range(name: str, start: str | None, stop: str | None) -> bool:
    """Whether an archived WAL file belongs to [start, stop] (segment names; timeline
    history files always do)."""
    base = name.split(".", 1)[0]
    if len(base) != 24:
        return True  # 00000002.history and the like: every restore may need them
    return (start is None or base >= start) and (stop is None or base <= stop)


def _parallel(items: Iterable[T], work: Callable[[T], None], jobs: int) -> None:
    """Run `work` on every item with `jobs` threads; the first error stops the rest and is raised."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(work, item) for item in items]
        _done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in futures:
            error = future.exception() if future.done() and not future.cancelled() else None
            if error is not None:
                raise error


class _Counter:
    """Adds moved bytes to the report and to the progress display."""

    def __init__(self, report: TransferReport, progress: TransferProgress | None) -> None:
        self.report = report
        self.progress = progress
        self._lock = threading.Lock()  # called from the transfer threads

    def __call__(self, nbytes: int) -> None:
        with self._lock:
            self.report.bytes_moved += nbytes
        if self.progress is not None:
            self.progress.advance(nbytes)

    def total(self, nbytes: int) -> None:
        if self.progress is not None:
            self.progress.add_total(nbytes)

    def note(self, message: str) -> None:
        if self.progress is not None:
            self.progress.note(message)


# --------------------------------------------------------------------------- upload


def upload_backup(
    repo: Path,
    store: ObjectStore,
    backup_id: str,
    *,
    progress: TransferProgress | None = None,
    jobs: int = DEFAULT_JOBS,
    with_wal: bool = True,
) -> TransferReport:
    """Upload the complete local backup `backup_id` (or `latest`) with the ancestors it
    needs (incrementals), each backup's manifest last, and the WAL from its start on: what
    it needs to be consistent and what a point-in-time restore replays past its end (the
    managed cluster's archive, or what `nself backup wal` received from its server), so a
    restore from the store alone can recover to any time the local repository could."""
    from nself.runtime.backup.manifest import chain, find_backup

    manifest = find_backup(repo, backup_id)
    report = TransferReport()
    counter = _Counter(report, progress)
    for member in reversed(chain(repo, manifest)):  # parents first
        _upload_one(repo, store, member, report, counter, jobs)
    if with_wal and manifest.physical:
        folder = wal_folder_of(repo, manifest)
        wanted = {n: p for n, p in _wal_files(repo, folder).items() if _wal_in_range(n, manifest.wal_start, None)}
        _upload_wal(store, wanted, report, counter, jobs, folder)
    return report


def _upload_one(
    repo: Path, store: ObjectStore, manifest: Manifest, report: TransferReport, counter: _Counter, jobs: int
) -> None:
    folder = repo / manifest.id
    manifest_path = folder / MANIFEST_NAME
    manifest_sha = sha256_file(manifest_path)
    manifest_key = _key(manifest.id, MANIFEST_NAME)
    counter.note(f"uploading {manifest.id}")
    remote = {o.key: o for o in store.list(manifest.id + "/")}
    remote_manifest = store.stat(manifest_key) if manifest_key in remote else None
    if remote_manifest is not None and remote_manifest.sha256 != manifest_sha:
        # Another manifest under the same id: the remote backup stops being complete while
        # its files are replaced, so no reader takes a mix for a backup.
        store.delete(manifest_key)
        remote_manifest = None
    expected = {f.path: f for f in manifest.own_files}
    files = {rel: path for rel, path in _local_files(folder).items() if rel != MANIFEST_NAME}
    missing = sorted(set(expected) - set(files))
    if missing:
        raise BackupError(f"backup {manifest.id}: file {missing[0]} of its manifest is missing locally; not uploaded")

    groups = bundled(files)
    in_bundles = {rel for group in groups for rel in group}

    def stored_as(key: str, sha256: str, size: int) -> bool:
        present = remote.get(key)
        if present is None or present.size != size:
            return False
        stored = store.stat(key)
        return stored is not None and stored.sha256 == sha256

    def plan(rel: str) -> tuple[str, str | None] | None:
        """(relative path, expected sha256) when the file must be sent; None to skip it."""
        key = _key(manifest.id, rel)
        entry = expected.get(rel)
        present = remote.get(key)
        if present is not None and present.size == files[rel].stat().st_size:
            stored = store.stat(key)
            if stored is not None and stored.sha256 is not None:
                wanted = entry.sha256 if entry else sha256_file(files[rel])
                if stored.sha256 == wanted:
                    report.skipped.append(key)
                    return None
        return rel, entry.sha256 if entry else None

    # The small files, a few bundles (built again the same way by a resumed upload).
    packed: list[Bundle | None] = [None] * len(groups)

    def pack(number: int) -> None:
        bundle, blob = build_bundle(bundle_name(number + 1), groups[number], files)
        for item in bundle.files:
            entry = expected.get(item.path)
            if entry is not None and item.sha256 != entry.sha256:
                raise BackupError(
                    f"backup {manifest.id}: local file {item.path} does not match its manifest checksum (damaged); not uploaded"
                )
        packed[number] = bundle
        key = _key(manifest.id, bundle.name)
        if stored_as(key, bundle.sha256, bundle.size):
            report.skipped.append(key)
            return
        counter.total(bundle.size)
        store.put_bytes(key, blob)
        counter(bundle.size)
        report.uploaded.append(key)

    _parallel(range(len(groups)), pack, jobs)

    todo: list[tuple[str, str | None]] = []
    singles = [rel for rel in sorted(files) if rel not in in_bundles]
    _parallel(singles, lambda rel: _append_if(todo, plan(rel)), jobs)
    counter.total(sum(files[rel].stat().st_size for rel, _ in todo))

    def send(item: tuple[str, str | None]) -> None:
        rel, wanted = item
        path = files[rel]
        actual = sha256_file(path)
        if wanted is not None and actual != wanted:
            raise BackupError(
                f"backup {manifest.id}: local file {rel} does not match its manifest checksum (damaged); not uploaded"
            )
        key = _key(manifest.id, rel)
        store.put_file(key, path, sha256=actual, progress=counter)
        report.uploaded.append(key)

    _parallel(sorted(todo), send, jobs)
    if groups:
        # After the bundles, before the manifest: what says where each small file is.
        index = BundleIndex(tuple(b for b in packed if b is not None)).to_bytes()
        index_key = _key(manifest.id, INDEX_NAME)
        if stored_as(index_key, sha256_bytes(index), len(index)):
            report.skipped.append(index_key)
        else:
            store.put_bytes(index_key, index)
            report.uploaded.append(index_key)
    if remote_manifest is None:
        # Last, and only after every other object was compared with the local bytes.
        store.put_file(manifest_key, manifest_path, sha256=manifest_sha)
        report.uploaded.append(manifest_key)
        report.backups_uploaded.append(manifest.id)
    else:
        report.skipped.append(manifest_key)


def _append_if(target: list[T], item: T | None) -> None:
    if item is not None:
        target.append(item)  # list.append is atomic under the GIL


def _upload_wal(
    store: ObjectStore,
    files: dict[str, Path],
    report: TransferReport,
    counter: _Counter,
    jobs: int,
    folder: str = WAL_DIR,
    remote_objects: list[ObjectInfo] | None = None,
) -> None:
    if not files:
        return
    counter.note("uploading WAL")
    if remote_objects is None:
        remote_objects = _remote_wal_folders(store).get(folder, [])
    remote = {o.key: o for o in remote_objects}
    todo: list[str] = []
    for name, path in files.items():
        key = f"{folder}/{name}"
        present = remote.get(key)
        if present is None:
            todo.append(name)
        elif present.size == path.stat().st_size:
            report.skipped.append(key)
        else:
            report.conflicts.append(key)
    counter.total(sum(files[n].stat().st_size for n in todo))

    def send(name: str) -> None:
        key = f"{folder}/{name}"
        store.put_file(key, files[name], progress=counter)
        report.uploaded.append(key)

    _parallel(todo, send, jobs)


def upload_wal(
    repo: Path, store: ObjectStore, *, progress: TransferProgress | None = None, jobs: int = DEFAULT_JOBS
) -> TransferReport:
    """Upload the WAL files of the local repository (the archive and every received/
    folder) that the store lacks."""
    report = TransferReport()
    counter = _Counter(report, progress)
    remote = _remote_wal_folders(store)
    for folder in _wal_folders(repo):
        _upload_wal(store, _wal_files(repo, folder), report, counter, jobs, folder, remote.get(folder, []))
    return report


# --------------------------------------------------------------------------- listing


def list_remote(store: ObjectStore) -> list[RemoteBackup]:
    """The backup folders of the store, oldest first, complete or not. A folder is complete
    when its manifest is there, readable, names it, and every file the manifest lists is
    stored with its size."""
    folders: dict[str, dict[str, ObjectInfo]] = {}
    for info in store.list():
        head, _, rest = info.key.partition("/")
        if rest and is_backup_id(head):
            folders.setdefault(head, {})[rest] = info
    backups: list[RemoteBackup] = []
    for backup_id in sorted(folders, key=id_order):
        objects = folders[backup_id]
        stored = sum(o.size for o in objects.values())
        manifest: Manifest | None = None
        problem: str | None = None
        if MANIFEST_NAME not in objects:
            problem = "incomplete (no manifest: upload interrupted or in progress)"
        else:
            try:
                manifest = _parse_manifest(store.get_bytes(_key(backup_id, MANIFEST_NAME)), store, backup_id)
                index = _read_index(store, backup_id, objects)
            except NselfError as exc:
                problem = f"unreadable manifest: {exc.one_line()}"
            else:
                problem = _damage(manifest, objects, index)
        backups.append(RemoteBackup(backup_id, manifest, problem, stored, len(objects)))
    return backups


def _damage(manifest: Manifest, objects: dict[str, ObjectInfo], index: BundleIndex | None) -> str | None:
    inside = index.files() if index is not None else {}
    for entry in manifest.own_files:
        placed = inside.get(entry.path)
        if placed is not None:
            bundle, item = placed
            held = objects.get(bundle.name)
            if held is None:
                return f"damaged: {bundle.name} (holding file {entry.path}) is missing"
            if held.size != bundle.size:
                return f"damaged: {bundle.name} has {held.size} bytes, its index says {bundle.size}"
            if item.size != entry.size or item.sha256 != entry.sha256:
                return f"damaged: file {entry.path} in {bundle.name} is not the one of the manifest"
            continue
        found = objects.get(entry.path)
        if found is None:
            return f"damaged: file {entry.path} is missing"
        if found.size != entry.size:
            return f"damaged: file {entry.path} has {found.size} bytes, the manifest says {entry.size}"
    return None


def _read_index(store: ObjectStore, backup_id: str, objects: dict[str, ObjectInfo]) -> BundleIndex | None:
    """The bundle index of a remote backup (None when its files are all single objects)."""
    if INDEX_NAME not in objects:
        return None
    key = _key(backup_id, INDEX_NAME)
    return BundleIndex.from_bytes(store.get_bytes(key), f"{store.description}/{key}")


def _parse_manifest(data: bytes, store: ObjectStore, backup_id: str) -> Manifest:
    source = f"{store.description}/{backup_id}/{MANIFEST_NAME}"
    try:
        manifest = Manifest.from_json(json.loads(data.decode("utf-8")), source)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StorageError(f"{source}: not a JSON manifest ({exc})") from None
    if manifest.id != backup_id:
        raise StorageError(f"{source}: the manifest names backup {manifest.id!r}")
    return manifest


# --------------------------------------------------------------------------- download


def _write_unsynced(path: Path, data: bytes) -> None:
    """Write a file whole (temporary file, renamed) without its own fsync: the caller
    flushes the file system once after writing them all (see flush_file_system)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".nself-tmp-{path.name}.{uuid.uuid4().hex[:8]}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def flush_file_system(folder: Path) -> None:
    """Make everything written under `folder` durable with one call: syncfs(2) of its file
    system where the C library has it, sync(2) otherwise (one flush instead of an fsync per
    small file)."""
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        if syncfs(descriptor) != 0:
            os.sync()
    finally:
        os.close(descriptor)



def download_backup(
    repo: Path,
    store: ObjectStore,
    backup_id: str,
    *,
    progress: TransferProgress | None = None,
    jobs: int = DEFAULT_JOBS,
    with_wal: bool = True,
    report: TransferReport | None = None,
) -> Manifest:
    """Bring the remote backup `backup_id` (or `latest`, the newest complete remote one),
    the ancestors it needs and the WAL of its range into the local repository; returns its
    manifest (and fills `report` when given). What restore calls when the backup is not
    local (see also `download_wal`)."""
    report = report if report is not None else TransferReport()
    return _download(repo, store, backup_id, report, _Counter(report, progress), jobs, with_wal)


def _download(
    repo: Path, store: ObjectStore, backup_id: str, report: TransferReport, counter: _Counter, jobs: int, with_wal: bool
) -> Manifest:
    if backup_id == "latest":
        complete = [b for b in list_remote(store) if b.complete]
        if not complete:
            raise BackupError(f"no complete backup in {store.description}")
        backup_id = complete[-1].id
    # Read the whole chain first, then download parents before children: a child never
    # becomes complete locally while the parent it needs is missing.
    chain: list[tuple[Manifest, bytes]] = []
    current: str | None = backup_id
    while current is not None:
        if any(m.id == current for m, _ in chain):
            raise BackupError(f"backup {backup_id}: its parents form a cycle at {current}")
        manifest_key = _key(current, MANIFEST_NAME)
        if not store.exists(manifest_key):
            if any(True for _ in store.list(current + "/")):
                raise BackupError(f"remote backup {current} is incomplete (no manifest): it cannot be downloaded")
            raise BackupError(f"no backup {current!r} in {store.description}")
        data = store.get_bytes(manifest_key)
        manifest = _parse_manifest(data, store, current)
        chain.append((manifest, data))
        current = manifest.parent
    for manifest, data in reversed(chain):
        _download_one(repo, store, manifest, data, report, counter, jobs)
    target = chain[0][0]
    if with_wal and target.physical:
        folder = wal_folder_of(repo, target)
        _download_wal(repo, store, report, counter, jobs, target.wal_start, target.wal_stop, folder)
    return target


def _download_one(
    repo: Path,
    store: ObjectStore,
    manifest: Manifest,
    manifest_bytes: bytes,
    report: TransferReport,
    counter: _Counter,
    jobs: int,
) -> None:
    folder = repo / manifest.id
    local_manifest = folder / MANIFEST_NAME
    if local_manifest.is_file():
        if local_manifest.read_bytes() != manifest_bytes:
            raise BackupError(
                f"backup {manifest.id}: the local and the remote manifests differ; not overwriting the local backup"
            )
        report.skipped.append(_key(manifest.id, MANIFEST_NAME))
        return
    counter.note(f"downloading {manifest.id}")
    objects = {o.key[len(manifest.id) + 1 :]: o for o in store.list(manifest.id + "/")}
    objects.pop(MANIFEST_NAME, None)
    index = _read_index(store, manifest.id, objects)
    damage = _damage(manifest, objects, index)
    if damage:
        raise BackupError(f"remote backup {manifest.id} is {damage}")
    objects.pop(INDEX_NAME, None)
    bundles = index.bundles if index is not None else ()
    inside = index.files() if index is not None else {}
    for bundle in bundles:
        objects.pop(bundle.name, None)
    expected = {f.path: f.sha256 for f in manifest.own_files}

    def have(rel: str, size: int) -> bool:
        local = folder.joinpath(*rel.split("/"))
        return local.is_file() and local.stat().st_size == size and expected.get(rel) == sha256_file(local)

    todo: list[str] = []
    for rel, info in sorted(objects.items()):
        if rel in inside:
            continue  # a leftover single object of an older upload: the bundle is the reference
        if have(rel, info.size):
            report.skipped.append(_key(manifest.id, rel))  # a previous download got it
        else:
            todo.append(rel)
    wanted: list[Bundle] = []
    for bundle in bundles:
        if all(have(f.path, f.size) for f in bundle.files):
            report.skipped.append(_key(manifest.id, bundle.name))
        else:
            wanted.append(bundle)
    counter.total(sum(objects[rel].size for rel in todo) + sum(b.size for b in wanted))

    def fetch(rel: str) -> None:
        key = _key(manifest.id, rel)
        # Files of the manifest are checked against it; any other against its stored sha256.
        store.get_file(key, folder.joinpath(*rel.split("/")), sha256=expected.get(rel), progress=counter)
        report.downloaded.append(key)

    def unpack(bundle: Bundle) -> None:
        key = _key(manifest.id, bundle.name)
        data = store.get_bytes(key)  # checked against the sha256 stored with it
        for item in bundle.files:
            piece = data[item.offset : item.offset + item.size]
            actual = sha256_bytes(piece)
            want = expected.get(item.path) or item.sha256
            if len(piece) != item.size or actual != want:
                raise BackupError(
                    f"remote backup {manifest.id}: {item.path} is damaged (in {key}): sha256 {actual[:12]}… "
                    f"of the bytes received, {want[:12]}… expected"
                )
            _write_unsynced(folder.joinpath(*item.path.split("/")), piece)
        if sha256_bytes(data) != bundle.sha256:
            raise BackupError(f"remote backup {manifest.id}: {key} is damaged (not the bytes of its index)")
        counter(bundle.size)
        report.downloaded.append(key)

    _parallel(wanted, unpack, jobs)
    _parallel(todo, fetch, jobs)
    if wanted:
        flush_file_system(folder)  # the unpacked files, durable before the manifest says complete
    atomic_write_bytes(local_manifest, manifest_bytes)  # last: now the local backup is complete
    read_manifest(folder)
    report.downloaded.append(_key(manifest.id, MANIFEST_NAME))
    report.backups_downloaded.append(manifest.id)


def download_wal(
    repo: Path,
    store: ObjectStore,
    *,
    start: str | None = None,
    stop: str | None = None,
    progress: TransferProgress | None = None,
    jobs: int = DEFAULT_JOBS,
    folder: str = WAL_DIR,
) -> TransferReport:
    """Bring the remote WAL files of `folder` (the archive, or `wal/received/<system id>`)
    from segment `start` to `stop` (both optional; history files always) that the local
    repository lacks: what a point-in-time restore replays."""
    report = TransferReport()
    _download_wal(repo, store, report, _Counter(report, progress), jobs, start, stop, folder)
    return report


def _download_wal(
    repo: Path,
    store: ObjectStore,
    report: TransferReport,
    counter: _Counter,
    jobs: int,
    start: str | None,
    stop: str | None,
    folder: str = WAL_DIR,
    remote_objects: list[ObjectInfo] | None = None,
) -> None:
    local = _wal_files(repo, folder)
    todo: list[ObjectInfo] = []
    if remote_objects is None:
        remote_objects = _remote_wal_folders(store).get(folder, [])
    for info in remote_objects:
        name = info.key[len(folder) + 1 :]
        if "/" in name or not _wal_in_range(name, start, stop):
            continue
        if name in local:
            if local[name].stat().st_size != info.size:
                report.conflicts.append(info.key)
            else:
                report.skipped.append(info.key)
            continue
        todo.append(info)
    if not todo:
        return
    counter.note("downloading WAL")
    counter.total(sum(i.size for i in todo))
    directory = repo.joinpath(*folder.split("/"))

    def fetch(info: ObjectInfo) -> None:
        store.get_file(info.key, directory / info.key[len(folder) + 1 :], progress=counter)
        report.downloaded.append(info.key)

    _parallel(todo, fetch, jobs)


# --------------------------------------------------------------------------- sync


def sync(
    repo: Path,
    store: ObjectStore,
    *,
    delete: bool = False,
    progress: TransferProgress | None = None,
    jobs: int = DEFAULT_JOBS,
) -> TransferReport:
    """Make the local repository and the store hold the same complete backups and WAL.

    Without `delete`, both ways: local backups the store lacks (or holds incomplete or
    damaged) are uploaded, complete remote backups missing locally are downloaded, WAL files
    go where they are missing. With `delete`, the local repository is the reference: remote
    backups and WAL files it does not hold are deleted instead of downloaded (after a local
    prune). Local incomplete backups (killed or running) are never uploaded."""
    report = TransferReport()
    counter = _Counter(report, progress)
    local_entries = list_backups(repo, include_incomplete=True)
    local_complete = {e.id for e in local_entries if e.complete}
    report.incomplete.extend(f"local:{e.id}" for e in local_entries if not e.complete)
    remote = {b.id: b for b in list_remote(store)}
    for backup_id in sorted(local_complete):
        found = remote.get(backup_id)
        if found is not None and found.complete:
            continue
        _upload_one(repo, store, read_manifest(repo / backup_id), report, counter, jobs)
    for backup_id, found in sorted(remote.items()):
        if backup_id in local_complete:
            continue
        if delete:
            _delete_remote(store, backup_id, report)
        elif found.complete:
            _download(repo, store, backup_id, report, counter, jobs, with_wal=False)
        else:
            report.incomplete.append(f"remote:{backup_id}")
    # WAL: the managed cluster's archive and each folder `nself backup wal` received into.
    remote_wal = _remote_wal_folders(store)
    local_folders = _wal_folders(repo)
    for folder in sorted(set(local_folders) | set(remote_wal)):
        local_wal = _wal_files(repo, folder)
        objects = remote_wal.get(folder, [])
        _upload_wal(store, local_wal, report, counter, jobs, folder, objects)
        if delete:
            for info in objects:
                if info.key[len(folder) + 1 :] not in local_wal:
                    store.delete(info.key)
                    report.deleted.append(info.key)
        else:
            _download_wal(repo, store, report, counter, jobs, None, None, folder, objects)
    return report


def _delete_remote(store: ObjectStore, backup_id: str, report: TransferReport) -> None:
    """Delete a remote backup folder, its manifest first (never a complete-looking half)."""
    keys = [o.key for o in store.list(backup_id + "/")]
    manifest_key = _key(backup_id, MANIFEST_NAME)
    for key in sorted(keys, key=lambda k: k != manifest_key):
        store.delete(key)
        report.deleted.append(key)
    report.backups_deleted.append(backup_id)



# --------------------------------------------------------------------------- for restore


def fetch_for_restore(
    project: Project,
    repo: Path,
    backup_id: str,
    *,
    wal_from: str | None = None,
    progress: TransferProgress | None = None,
) -> Manifest | None:
    """What restore calls before it reads `backup_id` (or `latest`) from `repo`: when the
    backup is not complete locally and the project has `[backup.storage]`, download it (with
    its parents and the WAL of its range) and return its manifest. With `wal_from`, also the
    remote WAL from that segment on (a point-in-time restore replays past the backup's end).
    None when nothing was fetched: the backup is local, or no storage is configured."""
    from nself.runtime.backup.manifest import find_backup
    from nself.runtime.storage import configured_store, storage_config

    if storage_config(project.config, project.config_path) is None:
        return None

    def wal_past_the_end(manifest: Manifest | None) -> None:
        if wal_from is not None:
            folder = wal_folder_of(repo, manifest) if manifest is not None and manifest.physical else WAL_DIR
            download_wal(repo, store, start=wal_from, progress=progress, folder=folder)

    local_ids = {e.id for e in list_backups(repo) if e.complete}
    if backup_id != "latest" and backup_id in local_ids:
        if wal_from is None:
            return None
        _config, store = configured_store(project)
        local = find_backup(repo, backup_id)
        wal_past_the_end(local)
        return local
    _config, store = configured_store(project)
    if backup_id == "latest":
        remote = [b.id for b in list_remote(store) if b.complete]
        newest_local = max(local_ids, default=None)
        if not remote or (newest_local is not None and newest_local >= remote[-1]):
            wal_past_the_end(find_backup(repo, "latest") if local_ids else None)
            return None
        backup_id = remote[-1]
    manifest = download_backup(repo, store, backup_id, progress=progress)
    wal_past_the_end(manifest)
    return manifest
