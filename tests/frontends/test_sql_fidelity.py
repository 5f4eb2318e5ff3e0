"""Oracle test of the SQL frontend: every corpus schema loaded into a real PostgreSQL 15 and
introspected by the live frontend must give the same IR as the SQL frontend reading the same
files with no database, in strict mode (no expression left to pglast's text), and the same
depends_on (what each object uses, as pg_depend records it). Differences are reported per
object as JSON diffs.

Run `pytest tests/frontends/test_sql_fidelity.py -rA` to see each case; the summary line
`sql fidelity: N/M cases equal` is printed at the end of the module."""

from __future__ import annotations

import difflib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from nself.frontends.live import introspect
from nself.frontends.sql import compile_migrations
from nself.ir import identity_of, to_data
from nself.ir.model import COLLECTIONS, Catalog, CheckConstraint, ExclusionConstraint
from nself.runtime.cluster import LocalCluster
from tests.conftest import CORPUS
from tests.corpus import CorpusCase, all_cases, create_loaded

pytestmark = pytest.mark.oracle

# Cases known to differ, with the reason (xfail, not strict: a fix shows as XPASS).
KNOWN_DIFFERENCES: dict[str, str] = {}

RESULTS: dict[str, bool] = {}


def source_of(case: CorpusCase) -> Path:
    """What the SQL frontend reads for a case: the migrations folder or the one file."""
    return case.root if case.root is not None else case.files[0]


def object_diffs(expected: Catalog, actual: Catalog, limit: int = 5) -> list[str]:
    """The first `limit` objects that differ, each as a unified diff of its JSON
    (--- live, +++ sql)."""
    out: list[str] = []
    for name in COLLECTIONS:
        live = {identity_of(n): n for n in getattr(expected, name)}
        compiled = {identity_of(n): n for n in getattr(actual, name)}
        for key in sorted(set(live) | set(compiled)):
            a, b = live.get(key), compiled.get(key)
            if a == b:
                continue
            a_text = json.dumps(to_data(a), indent=1, sort_keys=True).splitlines() if a else []
            b_text = json.dumps(to_data(b), indent=1, sort_keys=True).splitlines() if b else []
            diff = difflib.unified_diff(a_text, b_text, "live", "sql", lineterm="", n=2)
            out.append(f"{name} {'.'.join(key)}:\n" + "\n".join(list(diff)[2:]))
            if len(out) >= limit:
                return out
    return out


def dependencies(catalog: Catalog) -> dict[tuple[str, ...], Any]:
    """Every depends_on of a catalog (not compared by `==`), keyed by its owner."""
    out: dict[tuple[str, ...], Any] = {}
    for f in catalog.functions:
        out[("function", f.schema, f.name, f.identity_arguments)] = f.depends_on
        out[("function defaults", f.schema, f.name, f.identity_arguments)] = f.defaults_depends_on
    for d in catalog.domains:
        out[("domain", d.schema, d.name)] = d.depends_on
        for c in d.checks:
            out[("domain check", d.schema, d.name, c.name)] = c.depends_on
    for t in catalog.tables:
        if t.partition_by is not None:
            out[("partition key", t.schema, t.name)] = t.partition_by.depends_on
        for col in t.columns:
            if col.default is not None or col.generated is not None:
                out[("default", t.schema, t.name, col.name)] = col.depends_on
        for con in t.constraints:
            if isinstance(con, (CheckConstraint, ExclusionConstraint)):
                out[("constraint", t.schema, t.name, con.name)] = con.depends_on
    for p in catalog.publications:
        for pt in p.tables:
            out[("publication", p.name, pt.schema, pt.table)] = pt.depends_on
    for x in (*catalog.indexes, *catalog.views, *catalog.policies, *catalog.triggers):
        out[(type(x).__name__, x.schema, getattr(x, "table", ""), x.name)] = x.depends_on
    return out


def dependency_diffs(expected: Catalog, actual: Catalog, limit: int = 5) -> list[str]:
    """The first `limit` objects (in both) whose depends_on differ: pg_depend's, as the live
    frontend reads it, against the sql frontend's analysis."""
    live, compiled = dependencies(expected), dependencies(actual)
    out = []
    for key in sorted(live.keys() & compiled.keys()):
        if live[key] != compiled[key]:
            out.append(f"depends_on of {' '.join(key)}: live {live[key]}, sql {compiled[key]}")
            if len(out) >= limit:
                break
    return out


def _params() -> list[Any]:
    if not (CORPUS / "README.md").exists():
        return [pytest.param(None, id="corpus-missing")]
    params = []
    for case in all_cases(CORPUS):
        marks = []
        if case.name in KNOWN_DIFFERENCES:
            marks.append(pytest.mark.xfail(reason=KNOWN_DIFFERENCES[case.name], strict=False))
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.fixture(scope="module")
def fidelity_summary(request: pytest.FixtureRequest) -> Iterator[dict[str, bool]]:
    yield RESULTS
    if not RESULTS:
        return
    line = f"sql fidelity: {sum(RESULTS.values())}/{len(RESULTS)} cases equal"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
            reporter.write_line("")
            reporter.write_line(line)


def live_catalog(cluster: LocalCluster, case: CorpusCase) -> Catalog:
    name = f"fidelity_{uuid.uuid4().hex[:12]}"
    try:
        return introspect(create_loaded(cluster, name, case))
    finally:
        with psycopg.connect(cluster.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@pytest.mark.parametrize("case", _params())
def test_sql_frontend_matches_live(
    case: CorpusCase | None, corpus: Path, pg_cluster: LocalCluster, fidelity_summary: dict[str, bool]
) -> None:
    assert case is not None
    fidelity_summary[case.name] = False
    # strict: a construct the expression canonicaliser does not model fails the case, so the
    # corpus compiles with no fallback to pglast's text at all
    compiled = compile_migrations(source_of(case), strict=True)
    live = live_catalog(pg_cluster, case)
    # and what each object uses (depends_on, left out of `==`) is pg_depend's
    diffs = object_diffs(live, compiled) + dependency_diffs(live, compiled)
    fidelity_summary[case.name] = not diffs
    assert not diffs, f"{case.name}: objects differ (--- live, +++ sql):\n" + "\n".join(diffs)
