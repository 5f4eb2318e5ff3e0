"""`nself db dump` and `nself db load`: the machine's pg_dump, pg_restore and psql, chosen
to match the server's major version, with the password passed in the environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nself.connection import connect, libpq_environment, mask_url, scrub
from nself.errors import NselfError, OptionError
from nself.runtime.host import Host, current_host, version_of_dir

DumpFormat = Literal["custom", "plain"]

HISTORY_SCHEMA = "_nself"  # nself's migration history (nself.runtime.migrate.META_SCHEMA)
CUSTOM_MAGIC = b"PGDMP"  # the first bytes of every custom-format archive


class ClientProgramError(NselfError):
    """A PostgreSQL client program is missing, too old, or failed."""


@dataclass(frozen=True)
class DumpResult:
    path: str  # "-" for stdout
    bytes: int
    format: DumpFormat
    seconds: float


@dataclass(frozen=True)
class LoadResult:
    path: str
    format: DumpFormat
    seconds: float


def program_major(program: Path) -> int | None:
    """The major version `program --version` reports (e.g. 15 for "pg_dump (PostgreSQL) 15.18")."""
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def find_client(
    name: str,
    server_major: int,
    *,
    path: str | None = None,
    library_dirs: Sequence[str] | None = None,
    host: Host | None = None,
) -> Path:
    """The `name` program (pg_dump, pg_restore, psql) to use against a server of
    `server_major`: the one of that major version where there is one, else the newest.

    Looks on PATH (`path`, default $PATH) and in the folders where the system's packages put
    PostgreSQL (`library_dirs`, default the host's: Debian's /usr/lib/postgresql/N/bin, which
    holds every version side by side, Homebrew's postgresql@N, Postgres.app's Versions/N).

    A versioned folder of `server_major` is taken first: its name gives the version, so no
    program is run to ask it (Debian's PATH entry is a Perl wrapper that starts in about a
    tenth of a second, once for `--version` and again for the work)."""
    host = host or current_host()
    dirs = [Path(d) for d in library_dirs] if library_dirs is not None else host.postgresql_dirs()
    for directory in dirs:
        if version_of_dir(directory) == server_major and (directory / name).is_file():
            return directory / name
    candidates: list[Path] = []
    on_path = shutil.which(name, path=path if path is not None else os.environ.get("PATH", ""))
    if on_path:
        candidates.append(Path(on_path))
    candidates += [d / name for d in dirs if (d / name).is_file()]
    versions: dict[int, Path] = {}
    for candidate in candidates:
        # a versioned folder (postgresql/N/bin, postgresql@N/bin) names it; anything else is asked
        major = version_of_dir(candidate.parent) or program_major(candidate)
        if major is not None:
            versions.setdefault(major, candidate)
        if major == server_major:
            return candidate  # the rest need not be asked
    if not versions:
        raise ClientProgramError(
            f"{name} not found (looked on PATH and in the folders of {host.system}'s PostgreSQL "
            f"packages); install the PostgreSQL {server_major} client programs ({host.install_hint(server_major)})"
        )
    if server_major in versions:
        return versions[server_major]
    newest = max(versions)
    if newest < server_major:
        raise ClientProgramError(
            f"{name} {newest} is older than the server (PostgreSQL {server_major}) and cannot read it; "
            f"install the PostgreSQL {server_major} client programs ({host.install_hint(server_major)})"
        )
    return versions[newest]


def server_major(url: str) -> int:
    with connect(url) as conn:
        return conn.info.server_version // 10000


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """(conninfo without the password, environment for the client program): a password in
    `url` travels as PGPASSWORD, never in argv; without one the user's own PGPASSWORD (or
    ~/.pgpass) applies, as it does for psql."""
    conninfo, extra = libpq_environment(url)
    return conninfo, {**os.environ, **extra}


def first_error_line(stderr: str) -> str:
    """The line a user needs from a client program's stderr: the first error, else the first line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if "error:" in line.lower() or "ERROR:" in line or "FATAL:" in line:
            return re.sub(r"^(pg_dump|pg_restore|psql): error: ", "", line)
    return lines[0] if lines else "no message"


def dump_format_for(output: Path | None, requested: DumpFormat | None) -> DumpFormat:
    """The format to write: as requested, else plain for stdout or a .sql file, else custom."""
    to_stdout = output is not None and str(output) == "-"
    if requested == "custom" and to_stdout:
        raise OptionError("--format custom is a binary archive and cannot go to stdout (-o -); give -o FILE")
    if requested is not None:
        return requested
    if to_stdout or (output is not None and output.suffix == ".sql"):
        return "plain"
    return "custom"


