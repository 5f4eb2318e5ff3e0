"""Backup -> restore against a real PostgreSQL 15 managed cluster that archives its WAL:
PostgreSQL is the oracle (every table's checksum after the restore equals before)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nself.errors import NselfError
from nself.runtime.backup.create import original_path
from nself.runtime.backup.drill import pg_verifybackup
from nself.runtime.backup.manifest import Manifest, list_backups
from nself.runtime.backup.restore import extract
from nself.runtime.backup.service import create_backup, create_logical_backup, restore_backup, verify_command
from nself.runtime.backup.wal import find_stored
from tests.runtime.backup.conftest import BackupProject, fill

KEY = "11" * 32
OTHER_KEY = "22" * 32


def test_full_backup_restores_every_table(backup_project: BackupProject) -> None:
    fill(backup_project, "full_t")
    before = backup_project.checksums()
    manifest, path, _ = create_backup(backup_project.project, backup_project.environment)
    assert manifest.kind == "full" and manifest.parent is None and not manifest.encrypted
    assert (path / "backup.manifest.json").is_file()
    assert manifest.wal_start and manifest.wal_stop and manifest.start_lsn and manifest.stop_lsn
    assert verify_command(backup_project.project, manifest.id).ok

    backup_project.sql("DELETE FROM full_t WHERE id > 10; CREATE TABLE later (x int)")
    assert backup_project.checksums() != before
    result = restore_backup(backup_project.project, backup_project.environment, manifest.id, None)
    assert result.id == manifest.id
    assert backup_project.checksums() == before


def test_incremental_stores_only_changes_and_restores(backup_project: BackupProject) -> None:
    fill(backup_project, "incr_t")
    full, _, _ = create_backup(backup_project.project, backup_project.environment)
    backup_project.sql("UPDATE incr_t SET label = 'changed' WHERE id <= 20")
    expected = backup_project.checksums()
    incr, path, _ = create_backup(backup_project.project, backup_project.environment, incremental=True)
    assert incr.kind == "incremental" and incr.parent == full.id
    referenced = [f for f in incr.files if f.ref]
    assert referenced and len(referenced) > len(incr.files) // 2
    assert incr.size_bytes < full.size_bytes / 4
    for entry in referenced:  # not copied: the bytes stay in the ancestor
        assert not (path / entry.path).exists()
    backup_project.sql("TRUNCATE incr_t")
    restore_backup(backup_project.project, backup_project.environment, incr.id, None)
    assert backup_project.checksums() == expected


def test_encrypted_backup_restores_and_fails_closed(backup_project: BackupProject, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NSELF_BACKUP_KEY", KEY)
    fill(backup_project, "enc_t")
    expected = backup_project.checksums()
    manifest, path, _ = create_backup(backup_project.project, backup_project.environment, encrypt=True)
    assert manifest.encrypted and manifest.key_id
    text = (path / "backup.manifest.json").read_text()
    assert KEY not in text
    stored = next(path.glob("data/base/*/*.enc"))
    assert stored.read_bytes()[:4] == b"NSE1"

    backup_project.sql("DROP TABLE enc_t")
    monkeypatch.setenv("NSELF_BACKUP_KEY", OTHER_KEY)
    wrong = verify_command(backup_project.project, manifest.id)
    assert not wrong.ok and "wrong key" in wrong.problems[0]
    with pytest.raises(NselfError, match="another key"):
        restore_backup(backup_project.project, backup_project.environment, manifest.id, None)
    assert "enc_t" not in backup_project.checksums().__repr__()  # nothing changed

    monkeypatch.setenv("NSELF_BACKUP_KEY", KEY)
    restore_backup(backup_project.project, backup_project.environment, manifest.id, None)
    assert backup_project.checksums() == expected


@pytest.mark.slow
def test_point_in_time_absolute_and_relative(backup_project: BackupProject) -> None:
    backup_project.sql("CREATE TABLE IF NOT EXISTS pitr (id int, at timestamptz DEFAULT clock_timestamp())")
    create_backup(backup_project.project, backup_project.environment)
    backup_project.sql("INSERT INTO pitr (id) VALUES (1)")
    (moment,) = backup_project.rows("SELECT clock_timestamp()")[0]
    backup_project.sql("INSERT INTO pitr (id) VALUES (2)")

    result = restore_backup(backup_project.project, backup_project.environment, "latest", moment.isoformat())
    assert result.reached_at is not None
    assert backup_project.rows("SELECT id FROM pitr ORDER BY id") == [(1,)]

    # Relative: rows committed before "N seconds ago" present, after it absent.
    backup_project.sql("INSERT INTO pitr (id) VALUES (3)")
    (committed,) = backup_project.rows("SELECT max(at) FROM pitr")[0]
    backup_project.sql("SELECT pg_sleep(3)")
    backup_project.sql("INSERT INTO pitr (id) VALUES (4)")
    ago = (datetime.now(UTC) - committed).total_seconds() - 1.5
    restore_backup(backup_project.project, backup_project.environment, "latest", f"{ago:.2f} seconds ago")
    assert backup_project.rows("SELECT id FROM pitr ORDER BY id") == [(1,), (3,)]


def test_point_in_time_outside_the_window_is_refused(backup_project: BackupProject) -> None:
    create_backup(backup_project.project, backup_project.environment)
    backup_project.sql("CREATE TABLE IF NOT EXISTS untouched (x int); INSERT INTO untouched VALUES (7)")
    before = backup_project.checksums()
    with pytest.raises(NselfError, match="before the oldest backup"):
        restore_backup(backup_project.project, backup_project.environment, "latest", "2001-01-01 00:00:00+00:00")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with pytest.raises(NselfError, match="in the future"):
        restore_backup(backup_project.project, backup_project.environment, "latest", future)
    assert backup_project.checksums() == before


@pytest.fixture(scope="module")
def damage_backup(backup_project: BackupProject) -> tuple[Manifest, Path]:
    """One backup the corruption tests damage in turn (each puts it back as it was)."""
    fill(backup_project, "dmg_t")
    manifest, path, _ = create_backup(backup_project.project, backup_project.environment)
    return manifest, path


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing_wal"])
def test_corruption_is_detected_and_refused(
    backup_project: BackupProject, damage_backup: tuple[Manifest, Path], damage: str
) -> None:
    manifest, path = damage_backup
    repo = backup_project.repo
    if damage == "missing_wal":
        assert manifest.wal_stop
        victim = find_stored(repo / "wal", manifest.wal_stop)
        assert victim is not None
        kept = victim.with_name("kept")
        shutil.move(victim, kept)
        name = f"wal/{manifest.wal_stop}"
    else:
        entry = max((f for f in manifest.files if f.ref is None), key=lambda f: f.size)
        victim = path / entry.path
        kept = victim.with_name("kept")
        shutil.copy(victim, kept)
        data = bytearray(victim.read_bytes())
        if damage == "flip":
            data[len(data) // 2] ^= 0x01
        else:
            data = data[: len(data) // 2]
        victim.write_bytes(bytes(data))
        name = entry.path
    try:
        report = verify_command(backup_project.project, manifest.id)
        assert not report.ok
        assert any(name in problem for problem in report.problems), report.problems
        backup_project.sql(f"CREATE TABLE IF NOT EXISTS dmg_{damage} (x int); INSERT INTO dmg_{damage} VALUES (1)")
        before = backup_project.checksums()
        with pytest.raises(NselfError, match="damaged"):
            restore_backup(backup_project.project, backup_project.environment, manifest.id, None)
        assert backup_project.checksums() == before
    finally:
        shutil.move(kept, victim)
    assert verify_command(backup_project.project, manifest.id).ok


def test_logical_backup_restores_and_drills(backup_project: BackupProject) -> None:
    fill(backup_project, "logical_t")
    expected = backup_project.checksums()
    manifest, _, _ = create_logical_backup(backup_project.project, backup_project.environment, jobs=2)
    assert manifest.kind == "logical" and not manifest.physical
    assert manifest.table_checksums == expected
    drilled = verify_command(backup_project.project, manifest.id, drill=True)
    assert drilled.ok and drilled.drill and drilled.drill["btree_indexes"] > 0
    backup_project.sql("DELETE FROM logical_t; CREATE TABLE logical_extra (x int)")
    restore_backup(backup_project.project, backup_project.environment, manifest.id, None)
    assert backup_project.checksums() == expected


def test_restore_drill_of_a_physical_backup(backup_project: BackupProject) -> None:
    fill(backup_project, "drill_t")
    manifest, _, _ = create_backup(backup_project.project, backup_project.environment)
    report = verify_command(backup_project.project, manifest.id, drill=True)
    assert report.ok, report.problems
    assert report.drill is not None and report.drill["tables"] >= 1 and report.drill["btree_indexes"] > 0


def test_listing_shows_every_backup_complete(backup_project: BackupProject) -> None:
    entries = list_backups(backup_project.repo, include_incomplete=True)
    assert entries and all(e.complete for e in entries)


def test_managed_cluster_is_copied_as_pg_basebackup_would_send_it(backup_project: BackupProject, tmp_path: Path) -> None:
    """The managed cluster's files are read from its data directory: the same files
    pg_basebackup sends (no WAL, no postmaster.pid, only the init fork of an unlogged
    table), the backup_label of pg_backup_stop, and a backup_manifest that PostgreSQL's own
    pg_verifybackup accepts, and that catches a changed file."""
    backup_project.sql("CREATE UNLOGGED TABLE IF NOT EXISTS scratch_u (x int); INSERT INTO scratch_u VALUES (1)")
    (unlogged,) = backup_project.rows("SELECT pg_relation_filepath('scratch_u')")[0]
    manifest, _, _ = create_backup(backup_project.project, backup_project.environment)
    names = {original_path(f.path) for f in manifest.files}
    assert {"backup_label", "backup_manifest", "PG_VERSION", "global/pg_control"} <= names
    assert "postmaster.pid" not in names and not any(n.startswith("pg_wal/") for n in names)
    assert f"{unlogged}_init" in names and unlogged not in names
    assert "pg_wal/archive_status" in manifest.directories

    data = tmp_path / "data"
    extract(backup_project.repo, manifest, data, None)
    assert "START WAL LOCATION" in (data / "backup_label").read_text()
    assert pg_verifybackup(data) == []
    victim = data / "PG_VERSION"
    victim.write_text(victim.read_text().replace("1", "9"))
    assert any("PG_VERSION" in p for p in pg_verifybackup(data))

