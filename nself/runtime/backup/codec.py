"""How a backup stores a file: zstd-compressed, then (with a key) encrypted with
AES-256-GCM, with the sha256 of the stored bytes and of the original bytes computed on the
way. Streaming, so a 1 GB relation file never sits in memory.

An encrypted file is `NSE1` + 12-byte nonce (random per file) + ciphertext + 16-byte tag;
its path inside the backup is the associated data, so a file moved to another name does
not decrypt. Decryption fails closed: nothing is renamed into place before the tag checks."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import zstandard

from nself.errors import NselfError

CHUNK = 1 << 20
MAGIC = b"NSE1"
NONCE_SIZE = 12
TAG_SIZE = 16
KEY_VARIABLE = "NSELF_BACKUP_KEY"
ZSTD_LEVEL = 3


class CodecError(NselfError):
    """A stored file that cannot be read back: corrupt, truncated, or the wrong key."""


@dataclass(frozen=True, slots=True)
class Stored:
    size: int  # stored bytes
    sha256: str  # of the stored bytes
    source_size: int
    source_sha256: str


def parse_key(text: str, origin: str) -> bytes:
    """A 256-bit key written as 64 hex digits or as base64. `origin` names where it came
    from (never the key itself) for the error."""
    text = text.strip()
    try:
        if len(text) == 64:
            return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == 32:
        return raw
    raise NselfError(
        f"{origin}: a backup key is 32 bytes written as 64 hex digits or base64 "
        "(make one with `openssl rand -hex 32`)"
    )


def key_id(key: bytes) -> str:
    """A fingerprint of a key, safe to store in a manifest: tells a wrong key from a corrupt
    file without revealing anything about the key."""
    return hashlib.sha256(b"nself-backup-key-id:" + key).hexdigest()[:16]


def _encryptor(key: bytes, nonce: bytes, aad: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    enc = Cipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    return enc


def _decryptor(key: bytes, nonce: bytes, tag: bytes, aad: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    dec = Cipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(aad)
    return dec


def store_stream(
    source: IO[bytes] | Any, target: Path, *, aad: str, key: bytes | None = None, durable: bool = True, threads: int = 0
) -> Stored:
    """Compress (and encrypt) `source` into `target`, written atomically. `durable=False`
    skips the fsync: for a caller that flushes once for many files (`os.sync()` before
    writing its manifest), as one fsync per file costs more than the compression.
    `threads` > 0 lets zstd compress with that many worker threads (still one frame)."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    stored_hash = hashlib.sha256()
    source_hash = hashlib.sha256()
    source_size = 0
    stored_size = 0
    try:
        with open(tmp, "wb") as out:
            encryptor = None
            if key is not None:
                nonce = os.urandom(NONCE_SIZE)
                encryptor = _encryptor(key, nonce, aad.encode())
                head = MAGIC + nonce
                out.write(head)
                stored_hash.update(head)
                stored_size += len(head)

            def emit(data: bytes) -> None:
                nonlocal stored_size
                if not data:
                    return
                if encryptor is not None:
                    data = encryptor.update(data)
                out.write(data)
                stored_hash.update(data)
                stored_size += len(data)

            compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True, threads=threads).compressobj()
            while chunk := source.read(CHUNK):
                source_hash.update(chunk)
                source_size += len(chunk)
                emit(compressor.compress(chunk))
            emit(compressor.flush())
            if encryptor is not None:
                tail = encryptor.finalize() + encryptor.tag
                out.write(tail)
                stored_hash.update(tail)
                stored_size += len(tail)
            out.flush()
            if durable:
                os.fsync(out.fileno())
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return Stored(stored_size, stored_hash.hexdigest(), source_size, source_hash.hexdigest())


def store_bytes(
    data: bytes,
    target: Path,
    *,
    aad: str,
    key: bytes | None = None,
    compressor: zstandard.ZstdCompressor | None = None,
    durable: bool = False,
) -> Stored:
    """`store_stream` for a small file already in memory: one-shot compression (with the
    caller's compressor, reused across files), written straight to `target` with no
    temporary name (for a backup folder, which is incomplete until its manifest is written
    anyway); `durable` fsyncs it."""
    compressed = (compressor or zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)).compress(data)
    if key is not None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(NONCE_SIZE)
        compressed = MAGIC + nonce + AESGCM(key).encrypt(nonce, compressed, aad.encode())
    with open(target, "wb") as out:
        out.write(compressed)
        if durable:
            os.fsync(out.fileno())
    return Stored(len(compressed), hashlib.sha256(compressed).hexdigest(), len(data), hashlib.sha256(data).hexdigest())


def store_file(source: Path, target: Path, *, aad: str, key: bytes | None = None) -> Stored:
    with open(source, "rb") as handle:
        return store_stream(handle, target, aad=aad, key=key)


