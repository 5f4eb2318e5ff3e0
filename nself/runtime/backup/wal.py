"""The WAL archive: `<repo>/wal/<segment>.zst[.enc]`, one file per WAL segment or timeline
history file, each written atomically.

PostgreSQL runs the archive and restore commands itself (as the server user), so this
module is also a tiny program:

    python -m nself.runtime.backup.wal push PATH WALDIR [--key-env NAME | --key-file PATH]
    python -m nself.runtime.backup.wal get NAME TARGET WALDIR [--key-env NAME | --key-file PATH]

`push` exits 0 once the segment is safely stored (or already stored with the same
content); `get` exits 1 when the archive has no such file, which is how recovery learns
that the archive ends there."""

from __future__ import annotations

import functools
import os
import re
import shlex
import sys
import time
from pathlib import Path

from nself.errors import NselfError
from nself.runtime.backup.codec import CodecError, parse_key, restore_to, store_file

SEGMENT = re.compile(r"^[0-9A-F]{24}$")
HISTORY = re.compile(r"^[0-9A-F]{8}\.history$")
DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024


# --------------------------------------------------------------------------- names


def lsn_to_int(lsn: str) -> int:
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def segment_name(timeline: int, lsn: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> str:
    segno = lsn // segment_size
    per_id = 0x100000000 // segment_size
    return f"{timeline:08X}{segno // per_id:08X}{segno % per_id:08X}"


def segment_number(name: str, segment_size: int = DEFAULT_SEGMENT_SIZE) -> tuple[int, int]:
    """(timeline, segment number) of a segment name."""
    per_id = 0x100000000 // segment_size
    return int(name[:8], 16), int(name[8:16], 16) * per_id + int(name[16:24], 16)


def segment_range(first: str, last: str, segment_size: int = DEFAULT_SEGMENT_SIZE) -> list[str]:
    timeline, start = segment_number(first, segment_size)
    _, stop = segment_number(last, segment_size)
    per_id = 0x100000000 // segment_size
    return [f"{timeline:08X}{n // per_id:08X}{n % per_id:08X}" for n in range(start, stop + 1)]


def stored_name(wal_name: str, encrypted: bool) -> str:
    return wal_name + (".zst.enc" if encrypted else ".zst")


def find_stored(wal_dir: Path, wal_name: str) -> Path | None:
    for encrypted in (False, True):
        candidate = wal_dir / stored_name(wal_name, encrypted)
        if candidate.exists():
            return candidate
    return None


def archived_segments(wal_dir: Path) -> dict[str, Path]:
    """Every archived segment (not history or partial files), by WAL name."""
    found: dict[str, Path] = {}
    if wal_dir.is_dir():
        for path in wal_dir.iterdir():
            name = path.name.split(".", 1)[0]
            if SEGMENT.match(name) and path.name in (f"{name}.zst", f"{name}.zst.enc"):
                found[name] = path
    return found


# --------------------------------------------------------------------------- commands


def archive_command(wal_dir: Path, key_argv: list[str] | None = None) -> str:
    """The archive_command that stores each finished segment into `wal_dir`.

    Without encryption it is the `zstd` program in a shell line (the server user may not
    reach nself's Python, and one process per segment should start fast): compress to a
    temporary name, fsync, rename, fsync the folder; a segment already archived is accepted
    only when its content is the same. With a key it is walhelper.py (AES-GCM), a
    standalone script run by a Python the server user can execute."""
    if key_argv:
        return _command(["push", "%p", str(wal_dir), *key_argv], wal_dir)
    folder = shlex.quote(str(wal_dir))
    return (
        f'd={folder}; t="$d/%f.zst"; '
        'if [ -e "$t" ]; then zstd -dcq "$t" | cmp -s - %p; '
        'else zstd -q -3 -f -o "$d/.%f.tmp" %p && sync "$d/.%f.tmp" && mv -f "$d/.%f.tmp" "$t" && sync "$d"; fi'
    )


def restore_command(wal_dir: Path, key_argv: list[str] | None = None) -> str:
    """The restore_command reading segments back from `wal_dir` (exit 1: not archived)."""
    if key_argv:
        return _command(["get", "%f", "%p", str(wal_dir), *key_argv], wal_dir)
    folder = shlex.quote(str(wal_dir))
    return f'[ -e {folder}/%f.zst ] && zstd -dqf {folder}/%f.zst -o %p'


def _command(args: list[str], wal_dir: Path) -> str:
    """The helper (walhelper.py, copied next to the archive) run by an interpreter the
    server user can execute: root's own Python is often out of its reach."""
    helper = install_helper(wal_dir)
    argv = [server_python(), "-I", str(helper), *args]
    return " ".join(a if a in ("%p", "%f") else shlex.quote(a) for a in argv)


HELPER_DIR = ".bin"


def install_helper(wal_dir: Path) -> Path:
    """Copy walhelper.py into `<wal_dir>/.bin/` (when it differs), readable by the server."""
    source = Path(__file__).with_name("walhelper.py").read_bytes()
    target = wal_dir / HELPER_DIR / "walhelper.py"
    if not target.is_file() or target.read_bytes() != source:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.parent.chmod(0o755)
        tmp = target.with_name(f".walhelper.py.tmp-{os.getpid()}")
        tmp.write_bytes(source)
        tmp.chmod(0o644)
        os.replace(tmp, target)
    return target


@functools.cache
def server_python() -> str:
    """A Python the server user can run that has `cryptography`: this one when it can,
    else the system's."""
    import shutil
    import subprocess

    from nself.runtime.cluster import as_server_user

    candidates = [sys.executable, "/usr/bin/python3", shutil.which("python3") or ""]
    for candidate in dict.fromkeys(c for c in candidates if c):
        check = as_server_user([candidate, "-I", "-c", "import cryptography.hazmat.primitives.ciphers.aead"])
        try:
            if subprocess.run(check, capture_output=True, timeout=30).returncode == 0:
                return candidate
        except (OSError, subprocess.TimeoutExpired):
            continue
    raise NselfError(
        "an encrypted WAL archive needs a python3 with the cryptography package that the server user "
        "can run (Debian: apt install python3-cryptography)"
    )


def push(source: Path, wal_dir: Path, key: bytes | None) -> None:
    """Store the finished segment `source` into `wal_dir`. A segment already there with the
    same content is fine (the archiver may retry after a crash); a different one is an error
    (two clusters writing one archive)."""
    name = source.name
    target = wal_dir / stored_name(name, key is not None)
    if target.exists():
        existing = wal_dir / f".{name}.check"
        try:
            restore_to(target, existing, aad=name, key=key)
            same = existing.read_bytes() == source.read_bytes()
        except CodecError:
            same = False
        finally:
            existing.unlink(missing_ok=True)
        if same:
            return
        raise CodecError(f"{target} already exists with other content (two clusters archiving into one repository?)")
    wal_dir.mkdir(parents=True, exist_ok=True)
    store_file(source, target, aad=name, key=key)


def get(name: str, target: Path, wal_dir: Path, key: bytes | None) -> bool:
    stored = find_stored(wal_dir, name)
    if stored is None:
        return False
    restore_to(stored, target, aad=name, key=key)
    return True


def wait_for_archived(wal_dir: Path, name: str, *, timeout: float = 120.0, failed: object = None) -> None:
    """Wait until segment `name` is in the archive."""
    deadline = time.monotonic() + timeout
    while find_stored(wal_dir, name) is None:
        if time.monotonic() > deadline:
            raise CodecError(
                f"WAL segment {name} was not archived into {wal_dir} within {timeout:.0f} s "
                "(see the server log: is archive_command failing?)"
            )
        time.sleep(0.05)


def _main(argv: list[str]) -> int:
    key: bytes | None = None
    if "--key-env" in argv:
        index = argv.index("--key-env")
        variable = argv[index + 1]
        value = os.environ.get(variable, "")
        if not value:
            print(f"nself wal: ${variable} is not set; cannot encrypt/decrypt WAL", file=sys.stderr)
            return 2
        key = parse_key(value, f"${variable}")
        del argv[index : index + 2]
    if "--key-file" in argv:
        index = argv.index("--key-file")
        key = parse_key(Path(argv[index + 1]).read_text(encoding="utf-8"), argv[index + 1])
        del argv[index : index + 2]
    try:
        if argv[:1] == ["push"] and len(argv) == 3:
            push(Path(argv[1]), Path(argv[2]), key)
            return 0
        if argv[:1] == ["get"] and len(argv) == 4:
            return 0 if get(argv[1], Path(argv[2]), Path(argv[3]), key) else 1
    except Exception as exc:  # the server logs stderr; never a traceback with data in it
        print(f"nself wal {argv[0]}: {exc}", file=sys.stderr)
        return 2
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
