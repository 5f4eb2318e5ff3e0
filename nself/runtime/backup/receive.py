"""`nself backup wal --env E`: WAL streamed from a server reached over the network into the
repository, for point-in-time recovery of its physical backups. A long-running process for
a service manager (systemd, supervisord), stopped with SIGTERM or SIGINT.

It wraps `pg_receivewal`, which streams into a staging folder
(`wal/received/<system identifier>/.incoming/`) from a physical replication slot (created on
first start, so the server keeps the WAL the receiver has not had yet, across restarts).
Every finished segment (and timeline history file) is then stored into
`wal/received/<system identifier>/` exactly as the archive_command of the managed cluster
stores its own: zstd-compressed (AES-256-GCM with `[backup] encrypt = true`), temporary
name, fsync, rename; a segment already stored is accepted only with the same content. The
newest finished segment stays in the staging folder, so pg_receivewal resumes after it; the
segment being written is `<name>.partial` there until it is finished.

A restore (`nself restore --to ENV`, `backup verify --restore`) of that server's backups
replays from `wal/received/<system identifier>/`; the managed cluster's own archive stays in
`wal/`."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from nself.connection import connect, scrub
from nself.errors import NselfError
from nself.runtime.backup.manifest import BackupError, received_wal_dir
from nself.runtime.backup.repository import backup_config
from nself.runtime.backup.wal import HISTORY, SEGMENT, push, stored_name
from nself.runtime.dump import find_client, first_error_line, libpq_target
from nself.runtime.local import database_url
from nself.runtime.project import Environment, Project

INCOMING = ".incoming"
POLL_SECONDS = 0.2


@dataclass
class Stored:
    name: str
    source_bytes: int
    stored_bytes: int


@dataclass
class ReceiveResult:
    environment: str
    system_identifier: str
    slot: str
    directory: str
    stored: list[Stored] = field(default_factory=list)


def slot_name(repo: Path) -> str:
    """One physical replication slot per repository: `nself_<hash of its path>`."""
    return "nself_" + hashlib.sha256(str(repo.resolve()).encode()).hexdigest()[:16]


def receive_wal(
    project: Project,
    environment: Environment,
    *,
    stop: threading.Event,
    on_stored: Callable[[Stored], None] | None = None,
    on_ready: Callable[[ReceiveResult], None] | None = None,
) -> ReceiveResult:
    """Stream `environment`'s WAL into the repository until `stop` is set (then the
    segments already finished are stored and pg_receivewal is stopped)."""
    if environment.managed:
        raise BackupError(
            f"environment {environment.name!r} is the cluster nself manages: it archives its own WAL "
            "into the repository (archive_command, turned on by `nself db start`); no receiver is needed"
        )
    config = backup_config(project)
    key = config.key() if config.encrypt else None
    url = database_url(project, environment)
    try:
        with connect(url) as conn:
            row = conn.execute(
                "SELECT (SELECT system_identifier::text FROM pg_control_system()), current_setting('wal_level')"
            ).fetchone()
            major = conn.info.server_version // 10000
    except NselfError as exc:
        raise BackupError(f"cannot reach {environment.name}: {exc.one_line()}") from None
    assert row is not None
    system_identifier, wal_level = str(row[0]), str(row[1])
    if wal_level == "minimal":
        raise BackupError(f"{environment.name} runs with wal_level = minimal: streaming WAL needs replica")
    target = received_wal_dir(config.repository, system_identifier)
    incoming = target / INCOMING
    incoming.mkdir(parents=True, exist_ok=True)
    result = ReceiveResult(environment.name, system_identifier, slot_name(config.repository), str(target))
    with _lock(incoming, environment.name):
        program = str(find_client("pg_receivewal", major))
        conninfo, env = libpq_target(url)
        common = ["--dbname", conninfo, "--slot", result.slot, "--no-password"]
        created = subprocess.run(
            [program, *common, "--create-slot", "--if-not-exists"], env=env, capture_output=True, text=True
        )
        if created.returncode != 0:
            raise BackupError(f"pg_receivewal --create-slot failed: {scrub(first_error_line(created.stderr), url)}")
        _wait_slot_free(url, result.slot)
        pushed: set[str] = set()
        _store_finished(incoming, target, key, pushed, result, on_stored)  # left by a previous run
        errors = incoming / "pg_receivewal.log"
        with errors.open("ab") as log:
            process = subprocess.Popen(
                [program, *common, "--directory", str(incoming), "--status-interval", "1"],
                env=env, stdout=subprocess.DEVNULL, stderr=log, preexec_fn=_die_with_parent,
            )
        try:
            if on_ready:
                on_ready(result)
            while not stop.wait(POLL_SECONDS):
                _store_finished(incoming, target, key, pushed, result, on_stored)
                if process.poll() is not None:
                    raise BackupError(f"pg_receivewal stopped: {_last_error(errors, url)}")
        finally:
            if process.poll() is None:
                process.terminate()  # pg_receivewal flushes what it received and exits
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        _store_finished(incoming, target, key, pushed, result, on_stored)
    return result


def _die_with_parent() -> None:
    """In pg_receivewal's process: receive SIGTERM when nself dies, even by SIGKILL, so no
    orphan keeps the slot busy when the service manager starts the receiver again (Linux)."""
    from nself.runtime.host import current_host

    current_host().die_with_parent()


def _store_finished(
    incoming: Path,
    target: Path,
    key: bytes | None,
    pushed: set[str],
    result: ReceiveResult,
    on_stored: Callable[[Stored], None] | None,
) -> None:
    """Store every finished segment and history file of `incoming` into `target`; remove
    the stored segments but the newest (pg_receivewal resumes after it)."""
    segments = sorted(p for p in incoming.iterdir() if SEGMENT.match(p.name))
    histories = sorted(p for p in incoming.iterdir() if HISTORY.match(p.name))
    for path in [*histories, *segments]:
        if path.name in pushed:
            continue
        push(path, target, key)
        pushed.add(path.name)
        done = Stored(path.name, path.stat().st_size, (target / stored_name(path.name, key is not None)).stat().st_size)
        result.stored.append(done)
        if on_stored:
            on_stored(done)
    for path in segments[:-1]:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _lock(folder: Path, name: str) -> Iterator[None]:
    with (folder / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"a WAL receiver for {name} already runs into {folder.parent}") from None
        yield


def _last_error(log: Path, url: str) -> str:
    with contextlib.suppress(OSError):
        text = log.read_text(encoding="utf-8", errors="replace")
        if text.strip():
            return scrub(first_error_line(text.splitlines()[-1]), url)
    return f"see {log}"


def _wait_slot_free(url: str, slot: str, timeout: float = 30.0) -> None:
    """A receiver killed a moment ago may still hold the slot while its pg_receivewal exits."""
    deadline = time.monotonic() + timeout
    while True:
        with connect(url) as conn:
            row = conn.execute("SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
        if row is None or row[0] is None:
            return
        if time.monotonic() > deadline:
            raise BackupError(f"replication slot {slot} is in use by another receiver (server process {row[0]})")
        time.sleep(0.2)


def wait_until_streaming(url: str, slot: str, timeout: float = 30.0) -> None:
    """Wait until the receiver streams from `slot` (for tests and scripts)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connect(url) as conn:
            row = conn.execute("SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)).fetchone()
        if row is not None and row[0]:
            return
        time.sleep(0.1)
    raise BackupError(f"no WAL receiver streams from slot {slot} after {timeout:.0f} s")
