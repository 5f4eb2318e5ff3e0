"""Corpus schemas loaded into the session cluster once per module, with their catalogs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.ir import Catalog
from nself.runtime.cluster import LocalCluster
from tests import golden
from tests.conftest import run_sql
from tests.corpus import create_loaded, schema_cases

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
# The awkward cases by hand: comments with markup, pipes and newlines, names with spaces
# and quotes, one table name in two schemas, partitions, overloads, policies, triggers.
AWKWARD_SQL = HERE / "awkward.sql"


def assert_golden(relative: str, text: str) -> None:
    """Compare `text` with golden/`relative` (tests/golden.py)."""
    golden.assert_golden(GOLDEN / relative, text)


@dataclass(frozen=True)
class Loaded:
    url: str
    catalog: Catalog


class LoadedCases:
    """Each case loaded into its own database on first use: the corpus schemas by name,
    and `awkward` (AWKWARD_SQL)."""

    def __init__(self, corpus: Path | None, cluster: LocalCluster) -> None:
        self.cases = {c.name: c for c in schema_cases(corpus)} if corpus else {}
        self.cluster = cluster
        self.loaded: dict[str, Loaded] = {}
        self.made: list[str] = []

    def get(self, name: str) -> Loaded:
        if name not in self.loaded:
            database = f"docs_{uuid.uuid4().hex[:12]}"
            self.made.append(database)
            if name == "awkward":
                with psycopg.connect(self.cluster.url(), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{database}"')
                url = self.cluster.url(database)
                run_sql(url, AWKWARD_SQL.read_text(encoding="utf-8"))
            else:
                url = create_loaded(self.cluster, database, self.cases[name])
            self.loaded[name] = Loaded(url, introspect(url))
        return self.loaded[name]


@pytest.fixture(scope="module")
def loaded_cases(request: pytest.FixtureRequest, pg_cluster: LocalCluster) -> Iterator[LoadedCases]:
    """The corpus is asked for only by a test of a corpus case, so `awkward` runs without it."""
    cases = LoadedCases(None, pg_cluster)
    yield cases
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        for name in cases.made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def loaded(request: pytest.FixtureRequest, loaded_cases: LoadedCases) -> Loaded:
    """The case named by the test's `case` parameter, loaded."""
    name: str = request.param
    if name != "awkward" and not loaded_cases.cases:
        corpus: Path = request.getfixturevalue("corpus")
        loaded_cases.cases = {c.name: c for c in schema_cases(corpus)}
    return loaded_cases.get(name)
