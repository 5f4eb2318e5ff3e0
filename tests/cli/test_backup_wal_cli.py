"""`nself backup wal --env E`: a second local cluster reached by URL plays the remote server;
the receiver streams its WAL into the repository, and a physical backup of it is restored
to a point in time into another environment (`restore --to ENV --point-in-time TIME`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

import psycopg
import pytest

from nself.runtime.backup.manifest import received_wal_dir
from nself.runtime.backup.receive import slot_name, wait_until_streaming
from nself.runtime.backup.wal import archived_segments, segment_range
from nself.runtime.cluster import LocalCluster, free_port
from nself.runtime.project import load_project
from tests.clitools import run_nself
from tests.conftest import NewDatabase, throwaway_cluster
from tests.runtime.backup.conftest import discard, init_test_cluster


@pytest.fixture
def remote() -> Iterator[LocalCluster]:
    with throwaway_cluster("nself-wal-remote-") as cluster:
        # In its postgresql.auto.conf, so that the cluster restored from its backup starts
        # without fsync too (throwaway_cluster sets it on the command line only).
        rows(cluster.url(), "ALTER SYSTEM SET fsync = off")
        yield cluster


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def test_wal_receiver_gives_point_in_time_recovery_of_a_remote_server(
    remote: LocalCluster, new_database: NewDatabase
) -> None:
    root = Path(tempfile.mkdtemp(prefix="nself-wal-project-"))
    root.chmod(0o755)  # the scratch cluster's server user reads the received WAL
    (root / "nself.toml").write_text(
        '[environments.remote]\nurl = "env:T_WAL_REMOTE_URL"\n\n[environments.staging]\nurl = "env:T_WAL_STAGING_URL"\n'
    )
    env = {"T_WAL_REMOTE_URL": remote.url(), "T_WAL_STAGING_URL": new_database("walstaging")}
    receiver: subprocess.Popen[str] | None = None
    try:
        rows(remote.url(), "CREATE TABLE events (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp()); INSERT INTO events VALUES (1)")
        created = run_nself("backup", "create", "--env", "remote", "--json", cwd=root, env=env)
        assert created.code == 0, created.stderr
        def start() -> subprocess.Popen[str]:
            return subprocess.Popen(
                [sys.executable, "-P", "-m", "nself", "backup", "wal", "--env", "remote", "--json"],
                cwd=root, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )

        receiver = start()
        repo = root / ".nself" / "backups"
        wait_until_streaming(remote.url(), slot_name(repo))
        assert json.loads(created.stdout)["wal"] == "backup"  # no receiver then: its WAL inside

        # While the receiver streams, a backup takes no WAL of its own (not stored twice).
        streamed = run_nself("backup", "create", "--env", "remote", "--json", cwd=root, env=env)
        assert streamed.code == 0, streamed.stderr
        during = json.loads(streamed.stdout)
        assert during["wal"] == "received"
        assert not list(Path(during["path"]).glob("data/pg_wal/0*"))

        rows(remote.url(), "INSERT INTO events VALUES (2)")
        (moment,) = rows(remote.url(), "SELECT clock_timestamp()")[0]
        time.sleep(0.1)
        rows(remote.url(), "INSERT INTO events VALUES (3)")
        at = moment.astimezone(UTC).isoformat()  # type: ignore[attr-defined]
        done = run_nself("restore", "--to", "staging", "--point-in-time", at, "--yes", "--json", cwd=root, env=env)
        assert done.code == 0, done.stderr
        assert rows(env["T_WAL_STAGING_URL"], "SELECT id FROM events ORDER BY id") == [(1,), (2,)]
        assert json.loads(done.stdout)["id"] == during["id"]  # the newest before TIME, replaying received WAL

        # A second receiver into the same repository is refused; the first one stops on SIGTERM.
        second = run_nself("backup", "wal", "--env", "remote", cwd=root, env=env, timeout=60)
        assert second.code == 1 and "already runs" in second.stderr
        receiver.send_signal(signal.SIGTERM)
        out, err = receiver.communicate(timeout=60)
        assert receiver.returncode == 0, err
        events = [json.loads(line) for line in out.splitlines()]
        assert events[0]["event"] == "streaming" and any(e["event"] == "stored" for e in events)
        (system_identifier,) = rows(remote.url(), "SELECT system_identifier::text FROM pg_control_system()")[0]
        received = received_wal_dir(repo, str(system_identifier))
        assert archived_segments(received) and not archived_segments(repo / "wal")  # apart from a managed archive
        assert all(p.suffix == ".zst" for p in archived_segments(received).values())
        # The slot stays (the server keeps WAL for the receiver's next start).
        assert rows(remote.url(), f"SELECT active FROM pg_replication_slots WHERE slot_name = '{slot_name(repo)}'") == [(False,)]

        # Killed with SIGKILL (pg_receivewal goes with it), started again: it resumes with no gap.
        killed = start()
        wait_until_streaming(remote.url(), slot_name(repo))
        killed.kill()
        killed.wait()
        rows(remote.url(), "INSERT INTO events VALUES (4); SELECT pg_switch_wal()")
        receiver = start()
        wait_until_streaming(remote.url(), slot_name(repo))
        (last,) = rows(remote.url(), "SELECT pg_walfile_name(pg_switch_wal())")[0]
        deadline = time.monotonic() + 60
        while str(last) not in archived_segments(received) and time.monotonic() < deadline:
            time.sleep(0.1)
        receiver.send_signal(signal.SIGTERM)
        _, err = receiver.communicate(timeout=60)
        names = sorted(archived_segments(received))
        assert str(last) in names, err
        assert names == segment_range(names[0], names[-1])  # contiguous
    finally:
        if receiver is not None and receiver.poll() is None:
            receiver.kill()
            receiver.wait()
        discard(root)  # in the background: thousands of files


def test_wal_receiver_refuses_the_managed_cluster(tmp_path: Path) -> None:
    (tmp_path / "nself.toml").write_text(f"[environments.local]\nport = {free_port()}\n")
    done = run_nself("backup", "wal", "--env", "local", cwd=tmp_path, timeout=60)
    assert done.code == 1 and "archives its own WAL" in done.stderr and "Traceback" not in done.stderr


def test_remote_servers_backup_restored_over_the_managed_cluster_to_a_point_in_time(
    remote: LocalCluster,
) -> None:
    """Disaster recovery onto this machine: a remote server's physical backup replaces the
    managed cluster, replaying the WAL the receiver stored up to TIME. Without an ID, a
    point-in-time restore of the managed cluster keeps to the cluster's own backups even
    when the repository holds a remote server's newer ones."""
    root = Path(tempfile.mkdtemp(prefix="nself-wal-over-"))
    root.chmod(0o755)  # the server user reads the archive and the received WAL
    (root / "nself.toml").write_text(
        f'[environments.local]\nport = {free_port()}\n\n[environments.remote]\nurl = "env:T_WAL_REMOTE_URL"\n'
    )
    env = {"T_WAL_REMOTE_URL": remote.url()}
    # The managed cluster with the backup tests' settings and PostgreSQL's default WAL
    # segment size (16 MB); `db query` starts it.
    project = load_project(root)
    init_test_cluster(project, project.environment("local"), wal_segment_mb=None)
    receiver: subprocess.Popen[str] | None = None
    try:
        mine = run_nself("db", "query", "CREATE TABLE mine (id int PRIMARY KEY); INSERT INTO mine VALUES (7)", cwd=root, env=env)
        assert mine.code == 0, mine.stderr
        own = run_nself("backup", "create", "--json", cwd=root, env=env)
        assert own.code == 0, own.stderr

        rows(remote.url(), "CREATE TABLE events (id int PRIMARY KEY); INSERT INTO events VALUES (1)")
        receiver = subprocess.Popen(
            [sys.executable, "-P", "-m", "nself", "backup", "wal", "--env", "remote"],
            cwd=root, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        wait_until_streaming(remote.url(), slot_name(root / ".nself" / "backups"))
        created = run_nself("backup", "create", "--env", "remote", "--json", cwd=root, env=env)
        assert created.code == 0, created.stderr
        theirs = json.loads(created.stdout)
        assert theirs["wal"] == "received"  # its WAL only in wal/received/<system id>/
        rows(remote.url(), "INSERT INTO events VALUES (2)")
        (moment,) = rows(remote.url(), "SELECT clock_timestamp()")[0]
        time.sleep(0.1)
        rows(remote.url(), "INSERT INTO events VALUES (3)")
        at = moment.astimezone(UTC).isoformat()  # type: ignore[attr-defined]

        # No ID: the managed cluster's own history, not the remote server's newer backup.
        own_pitr = run_nself("restore", "--point-in-time", at, "--yes", "--json", cwd=root, env=env)
        assert own_pitr.code == 0, own_pitr.stderr
        assert json.loads(own_pitr.stdout)["id"] == json.loads(own.stdout)["id"]
        assert run_nself("db", "query", "--csv", "SELECT id FROM mine", cwd=root, env=env).stdout.split() == ["id", "7"]

        # The remote server's backup named: the managed cluster becomes that server at TIME.
        done = run_nself("restore", theirs["id"], "--point-in-time", at, "--yes", "--json", cwd=root, env=env)
        assert done.code == 0, done.stderr
        restored = run_nself(
            "db", "query", "--csv",
            "SELECT (SELECT string_agg(id::text, ',' ORDER BY id) FROM events), "
            "(SELECT system_identifier::text FROM pg_control_system()), to_regclass('mine') IS NULL",
            cwd=root, env=env,
        )
        assert restored.code == 0, restored.stderr
        (remote_system,) = rows(remote.url(), "SELECT system_identifier::text FROM pg_control_system()")[0]
        assert restored.stdout.splitlines()[1] == f"\"1,2\",{remote_system},t"
    finally:
        if receiver is not None:
            receiver.send_signal(signal.SIGTERM)
            try:
                receiver.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                receiver.kill()
                receiver.wait()
        run_nself("db", "stop", cwd=root, env=env)
        discard(root)  # in the background: thousands of files
