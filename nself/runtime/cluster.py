"""A PostgreSQL cluster that nself runs itself: the `local` environment and test clusters.

Uses the machine's own initdb/pg_ctl. PostgreSQL refuses to run as root, so when nself runs
as root on Linux the server programs run as the `postgres` system user and the cluster's
folder is handed to that user (what differs per system lives in nself.runtime.host)."""

from __future__ import annotations

import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nself.errors import NselfError
from nself.runtime.host import Host, current_host


class ClusterError(NselfError):
    pass


def find_pg_program(name: str, host: Host | None = None) -> Path:
    """The path of a PostgreSQL program: PATH first, then `pg_config --bindir`, then the
    newest of the folders where the system's packages put PostgreSQL (Debian keeps server
    programs off PATH; Homebrew's versioned formulae and Postgres.app too)."""
    host = host or current_host()
    found = shutil.which(name)
    if found:
        return Path(found)
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip()
        if bindir and (Path(bindir) / name).exists():
            return Path(bindir) / name
    for directory in host.postgresql_dirs():
        if (directory / name).is_file():
            return directory / name
    raise ClusterError(
        f"PostgreSQL program {name!r} not found (looked on PATH, pg_config and the folders of "
        f"{host.system}'s packages; {host.install_hint(15)})"
    )


def server_program(name: str, host: Host | None = None) -> Path:
    """A server-side program (initdb, pg_ctl, postgres): prefer the newest installed version's
    folder, so that client and server programs of different major versions are never mixed."""
    host = host or current_host()
    for directory in host.postgresql_dirs():
        if (directory / name).is_file():
            return directory / name
    return find_pg_program(name, host)


def library_installed(library: str) -> bool:
    """Whether the server's library folder (pg_config --pkglibdir) holds `library`."""
    try:
        pg_config = server_program("pg_config")
    except NselfError:
        return False
    done = subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True, text=True)
    folder = Path(done.stdout.strip())
    return done.returncode == 0 and any((folder / f"{library}{ext}").exists() for ext in (".so", ".dylib"))


def _library_list(value: str) -> list[str]:
    return [name.strip().strip('"') for name in value.split(",") if name.strip()]


def _conf_value(path: Path, name: str) -> str | None:
    """The last value postgresql.conf gives `name` (None when unset or commented out)."""
    found = None
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.split("#", 1)[0].partition("=")
        if sep and key.strip() == name:
            found = value.strip().strip("'")
    return found


def free_port() -> int:
    """A port nothing listens on, outside the ports `nself init` gives projects (the
    kernel's ephemeral range overlaps them: a scratch cluster there took a project's port
    between its init and its start)."""
    from nself.runtime.project import PROJECT_PORTS

    held: list[socket.socket] = []  # kept bound until the end, so the kernel offers others
    try:
        for _ in range(64):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(s)
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
            if port not in PROJECT_PORTS:
                return port
        raise NselfError("no free port outside the projects' ports")
    finally:
        for s in held:
            s.close()


def _as_server_user(argv: list[str]) -> list[str]:
    return current_host().as_server_user(argv)


def as_server_user(argv: list[str]) -> list[str]:
    """`argv` run as the server user (through runuser when nself runs as root on Linux)."""
    return _as_server_user(argv)


def server_user_can_reach(path: Path) -> bool:
    """Whether the server user may traverse every existing ancestor of `path` (a project
    under /root, mode 0700, is out of its reach)."""
    return current_host().server_user_can_reach(path)


def hand_to_server_user(path: Path) -> None:
    """Give `path` (and everything under it) to the server user, when one is switched to."""
    _hand_to_server_user(path)


def _hand_to_server_user(path: Path) -> None:
    current_host().hand_to_server_user(path)


