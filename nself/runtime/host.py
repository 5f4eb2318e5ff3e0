"""The machine nself runs on: the one place that tells Linux from macOS (README, "macOS").

What differs, and nothing else:
- where PostgreSQL's programs are installed besides PATH: Debian/Ubuntu's
  /usr/lib/postgresql/N/bin and the PGDG RPMs' /usr/pgsql-N/bin on Linux; Homebrew's
  /opt/homebrew/opt/postgresql@N/bin (Apple silicon), /usr/local/opt/postgresql@N/bin (Intel),
  /opt/homebrew/bin and Postgres.app's /Applications/Postgres.app/Contents/Versions/N/bin
  on macOS;
- whether the server programs run as another user: PostgreSQL refuses to run as root, so on
  Linux as root they run as the `postgres` system user (runuser) and the cluster's folder is
  handed to it (chown); macOS has neither runuser nor that user, and nself runs as the
  logged-in user there;
- whether forking worker processes is safe (not on macOS: its system frameworks are not
  fork-safe);
- Linux's prctl(PR_SET_PDEATHSIG) for a child that must die with nself, and the
  /etc/cron.d folder `backup schedule` writes to (macOS has neither);
- the file names of libpq, bundled with psycopg-binary or the system's (nself.libpq).

`current_host()` is the machine itself; tests build a `Host` for another system (and a
`root` folder standing for `/`) to check what nself would do there.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

SERVER_USER = "postgres"

# Folders that hold PostgreSQL's programs, per system, as globs under the filesystem root;
# `*` stands for the major version.
POSTGRESQL_DIRS: dict[str, tuple[str, ...]] = {
    "linux": ("usr/lib/postgresql/*/bin", "usr/pgsql-*/bin"),
    "darwin": (
        "opt/homebrew/opt/postgresql@*/bin",
        "usr/local/opt/postgresql@*/bin",
        "Applications/Postgres.app/Contents/Versions/*/bin",
        "opt/homebrew/bin",
        "usr/local/bin",
    ),
}
# How to install the client programs, per system, for the error that says none was found.
INSTALL_HINT = {
    "linux": "e.g. apt install postgresql-client-{major}",
    "darwin": "e.g. brew install postgresql@{major}, or Postgres.app",
}
_PR_SET_PDEATHSIG = 1
_VERSION_IN_DIR = re.compile(r"(?:/postgresql/|/pgsql-|/postgresql@|/Versions/)(\d+)(?:\.\d+)?/bin$")


def version_of_dir(directory: Path | str) -> int | None:
    """The major version a folder's name gives (/usr/lib/postgresql/15/bin, postgresql@16,
    Postgres.app's Versions/17); None for a shared folder such as /opt/homebrew/bin."""
    found = _VERSION_IN_DIR.search(str(directory))
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Host:
    """A system (`sys.platform`: linux, darwin, ...) and whether nself runs as root there."""

    system: str
    is_root: bool = False
    # stands for `/` (a test's folder in tests)
    root: Path = field(default=Path("/"))

    @property
    def linux(self) -> bool:
        return self.system.startswith("linux")

    def postgresql_dirs(self) -> list[Path]:
        """Existing folders that hold PostgreSQL's programs, newest major version first
        (folders without a version in their name last, in the order POSTGRESQL_DIRS lists)."""
        patterns = POSTGRESQL_DIRS.get("linux" if self.linux else self.system, ())
        found: list[tuple[int, int, Path]] = []
        for rank, pattern in enumerate(patterns):
            for match in glob.glob(str(self.root / pattern)):
                directory = Path(match)
                if directory.is_dir():
                    found.append((-(version_of_dir(directory) or -1), rank, directory))
        return [directory for *_, directory in sorted(found, key=lambda f: (f[0], f[1], str(f[2])))]

    def install_hint(self, major: int) -> str:
        return INSTALL_HINT.get("linux" if self.linux else self.system, "install PostgreSQL {major}").format(
            major=major
        )

    @property
    def switches_user(self) -> bool:
        """Whether the server programs run as SERVER_USER: on Linux, as root."""
        return self.linux and self.is_root

    def as_server_user(self, argv: list[str]) -> list[str]:
        """`argv`, run as the server user where that applies (runuser, on Linux as root)."""
        return ["runuser", "-u", SERVER_USER, "--", *argv] if self.switches_user else argv

    def server_user_can_reach(self, path: Path) -> bool:
        """Whether the server user may traverse every existing ancestor of `path` (a project
        under /root, mode 0700, is out of its reach). Always, when no user is switched."""
        if not self.switches_user:
            return True
        import pwd

        user = pwd.getpwnam(SERVER_USER)
        groups = set(os.getgrouplist(SERVER_USER, user.pw_gid))
        for directory in [path, *path.parents]:
            if not directory.exists():
                continue
            st = directory.stat()
            if st.st_uid == user.pw_uid:
                allowed = st.st_mode & 0o100
            elif st.st_gid in groups:
                allowed = st.st_mode & 0o010
            else:
                allowed = st.st_mode & 0o001
            if not allowed:
                return False
        return True

    def hand_to_server_user(self, path: Path) -> None:
        """Give `path` (and everything under it) to the server user, where one is switched to."""
        if not self.switches_user:
            return
        import pwd

        user = pwd.getpwnam(SERVER_USER)
        os.chown(path, user.pw_uid, user.pw_gid)
        for root, dirs, files in os.walk(path):
            os.chown(root, user.pw_uid, user.pw_gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), user.pw_uid, user.pw_gid)

    def die_with_parent(self) -> None:
        """In a child just forked (a Popen `preexec_fn`): have Linux send it SIGTERM when its
        parent dies, even by SIGKILL (prctl PR_SET_PDEATHSIG). Nothing elsewhere."""
        if not self.linux:
            return
        import contextlib
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)

    @property
    def cron_dir(self) -> Path | None:
        """The folder of system cron entries (Linux's /etc/cron.d); None where there is none."""
        return self.root / "etc" / "cron.d" if self.linux else None

    def libpq_files(self, psycopg_binary: Path | None) -> list[str]:
        """Where the libpq psycopg uses is, as paths or names to load: the copy
        psycopg-binary bundles (its package folder `psycopg_binary`), auditwheel's
        `psycopg_binary.libs/libpq-HASH.so.5.N` on Linux, delocate's `.dylibs/libpq.5.dylib`
        on macOS; else the system's by its soname, as psycopg's C and Python
        implementations load it. None elsewhere (Windows' DLLs need their folder added
        first): psycopg connects there."""
        if self.linux:
            bundle, system = (psycopg_binary.with_name("psycopg_binary.libs") if psycopg_binary else None), "libpq.so.5"
        elif self.system == "darwin":
            bundle, system = (psycopg_binary / ".dylibs" if psycopg_binary else None), "libpq.5.dylib"
        else:
            return []
        if bundle is not None and bundle.is_dir():
            found = sorted(str(path) for path in bundle.iterdir() if path.name.startswith("libpq"))
            if found:
                return found
        return [system]

    @property
    def fork_safe(self) -> bool:
        """Whether a process may fork workers that go on running Python (Linux only)."""
        return self.linux and hasattr(os, "fork")


@functools.cache
def current_host() -> Host:
    """This machine."""
    geteuid = getattr(os, "geteuid", None)
    return Host(sys.platform, is_root=geteuid is not None and geteuid() == 0)
