"""Catalogs the type-backend tests share, introspected from real PostgreSQL once per session:
the schema of `every_case.sql` and each corpus case (loaded on first use)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.ir import Catalog
from nself.runtime.cluster import LocalCluster
from tests import golden
from tests.conftest import run_sql
from tests.corpus import TEMPLATED, CorpusCase, CorpusLoadError, all_cases, create_loaded

if TYPE_CHECKING:
    from tests.backends.types.test_rust import RustSession
    from tests.backends.types.test_typescript import TscSession

HERE = Path(__file__).resolve().parent
EVERY_CASE_SQL = HERE / "every_case.sql"
EVERY_CASE_ROWS_SQL = HERE / "every_case_rows.sql"


class SessionDatabases:
    """Databases made in the session cluster, which lives as long as the session."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self.made: list[str] = []

    def new(self, prefix: str, case: CorpusCase | None = None) -> str:
        """A new database, empty or holding `case` (tests/corpus.py create_loaded)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        if case is not None:
            self.made.append(name)
            return create_loaded(self.cluster, name, case)
        with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        self.made.append(name)
        return self.cluster.url(name)


@pytest.fixture(scope="session")
def types_databases(pg_cluster: LocalCluster) -> SessionDatabases:
    """Not dropped one by one: the session's cluster is removed at the end, and dropping
    some fifty databases would cost a checkpoint each."""
    return SessionDatabases(pg_cluster)


@pytest.fixture(scope="session")
def every_case_catalog(types_databases: SessionDatabases) -> Catalog:
    """every_case.sql applied to an empty database and introspected."""
    url = types_databases.new("types_every_case")
    run_sql(url, EVERY_CASE_SQL.read_text(encoding="utf-8"))
    return introspect(url)


@pytest.fixture(scope="session")
def every_case_rows(types_databases: SessionDatabases) -> tuple[str, Catalog]:
    """every_case.sql filled by every_case_rows.sql (NULL array elements among the rows), and
    its catalog: for tests that read the rows. A test that writes makes its own database."""
    url = types_databases.new("types_every_case_rows")
    run_sql(url, EVERY_CASE_SQL.read_text(encoding="utf-8") + EVERY_CASE_ROWS_SQL.read_text(encoding="utf-8"))
    return url, introspect(url)


@pytest.fixture(scope="session")
def functions_catalog(types_databases: SessionDatabases) -> Catalog:
    """functions_schema.sql applied to an empty database and introspected: the golden
    files of each language's function types."""
    url = types_databases.new("types_functions")
    run_sql(url, (HERE / "functions_schema.sql").read_text(encoding="utf-8"))
    return introspect(url)


class CorpusCatalogs:
    """Each corpus case introspected on first request. Cases load one after another into one
    scratch database, emptied in between (RESET_SQL: the same catalogs as fresh databases
    give, checked case by case when this was written); a case that fails to load there is
    retried in a fresh database."""

    def __init__(self, corpus_dir: Path, databases: SessionDatabases) -> None:
        self.cases: dict[str, CorpusCase] = {c.name: c for c in all_cases(corpus_dir)}
        self.databases = databases
        self._scratch: str | None = None
        self._catalogs: dict[str, Catalog] = {}

    def names(self) -> list[str]:
        return list(self.cases)

    def get(self, name: str) -> Catalog:
        if name not in self._catalogs:
            self._catalogs[name] = self._load(self.cases[name])
        return self._catalogs[name]

    def _load(self, case: CorpusCase) -> Catalog:
        if case.name in TEMPLATED:  # a copy of its template is cheaper than loading it
            return introspect(self.databases.new("types_corpus", case))
        if self._scratch is None:
            self._scratch = self.databases.new("types_corpus")
        else:
            run_sql(self._scratch, RESET_SQL)
        try:
            case.load(self._scratch)
            return introspect(self._scratch)
        except CorpusLoadError:
            self._scratch = None
        url = self.databases.new("types_corpus")
        case.load(url)
        return introspect(url)


@pytest.fixture(scope="session")
def corpus_catalogs(corpus: Path, types_databases: SessionDatabases) -> CorpusCatalogs:
    return CorpusCatalogs(corpus, types_databases)


@pytest.fixture(scope="session")
def rust_session(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, toolchain_cache: Path
) -> RustSession:
    """Every generated module the session's cargo checks need, in one crate checked by one
    cargo run (test_rust.py open_rust_session); each test asserts on its own modules."""
    from tests.backends.types.test_rust import open_rust_session

    return open_rust_session(request, tmp_path_factory, toolchain_cache)


@pytest.fixture(scope="session")
def tsc_session(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> TscSession:
    """The generated files of the tsc tests that share tsc's flags, one folder per test, in
    one project checked by one tsc run (test_typescript.py open_tsc_session)."""
    from tests.backends.types.test_typescript import open_tsc_session

    return open_tsc_session(request, tmp_path_factory)


@pytest.fixture(scope="session")
def toolchain_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build cache for the session (CARGO_TARGET_DIR of the Rust stand-in crates, GOPATH),
    so they are built once. Go's build cache and the real Rust crates' target live in the
    repository's .cache/, kept between runs."""
    return tmp_path_factory.mktemp("toolchain-cache")


GOLDEN = HERE / "golden"


def assert_golden(relative: str, text: str) -> None:
    """Compare `text` with golden/`relative` (tests/golden.py)."""
    golden.assert_golden(GOLDEN / relative, text)


# Empties a database that held one corpus case so the next can load into it: creating and
# removing a database per case costs far more (every one copies and later unlinks about a
# thousand catalog files).
RESET_SQL = """
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT evtname FROM pg_event_trigger LOOP
        EXECUTE format('DROP EVENT TRIGGER %I', r.evtname);
    END LOOP;
    FOR r IN SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' LOOP
        EXECUTE format('DROP EXTENSION %I CASCADE', r.extname);
    END LOOP;
    FOR r IN SELECT nspname FROM pg_namespace
             WHERE nspname NOT IN ('pg_catalog', 'information_schema')
               AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp%' LOOP
        EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
    END LOOP;
END
$$;
CREATE SCHEMA public AUTHORIZATION pg_database_owner;
COMMENT ON SCHEMA public IS 'standard public schema';
GRANT USAGE ON SCHEMA public TO PUBLIC;
"""
