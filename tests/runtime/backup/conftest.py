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


def make_project(extra_config: str = "") -> BackupProject:
    root = Path(tempfile.mkdtemp(prefix="nself-backup-test-"))
    root.chmod(0o755)  # the server user archives into root/.nself/backups/wal
    (root / "nself.toml").write_text(f"[environments.local]\nport = {free_port()}\n{extra_config}", encoding="utf-8")
    project = load_project(root)
    environment = project.environment("local")
    start_local(project, environment)
    return BackupProject(root, project, environment, local_cluster(project, environment))


@pytest.fixture(scope="session")
def backup_project() -> Iterator[BackupProject]:
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
