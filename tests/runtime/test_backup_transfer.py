"""Backups to and from object storage (moto's S3 server, Azurite, a directory): round trip
with the local copy deleted, interrupted uploads never listed complete and resumed, damaged
objects detected by name, sync both ways."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nself.errors import NselfError
from nself.runtime.backup.bundle import BUNDLE_DIR, BUNDLE_FILE_LIMIT, INDEX_NAME, BundleIndex
from nself.runtime.backup.manifest import (
    MANIFEST_NAME,
    FileEntry,
    Manifest,
    complete_backups,
    list_backups,
    write_manifest,
)
from nself.runtime.backup.transfer import (
    TransferReport,
    download_backup,
    download_wal,
    list_remote,
    sync,
    upload_backup,
)
from nself.runtime.storage import ObjectInfo, ObjectStore, StorageError
from tests.storage_servers import make_store

FULL = "20261207T100000Z-full"
INCR = "20261207T110000Z-incr"
LOGICAL = "20261207T120000Z-logical"
WAL_IN_RANGE = ["000000010000000000000002.zst", "000000010000000000000003.zst"]
WAL_LATER = ["000000010000000000000009.zst", "00000002.history.zst"]


@pytest.fixture(params=["local", "s3", "azure"])
def store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[ObjectStore]:
    yield make_store(request.param, request, monkeypatch, tmp_path)


def make_backup(
    repo: Path,
    backup_id: str,
    files: dict[str, int],
    *,
    kind: str = "full",
    parent: str | None = None,
    refs: dict[str, str] | None = None,
    wal: tuple[str, str] | None = ("000000010000000000000002", "000000010000000000000003"),
) -> Manifest:
    """A backup folder as backup-core writes one: files of random bytes, then the manifest
    (through backup-core's manifest module) last."""
    folder = repo / backup_id
    entries = []
    for rel, size in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        entries.append(FileEntry(rel, size, hashlib.sha256(path.read_bytes()).hexdigest()))
    for rel, ancestor in (refs or {}).items():
        source = repo / ancestor / rel
        entries.append(
            FileEntry(
                rel, source.stat().st_size, hashlib.sha256(source.read_bytes()).hexdigest(), ref=ancestor
            )
        )
    manifest = Manifest(
        id=backup_id,
        kind=kind,  # type: ignore[arg-type]
        started_at="2026-12-07T10:00:00.000000Z",
        stopped_at="2026-12-07T10:00:05.000000Z",
        parent=parent,
        size_bytes=sum(files.values()),
        wal_start=wal[0] if wal and kind != "logical" else None,
        wal_stop=wal[1] if wal and kind != "logical" else None,
        files=tuple(entries),
    )
    write_manifest(folder, manifest)
    return manifest


def make_wal(repo: Path, names: list[str]) -> None:
    (repo / "wal").mkdir(parents=True, exist_ok=True)
    for name in names:
        (repo / "wal" / name).write_bytes(os.urandom(3000))


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_upload_delete_download_every_byte_equal(store: ObjectStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_backup(
        repo, FULL, {"base/1.zst": 6 * 1024 * 1024 + 7, "base/2.zst": 100, "global/pg_control.zst": 64}
    )
    make_backup(
        repo,
        INCR,
        {"base/2.zst": 120},
        kind="incremental",
        parent=FULL,
        refs={"base/1.zst": FULL},
        wal=("000000010000000000000003", "000000010000000000000003"),
    )
    make_wal(repo, WAL_IN_RANGE + WAL_LATER)
    before = snapshot(repo)

    report = upload_backup(repo, store, INCR)
    assert report.backups_uploaded == [FULL, INCR]  # the parent it needs, first
    assert "wal/000000010000000000000003.zst" in report.uploaded
    assert "wal/000000010000000000000009.zst" in report.uploaded  # the PITR window past its end
    assert "wal/000000010000000000000002.zst" not in report.uploaded  # before its start
    remote = list_remote(store)
    assert [(b.id, b.complete) for b in remote] == [(FULL, True), (INCR, True)]

    shutil.rmtree(repo)
    manifest = download_backup(repo, store, INCR)
    assert manifest.id == INCR
    assert [m.id for m in complete_backups(repo)] == [FULL, INCR]
    after = snapshot(repo)
    expected = {
        k: v for k, v in before.items() if not k.startswith("wal/") or k.endswith("3.zst") or "history" in k
    }
    assert after == expected

    assert not (repo / "wal" / "000000010000000000000009.zst").exists()  # the backup's range only
    download_wal(repo, store, start="000000010000000000000004")
    assert (repo / "wal" / "000000010000000000000009.zst").exists()  # what a PITR replays


SYSTEM_ID = "7412345678901234567"
RECEIVED = f"wal/received/{SYSTEM_ID}"


def make_received(repo: Path, names: list[str], system_id: str = SYSTEM_ID) -> None:
    """WAL as `nself backup wal` stores it: wal/received/<system id>/, beside .incoming/."""
    folder = repo / "wal" / "received" / system_id
    (folder / ".incoming").mkdir(parents=True, exist_ok=True)
    (folder / ".incoming" / "000000010000000000000010.partial").write_bytes(b"in progress")
    for name in names:
        (folder / name).write_bytes(os.urandom(2000))


def test_received_wal_travels_with_a_remote_servers_backup(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A remote server's backup (its WAL received by `nself backup wal`) restores to a point
    in time from the store alone: upload and sync carry wal/received/, fetch brings it back."""
    import dataclasses

    from nself.runtime.backup.manifest import read_manifest

    store = make_store("s3", request, monkeypatch, tmp_path)
    repo = tmp_path / "repo"
    base = make_backup(repo, FULL, {"base/a.zst": 900})
    remote_backup = dataclasses.replace(
        base, wal_included=True, system_identifier=SYSTEM_ID, environment="production"
    )
    write_manifest(repo / FULL, remote_backup)
    make_wal(repo, WAL_LATER)  # the managed cluster's archive: not this backup's
    make_received(repo, ["000000010000000000000001.zst", *WAL_IN_RANGE, "000000010000000000000004.zst"])

    report = upload_backup(repo, store, FULL)
    uploaded = set(report.uploaded)
    assert {f"{RECEIVED}/{n}" for n in [*WAL_IN_RANGE, "000000010000000000000004.zst"]} <= uploaded
    assert f"{RECEIVED}/000000010000000000000001.zst" not in uploaded  # before the backup
    assert not any(".incoming" in k or k.startswith("wal/0") for k in uploaded)

    # Restore side: nothing local; the backup, then the WAL past its end, from the store.
    elsewhere = tmp_path / "elsewhere"
    fetched = download_backup(elsewhere, store, FULL)
    assert read_manifest(elsewhere / FULL) == fetched == remote_backup
    assert sorted(p.name for p in (elsewhere / RECEIVED).iterdir()) == WAL_IN_RANGE
    download_wal(elsewhere, store, start=fetched.wal_start, folder=RECEIVED)
    assert snapshot(elsewhere / RECEIVED) == {
        n: (repo / RECEIVED / n).read_bytes() for n in [*WAL_IN_RANGE, "000000010000000000000004.zst"]
    }

    # sync: both ways for every received/ folder; --delete mirrors a local prune.
    make_received(repo, ["000000010000000000000005.zst"])
    make_received(elsewhere, ["00000001000000000000000A.zst"], system_id="99")
    assert f"{RECEIVED}/000000010000000000000005.zst" in sync(repo, store).uploaded
    assert "wal/received/99/00000001000000000000000A.zst" in sync(elsewhere, store).uploaded
    assert (elsewhere / RECEIVED / "000000010000000000000005.zst").exists()
    sync(repo, store)
    assert (repo / "wal" / "received" / "99" / "00000001000000000000000A.zst").exists()
    (repo / RECEIVED / "000000010000000000000001.zst").unlink()
    assert sync(repo, store, delete=True).deleted == [f"{RECEIVED}/000000010000000000000001.zst"]
    assert store.exists(f"{RECEIVED}/000000010000000000000002.zst")


class FailingStore:
    """A real store that dies after `allowed` uploads, as a killed `backup upload` would."""

    def __init__(self, inner: ObjectStore, allowed: int) -> None:
        self.inner = inner
        self.allowed = allowed

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def _spend(self, key: str) -> None:
        if self.allowed <= 0:
            raise StorageError(f"connection lost while sending {key}")
        self.allowed -= 1

    def put_file(self, key: str, path: Path, **kwargs: object) -> ObjectInfo:
        self._spend(key)
        return self.inner.put_file(key, path, **kwargs)  # type: ignore[arg-type]

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        self._spend(key)
        return self.inner.put_bytes(key, data)


def test_interrupted_upload_is_never_complete_and_resumes(store: ObjectStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    # Six small files (one bundle) and four of their own object each.
    files = {f"base/{n}.zst": 2000 + n for n in range(6)} | {f"base/big{n}.zst": BUNDLE_FILE_LIMIT + n for n in range(4)}
    make_backup(repo, FULL, files, wal=None)
    before = snapshot(repo)

    with pytest.raises(StorageError, match="connection lost"):
        upload_backup(repo, FailingStore(store, 3), FULL, jobs=1)  # type: ignore[arg-type]
    assert snapshot(repo) == before  # the local backup is intact
    assert [b.id for b in complete_backups(repo)] == [FULL]
    (remote,) = list_remote(store)
    assert not remote.complete and "incomplete" in str(remote.problem)
    assert not store.exists(f"{FULL}/{MANIFEST_NAME}")
    with pytest.raises(NselfError, match="incomplete"):
        download_backup(tmp_path / "elsewhere", store, FULL)

    report = upload_backup(repo, store, FULL)
    # Sent before the interruption (the bundle, two big files), same checksum: not sent again.
    assert sorted(report.skipped) == [f"{FULL}/base/big0.zst", f"{FULL}/base/big1.zst", f"{FULL}/{BUNDLE_DIR}/0001"]
    assert report.uploaded[-2:] == [f"{FULL}/{INDEX_NAME}", f"{FULL}/{MANIFEST_NAME}"]
    assert len(report.uploaded) == 2 + 2  # the rest, the bundle index, then the manifest
    assert report.uploaded[-1] == f"{FULL}/{MANIFEST_NAME}"
    assert [b.complete for b in list_remote(store)] == [True]
    again = upload_backup(repo, store, FULL)
    assert again.uploaded == [] and again.backups_uploaded == []


def test_damaged_remote_object_is_detected_on_download(store: ObjectStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_backup(repo, FULL, {"base/a.zst": 5000, "base/b.zst": 5000}, wal=None)
    upload_backup(repo, store, FULL)
    index = BundleIndex.from_bytes(store.get_bytes(f"{FULL}/{INDEX_NAME}"), "index")
    bundle, item = index.files()["base/b.zst"]
    key = f"{FULL}/{bundle.name}"
    data = bytearray(store.get_bytes(key))
    data[item.offset + 100] ^= 0x01
    store.put_bytes(key, bytes(data))  # consistent metadata: only the index and the manifest know
    assert [b.complete for b in list_remote(store)] == [True]  # same size: the listing cannot tell

    target = tmp_path / "restore-repo"
    with pytest.raises(NselfError, match=r"base/b\.zst is damaged"):
        download_backup(target, store, FULL)
    assert complete_backups(target) == []  # the folder stays incomplete: never restorable
    assert all(not e.complete for e in list_backups(target, include_incomplete=True))

    store.put_bytes(key, bytes(data[:10]))  # truncated: the listing tells
    (remote,) = list_remote(store)
    assert not remote.complete and f"{bundle.name} has 10 bytes" in str(remote.problem)


def test_small_files_travel_in_a_few_bundles(store: ObjectStore, tmp_path: Path) -> None:
    """Hundreds of small files: a handful of objects each way, every file checked against
    the manifest, and a download that stopped half-way resumes."""
    repo = tmp_path / "repo"
    make_backup(repo, FULL, {f"data/base/1/{n}.zst": 100 + n for n in range(400)} | {"data/big.zst": BUNDLE_FILE_LIMIT}, wal=None)
    before = snapshot(repo)
    report = upload_backup(repo, store, FULL)
    assert sorted(report.uploaded) == sorted(
        [f"{FULL}/{BUNDLE_DIR}/0001", f"{FULL}/data/big.zst", f"{FULL}/{INDEX_NAME}", f"{FULL}/{MANIFEST_NAME}"]
    )
    target = tmp_path / "elsewhere"
    got = TransferReport()
    download_backup(target, store, FULL, report=got)
    assert snapshot(target) == before
    assert len(got.downloaded) == 3  # the bundle, the big file, the manifest

    (target / FULL / MANIFEST_NAME).unlink()  # as a download killed before its end leaves it
    (target / FULL / "data/base/1/7.zst").unlink()
    again = TransferReport()
    download_backup(target, store, FULL, report=again)
    assert snapshot(target) == before
    assert again.downloaded == [f"{FULL}/{BUNDLE_DIR}/0001", f"{FULL}/{MANIFEST_NAME}"]


def test_damaged_local_file_is_not_uploaded(store: ObjectStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_backup(repo, FULL, {"base/a.zst": 500}, wal=None)
    path = repo / FULL / "base" / "a.zst"
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(NselfError, match=r"local file base/a\.zst does not match its manifest"):
        upload_backup(repo, store, FULL)
    assert not store.exists(f"{FULL}/{MANIFEST_NAME}")


def test_incomplete_local_backup_is_not_uploaded(store: ObjectStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_backup(repo, FULL, {"base/a.zst": 500}, wal=None)
    (repo / FULL / MANIFEST_NAME).unlink()  # as a killed `backup create` leaves it
    with pytest.raises(NselfError, match="incomplete"):
        upload_backup(repo, store, FULL)
    assert sync(repo, store).incomplete == [f"local:{FULL}"]
    assert list(store.list()) == []


def test_sync_both_ways_then_delete(store: ObjectStore, tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    make_backup(here, FULL, {"base/a.zst": 700})
    make_wal(here, WAL_IN_RANGE)
    make_backup(there, LOGICAL, {"toc.dat.zst": 300, "1234.dat.zst": 900}, kind="logical")
    make_wal(there, WAL_LATER)
    upload_backup(there, store, LOGICAL)
    upload_wal_report = sync(there, store)  # pushes there's WAL too
    assert {"wal/" + n for n in WAL_LATER} <= set(upload_wal_report.uploaded)

    report = sync(here, store)
    assert report.backups_uploaded == [FULL] and report.backups_downloaded == [LOGICAL]
    assert [m.id for m in complete_backups(here)] == [FULL, LOGICAL]
    assert sorted(p.name for p in (here / "wal").iterdir()) == sorted(WAL_IN_RANGE + WAL_LATER)
    assert snapshot(here / LOGICAL) == snapshot(there / LOGICAL)

    again = sync(here, store)
    assert (again.uploaded, again.downloaded, again.deleted) == ([], [], [])

    # After a local prune, a plain sync brings the backup back; --delete mirrors the removal.
    shutil.rmtree(here / LOGICAL)
    (here / "wal" / WAL_LATER[0]).unlink()
    deleting = sync(here, store, delete=True)
    assert deleting.backups_deleted == [LOGICAL]
    assert f"wal/{WAL_LATER[0]}" in deleting.deleted
    assert [b.id for b in list_remote(store)] == [FULL]
    assert not (here / LOGICAL).exists()


def test_fetch_for_restore_brings_a_remote_backup_only_when_needed(tmp_path: Path) -> None:
    from nself.runtime.backup.transfer import fetch_for_restore
    from nself.runtime.project import load_project
    from nself.runtime.storage import configured_store

    (tmp_path / "nself.toml").write_text('[backup.storage]\nprovider = "local"\nbucket = "remote"\n')
    (tmp_path / "remote").mkdir()
    project = load_project(tmp_path)
    _config, store = configured_store(project)
    elsewhere = tmp_path / "elsewhere"
    make_backup(elsewhere, FULL, {"base/a.zst": 300})
    make_wal(elsewhere, WAL_IN_RANGE + WAL_LATER)
    upload_backup(elsewhere, store, FULL)
    sync(elsewhere, store)  # the later WAL too

    repo = tmp_path / ".nself" / "backups"
    fetched = fetch_for_restore(project, repo, "latest")
    assert fetched is not None and fetched.id == FULL
    assert snapshot(repo / FULL) == snapshot(elsewhere / FULL)
    assert not (repo / "wal" / WAL_LATER[0]).exists()  # only the backup's own range
    assert fetch_for_restore(project, repo, FULL) is None  # local now: nothing to fetch
    assert fetch_for_restore(project, repo, "latest") is None
    fetch_for_restore(project, repo, FULL, wal_from="000000010000000000000004")
    assert (repo / "wal" / WAL_LATER[0]).exists()  # for a point-in-time restore past the end
    with pytest.raises(NselfError, match="no backup"):
        fetch_for_restore(project, repo, "20261207T130000Z-full")


def test_block_map_travels_and_is_checked(store: ObjectStore, tmp_path: Path) -> None:
    """A block-incremental backup's block map is a file of its manifest (not of its data
    directory): uploaded, downloaded and checked against its sha256 like the others."""
    repo = tmp_path / "repo"
    plain = make_backup(repo, FULL, {"base/a.zst": 500}, wal=None)
    block_map = repo / FULL / "blockmap.json.zst"
    block_map.write_bytes(os.urandom(300))
    entry = FileEntry(block_map.name, 300, hashlib.sha256(block_map.read_bytes()).hexdigest())
    write_manifest(repo / FULL, dataclasses.replace(plain, block_map=entry))
    before = snapshot(repo)

    damaged = bytearray(before[f"{FULL}/blockmap.json.zst"])
    damaged[0] ^= 0xFF
    block_map.write_bytes(bytes(damaged))
    with pytest.raises(NselfError, match=r"local file blockmap\.json\.zst does not match its manifest"):
        upload_backup(repo, store, FULL)
    block_map.write_bytes(before[f"{FULL}/blockmap.json.zst"])

    upload_backup(repo, store, FULL)
    shutil.rmtree(repo)
    manifest = download_backup(repo, store, FULL)
    assert manifest.block_map == entry
    assert snapshot(repo) == before
