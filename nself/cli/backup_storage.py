"""`nself backup storage set|show|test`, `backup upload`, `backup download`, `backup sync`,
and the remote half of `backup list --remote`.

The backup CLI's typer app calls `register(backup_app)`; its own `list` command calls
`print_remote_list(as_json)` for `--remote` (until it exists, `register` adds a `list`
command of its own that only knows `--remote`)."""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from nself.cli.common import JsonOption, console, err_console, print_json, project
from nself.cli.outcome import human_size
from nself.cli.safety import App
from nself.errors import OptionError
from nself.runtime.project import Project
from nself.runtime.storage.config import PRESETS

storage_app = App(
    help="Where backups are copied: S3, MinIO, B2, GCS, Azure or a directory.",
    no_args_is_help=True,
)

JobsOption = Annotated[
    int, typer.Option("--jobs", "-j", min=1, max=64, help="Files transferred in parallel (each large file in parallel parts too).")
]


class RichTransferProgress:
    """Bytes, rate and time left of a transfer, on stderr, only on a terminal."""

    def __init__(self, title: str) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        )
        self._task = self._progress.add_task(title, total=0)
        self._lock = threading.Lock()
        self._total = 0

    def __enter__(self) -> RichTransferProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.stop()

    def add_total(self, nbytes: int) -> None:
        with self._lock:
            self._total += nbytes
            self._progress.update(self._task, total=self._total)

    def advance(self, nbytes: int) -> None:
        self._progress.advance(self._task, nbytes)

    def note(self, message: str) -> None:
        self._progress.update(self._task, description=message)


def repository(proj: Project) -> Path:
    """The project's local backup repository (`[backup] repository`, or a folder the server
    user can reach)."""
    from nself.runtime.backup.repository import backup_repository

    return backup_repository(proj)


# --------------------------------------------------------------------------- storage set|show|test


