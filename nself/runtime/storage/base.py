"""What every object store offers (`ObjectStore`), and what they share: keys, checksums,
the error a user sees.

Keys are '/'-separated paths relative to the store's prefix (`20261207T153012Z-full/base.tar.zst`,
`wal/000000010000000000000003.zst`). Every object is written whole or not at all: the local
store writes a temporary file and renames it, S3 makes an object visible only once its
(multipart) upload completes, Azure only once the block list is committed. Each object
carries the sha256 of its bytes in its metadata, compared with the local bytes after an
upload and with the received bytes on every download."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from nself.errors import NselfError

# Called with the number of bytes just transferred (from transfer threads: must be thread-safe).
ProgressCallback = Callable[[int], None]

# The metadata entry holding the sha256 (hex) of an object's bytes. Azure metadata names
# must be identifiers, so no dash.
SHA256_METADATA = "nself_sha256"
_CHUNK = 1024 * 1024


class StorageError(NselfError):
    """An object store that cannot be used: unreachable, missing bucket, refused
    credentials, a damaged object. The message is one line and holds no secret."""


class ChecksumMismatch(StorageError):
    """Bytes whose sha256 is not the one expected: a damaged object or file."""


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """An object of a store: its key, size, and the sha256 of its bytes when the store
    knows it without reading them (None in listings, where that would cost a request each)."""

    key: str
    size: int
    sha256: str | None = None


class ObjectStore(Protocol):
    """A place that holds objects by key: a directory, an S3 bucket, an Azure container."""

    @property
    def description(self) -> str:
        """Where the objects go, for messages (`s3://bucket/prefix`), never with a secret."""
        ...

    def put_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> ObjectInfo:
        """Store the bytes of `path` under `key`, then compare the stored object's size and
        sha256 with the local ones (ChecksumMismatch if they differ). `sha256` saves
        reading the file once more when the caller already knows it."""
        ...

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        """Store small `data` under `key` (a manifest, a probe), checked like put_file."""
        ...

    def get_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> ObjectInfo:
        """Write the object to `path` (a temporary file renamed once complete), comparing the
        bytes received with `sha256` (default: the sha256 stored with the object);
        ChecksumMismatch leaves `path` untouched."""
        ...

    def get_bytes(self, key: str, *, sha256: str | None = None) -> bytes:
        """The bytes of a small object, checked like get_file."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, with sizes (sha256 may be None)."""
        ...

    def stat(self, key: str) -> ObjectInfo | None:
        """The object's size and stored sha256, or None when there is no such object."""
        ...

    def exists(self, key: str) -> bool:
        ...

    def delete(self, key: str) -> None:
        """Remove the object (no error when it is already gone)."""
        ...


def check_key(key: str) -> str:
    """`key` if it is a valid relative '/'-separated key; StorageError otherwise."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\\" in key:
        raise StorageError(f"invalid object key {key!r}: a relative '/'-separated path without '.' or '..'")
    return key


def join_key(prefix: str, key: str) -> str:
    """`key` under `prefix` ('' for none); both '/'-separated."""
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key


def sha256_file(path: Path, progress: ProgressCallback | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HashingWriter:
    """A binary file wrapper that hashes what is written to it (downloads check their
    bytes as they arrive) and reports progress."""

    def __init__(self, handle: BinaryIO, progress: ProgressCallback | None = None) -> None:
        self._handle = handle
        self._progress = progress
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        written = self._handle.write(data)
        if self._progress is not None:
            self._progress(len(data))
        return written

    def flush(self) -> None:
        self._handle.flush()


def check_received(key: str, where: str, expected: str | None, actual: str, size: int, expected_size: int | None) -> None:
    """Raise ChecksumMismatch when received bytes are not the stored ones."""
    if expected_size is not None and size != expected_size:
        raise ChecksumMismatch(f"{where}: object {key} is damaged: {size} bytes received, {expected_size} expected")
    if expected is not None and actual != expected:
        raise ChecksumMismatch(
            f"{where}: object {key} is damaged: sha256 {actual[:12]}… of the bytes received, {expected[:12]}… expected"
        )


def check_stored(key: str, where: str, local_sha256: str, local_size: int, stored: ObjectInfo | None) -> ObjectInfo:
    """After an upload: the stored object must have the local size and sha256."""
    if stored is None:
        raise StorageError(f"{where}: object {key} is missing right after its upload")
    if stored.size != local_size or stored.sha256 != local_sha256:
        raise ChecksumMismatch(
            f"{where}: object {key} was stored with {stored.size} bytes, sha256 {str(stored.sha256)[:12]}…; "
            f"the local file has {local_size} bytes, sha256 {local_sha256[:12]}…"
        )
    return stored
