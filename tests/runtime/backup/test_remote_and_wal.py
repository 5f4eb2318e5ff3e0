"""A server reached by URL (no archive into the repository): the backup carries the WAL it
needs and restores on its own in a drill. And the WAL helper's encrypted round trip."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from nself.runtime.backup.codec import CodecError, parse_key
from nself.runtime.backup.service import create_backup, verify_command
from nself.runtime.backup.wal import get, push
from nself.runtime.project import load_project
from tests.conftest import run_sql, throwaway_cluster
from tests.runtime.backup.conftest import discard


def test_backup_of_a_server_by_url_includes_its_wal() -> None:
    # A cluster of its own: the backup copies, and the drill restores and reads, the whole
    # cluster, which the session's is not by the time this runs (every test's databases).
    with throwaway_cluster("nself-remote-server-") as server:
        database = server.url()
        run_sql(
            database,
            "CREATE TABLE remote_t (id int PRIMARY KEY); INSERT INTO remote_t SELECT generate_series(1, 100)",
        )
        backup_by_url(database)


def backup_by_url(database: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="nself-remote-backup-"))
    try:
        (root / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_TEST_REMOTE_URL"\n')
        os.environ["NSELF_TEST_REMOTE_URL"] = database
        project = load_project(root)
        manifest, _, _ = create_backup(project, project.environment("staging"))
        assert manifest.wal_included and manifest.kind == "full"
        assert any(f.path.startswith("data/pg_wal/0") for f in manifest.files)
        report = verify_command(project, manifest.id, drill=True)
        assert report.ok, report.problems
        assert report.drill is not None and report.drill["tables"] >= 1
    finally:
        os.environ.pop("NSELF_TEST_REMOTE_URL", None)
        discard(root)  # in the background: thousands of files


def test_encrypted_wal_round_trip_and_wrong_key(tmp_path: Path) -> None:
    segment = tmp_path / "000000010000000000000003"
    segment.write_bytes(os.urandom(4096) * 16)
    key = parse_key("33" * 32, "test")
    wal = tmp_path / "wal"
    push(segment, wal, key)
    push(segment, wal, key)  # an archiver retry with the same content is fine
    assert (wal / "000000010000000000000003.zst.enc").exists()
    assert get("000000010000000000000003", tmp_path / "back", wal, key)
    assert (tmp_path / "back").read_bytes() == segment.read_bytes()
    assert not get("000000010000000000000004", tmp_path / "none", wal, key)
    with pytest.raises(CodecError, match="authentication failed"):
        get("000000010000000000000003", tmp_path / "bad", wal, parse_key("44" * 32, "test"))
    assert not (tmp_path / "bad").exists()


def test_plain_wal_commands_are_the_zstd_program(tmp_path: Path) -> None:
    from nself.runtime.backup.wal import archive_command, restore_command

    segment = tmp_path / "000000010000000000000009"
    segment.write_bytes(b"wal" * 10000)
    wal = tmp_path / "wal"
    wal.mkdir()
    run = lambda command: subprocess.run(["/bin/sh", "-c", command], cwd=tmp_path).returncode  # noqa: E731
    push_line = archive_command(wal).replace("%p", str(segment)).replace("%f", segment.name)
    assert run(push_line) == 0 and run(push_line) == 0
    segment.write_bytes(b"other")
    assert run(push_line) != 0  # a different segment under the same name is refused
    back = tmp_path / "restored"
    assert run(restore_command(wal).replace("%f", "000000010000000000000009").replace("%p", str(back))) == 0
    assert back.read_bytes() == b"wal" * 10000
    assert run(restore_command(wal).replace("%f", "00000001000000000000000A").replace("%p", str(back))) != 0
