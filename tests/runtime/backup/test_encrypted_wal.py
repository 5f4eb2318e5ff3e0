"""`[backup] encrypt = true`: the managed cluster archives its WAL encrypted through
walhelper.py, run by the server user with a Python it can execute; a point-in-time restore
replays it; a wrong key is refused with nothing changed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nself.runtime.backup.service import create_backup, restore_backup
from nself.runtime.backup.wal import archived_segments
from nself.runtime.cluster import hand_to_server_user
from tests.runtime.backup.conftest import BackupProject, discard, fill, make_project

KEY = "5a" * 32


@pytest.fixture
def encrypted_project() -> Iterator[BackupProject]:
    made = make_project('\n[backup]\nencrypt = true\nkey_file = "backup.key"\n')
    key_file = made.root / "backup.key"
    key_file.write_text(KEY)
    key_file.chmod(0o400)
    hand_to_server_user(key_file)  # the archiver (the server user) reads it
    try:
        yield made
    finally:
        made.cluster.stop(immediate=True)
        discard(made.root)


def test_encrypted_wal_archive_and_point_in_time_restore(encrypted_project: BackupProject) -> None:
    project = encrypted_project
    fill(project, "enc_t", 1, 500)
    manifest, _, _ = create_backup(project.project, project.environment)
    assert manifest.encrypted
    segments = archived_segments(project.repo / "wal")
    assert segments and all(p.name.endswith(".zst.enc") for p in segments.values())
    project.sql("INSERT INTO enc_t VALUES (10001, 'before', NULL, NULL, NULL)")
    (moment,) = project.rows("SELECT clock_timestamp()")[0]
    project.sql("INSERT INTO enc_t VALUES (10002, 'after', NULL, NULL, NULL)")
    expected_ids = [(10001,)]

    done = restore_backup(project.project, project.environment, "latest", moment.isoformat())  # type: ignore[attr-defined]
    assert done.reached_at is not None
    assert project.rows("SELECT id FROM enc_t WHERE id > 10000 ORDER BY id") == expected_ids
    assert project.rows("SELECT count(*) FROM enc_t") == [(501,)]


def test_helper_and_codec_read_each_other_and_a_wrong_key_gives_nothing(tmp_path: Path) -> None:
    from nself.runtime.backup import walhelper
    from nself.runtime.backup.codec import parse_key, restore_to, store_file

    key = parse_key(KEY, "test")
    segment = tmp_path / "000000010000000000000005"
    segment.write_bytes(os.urandom(2048) * 64)
    wal = tmp_path / "wal"
    walhelper.push(segment, wal, key)
    walhelper.push(segment, wal, key)  # an archiver's retry with the same content
    restore_to(wal / "000000010000000000000005.zst.enc", tmp_path / "by-codec", aad=segment.name, key=key)
    assert (tmp_path / "by-codec").read_bytes() == segment.read_bytes()
    other = tmp_path / "000000010000000000000006"
    other.write_bytes(b"x" * 50000)
    store_file(other, wal / "000000010000000000000006.zst.enc", aad=other.name, key=key)
    assert walhelper.get(other.name, tmp_path / "by-helper", wal, key)
    assert (tmp_path / "by-helper").read_bytes() == other.read_bytes()
    (tmp_path / "wrong.key").write_text("6b" * 32)
    code = walhelper.main(["get", segment.name, str(tmp_path / "nothing"), str(wal), "--key-file", str(tmp_path / "wrong.key")])
    assert code == 2 and not (tmp_path / "nothing").exists()
    assert walhelper.main(["get", "000000010000000000000007", str(tmp_path / "none"), str(wal)]) == 1
