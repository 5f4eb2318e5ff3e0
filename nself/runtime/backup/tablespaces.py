"""Tablespaces in physical restores: where each one goes, and how its folder is swapped in
without destroying the old one first.

A tablespace of a backup is recreated at its original location, or at a new one given with
`--tablespace-map OLD=NEW` (OLD: the original location, the tablespace's name or its OID).
Only the server's version folder inside the location (`PG_15_<catalog version>`) belongs to
the cluster, so that is the unit a restore replaces: it is extracted beside the old one
(`<location>/PG_15_....nself-restore-<id>`, on the location's own file system, so the
final move is a rename), the old one is renamed aside (`....before-restore-<time>`) when
the data directories are swapped, and put back if the recovery fails or the restore is
killed (the moves are recorded in the restoring mark of the new data directory, which the
next start of the cluster reads). `pg_tblspc/<oid>` links to the location, and a
`tablespace_map` naming the chosen locations is written, so PostgreSQL's recovery makes the
same links (as it does for a backup in tar format)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nself.errors import OptionError
from nself.runtime.backup.manifest import TABLESPACE_DIR, BackupError, Manifest, Tablespace, fsync_dir

MAP_OPTION = "--tablespace-map"
STAGING_FILE = "tablespaces.json"


def parse_mapping(options: list[str] | None) -> dict[str, str]:
    """`--tablespace-map OLD=NEW` options as a dict; NEW must be an absolute path."""
    mapping: dict[str, str] = {}
    for option in options or []:
        old, sep, new = option.partition("=")
        if not sep or not old or not new:
            raise OptionError(
                f"{MAP_OPTION} {option!r}: expected OLD=NEW (OLD a location, name or OID; NEW a folder)"
            )
        if not os.path.isabs(new):
            raise OptionError(f"{MAP_OPTION} {option!r}: the new location must be an absolute path")
        if old in mapping:
            raise OptionError(f"{MAP_OPTION}: {old!r} is given twice")
        mapping[old] = os.path.normpath(new)
    return mapping


@dataclass(frozen=True, slots=True)
class TablespacePlan:
    """Where a tablespace of the backup goes: `pg_tblspc/<oid>` links to `location`, and
    its files are extracted into `staging` (which becomes `final`, the version folder)."""

    tablespace: Tablespace
    location: Path
    staging: Path

    @property
    def final(self) -> Path:
        return self.location / self.tablespace.version_dir

    def summary(self) -> dict[str, Any]:
        t = self.tablespace
        return {
            "oid": t.oid,
            "name": t.name,
            "location": str(self.location),
            "original_location": t.location,
            "size_bytes": t.size_bytes,
        }


def _resolve(manifest: Manifest, mapping: dict[str, str]) -> dict[int, str]:
    """OID -> new location of every tablespace `mapping` names; an OLD that names none is
    an error."""
    chosen: dict[int, str] = {}
    for old, new in mapping.items():
        matches = [
            t
            for t in manifest.tablespaces
            if os.path.normpath(t.location) == os.path.normpath(old) or t.name == old or str(t.oid) == old
        ]
        if not matches:
            known = ", ".join(f"{t.name or t.oid} ({t.location})" for t in manifest.tablespaces) or "none"
            raise OptionError(
                f"{MAP_OPTION} {old}={new}: backup {manifest.id} has no such tablespace (it has: {known})"
            )
        for t in matches:
            chosen[t.oid] = new
    return chosen


def plan_in_scratch(manifest: Manifest, root: Path) -> list[TablespacePlan]:
    """A scratch cluster's tablespaces (restore drill, `restore --to`): each in a folder
    of its own under `root`, never at the original location (the server still uses it)."""
    plans = []
    for t in manifest.tablespaces:
        location = root / "tablespaces" / str(t.oid)
        plans.append(TablespacePlan(t, location, location / t.version_dir))
    return plans


def live_tablespaces(data_dir: Path) -> dict[int, Path]:
    """The tablespaces of a cluster's data directory: OID -> location (link target)."""
    links = data_dir / TABLESPACE_DIR
    found: dict[int, Path] = {}
    if links.is_dir():
        for link in links.iterdir():
            if link.is_symlink() and link.name.isdigit():
                found[int(link.name)] = Path(os.path.normpath(os.readlink(link)))
    return found


