"""The manifest of a backup: what it holds, what it needs, and how to check it.

A backup is the folder `<repo>/<id>/`; it is complete exactly when its manifest
(`backup.manifest.json`) exists, and the manifest is written last, atomically (temporary
file, fsync, rename, fsync of the folder). A folder without one was killed or is still
being written: `list_backups` reports it as incomplete, never as a backup to restore.
The manifest never holds a secret: no password, no key, no URL with credentials."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from nself.errors import NselfError, SourceError

MANIFEST_NAME = "backup.manifest.json"
WAL_DIR = "wal"
# 2: block-incremental delta entries and block maps (a reader that knew only 1 would take a
# delta for the whole file). A manifest of a newer format than this reader knows is refused.
FORMAT_VERSION = 2

Kind = Literal["full", "incremental", "logical"]
KINDS: tuple[Kind, ...] = ("full", "incremental", "logical")
# The id's suffix per kind: `20261207T153012Z-full`, sortable by time.
ID_SUFFIX: dict[Kind, str] = {"full": "full", "incremental": "incr", "logical": "logical"}
_ID_PATTERN = re.compile(r"^\d{8}T\d{6}(\d{1,6})?Z-(full|incr|logical)$")


class BackupError(NselfError):
    """A backup that cannot be made, read, verified or restored."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One stored file. `path` is relative to the backup folder that holds it (the one
    named by `ref`, an ancestor backup, when the file is unchanged since it; else this
    one). `size` and `sha256` are of the stored bytes (after compression and encryption);
    `source_*` describe the original file, which incrementals compare."""

    path: str
    size: int
    sha256: str
    ref: str | None = None
    source_size: int | None = None
    source_mtime: float | None = None
    source_sha256: str | None = None
    # A block-incremental delta (backup/blocks.py): the stored object holds only the chunks
    # of the file that changed since the parent's version, which a restore assembles from
    # the chain; `source_sha256` is still the whole file's, checked after assembly.
    delta: bool | None = None


_FILE_FIELDS = tuple(f.name for f in dataclasses.fields(FileEntry))

TABLESPACE_DIR = "pg_tblspc"


@dataclass(frozen=True, slots=True)
class Tablespace:
    """A tablespace of a physical backup: its OID, name, the location it had on the server
    (the target of `pg_tblspc/<oid>`), the server's version folder inside it
    (`PG_15_202209061`, the only part that belongs to the cluster) and the bytes of its
    files. Its files are stored like the data directory's, as `pg_tblspc/<oid>/<version
    folder>/...`, the names PostgreSQL's own backup_manifest gives them."""

    oid: int
    location: str
    version_dir: str
    name: str | None = None
    size_bytes: int = 0

    @property
    def prefix(self) -> str:
        """The start of its files' names, relative to the data directory."""
        return f"{TABLESPACE_DIR}/{self.oid}/"


@dataclass(frozen=True, slots=True)
class Manifest:
    id: str
    kind: Kind
    started_at: str  # ISO 8601, UTC
    stopped_at: str
    parent: str | None = None
    encrypted: bool = False
    compression: str = "zstd"
    size_bytes: int = 0  # stored bytes of this backup's own files (referenced ones excluded)
    source_bytes: int = 0  # bytes of the original files
    pg_version: str | None = None  # server_version, e.g. "15.10"
    system_identifier: str | None = None
    # Physical backups: the WAL range a restore needs to reach the consistent end point.
    start_lsn: str | None = None
    stop_lsn: str | None = None
    timeline: int | None = None
    wal_start: str | None = None  # first WAL segment name needed
    wal_stop: str | None = None  # last WAL segment name needed
    # Logical backups: the database dumped and the per-table checksums in its snapshot.
    database: str | None = None
    table_checksums: dict[str, str] = field(default_factory=dict)
    environment: str | None = None
    wal_segment_size: int | None = None
    # Physical backups: whether the WAL to reach consistency is inside the backup (a server
    # that does not archive into this repository) or in the repository's wal/ folder.
    wal_included: bool = False
    # A server reached over the network whose WAL `nself backup wal` was receiving while the
    # backup was taken: the backup holds no WAL (not stored twice); it replays
    # wal/received/<system identifier>/ like the managed cluster's backups replay wal/.
    wal_received: bool = False
    # A fingerprint of the encryption key (never the key): tells "wrong key" from "corrupt".
    key_id: str | None = None
    # Folders of the data directory, recreated empty by a restore (pg_wal, pg_replslot, ...).
    directories: tuple[str, ...] = ()
    # Tablespaces (physical backups): recreated at their location, or at a new one
    # (`nself restore --tablespace-map OLD=NEW`).
    tablespaces: tuple[Tablespace, ...] = ()
    files: tuple[FileEntry, ...] = ()
    format_version: int = FORMAT_VERSION
    # Physical backups of the managed cluster: the block map (per-chunk digests of the big
    # relation files, backup/blocks.py), a stored file of this backup like the others.
    block_map: FileEntry | None = None

    @property
    def own_files(self) -> list[FileEntry]:
        """The files stored in this backup's folder (not references): its data files and
        its block map."""
        own = [f for f in self.files if f.ref is None]
        return [*own, self.block_map] if self.block_map is not None else own

    @property
    def physical(self) -> bool:
        return self.kind != "logical"

    @property
    def stopped(self) -> datetime:
        return parse_time(self.stopped_at)

    @property
    def started(self) -> datetime:
        return parse_time(self.started_at)

    def to_json(self) -> dict[str, Any]:
        data = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("files", "tablespaces", "block_map")
        }
        if self.block_map is not None:
            data["block_map"] = {
                name: value for name in _FILE_FIELDS if (value := getattr(self.block_map, name)) is not None
            }
        data["directories"] = list(self.directories)
        data["tablespaces"] = [dataclasses.asdict(t) for t in self.tablespaces]
        data["table_checksums"] = dict(self.table_checksums)
        # Not dataclasses.asdict: its deep copy costs a second for a data directory's files.
        data["files"] = [
            {name: value for name in _FILE_FIELDS if (value := getattr(f, name)) is not None} for f in self.files
        ]
        return data

    @classmethod
    def from_json(cls, data: Any, source: Path | str = "<manifest>") -> Manifest:
        if not isinstance(data, dict):
            raise SourceError(source, None, None, "a backup manifest must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        missing = [n for n in ("id", "kind", "started_at", "stopped_at") if n not in data]
        if missing:
            raise SourceError(source, None, None, f"backup manifest lacks {', '.join(missing)}")
        version = data.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise SourceError(
                source, None, None, f"backup manifest of format {version!r}, newer than this nself reads ({FORMAT_VERSION}): upgrade nself"
            )
        if data["kind"] not in KINDS:
            raise SourceError(source, None, None, f"backup manifest: unknown kind {data['kind']!r}")
        values = {k: v for k, v in data.items() if k in names}
        file_names = {f.name for f in dataclasses.fields(FileEntry)}
        try:
            values["files"] = tuple(
                FileEntry(**{k: v for k, v in entry.items() if k in file_names})
                for entry in data.get("files", [])
            )
        except (TypeError, AttributeError) as exc:
            raise SourceError(source, None, None, f"backup manifest: bad files entry ({exc})") from None
        try:
            block_map = values.get("block_map")
            values["block_map"] = (
                FileEntry(**{k: v for k, v in block_map.items() if k in file_names}) if block_map else None
            )
        except (TypeError, AttributeError) as exc:
            raise SourceError(source, None, None, f"backup manifest: bad block_map entry ({exc})") from None
        values["table_checksums"] = dict(values.get("table_checksums") or {})
        values["directories"] = tuple(values.get("directories") or ())
        try:
            values["tablespaces"] = tuple(Tablespace(**entry) for entry in values.get("tablespaces") or ())
        except TypeError as exc:
            raise SourceError(source, None, None, f"backup manifest: bad tablespaces entry ({exc})") from None
        return cls(**values)


# --------------------------------------------------------------------------- time and ids


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_backup_id(kind: Kind, moment: datetime | None = None, repo: Path | None = None) -> str:
    """A sortable id, `20261207T153012Z-full`; with `repo`, one that sorts after every id
    there: a backup made in the same second as another one of any kind gets microseconds
    (id_order puts the id without them first in its second)."""
    moment = (moment or utc_now()).astimezone(UTC)
    second = f"{moment:%Y%m%dT%H%M%S}"
    if repo is not None and repo.is_dir() and any(p.name.startswith(second) for p in repo.iterdir()):
        return f"{second}{moment:%f}Z-{ID_SUFFIX[kind]}"
    return f"{second}Z-{ID_SUFFIX[kind]}"


def is_backup_id(name: str) -> bool:
    return bool(_ID_PATTERN.match(name))


def id_order(name: str) -> tuple[str, str]:
    """The sort key of backup ids, oldest first: `...T153012Z-incr` (the first of that
    second) before `...T153012500000Z-incr` (a later one in the same second), which a plain
    string sort puts the other way round ('Z' sorts after the digits)."""
    match = _ID_PATTERN.match(name)
    if match is None:
        return (name, "")
    return (name[:15] + (match.group(1) or "").ljust(6, "0"), name)


# --------------------------------------------------------------------------- reading and writing


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader sees the old file or the whole new one,
    never a part: temporary file in the same folder, fsync, rename, fsync of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(backup_dir: Path, manifest: Manifest) -> Path:
    """Write the manifest of the backup in `backup_dir`: the last step of a backup."""
    path = backup_dir / MANIFEST_NAME
    text = json.dumps(manifest.to_json(), indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))
    return path


def read_manifest(backup_dir: Path) -> Manifest:
    path = backup_dir / MANIFEST_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BackupError(f"backup {backup_dir.name}: no {MANIFEST_NAME} (incomplete or not a backup)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
    return Manifest.from_json(data, path)


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class BackupEntry:
    """A folder of the repository: a complete backup (`manifest` set) or an incomplete
    one (killed or still running; `problem` says why it is not usable)."""

    id: str
    path: Path
    manifest: Manifest | None
    problem: str | None = None

    @property
    def complete(self) -> bool:
        return self.manifest is not None and self.problem is None


def list_backups(repo: Path, *, include_incomplete: bool = False) -> list[BackupEntry]:
    """The backups of `repo`, oldest first. Only folders with a readable manifest are
    complete; with `include_incomplete`, the others are listed too, with the reason."""
    if not repo.is_dir():
        return []
    entries: list[BackupEntry] = []
    for child in sorted(repo.iterdir(), key=lambda p: id_order(p.name)):
        if not child.is_dir() or not is_backup_id(child.name):
            continue
        try:
            manifest = read_manifest(child)
        except NselfError as exc:
            if include_incomplete:
                problem = (
                    "incomplete (no manifest: killed or in progress)"
                    if not (child / MANIFEST_NAME).exists()
                    else f"unreadable manifest: {exc.one_line()}"
                )
                entries.append(BackupEntry(child.name, child, None, problem))
            continue
        if manifest.id != child.name:
            if include_incomplete:
                entries.append(BackupEntry(child.name, child, None, f"manifest names {manifest.id!r}"))
            continue
        entries.append(BackupEntry(child.name, child, manifest))
    return entries


def complete_backups(repo: Path) -> list[Manifest]:
    """The manifests of the complete backups of `repo`, oldest first."""
    return [e.manifest for e in list_backups(repo) if e.manifest is not None]


def find_backup(repo: Path, backup_id: str) -> Manifest:
    """The manifest of backup `backup_id` (or `latest`, the newest complete one)."""
    backups = complete_backups(repo)
    if backup_id == "latest":
        if not backups:
            raise BackupError(f"no complete backup in {repo}")
        return backups[-1]
    for manifest in backups:
        if manifest.id == backup_id:
            return manifest
    if (repo / backup_id).is_dir():
        raise BackupError(f"backup {backup_id} is incomplete (no manifest: killed or in progress)")
    raise BackupError(f"no backup {backup_id!r} in {repo}")


def chain(repo: Path, manifest: Manifest) -> list[Manifest]:
    """`manifest` and its ancestors, newest first: what an incremental restore reads."""
    result = [manifest]
    seen = {manifest.id}
    current = manifest
    while current.parent is not None:
        if current.parent in seen:
            raise BackupError(f"backup {manifest.id}: its parents form a cycle at {current.parent}")
        try:
            current = read_manifest(repo / current.parent)
        except BackupError:
            raise BackupError(f"backup {manifest.id} needs its parent {current.parent}, which is missing or incomplete") from None
        seen.add(current.id)
        result.append(current)
    return result


# --------------------------------------------------------------------------- the repository

REPOSITORY_DIR = "backups"


def repository_of(state_dir: Path) -> Path:
    """The local backup repository of a project: `<project>/.nself/backups/` (pass the
    project's `state_dir`)."""
    return state_dir / REPOSITORY_DIR


def wal_dir(repo: Path) -> Path:
    return repo / WAL_DIR


RECEIVED_DIR = "received"


def received_wal_dir(repo: Path, system_identifier: str) -> Path:
    """Where `nself backup wal` stores the WAL it streams from a server reached over the
    network: `wal/received/<system identifier>/`, apart from the managed cluster's archive."""
    return repo / WAL_DIR / RECEIVED_DIR / system_identifier


def wal_dir_for(repo: Path, manifest: Manifest) -> Path:
    """The WAL archive a physical backup replays from. A server reached over the network
    (its backups carry the WAL they need to be consistent): what `nself backup wal`
    received from it, `wal/received/<system identifier>/`, which may not exist (then
    recovery uses the backup's own WAL only, never another server's archive). The managed
    cluster: the repository's archive, `wal/`."""
    if (manifest.wal_included or manifest.wal_received) and manifest.system_identifier:
        return received_wal_dir(repo, manifest.system_identifier)
    return wal_dir(repo)
