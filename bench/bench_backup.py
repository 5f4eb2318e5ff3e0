"""Backup benchmark: `nself backup create` (full, then an incremental after updating a
contiguous 1% of pgbench_accounts, then one after updating 1% spread over the table) and
`nself restore --point-in-time` (through both incrementals) against pgBackRest's `backup
--type=full|incr` and `restore --type=time` (+ recovery until promoted), on the same
`pgbench -i -s N` cluster in the same run, both with zstd level 3 (pgBackRest with
--processes, default the cores, and its block incremental: repo1-block=y, which needs
repo1-bundle=y, and in 2.45 beta=y, as it is a beta feature there). Prints figures; asserts nothing.

    python bench/bench_backup.py [--scale 5]        # -s 70 is about 1 GB

Needs pgbackrest (apt-get install pgbackrest) and pgbench. The managed cluster archives
WAL for both tools (nself's archive_command, then pgbackrest archive-push)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from nself.runtime.backup.archiving import archiving_settings  # noqa: E402
from nself.runtime.backup.manifest import complete_backups  # noqa: E402
from nself.runtime.backup.repository import backup_config  # noqa: E402
from nself.runtime.backup.service import create_backup, restore_backup  # noqa: E402
from nself.runtime.cluster import LocalCluster, free_port, hand_to_server_user, server_program  # noqa: E402
from nself.runtime.local import local_cluster, start_local  # noqa: E402
from nself.runtime.project import load_project  # noqa: E402


def as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv]


def run_checked(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv[4:])} failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return done.stdout


def timed(run: object) -> float:
    started = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - started


def settle(url: str) -> None:
    """A clean start for the next timed backup: dirty buffers written (CHECKPOINT), every
    finished WAL segment archived (pgbench -i leaves a backlog of segments that the archiver
    works through for a while: the backup that runs first would wait for it), and the page
    cache flushed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        last = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]  # type: ignore[index]
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]  # type: ignore[index]
            if done is not None and done >= last:
                break
            time.sleep(0.1)
    os.sync()


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=5, help="pgbench scale (-s 70 is about 1 GB)")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2,
                        help="pgBackRest process-max (nself uses min(8, 2 x cores) threads); default: the cores")
    args = parser.parse_args()
    if shutil.which("pgbackrest") is None:
        sys.exit("pgbackrest not found: apt-get install pgbackrest")

    root = Path(tempfile.mkdtemp(prefix="nself-bench-backup-"))
    root.chmod(0o755)
    (root / "nself.toml").write_text(f"[environments.local]\nport = {free_port()}\n")
    project = load_project(root)
    env = project.environment("local")
    start_local(project, env)
    cluster = local_cluster(project, env)
    br = root / "pgbackrest"
    for sub in ("repo", "log", "lock"):
        (br / sub).mkdir(parents=True)
    conf = br / "pgbackrest.conf"
    conf.write_text(
        f"[global]\nrepo1-path={br / 'repo'}\nlog-path={br / 'log'}\nlock-path={br / 'lock'}\n"
        "compress-type=zst\ncompress-level=3\nrepo1-bundle=y\nrepo1-block=y\nbeta=y\n"
        f"process-max={args.processes}\nstart-fast=y\nrepo1-retention-full=10\n"
        f"[bench]\npg1-path={cluster.data_dir}\npg1-port={cluster.port}\npg1-socket-path={cluster.root}\n"
    )
    hand_to_server_user(br)
    pgbr = ["pgbackrest", f"--config={conf}", "--stanza=bench"]
    settings = archiving_settings(backup_config(project))
    settings["archive_command"] = f"({settings['archive_command']}) && pgbackrest --config={conf} --stanza=bench archive-push %p"
    cluster.configure(settings)
    cluster.restart()
    url = env.url()
    try:
        subprocess.run(as_postgres([str(server_program("pgbench")), "-i", "-q", "-s", str(args.scale), "-h", "127.0.0.1",
                                    "-p", str(cluster.port), "-U", "postgres", "postgres"]), check=True, capture_output=True)
        run_checked(as_postgres([*pgbr, "stanza-create"]))
        with psycopg.connect(url) as conn:
            size = conn.execute("SELECT pg_database_size('postgres')").fetchone()[0]  # type: ignore[index]
        rows: list[tuple[str, str, str]] = []

        # Both tools start from the same clean state (settle), so neither pays for pgbench's.
        settle(url)
        full_nself = timed(lambda: create_backup(project, env))
        settle(url)
        full_br = timed(lambda: run_checked(as_postgres([*pgbr, "--type=full", "backup"])))

        repository = backup_config(project).repository
        nself_full_m = complete_backups(repository)[-1]
        rows.append(("full backup (s)", f"{full_nself:.2f}", f"{full_br:.2f}"))
        stored = [nself_full_m.size_bytes]
        accounts = args.scale * 100_000
        # Contiguous: the first 1% of the accounts (1% of the table's pages, and the pages its
        # new row versions go to). Spread: every 100th account, one row in ~61% of the pages
        # (a page holds 61 rows); pgbench's own random 1% touches 1 - 0.99^61 = 46% of them.
        changes = [
            ("contiguous 1%", f"UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= {accounts // 100}"),
            ("spread 1%", "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0"),
        ]
        for label, change in changes:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(change)
            settle(url)
            incr_nself = timed(lambda: create_backup(project, env, incremental=True))
            settle(url)
            incr_br = timed(lambda: run_checked(as_postgres([*pgbr, "--type=incr", "backup"])))
            rows.append((f"incr. {label} (s)", f"{incr_nself:.2f}", f"{incr_br:.2f}"))
            stored.append(complete_backups(repository)[-1].size_bytes)
        info = json.loads(subprocess.run(as_postgres([*pgbr, "--output=json", "info"]), check=True, capture_output=True, text=True).stdout)
        br_stored = [b["info"]["repository"]["delta"] for b in info[0]["backup"][-3:]]
        rows.append(("full stored (MB)", f"{stored[0] / 1e6:.1f}", f"{br_stored[0] / 1e6:.1f}"))
        for (label, _), mine, theirs in zip(changes, stored[1:], br_stored[1:], strict=True):
            rows.append((f"incr. {label} stored (MB)", f"{mine / 1e6:.2f}", f"{theirs / 1e6:.2f}"))
        if nself_full_m.block_map is not None:
            rows.append(("block map of the full (KB)", f"{nself_full_m.block_map.size / 1e3:.0f}", "-"))

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE marker (x int); INSERT INTO marker VALUES (1)")
            target = conn.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]
            conn.execute("INSERT INTO marker VALUES (2)")
            conn.execute("SELECT pg_switch_wal()")
        time.sleep(1)
        # pgBackRest: restore into a scratch data directory, then recover there until promoted.
        scratch = LocalCluster(root=root / "br-restore", port=free_port())
        scratch.data_dir.mkdir(parents=True, mode=0o700)
        hand_to_server_user(scratch.root)

        def br_restore() -> None:
            run_checked(as_postgres([*pgbr, f"--pg1-path={scratch.data_dir}", "--type=time", f"--target={target.isoformat(sep=' ')}",
                                     "--target-action=promote", "restore"]))
            scratch.start(settings={"archive_mode": "off"})
            while True:
                with psycopg.connect(scratch.url()) as conn:
                    if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:  # type: ignore[index]
                        break
                time.sleep(0.05)

        pitr_br = timed(br_restore)
        with psycopg.connect(scratch.url()) as conn:
            br_rows = conn.execute("SELECT count(*) FROM marker").fetchone()[0]  # type: ignore[index]
        scratch.stop(immediate=True)
        pitr_nself = timed(lambda: restore_backup(project, env, "latest", target.isoformat()))
        with psycopg.connect(url) as conn:
            nself_rows = conn.execute("SELECT count(*) FROM marker").fetchone()[0]  # type: ignore[index]
        rows.append(("PITR restore (s)", f"{pitr_nself:.2f}", f"{pitr_br:.2f}"))
        rows.append(("rows at TIME (want 1)", str(nself_rows), str(br_rows)))

        print(f"pgbench -s {args.scale}: database {size / 1e6:.0f} MB, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
              f"pgBackRest process-max={args.processes}, {os.cpu_count()} cores")
        print(f"{'':32} {'nself':>10} {'pgbackrest':>12}")
        for label, a, b in rows:
            print(f"{label:32} {a:>10} {b:>12}")
    finally:
        cluster.stop(immediate=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
