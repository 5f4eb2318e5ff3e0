"""nself.runtime.branches against real PostgreSQL. The oracle is the server: a branch
introspects to the same Catalog as its source and every table's rows hash the same;
pg_database and pg_stat_activity say what exists and who is connected."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from nself.errors import OptionError, ProductionGuardError
from nself.frontends.live import introspect
from nself.runtime import branches
from nself.runtime.project import Project, load_project
from tests.conftest import NewDatabase, run_sql
from tests.corpus import row_checksums

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE people (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, feeling mood, tags text[]);
CREATE TABLE events (id serial PRIMARY KEY, person_id int REFERENCES people (id), at timestamptz NOT NULL);
CREATE INDEX events_person_idx ON events (person_id);
CREATE SCHEMA app;
CREATE TABLE app.settings (key text PRIMARY KEY, value jsonb);
CREATE VIEW busy AS SELECT p.name, count(*) AS n FROM people p JOIN events e ON e.person_id = p.id GROUP BY p.name;
INSERT INTO people (name, feeling, tags) VALUES ('Ann', 'happy', ARRAY['a', NULL]), ('Bo''b', NULL, '{}');
INSERT INTO events (person_id, at) SELECT 1 + g % 2, timestamptz '2026-01-01' + g * interval '1 minute'
    FROM generate_series(1, 2000) AS g;
INSERT INTO app.settings VALUES ('theme', '{"dark": true}');
"""


def checksums(url: str) -> dict[str, tuple[int, str]]:
    """Per table of the database (from pg_catalog): (row count, md5 of its rows' text in order)."""
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            )
        ]
        return row_checksums(conn, tables, separator="\n")


def databases(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


@pytest.fixture
def main_url(new_database: NewDatabase) -> Iterator[str]:
    url = new_database("br")
    yield url
    main = urlsplit(url).path.lstrip("/")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        for (name,) in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (main + "\\_\\_%",)
        ).fetchall():
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def make_project(root: Path, monkeypatch: pytest.MonkeyPatch, url: str, production: bool = False) -> Project:
    flag = "production = true\n" if production else ""
    (root / "nself.toml").write_text(f'[environments.dev]\nurl = "env:NSELF_BRANCH_URL"\n{flag}')
    monkeypatch.setenv("NSELF_BRANCH_URL", url)
    return load_project(root)


def test_branch_has_the_same_schema_and_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str
) -> None:
    run_sql(main_url, SCHEMA)
    project = make_project(tmp_path, monkeypatch, main_url)
    made = branches.create_branch(project, project.environment("dev"), "feature_x")
    branch_url = main_url + "__feature_x"
    assert made.database == urlsplit(branch_url).path.lstrip("/")
    assert made.parent == "main" and made.created is not None
    assert introspect(branch_url) == introspect(main_url)
    assert checksums(branch_url) == checksums(main_url)
    assert len(checksums(main_url)) == 3


def test_switch_changes_every_url_and_main_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str
) -> None:
    project = make_project(tmp_path, monkeypatch, main_url)
    branches.create_branch(project, project.environment("dev"), "b1")
    branches.switch_branch(project, project.environment("dev"), "b1")
    reloaded = load_project(tmp_path)
    assert reloaded.environment("dev").url() == main_url + "__b1"
    assert [b.name for b in branches.list_branches(reloaded, reloaded.environment("dev")) if b.current] == [
        "b1"
    ]
    branches.switch_branch(reloaded, reloaded.environment("dev"), "main")
    assert load_project(tmp_path).environment("dev").url() == main_url
    assert not (tmp_path / ".nself" / "branch").exists()


def test_create_from_a_branch_copies_that_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str
) -> None:
    project = make_project(tmp_path, monkeypatch, main_url)
    env = project.environment("dev")
    branches.create_branch(project, env, "b1")
    run_sql(main_url + "__b1", "CREATE TABLE only_in_b1 (x int); INSERT INTO only_in_b1 VALUES (7);")
    made = branches.create_branch(project, env, "b2", source="b1")
    assert made.parent == "b1"
    assert checksums(main_url + "__b2") == checksums(main_url + "__b1") != checksums(main_url)


