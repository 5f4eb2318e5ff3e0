"""The local cluster belongs to its project: another project's cluster (or any server) on the
same port is never read, a port taken is reported with PostgreSQL's own reason, and nothing
is created outside a project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nself.errors import NselfError, OptionError
from nself.runtime.cluster import LocalCluster, free_port
from nself.runtime.local import (
    ForeignClusterError,
    check_owner,
    database_url,
    local_cluster,
    start_local,
    stop_local,
)
from nself.runtime.project import Project, load_project
from nself.runtime.scaffold import choose_local_port, port_is_free
from tests.clitools import run_nself


def make_project(root: Path, port: int) -> Project:
    root.mkdir(parents=True)
    root.chmod(0o755)
    (root / "nself.toml").write_text(f"[environments.local]\nport = {port}\n")
    return load_project(root)


@pytest.fixture
def project_a(tmp_path: Path) -> Iterator[Project]:
    tmp_path.chmod(0o755)
    project = make_project(tmp_path / "a", free_port())
    yield project
    cluster = local_cluster(project, project.environment())
    cluster.stop(immediate=True)


def test_another_projects_cluster_on_the_same_port_is_never_read(project_a: Project, tmp_path: Path) -> None:
    env_a = project_a.environment()
    start_local(project_a, env_a)
    project_b = make_project(tmp_path / "b", env_a.port)
    env_b = project_b.environment()

    # B's own cluster cannot start: PostgreSQL's own reason, not pg_ctl's "could not start".
    with pytest.raises(NselfError, match=r'could not bind IPv4 address "127.0.0.1": Address already in use \(Is another postmaster'):
        database_url(project_b, env_b)
    # Had B's cluster been running elsewhere, the server on B's port is recognised as A's.
    cluster_b = LocalCluster(root=local_cluster(project_b, env_b).root, port=env_a.port)
    with pytest.raises(ForeignClusterError, match=rf"held by the 'local' cluster of the project in {project_a.root}"):
        check_owner(project_b, env_b, cluster_b)
    assert database_url(project_a, env_a) == env_a.url()  # A's own commands still reach it

    # schema commands start the cluster as db commands do (here: A's, stopped first).
    stop_local(project_a, env_a)
    shown = run_nself("schema", "show", "--format", "json", cwd=project_a.root)
    assert shown.code == 0, shown.stderr
    assert local_cluster(project_a, env_a).running


def test_a_server_that_is_not_nselfs_is_refused(tmp_path: Path, pg_cluster: LocalCluster) -> None:
    tmp_path.chmod(0o755)
    project = make_project(tmp_path / "p", pg_cluster.port)
    cluster = LocalCluster(root=tmp_path / "p" / "x", port=pg_cluster.port)
    with pytest.raises(ForeignClusterError, match=r"held by a server that is not this project's cluster; stop it, or give 'local' another port"):
        check_owner(project, project.environment(), cluster)


def test_outside_a_project_commands_ask_for_init_and_create_nothing(tmp_path: Path) -> None:
    project = load_project(tmp_path)
    with pytest.raises(OptionError, match=r"^no nself.toml in .* or above \(run `nself init`\)$"):
        database_url(project, project.environment())
    for argv in (("db", "query", "select 1"), ("schema", "show"), ("db", "start")):
        done = run_nself(*argv, cwd=tmp_path)
        assert done.code == 1 and "no nself.toml" in done.stderr and "run `nself init`" in done.stderr, argv
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / ".nself").exists()


def test_init_picks_a_free_port_of_its_own(tmp_path: Path) -> None:
    chosen = choose_local_port(tmp_path)
    assert choose_local_port(tmp_path, is_free=lambda port: port != chosen) != chosen
    done = run_nself("init", cwd=tmp_path)
    assert done.code == 0, done.stderr
    port = load_project(tmp_path).environment().port
    assert port_is_free(port)
