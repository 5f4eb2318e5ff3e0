"""Logical backups: `pg_dump --format=directory --jobs N` of one database, in a snapshot
exported by nself, in which nself also computes every table's checksum; the dump's files
compressed (and encrypted) like a physical backup's. A logical backup cannot do
point-in-time recovery. Restoring it loads a new database, compares every table's checksum
with the manifest's, and only then swaps the new database in by renaming."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nself.connection import connect, scrub
from nself.runtime.backup.codec import key_id, restore_to, store_file
from nself.runtime.backup.manifest import (
    BackupError,
    FileEntry,
    Manifest,
    format_time,
    new_backup_id,
    utc_now,
    write_manifest,
)
from nself.runtime.dump import find_client, first_error_line, libpq_target
from nself.runtime.project import url_with_database

Progress = Callable[[int], None]
DUMP_PREFIX = "dump/"

CHECKSUM_TABLES = """
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
"""


def table_checksums(conn: Any) -> dict[str, str]:
    """`md5(string_agg(t::text, '' ORDER BY t::text))` of every user table, by
    `schema.table`: what a restore must reproduce."""
    from psycopg import sql

    sums: dict[str, str] = {}
    for schema, table in conn.execute(CHECKSUM_TABLES).fetchall():
        query = sql.SQL("SELECT coalesce(md5(string_agg(t::text, '' ORDER BY t::text)), '') FROM {}.{} t").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        row = conn.execute(query).fetchone()
        sums[f"{schema}.{table}"] = str(row[0])
    return sums


def create_logical(
    repo: Path,
    url: str,
    environment: str,
    *,
    jobs: int = 2,
    key: bytes | None = None,
    progress: Progress | None = None,
) -> Manifest:
    started = utc_now()
    repo.mkdir(parents=True, exist_ok=True)
    backup_id = new_backup_id("logical", started, repo)
    folder = repo / backup_id
    folder.mkdir()
    raw = Path(tempfile.mkdtemp(prefix=f".{backup_id}-", dir=repo))
    try:
        with connect(url) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            row = conn.execute(
                "SELECT pg_export_snapshot(), current_database(), current_setting('server_version'),"
                " (SELECT system_identifier::text FROM pg_control_system())"
            ).fetchone()
            assert row is not None
            snapshot, database, version, system_id = (str(v) for v in row)
            checksums = table_checksums(conn)
            # pg_dump reads the same snapshot while this transaction holds it open.
            _pg_dump(url, raw / "dump", snapshot, jobs, conn.info.server_version // 10000)
        files: list[FileEntry] = []
        for path in sorted((raw / "dump").rglob("*")):
            if not path.is_file():
                continue
            name = path.relative_to(raw / "dump").as_posix()
            stored = f"{DUMP_PREFIX}{name}.zst" + (".enc" if key else "")
            result = store_file(path, folder / stored, aad=name, key=key)
            if progress:
                progress(result.source_size)
            files.append(FileEntry(stored, result.size, result.sha256, source_size=result.source_size, source_sha256=result.source_sha256))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(raw, ignore_errors=True)
    os.sync()
    manifest = Manifest(
        id=backup_id,
        kind="logical",
        started_at=format_time(started),
        stopped_at=format_time(utc_now()),
        encrypted=key is not None,
        size_bytes=sum(f.size for f in files),
        source_bytes=sum(f.source_size or 0 for f in files),
        pg_version=version,
        system_identifier=system_id,
        database=database,
        table_checksums=checksums,
        environment=environment,
        key_id=key_id(key) if key else None,
        files=tuple(files),
    )
    write_manifest(folder, manifest)
    return manifest


def _pg_dump(url: str, target: Path, snapshot: str, jobs: int, major: int) -> None:
    conninfo, env = libpq_target(url)
    argv = [
        str(find_client("pg_dump", major)), "--format", "directory", "--jobs", str(jobs),
        "--snapshot", snapshot, "--compress", "0", "--file", str(target), "--no-password",
        "--dbname", conninfo,
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {scrub(first_error_line(done.stderr), url)}")


def extract_dump(repo: Path, manifest: Manifest, target: Path, key: bytes | None) -> Path:
    for entry in manifest.files:
        name = entry.path.removeprefix(DUMP_PREFIX).removesuffix(".enc").removesuffix(".zst")
        out = target / name
        out.parent.mkdir(parents=True, exist_ok=True)
        restore_to(repo / manifest.id / entry.path, out, aad=name, key=key, expect_encrypted=manifest.encrypted)
    return target


def pg_restore_into(url: str, dump_dir: Path, jobs: int) -> None:
    with connect(url) as conn:
        major = conn.info.server_version // 10000
    conninfo, env = libpq_target(url)
    argv = [str(find_client("pg_restore", major)), "--jobs", str(jobs), "--exit-on-error", "--no-password",
            "--dbname", conninfo, str(dump_dir)]
    done = subprocess.run(argv, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {scrub(first_error_line(done.stderr), url)}")


def compare_checksums(url: str, expected: dict[str, str]) -> list[str]:
    with connect(url) as conn:
        actual = table_checksums(conn)
    problems = [f"table {name}: checksum differs from the backup's" for name, value in expected.items() if actual.get(name) != value]
    problems += [f"table {name}: not in the backup" for name in actual if name not in expected]
    return problems


def restore_logical(url: str, repo: Path, manifest: Manifest, key: bytes | None, *, jobs: int = 2) -> str:
    """Load `manifest`'s dump into a new database beside the one of `url`, check every
    table's checksum, then swap the databases by renaming. Returns the database name."""
    with tempfile.TemporaryDirectory(prefix="nself-restore-", dir=repo) as tmp:
        dump_dir = extract_dump(repo, manifest, Path(tmp) / "dump", key)
        return load_swapping(url, dump_dir, manifest.table_checksums, f"backup {manifest.id}", jobs=jobs)


