"""The restore drill of `nself backup verify --restore`: the backup restored into a
scratch cluster that is started, every table of every database read in full, every B-tree
index checked with amcheck's `bt_index_check`, and for logical backups every table's
checksum compared with the one taken in the backup's own snapshot. The scratch cluster is
deleted afterwards; nothing of the environment is touched."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nself.connection import connect
from nself.errors import NselfError
from nself.runtime.backup.logical import compare_checksums, extract_dump, pg_restore_into, table_checksums
from nself.runtime.backup.manifest import Manifest, wal_dir_for
from nself.runtime.cluster import LocalCluster, free_port, hand_to_server_user, server_program

BTREE_INDEXES = """
SELECT c.oid::regclass::text FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE am.amname = 'btree' AND c.relkind = 'i' AND c.relpersistence <> 't' AND i.indisvalid
  AND n.nspname <> 'pg_toast'
ORDER BY 1
"""


@dataclass
class DrillReport:
    databases: int = 0
    tables: int = 0
    indexes: int = 0
    problems: list[str] = field(default_factory=list)


def recover_copy(repo: Path, manifest: Manifest, key: bytes | None, scratch: LocalCluster) -> list[str]:
    """Restore the physical backup `manifest` into the (new) `scratch` cluster, check the
    tree with pg_verifybackup, recover it to the backup's end point and promote it: a
    server to read from. Returns pg_verifybackup's problems."""
    return recover_to(repo, manifest, key, scratch, None)[0]


def recover_to(
    repo: Path, manifest: Manifest, key: bytes | None, scratch: LocalCluster, target_time: datetime | None
) -> tuple[list[str], datetime | None]:
    """`recover_copy` up to `target_time` (replaying the WAL archive of the backup's server)
    instead of the backup's end point. Returns pg_verifybackup's problems and the time of
    the last transaction replayed; recovery stopping before the target is an error."""
    from nself.runtime.backup.restore import RECOVERY_FILE, _recover_paused, extract, recovery_command
    from nself.runtime.backup.tablespaces import plan_in_scratch

    # Tablespaces in folders of the scratch cluster's own: their original locations are
    # still the server's. The scratch cluster is deleted afterwards and runs without fsync,
    # so nothing is fsynced into it (one fsync per file cost seconds on a busy disk).
    extract(repo, manifest, scratch.data_dir, key, tablespaces=plan_in_scratch(manifest, scratch.root), durable=False)
    problems = pg_verifybackup(scratch.data_dir)
    scratch.root.chmod(0o755)
    command = recovery_command(wal_dir_for(repo, manifest), key, scratch.root)
    recovery = {"restore_command": command, "recovery_target_action": "promote"}
    if target_time is None:
        recovery["recovery_target"] = "immediate"
    else:
        recovery["recovery_target_time"] = target_time.isoformat()
    scratch.configure(recovery, file=RECOVERY_FILE)
    (scratch.data_dir / "recovery.signal").touch()
    hand_to_server_user(scratch.root)
    reached = _recover_paused(scratch, fast=True)
    with connect(scratch.url(), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_resume()")
    _wait_writable(scratch)
    return problems, reached


def drill(repo: Path, manifest: Manifest, key: bytes | None) -> DrillReport:
    report = DrillReport()
    root = Path(tempfile.mkdtemp(prefix=f"nself-drill-{manifest.id}-"))
    root.chmod(0o755)
    scratch = LocalCluster(root=root / "cluster", port=free_port())
    try:
        if manifest.physical:
            report.problems += recover_copy(repo, manifest, key, scratch)
        else:
            scratch.start(fast=True)
            database = manifest.database or "postgres"
            if database != "postgres":
                with connect(scratch.url(), autocommit=True) as conn:
                    from psycopg import sql

                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            with tempfile.TemporaryDirectory(prefix="nself-drill-dump-") as tmp:
                pg_restore_into(scratch.url(database), extract_dump(repo, manifest, Path(tmp) / "dump", key), 2)
            report.problems += compare_checksums(scratch.url(database), manifest.table_checksums)
        _read_everything(scratch, report)
    finally:
        with contextlib.suppress(NselfError):
            scratch.stop(immediate=True)
        shutil.rmtree(root, ignore_errors=True)
    return report


def pg_verifybackup(data_dir: Path) -> list[str]:
    """PostgreSQL's own check of a restored tree against its backup_manifest (sizes and
    CRC-32C of every file, a tablespace's through its pg_tblspc link). WAL is checked by
    recovery itself, so it is not parsed here. The tablespace_map is the restore's own
    (naming the locations it chose), so it is not compared."""
    if not (data_dir / "backup_manifest").is_file():
        return []
    program = server_program("pg_verifybackup")
    argv = [str(program), "--no-parse-wal", "--quiet"]
    if (data_dir / "tablespace_map").exists():
        argv += ["--ignore", "tablespace_map"]
    done = subprocess.run([*argv, str(data_dir)], capture_output=True, text=True)
    if done.returncode == 0:
        return []
    return [f"pg_verifybackup: {line.removeprefix('pg_verifybackup: error: ')}" for line in done.stderr.splitlines() if line.strip()][:20]


def _wait_writable(cluster: LocalCluster) -> None:
    import time

    for _ in range(600):
        with connect(cluster.url()) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        if row is not None and not row[0]:
            return
        time.sleep(0.1)
    raise NselfError("the drill cluster did not finish recovery")


def _read_everything(cluster: LocalCluster, report: DrillReport) -> None:
    with connect(cluster.url()) as conn:
        databases = [str(r[0]) for r in conn.execute("SELECT datname FROM pg_database WHERE datallowconn ORDER BY 1").fetchall()]
    for database in databases:
        report.databases += 1
        with connect(cluster.url(database), autocommit=True) as conn:
            try:
                report.tables += len(table_checksums(conn))  # reads every row of every table
            except Exception as exc:
                report.problems.append(f"database {database}: reading the tables failed: {' '.join(str(exc).split())}")
                continue
            conn.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
            for (index,) in conn.execute(BTREE_INDEXES).fetchall():
                try:
                    conn.execute("SELECT bt_index_check(%s::regclass)", (index,))
                    report.indexes += 1
                except Exception as exc:
                    report.problems.append(f"database {database}: index {index}: {' '.join(str(exc).split())}")
