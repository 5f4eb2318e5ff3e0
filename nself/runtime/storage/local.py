"""An object store in a directory (a disk, a mounted NFS or SMB share): each object a file,
written as a temporary file beside it and renamed once complete and synced."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from nself.runtime.storage.base import (
    ChecksumMismatch,
    HashingWriter,
    ObjectInfo,
    ProgressCallback,
    StorageError,
    check_key,
    check_received,
    join_key,
    sha256_bytes,
    sha256_file,
)

_TMP_MARK = ".nself-tmp-"
_CHUNK = 1024 * 1024


class LocalStore:
    """Objects as files under `root`/`prefix`. Checksums are recomputed from the bytes
    (a file system keeps no metadata to trust)."""

    def __init__(self, root: Path, prefix: str = "") -> None:
        self.root = root
        self.prefix = prefix.strip("/")

    @property
    def description(self) -> str:
        return str(self.root / self.prefix) if self.prefix else str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*join_key(self.prefix, check_key(key)).split("/"))

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise StorageError(f"{self.description}: directory {self.root} does not exist")

    def _write(
        self, target: Path, copy: Callable[[HashingWriter], object], progress: ProgressCallback | None
    ) -> tuple[str, int]:
        self._check_root()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{_TMP_MARK}{target.name}.{uuid.uuid4().hex[:8]}")
        try:
            with open(tmp, "wb") as handle:
                writer = HashingWriter(handle, progress)
                copy(writer)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return writer.digest.hexdigest(), writer.size

    def put_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> ObjectInfo:
        target = self._path(key)

        def copy(writer: HashingWriter) -> None:
            with open(path, "rb") as source:
                while chunk := source.read(_CHUNK):
                    writer.write(chunk)

        digest, size = self._write(target, copy, progress)
        if sha256 is not None and digest != sha256:
            target.unlink(missing_ok=True)
            raise ChecksumMismatch(f"{path}: sha256 {digest[:12]}… of the file read, {sha256[:12]}… expected")
        stored = self.stat(key)
        if stored is None or stored.sha256 != digest or stored.size != size:
            raise ChecksumMismatch(f"{self.description}: object {key} differs from {path} right after its copy")
        return stored

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        self._write(self._path(key), lambda writer: writer.write(data), None)
        stored = self.stat(key)
        if stored is None or stored.sha256 != sha256_bytes(data):
            raise ChecksumMismatch(f"{self.description}: object {key} differs from what was written")
        return stored

    def get_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> ObjectInfo:
        source = self._path(key)
        if not source.is_file():
            raise StorageError(f"{self.description}: no object {key}")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{_TMP_MARK}{path.name}.{uuid.uuid4().hex[:8]}")
        try:
            with open(tmp, "wb") as handle, open(source, "rb") as reader:
                writer = HashingWriter(handle, progress)
                while chunk := reader.read(_CHUNK):
                    writer.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            digest = writer.digest.hexdigest()
            check_received(key, self.description, sha256, digest, writer.size, None)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return ObjectInfo(key, writer.size, digest)

    def get_bytes(self, key: str, *, sha256: str | None = None) -> bytes:
        source = self._path(key)
        if not source.is_file():
            raise StorageError(f"{self.description}: no object {key}")
        data = source.read_bytes()
        check_received(key, self.description, sha256, sha256_bytes(data), len(data), None)
        return data

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root.joinpath(*self.prefix.split("/")) if self.prefix else self.root
        if not base.is_dir():
            return
        for directory, _dirs, files in os.walk(base):
            for name in sorted(files):
                if name.startswith(_TMP_MARK):
                    continue  # a copy in progress (or killed): not an object
                full = Path(directory) / name
                key = full.relative_to(base).as_posix()
                if key.startswith(prefix):
                    yield ObjectInfo(key, full.stat().st_size)

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        if not path.is_file():
            return None
        return ObjectInfo(key, path.stat().st_size, sha256_file(path))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        # Remove folders left empty, up to the store's root.
        base = self.root.joinpath(*self.prefix.split("/")) if self.prefix else self.root
        parent = path.parent
        while parent != base and base in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

