"""`nself backup`: create, list and verify backups (nself.runtime.backup). The storage
commands (storage, upload, sync, list --remote) come from nself/cli/backup_storage.py."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from nself.cli import backup_storage
from nself.cli.common import EnvOption, JsonOption, console, environment, err_console, print_json, warn
from nself.cli.safety import App
from nself.errors import NselfError

app = App(help="Backups: physical with WAL for point-in-time recovery, incremental, logical.", no_args_is_help=True)
backup_app = app


@contextlib.contextmanager
def byte_progress(label: str) -> Iterator[Any]:
    """A progress line on stderr with bytes and rate (nothing when stderr is not a terminal)."""
    with Progress(
        TextColumn(label), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        console=err_console, transient=True, disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda n: progress.advance(task, n)


def manifest_summary(manifest: Any, path: str) -> dict[str, Any]:
    return {
        "id": manifest.id,
        "kind": manifest.kind,
        "parent": manifest.parent,
        "encrypted": manifest.encrypted,
        "path": path,
        "size_bytes": manifest.size_bytes,
        "source_bytes": manifest.source_bytes,
        "started_at": manifest.started_at,
        "stopped_at": manifest.stopped_at,
        "start_lsn": manifest.start_lsn,
        "stop_lsn": manifest.stop_lsn,
        "timeline": manifest.timeline,
        "wal_start": manifest.wal_start,
        "wal_stop": manifest.wal_stop,
        "pitr": manifest.physical,
        # Where the WAL from wal_start to wal_stop is: "backup" (inside it), "archive" (the
        # managed cluster's wal/), "received" (what `nself backup wal` streamed).
        "wal": (
            None if not manifest.physical
            else "received" if manifest.wal_received
            else "backup" if manifest.wal_included
            else "archive"
        ),
        "environment": manifest.environment,
        "database": manifest.database,
        "tablespaces": [
            {"oid": t.oid, "name": t.name, "location": t.location, "size_bytes": t.size_bytes}
            for t in getattr(manifest, "tablespaces", ())
        ],
    }


@app.command("create", destructive=False)
def create(
    env: EnvOption = None,
    incremental: Annotated[bool, typer.Option("--incremental", help="Store only files changed since the newest backup.")] = False,
    encrypt: Annotated[bool, typer.Option("--encrypt", help="AES-256-GCM with the key of NSELF_BACKUP_KEY or [backup] key.")] = False,
    logical: Annotated[bool, typer.Option("--logical", help="pg_dump of the database (no point-in-time recovery).")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Parallel pg_dump jobs for --logical.")] = 2,
    as_json: JsonOption = False,
) -> None:
    """Take a backup of an environment into the project's repository (.nself/backups/).

    Examples:

      nself backup create

      nself backup create --incremental --json

      NSELF_BACKUP_KEY=$(openssl rand -hex 32) nself backup create --encrypt

      nself backup create --logical --env staging
    """
    from nself.runtime.backup.service import create_backup, create_logical_backup

    proj, environ = environment(env)
    with byte_progress("backing up") as advance:
        if logical:
            if incremental:
                raise NselfError("--incremental applies to physical backups, not --logical")
            manifest, path, notes = create_logical_backup(proj, environ, encrypt=encrypt, jobs=jobs, progress=advance)
        else:
            manifest, path, notes = create_backup(proj, environ, incremental=incremental, encrypt=encrypt, progress=advance)
    for note in notes:
        warn(note)
    if as_json:
        print_json(manifest_summary(manifest, str(path)))
        return
    what = f"{manifest.kind} backup" + (" (encrypted)" if manifest.encrypted else "")
    console.print(f"{manifest.id}")
    err_console.print(
        f"{what} of {environ.name}: {manifest.size_bytes:,} bytes stored for {manifest.source_bytes:,} "
        f"in {path}" + ("" if manifest.physical else "; a logical backup cannot do point-in-time recovery")
    )
    for space in manifest.tablespaces:
        err_console.print(f"tablespace {space.name or space.oid} ({space.location}): {space.size_bytes:,} bytes", markup=False)


@app.command("list", destructive=False)
def list_command(
    remote: Annotated[bool, typer.Option("--remote", help="List the backups of the configured storage.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the backups of the repository, oldest first; killed or unfinished ones are shown
    as incomplete and are never restored.

    Examples:

      nself backup list

      nself backup list --json

      nself backup list --remote
    """
    if remote:
        backup_storage.print_remote_list(as_json)
        return
    from nself.runtime.backup.manifest import list_backups
    from nself.runtime.backup.repository import backup_repository

    proj, _ = environment(None)
    repo = backup_repository(proj)
    entries = list_backups(repo, include_incomplete=True)
    if as_json:
        print_json([
            {**manifest_summary(e.manifest, str(e.path)), "status": "complete"} if e.manifest
            else {"id": e.id, "path": str(e.path), "status": "incomplete", "problem": e.problem}
            for e in entries
        ])
        return
    if not entries:
        console.print(f"no backups in {repo}")
        return
    table = Table("id", "kind", "status", "parent", "stored", "ended", box=None)
    for e in entries:
        m = e.manifest
        if m is None:
            table.add_row(e.id, "", f"[red]{e.problem}[/red]", "", "", "")
        else:
            kind = m.kind + (" encrypted" if m.encrypted else "")
            table.add_row(m.id, kind, "complete", m.parent or "", f"{m.size_bytes:,}", m.stopped_at)
    console.print(table)


