"""`nself backup` and `nself restore` through the real CLI: --json shapes, refusals,
non-zero exits on damage, and a backup killed with SIGKILL never listed as valid."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from nself.runtime.backup.logical import table_checksums
from tests.clitools import run_nself
from tests.conftest import run_sql
from tests.runtime.backup.conftest import BackupProject, discard, fill, make_project

KEY = "ab" * 32


@pytest.fixture(scope="module")
def cli_project() -> Iterator[BackupProject]:
    made = make_project("\n[environments.prod]\nport = 1\nproduction = true\n")
    try:
        yield made
    finally:
        made.cluster.stop(immediate=True)
        discard(made.root)


def test_create_list_verify_json(cli_project: BackupProject) -> None:
    fill(cli_project, "cli_t")
    created = run_nself("backup", "create", "--json", cwd=cli_project.root)
    assert created.code == 0, created.stderr
    data = json.loads(created.stdout)
    for key in ("id", "kind", "parent", "encrypted", "path", "size_bytes", "started_at", "stopped_at",
                "start_lsn", "stop_lsn", "wal_start", "wal_stop", "timeline"):
        assert key in data
    assert data["kind"] == "full" and data["encrypted"] is False and Path(data["path"]).is_dir()

    incr = run_nself("backup", "create", "--incremental", "--encrypt", "--json", cwd=cli_project.root,
                     env={"NSELF_BACKUP_KEY": KEY})
    assert incr.code == 0, incr.stderr
    assert json.loads(incr.stdout)["parent"] == data["id"]
    assert KEY not in incr.stdout + incr.stderr

    listed = json.loads(run_nself("backup", "list", "--json", cwd=cli_project.root).stdout)
    assert [b["id"] for b in listed if b["status"] == "complete"][-2:] == [data["id"], json.loads(incr.stdout)["id"]]

    verified = run_nself("backup", "verify", data["id"], "--json", cwd=cli_project.root)
    assert verified.code == 0 and json.loads(verified.stdout)["ok"] is True

    no_key = run_nself("backup", "verify", "latest", cwd=cli_project.root, env={"NSELF_BACKUP_KEY": ""})
    assert no_key.code == 1 and "NSELF_BACKUP_KEY" in no_key.stderr and "Traceback" not in no_key.stderr

    # An encrypted incremental over a plain parent copies what it cannot reference, and restores.
    expected = cli_project.checksums()
    cli_project.sql("TRUNCATE cli_t")
    restored = run_nself("restore", json.loads(incr.stdout)["id"], "--yes", cwd=cli_project.root,
                         env={"NSELF_BACKUP_KEY": KEY})
    assert restored.code == 0, restored.stderr
    assert cli_project.checksums() == expected


def test_logical_says_it_cannot_do_pitr(cli_project: BackupProject) -> None:
    done = run_nself("backup", "create", "--logical", cwd=cli_project.root)
    assert done.code == 0, done.stderr
    assert "cannot do point-in-time recovery" in done.stderr


def test_verify_names_a_flipped_byte_and_exits_non_zero(cli_project: BackupProject) -> None:
    data = json.loads(run_nself("backup", "create", "--json", cwd=cli_project.root).stdout)
    folder = Path(data["path"])
    victim = next(folder.glob("data/global/pg_control.zst"))
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    try:
        result = run_nself("backup", "verify", data["id"], cwd=cli_project.root)
        assert result.code == 1
        assert "data/global/pg_control.zst" in result.stderr
        refused = run_nself("restore", data["id"], "--yes", cwd=cli_project.root)
        assert refused.code == 1 and "damaged" in refused.stderr
    finally:
        victim.write_bytes(original)


def test_restore_needs_yes_without_a_terminal_and_refuses_production(cli_project: BackupProject) -> None:
    no_yes = run_nself("restore", "latest", cwd=cli_project.root)
    assert no_yes.code == 1 and "--yes" in no_yes.stderr
    prod = run_nself("restore", "latest", "--env", "prod", "--yes", cwd=cli_project.root)
    assert prod.code == 1 and "production" in prod.stderr and "refusing" in prod.stderr
    bad_time = run_nself("restore", "--point-in-time", "next tuesday", "--yes", cwd=cli_project.root)
    assert bad_time.code == 1 and "--point-in-time" in bad_time.stderr
    anonymize = run_nself("restore", "latest", "--anonymize", "--yes", cwd=cli_project.root)
    assert anonymize.code == 1 and "--anonymize" in anonymize.stderr and "Traceback" not in anonymize.stderr


def test_restore_point_in_time_json(cli_project: BackupProject) -> None:
    cli_project.sql("CREATE TABLE IF NOT EXISTS cli_pitr (id int)")
    assert run_nself("backup", "create", cwd=cli_project.root).code == 0
    cli_project.sql("INSERT INTO cli_pitr VALUES (1)")
    (moment,) = cli_project.rows("SELECT clock_timestamp()")[0]
    cli_project.sql("INSERT INTO cli_pitr VALUES (2)")
    # Without a zone: read in the server's zone (UTC here), and the output says so.
    naive = moment.astimezone(__import__("datetime").UTC).replace(tzinfo=None).isoformat(sep=" ")
    done = run_nself("restore", "--point-in-time", naive, "--yes", "--json", cwd=cli_project.root)
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout)
    assert "server's zone" in result["time_zone"]
    assert cli_project.rows("SELECT id FROM cli_pitr") == [(1,)]


def test_killed_backup_is_never_listed_as_valid(cli_project: BackupProject) -> None:
    fill(cli_project, "kill_t", 1, 30000)
    before = {b.name for b in cli_project.repo.iterdir()}
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen([sys.executable, "-P", "-m", "nself", "backup", "create"], cwd=cli_project.root,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    new: set[str] = set()
    while time.monotonic() < deadline and process.poll() is None:
        new = {b.name for b in cli_project.repo.iterdir()} - before
        if new and any((cli_project.repo / n / "data").exists() for n in new):
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert new, "the backup folder never appeared"
    listed = json.loads(run_nself("backup", "list", "--json", cwd=cli_project.root).stdout)
    killed = [b for b in listed if b["id"] in new]
    assert killed and all(b["status"] == "incomplete" for b in killed)
    refused = run_nself("restore", killed[0]["id"], "--yes", cwd=cli_project.root)
    assert refused.code == 1 and "incomplete" in refused.stderr


def test_killed_restore_leaves_the_database_as_it_was(cli_project: BackupProject) -> None:
    fill(cli_project, "kill_restore_t", 1, 500)
    assert run_nself("backup", "create", cwd=cli_project.root).code == 0
    cli_project.sql("DELETE FROM kill_restore_t WHERE id > 100")
    before = cli_project.checksums()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen([sys.executable, "-P", "-m", "nself", "restore", "latest", "--yes"], cwd=cli_project.root,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = cli_project.cluster.root
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any((p / "data" / "PG_VERSION").exists() for p in root.parent.glob(f"{root.name}.restore-*")):
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert cli_project.checksums() == before
    # The next restore cleans up after the killed one and succeeds.
    again = run_nself("restore", "latest", "--yes", cwd=cli_project.root)
    assert again.code == 0, again.stderr
    assert not list(root.parent.glob(f"{root.name}.restore-*"))


def test_restore_killed_while_recovering_in_place_puts_the_old_data_back(cli_project: BackupProject) -> None:
    """Killed after the data directories were swapped (the server recovering the new one
    on the cluster's port): the next start of the cluster stops that server and puts the
    old data directory back, as it was."""
    from nself.runtime.local import start_local

    fill(cli_project, "kill_swap_t", 1, 500)
    assert run_nself("backup", "create", cwd=cli_project.root).code == 0
    cli_project.sql("DELETE FROM kill_swap_t WHERE id > 100")
    before = cli_project.checksums()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen([sys.executable, "-P", "-m", "nself", "restore", "latest", "--yes"], cwd=cli_project.root,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = cli_project.cluster.root
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if list(root.glob("data.before-restore-*")):
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the restore ended before it could be killed"
    status = start_local(cli_project.project, cli_project.environment)
    assert any("interrupted restore" in note for note in status.notes)
    assert cli_project.checksums() == before
    assert not list(root.glob("data.before-restore-*")) and not list(root.glob("data.failed-restore-*"))
    again = run_nself("restore", "latest", "--yes", cwd=cli_project.root)
    assert again.code == 0, again.stderr
    assert len(cli_project.rows("SELECT * FROM kill_swap_t")) == 500


def test_schedule_installs_shows_and_removes_a_cron_entry(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "nself.toml").write_text("")
    env = {"NSELF_CRON_DIR": str(tmp_path / "cron.d")}
    bad = run_nself("backup", "schedule", "--cron", "every hour", cwd=project, env=env)
    assert bad.code == 1 and "--cron" in bad.stderr
    done = run_nself("backup", "schedule", "--cron", "0 */6 * * *", "--json", cwd=project, env=env)
    assert done.code == 0, done.stderr
    entry = Path(json.loads(done.stdout)["path"])
    line = entry.read_text().splitlines()[-1]
    assert line.startswith("0 */6 * * * ") and "backup create" in line and "backup prune" in line
    # The line is a shell command that runs: cron would run exactly this.
    shown = json.loads(run_nself("backup", "schedule", "--show", "--json", cwd=project, env=env).stdout)
    assert shown["cron"] == "0 */6 * * *"
    assert json.loads(run_nself("backup", "schedule", "--remove", "--json", cwd=project, env=env).stdout)["removed"]
    assert not entry.exists()


def test_the_scheduled_command_takes_a_backup(cli_project: BackupProject, tmp_path: Path) -> None:
    env = {"NSELF_CRON_DIR": str(tmp_path)}
    done = run_nself("backup", "schedule", "--preset", "hourly", "--json", cwd=cli_project.root, env=env)
    assert done.code == 0, done.stderr
    before = {b.name for b in cli_project.repo.iterdir()}
    # What cron runs, run by the shell as cron would.
    subprocess.run(["/bin/sh", "-c", json.loads(done.stdout)["command"]], check=True, timeout=120)
    new = {b.name for b in cli_project.repo.iterdir()} - before
    listed = json.loads(run_nself("backup", "list", "--json", cwd=cli_project.root).stdout)
    assert [b["status"] for b in listed if b["id"] in new] == ["complete"]


def test_restore_to_another_environment(cli_project: BackupProject, database: str) -> None:
    fill(cli_project, "to_env_t", 1, 300)
    expected = cli_project.checksums()
    physical = json.loads(run_nself("backup", "create", "--json", cwd=cli_project.root).stdout)
    logical = json.loads(run_nself("backup", "create", "--logical", "--json", cwd=cli_project.root).stdout)
    cli_project.sql("DROP TABLE to_env_t")
    config = cli_project.root / "nself.toml"
    if "staging" not in config.read_text():
        config.write_text(config.read_text() + '\n[environments.staging]\nurl = "env:NSELF_TEST_TO_URL"\n')
    env = {"NSELF_TEST_TO_URL": database}
    run_sql(database, "CREATE TABLE stale (x int)")
    for backup in (physical["id"], logical["id"]):
        done = run_nself("restore", backup, "--to", "staging", "--yes", "--json", cwd=cli_project.root, env=env)
        assert done.code == 0, done.stderr
        with psycopg.connect(database, autocommit=True) as conn:
            assert table_checksums(conn) == expected
        run_sql(database, "CREATE TABLE stale (x int)")
    assert "to_env_t" not in str(cli_project.checksums())  # the source environment untouched
