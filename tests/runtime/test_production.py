"""Production recognised by the server and database a target reaches, whatever its name or
spelling (nself.runtime.production), against a real cluster."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from nself.errors import ProductionGuardError
from nself.runtime.cluster import LocalCluster
from nself.runtime.production import production_twin, refuse_production, server_identity
from nself.runtime.project import Environment, load_project
from tests.conftest import NewDatabase


def respelled(url: str, *, host: str | None = None, user: str | None = None) -> str:
    """`url` reaching the same server under another host name (hostaddr says where) or role."""
    parts = urlsplit(url)
    netloc = f"{user or parts.username}@{host or parts.hostname}:{parts.port}"
    query = f"hostaddr={parts.hostname}" if host else parts.query
    return urlunsplit(parts._replace(netloc=netloc, query=query))


@pytest.fixture
def prod_url(new_database: NewDatabase) -> str:
    return new_database("prod")


@pytest.fixture
def project_dir(tmp_path: Path, prod_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "nself.toml").write_text('[environments.prod]\nurl = "env:NSELF_P_URL"\nproduction = true\n')
    monkeypatch.setenv("NSELF_P_URL", prod_url)
    return tmp_path


@pytest.fixture
def reader(pg_cluster: LocalCluster, prod_url: str) -> Iterator[str]:
    """A role that may connect but not read pg_control_system() (PostgreSQL grants it to
    PUBLIC; managed services often take it away)."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
    with psycopg.connect(prod_url, autocommit=True) as conn:  # function privileges are per database
        conn.execute("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC")
    try:
        yield respelled(prod_url, user=role)
    finally:
        with psycopg.connect(prod_url, autocommit=True) as conn:
            conn.execute("GRANT EXECUTE ON FUNCTION pg_control_system() TO PUBLIC")
        with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
            conn.execute(f"DROP ROLE {role}")


def test_the_same_database_under_other_spellings_is_production(project_dir: Path, prod_url: str) -> None:
    project = load_project(project_dir)
    assert production_twin(project, prod_url.replace("127.0.0.1", "localhost")) == "prod"  # before connecting
    assert production_twin(project, respelled(prod_url, host="db.invalid")) == "prod"  # by the server
    port, database = urlsplit(prod_url).port, urlsplit(prod_url).path.lstrip("/")
    conninfo = f"host=db.invalid hostaddr=127.0.0.1 port={port} dbname={database} user=postgres"
    assert production_twin(project, conninfo) == "prod"


def test_another_database_of_the_same_server_is_not(project_dir: Path, new_database: NewDatabase) -> None:
    project = load_project(project_dir)
    assert production_twin(project, new_database("other")) is None
    assert production_twin(project, "postgresql://postgres@127.0.0.1:1/prod") is None  # unreachable


def test_a_role_without_pg_control_system_is_still_recognised(project_dir: Path, reader: str) -> None:
    identity = server_identity(reader)
    assert identity is not None and identity.system_identifier is None
    project = load_project(project_dir)
    assert production_twin(project, respelled(reader, host="db.invalid")) == "prod"


def test_refusal_names_the_production_environment(project_dir: Path, prod_url: str) -> None:
    project = load_project(project_dir)
    alias = Environment("alias", url_setting=respelled(prod_url, host="db.invalid"))
    with pytest.raises(ProductionGuardError, match="refusing to wipe on 'alias': it reaches the same server and database as 'prod'"):
        refuse_production(project, alias, "wipe")
    with pytest.raises(ProductionGuardError, match="--force-production allows it"):
        refuse_production(project, project.environment("prod"), "wipe", allows_force=True)
    refuse_production(project, alias, "wipe", force_production=True)


def test_destructive_runtime_functions_hold_the_same_rule(project_dir: Path, prod_url: str) -> None:
    """Library callers (no CLI wrapper) are refused by the same check: by name and by server."""
    from nself.runtime import branches
    from nself.runtime.anonymize.api import clone_environment, sync_environments
    from nself.runtime.backup.service import restore_backup, restore_to_environment
    from nself.runtime.mock.commands import generate

    project = load_project(project_dir)
    alias = Environment("alias", url_setting=respelled(prod_url, host="db.invalid"))
    source = Environment("source", url_setting="postgresql://postgres@127.0.0.1:1/source")
    calls = [
        lambda target: generate(project, target),
        lambda target: branches.create_branch(project, target, "b1"),
        lambda target: branches.switch_branch(project, target, "b1"),
        lambda target: branches.delete_branch(project, target, "b1"),
        lambda target: branches.auto_branch(project, target),
        lambda target: sync_environments(project, source, target, anonymize=True),
        lambda target: clone_environment(project, source, target, anonymize=True),
        lambda target: restore_backup(project, target, "latest", None),
        lambda target: restore_to_environment(project, target, "latest"),
    ]
    for call in calls:
        with pytest.raises(ProductionGuardError, match="same server and database as 'prod'"):
            call(alias)
        with pytest.raises(ProductionGuardError, match="'prod': it is marked production = true"):
            call(project.environment("prod"))
