"""Databases for the lint tests: tiny schemas and corpus cases, each loaded once into its
own database of the session cluster and introspected."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.ir import Catalog
from nself.runtime.cluster import LocalCluster
from tests.backends.types.conftest import RESET_SQL
from tests.conftest import run_sql
from tests.corpus import TEMPLATED, CorpusCase, CorpusLoadError, all_cases, create_loaded


class LintDatabases:
    """Loaded databases by name, as (url, catalog). Not dropped one by one: the session's
    cluster is removed at the end."""

    def __init__(self, cluster: LocalCluster) -> None:
        self.cluster = cluster
        self._loaded: dict[str, tuple[str, Catalog]] = {}
        self._scratch: str | None = None

    def _new(self) -> str:
        name = f"lint_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.cluster.url(name)

    def sql(self, key: str, sql: str) -> tuple[str, Catalog]:
        if key not in self._loaded:
            url = self._new()
            run_sql(url, sql)
            self._loaded[key] = (url, introspect(url))
        return self._loaded[key]

    def case(self, case: CorpusCase) -> tuple[str, Catalog]:
        """`case` loaded into the scratch database, emptied first (RESET_SQL, as the types
        tests do: a CREATE DATABASE per case would cost a checkpoint each). The database
        holds the case only until the next call. The TEMPLATED cases are a copy of their
        template instead (cheaper than loading them), kept."""
        if case.name in TEMPLATED:
            url = create_loaded(self.cluster, f"lint_{uuid.uuid4().hex[:12]}", case)
            return url, introspect(url)
        if self._scratch is None:
            self._scratch = self._new()
        else:
            run_sql(self._scratch, RESET_SQL)
        try:
            case.load(self._scratch)
        except CorpusLoadError:
            # a half-applied case may leave what RESET_SQL cannot remove (roles' grants)
            self._scratch = self._new()
            case.load(self._scratch)
        return self._scratch, introspect(self._scratch)


@pytest.fixture(scope="session")
def lint_databases(pg_cluster: LocalCluster) -> LintDatabases:
    return LintDatabases(pg_cluster)


@pytest.fixture(scope="session")
def corpus_cases(corpus: Path) -> dict[str, CorpusCase]:
    return {c.name: c for c in all_cases(corpus)}
