"""Retention and prune on a real archiving cluster: after prune every kept backup still
restores and the PITR window the policy promises still works."""

from __future__ import annotations

from pathlib import Path

from nself.runtime.backup.manifest import id_order, list_backups
from nself.runtime.backup.retention import RetentionPolicy, plan_prune, prune
from nself.runtime.backup.service import create_backup, restore_backup, verify_command
from nself.runtime.backup.wal import archived_segments, segment_number
from tests.runtime.backup.conftest import BackupProject, fill


def test_prune_keeps_what_kept_backups_and_the_window_need(pruning_project: BackupProject) -> None:
    """On the prune tests' archiving cluster: the backups of the other prune test are pruned
    too (all older than the kept ones), which is what the policy says."""
    p = pruning_project
    fill(p, "ret_t", 1, 100)
    old, _, _ = create_backup(p.project, p.environment)
    p.sql("INSERT INTO ret_t SELECT g, 'x', NULL, NULL, NULL FROM generate_series(101, 200) g")
    full, _, _ = create_backup(p.project, p.environment)
    p.sql("INSERT INTO ret_t SELECT g, 'y', NULL, NULL, NULL FROM generate_series(201, 300) g")
    incr, _, _ = create_backup(p.project, p.environment, incremental=True)
    assert incr.parent == full.id
    p.sql("INSERT INTO ret_t SELECT g, 'z', NULL, NULL, NULL FROM generate_series(301, 400) g")
    (moment,) = p.rows("SELECT clock_timestamp()")[0]
    p.sql("INSERT INTO ret_t SELECT g, 'w', NULL, NULL, NULL FROM generate_series(401, 500) g")

    plan = plan_prune(p.repo, RetentionPolicy(keep_last=1))
    assert plan.keep == [full.id, incr.id]  # the incremental's parent is kept with it
    assert old.id in plan.remove and plan.remove == sorted(plan.remove, key=id_order)  # oldest first
    assert plan.remove_wal and full.wal_start
    prune(p.repo, plan)
    assert [e.id for e in list_backups(p.repo, include_incomplete=True)] == [full.id, incr.id]
    size = full.wal_segment_size
    assert size
    first = segment_number(full.wal_start, size)[1]
    assert all(segment_number(name, size)[1] >= first for name in archived_segments(p.repo / "wal"))

    assert verify_command(p.project, incr.id).ok
    restore_backup(p.project, p.environment, "latest", moment.isoformat())
    assert p.rows("SELECT max(id) FROM ret_t") == [(400,)]


def test_prune_applies_to_received_wal_per_server(tmp_path: Path) -> None:
    """WAL streamed by `backup wal` (wal/received/<system id>/) is pruned against that
    server's oldest kept backup; the managed archive (wal/) is not pruned by it."""
    from nself.runtime.backup.manifest import Manifest, received_wal_dir, write_manifest

    repo = tmp_path / "repo"

    def backup(backup_id: str, wal_start: str) -> None:
        (repo / backup_id).mkdir(parents=True)
        write_manifest(repo / backup_id, Manifest(
            id=backup_id, kind="full", started_at="2026-12-07T10:00:00Z", stopped_at=f"2026-12-07T1{backup_id[10]}:00:00Z",
            system_identifier="42", wal_start=wal_start, wal_stop=wal_start, wal_included=True,
        ))

    backup("20261207T100000Z-full", "000000010000000000000002")
    backup("20261207T110000Z-full", "000000010000000000000005")
    received = received_wal_dir(repo, "42")
    received.mkdir(parents=True)
    for n in range(1, 8):
        (received / f"00000001000000000000000{n}.zst").write_bytes(b"x")
    (repo / "wal" / "000000010000000000000001.zst").write_bytes(b"managed")
    plan = plan_prune(repo, RetentionPolicy(keep_last=1))
    assert plan.remove == ["20261207T100000Z-full"]
    assert plan.remove_wal == [f"received/42/00000001000000000000000{n}.zst" for n in range(1, 5)]
    prune(repo, plan)
    assert sorted(archived_segments(received)) == [f"00000001000000000000000{n}" for n in range(5, 8)]
    assert (repo / "wal" / "000000010000000000000001.zst").exists()


def test_backups_of_one_second_sort_in_the_order_they_were_made(tmp_path: Path) -> None:
    """A full backup, then another full one and an incremental in the same second: each new
    id sorts after the ones already there, whatever their kind (the incremental once got the
    plain id of its second, which sorts first, and prune kept the wrong backup)."""
    from datetime import UTC, datetime, timedelta

    from nself.runtime.backup.manifest import new_backup_id

    repo = tmp_path / "repo"
    repo.mkdir()
    start = datetime(2026, 12, 8, 1, 58, 55, 100_000, tzinfo=UTC)
    made = []
    for step, kind in enumerate(("full", "full", "incremental", "logical")):
        backup_id = new_backup_id(kind, start + timedelta(microseconds=200_000 * step), repo)
        (repo / backup_id).mkdir()
        made.append(backup_id)
    assert made[0] == "20261208T015855Z-full"
    assert sorted(made, key=id_order) == made
    assert len(set(made)) == 4
