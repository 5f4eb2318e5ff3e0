"""Backup -> upload -> local copy deleted -> download -> restore, through the real CLI, with
PostgreSQL as the oracle: every table's checksum after the restore equals the one before,
through S3 (moto's server) and Azure (Azurite).

Needs backup-core's `backup create` and `restore` (nself/runtime/backup/create.py): on a
branch without them it skips, after the merge it runs."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nself.runtime.cluster import free_port
from nself.runtime.project import load_project
from tests.clitools import Result, run_nself
from tests.runtime.backup.conftest import discard, init_test_cluster
from tests.storage_servers import (
    AWS_SECRET,
    AZURITE_KEY,
    Server,
    create_azure_container,
    create_s3_bucket,
    new_bucket_name,
)

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("nself.runtime.backup.create") is None,
    reason="backup-core's `backup create` / `restore` are not on this branch",
)

def ok(result: Result) -> Result:
    assert result.code == 0, result.stderr
    for secret in (AWS_SECRET, AZURITE_KEY):
        assert secret not in result.stdout + result.stderr
    return result


def checksums(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        return {
            table: str(conn.execute(f"SELECT md5(string_agg(t::text, '' ORDER BY t::text)) FROM public.{table} t").fetchone())  # type: ignore[arg-type]
            for table in tables
        }


@pytest.fixture(scope="module")
def managed_project() -> Iterator[tuple[Path, str]]:
    root = Path(tempfile.mkdtemp(prefix="nself-storage-roundtrip-"))
    os.chmod(root, 0o755)  # the server user must reach the cluster and the WAL archive
    port = free_port()
    (root / "nself.toml").write_text(f"[environments.local]\nport = {port}\n")
    # The backup tests' settings (no fsync) with PostgreSQL's default WAL segment size
    # (16 MB), which this module keeps covered; `db start` configures and starts it.
    project = load_project(root)
    init_test_cluster(project, project.environment("local"), wal_segment_mb=None)
    ok(run_nself("db", "start", cwd=root, timeout=300))
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        yield root, url
    finally:
        run_nself("db", "stop", cwd=root)
        discard(root)  # in the background: thousands of files


def test_restore_from_s3_and_azure_with_the_local_copy_deleted(
    managed_project: tuple[Path, str], moto_server: Server, azurite_server: Server
) -> None:
    root, url = managed_project
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, label text, at timestamptz DEFAULT now())")
        conn.execute("INSERT INTO items (id, label) SELECT g, md5(g::text) FROM generate_series(1, 20000) g")
        conn.execute("CREATE TABLE notes (body text)")
        conn.execute("INSERT INTO notes SELECT repeat('x', g) FROM generate_series(1, 300) g")
    expected = checksums(url)
    created = json.loads(ok(run_nself("backup", "create", "--json", cwd=root, timeout=300)).stdout)
    backup_dir = Path(created["path"])
    repo = backup_dir.parent

    bucket = new_bucket_name()
    create_s3_bucket(moto_server, bucket)
    create_azure_container(azurite_server, bucket)
    providers = {
        "s3": (["minio", "--bucket", bucket, "--endpoint", moto_server.endpoint], moto_server.env),
        "azure": (["azure", "--bucket", bucket, "--endpoint", azurite_server.endpoint], azurite_server.env),
    }
    for options, env in providers.values():
        ok(run_nself("backup", "storage", "set", *options, cwd=root))
        ok(run_nself("backup", "upload", created["id"], cwd=root, env=env, timeout=300))

    def snapshot() -> dict[str, bytes]:
        """The backup's files and the WAL of its range (what `download` brings)."""
        wal = [p for p in (repo / "wal").glob("*.zst") if created["wal_start"] <= p.name[:24] <= created["wal_stop"]]
        files = [*backup_dir.rglob("*"), *wal]
        return {p.relative_to(repo).as_posix(): p.read_bytes() for p in sorted(files) if p.is_file()}

    def delete_local_copy() -> None:
        shutil.rmtree(backup_dir)
        for wal in (repo / "wal").glob("*"):
            if wal.is_file():
                wal.unlink()

    # Azure: the local copy gone, downloaded again byte for byte (one restore below proves
    # that these bytes restore; a second restore would only repeat it).
    stored = snapshot()
    delete_local_copy()
    options, env = providers["azure"]
    ok(run_nself("backup", "storage", "set", *options, cwd=root))
    ok(run_nself("backup", "download", created["id"], cwd=root, env=env, timeout=300))
    assert snapshot() == stored, "download through azure differs"

    # S3: the local copy gone, the data changed since the backup; download and restore.
    delete_local_copy()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM items WHERE id > 10")
        conn.execute("TRUNCATE notes")
    assert checksums(url) != expected
    options, env = providers["s3"]
    ok(run_nself("backup", "storage", "set", *options, cwd=root))
    ok(run_nself("backup", "download", created["id"], cwd=root, env=env, timeout=300))
    assert snapshot() == stored, "download through s3 differs"
    ok(run_nself("restore", created["id"], "--yes", cwd=root, timeout=300))
    assert checksums(url) == expected, "restore through s3 differs"
