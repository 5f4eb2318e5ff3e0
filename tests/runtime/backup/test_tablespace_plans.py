"""Where a restore puts each tablespace, decided before anything is touched: the options
read, the refusals, and the moves undone after a failure (real folders, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.errors import NselfError, OptionError
from nself.runtime.backup.create import parse_tablespace_map
from nself.runtime.backup.manifest import FileEntry, Manifest, Tablespace
from nself.runtime.backup.tablespaces import Swap, parse_mapping, plan_in_place
from nself.runtime.backup.verify import verify_backup

VERSION = "PG_15_202209061"


def manifest_with(*spaces: Tablespace, files: tuple[FileEntry, ...] = ()) -> Manifest:
    return Manifest(
        id="20261207T150000Z-full", kind="full", started_at="2026-12-07T15:00:00Z",
        stopped_at="2026-12-07T15:00:01Z", tablespaces=spaces, files=files,
    )  # fmt: skip


def test_options_are_read_and_bad_ones_named() -> None:
    assert parse_mapping(["/old/a=/new/a", "fast=/new/b/"]) == {"/old/a": "/new/a", "fast": "/new/b"}
    for bad in ("nothing", "=/x", "/old=relative/dir"):
        with pytest.raises(OptionError, match="--tablespace-map"):
            parse_mapping([bad])
    with pytest.raises(OptionError, match="twice"):
        parse_mapping(["a=/x", "a=/y"])


def test_plans_refuse_what_is_in_the_way(tmp_path: Path) -> None:
    fast = Tablespace(16400, str(tmp_path / "fast"), VERSION, "fast", 10)
    slow = Tablespace(16401, str(tmp_path / "slow"), VERSION, "slow", 10)
    manifest = manifest_with(fast, slow)
    (plan_fast, _) = plan_in_place(manifest, {}, {})
    assert plan_fast.final == tmp_path / "fast" / VERSION and plan_fast.staging.parent == tmp_path / "fast"

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "theirs").write_text("x")
    with pytest.raises(NselfError, match="not empty"):
        plan_in_place(manifest, {"fast": str(busy)}, {})
    # The location of a tablespace of the cluster being replaced is not "in the way".
    (moved,) = [
        p for p in plan_in_place(manifest, {"16400": str(busy)}, {16400: busy}) if p.tablespace.oid == 16400
    ]
    assert moved.location == busy
    with pytest.raises(NselfError, match="both go to"):
        plan_in_place(manifest, {str(tmp_path / "fast"): str(tmp_path / "slow")}, {})
    with pytest.raises(OptionError, match="no such tablespace"):
        plan_in_place(manifest, {"nosuch": "/x"}, {})


def test_a_swap_is_undone(tmp_path: Path) -> None:
    location = tmp_path / "fast"
    (location / VERSION).mkdir(parents=True)
    (location / VERSION / "old").write_text("old")
    staging = location / f"{VERSION}.nself-restore-X"
    staging.mkdir()
    (staging / "new").write_text("new")
    swap = Swap(
        [(str(location / VERSION), str(location / f"{VERSION}.before-restore-1"))],
        [(str(staging), str(location / VERSION))],
    )
    swap = Swap.from_text(swap.to_text())
    swap.apply()
    assert (location / VERSION / "new").exists() and swap.kept() == [location / f"{VERSION}.before-restore-1"]
    swap.undo("2")
    swap.undo("3")  # idempotent: a restore killed during its undo is undone again at the next start
    assert sorted(p.name for p in location.iterdir()) == [VERSION]
    assert (location / VERSION / "old").read_text() == "old"
    assert Swap.from_text("").moves == []  # an older restore's empty mark

    # Killed during an undo, after the restore's folder went and before the old one came back.
    staging.mkdir()
    swap.apply()
    (location / VERSION).rename(location / "gone")
    swap.undo("4")
    assert (location / VERSION / "old").read_text() == "old"

    # A new location (nothing kept aside there): the restore's folder goes, once.
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / f"{VERSION}.nself-restore-X").mkdir(parents=True)
    fresh = Swap([], [(str(elsewhere / f"{VERSION}.nself-restore-X"), str(elsewhere / VERSION))])
    fresh.apply()
    fresh.undo("5")
    fresh.undo("6")
    assert list(elsewhere.iterdir()) == []


def test_tablespace_map_is_read_as_postgresql_writes_it() -> None:
    assert parse_tablespace_map("16400 /srv/a b\n16401 /srv/x\\\ny\n") == {
        16400: "/srv/a b",
        16401: "/srv/x\ny",
    }


def test_verify_names_a_tablespace_file_the_manifest_does_not_account_for(tmp_path: Path) -> None:
    stray = FileEntry(
        f"data/pg_tblspc/16499/{VERSION}/5/1.zst",
        0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    )
    manifest = manifest_with(files=(stray,))
    (tmp_path / manifest.id / "data/pg_tblspc/16499" / VERSION / "5").mkdir(parents=True)
    (tmp_path / manifest.id / stray.path).write_bytes(b"")
    report = verify_backup(tmp_path, manifest)
    assert any("pg_tblspc/16499" in p and "do not account" in p for p in report.problems), report.problems
