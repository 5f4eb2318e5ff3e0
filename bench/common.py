"""What every benchmark here sets up the same way: a scratch folder, a PostgreSQL server (a
throwaway cluster, fsync off, unless --url names one) and fresh databases on it, all
removed at the end, whatever happens in between."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from nself.runtime.cluster import LocalCluster, free_port

# The six outputs of `nself types` the benchmarks configure: language -> (output file, its
# option line in nself.toml).
SIX_OUTPUTS = {
    "typescript": ("types/db.ts", "with_relations = true"),
    "go": ("models/db.go", 'package = "models"'),
    "python": ("py/models.py", "pydantic = true"),
    "swift": ("Models/DB.swift", ""),
    "rust": ("src/db.rs", ""),
    "graphql": ("schema.graphql", "with_hasura = true"),
}


def server_cpu_seconds(cluster: LocalCluster | None) -> float | None:
    """CPU seconds the throwaway cluster's processes have used so far (the postmaster, its
    live children, and the children it has reaped: ended backends), from Linux's /proc; None
    with --url or without /proc. On a machine whose cores are all taken, wall-clock times
    follow CPU, so the CPU of each side is the steadier figure."""
    if cluster is None or not Path("/proc/self/stat").exists():
        return None
    try:
        postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None

    def fields(pid: int | str) -> list[str]:
        # after the ")" closing the command name: state, ppid, ... utime is the 12th
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    try:
        own = fields(postmaster)
    except OSError:
        return None
    ticks = sum(int(v) for v in own[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, ValueError, IndexError):
                child = fields(entry.name)
                if int(child[1]) == postmaster:
                    ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def as_installed(env: dict[str, str], work: Path) -> dict[str, str]:
    """`env` for a `nself` subprocess that starts as an installed nself does: its bytecode
    cached (in `work`/bytecode, even when PYTHONDONTWRITEBYTECODE is set here, as it is on
    the CI machine). Without it every run compiles the sources of every nself module it
    imports first: about 30 ms of a plain `db query --csv`'s start-up, more through the
    command tree. The first run of a command writes its bytecode: take the best of several."""
    found = {**env, "PYTHONPYCACHEPREFIX": str(work / "bytecode")}
    found.pop("PYTHONDONTWRITEBYTECODE", None)
    return found


@dataclass
class Scratch:
    work: Path  # a temporary folder, removed at the end
    admin: str  # the server's maintenance database
    cluster: LocalCluster | None  # None with --url
    made: list[str] = field(default_factory=list)

    def database(self, prefix: str = "bench") -> str:
        """A new empty database (dropped at the end); its URL (conninfo when the server was
        given as one)."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        self.made.append(name)
        if "://" in self.admin:
            parts = urlsplit(self.admin)
            return urlunsplit(parts._replace(path=f"/{name}"))
        return psycopg.conninfo.make_conninfo(self.admin, dbname=name)

    def drop(self, url: str) -> None:
        """Drop a database made by `database` before the end."""
        name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        self.made.remove(str(name))


@contextmanager
def scratch(prefix: str, url: str | None = None) -> Iterator[Scratch]:
    """A scratch folder and server for one benchmark run: `url`'s server, or a throwaway
    cluster in the folder."""
    work = Path(tempfile.mkdtemp(prefix=f"nself-bench-{prefix}-"))
    os.chmod(work, 0o755)  # the cluster's files belong to the server's user when run as root
    cluster: LocalCluster | None = None
    try:
        if url is None:
            cluster = LocalCluster(root=work / "cluster", port=free_port())
            cluster.start(fast=True)
            url = cluster.url()
        found = Scratch(work, url, cluster)
        try:
            yield found
        finally:
            with suppress(psycopg.Error), psycopg.connect(url, autocommit=True) as conn:
                for name in found.made:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    finally:
        if cluster is not None:
            cluster.stop(immediate=True)
        shutil.rmtree(work, ignore_errors=True)