def dump(
    url: str,
    output: Path,
    *,
    fmt: DumpFormat = "custom",
    schema_only: bool = False,
    data_only: bool = False,
    tables: Sequence[str] = (),
    exclude_tables: Sequence[str] = (),
    with_history: bool = False,
) -> DumpResult:
    """Dump the database at `url` to `output` ("-" for stdout), via a temporary file that is
    renamed into place only when pg_dump succeeds, so a failed dump leaves nothing behind."""
    if schema_only and data_only:
        raise OptionError("--schema-only and --data-only exclude each other")
    started = time.monotonic()
    program = find_client("pg_dump", server_major(url))
    conninfo, env = libpq_target(url)
    argv = [str(program), "--no-password", f"--format={fmt}"]
    if fmt == "plain":
        # A plain script is run by whoever loads it, where the source's roles may not exist.
        argv.append("--no-owner")
    if schema_only:
        argv.append("--schema-only")
    if data_only:
        argv.append("--data-only")
    argv += [f"--table={t}" for t in tables]
    argv += [f"--exclude-table={t}" for t in exclude_tables]
    if not with_history:
        argv.append(f"--exclude-schema={HISTORY_SCHEMA}")
    argv += ["--dbname", conninfo]

    if str(output) == "-":
        done = subprocess.run(argv, env=env, stdout=None, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise ClientProgramError(
                scrub(f"pg_dump of {mask_url(url)} failed: {first_error_line(done.stderr)}", url)
            )
        return DumpResult("-", 0, fmt, time.monotonic() - started)

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
    try:
        done = subprocess.run([*argv, "--file", str(partial)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise ClientProgramError(
                scrub(f"pg_dump of {mask_url(url)} failed: {first_error_line(done.stderr)}", url)
            )
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    return DumpResult(str(output), output.stat().st_size, fmt, time.monotonic() - started)


def detect_format(path: Path) -> DumpFormat:
    if not path.is_file():
        raise OptionError(f"{path}: file not found")
    with path.open("rb") as f:
        return "custom" if f.read(len(CUSTOM_MAGIC)) == CUSTOM_MAGIC else "plain"


PG_DUMP_HEADERS = ("-- PostgreSQL database dump", "-- PostgreSQL database cluster dump")
# pg_dump's and pg_dumpall's last comment: a script without it was cut short.
PG_DUMP_CLOSING = ("-- PostgreSQL database dump complete", "-- PostgreSQL database cluster dump complete")


def check_plain_dump_complete(path: Path) -> None:
    """Refuse a plain script that pg_dump (or pg_dumpall) started but whose closing line is
    missing: cut at a statement boundary, it would load "successfully" with part of the
    data. Scripts not written by pg_dump are not checked. What may follow the closing line
    (`--`, blank lines, pg_dump 15.14+'s `\\unrestrict KEY`) is allowed."""
    with path.open("rb") as f:
        head = f.read(512).decode("utf-8", "replace")
        if not set(PG_DUMP_HEADERS) & {line.strip() for line in head.splitlines()[:3]}:
            return
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 4096))
        tail = f.read().decode("utf-8", "replace")
    lines = [line.strip() for line in tail.splitlines()]
    while lines and (not lines[-1] or lines[-1] == "--" or lines[-1].startswith("\\unrestrict ")):
        lines.pop()
    if not lines or lines[-1] not in PG_DUMP_CLOSING:
        raise OptionError(
            f"{path}: incomplete pg_dump script (no '{PG_DUMP_CLOSING[0]}' line at its end): "
            "it was cut short; nothing was loaded"
        )


def load(
    url: str, path: Path, *, clean: bool = False, single_transaction: bool = True, jobs: int = 1
) -> LoadResult:
    """Restore `path` (a custom archive via pg_restore, else a plain SQL script via psql) into
    the database at `url`. In a single transaction (the default) a failure leaves the target
    as it was. `jobs` > 1 restores a custom archive's tables and indexes in that many
    sessions (pg_restore --jobs), so not in one transaction."""
    fmt = detect_format(path)
    if clean and fmt == "plain":
        raise OptionError(f"--clean needs a custom-format dump; {path} is a plain SQL script")
    if jobs < 1:
        raise OptionError(f"--jobs: {jobs} is not a number of sessions (1 or more)")
    if jobs > 1 and fmt == "plain":
        raise OptionError(f"--jobs needs a custom-format dump; {path} is a plain SQL script")
    if jobs > 1 and single_transaction:
        raise OptionError(
            "--jobs restores in several sessions, not in one transaction: add --no-single-transaction"
        )
    if fmt == "plain":
        check_plain_dump_complete(path)
    started = time.monotonic()
    if fmt == "plain":
        run_psql_file(url, path, single_transaction=single_transaction, psql_options=["--quiet"], verb="loading")
        return LoadResult(str(path), fmt, time.monotonic() - started)
    conninfo, env = libpq_target(url)
    # --no-owner: the loading role owns what it creates; the source's roles may not exist here.
    argv = [str(find_client("pg_restore", server_major(url))), "--no-password", "--no-owner", "--exit-on-error"]
    if clean:
        argv += ["--clean", "--if-exists"]
    if single_transaction:
        argv.append("--single-transaction")
    if jobs > 1:
        argv.append(f"--jobs={jobs}")
    argv += ["--dbname", conninfo, str(path)]
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise ClientProgramError(scrub(f"loading {path} failed (pg_restore): {first_error_line(done.stderr)}", url))
    return LoadResult(str(path), fmt, time.monotonic() - started)


def run_psql_file(
    url: str,
    path: Path,
    *,
    single_transaction: bool = True,
    psql_options: Sequence[str] = (),
    capture_stdout: bool = True,
    verb: str = "running",
) -> subprocess.CompletedProcess[str]:
    """Run the script `path` with psql (meta-commands included), stopping at its first error
    (ON_ERROR_STOP), by default in one transaction so that a failure leaves the database as
    it was. The password travels in the environment. Returns psql's run (stderr captured;
    stdout discarded, or left on ours without `capture_stdout`); a failure raises one line."""
    conninfo, env = libpq_target(url)
    argv = [
        str(find_client("psql", server_major(url))),
        "--no-password",
        "--no-psqlrc",
        "-v",
        "ON_ERROR_STOP=1",
        *psql_options,
    ]
    if single_transaction:
        argv.append("--single-transaction")
    argv += ["--dbname", conninfo, "--file", str(path)]
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL if capture_stdout else None, stderr=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise ClientProgramError(scrub(f"{verb} {path} failed (psql): {first_error_line(done.stderr)}", url))
    return done
