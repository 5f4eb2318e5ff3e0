"""Retention: which backups to keep (`--keep-last/daily/weekly/monthly`), and `prune`,
which removes the others, never one that a kept incremental needs (its ancestors), and
never the WAL that the kept backups and the point-in-time window need (everything from the
oldest kept physical backup's first segment on). Incomplete folders are only reported: one
may be a backup in progress."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nself.errors import NselfError, OptionError
from nself.runtime.backup.manifest import (
    MANIFEST_NAME,
    Manifest,
    atomic_write_bytes,
    list_backups,
    wal_dir,
    wal_dir_for,
)
from nself.runtime.backup.wal import HISTORY, SEGMENT, segment_number

POLICY_FILE = "retention.json"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    keep_last: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0

    @property
    def empty(self) -> bool:
        return not (self.keep_last or self.keep_daily or self.keep_weekly or self.keep_monthly)


def save_policy(repo: Path, policy: RetentionPolicy) -> None:
    if policy.empty:
        raise OptionError("--keep-last/--keep-daily/--keep-weekly/--keep-monthly: keep at least one backup")
    atomic_write_bytes(repo / POLICY_FILE, (json.dumps(asdict(policy), indent=2) + "\n").encode())


def load_policy(repo: Path) -> RetentionPolicy | None:
    path = repo / POLICY_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return RetentionPolicy(**{k: int(v) for k, v in data.items() if k in RetentionPolicy.__slots__})


@dataclass
class PrunePlan:
    keep: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    remove_wal: list[str] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)
    wal_from: str | None = None  # the oldest WAL segment kept


def _bucket_keep(backups: list[Manifest], count: int, key: str) -> set[str]:
    """The newest backup of each of the `count` most recent periods."""
    chosen: dict[str, str] = {}
    for manifest in reversed(backups):  # newest first
        period = manifest.stopped.strftime(key)
        if period not in chosen:
            if len(chosen) == count:
                break
            chosen[period] = manifest.id
    return set(chosen.values())


def plan_prune(repo: Path, policy: RetentionPolicy) -> PrunePlan:
    entries = list_backups(repo, include_incomplete=True)
    backups = [e.manifest for e in entries if e.manifest is not None]
    plan = PrunePlan(incomplete=[e.id for e in entries if e.manifest is None])
    keep: set[str] = {m.id for m in backups[-policy.keep_last :]} if policy.keep_last else set()
    keep |= _bucket_keep(backups, policy.keep_daily, "%Y-%m-%d") if policy.keep_daily else set()
    keep |= _bucket_keep(backups, policy.keep_weekly, "%G-W%V") if policy.keep_weekly else set()
    keep |= _bucket_keep(backups, policy.keep_monthly, "%Y-%m") if policy.keep_monthly else set()
    by_id = {m.id: m for m in backups}
    for backup_id in list(keep):  # an incremental needs every ancestor
        parent = by_id[backup_id].parent
        while parent is not None and parent in by_id:
            keep.add(parent)
            parent = by_id[parent].parent
    plan.keep = [m.id for m in backups if m.id in keep]
    plan.remove = [m.id for m in backups if m.id not in keep]
    physical = [by_id[i] for i in plan.keep if by_id[i].physical and by_id[i].wal_start]
    if physical:
        # Each WAL folder (the managed cluster's wal/, each server's wal/received/<id>/) keeps
        # everything from the first segment of the oldest kept backup that replays from it.
        folders: dict[Path, Manifest] = {}
        for manifest in physical:
            folders.setdefault(wal_dir_for(repo, manifest), manifest)
        for wal, oldest in folders.items():
            assert oldest.wal_start is not None
            size = oldest.wal_segment_size or 16 * 1024 * 1024
            _, first = segment_number(oldest.wal_start, size)
            if wal == wal_dir(repo) or plan.wal_from is None:
                plan.wal_from = oldest.wal_start
            if not wal.is_dir():
                continue
            for path in sorted(wal.iterdir()):
                name = path.name.split(".", 1)[0]
                if HISTORY.match(path.name.removesuffix(".zst").removesuffix(".enc")) or not SEGMENT.match(name):
                    continue
                if segment_number(name, size)[1] < first:
                    plan.remove_wal.append(path.relative_to(wal_dir(repo)).as_posix())
    elif backups and not plan.keep:
        raise NselfError("the retention policy keeps no backup; refusing to prune everything")
    return plan


def prune(repo: Path, plan: PrunePlan) -> None:
    for backup_id in plan.remove:
        folder = repo / backup_id
        # The manifest first: an interrupted prune leaves an incomplete folder, never a
        # complete-looking backup with files missing.
        (folder / MANIFEST_NAME).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
    for name in plan.remove_wal:
        (repo / "wal" / name).unlink(missing_ok=True)
