"""Shared fixtures: one throwaway PostgreSQL cluster per test session, a fresh database per
test, and the shared test corpus (../shared/corpus) read where it lies."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from nself.runtime.cluster import LocalCluster, free_port
from tests.corpus import CorpusCase, create_loaded
from tests.tools import missing

# moto_server, azurite_server: real object-storage servers for the storage tests, once per session;
# browser: a headless Chromium for the html pages, once per session.
pytest_plugins = ("tests.storage_servers", "tests.browser")

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("NSELF_CORPUS", REPO.parent / "shared" / "corpus"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked `slow` first, the rest in their order: pytest-xdist hands tests out in
    this order, so the longest ones start on both workers at once instead of one of them
    finishing the run alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus. In CI (NSELF_REQUIRE_CORPUS=1, set by .ci/run) its absence is an
    error, so the oracle tests always run there; elsewhere they skip with the reason."""
    if not (CORPUS / "README.md").exists():
        missing(f"shared test corpus not found at {CORPUS} (set NSELF_CORPUS)")
    return CORPUS


# Throwaway clusters, besides `fast` (no fsync, no synchronous commit, no full-page writes):
# no autovacuum, whose workers would ANALYZE and VACUUM the tests' tables behind their back
# (counts, locks and dead rows of pg_stat_user_tables that a test compares with a report).
TEST_CLUSTER_SETTINGS = {"autovacuum": "off"}


@contextmanager
def throwaway_cluster(prefix: str = "nself-test-pg-") -> Iterator[LocalCluster]:
    """A new cluster of its own, started, for the duration of the block; its files are deleted
    in the background afterwards (the many files of a used cluster take seconds to unlink,
    and nothing waits for them)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(root, 0o755)
    cluster = LocalCluster(root=root / "cluster", port=free_port())
    cluster.start(fast=True, settings=TEST_CLUSTER_SETTINGS)
    try:
        yield cluster
    finally:
        cluster.stop(immediate=True)
        subprocess.Popen(
            ["rm", "-rf", str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[LocalCluster]:
    with throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def installed_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository installed as a user's `pip install .` would (`--target` a folder of its
    own, no dependencies), once per test run: the xdist workers of one run share it (a lock
    file; the first one builds), a new run builds it anew."""
    import fcntl
    import sys

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    site = shared / "installed-nself" / "site"
    with open(shared / "installed-nself.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (site.parent / "done").exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--no-deps",
                    "--no-build-isolation",
                    "--target",
                    str(site),
                    str(REPO),
                ],
                check=True,
                capture_output=True,
            )
            (site.parent / "done").touch()
    return site


@pytest.fixture(scope="session")
def pg15_connection(pg_cluster: LocalCluster) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection to the session's cluster, which must be PostgreSQL 15: the
    oracle tests that compare nself with PostgreSQL's own answers (quoting, grammar) use it."""
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and str(version[0]).startswith("15"), version
        yield conn


NewDatabase = Callable[..., str]


@contextmanager
def databases(cluster: LocalCluster) -> Iterator[NewDatabase]:
    """A factory for the block: `url = make()` creates an empty database in `cluster` and
    returns its URL; `make(case=CASE)` one holding the corpus case CASE (tests/corpus.py
    create_loaded: a copy of the case's template database where it has one). Every database
    made is dropped when the block ends."""
    made: list[str] = []

    def make(prefix: str = "t", *, case: CorpusCase | None = None) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        if case is not None:
            made.append(name)
            return create_loaded(cluster, name, case)
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        made.append(name)
        return cluster.url(name)

    try:
        yield make
    finally:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


@pytest.fixture
def new_database(pg_cluster: LocalCluster) -> Iterator[NewDatabase]:
    """A factory of databases in the session's cluster (`databases`), dropped when the test
    ends: `url = new_database()`, or `new_database(case=CASE)` holding a corpus case."""
    with databases(pg_cluster) as make:
        yield make


@pytest.fixture(scope="module")
def module_database(pg_cluster: LocalCluster) -> Iterator[NewDatabase]:
    """`new_database` for a module-scoped fixture: the databases are dropped when the
    module's tests are done."""
    with databases(pg_cluster) as make:
        yield make


@pytest.fixture
def database(new_database: NewDatabase) -> str:
    """The URL of one fresh, empty database."""
    return new_database()


def run_sql(url: str, sql: str) -> None:
    """Run a script of several statements (as psql -f would, stopping at the first error)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]
