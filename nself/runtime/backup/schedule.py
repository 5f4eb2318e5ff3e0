"""`nself backup schedule`: a cron entry that runs `nself backup create` and then
`nself backup prune` (when a retention policy is set) for this project.

The entry is a file in /etc/cron.d/ (`NSELF_CRON_DIR` overrides the folder), one per
project, named after a hash of the project's path: cron reads it without a `crontab`
program, and showing or removing it touches no other entry."""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import nself
from nself.errors import OptionError
from nself.runtime.backup.manifest import atomic_write_bytes
from nself.runtime.host import current_host

PRESETS = {"hourly": "0 * * * *", "daily": "0 3 * * *", "weekly": "0 3 * * 0"}
_FIELD = re.compile(r"^[\d*/,\-]+$")


@dataclass(frozen=True, slots=True)
class Schedule:
    path: Path
    cron: str
    command: str


def cron_dir() -> Path:
    """$NSELF_CRON_DIR, else the system's folder of cron entries (Linux's /etc/cron.d)."""
    configured = os.environ.get("NSELF_CRON_DIR")
    if configured:
        return Path(configured)
    system = current_host().cron_dir
    if system is None:
        raise OptionError(
            "backup schedule: this system has no cron.d folder (macOS schedules with launchd): set "
            "NSELF_CRON_DIR to a folder your cron reads, or run `nself backup create` from your own scheduler"
        )
    return system


def schedule_file(project_root: Path) -> Path:
    digest = hashlib.sha256(str(project_root).encode()).hexdigest()[:12]
    return cron_dir() / f"nself-backup-{digest}"


def cron_expression(preset: str | None, cron: str | None) -> str:
    if (preset is None) == (cron is None):
        raise OptionError("give one of --preset hourly|daily|weekly or --cron \"MIN HOUR DOM MON DOW\"")
    if preset is not None:
        if preset not in PRESETS:
            raise OptionError(f"--preset: {preset!r} is not one of {', '.join(PRESETS)}")
        return PRESETS[preset]
    assert cron is not None
    fields = cron.split()
    if len(fields) != 5 or not all(_FIELD.match(f) for f in fields):
        raise OptionError(f"--cron: {cron!r} is not five cron fields (e.g. \"0 */6 * * *\")")
    return " ".join(fields)


def install_schedule(project_root: Path, repo: Path, expression: str, env: str | None) -> Schedule:
    package_parent = str(Path(nself.__file__).resolve().parent.parent)
    nself_cmd = f"env PYTHONPATH={shlex.quote(package_parent)} {shlex.quote(sys.executable)} -P -m nself"
    env_arg = f" --env {shlex.quote(env)}" if env else ""
    log = shlex.quote(str(repo / "schedule.log"))
    command = (
        f"cd {shlex.quote(str(project_root))} && {nself_cmd} backup create{env_arg} >> {log} 2>&1"
        f" && {{ [ ! -e {shlex.quote(str(repo / 'retention.json'))} ] || {nself_cmd} backup prune >> {log} 2>&1; }}"
    )
    path = schedule_file(project_root)
    text = f"# nself backup schedule for {project_root}\nSHELL=/bin/sh\n{expression} {getpass.getuser()} {command}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, text.encode())
    path.chmod(0o644)  # cron ignores group/other-writable files
    return Schedule(path, expression, command)


def show_schedule(project_root: Path) -> Schedule | None:
    path = schedule_file(project_root)
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" not in line.split()[0]:
            fields = line.split(None, 6)
            return Schedule(path, " ".join(fields[:5]), fields[6])
    return None


def remove_schedule(project_root: Path) -> bool:
    path = schedule_file(project_root)
    if path.exists():
        path.unlink()
        return True
    return False