def is_encrypted(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _stored_chunks(
    path: Path, aad: str, key: bytes | None, expect_encrypted: bool, raw: Any = None
) -> Iterator[bytes]:
    """The compressed bytes of a stored file, decrypted; the tag is checked at the end
    (so a consumer must not trust what it got before the iterator is exhausted). `raw`, a
    hashlib object, is fed the stored bytes as they are read."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if raw is not None:
            handle = _Hashing(handle, raw)  # type: ignore[assignment]
        head = handle.read(len(MAGIC))
        encrypted = head == MAGIC
        if expect_encrypted and not encrypted:
            raise CodecError(f"{path.name}: expected an encrypted file, found a plain one")
        if not encrypted:
            yield head
            while chunk := handle.read(CHUNK):
                yield chunk
            return
        if key is None:
            raise CodecError(f"{path.name} is encrypted: set {KEY_VARIABLE} or [backup] key in nself.toml")
        nonce = handle.read(NONCE_SIZE)
        body = size - len(MAGIC) - NONCE_SIZE - TAG_SIZE
        if len(nonce) != NONCE_SIZE or body < 0:
            raise CodecError(f"{path.name}: truncated encrypted file")
        tag = _read_at(path, size - TAG_SIZE, TAG_SIZE)
        decryptor = _decryptor(key, nonce, tag, aad.encode())
        remaining = body
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                raise CodecError(f"{path.name}: truncated encrypted file")
            remaining -= len(chunk)
            yield decryptor.update(chunk)
        handle.read(TAG_SIZE)  # through the hash too
        from cryptography.exceptions import InvalidTag

        try:
            yield decryptor.finalize()
        except InvalidTag:
            raise CodecError(
                f"{path.name}: authentication failed (wrong key, or the file was altered)"
            ) from None


class _Hashing:
    def __init__(self, handle: IO[bytes], digest: Any) -> None:
        self.handle = handle
        self.digest = digest

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _read_at(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(size)


def restore_to(
    path: Path,
    target: Path,
    *,
    aad: str,
    key: bytes | None,
    expect_encrypted: bool = False,
    expect_size: int | None = None,
    expect_sha256: str | None = None,
    durable: bool = False,
) -> int:
    """Decrypt and decompress the stored file `path` into `target` (atomically: a file that
    fails its tag, its zstd checksum or the expected size and sha256 of its stored bytes is
    never renamed into place). Returns its size. `durable` fsyncs it before the rename."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    written = 0
    _check_stored_size(path, expect_size)
    raw = hashlib.sha256() if expect_sha256 is not None else None
    try:
        with open(tmp, "wb") as out:
            decompressor = zstandard.ZstdDecompressor().decompressobj()
            try:
                chunks = _stored_chunks(path, aad, key, expect_encrypted, raw)
                for chunk in chunks:
                    if not chunk:
                        continue
                    if decompressor.eof:
                        raise CodecError(f"{path.name}: data after the end of the compressed stream")
                    data = decompressor.decompress(chunk)
                    out.write(data)
                    written += len(data)
                if not decompressor.eof:
                    raise CodecError(f"{path.name}: truncated (the compressed stream ends early)")
            except zstandard.ZstdError as exc:
                _authenticate_rest(chunks)  # a wrong key shows as garbage first: say so
                raise CodecError(f"{path.name}: corrupt compressed data ({exc})") from None
            if durable:
                out.flush()
                os.fsync(out.fileno())
        if raw is not None and raw.hexdigest() != expect_sha256:
            raise CodecError(f"{path.name}: checksum mismatch (altered)")
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return written


def read_plain(
    path: Path,
    *,
    aad: str,
    key: bytes | None,
    expect_encrypted: bool = False,
    expect_size: int | None = None,
    expect_sha256: str | None = None,
) -> Iterator[bytes]:
    """The original bytes of the stored file `path`, decrypted and decompressed, as they
    come. The checks (size, sha256 of the stored bytes, GCM tag, zstd checksum) end the
    iteration: a consumer must not trust what it got before the iterator is exhausted."""
    _check_stored_size(path, expect_size)
    raw = hashlib.sha256() if expect_sha256 is not None else None
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    chunks = _stored_chunks(path, aad, key, expect_encrypted, raw)
    try:
        for chunk in chunks:
            if not chunk:
                continue
            if decompressor.eof:
                raise CodecError(f"{path.name}: data after the end of the compressed stream")
            data = decompressor.decompress(chunk)
            if data:
                yield data
        if not decompressor.eof:
            raise CodecError(f"{path.name}: truncated (the compressed stream ends early)")
    except zstandard.ZstdError as exc:
        _authenticate_rest(chunks)
        raise CodecError(f"{path.name}: corrupt compressed data ({exc})") from None
    if raw is not None and raw.hexdigest() != expect_sha256:
        raise CodecError(f"{path.name}: checksum mismatch (altered)")


def check_readable(path: Path, *, aad: str, key: bytes | None) -> int:
    """Read the stored file through (tag and zstd checksum checked) without writing it."""
    written = 0
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    chunks = _stored_chunks(path, aad, key, False)
    try:
        for chunk in chunks:
            if not chunk:
                continue
            if decompressor.eof:
                raise CodecError(f"{path.name}: data after the end of the compressed stream")
            written += len(decompressor.decompress(chunk))
    except zstandard.ZstdError as exc:
        _authenticate_rest(chunks)
        raise CodecError(f"{path.name}: corrupt compressed data ({exc})") from None
    if not decompressor.eof:
        raise CodecError(f"{path.name}: truncated (the compressed stream ends early)")
    return written


def _authenticate_rest(chunks: Iterator[bytes]) -> None:
    """Read an encrypted file's remaining chunks so that its GCM tag is checked: raises the
    authentication error when that is the real cause."""
    for _ in chunks:
        pass


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_stored_size(path: Path, expect_size: int | None) -> None:
    """A stored file missing, or of another size than its manifest's: named, before reading it."""
    if expect_size is None:
        return
    try:
        actual = path.stat().st_size
    except FileNotFoundError:
        raise CodecError(f"{path.name}: missing") from None
    if actual != expect_size:
        raise CodecError(f"{path.name}: size {actual}, the manifest says {expect_size} (truncated or altered)")
