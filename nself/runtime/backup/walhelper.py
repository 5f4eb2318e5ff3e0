"""The encrypted WAL archive's helper, run by the PostgreSQL server as its own user (the
archive_command and restore_command). It must run where nself's own Python cannot: root's
interpreter and site-packages are often out of the server user's reach. So this file
imports nothing from nself and nothing beyond the standard library and `cryptography`
(Debian: python3-cryptography); it compresses with the `zstd` program. nself copies it into
the repository (`.bin/walhelper.py`) and names an interpreter the server user can run.

    python3 -I walhelper.py push PATH WALDIR (--key-env NAME | --key-file PATH)
    python3 -I walhelper.py get NAME TARGET WALDIR [--key-env NAME | --key-file PATH]

The stored format is nself's (nself/runtime/backup/codec.py): a zstd frame, then with a key
`NSE1` + 12-byte random nonce + AES-256-GCM ciphertext + 16-byte tag, the WAL file's name as
associated data. `push` writes a temporary name, fsyncs, renames, fsyncs the folder, and
accepts a segment already stored only with the same content. `get` reads `NAME.zst` or
`NAME.zst.enc`; it exits 1 when neither is there (the archive ends), 2 on any error: a wrong
key or a flipped byte never gives a file."""

from __future__ import annotations

import base64
import binascii
import os
import subprocess
import sys
from pathlib import Path

MAGIC = b"NSE1"
NONCE_SIZE = 12


class HelperError(Exception):
    pass


def parse_key(text: str) -> bytes:
    text = text.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise HelperError("the backup key is not 32 bytes written as 64 hex digits or base64")
    return raw


def read_key(argv: list[str]) -> bytes | None:
    """The key named by --key-env/--key-file (removed from argv), or None."""
    if "--key-env" in argv:
        index = argv.index("--key-env")
        name = argv[index + 1]
        del argv[index : index + 2]
        value = os.environ.get(name, "")
        if not value:
            raise HelperError(f"${name} is not set in the server's environment")
        return parse_key(value)
    if "--key-file" in argv:
        index = argv.index("--key-file")
        path = argv[index + 1]
        del argv[index : index + 2]
        try:
            return parse_key(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise HelperError(f"cannot read the key file {path}: {exc.strerror}") from None
    return None


def _zstd(args: list[str], data: bytes) -> bytes:
    done = subprocess.run(["zstd", "-q", *args], input=data, capture_output=True)
    if done.returncode != 0:
        raise HelperError(f"zstd: {done.stderr.decode(errors='replace').strip() or 'failed'}")
    return done.stdout


def seal(plain: bytes, name: str, key: bytes | None) -> bytes:
    packed = _zstd(["-3", "-c"], plain)
    if key is None:
        return packed
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_SIZE)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, packed, name.encode())


def unseal(stored: bytes, name: str, key: bytes | None, encrypted: bool) -> bytes:
    if encrypted:
        if key is None:
            raise HelperError(f"{name} is encrypted and no key was given")
        if not stored.startswith(MAGIC):
            raise HelperError(f"{name}: not an encrypted nself file")
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = stored[len(MAGIC) : len(MAGIC) + NONCE_SIZE]
        try:
            stored = AESGCM(key).decrypt(nonce, stored[len(MAGIC) + NONCE_SIZE :], name.encode())
        except InvalidTag:
            raise HelperError(f"{name}: authentication failed (wrong key or corrupt file)") from None
    return _zstd(["-d", "-c"], stored)


def write_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def push(source: Path, wal_dir: Path, key: bytes | None) -> None:
    name = source.name
    plain = source.read_bytes()
    target = wal_dir / (name + (".zst.enc" if key is not None else ".zst"))
    if target.exists():
        try:
            same = unseal(target.read_bytes(), name, key, key is not None) == plain
        except HelperError:
            same = False
        if same:
            return
        raise HelperError(f"{target} already exists with other content (two clusters archiving into one repository?)")
    wal_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(target, seal(plain, name, key))


def get(name: str, target: Path, wal_dir: Path, key: bytes | None) -> bool:
    for encrypted in (False, True):
        stored = wal_dir / (name + (".zst.enc" if encrypted else ".zst"))
        if stored.exists():
            plain = unseal(stored.read_bytes(), name, key, encrypted)
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
            tmp.write_bytes(plain)
            os.replace(tmp, target)
            return True
    return False


def main(argv: list[str]) -> int:
    try:
        key = read_key(argv)
        if argv[:1] == ["push"] and len(argv) == 3:
            push(Path(argv[1]), Path(argv[2]), key)
            return 0
        if argv[:1] == ["get"] and len(argv) == 4:
            return 0 if get(argv[1], Path(argv[2]), Path(argv[3]), key) else 1
    except (HelperError, OSError, IndexError) as exc:  # the server logs stderr: one line, no data
        print(f"nself wal helper: {exc}", file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