@app.command("verify", destructive=False)
def verify(
    backup_id: Annotated[str, typer.Argument(metavar="ID", help="A backup id, or `latest`.")],
    restore: Annotated[bool, typer.Option("--restore", help="Restore drill: restore into a scratch cluster, read every table, amcheck every B-tree index.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Recompute every checksum of a backup and check its WAL range; non-zero exit on any
    problem, each named.

    Examples:

      nself backup verify latest

      nself backup verify 20261207T153012Z-full --restore --json
    """
    from nself.runtime.backup.service import verify_command

    proj, _ = environment(None)
    report = verify_command(proj, backup_id, drill=restore)
    if as_json:
        print_json({**report.__dict__, "ok": report.ok})
    else:
        for problem in report.problems:
            err_console.print(f"[red]{problem}[/red]")
        state = "[green]ok[/green]" if report.ok else f"[red]{len(report.problems)} problem(s)[/red]"
        console.print(
            f"{report.id}: {state} ({report.files_checked} files, {report.wal_checked} WAL segments checked"
            + (f", drill: {report.drill}" if getattr(report, "drill", None) else "") + ")"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command("retention", destructive=False)
def retention(
    keep_last: Annotated[int, typer.Option("--keep-last", min=0, help="Keep the N newest backups.")] = 0,
    keep_daily: Annotated[int, typer.Option("--keep-daily", min=0, help="Keep the newest backup of each of the last N days with one.")] = 0,
    keep_weekly: Annotated[int, typer.Option("--keep-weekly", min=0, help="... of each of the last N weeks.")] = 0,
    keep_monthly: Annotated[int, typer.Option("--keep-monthly", min=0, help="... of each of the last N months.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Set the retention policy that `nself backup prune` applies; without options, show it.

    Examples:

      nself backup retention --keep-last 3 --keep-daily 7 --keep-weekly 4 --keep-monthly 6

      nself backup retention --json
    """
    import dataclasses

    from nself.runtime.backup.repository import backup_repository
    from nself.runtime.backup.retention import RetentionPolicy, load_policy, save_policy

    proj, _ = environment(None)
    repo = backup_repository(proj)
    policy = RetentionPolicy(keep_last, keep_daily, keep_weekly, keep_monthly)
    if policy.empty:
        current = load_policy(repo)
        if as_json:
            print_json(dataclasses.asdict(current) if current else None)
        else:
            console.print(str(current) if current else "no retention policy (prune keeps everything)")
        return
    repo.mkdir(parents=True, exist_ok=True)
    save_policy(repo, policy)
    if as_json:
        print_json(dataclasses.asdict(policy))
    else:
        console.print(f"retention: {policy}")


@app.command("prune", destructive=False)  # removes backups the retention set by the user no longer keeps; never a database
def prune_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be removed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove the backups the retention policy does not keep, and the WAL older than the
    oldest kept physical backup; never a kept incremental's ancestors nor the WAL they need.

    Examples:

      nself backup prune --dry-run

      nself backup prune --json
    """
    import dataclasses

    from nself.runtime.backup.repository import backup_repository
    from nself.runtime.backup.retention import load_policy, plan_prune, prune

    proj, _ = environment(None)
    repo = backup_repository(proj)
    policy = load_policy(repo)
    if policy is None:
        raise NselfError("no retention policy: set one with `nself backup retention --keep-last N ...`")
    plan = plan_prune(repo, policy)
    if not dry_run:
        prune(repo, plan)
    if as_json:
        print_json({**dataclasses.asdict(plan), "dry_run": dry_run})
        return
    verb = "would remove" if dry_run else "removed"
    console.print(f"{verb} {len(plan.remove)} backup(s), {len(plan.remove_wal)} WAL file(s); kept {len(plan.keep)}")
    for backup_id in plan.remove:
        console.print(f"  {verb}: {backup_id}")
    for backup_id in plan.incomplete:
        warn(f"{backup_id} is incomplete (killed or in progress): left alone")


@app.command("schedule", destructive=False)
def schedule(
    preset: Annotated[str | None, typer.Option("--preset", metavar="hourly|daily|weekly", help="A ready-made schedule.", show_default=False)] = None,
    cron: Annotated[str | None, typer.Option("--cron", metavar="EXPR", help='Five cron fields, e.g. "0 */6 * * *".', show_default=False)] = None,
    show: Annotated[bool, typer.Option("--show", help="Show the installed schedule.")] = False,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the schedule.")] = False,
    env: EnvOption = None,
    as_json: JsonOption = False,
) -> None:
    """Install a cron entry (/etc/cron.d) that runs `nself backup create` and then `prune`.

    Examples:

      nself backup schedule --preset daily

      nself backup schedule --cron "0 */6 * * *" --env staging

      nself backup schedule --show

      nself backup schedule --remove
    """
    from nself.runtime.backup.repository import backup_repository
    from nself.runtime.backup.schedule import (
        cron_expression,
        install_schedule,
        remove_schedule,
        show_schedule,
    )

    proj, _ = environment(env)
    if remove:
        removed = remove_schedule(proj.root)
        if as_json:
            print_json({"removed": removed})
        else:
            console.print("schedule removed" if removed else "no schedule to remove")
        return
    if show:
        current = show_schedule(proj.root)
        if as_json:
            print_json({"cron": current.cron, "command": current.command, "path": str(current.path)} if current else None)
        else:
            console.print(f"{current.cron}  ({current.path})" if current else "no schedule")
        return
    expression = cron_expression(preset, cron)
    installed = install_schedule(proj.root, backup_repository(proj), expression, env)
    if as_json:
        print_json({"cron": installed.cron, "command": installed.command, "path": str(installed.path)})
    else:
        console.print(f"scheduled: {installed.cron} ({installed.path})")


def json_line(data: dict[str, Any]) -> None:
    """One JSON object per line (a long-running command's events), flushed at once."""
    import json

    typer.echo(json.dumps(data, sort_keys=True))


@app.command("wal", destructive=False)  # writes the repository; creates a replication slot on the server
def wal(
    env: EnvOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stream an environment's WAL into the repository (pg_receivewal), for point-in-time
    recovery of a server reached over the network. Runs until SIGTERM or Ctrl-C: start it
    from a service manager. The cluster nself manages archives its own WAL.

    Examples:

      nself backup wal --env production

      nself backup wal --env staging --json
    """
    import signal
    import threading

    from nself.runtime.backup.receive import ReceiveResult, Stored, receive_wal

    proj, environ = environment(env)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())

    def ready(result: ReceiveResult) -> None:
        if as_json:
            json_line({"event": "streaming", "environment": result.environment, "slot": result.slot,
                       "directory": result.directory})
        else:
            err_console.print(f"streaming the WAL of {result.environment} into {result.directory} (slot {result.slot})")

    def stored(done: Stored) -> None:
        if as_json:
            json_line({"event": "stored", "name": done.name, "source_bytes": done.source_bytes,
                       "stored_bytes": done.stored_bytes})
        else:
            console.print(f"{done.name}: {done.source_bytes:,} bytes, stored {done.stored_bytes:,}")

    result = receive_wal(proj, environ, stop=stop, on_stored=stored, on_ready=ready)
    if not as_json:
        err_console.print(f"stopped: {len(result.stored)} file(s) stored")


backup_storage.register(app)