@storage_app.command("set", destructive=False)
def storage_set(
    provider: Annotated[str, typer.Argument(help=f"One of: {', '.join(PRESETS)}.", show_default=False)],
    bucket: Annotated[str, typer.Option("--bucket", help="Bucket (Azure: container; local: directory).", show_default=False)],
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Service URL (default: the provider's).", show_default=False)
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region (b2: required).", show_default=False)] = None,
    prefix: Annotated[str | None, typer.Option("--prefix", help="Keys go under this path.", show_default=False)] = None,
) -> None:
    """Choose where backups are copied (the backup.storage table of nself.toml).

    Other settings and comments of nself.toml are kept. Credentials never go there: boto3's chain (AWS_* variables, ~/.aws) for the S3 family,
    AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY for Azure.

    Examples:

      nself backup storage set s3 --bucket acme-backups --region eu-west-1 --prefix prod

      nself backup storage set minio --bucket backups --endpoint http://127.0.0.1:9000

      nself backup storage set b2 --bucket acme-backups --region us-west-004

      nself backup storage set gcs --bucket acme-backups

      nself backup storage set azure --bucket backups
    """
    from nself.runtime.storage import describe_storage, make_config, write_storage_config

    proj = project()
    if not proj.config_path.is_file():
        raise OptionError(f"no nself.toml in {proj.root} or above: run `nself init` first")
    config = make_config(provider, bucket, endpoint=endpoint, region=region, prefix=prefix)
    write_storage_config(proj.config_path, config)
    described = describe_storage(config)
    console.print(
        f"backups go to {config.location()} ({config.preset.title}); wrote [backup.storage] in {proj.config_path}",
        markup=False,
    )
    console.print(f"credentials: {described['credentials']}", markup=False)


@storage_app.command("show", destructive=False)
def storage_show(as_json: JsonOption = False) -> None:
    """Show the storage settings in effect and where credentials come from.

    The credentials themselves are never shown.

    Examples:

      nself backup storage show

      nself backup storage show --json
    """
    from nself.runtime.storage import StorageError, describe_storage, storage_config

    proj = project()
    config = storage_config(proj.config, proj.config_path)
    if config is None:
        raise StorageError(f"no [backup.storage] in {proj.config_path}: set one with `nself backup storage set`")
    described = describe_storage(config)
    if as_json:
        print_json(described)
        return
    for name, value in described.items():
        if value is not None:
            console.print(f"{name + ':':<13} {value}", markup=False)


@storage_app.command("test", destructive=False)
def storage_test(as_json: JsonOption = False) -> None:
    """Check the storage: write a probe object, read it back, compare, delete it.

    A failure is one line: unreachable endpoint, missing bucket, refused credentials.

    Examples:

      nself backup storage test
    """
    from nself.runtime.storage import configured_store, probe

    _config, store = configured_store(project())
    result = probe(store)
    if as_json:
        print_json(
            {
                "ok": True,
                "location": result.location,
                "bytes": result.bytes,
                "seconds": round(result.seconds, 3),
                "duration_ms": round(result.seconds * 1000),
            }
        )
        return
    console.print(
        f"ok: {result.location}: wrote, read back, compared and deleted a {result.bytes // 1024} KiB probe "
        f"({result.seconds * 1000:.0f} ms)",
        markup=False,
    )


# --------------------------------------------------------------------------- upload, download, sync, list


def _print_report(report_json: dict[str, object], as_json: bool, summary: str) -> None:
    if as_json:
        print_json(report_json)
    else:
        console.print(summary, markup=False)


def upload(
    backup_id: Annotated[str, typer.Argument(metavar="ID", help="Backup id, or `latest`.", show_default=False)],
    jobs: JobsOption = 8,
    as_json: JsonOption = False,
) -> None:
    """Upload a local backup to the configured storage.

    With the backups it builds on and its WAL: every file, compared with the manifest's
    checksum, then the manifest last. Interrupted, it resumes: objects already stored with
    the same checksum are skipped.

    Examples:

      nself backup upload latest

      nself backup upload 20261207T153012Z-full --jobs 8
    """
    from nself.runtime.backup.transfer import upload_backup
    from nself.runtime.storage import configured_store

    proj = project()
    _config, store = configured_store(proj, concurrency=max(4, jobs))
    with RichTransferProgress("uploading") as progress:
        report = upload_backup(repository(proj), store, backup_id, progress=progress, jobs=jobs)
    done = ", ".join(report.backups_uploaded) or "nothing new (already complete remotely)"
    _print_report(
        {**report.to_json(), "location": store.description},
        as_json,
        f"uploaded to {store.description}: {done}; {len(report.uploaded)} objects sent, "
        f"{len(report.skipped)} already there, {human_size(report.bytes_moved)}",
    )


def download(
    backup_id: Annotated[str, typer.Argument(metavar="ID", help="Backup id, or `latest`.", show_default=False)],
    jobs: JobsOption = 8,
    as_json: JsonOption = False,
) -> None:
    """Download a remote backup into the local repository.

    With the backups it builds on and its WAL, every file checked against the manifest;
    the manifest is written last.

    Examples:

      nself backup download latest

      nself backup download 20261207T153012Z-full
    """
    from nself.runtime.backup.transfer import TransferReport, download_backup
    from nself.runtime.storage import configured_store

    proj = project()
    _config, store = configured_store(proj, concurrency=max(4, jobs))
    report = TransferReport()
    with RichTransferProgress("downloading") as progress:
        manifest = download_backup(
            repository(proj), store, backup_id, progress=progress, jobs=jobs, report=report
        )
    _print_report(
        {**report.to_json(), "id": manifest.id, "location": store.description},
        as_json,
        f"downloaded {manifest.id} from {store.description}: {len(report.downloaded)} objects, "
        f"{len(report.skipped)} already here, {human_size(report.bytes_moved)}",
    )


def sync_command(
    delete: Annotated[
        bool,
        typer.Option(
            "--delete",
            help="Local is the reference: delete remote backups and WAL it does not hold (instead of downloading them).",
        ),
    ] = False,
    jobs: JobsOption = 8,
    as_json: JsonOption = False,
) -> None:
    """Make the local repository and the storage hold the same backups and WAL.

    What is missing on one side is copied from the other, checksums compared, resumable;
    incomplete backups are never copied. Nothing is deleted without --delete.

    Examples:

      nself backup sync

      nself backup sync --delete
    """
    from nself.runtime.backup.transfer import sync
    from nself.runtime.storage import configured_store

    proj = project()
    _config, store = configured_store(proj, concurrency=max(4, jobs))
    with RichTransferProgress("syncing") as progress:
        report = sync(repository(proj), store, delete=delete, progress=progress, jobs=jobs)
    lines = [
        f"synced with {store.description}: {len(report.backups_uploaded)} backups uploaded, "
        f"{len(report.backups_downloaded)} downloaded, {len(report.backups_deleted)} deleted remotely; "
        f"{len(report.uploaded)} objects up, {len(report.downloaded)} down, {len(report.skipped)} unchanged, "
        f"{human_size(report.bytes_moved)}"
    ]
    lines += [f"skipped incomplete backup {name}" for name in report.incomplete]
    lines += [f"conflict: {key} differs on both sides; left as it is" for key in report.conflicts]
    _print_report({**report.to_json(), "location": store.description}, as_json, "\n".join(lines))


def print_remote_list(as_json: bool) -> None:
    """`backup list --remote`: the backups of the configured storage; incomplete or damaged
    ones are flagged and never shown as usable."""
    from nself.runtime.backup.transfer import list_remote
    from nself.runtime.storage import configured_store

    _config, store = configured_store(project())
    backups = list_remote(store)
    if as_json:
        print_json([b.to_json() for b in backups])
        return
    if not backups:
        console.print(f"no backups in {store.description}", markup=False)
        return
    table = Table(title=escape(str(store.description)), title_justify="left")
    table.add_column("id", no_wrap=True, min_width=22)
    for column in ("kind", "parent", "stopped at", "size", "status"):
        table.add_column(column)
    for backup in backups:
        m = backup.manifest
        table.add_row(
            backup.id,
            m.kind if m else "",
            (m.parent or "") if m else "",
            m.stopped_at.replace("T", " ")[:19] if m else "",
            human_size(backup.stored_bytes),
            "complete" if backup.complete else f"[red]NOT USABLE[/red]: {escape(str(backup.problem))}",
        )
    console.print(table)


def list_command(
    remote: Annotated[bool, typer.Option("--remote", help="List the backups of the configured storage.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the backups of the configured storage (--remote).

    Incomplete (interrupted) or damaged remote backups are flagged, never shown as usable.

    Examples:

      nself backup list --remote
    """
    if not remote:
        raise OptionError("--remote: only the remote listing is available in this build")
    print_remote_list(as_json)




def register(app: App) -> None:
    """Add `storage`, `upload`, `download` and `sync` to the backup command group (and a
    `list --remote` when the group has no `list` of its own). None of them touches a
    database; `sync --delete` removes remote backups only when asked by that flag."""
    app.add_typer(storage_app, name="storage")
    app.command("upload", destructive=False)(upload)
    app.command("download", destructive=False)(download)
    app.command("sync", destructive=False)(sync_command)
    if not any(info.name == "list" for info in app.registered_commands):
        app.command("list", destructive=False)(list_command)