@dataclass
class LocalCluster:
    """A cluster in `root` (data in root/data, socket and log beside it), listening on
    127.0.0.1:`port` with trust authentication for the `postgres` superuser."""

    root: Path
    port: int
    user: str = "postgres"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self, *, wal_segment_mb: int | None = None) -> None:
        """initdb the data directory (nothing when it exists). `wal_segment_mb` is initdb's
        --wal-segsize (a power of two, 1 to 1024; PostgreSQL's default is 16), fixed for
        the cluster's life."""
        if self.initialised:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        _hand_to_server_user(self.root)
        segment = [f"--wal-segsize={wal_segment_mb}"] if wal_segment_mb is not None else []
        self._run(
            [
                str(server_program("initdb")),
                "-D", str(self.data_dir),
                "-A", "trust",
                "-U", self.user,
                "-E", "UTF8",
                "--locale=C",
                "--no-sync",
                *segment,
            ]
        )

    # nself's own settings (WAL archiving, recovery), kept out of the user's postgresql.conf.
    SETTINGS_FILES = ("nself.conf", "nself-recovery.conf", "nself-identity.conf", "nself-preload.conf")
    PRELOAD_FILE = "nself-preload.conf"

    def configure(self, settings: dict[str, str], *, file: str = "nself.conf") -> None:
        """Write `settings` into `file` of the data directory (read by postgresql.conf
        through include_if_exists); an empty dict removes the file. Takes effect at the
        next start (archive_mode needs a restart)."""
        self.include_settings_files()
        path = self.data_dir / file
        if not settings:
            path.unlink(missing_ok=True)
            return
        lines = [f"{name} = '{value.replace(chr(39), chr(39) * 2)}'" for name, value in settings.items()]
        path.write_text("# written by nself\n" + "\n".join(lines) + "\n", encoding="utf-8")
        _hand_to_server_user(path)

    def settings(self, *, file: str = "nself.conf") -> dict[str, str]:
        """What `configure` wrote into `file` (empty when nothing)."""
        path = self.data_dir / file
        if not path.is_file():
            return {}
        found: dict[str, str] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            name, sep, value = line.partition(" = ")
            if sep and not name.startswith("#"):
                found[name] = value.strip()[1:-1].replace("''", "'")
        return found

    def preload(self, library: str) -> bool:
        """Add `library` to shared_preload_libraries (in PRELOAD_FILE, keeping what the
        user's postgresql.conf preloads) when the server has it. True when the settings
        changed (a running server then needs a restart); False when already there or when
        the library is not installed (a server that cannot load it would not start)."""
        if not self.initialised or not library_installed(library):
            return False
        current = self.settings(file=self.PRELOAD_FILE).get("shared_preload_libraries")
        if current is not None and library in _library_list(current):
            return False
        user = _conf_value(self.data_dir / "postgresql.conf", "shared_preload_libraries") or ""
        wanted = [*dict.fromkeys([*_library_list(user), *_library_list(current or ""), library])]
        self.configure({"shared_preload_libraries": ",".join(wanted)}, file=self.PRELOAD_FILE)
        return True

    def include_settings_files(self) -> None:
        conf = self.data_dir / "postgresql.conf"
        text = conf.read_text(encoding="utf-8")
        missing = [f for f in self.SETTINGS_FILES if f"include_if_exists = '{f}'" not in text]
        if missing:
            text += "".join(f"\ninclude_if_exists = '{f}'" for f in missing) + "\n"
            conf.write_text(text, encoding="utf-8")

    def start(self, *, fast: bool = False, settings: dict[str, str] | None = None) -> None:
        """Start the server. `fast` turns off fsync: for throwaway test clusters only.
        `settings` (simple values only) override the configuration files for this run."""
        self.init()
        if self.running:
            return
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c wal_level=replica"
        if fast:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        for name, value in (settings or {}).items():
            options += f" -c {name}={value}"
        logged = self.log_file.stat().st_size if self.log_file.exists() else 0
        try:
            self._run(
                [str(server_program("pg_ctl")), "-D", str(self.data_dir), "-l", str(self.log_file),
                 "-o", options, "-w", "-t", "60", "start"]
            )
        except ClusterError as exc:
            reason = self._server_reason(logged)
            if reason is None:
                raise
            raise ClusterError(f"cannot start the cluster in {self.data_dir} on port {self.port}: {reason}") from exc

    def stop(self, *, immediate: bool = False) -> None:
        """Stop the server. `immediate` skips the shutdown checkpoint: for throwaway
        clusters that are deleted right after."""
        if not self.running:
            return
        mode = "immediate" if immediate else "fast"
        self._run([str(server_program("pg_ctl")), "-D", str(self.data_dir), "-m", mode, "-w", "stop"])

    def _server_reason(self, offset: int) -> str | None:
        """What the server logged about its failure to start since `offset` of its log:
        the first LOG/FATAL error line with its HINT (e.g. "could not bind IPv4 address
        "127.0.0.1": Address already in use (Is another postmaster already running on port
        54329? ...)")."""
        if not self.log_file.exists():
            return None
        with self.log_file.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode("utf-8", "replace").splitlines()
        reason: str | None = None
        for line in lines:
            level, sep, message = line.partition(":  ")
            level = level.rsplit(" ", 1)[-1]
            if not sep:
                continue
            # The server logs why at LOG level before its FATAL ("could not bind ..." before
            # "could not create any TCP/IP sockets"): the first of either is the reason.
            failure = level in ("FATAL", "PANIC") or (level == "LOG" and message.startswith("could not "))
            if reason is None and failure:
                reason = message.strip()
            elif reason is not None and level == "HINT":
                return f"{reason} ({message.strip()})"
            elif reason is not None:
                return reason
        return reason

    @property
    def running(self) -> bool:
        if not self.initialised:
            return False
        result = subprocess.run(
            _as_server_user([str(server_program("pg_ctl")), "-D", str(self.data_dir), "status"]),
            capture_output=True,
            text=True,
        )
        return result.returncode == 0

    def reload(self) -> None:
        """Re-read the configuration files (settings that need no restart)."""
        self._run([str(server_program("pg_ctl")), "-D", str(self.data_dir), "reload"])

    def restart(self) -> None:
        self.stop()
        self.start()

    def _run(self, argv: list[str]) -> None:
        result = subprocess.run(_as_server_user(argv), capture_output=True, text=True, cwd="/")
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            last = detail[-1] if detail else f"exit code {result.returncode}"
            hint = f" (see {self.log_file})" if self.log_file.exists() else ""
            raise ClusterError(f"{Path(argv[0]).name} failed: {last}{hint}")
