"""backup/blocks.py on files alone: deltas against a block map, then assembly, through a
file that shrinks, changes and grows again (what VACUUM's truncation and later inserts do to
a relation file), plain and encrypted; a wrong chunk is refused by the whole file's sha256."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from nself.errors import NselfError
from nself.runtime.backup.blocks import (
    CHUNK_SIZE,
    BlockEntry,
    DeltaSource,
    DigestingReader,
    Digests,
    Version,
    assemble,
    delta_aad,
    digester,
)
from nself.runtime.backup.codec import store_stream
from nself.runtime.backup.manifest import FileEntry

NAME = "base/5/16384"


def store_whole(data: bytes, target: Path, key: bytes | None, backup_id: str) -> tuple[FileEntry, BlockEntry]:
    digests = Digests(digester(key))
    stored = store_stream(DigestingReader(io.BytesIO(data), digests), target, aad=NAME, key=key)
    entry = FileEntry(target.name, stored.size, stored.sha256, source_size=len(data), source_sha256=stored.source_sha256)
    return entry, digests.finish(backup_id)


def store_delta(data: bytes, parent: BlockEntry, target: Path, key: bytes | None, backup_id: str) -> tuple[FileEntry, BlockEntry, list[int]]:
    source = DeltaSource(io.BytesIO(data), parent, digester(key), None)
    stored = store_stream(source, target, aad=delta_aad(NAME), key=key)
    entry = FileEntry(target.name, stored.size, stored.sha256, source_size=source.size,
                      source_sha256=source.sha256.hexdigest(), delta=True)
    return entry, source.entry(backup_id), source.changed


@pytest.mark.parametrize("key", [None, bytes(range(32))])
def test_delta_chain_through_shrink_and_growth(tmp_path: Path, key: bytes | None) -> None:
    v0 = os.urandom(10 * CHUNK_SIZE + 500)
    v1 = bytearray(v0[: 4 * CHUNK_SIZE + 300])  # cut (VACUUM truncation), one chunk changed
    v1[CHUNK_SIZE + 7] ^= 0xFF
    v2 = bytes(v1) + os.urandom(12 * CHUNK_SIZE - len(v1))  # grown again
    for backup in ("a", "b", "c"):
        (tmp_path / backup).mkdir()
    e0, m0 = store_whole(v0, tmp_path / "a" / "f", key, "a")
    assert m0.chunks == 11 and m0.holders == (("a", 11),)
    e1, m1, changed1 = store_delta(bytes(v1), m0, tmp_path / "b" / "f", key, "b")
    assert changed1 == [1, 4]  # the changed chunk and the new partial last one
    assert m1.holders == (("a", 1), ("b", 1), ("a", 2), ("b", 1))
    e2, m2, changed2 = store_delta(v2, m1, tmp_path / "c" / "f", key, "c")
    assert changed2 == list(range(4, 12))
    assert m2.holders == (("a", 1), ("b", 1), ("a", 2), ("c", 8))
    assert e2.size < len(v2)

    versions = [Version("a", e0), Version("b", e1), Version("c", e2)]
    out = tmp_path / "out"
    assemble(tmp_path, NAME, versions, out, key=key, expect_encrypted=key is not None, expect_sha256=e2.source_sha256)
    assert out.read_bytes() == v2
    assemble(tmp_path, NAME, versions[:2], out, key=key, expect_encrypted=key is not None, expect_sha256=e1.source_sha256)
    assert out.read_bytes() == bytes(v1)

    # Skipping a delta gives other bytes: refused by the recorded sha256, nothing written.
    out.unlink()
    with pytest.raises(NselfError, match="assembled file's checksum"):
        assemble(tmp_path, NAME, [versions[0], versions[2]], out, key=key, expect_encrypted=key is not None,
                 expect_sha256=e2.source_sha256)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]
    assert hashlib.sha256(v2).hexdigest() == e2.source_sha256


def test_keyed_digests_differ_from_plain_ones() -> None:
    chunk = os.urandom(CHUNK_SIZE)
    assert digester(bytes(32))(chunk) != digester(None)(chunk) != digester(bytes(range(32)))(chunk)
