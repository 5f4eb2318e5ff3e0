"""Physical backups and restores of a cluster with a tablespace, against a real PostgreSQL
15 managed cluster (one for the module, its tablespace in a folder of the test project):
tables and indexes in the tablespace come back with every checksum equal, and PostgreSQL's
own catalog (`pg_tablespace`, `pg_relation_filepath`) says they are where they should be."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nself.errors import NselfError
from nself.runtime.backup.create import original_path
from nself.runtime.backup.drill import pg_verifybackup
from nself.runtime.backup.manifest import find_backup
from nself.runtime.backup.restore import extract
from nself.runtime.backup.service import create_backup, restore_backup, verify_command
from nself.runtime.backup.tablespaces import plan_in_scratch
from nself.runtime.cluster import hand_to_server_user
from nself.runtime.project import load_project
from tests.clitools import run_nself
from tests.runtime.backup.conftest import BackupProject, discard, fill, make_project

FACTS = """
SELECT c.relname, coalesce(t.spcname, 'pg_default'), pg_relation_filepath(c.oid)
FROM pg_class c LEFT JOIN pg_tablespace t ON t.oid = c.reltablespace
WHERE c.relname LIKE 'ts\\_%' ORDER BY 1
"""


@pytest.fixture(scope="module")
def ts_project() -> Iterator[BackupProject]:
    made = make_project()
    made.sql("CREATE TABLE plain_before (x int); INSERT INTO plain_before VALUES (1)")
    made.before_tablespaces = create_backup(made.project, made.environment)[0].id  # type: ignore[attr-defined]
    location = made.root / "fast"  # the project folder is 0755: the server user reaches it
    location.mkdir()
    hand_to_server_user(location)
    made.sql(f"CREATE TABLESPACE fast LOCATION '{location}'")
    # A table and an index in the tablespace; a table in the default one with its index there.
    made.sql(
        "CREATE TABLE ts_far (id int PRIMARY KEY USING INDEX TABLESPACE fast, label text) TABLESPACE fast"
    )
    made.sql("CREATE TABLE ts_near (id int, label text)")
    made.sql("CREATE INDEX ts_near_label ON ts_near (label) TABLESPACE fast")
    made.sql("INSERT INTO ts_far SELECT g, 'far ' || g FROM generate_series(1, 3000) g")
    made.sql("INSERT INTO ts_near SELECT g, 'near ' || g FROM generate_series(1, 3000) g")
    try:
        yield made
    finally:
        made.cluster.stop(immediate=True)
        discard(made.root)


def locations(project: BackupProject) -> list[tuple[object, ...]]:
    return project.rows(
        "SELECT spcname, pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname NOT LIKE 'pg\\_%' ORDER BY 1"
    )


def version_dirs(location: Path) -> list[str]:
    return sorted(p.name for p in location.iterdir() if p.name.startswith("PG_") and "." not in p.name)


def test_full_backup_and_in_place_restore(ts_project: BackupProject) -> None:
    location = ts_project.root / "fast"
    before, facts, where = ts_project.checksums(), ts_project.rows(FACTS), locations(ts_project)
    assert where == [("fast", str(location))]
    assert [f for f in facts if f[0] != "ts_near"] and all(f[1] == "fast" for f in facts if f[0] != "ts_near")

    manifest, _, _ = create_backup(ts_project.project, ts_project.environment)
    (space,) = manifest.tablespaces
    assert (space.name, space.location) == ("fast", str(location)) and space.size_bytes > 0
    assert space.version_dir == version_dirs(location)[0]
    names = {original_path(f.path) for f in manifest.files}
    (far,) = [str(f[2]) for f in facts if f[0] == "ts_far"]
    assert far.startswith(f"pg_tblspc/{space.oid}/{space.version_dir}/") and far in names
    assert verify_command(ts_project.project, manifest.id).ok

    ts_project.sql(
        "DELETE FROM ts_far WHERE id > 100; UPDATE ts_near SET label = 'x'; CREATE TABLE ts_later (x int) TABLESPACE fast"
    )
    result = restore_backup(ts_project.project, ts_project.environment, manifest.id, None)
    assert [t["location"] for t in result.tablespaces] == [str(location)]
    assert ts_project.checksums() == before
    assert ts_project.rows(FACTS) == facts and locations(ts_project) == where
    assert version_dirs(location) == [space.version_dir]
    ts_project.sql("SELECT count(*) FROM ts_far WHERE id = 7")  # the index in the tablespace reads


def test_pg_verifybackup_checks_tablespace_files_through_their_link(
    ts_project: BackupProject, tmp_path: Path
) -> None:
    manifest = find_backup(ts_project.repo, "latest")
    data = tmp_path / "data"
    plans = plan_in_scratch(manifest, tmp_path)
    extract(ts_project.repo, manifest, data, None, tablespaces=plans)
    (space,) = manifest.tablespaces
    link = data / "pg_tblspc" / str(space.oid)
    assert link.is_symlink() and os.readlink(link) == str(plans[0].location)
    assert (data / "tablespace_map").read_text() == f"{space.oid} {plans[0].location}\n"
    assert pg_verifybackup(data) == []
    victim = max((p for p in plans[0].final.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    victim.write_bytes(victim.read_bytes()[:-1])
    assert any(victim.name in problem for problem in pg_verifybackup(data))


def test_incremental_references_unchanged_tablespace_files(ts_project: BackupProject) -> None:
    ts_project.sql(
        "CREATE TABLE IF NOT EXISTS ts_still (id int) TABLESPACE fast; INSERT INTO ts_still SELECT generate_series(1, 500)"
    )
    ts_project.sql("VACUUM (FREEZE) ts_still")  # no hint bit is set later, which would change the file
    create_backup(ts_project.project, ts_project.environment)
    ts_project.sql("UPDATE ts_far SET label = 'changed' WHERE id <= 10")
    expected = ts_project.checksums()
    incr, _, _ = create_backup(ts_project.project, ts_project.environment, incremental=True)
    (still,) = [str(r[0]) for r in ts_project.rows("SELECT pg_relation_filepath('ts_still')")]
    by_name = {original_path(f.path): f for f in incr.files}
    assert by_name[still].ref is not None  # unchanged: referenced, not copied
    ts_project.sql("TRUNCATE ts_far, ts_still")
    restore_backup(ts_project.project, ts_project.environment, incr.id, None)
    assert ts_project.checksums() == expected


def test_point_in_time_restore(ts_project: BackupProject) -> None:
    ts_project.sql("CREATE TABLE IF NOT EXISTS ts_pitr (id int) TABLESPACE fast")
    create_backup(ts_project.project, ts_project.environment)
    ts_project.sql("INSERT INTO ts_pitr VALUES (1)")
    (moment,) = ts_project.rows("SELECT clock_timestamp()")[0]
    ts_project.sql("INSERT INTO ts_pitr VALUES (2); CREATE TABLE ts_after (x int) TABLESPACE fast")
    facts = [f for f in ts_project.rows(FACTS) if f[0] != "ts_after"]
    restore_backup(ts_project.project, ts_project.environment, "latest", moment.isoformat())
    assert ts_project.rows("SELECT id FROM ts_pitr") == [(1,)]
    assert ts_project.rows(FACTS) == facts


def test_verify_and_restore_refuse_a_flipped_byte_in_a_tablespace_file(ts_project: BackupProject) -> None:
    manifest, path, _ = create_backup(ts_project.project, ts_project.environment)
    entry = max((f for f in manifest.files if f.ref is None and "pg_tblspc/" in f.path), key=lambda f: f.size)
    victim = path / entry.path
    kept = victim.with_name("kept")
    shutil.copy(victim, kept)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    try:
        report = verify_command(ts_project.project, manifest.id)
        assert not report.ok and any(entry.path in p for p in report.problems), report.problems
        before = ts_project.checksums()
        with pytest.raises(NselfError, match="damaged"):
            restore_backup(ts_project.project, ts_project.environment, manifest.id, None)
        assert ts_project.checksums() == before
    finally:
        shutil.move(kept, victim)
    drilled = verify_command(ts_project.project, manifest.id, drill=True)  # pg_verifybackup, amcheck
    assert drilled.ok, drilled.problems
    assert drilled.tablespaces and drilled.tablespaces[0]["files"] > 0


def test_backup_over_the_replication_protocol(ts_project: BackupProject) -> None:
    """The same cluster reached by URL: pg_basebackup writes one tar per tablespace."""
    root = ts_project.root / "remote"
    root.mkdir()
    (root / "nself.toml").write_text('[environments.staging]\nurl = "env:NSELF_TEST_TS_URL"\n')
    os.environ["NSELF_TEST_TS_URL"] = ts_project.url
    try:
        project = load_project(root)
        manifest, path, _ = create_backup(project, project.environment("staging"))
        assert manifest.wal_included and not (path / ".incoming").exists()
        (space,) = manifest.tablespaces
        assert (
            space.location == str(ts_project.root / "fast") and space.name == "fast" and space.size_bytes > 0
        )
        assert any(
            f.path.startswith(f"data/pg_tblspc/{space.oid}/{space.version_dir}/") for f in manifest.files
        )
        report = verify_command(project, manifest.id, drill=True)
        assert report.ok, report.problems
    finally:
        os.environ.pop("NSELF_TEST_TS_URL", None)


def test_tablespace_map_refusal_and_new_location_through_the_cli(ts_project: BackupProject) -> None:
    old, busy, moved = ts_project.root / "fast", ts_project.root / "busy", ts_project.root / "moved"
    busy.mkdir()
    (busy / "someone-elses").write_text("x")
    created = run_nself("backup", "create", "--json", cwd=ts_project.root)
    assert created.code == 0, created.stderr
    (listed,) = json.loads(created.stdout)["tablespaces"]
    assert listed["name"] == "fast" and listed["location"] == str(old) and listed["size_bytes"] > 0
    ts_project.sql("DELETE FROM ts_near WHERE id > 5")
    before = ts_project.checksums()

    refused = run_nself(
        "restore", "latest", "--yes", "--tablespace-map", f"{old}={busy}", cwd=ts_project.root
    )
    assert refused.code == 1 and "not empty" in refused.stderr and "Traceback" not in refused.stderr
    unknown = run_nself(
        "restore", "latest", "--yes", "--tablespace-map", "nosuch=/tmp/x", cwd=ts_project.root
    )
    assert unknown.code != 0 and "--tablespace-map" in unknown.stderr
    assert ts_project.checksums() == before and (busy / "someone-elses").read_text() == "x"

    restored = run_nself(
        "restore", "latest", "--yes", "--json", "--tablespace-map", f"fast={moved}", cwd=ts_project.root
    )
    assert restored.code == 0, restored.stderr
    assert [t["location"] for t in json.loads(restored.stdout)["tablespaces"]] == [str(moved)]
    assert locations(ts_project) == [("fast", str(moved))]
    assert version_dirs(moved) and ts_project.rows("SELECT count(*) FROM ts_near") == [(3000,)]
    assert all(str(f[2]).startswith("pg_tblspc/") for f in ts_project.rows(FACTS) if f[0] == "ts_far")


def test_upload_then_restore_from_storage_with_the_local_copy_deleted(ts_project: BackupProject) -> None:
    """Tablespace files are files of the backup: uploaded, downloaded and restored like the rest."""
    storage = ts_project.root / "storage"
    storage.mkdir()
    chosen = run_nself("backup", "storage", "set", "local", "--bucket", str(storage), cwd=ts_project.root)
    assert chosen.code == 0, chosen.stderr
    manifest, path, _ = create_backup(ts_project.project, ts_project.environment)
    uploaded = run_nself("backup", "upload", manifest.id, cwd=ts_project.root)
    assert uploaded.code == 0, uploaded.stderr
    expected = ts_project.checksums()
    shutil.rmtree(path)
    ts_project.sql("TRUNCATE ts_far")
    project = load_project(ts_project.root)  # with its [backup.storage] now
    restore_backup(project, project.environment("local"), manifest.id, None)
    assert ts_project.checksums() == expected
    assert any(p.name.endswith(".zst") for p in (path / "data" / "pg_tblspc").rglob("*"))


def test_killed_restore_puts_the_old_tablespace_folder_back(ts_project: BackupProject) -> None:
    """Killed once the tablespace's folder was swapped (the server recovering on the
    cluster's port): the next start puts back the old data directory and tablespace folder."""
    from nself.runtime.local import start_local

    (location,) = [Path(str(r[1])) for r in locations(ts_project)]
    fill(ts_project, "ts_kill", 1, 300)
    ts_project.sql("ALTER TABLE ts_kill SET TABLESPACE fast")
    assert run_nself("backup", "create", cwd=ts_project.root).code == 0
    ts_project.sql("DELETE FROM ts_kill WHERE id > 100")
    before, facts = ts_project.checksums(), ts_project.rows(FACTS)
    (version,) = version_dirs(location)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    process = subprocess.Popen(
        [sys.executable, "-P", "-m", "nself", "restore", "latest", "--yes"],
        cwd=ts_project.root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if list(location.glob(f"{version}.before-restore-*")):
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the restore ended before it could be killed"
    status = start_local(ts_project.project, ts_project.environment)
    assert any("interrupted restore" in note for note in status.notes)
    assert ts_project.checksums() == before and ts_project.rows(FACTS) == facts
    assert sorted(p.name for p in location.iterdir()) == [version]
    again = run_nself("restore", "latest", "--yes", cwd=ts_project.root)
    assert again.code == 0, again.stderr
    assert ts_project.rows("SELECT count(*) FROM ts_kill") == [(300,)]
    assert version_dirs(location) == [version]


def test_a_backup_without_the_tablespace_removes_it_once_restored(ts_project: BackupProject) -> None:
    """The cluster has a tablespace the backup has not: its folder is kept aside during the
    restore and removed with the rest of the old state once the restore succeeded."""
    (location,) = [Path(str(r[1])) for r in locations(ts_project)]
    (version,) = version_dirs(location)
    restore_backup(ts_project.project, ts_project.environment, ts_project.before_tablespaces, None)  # type: ignore[attr-defined]
    assert locations(ts_project) == [] and ts_project.rows("SELECT x FROM plain_before") == [(1,)]
    assert not (location / version).exists()
