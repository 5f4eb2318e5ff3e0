"""`nself backup verify`: every stored file of a backup (and of the ancestors an
incremental references) re-read and checked against the manifest's size and sha256, and
every WAL segment of the backup's range present and readable. Problems are named, one per
file; any problem makes the backup unusable."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nself.errors import NselfError
from nself.runtime.backup.codec import check_readable, sha256_file
from nself.runtime.backup.manifest import TABLESPACE_DIR, Manifest, chain, wal_dir_for
from nself.runtime.backup.wal import archived_segments, find_stored, segment_range


@dataclass
class VerifyReport:
    id: str
    kind: str
    files_checked: int = 0
    wal_checked: int = 0
    bytes_checked: int = 0
    problems: list[str] = field(default_factory=list)
    # Physical backups: oid, name, location, size_bytes and files checked of each tablespace.
    tablespaces: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_backup(
    repo: Path, manifest: Manifest, *, key: bytes | None = None, read_files: bool = True, read_wal: bool = True
) -> VerifyReport:
    """With `read_files`/`read_wal` False, only presence and sizes are checked: what a
    restore does up front, since it checks every checksum while it reads the files anyway."""
    report = VerifyReport(manifest.id, manifest.kind)
    if manifest.encrypted:
        from nself.runtime.backup.codec import key_id

        if key is None:
            report.problems.append(f"{manifest.id}: encrypted, and no key was given (NSELF_BACKUP_KEY or [backup] key)")
        elif manifest.key_id and manifest.key_id != key_id(key):
            report.problems.append(f"{manifest.id}: encrypted with another key (wrong key)")
    try:
        ancestors = chain(repo, manifest)
    except NselfError as exc:
        report.problems.append(exc.one_line())
        return report
    report.problems += _check_blocks(repo, manifest, ancestors, key, read=read_files)
    for entry in manifest.files:
        holder = entry.ref or manifest.id
        path = repo / holder / entry.path
        name = f"{holder}/{entry.path}"
        report.files_checked += 1
        if not path.is_file():
            report.problems.append(f"{name}: missing")
            continue
        size = path.stat().st_size
        if size != entry.size:
            report.problems.append(f"{name}: size {size}, the manifest says {entry.size} (truncated or altered)")
            continue
        if read_files and sha256_file(path) != entry.sha256:
            report.problems.append(f"{name}: checksum mismatch (altered)")
            continue
        report.bytes_checked += size
    report.problems += _check_tablespaces(manifest, report)
    if manifest.physical and not manifest.wal_included:
        report.problems += check_wal(wal_dir_for(repo, manifest), manifest, report, key if read_wal else None, read=read_wal)
    return report


def _check_blocks(
    repo: Path, manifest: Manifest, ancestors: list[Manifest], key: bytes | None, *, read: bool
) -> list[str]:
    """The block map (present, its size and sha256, readable, naming only backups of the
    chain) and every delta's chain of versions back to a whole copy (each version's backup
    present). The stored files themselves are checked with the others."""
    from nself.runtime.backup.blocks import read_map
    from nself.runtime.backup.restore import delta_versions

    problems: list[str] = []
    entry = manifest.block_map
    if entry is not None:
        path = repo / manifest.id / entry.path
        name = f"{manifest.id}/{entry.path}"
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry.size:
            problems.append(f"{name}: size {path.stat().st_size}, the manifest says {entry.size} (truncated or altered)")
        elif read and (key is not None or not manifest.encrypted):
            try:
                block_map = read_map(repo, manifest, key)
            except NselfError as exc:
                problems.append(exc.one_line())
            else:
                ids = {m.id for m in ancestors}
                for file, blocks in sorted((block_map.files if block_map else {}).items()):
                    strangers = sorted({holder for holder, _ in blocks.holders} - ids)
                    if strangers:
                        problems.append(f"{name}: {file} names backup {strangers[0]}, not in the chain")
    try:
        versions = delta_versions(repo, manifest)
    except NselfError as exc:
        problems.append(exc.one_line().replace(f"backup {manifest.id} is damaged, nothing was changed: ", ""))
        return problems
    # The older versions a delta is assembled from (the newest is a file of the manifest).
    older = {(v.holder, v.entry.path): v.entry for found in versions.values() for v in found[:-1]}
    for (holder, stored), version in sorted(older.items()):
        path = repo / holder / stored
        name = f"{holder}/{stored}"
        if not path.is_file():
            problems.append(f"{name}: missing (a version a delta of {manifest.id} is assembled from)")
        elif path.stat().st_size != version.size:
            problems.append(f"{name}: size {path.stat().st_size}, the manifest says {version.size} (truncated or altered)")
        elif read and sha256_file(path) != version.sha256:
            problems.append(f"{name}: checksum mismatch (altered)")
    return problems


def _check_tablespaces(manifest: Manifest, report: VerifyReport) -> list[str]:
    """Every file under pg_tblspc/ belongs to a tablespace of the manifest, inside its
    version folder (a restore would not know where to put it otherwise)."""
    from nself.runtime.backup.create import original_path

    problems: list[str] = []
    known = {str(t.oid): t for t in manifest.tablespaces}
    counts = dict.fromkeys(known, 0)
    for entry in manifest.files:
        name = original_path(entry.path)
        if not name.startswith(f"{TABLESPACE_DIR}/"):
            continue
        parts = name.split("/")
        space = known.get(parts[1])
        if space is None and f"{TABLESPACE_DIR}/{parts[1]}" in manifest.directories:
            continue  # an in-place tablespace (a folder of the data directory, not a link)
        if space is None or len(parts) < 4 or parts[2] != space.version_dir:
            problems.append(f"{entry.ref or manifest.id}/{entry.path}: a tablespace file the manifest's tablespaces do not account for")
            continue
        counts[parts[1]] += 1
    report.tablespaces = [
        {"oid": t.oid, "name": t.name, "location": t.location, "size_bytes": t.size_bytes, "files": counts[str(t.oid)]}
        for t in manifest.tablespaces
    ]
    return problems


def check_wal(wal_dir: Path, manifest: Manifest, report: VerifyReport, key: bytes | None, *, read: bool = True) -> list[str]:
    """The segments from the backup's start to its end must be there and readable; later
    ones (what point-in-time recovery replays) must have no gap on the same timeline."""
    problems: list[str] = []
    if manifest.wal_start is None or manifest.wal_stop is None:
        return [f"{manifest.id}: the manifest has no WAL range"]
    size = manifest.wal_segment_size or 16 * 1024 * 1024
    needed = segment_range(manifest.wal_start, manifest.wal_stop, size)
    archived = archived_segments(wal_dir)
    timeline = manifest.wal_start[:8]
    later = sorted(n for n in archived if n[:8] == timeline and n > manifest.wal_stop)
    if later:
        needed += [n for n in segment_range(manifest.wal_stop, later[-1], size)[1:]]
    for name in needed:
        stored = find_stored(wal_dir, name)
        if stored is None:
            problems.append(f"wal/{name}: missing WAL segment (needed by {manifest.id})")
            continue
        if not read:
            report.wal_checked += 1
            continue
        try:
            check_readable(stored, aad=name, key=key)
        except NselfError as exc:
            problems.append(f"wal/{exc.one_line()}")
            continue
        report.wal_checked += 1
    return problems
