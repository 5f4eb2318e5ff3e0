"""A project whose managed cluster archives its WAL into the project's backup repository,
as `nself db start` sets it up: one per test session (per xdist worker), shared by the test
modules that do not need a pristine one. Each test works on its own tables and backups
(restores replace the data, so a test never relies on another's tables surviving)."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from nself.runtime.backup.logical import table_checksums
from nself.runtime.backup.repository import BackupConfig, backup_config
from nself.runtime.cluster import LocalCluster, free_port
from nself.runtime.local import local_cluster, start_local
from nself.runtime.project import Environment, Project, load_project


@dataclass
class BackupProject:
    root: Path
    project: Project
    environment: Environment
    cluster: LocalCluster

    @property
    def url(self) -> str:
        return self.environment.url()

    @property
    def config(self) -> BackupConfig:
        return backup_config(self.project)

    @property
    def repo(self) -> Path:
        return self.config.repository

    def sql(self, text: str) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(text)  # type: ignore[arg-type]

    def rows(self, query: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(query).fetchall()  # type: ignore[arg-type]

    def checksums(self) -> dict[str, str]:
        """The oracle: md5(string_agg(t::text, '' ORDER BY t::text)) of every table."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            return table_checksums(conn)


def discard(root: Path) -> None:
    """Delete a test project in the background: thousands of small backup files take
    seconds to unlink on a busy disk, and nothing waits for them."""
    subprocess.Popen(["rm", "-rf", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


# The test projects' clusters, set in their postgresql.conf as a user could (so their
# backups carry it, and the clusters restored from them start the same): no fsync, whose
# cost on a busy disk is most of a restore's (the server syncs the whole data directory
# before recovery, then checkpoints); commits do not wait for the WAL flush. Only a crash
# of the machine, not a killed process, loses anything then.
TEST_SETTINGS = "\n# nself's backup tests\nfsync = off\nsynchronous_commit = off\n"

# A WAL segment of 1 MB instead of PostgreSQL's 16 (initdb --wal-segsize): each backup
# and point-in-time restore switches to a new segment, which is written, compressed,
# archived and read back whole. The product reads the size from the server (manifests
# record it); the default 16 MB stays covered by the clusters `nself db start` makes
# (tests/cli/test_backup_storage_roundtrip.py restores one) and by the servers backed up
# by URL (tests/runtime/backup/test_remote_and_wal.py, tests/cli/test_backup_wal_cli.py).
SMALL_WAL_SEGMENT_MB = 1


def make_project(extra_config: str = "", *, wal_segment_mb: int | None = SMALL_WAL_SEGMENT_MB) -> BackupProject:
    root = Path(tempfile.mkdtemp(prefix="nself-backup-test-"))
    root.chmod(0o755)  # the server user archives into root/.nself/backups/wal
    (root / "nself.toml").write_text(f"[environments.local]\nport = {free_port()}\n{extra_config}", encoding="utf-8")
    project = load_project(root)
    environment = project.environment("local")
    cluster = init_test_cluster(project, environment, wal_segment_mb=wal_segment_mb)
    start_local(project, environment)
    return BackupProject(root, project, environment, cluster)


def init_test_cluster(
    project: Project, environment: Environment, *, wal_segment_mb: int | None = SMALL_WAL_SEGMENT_MB
) -> LocalCluster:
    """initdb the managed cluster of `environment` with TEST_SETTINGS, before nself starts
    it (`start_local`, or the first command that needs it)."""
    cluster = local_cluster(project, environment)
    cluster.init(wal_segment_mb=wal_segment_mb)
    with (cluster.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write(TEST_SETTINGS)
    return cluster


@pytest.fixture(scope="session")
def backup_project() -> Iterator[BackupProject]:
    made = make_project()
    try:
        yield made
    finally:
        made.cluster.stop(immediate=True)
        discard(made.root)


@pytest.fixture(scope="session")
def pruning_project() -> Iterator[BackupProject]:
    """A second archiving project for the prune tests, whose repository holds only their
    own backups: on `backup_project`, a prune with keep_last=1 deletes every backup the
    other tests made there, thousands of files."""
    made = make_project()
    try:
        yield made
    finally:
        made.cluster.stop(immediate=True)
        discard(made.root)


SAMPLE = """
CREATE TABLE IF NOT EXISTS {name} (id int PRIMARY KEY, label text NOT NULL, tags text[], doc jsonb, at timestamptz);
CREATE INDEX IF NOT EXISTS {name}_label ON {name} (label);
INSERT INTO {name} SELECT g, 'row ' || g, ARRAY['a', g::text], jsonb_build_object('g', g), '2026-01-01'::timestamptz + g * interval '1 minute'
FROM generate_series({start}, {stop}) g;
"""


def fill(project: BackupProject, name: str, start: int = 1, stop: int = 2000) -> None:
    project.sql(SAMPLE.format(name=name, start=start, stop=stop))
