"""The linter on every corpus schema (pagila, openstreetmap, lemmy and migra's fixtures),
loaded into PostgreSQL and introspected: each rule finds what the pg_catalog queries of
tests/backends/lint/oracle.py find, and a run is deterministic and the same on the IR
read back from JSON."""

from __future__ import annotations

import pytest

from nself.backends.lint import lint
from nself.ir import catalog_from_json, catalog_to_json
from tests.backends.lint.conftest import LintDatabases
from tests.backends.lint.oracle import NEEDS_QUOTES, ORACLES, PERMISSIVE_POLICY_GROUPS, query_rows
from tests.backends.lint.test_rules import located, name_findings, only, policy_groups
from tests.conftest import CORPUS
from tests.corpus import CorpusCase, case_names

CASES = case_names(CORPUS) if (CORPUS / "README.md").exists() else ["pagila", "openstreetmap", "lemmy"]


@pytest.mark.parametrize("name", CASES)
def test_rules_agree_with_postgresql_and_are_deterministic(
    name: str, corpus_cases: dict[str, CorpusCase], lint_databases: LintDatabases
) -> None:
    url, catalog = lint_databases.case(corpus_cases[name])
    rules = sorted(ORACLES)
    *answers, quoted, groups = query_rows(
        url, *(ORACLES[r] for r in rules), NEEDS_QUOTES, PERMISSIVE_POLICY_GROUPS
    )
    disagreements = {}
    for rule, theirs in zip(rules, answers, strict=True):
        ours = located(lint(catalog, only(rule)))
        if ours != theirs:
            disagreements[rule] = {"lint only": ours - theirs, "postgresql only": theirs - ours}
    if name_findings(catalog) != quoted:
        disagreements["names"] = {"lint": name_findings(catalog), "quote_ident": quoted}
    if policy_groups(catalog) != groups:
        disagreements["multiple-permissive-policies"] = {
            "lint": policy_groups(catalog),
            "pg_policies": groups,
        }
    assert disagreements == {}
    first = lint(catalog)
    assert lint(catalog) == first
    assert lint(catalog_from_json(catalog_to_json(catalog))) == first