def plan_in_place(manifest: Manifest, mapping: dict[str, str], live: dict[int, Path]) -> list[TablespacePlan]:
    """The tablespaces of an in-place restore, refused (before anything is touched) when a
    location is given twice, or is a non-empty folder that is not a tablespace location of
    the cluster being replaced."""
    chosen = _resolve(manifest, mapping)
    replaced = set(live.values())
    plans: list[TablespacePlan] = []
    seen: dict[Path, int] = {}
    for t in manifest.tablespaces:
        location = Path(os.path.normpath(chosen.get(t.oid, t.location)))
        if location in seen:
            raise BackupError(
                f"tablespaces {seen[location]} and {t.oid} would both go to {location}: give each its own "
                f"location with {MAP_OPTION}; nothing was changed"
            )
        seen[location] = t.oid
        staging = location / f"{t.version_dir}.nself-restore-{manifest.id}"
        if location not in replaced and location.exists():
            if not location.is_dir():
                raise BackupError(
                    f"tablespace {t.name or t.oid}: {location} exists and is not a folder; nothing was changed"
                )
            others = sorted(p.name for p in location.iterdir() if p != staging)
            if others:
                raise BackupError(
                    f"tablespace {t.name or t.oid}: {location} is not empty ({', '.join(others[:3])}) and is not a "
                    f"tablespace of the cluster being replaced; restore it elsewhere with {MAP_OPTION} "
                    f"{t.location}=NEW; nothing was changed"
                )
        plans.append(TablespacePlan(t, location, staging))
    return plans


def record_staging(scratch_root: Path, plans: list[TablespacePlan]) -> list[Path]:
    """Create the staging folders (and missing locations), recording them first in the
    scratch folder, so that discarding the scratch folder (a killed restore's) removes
    them too. Returns the locations created."""
    created = [p.location for p in plans if not p.location.exists()]
    scratch_root.mkdir(parents=True, exist_ok=True)
    (scratch_root / STAGING_FILE).write_text(
        json.dumps({"staging": [str(p.staging) for p in plans], "created": [str(c) for c in created]}),
        encoding="utf-8",
    )
    for location in created:
        location.mkdir(parents=True, mode=0o700, exist_ok=True)
    return created


def discard_staging(scratch_root: Path) -> None:
    """Remove what `record_staging` made for a restore that failed or was killed."""
    record = scratch_root / STAGING_FILE
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    for path in data.get("staging", []):
        shutil.rmtree(path, ignore_errors=True)
    for path in data.get("created", []):
        with contextlib.suppress(OSError):
            os.rmdir(path)  # only when empty
    record.unlink(missing_ok=True)


def target_of(name: str, data_dir: Path, plans: list[TablespacePlan]) -> Path | None:
    """Where the file or folder `name` of the backup (relative to the data directory) is
    written: inside the data directory, or inside a tablespace's staging folder. None for
    `pg_tblspc/<oid>` itself (a link, made by `write_links`)."""
    if name.startswith(f"{TABLESPACE_DIR}/"):
        parts = name.split("/", 3)
        for plan in plans:
            if parts[1] == str(plan.tablespace.oid):
                if len(parts) == 2:
                    return None
                if parts[2] != plan.tablespace.version_dir:
                    raise BackupError(
                        f"{name}: outside the tablespace's version folder {plan.tablespace.version_dir}"
                    )
                return plan.staging / parts[3] if len(parts) == 4 else plan.staging
    # Not a tablespace of the manifest: an in-place one (a folder, allow_in_place_tablespaces).
    return data_dir / name


