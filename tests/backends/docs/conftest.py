"""Corpus schemas loaded into the session cluster once per module, with their catalogs."""

from __future__ import annotations

import uuid
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

    def get(self, name: str) -> Loaded:
        if name not in self.loaded:
            database = f"docs_{uuid.uuid4().hex[:12]}"
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
def loaded_cases(request: pytest.FixtureRequest, pg_cluster: LocalCluster) -> LoadedCases:
    """The corpus is asked for only by a test of a corpus case, so `awkward` runs without it.
    The databases are not dropped one by one: the session's cluster is removed at the end
    (a DROP DATABASE costs a checkpoint each)."""
    return LoadedCases(None, pg_cluster)


@pytest.fixture
def loaded(request: pytest.FixtureRequest, loaded_cases: LoadedCases) -> Loaded:
    """The case named by the test's `case` parameter, loaded."""
    name: str = request.param
    if name != "awkward" and not loaded_cases.cases:
        corpus: Path = request.getfixturevalue("corpus")
        loaded_cases.cases = {c.name: c for c in schema_cases(corpus)}
    return loaded_cases.get(name)
