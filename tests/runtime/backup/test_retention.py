"""Retention and prune on a real archiving cluster: after prune every kept backup still
restores and the PITR window the policy promises still works."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nself.runtime.backup.manifest import list_backups
from nself.runtime.backup.retention import RetentionPolicy, plan_prune, prune
from nself.runtime.backup.service import create_backup, restore_backup, verify_command
from nself.runtime.backup.wal import archived_segments, segment_number
from tests.runtime.backup.conftest import BackupProject, discard, fill, make_project


@pytest.fixture(scope="module")
def retention_project() -> Iterator[BackupProject]:
    made = make_project()
    try:
        yield made
    finally:
        made.cluster.stop(immediate=True)
        discard(made.root)


def test_prune_keeps_what_kept_backups_and_the_window_need(retention_project: BackupProject) -> None:
    p = retention_project
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
    assert plan.remove == [old.id]
    assert plan.remove_wal and full.wal_start
    prune(p.repo, plan)
    assert [e.id for e in list_backups(p.repo, include_incomplete=True)] == [full.id, incr.id]
    first = segment_number(full.wal_start)[1]
    assert all(segment_number(name)[1] >= first for name in archived_segments(p.repo / "wal"))

    assert verify_command(p.project, incr.id).ok
    restore_backup(p.project, p.environment, "latest", moment.isoformat())
    assert p.rows("SELECT max(id) FROM ret_t") == [(400,)]
