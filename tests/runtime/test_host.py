"""nself/runtime/host.py: what differs between Linux and macOS, checked for each system by
building a `Host` for it over a folder that stands for `/` (real files, real programs), and
the rule that no other module makes a Linux-only call."""

from __future__ import annotations

import ast
import os
import stat
import sys
from pathlib import Path

import pytest

from nself.runtime.cluster import find_pg_program, server_program
from nself.runtime.dump import ClientProgramError, find_client
from nself.runtime.host import Host, current_host, version_of_dir

REPO = Path(__file__).resolve().parents[2]


def program(folder: Path, name: str, major: int) -> Path:
    """A real executable that answers --version as PostgreSQL's programs do."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {major}.2'\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def mac(tmp_path: Path) -> Host:
    """A Mac with Homebrew on Apple silicon (15) and Intel (14), Postgres.app (16), and an
    unversioned /opt/homebrew/bin (17)."""
    for folder, major in (
        ("opt/homebrew/opt/postgresql@15/bin", 15),
        ("usr/local/opt/postgresql@14/bin", 14),
        ("Applications/Postgres.app/Contents/Versions/16/bin", 16),
        ("opt/homebrew/bin", 17),
    ):
        for name in ("initdb", "pg_ctl", "pg_dump", "psql"):
            program(tmp_path / folder, name, major)
    # what a Linux machine would search exists too, and must be ignored on macOS
    program(tmp_path / "usr/lib/postgresql/18/bin", "pg_dump", 18)
    return Host("darwin", is_root=False, root=tmp_path)


def test_on_macos_homebrew_and_postgres_app_are_searched(mac: Host, tmp_path: Path) -> None:
    assert mac.postgresql_dirs() == [
        tmp_path / "Applications/Postgres.app/Contents/Versions/16/bin",
        tmp_path / "opt/homebrew/opt/postgresql@15/bin",
        tmp_path / "usr/local/opt/postgresql@14/bin",
        tmp_path / "opt/homebrew/bin",
    ]
    assert (
        server_program("initdb", mac)
        == tmp_path / "Applications/Postgres.app/Contents/Versions/16/bin/initdb"
    )


def test_on_macos_the_client_of_the_servers_version_is_found(
    mac: Host, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        find_client("pg_dump", 15, path="", host=mac)
        == tmp_path / "opt/homebrew/opt/postgresql@15/bin/pg_dump"
    )
    assert (
        find_client("pg_dump", 14, path="", host=mac) == tmp_path / "usr/local/opt/postgresql@14/bin/pg_dump"
    )
    # /opt/homebrew/bin names no version: its pg_dump is asked (17)
    assert find_client("pg_dump", 17, path="", host=mac) == tmp_path / "opt/homebrew/bin/pg_dump"
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert (
        find_pg_program("psql", mac) == tmp_path / "Applications/Postgres.app/Contents/Versions/16/bin/psql"
    )


def test_missing_client_says_how_to_install_it_on_each_system(tmp_path: Path) -> None:
    for system, hint in (
        ("darwin", "brew install postgresql@15"),
        ("linux", "apt install postgresql-client-15"),
    ):
        with pytest.raises(ClientProgramError) as failure:
            find_client("pg_dump", 15, path="", host=Host(system, root=tmp_path))
        assert hint in str(failure.value) and "\n" not in str(failure.value)


def test_on_linux_debian_and_pgdg_folders_are_searched_newest_first(tmp_path: Path) -> None:
    for folder in ("usr/lib/postgresql/9.6/bin", "usr/lib/postgresql/15/bin", "usr/pgsql-16/bin"):
        program(tmp_path / folder, "pg_ctl", 15)
    program(tmp_path / "opt/homebrew/opt/postgresql@17/bin", "pg_ctl", 17)  # not Linux's
    host = Host("linux", root=tmp_path)
    assert host.postgresql_dirs() == [
        tmp_path / "usr/pgsql-16/bin",
        tmp_path / "usr/lib/postgresql/15/bin",
        tmp_path / "usr/lib/postgresql/9.6/bin",
    ]


def test_no_user_switching_on_macos_even_as_root(tmp_path: Path) -> None:
    for host in (Host("darwin", is_root=True, root=tmp_path), Host("linux", is_root=False, root=tmp_path)):
        assert not host.switches_user
        assert host.as_server_user(["pg_ctl", "start"]) == ["pg_ctl", "start"]
        assert host.server_user_can_reach(tmp_path)
        folder = tmp_path / "cluster"
        folder.mkdir(exist_ok=True)
        owner = folder.stat().st_uid
        host.hand_to_server_user(folder)  # nothing to do: no chown, no `postgres` user needed
        assert folder.stat().st_uid == owner


def test_as_root_on_linux_the_server_runs_as_postgres() -> None:
    host = Host("linux", is_root=True)
    assert host.switches_user
    assert host.as_server_user(["pg_ctl", "start"]) == ["runuser", "-u", "postgres", "--", "pg_ctl", "start"]


def test_what_else_differs(tmp_path: Path) -> None:
    assert Host("linux", root=tmp_path).cron_dir == tmp_path / "etc" / "cron.d"
    assert Host("darwin", root=tmp_path).cron_dir is None
    assert not Host("darwin").fork_safe
    Host("darwin").die_with_parent()  # no prctl there: nothing happens
    assert current_host().system == sys.platform
    assert current_host().is_root == (os.geteuid() == 0)


def test_libpq_is_psycopg_binarys_own_copy_else_the_systems(tmp_path: Path) -> None:
    """nself.libpq loads the libpq psycopg uses: psycopg-binary's bundled copy (auditwheel's
    folder beside the package on Linux, delocate's inside it on macOS), else the system's."""
    package = tmp_path / "psycopg_binary"
    (package / ".dylibs").mkdir(parents=True)
    assert Host("linux").libpq_files(package) == ["libpq.so.5"]
    assert Host("linux").libpq_files(None) == ["libpq.so.5"]
    assert Host("darwin").libpq_files(package) == ["libpq.5.dylib"]
    (tmp_path / "psycopg_binary.libs").mkdir()
    for name in ("libssl-1.so.3", "libpq-ab12.so.5.18"):
        (tmp_path / "psycopg_binary.libs" / name).touch()
    (package / ".dylibs" / "libpq.5.dylib").touch()
    assert Host("linux").libpq_files(package) == [str(tmp_path / "psycopg_binary.libs" / "libpq-ab12.so.5.18")]
    assert Host("darwin").libpq_files(package) == [str(package / ".dylibs" / "libpq.5.dylib")]
    assert Host("win32").libpq_files(package) == []  # psycopg connects there


@pytest.mark.parametrize(
    ("folder", "major"),
    [
        ("/usr/lib/postgresql/15/bin", 15),
        ("/usr/lib/postgresql/9.6/bin", 9),
        ("/usr/pgsql-16/bin", 16),
        ("/opt/homebrew/opt/postgresql@17/bin", 17),
        ("/Applications/Postgres.app/Contents/Versions/16/bin", 16),
        ("/opt/homebrew/bin", None),
        ("/usr/local/bin", None),
    ],
)
def test_version_of_dir(folder: str, major: int | None) -> None:
    assert version_of_dir(folder) == major


# --------------------------------------------------------------------------- one seam

LINUX_ONLY_ATTRIBUTES = {
    "geteuid",
    "getuid",
    "setuid",
    "seteuid",
    "chown",
    "getpwnam",
    "getgrouplist",
    "prctl",
}
LINUX_ONLY_TEXT = ("/usr/lib/postgresql", "/usr/pgsql-", "/proc/", "runuser", "libc.so.6", "/etc/cron.d")


def linux_only_calls(source: str) -> list[str]:
    """Linux-only calls and paths in `source`: attributes, `import pwd`, `sys.platform`, and
    string literals naming Linux's paths (docstrings and comments may name them)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (
            node.attr in LINUX_ONLY_ATTRIBUTES
            or (node.attr == "platform" and isinstance(node.value, ast.Name) and node.value.id == "sys")
        ):
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"line {node.lineno}: import {n}" for n in names if n == "pwd"]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found += [f"line {node.lineno}: {text!r}" for text in LINUX_ONLY_TEXT if text in node.value]
    return found


def test_no_linux_only_call_outside_the_host_module() -> None:
    offenders = {}
    for path in sorted((REPO / "nself").rglob("*.py")):
        if path.name == "host.py" and path.parent.name == "runtime":
            continue
        if "templates" in path.relative_to(REPO / "nself").parts:
            continue
        if path == REPO / "nself" / "cli" / "help_table.py":  # the commands' docstrings, copied
            continue
        found = linux_only_calls(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(REPO))] = found
    assert offenders == {}
    assert linux_only_calls(
        (REPO / "nself/runtime/host.py").read_text(encoding="utf-8")
    )  # the check sees them
