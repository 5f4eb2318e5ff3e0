"""The sql frontend's on-disk cache: what compiling a project's migration files gave, kept
under the project's `.nself/cache/sql/` (git-ignored, and `.nself/cache/.gitignore` says so
too) so that an unchanged project
compiles from the cache, and a project whose last file changed (or that gained a file)
replays only from the state before that file.

Every entry is named by a key over everything its content depends on, so it can never be
stale: nself's version, a fingerprint of the code and data that interpret the SQL (the
frontend, the IR, the PostgreSQL catalog snapshot and its server version, the platform
bases, pglast's and Python's versions), the platform and strictness of the compile, and,
chained file after file, each migration file's path, line offset and the SHA-256 of its
text (content, never modification times). Two entries are written per set of files:

- `result-KEY.pickle`: the CompileResult (catalog and warnings) of all the files;
- `state-KEY.pickle`: the interpreter's State before the last file (KEY: the files
  before it), from which an edited last file or appended files are replayed.

Entries are written atomically (a temporary file renamed over the old one); a missing,
unreadable or corrupt entry (a killed writer, a disk full, another version's format) is
ignored: the compile goes on without it, and writes a good one. The entries are pickles,
read only from the project's own `.nself/` (a directory as trusted as the migrations)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import nself
from nself.frontends.migration_files import MigrationFile
from nself.ir import pickling as ir_pickling

# Bumped when what an entry holds changes shape without the code fingerprint changing.
FORMAT = 1
# The payload is zstd-compressed (level 1): the entries are repetitive (the rendered types
# of 10,000 tables, 265 MB of text, are 7 MB), and compressing costs less CPU than writing
# and reading them whole (about 0.07 s per 100 MB each way).
_MAGIC = b"nself-sql-cache-zstd"
_LEVEL = 1

# What the compile's result depends on besides the migration files (relative to nself/).
_CODE = ("frontends", "ir", "platforms.py", "errors.py", "data")


@cache
def code_fingerprint(parts: tuple[str, ...] = _CODE) -> str | None:
    """A digest of nself's version and its files under `parts` (relative to the package:
    by default the code and data that interpret SQL); None when the files cannot be read
    (then nothing is cached)."""
    import pglast

    digest = hashlib.sha256(f"{FORMAT}\0{nself.__version__}\0{pglast.__version__}\0{sys.version}".encode())
    root = Path(nself.__file__).parent
    try:
        files: list[tuple[str, Path]] = []
        for name in parts:
            path = (root / name).resolve()  # (templates: a link in a source checkout)
            if path.is_dir():
                files += (
                    (f"{name}/{p.relative_to(path)}", p)
                    for p in path.rglob("*")
                    if p.suffix in _SUFFIXES and p.is_file()
                )
            elif path.is_file():
                files.append((name, path))
        for name, path in sorted(files):
            digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return None
    return digest.hexdigest()


_SUFFIXES = (".py", ".json", ".sql", ".jinja2", ".lark")


def chain_keys(migrations: Sequence[MigrationFile], context: str) -> list[str]:
    """keys[i]: the key of the first i + 1 files (each key covers every file before it)."""
    fingerprint = code_fingerprint()
    if fingerprint is None:
        return []
    key = hashlib.sha256(f"{fingerprint}\0{context}".encode()).digest()
    keys: list[str] = []
    for migration in migrations:
        text = hashlib.sha256(migration.up_sql.encode("utf-8", "surrogatepass")).digest()
        key = hashlib.sha256(
            key + f"\0{migration.path}\0{migration.line_offset}\0".encode("utf-8", "surrogatepass") + text
        ).digest()
        keys.append(key.hex())
    return keys


class CompileCache:
    """The cache entries of one set of migration files (see the module's docstring).
    `load` unpickles an entry's payload (the caller's, as States hold pglast trees)."""

    def __init__(
        self,
        directory: Path,
        migrations: Sequence[MigrationFile],
        context: str,
        load: Callable[[bytes], Any] = pickle.loads,
    ) -> None:
        # one folder per set of directories the files come from, so that two projects (or
        # the two sides of a diff) do not prune each other's entries
        folders = "\0".join(sorted({str(m.path.parent) for m in migrations}))
        self.root = directory
        self.directory = (
            directory / "sql" / hashlib.sha256(folders.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        )
        self.keys = chain_keys(migrations, context)
        self._load = load
        self._kept: set[str] = set()  # the entries this compile read or wrote

    @property
    def usable(self) -> bool:
        return bool(self.keys)

    def _path(self, kind: str, key: str) -> Path:
        return self.directory / f"{kind}-{key}.pickle"

    def _read(self, kind: str, key: str) -> Any:
        path = self._path(kind, key)
        value = read_entry(path, key, self._load)
        if value is not None:
            self._kept.add(path.name)
        return value

    def _write(self, kind: str, key: str, value: Any, dump: Callable[[Any], bytes]) -> None:
        path = self._path(kind, key)
        if write_entry(path, key, value, dump, self.root):
            self._kept.add(path.name)

    def result(self) -> Any:
        """The cached result of all the files, or None."""
        return self._read("result", self.keys[-1]) if self.keys else None

    def resume_point(self) -> tuple[int, Any]:
        """(number of files done, the State after them) from the longest cached prefix
        of the files but the last; (0, None) when there is none."""
        for done in range(len(self.keys) - 1, 0, -1):
            if self._path("state", self.keys[done - 1]).is_file():
                state = self._read("state", self.keys[done - 1])
                if state is not None:
                    return done, state
        return 0, None

    def store_state(self, done: int, state: Any, dump: Callable[[Any], bytes]) -> None:
        """Keep `state`, the State after the first `done` files."""
        if done > 0:
            self._write("state", self.keys[done - 1], state, dump)

    def store_result(self, result: object) -> None:
        if _forked_writes is not None:  # a forked process writes it while this one goes on
            self._kept.add(self._path("result", self.keys[-1]).name)
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    self._write("result", self.keys[-1], result, _dump)
                    self._prune()
                    status = 0
                finally:
                    os._exit(status)
            _forked_writes.append(pid)
            return
        self._write("result", self.keys[-1], result, _dump)
        self._prune()

    def _prune(self) -> None:
        """Remove the entries of earlier versions of these files (and stray temporaries)."""
        prune(self.directory, self._kept)


# The processes writing compile results (CompileCache.store_result) inside
# writes_forked(); None: results are written by the compiling process.
_forked_writes: list[int] | None = None


@contextlib.contextmanager
def writes_forked() -> Iterator[None]:
    """Inside, a compile's result is written to the cache by a forked process while the
    compiling one goes on (at 10,000 tables pickling, compressing and writing it takes 0.5
    s that a one-shot `nself types` spends rendering instead); all of them are waited for
    on leaving. Only for a process that runs no other threads and may fork (the caller
    knows: nself.runtime.forked.fork_available)."""
    global _forked_writes
    if _forked_writes is not None:  # nested: the outer one waits
        yield
        return
    _forked_writes = []
    try:
        yield
    finally:
        pids, _forked_writes = _forked_writes, None
        for pid in pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def read_entry(path: Path, key: str, load: Callable[[bytes], Any] = pickle.loads) -> Any:
    """The value of the entry at `path` written for `key`; None when there is none, or it
    is unreadable, corrupt or another key's."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        magic, stored_key, payload = pickle.loads(data)
        if magic != _MAGIC or stored_key != key or not isinstance(payload, bytes):
            return None
        import zstandard

        return load(zstandard.ZstdDecompressor().decompress(payload))
    except Exception:  # a corrupt or foreign entry: whatever unpickling raised, ignore it
        return None


def write_entry(path: Path, key: str, value: Any, dump: Callable[[Any], bytes], root: Path) -> bool:
    """Write `value` as the entry at `path` for `key`, atomically (a temporary file renamed
    over it); False when it cannot be (a read-only project, a full disk, a value pickle
    cannot hold). `root`: the cache's folder, given a .gitignore when first made."""
    try:
        import zstandard

        payload = zstandard.ZstdCompressor(level=_LEVEL).compress(dump(value))
        data = pickle.dumps((_MAGIC, key, payload), protocol=pickle.HIGHEST_PROTOCOL)
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            ignore = root / ".gitignore"  # the cache is never committed, wherever it is
            if not ignore.exists():
                ignore.write_text("*\n", encoding="utf-8")
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem[:16]}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
        return False
    return True


def prune(directory: Path, kept: set[str]) -> None:
    """Remove the files of `directory` not named in `kept`."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name not in kept:
            with contextlib.suppress(OSError):
                os.unlink(directory / name)


def _dump(value: object) -> bytes:
    return ir_pickling.dumps(value)