def test_delete_drops_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str) -> None:
    project = make_project(tmp_path, monkeypatch, main_url)
    env = project.environment("dev")
    made = branches.create_branch(project, env, "gone")
    assert made.database in databases(main_url)
    branches.delete_branch(project, env, "gone")
    assert made.database not in databases(main_url)


def test_delete_refuses_main_and_the_current_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str
) -> None:
    project = make_project(tmp_path, monkeypatch, main_url)
    branches.create_branch(project, project.environment("dev"), "cur")
    branches.switch_branch(project, project.environment("dev"), "cur")
    env = load_project(tmp_path).environment("dev")
    with pytest.raises(OptionError, match="current branch"):
        branches.delete_branch(project, env, "cur")
    with pytest.raises(OptionError, match="'main'"):
        branches.delete_branch(project, env, "main")
    assert main_url.rsplit("/", 1)[1] + "__cur" in databases(main_url)


def test_another_connection_to_the_source_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str
) -> None:
    project = make_project(tmp_path, monkeypatch, main_url)
    with psycopg.connect(main_url, application_name="someone-else") as other:
        pid = other.info.backend_pid
        with pytest.raises(OptionError) as caught:
            branches.create_branch(project, project.environment("dev"), "blocked")
    message = str(caught.value)
    assert f"pid {pid} (someone-else" in message and "\n" not in message
    assert main_url.rsplit("/", 1)[1] + "__blocked" not in databases(main_url)


def test_nselfs_own_connections_are_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str
) -> None:
    project = make_project(tmp_path, monkeypatch, main_url)
    lingering = psycopg.connect(main_url, application_name="nself")
    try:
        branches.create_branch(project, project.environment("dev"), "freed")
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("SELECT 1")
    finally:
        lingering.close()


@pytest.mark.parametrize("name", ["Feature", "-x", "a b", "ü", "x;drop", ""])
def test_bad_names_are_one_line_errors(name: str) -> None:
    with pytest.raises(OptionError, match="branch name"):
        branches.validate_name(name)


def test_database_names_stay_within_63_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str
) -> None:
    project = make_project(tmp_path, monkeypatch, main_url)
    room = 63 - len(main_url.rsplit("/", 1)[1]) - 2
    assert len(branches.branch_database(project.environment("dev"), "x" * room).encode()) == 63
    with pytest.raises(OptionError, match="63 bytes"):
        branches.branch_database(project.environment("dev"), "x" * (room + 1))


@pytest.mark.parametrize(
    ("git_branch", "name"),
    [
        ("feature/x-1", "feature_x_1"),
        ("Fix--Bug__2", "fix_bug_2"),
        ("_a/", "a"),
        ("release/1.2", "release_1_2"),
    ],
)
def test_sanitise(git_branch: str, name: str) -> None:
    assert branches.sanitise(git_branch) == name


def test_auto_follows_the_git_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str) -> None:
    project = make_project(tmp_path, monkeypatch, main_url)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q", "-b", "feature/x-1"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "init"], check=True)
    found, created = branches.auto_branch(project, project.environment("dev"))
    assert (found.name, found.current, created) == ("feature_x_1", True, True)
    assert load_project(tmp_path).environment("dev").url() == main_url + "__feature_x_1"
    again, created_again = branches.auto_branch(load_project(tmp_path), project.environment("dev"))
    assert (again.name, created_again) == ("feature_x_1", False)


def test_production_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, main_url: str) -> None:
    project = make_project(tmp_path, monkeypatch, main_url, production=True)
    env = project.environment("dev")
    for attempt in (
        lambda: branches.create_branch(project, env, "p"),
        lambda: branches.switch_branch(project, env, "main"),
        lambda: branches.delete_branch(project, env, "p"),
        lambda: branches.auto_branch(project, env),
    ):
        with pytest.raises(ProductionGuardError, match="not production"):
            attempt()
    assert main_url.rsplit("/", 1)[1] + "__p" not in databases(main_url)