def write_links(data_dir: Path, plans: list[TablespacePlan]) -> None:
    """`pg_tblspc/<oid>` -> location for each tablespace, and a `tablespace_map` naming the
    same locations (PostgreSQL's recovery makes its links from it and keeps it as
    tablespace_map.old)."""
    map_file = data_dir / "tablespace_map"
    if not plans:
        return  # pg_basebackup's tar format sends an empty one, listed in its backup_manifest
    (data_dir / TABLESPACE_DIR).mkdir(exist_ok=True)
    lines = []
    for plan in plans:
        link = data_dir / TABLESPACE_DIR / str(plan.tablespace.oid)
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        os.symlink(plan.location, link)
        escaped = "".join("\\" + c if c in "\n\r\\" else c for c in str(plan.location))
        lines.append(f"{plan.tablespace.oid} {escaped}\n")
    with open(map_file, "w", encoding="utf-8") as handle:
        handle.write("".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    fsync_dir(data_dir / TABLESPACE_DIR)


@dataclass
class Swap:
    """The tablespace folders an in-place restore moves: the live cluster's version folders
    renamed aside (`moves`: live -> kept), then the extracted ones renamed into place (`news`:
    staging -> final). Recorded in the new data directory's restoring mark, so a killed
    restore is undone by the next start."""

    moves: list[tuple[str, str]] = field(default_factory=list)
    news: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def plan(
        cls, plans: list[TablespacePlan], live: dict[int, Path], version_dir: str | None, stamp: str
    ) -> Swap:
        swap = cls()
        for location in sorted(set(live.values())):
            if not version_dir:
                break
            current = location / version_dir
            if not os.path.lexists(current):
                continue  # nothing to keep aside (and then a folder found there later is the restore's)
            swap.moves.append((str(current), str(location / f"{version_dir}.before-restore-{stamp}")))
        for p in plans:
            swap.news.append((str(p.staging), str(p.final)))
        return swap

    def to_text(self) -> str:
        return json.dumps({"tablespaces": {"moves": self.moves, "news": self.news}})

    @classmethod
    def from_text(cls, text: str) -> Swap:
        try:
            data = json.loads(text)["tablespaces"]
            return cls(
                [(str(a), str(b)) for a, b in data["moves"]], [(str(a), str(b)) for a, b in data["news"]]
            )
        except (ValueError, KeyError, TypeError):
            return cls()  # an older restore's empty mark: no tablespaces moved

    def apply(self) -> None:
        for live, kept in self.moves:
            if os.path.lexists(live):
                os.rename(live, kept)
        for staging, final in self.news:
            os.rename(staging, final)
        for parent in {os.path.dirname(p) for pair in self.moves + self.news for p in pair}:
            with contextlib.suppress(OSError):
                fsync_dir(Path(parent))

    def undo(self, suffix: str) -> None:
        """Put the old folders back. Idempotent (a restore killed while undoing is undone
        again at the next start): a folder at a final place is the restore's own only when
        its staging folder is gone and, where an old folder lived, that one is still aside."""
        kept_for = dict(self.moves)
        for staging, final in self.news:
            if os.path.lexists(staging):
                shutil.rmtree(staging, ignore_errors=True)
                continue
            ours = os.path.lexists(final) and (final not in kept_for or os.path.lexists(kept_for[final]))
            if ours:
                failed = f"{final}.failed-restore-{suffix}"
                os.rename(final, failed)
                shutil.rmtree(failed, ignore_errors=True)
        for live, kept in self.moves:
            if os.path.lexists(kept) and not os.path.lexists(live):
                os.rename(kept, live)
        for parent in {os.path.dirname(live) for live, _ in self.moves}:
            with contextlib.suppress(OSError):
                fsync_dir(Path(parent))

    def kept(self) -> list[Path]:
        """The old folders, to delete once the restore has succeeded."""
        return [Path(kept) for _, kept in self.moves if os.path.lexists(kept)]