def load_swapping(url: str, dump_dir: Path, expected: dict[str, str], origin: str, *, jobs: int = 2) -> str:
    """Load the directory-format dump `dump_dir` into a new database beside the one of
    `url`; when every table's checksum equals `expected`, swap the two databases by
    renaming and drop the old one. On any failure the database of `url` is untouched."""

    def load(new_url: str) -> None:
        pg_restore_into(new_url, dump_dir, jobs)
        problems = compare_checksums(new_url, expected)
        if problems:
            raise BackupError(f"the restored data differs from {origin}: {'; '.join(problems[:5])}")

    return fill_swapping(url, load)


def fill_swapping(url: str, fill: Callable[[str], None]) -> str:
    """Create a new database beside the one of `url`, let `fill` load and check it (given
    its URL), then swap the two databases by renaming and drop the old one. When `fill`
    raises, the new database is dropped and the database of `url` is untouched."""
    from psycopg import sql

    target_db = _database_of(url)
    stamp = time.strftime("%Y%m%d%H%M%S")
    new_db = f"{target_db[:30]}_nself_restore_{stamp}"
    old_db = f"{target_db[:30]}_nself_before_{stamp}"
    admin_url = url_with_database(url, "template1" if target_db == "postgres" else "postgres")
    with connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(new_db)))
    try:
        fill(url_with_database(url, new_db))
    except BaseException:
        with connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(new_db)))
        raise
    with connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (target_db,))
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(target_db), sql.Identifier(old_db)))
        try:
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(new_db), sql.Identifier(target_db)))
        except Exception:
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(old_db), sql.Identifier(target_db)))
            raise
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(old_db)))
    return target_db


def copy_schema(source_url: str, target_url: str, *, data_of: str | None = None) -> None:
    """The schema of `source_url`'s database (pg_dump --schema-only) loaded into the empty
    database of `target_url`, in one transaction. `data_of`: also the rows of that one
    schema's tables (nself's migration history, which is not data to anonymise)."""
    with connect(source_url) as conn:
        major = conn.info.server_version // 10000
        with_rows = data_of is not None and conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (data_of,)
        ).fetchone() is not None
    _dump_and_load(source_url, target_url, major, ["--schema-only"])
    if with_rows and data_of is not None:
        _dump_and_load(source_url, target_url, major, ["--data-only", "--schema", data_of])


def _dump_and_load(source_url: str, target_url: str, major: int, options: list[str]) -> None:
    conninfo, env = libpq_target(source_url)
    with tempfile.TemporaryDirectory(prefix="nself-schema-") as tmp:
        dump = Path(tmp) / "part.dump"
        argv = [str(find_client("pg_dump", major)), *options, "--format", "custom", "--file", str(dump),
                "--no-password", "--dbname", conninfo]
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump {options[0]} failed: {scrub(first_error_line(done.stderr), source_url)}")
        target_conninfo, target_env = libpq_target(target_url)
        argv = [str(find_client("pg_restore", major)), "--single-transaction", "--exit-on-error", "--no-password",
                "--dbname", target_conninfo, str(dump)]
        done = subprocess.run(argv, env=target_env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"loading the {options[0].removeprefix('--')} dump failed: "
                              f"{scrub(first_error_line(done.stderr), target_url)}")


def row_counts(url: str) -> dict[str, int]:
    """The number of rows of every user table, by `schema.table`."""
    from psycopg import sql

    counts: dict[str, int] = {}
    with connect(url) as conn:
        for schema, table in conn.execute(CHECKSUM_TABLES).fetchall():
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))).fetchone()
            counts[f"{schema}.{table}"] = int(row[0]) if row else 0
    return counts


def dump_database(url: str, target: Path, *, jobs: int = 2) -> dict[str, str]:
    """`pg_dump --format=directory` of `url`'s database into `target`, in a snapshot whose
    table checksums are returned."""
    with connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        checksums = table_checksums(conn)
        _pg_dump(url, target, str(row[0]), jobs, conn.info.server_version // 10000)
    return checksums


def _database_of(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(url).get("dbname") or "postgres")
