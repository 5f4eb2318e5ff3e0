"""Block-level incrementals of the managed cluster (backup/blocks.py), against a real
PostgreSQL 15: a table of a few MiB, a contiguous ~1% of its rows updated, an incremental
that stores a small fraction of the table's file, and restores (every table's checksum,
the oracle) through chains of deltas, PITR, encryption, corruption and pruning."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from nself.errors import NselfError
from nself.runtime.backup.blocks import BLOCK_THRESHOLD, read_map
from nself.runtime.backup.codec import parse_key
from nself.runtime.backup.create import original_path
from nself.runtime.backup.manifest import FileEntry, Manifest
from nself.runtime.backup.restore import delta_versions, extract
from nself.runtime.backup.retention import RetentionPolicy, plan_prune, prune
from nself.runtime.backup.service import create_backup, restore_backup, verify_command
from tests.runtime.backup.conftest import BackupProject

KEY = "33" * 32
ROWS = 40000  # ~5 MiB of heap: above the 1 MiB threshold


def make_table(p: BackupProject, name: str) -> str:
    """A table of a few MiB, frozen and checkpointed (so a later read sets no hint bits on
    every page), and the path of its heap file relative to the data directory."""
    p.sql(
        f"DROP TABLE IF EXISTS {name}; CREATE TABLE {name} (id int PRIMARY KEY, n int NOT NULL, pad text NOT NULL);"
        f"INSERT INTO {name} SELECT g, 0, repeat(md5(g::text), 3) FROM generate_series(1, {ROWS}) g;"
    )
    p.sql(f"VACUUM (FREEZE) {name}")
    p.sql("CHECKPOINT")
    (relative,) = p.rows(f"SELECT pg_relation_filepath('{name}')")[0]
    return str(relative)


def checksums(p: BackupProject) -> dict[str, str]:
    """Every table's checksum (the oracle), unlogged tables (other tests' on the shared
    cluster) left out: a physical backup holds none of their rows, as pg_basebackup."""
    unlogged = {
        f"{schema}.{name}"
        for schema, name in p.rows(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relpersistence = 'u' AND c.relkind = 'r'"
        )
    }
    return {name: value for name, value in p.checksums().items() if name not in unlogged}


def entry_of(manifest: Manifest, relative: str) -> FileEntry:
    return next(f for f in manifest.files if original_path(f.path) == relative)


def update_contiguous(p: BackupProject, name: str, first: int) -> None:
    """A contiguous ~1% of the rows."""
    p.sql(f"UPDATE {name} SET n = n + 1 WHERE id BETWEEN {first} AND {first + ROWS // 100 - 1}")


def test_incremental_stores_changed_chunks_and_a_chain_restores(backup_project: BackupProject) -> None:
    p = backup_project
    relative = make_table(p, "blk_t")
    full, _, _ = create_backup(p.project, p.environment)
    whole = entry_of(full, relative)
    assert whole.source_size and whole.source_size >= BLOCK_THRESHOLD and not whole.delta
    full_map = read_map(p.repo, full, None)
    assert full_map is not None and relative in full_map.files
    assert full_map.files[relative].holders == ((full.id, full_map.files[relative].chunks),)

    update_contiguous(p, "blk_t", 1)
    incr1, _, _ = create_backup(p.project, p.environment, incremental=True)
    delta = entry_of(incr1, relative)
    assert delta.delta and delta.ref is None and delta.source_sha256
    assert delta.size < whole.size / 10, (delta.size, whole.size)  # bytes stored, not the whole file
    assert incr1.size_bytes < full.size_bytes / 4
    incr1_map = read_map(p.repo, incr1, None)
    assert incr1_map is not None
    holders = {holder for holder, _ in incr1_map.files[relative].holders}
    assert holders == {full.id, incr1.id}

    update_contiguous(p, "blk_t", ROWS // 2)
    p.sql("CREATE TABLE IF NOT EXISTS blk_small (x int); INSERT INTO blk_small VALUES (1)")
    expected = checksums(p)
    incr2, _, _ = create_backup(p.project, p.environment, incremental=True)
    assert incr2.parent == incr1.id and entry_of(incr2, relative).delta
    versions = delta_versions(p.repo, incr2)[relative]
    assert [v.holder for v in versions] == [full.id, incr1.id, incr2.id]
    # The drill: assembled in a scratch cluster, checked by pg_verifybackup against the
    # backup_manifest (each file's sha256 as read at backup time), started, read, amcheck'd.
    drilled = verify_command(p.project, incr2.id, drill=True)
    assert drilled.ok, drilled.problems
    assert drilled.drill is not None and drilled.drill["tables"] > 0

    p.sql("TRUNCATE blk_t; DROP TABLE blk_small")
    restore_backup(p.project, p.environment, incr2.id, None)
    assert checksums(p) == expected


def test_pitr_through_an_incremental(backup_project: BackupProject) -> None:
    p = backup_project
    make_table(p, "blk_pitr")
    create_backup(p.project, p.environment)
    update_contiguous(p, "blk_pitr", 100)
    incr, _, _ = create_backup(p.project, p.environment, incremental=True)
    assert any(f.delta for f in incr.files)
    p.sql("INSERT INTO blk_pitr VALUES (-1, 1, 'before')")
    (moment,) = p.rows("SELECT clock_timestamp()")[0]
    expected = checksums(p)
    p.sql("INSERT INTO blk_pitr VALUES (-2, 2, 'after')")
    result = restore_backup(p.project, p.environment, "latest", moment.isoformat())
    assert result.id == incr.id and result.reached_at is not None
    assert checksums(p) == expected


@pytest.fixture(scope="module")
def delta_backup(backup_project: BackupProject) -> tuple[Manifest, Manifest, str]:
    """A full backup and an incremental with a delta (the corruption tests damage them in
    turn, each putting them back)."""
    p = backup_project
    relative = make_table(p, "blk_dmg")
    full, _, _ = create_backup(p.project, p.environment)
    update_contiguous(p, "blk_dmg", 2000)
    incr, _, _ = create_backup(p.project, p.environment, incremental=True)
    assert entry_of(incr, relative).delta
    return full, incr, relative


@pytest.mark.parametrize("damage", ["flip", "missing_delta", "missing_ancestor", "map"])
def test_damaged_delta_is_detected_and_refused(
    backup_project: BackupProject, delta_backup: tuple[Manifest, Manifest, str], damage: str
) -> None:
    p = backup_project
    full, incr, relative = delta_backup
    entry = entry_of(incr, relative)
    if damage == "missing_ancestor":
        victim, kept, name = p.repo / full.id, p.repo / f".kept-{full.id}", full.id
    else:
        stored = incr.block_map.path if damage == "map" and incr.block_map else entry.path
        victim, name = p.repo / incr.id / stored, f"{incr.id}/{stored}"
        kept = victim.with_name("kept")
    shutil.move(victim, kept)
    if damage in ("flip", "map"):
        data = bytearray(kept.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
    try:
        report = verify_command(p.project, incr.id)
        assert not report.ok
        assert any(name in problem for problem in report.problems), report.problems
        if damage != "map":  # a restore does not need the map
            p.sql(f"CREATE TABLE IF NOT EXISTS blk_{damage} (x int); INSERT INTO blk_{damage} VALUES (1)")
            before = checksums(p)
            with pytest.raises(NselfError, match="damaged"):
                restore_backup(p.project, p.environment, incr.id, None)
            assert checksums(p) == before
    finally:
        if victim.is_dir():
            shutil.rmtree(victim)
        elif victim.exists():
            victim.unlink()
        shutil.move(kept, victim)
    assert verify_command(p.project, incr.id).ok


def test_assembled_file_with_another_checksum_is_refused(
    backup_project: BackupProject, delta_backup: tuple[Manifest, Manifest, str], tmp_path: Path
) -> None:
    """Fail closed: a file whose assembled bytes are not those recorded at backup time is an
    error (here the recorded checksum is the one changed), never a silently wrong file."""
    p = backup_project
    _, incr, relative = delta_backup
    wrong = tuple(
        dataclasses.replace(f, source_sha256="0" * 64) if original_path(f.path) == relative else f for f in incr.files
    )
    with pytest.raises(NselfError, match="assembled file's checksum"):
        extract(p.repo, dataclasses.replace(incr, files=wrong), tmp_path / "data", None)


def test_encrypted_incremental_round_trip(backup_project: BackupProject, monkeypatch: pytest.MonkeyPatch) -> None:
    p = backup_project
    monkeypatch.setenv("NSELF_BACKUP_KEY", KEY)
    relative = make_table(p, "blk_enc")
    full, _, _ = create_backup(p.project, p.environment, encrypt=True)
    update_contiguous(p, "blk_enc", 5000)
    expected = checksums(p)
    incr, path, _ = create_backup(p.project, p.environment, incremental=True, encrypt=True)
    assert incr.encrypted and incr.parent == full.id
    delta = entry_of(incr, relative)
    assert delta.delta and delta.size < entry_of(full, relative).size / 10
    assert incr.block_map is not None and incr.block_map.path.endswith(".enc")
    assert (path / incr.block_map.path).read_bytes()[:4] == b"NSE1"
    block_map = read_map(p.repo, incr, parse_key(KEY, "test"))
    assert block_map is not None and block_map.keyed
    p.sql("DROP TABLE blk_enc")
    restore_backup(p.project, p.environment, incr.id, None)
    assert checksums(p) == expected


def test_prune_keeps_the_ancestors_a_delta_needs(pruning_project: BackupProject) -> None:
    p = pruning_project
    relative = make_table(p, "blk_ret")
    old, _, _ = create_backup(p.project, p.environment)
    full, _, _ = create_backup(p.project, p.environment)
    update_contiguous(p, "blk_ret", 1)
    incr1, _, _ = create_backup(p.project, p.environment, incremental=True)
    update_contiguous(p, "blk_ret", 10000)
    incr2, _, _ = create_backup(p.project, p.environment, incremental=True)
    assert [v.holder for v in delta_versions(p.repo, incr2)[relative]] == [full.id, incr1.id, incr2.id]
    plan = plan_prune(p.repo, RetentionPolicy(keep_last=1))
    assert plan.keep == [full.id, incr1.id, incr2.id] and old.id in plan.remove
    prune(p.repo, plan)
    assert not (p.repo / old.id).exists()
    assert verify_command(p.project, incr2.id).ok


def test_manifest_of_a_newer_format_is_refused() -> None:
    """A reader that does not know deltas must not take one for a whole file."""
    data = {"id": "20261207T100000Z-full", "kind": "full", "started_at": "x", "stopped_at": "x", "format_version": 3}
    with pytest.raises(NselfError, match="newer than this nself reads"):
        Manifest.from_json(data)
    assert Manifest.from_json({**data, "format_version": 1}).format_version == 1


def test_backups_in_the_same_second_list_in_order(tmp_path: Path) -> None:
    """The second backup of a second gets microseconds in its id, and lists after the first
    ('latest', an incremental's parent, retention's newest), though 'Z' sorts after digits."""
    from nself.runtime.backup.manifest import complete_backups, id_order, write_manifest

    first, second = "20261207T220658Z-incr", "20261207T220658707274Z-incr"
    for backup_id in (second, first):
        write_manifest(tmp_path / backup_id, Manifest(backup_id, "incremental", "x", "x"))
    assert [m.id for m in complete_backups(tmp_path)] == [first, second]
    assert sorted([second, "20261207T220659Z-full", first], key=id_order) == [first, second, "20261207T220659Z-full"]
