"""Block-level incrementals of the managed cluster's big relation files (as pgBackRest's
block incremental): a 1 GB relation segment with 1% of its pages changed stores those
chunks, not the whole segment again.

Every physical backup of the managed cluster (the direct copy) records, for each relation
file of at least `BLOCK_THRESHOLD` bytes, a digest per `CHUNK_SIZE` chunk in its *block
map*: a JSON object stored like every file of the backup (zstd, sha256 in the manifest,
AES-256-GCM with a key). With a key the digests are keyed (BLAKE2b in its keyed mode, a MAC,
with a key derived from the backup key by HMAC-SHA256), so an encrypted backup never shows
plain digests of its blocks. For each file the map also says which backup holds each chunk
(this one or an ancestor), run-length encoded.

An incremental reads a changed big file once, compares each chunk's digest with the
parent's map and stores only the chunks that differ (and those past the parent's end) as
one *delta* object: `NSD1`, the chunk size (4 bytes), then records of (chunk index, length,
bytes). Its manifest entry is marked `delta` and keeps the whole file's size and sha256.

A restore assembles such a file from the chain: the newest whole copy before it, then each
delta oldest first (each version is the previous one cut or extended to its size with its
changed chunks written), and checks the assembled file's sha256 against the one recorded
when it was backed up before it is renamed into place: any mismatch is an error."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from nself.runtime.backup.codec import CHUNK, CodecError, read_plain, restore_to
from nself.runtime.backup.manifest import BackupError, FileEntry, Manifest

BLOCK_THRESHOLD = 1 << 20  # relation files from 1 MiB on get a block map
CHUNK_SIZE = 64 << 10  # 8 PostgreSQL pages
DIGEST_SIZE = 16
MAP_NAME = "blockmap.json.zst"
MAP_VERSION = 1
DELTA_MAGIC = b"NSD1"
_HEADER = struct.Struct(">4sI")  # magic, chunk size
_RECORD = struct.Struct(">II")  # chunk index, length

Digest = Callable[[bytes | memoryview], bytes]


def map_path(encrypted: bool) -> str:
    return MAP_NAME + (".enc" if encrypted else "")


def delta_aad(name: str) -> str:
    """The associated data of a delta object: not the whole file's, so neither is taken
    for the other."""
    return f"{name}#delta"


def digester(key: bytes | None) -> Digest:
    """The chunk digest: BLAKE2b-128, keyed by a key derived from the backup key when
    there is one (a MAC: the digests of an encrypted backup reveal nothing of its data)."""
    if key is None:
        return lambda data: hashlib.blake2b(data, digest_size=DIGEST_SIZE).digest()
    derived = hmac.new(key, b"nself block digest v1", hashlib.sha256).digest()
    return lambda data: hashlib.blake2b(data, digest_size=DIGEST_SIZE, key=derived).digest()


@dataclass(frozen=True, slots=True)
class BlockEntry:
    """One file of a block map: its size, the digest of each chunk, and which backup holds
    each chunk ((backup id, count of consecutive chunks) runs)."""

    size: int
    digests: bytes
    holders: tuple[tuple[str, int], ...]

    @property
    def chunks(self) -> int:
        return len(self.digests) // DIGEST_SIZE

    def digest(self, index: int) -> bytes:
        return self.digests[index * DIGEST_SIZE : (index + 1) * DIGEST_SIZE]

    def chunk_length(self, index: int) -> int:
        return max(0, min(CHUNK_SIZE, self.size - index * CHUNK_SIZE))

    def holder_list(self) -> list[str]:
        return [holder for holder, count in self.holders for _ in range(count)]


def runs(holders: list[str]) -> tuple[tuple[str, int], ...]:
    result: list[tuple[str, int]] = []
    for holder in holders:
        if result and result[-1][0] == holder:
            result[-1] = (holder, result[-1][1] + 1)
        else:
            result.append((holder, 1))
    return tuple(result)


@dataclass
class BlockMap:
    keyed: bool
    files: dict[str, BlockEntry] = field(default_factory=dict)
    chunk_size: int = CHUNK_SIZE

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "version": MAP_VERSION,
                "chunk_size": self.chunk_size,
                "digest": "blake2b-128" + ("-keyed" if self.keyed else ""),
                "files": {
                    name: {
                        "size": e.size,
                        "digests": base64.b64encode(e.digests).decode(),
                        "holders": [list(run) for run in e.holders],
                    }
                    for name, e in sorted(self.files.items())
                },
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes, origin: str) -> BlockMap:
        try:
            raw = json.loads(data)
            if raw["version"] != MAP_VERSION or raw["chunk_size"] != CHUNK_SIZE:
                raise BackupError(f"{origin}: a block map of another version or chunk size")
            files = {
                str(name): BlockEntry(
                    int(e["size"]),
                    base64.b64decode(e["digests"], validate=True),
                    tuple((str(h), int(c)) for h, c in e["holders"]),
                )
                for name, e in raw["files"].items()
            }
            return cls(raw["digest"].endswith("-keyed"), files)
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"{origin}: unreadable block map ({exc})") from None


def read_map(repo: Path, manifest: Manifest, key: bytes | None) -> BlockMap | None:
    """The block map of a backup (None when it has none), checked against its manifest."""
    entry = manifest.block_map
    if entry is None:
        return None
    path = repo / manifest.id / entry.path
    origin = f"{manifest.id}/{entry.path}"
    try:
        data = b"".join(
            read_plain(path, aad=MAP_NAME, key=key, expect_encrypted=manifest.encrypted,
                       expect_size=entry.size, expect_sha256=entry.sha256)
        )
    except FileNotFoundError:
        raise BackupError(f"{origin}: missing") from None
    except CodecError as exc:
        raise BackupError(f"{manifest.id}/{exc.one_line()}") from None
    return BlockMap.from_bytes(data, origin)


class Digests:
    """Chunk digests of bytes fed in any pieces."""

    def __init__(self, digest: Digest) -> None:
        self.digest = digest
        self.carry = b""
        self.out = bytearray()
        self.size = 0

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.carry:
            data = self.carry + data
        whole = len(data) - len(data) % CHUNK_SIZE
        view = memoryview(data)
        for start in range(0, whole, CHUNK_SIZE):
            self.out += self.digest(view[start : start + CHUNK_SIZE])
        self.carry = bytes(view[whole:])

    def finish(self, backup_id: str) -> BlockEntry:
        if self.carry:
            self.out += self.digest(self.carry)
            self.carry = b""
        chunks = len(self.out) // DIGEST_SIZE
        return BlockEntry(self.size, bytes(self.out), ((backup_id, chunks),) if chunks else ())


class DigestingReader:
    """A file object read through while its chunk digests are computed."""

    def __init__(self, raw: Any, digests: Digests) -> None:
        self.raw = raw
        self.digests = digests

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.raw.read(size)
        if data:
            self.digests.feed(data)
        return data


def _read_exact(handle: IO[bytes], size: int) -> bytes:
    data = handle.read(size)
    while data and len(data) < size:
        more = handle.read(size - len(data))
        if not more:
            break
        data += more
    return data


class DeltaSource:
    """The delta of a file against its parent's block entry, as a file object for
    `store_stream`: the file is read once; the whole file's sha256 and chunk digests are
    computed on the way, so they describe exactly the bytes stored."""

    def __init__(
        self, handle: IO[bytes], parent: BlockEntry, digest: Digest, progress: Callable[[int], None] | None
    ) -> None:
        self.handle = handle
        self.parent = parent
        self.digest = digest
        self.progress = progress
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.digests = bytearray()
        self.changed: list[int] = []
        self.pending = bytearray(_HEADER.pack(DELTA_MAGIC, CHUNK_SIZE))
        self.index = 0
        self.eof = False

    def read(self, size: int = -1) -> bytes:
        want = size if size > 0 else 1 << 62
        while len(self.pending) < want and not self.eof:
            chunk = _read_exact(self.handle, CHUNK_SIZE)
            if not chunk:
                self.eof = True
                break
            self._one(chunk)
        out = bytes(self.pending[:want])
        del self.pending[:want]
        return out

    def _one(self, chunk: bytes) -> None:
        index = self.index
        self.index += 1
        self.sha256.update(chunk)
        self.size += len(chunk)
        digest = self.digest(chunk)
        self.digests += digest
        same = (
            index < self.parent.chunks
            and self.parent.chunk_length(index) == len(chunk)
            and hmac.compare_digest(self.parent.digest(index), digest)
        )
        if not same:
            self.changed.append(index)
            self.pending += _RECORD.pack(index, len(chunk))
            self.pending += chunk
        if self.progress is not None:
            self.progress(len(chunk))

    def entry(self, backup_id: str) -> BlockEntry:
        holders = self.parent.holder_list()[: self.index]
        holders += [backup_id] * (self.index - len(holders))
        for index in self.changed:
            holders[index] = backup_id
        return BlockEntry(self.size, bytes(self.digests), runs(holders))


# --------------------------------------------------------------------------- restore


@dataclass(frozen=True, slots=True)
class Version:
    """One stored version of a file: the backup folder holding it and its entry there."""

    holder: str
    entry: FileEntry


def versions_of(name: str, entry: FileEntry, owner: Manifest, chain: dict[str, Manifest],
                index: Callable[[Manifest], dict[str, FileEntry]]) -> list[Version]:
    """The stored versions a delta entry of `owner` is assembled from, oldest (a whole
    copy) first. `chain` holds the backups by id; `index(m)` maps m's files by name. A
    missing ancestor or a version without a base is an error naming them."""
    found: list[Version] = []
    holder = entry.ref or owner.id
    current = entry
    while True:
        found.append(Version(holder, current))
        if not current.delta:
            break
        manifest = chain.get(holder)
        if manifest is None:
            raise BackupError(f"{name}: its delta in {holder} needs backup {holder}, which is not in the chain")
        if manifest.parent is None:
            raise BackupError(f"{holder}/{current.path}: a delta in a backup without a parent")
        parent = chain.get(manifest.parent)
        if parent is None:
            raise BackupError(f"{holder}/{current.path}: its delta needs backup {manifest.parent}, which is missing")
        previous = index(parent).get(name)
        if previous is None:
            raise BackupError(f"{holder}/{current.path}: its delta has no base in backup {parent.id}")
        holder = previous.ref or parent.id
        current = previous
    found.reverse()
    return found


def assemble(
    repo: Path,
    name: str,
    versions: list[Version],
    target: Path,
    *,
    key: bytes | None,
    expect_encrypted: bool,
    expect_sha256: str | None,
    durable: bool = True,
) -> int:
    """Write file `name` into `target` from its versions (a whole copy, then deltas), and
    rename it into place only when its sha256 is the one recorded at backup time."""
    if expect_sha256 is None:
        raise CodecError(f"{name}: a delta without the whole file's checksum")
    work = target.with_name(f".{target.name}.assemble-{os.getpid()}")
    try:
        base = versions[0]
        restore_to(repo / base.holder / base.entry.path, work, aad=name, key=key, expect_encrypted=expect_encrypted,
                   expect_size=base.entry.size, expect_sha256=base.entry.sha256)
        with open(work, "r+b") as out:
            for version in versions[1:]:
                size = version.entry.source_size
                if size is None:
                    raise CodecError(f"{version.holder}/{version.entry.path}: a delta without its file's size")
                out.truncate(size)
                path = repo / version.holder / version.entry.path
                _apply(
                    read_plain(path, aad=delta_aad(name), key=key, expect_encrypted=expect_encrypted,
                               expect_size=version.entry.size, expect_sha256=version.entry.sha256),
                    out.fileno(), size, f"{version.holder}/{version.entry.path}",
                )
            out.flush()
            out.seek(0)
            digest = hashlib.sha256()
            while chunk := out.read(CHUNK):
                digest.update(chunk)
            if digest.hexdigest() != expect_sha256:
                raise CodecError(
                    f"{versions[-1].holder}/{versions[-1].entry.path}: the assembled file's checksum is not the one "
                    "recorded at backup time"
                )
            written = out.tell()
            if durable:
                os.fsync(out.fileno())
        os.replace(work, target)
    except FileNotFoundError as exc:
        raise CodecError(f"{Path(str(exc.filename)).name}: missing") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            work.unlink()
    return written


def _apply(plain: Iterator[bytes], fd: int, size: int, origin: str) -> None:
    """Write the chunks of one delta stream at their offsets (within the version's size)."""
    buffer = bytearray()
    chunk_size = 0
    for piece in plain:
        buffer += piece
        if not chunk_size:
            if len(buffer) < _HEADER.size:
                continue
            magic, chunk_size = _HEADER.unpack_from(buffer)
            if magic != DELTA_MAGIC or chunk_size <= 0:
                raise CodecError(f"{origin}: not a delta object")
            del buffer[: _HEADER.size]
        offset = 0
        while len(buffer) - offset >= _RECORD.size:
            index, length = _RECORD.unpack_from(buffer, offset)
            if length > chunk_size or index * chunk_size + length > size:
                raise CodecError(f"{origin}: a chunk outside the file (corrupt delta)")
            if len(buffer) - offset - _RECORD.size < length:
                break
            start = offset + _RECORD.size
            os.pwrite(fd, buffer[start : start + length], index * chunk_size)
            offset = start + length
        del buffer[:offset]
    if buffer or not chunk_size:
        raise CodecError(f"{origin}: truncated delta")


@dataclass
class BlockPlan:
    """What a direct copy needs for block maps: this backup's id, the digest, the parent's
    map (an incremental's) and the map being made."""

    backup_id: str
    digest: Digest
    parent: BlockMap | None
    made: BlockMap
