"""Each lint rule on a tiny schema loaded into PostgreSQL and introspected: the `bad` schema
triggers it on exactly the objects listed, the `good` schema (near misses) not at all; and
where a pg_catalog query can say what the rule should find (tests/backends/lint/oracle.py),
the rule finds the same set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from nself.backends.lint import RULES, Finding, LintSettings, lint
from nself.frontends.sql import compile_migrations
from nself.ir import Catalog
from tests.backends.lint.conftest import LintDatabases
from tests.backends.lint.oracle import NEEDS_QUOTES, ORACLES, PERMISSIVE_POLICY_GROUPS, query_rows


@dataclass(frozen=True)
class Case:
    rule: str
    bad: str
    good: str
    expected: tuple[str, ...]  # names (within schema `bad`) the rule reports


CASES = [
    Case(
        "no-primary-key",
        "CREATE TABLE t (id int, u int UNIQUE NOT NULL);",
        """CREATE TABLE t (id int PRIMARY KEY);
           CREATE TABLE p (id int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
           CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);""",
        ("t",),
    ),
    Case(
        "fk-without-index",
        """CREATE TABLE parent (id int PRIMARY KEY, k int, UNIQUE (id, k));
           CREATE TABLE plain (id int PRIMARY KEY, parent_id int REFERENCES parent);
           CREATE TABLE partial (parent_id int REFERENCES parent);
           CREATE INDEX partial_idx ON partial (parent_id) WHERE parent_id > 0;
           CREATE TABLE second (x int, parent_id int REFERENCES parent);
           CREATE INDEX second_idx ON second (x, parent_id);
           CREATE TABLE pair (a int, b int, FOREIGN KEY (a, b) REFERENCES parent (id, k));
           CREATE INDEX pair_idx ON pair (a);
           CREATE TABLE ev (id int, parent_id int, at int) PARTITION BY RANGE (at);
           CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (10);
           ALTER TABLE ev1 ADD CONSTRAINT ev1_parent FOREIGN KEY (parent_id) REFERENCES parent;""",
        """CREATE TABLE parent (id int PRIMARY KEY, k int, UNIQUE (id, k));
           CREATE TABLE ev (id int, parent_id int, at int) PARTITION BY RANGE (at);
           CREATE INDEX ev_parent ON ev (parent_id);
           CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (10);
           ALTER TABLE ev1 ADD CONSTRAINT ev1_parent FOREIGN KEY (parent_id) REFERENCES parent;
           CREATE TABLE ev2 PARTITION OF ev FOR VALUES FROM (10) TO (20);
           CREATE INDEX ev2_parent ON ev2 (parent_id, id);
           ALTER TABLE ev2 ADD CONSTRAINT ev2_parent FOREIGN KEY (parent_id) REFERENCES parent;
           CREATE TABLE lead (parent_id int REFERENCES parent, x int);
           CREATE INDEX lead_idx ON lead (parent_id, x);
           CREATE TABLE keyed (parent_id int PRIMARY KEY REFERENCES parent);
           CREATE TABLE swapped (a int, b int, c int, FOREIGN KEY (a, b) REFERENCES parent (id, k));
           CREATE INDEX swapped_idx ON swapped (b, a, c);
           CREATE TABLE uniq (parent_id int UNIQUE REFERENCES parent);""",
        (
            "plain.plain_parent_id_fkey",
            "partial.partial_parent_id_fkey",
            "second.second_parent_id_fkey",
            "pair.pair_a_b_fkey",
            "ev1.ev1_parent",
        ),
    ),
    Case(
        "fk-on-partition",
        """CREATE TABLE parent (id int PRIMARY KEY);
           CREATE TABLE ev (id int, parent_id int, at int) PARTITION BY RANGE (at);
           CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (10);
           ALTER TABLE ev1 ADD CONSTRAINT ev1_parent FOREIGN KEY (parent_id) REFERENCES parent;
           CREATE TABLE sub (id int, parent_id int, at int) PARTITION BY RANGE (at);
           CREATE TABLE sub1 PARTITION OF sub FOR VALUES FROM (0) TO (10) PARTITION BY RANGE (id);
           CREATE TABLE sub11 PARTITION OF sub1 FOR VALUES FROM (0) TO (10);
           ALTER TABLE sub11 ADD CONSTRAINT sub11_parent FOREIGN KEY (parent_id) REFERENCES parent;""",
        """CREATE TABLE parent (id int PRIMARY KEY);
           CREATE TABLE ev (id int, parent_id int REFERENCES parent, at int) PARTITION BY RANGE (at);
           CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (10);
           CREATE INDEX ev_parent ON ev (parent_id);
           CREATE TABLE plain (parent_id int REFERENCES parent);""",
        ("ev1.ev1_parent", "sub11.sub11_parent"),
    ),
    Case(
        "duplicate-index",
        """CREATE TABLE t (a int PRIMARY KEY, b int, c int, UNIQUE (c));
           CREATE INDEX t_b1 ON t (b);
           CREATE INDEX t_b2 ON t (b);
           CREATE INDEX t_a ON t (a);
           CREATE UNIQUE INDEX t_c ON t (c);
           CREATE TABLE ev (id int, at int, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
           CREATE INDEX ev_v ON ev (v);
           CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (10);
           CREATE INDEX ev1_v ON ev1 (v);
           CREATE INDEX ev1_v2 ON ev1 (at);
           CREATE INDEX ev1_v3 ON ev1 (at);
           CREATE UNIQUE INDEX ev1_key ON ev1 (id, at);""",
        """CREATE TABLE t (a int PRIMARY KEY, b int, c int);
           CREATE INDEX t_b ON t (b);
           CREATE INDEX t_b_partial ON t (b) WHERE b > 0;
           CREATE INDEX t_b_hash ON t USING hash (b);
           CREATE INDEX t_b_desc ON t (b DESC);
           CREATE INDEX t_b_include ON t (b) INCLUDE (c);
           CREATE INDEX t_lower ON t ((b + 1));""",
        ("t_b2", "t_a", "t_c", "ev1_v", "ev1_v3", "ev1_key"),
    ),
    Case(
        "redundant-index",
        """CREATE TABLE t (a int, b int, c int, PRIMARY KEY (b, c));
           CREATE INDEX t_a ON t (a);
           CREATE INDEX t_a_b ON t (a, b);
           CREATE INDEX t_b ON t (b);""",
        """CREATE TABLE t (a int, b int, c int);
           CREATE UNIQUE INDEX t_a_unique ON t (a);
           CREATE INDEX t_a_b ON t (a, b);
           CREATE INDEX t_b ON t (b);
           CREATE INDEX t_a_partial ON t (a) WHERE a > 0;
           CREATE INDEX t_a_desc ON t (a DESC);
           CREATE INDEX t_c_hash ON t USING hash (c);
           CREATE INDEX t_c_a ON t (c, a);""",
        ("t_a", "t_b"),
    ),
    Case(
        "timestamp-without-time-zone",
        "CREATE TABLE t (id int, made timestamp, seen timestamp(3)[]);",
        "CREATE TABLE t (id int, made timestamptz, day date, at time);",
        ("t.made", "t.seen"),
    ),
    Case(
        "varchar-length",
        "CREATE TABLE t (name varchar(40), code char(2), tags varchar(10)[]);",
        'CREATE TABLE t (name text, free varchar, flag "char");',
        ("t.name", "t.code", "t.tags"),
    ),
    Case(
        "nullable-unique-column",
        """CREATE TABLE t (a int UNIQUE, b int NOT NULL, c int, UNIQUE (b, c));""",
        """CREATE TABLE t (a int NOT NULL UNIQUE, b int, UNIQUE NULLS NOT DISTINCT (b));""",
        ("t.t_a_key", "t.t_b_c_key"),
    ),
    Case(
        "serial-column",
        "CREATE TABLE t (id serial, big bigserial);",
        """CREATE SEQUENCE free_seq;
           CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY, n bigint DEFAULT nextval('free_seq'));""",
        ("t.id", "t.big"),
    ),
    Case(
        "reserved-word-name",
        """CREATE TABLE "user" (id int, "order" int, "select" text);
           CREATE VIEW "table" AS SELECT 1 AS one;""",
        "CREATE TABLE account (id int, name text, type text, data jsonb);",
        ("user", "user.order", "user.select", "table"),
    ),
    Case(
        "quoted-identifier",
        """CREATE SCHEMA "Billing";
           CREATE TABLE "Users" (id int, "firstName" text, "last name" text);
           CREATE TYPE "Mood" AS ENUM ('ok');
           CREATE FUNCTION "getUser"(int) RETURNS int LANGUAGE sql AS 'SELECT 1';""",
        """CREATE TABLE users (id int, first_name text, "order" int);
           CREATE TYPE mood AS ENUM ('Ok Then');""",
        ("Users", "Users.firstName", "Users.last name", "Mood", "getUser(integer)"),
    ),
    Case(
        "rls-without-policy",
        "CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;",
        """CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;
           CREATE POLICY p ON t USING (true);
           CREATE TABLE open (id int);""",
        ("t",),
    ),
    Case(
        "policy-without-rls",
        "CREATE TABLE t (id int); CREATE POLICY p ON t USING (true);",
        """CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;
           CREATE POLICY p ON t USING (true);""",
        ("t",),
    ),
    Case(
        "multiple-permissive-policies",
        """CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;
           CREATE POLICY read_own ON t FOR SELECT USING (id > 0);
           CREATE POLICY everything ON t USING (id < 10);""",
        """CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;
           CREATE POLICY read ON t FOR SELECT USING (id > 0);
           CREATE POLICY write ON t FOR INSERT WITH CHECK (id > 0);
           CREATE POLICY narrow ON t AS RESTRICTIVE FOR SELECT USING (id < 10);""",
        ("t",),
    ),
    Case(
        "security-definer-search-path",
        """CREATE FUNCTION f(a int, b text) RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
           CREATE PROCEDURE p() LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';""",
        """CREATE FUNCTION f(a int, b text) RETURNS int LANGUAGE sql SECURITY DEFINER
             SET search_path = pg_catalog, pg_temp AS 'SELECT 1';
           CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1';""",
        ("f(integer, text)", "p()"),
    ),
    Case(
        "enum-without-labels",
        "CREATE TYPE nothing AS ENUM ();",
        "CREATE TYPE something AS ENUM ('a');",
        ("nothing",),
    ),
]

BY_RULE = {case.rule: case for case in CASES}


def test_every_rule_has_a_case_and_an_oracle() -> None:
    assert set(BY_RULE) == set(RULES)
    # the naming rules share NEEDS_QUOTES; multiple-permissive-policies has PERMISSIVE_POLICY_GROUPS
    assert set(ORACLES) | {"reserved-word-name", "quoted-identifier", "multiple-permissive-policies"} == set(
        RULES
    )


def schema_of(side: str, rule: str) -> str:
    return f"{side}_{rule.replace('-', '_')}"


def cases_sql() -> str:
    """Every case in one script: its bad and good sides in schemas bad_<rule>, good_<rule>."""
    return "\n".join(
        f"CREATE SCHEMA {schema_of(side, case.rule)}; SET search_path = {schema_of(side, case.rule)}; {text}"
        for case in CASES
        for side, text in (("bad", case.bad), ("good", case.good))
    )


def cases_database(databases: LintDatabases) -> tuple[str, Catalog]:
    return databases.sql("cases", cases_sql())


def only(rule: str) -> LintSettings:
    return LintSettings(only=frozenset({rule}))


def located(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.schema, f.name) for f in findings}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_rule_finds_exactly_the_bad_objects(case: Case, lint_databases: LintDatabases) -> None:
    _, catalog = cases_database(lint_databases)
    mine = {schema_of("bad", case.rule), schema_of("good", case.rule)}
    findings = [f for f in lint(catalog, only(case.rule)) if f.schema in mine]
    assert located(findings) == {(schema_of("bad", case.rule), name) for name in case.expected}
    for finding in findings:
        assert finding.rule == case.rule and finding.level == RULES[case.rule].level
        assert finding.message and finding.remedy


@pytest.mark.parametrize("rule", sorted(ORACLES))
def test_rule_agrees_with_postgresql_on_the_cases(rule: str, lint_databases: LintDatabases) -> None:
    url, catalog = cases_database(lint_databases)
    assert located(lint(catalog, only(rule))) == query_rows(url, ORACLES[rule])[0]


def name_findings(catalog: Catalog) -> set[tuple[str, str]]:
    findings = lint(catalog, LintSettings(only=frozenset({"reserved-word-name", "quoted-identifier"})))
    return located([f for f in findings if f.kind in ("table", "view", "column")])


def test_names_needing_quotes_agree_with_quote_ident(lint_databases: LintDatabases) -> None:
    url, catalog = cases_database(lint_databases)
    assert name_findings(catalog) == query_rows(url, NEEDS_QUOTES)[0]


# "table t: 2 permissive policies (a, b) apply to role public on SELECT"
_POLICY_GROUP = re.compile(r"\((?P<policies>[^)]*)\) apply to roles? .* on (?P<command>[A-Z]+)\Z")


def policy_groups(catalog: Catalog) -> set[tuple[str, ...]]:
    groups: set[tuple[str, ...]] = set()
    for finding in lint(catalog, only("multiple-permissive-policies")):
        match = _POLICY_GROUP.search(finding.message)
        assert match, finding.message
        groups.add((finding.schema, finding.name, match["command"], match["policies"]))
    return groups


def test_permissive_policy_groups_agree_with_pg_policies(lint_databases: LintDatabases) -> None:
    url, catalog = cases_database(lint_databases)
    assert policy_groups(catalog) == query_rows(url, PERMISSIVE_POLICY_GROUPS)[0]
    # SELECT only: INSERT, UPDATE and DELETE see one policy each
    assert {(schema, command) for schema, _, command, _ in policy_groups(catalog)} == {
        (schema_of("bad", "multiple-permissive-policies"), "SELECT")
    }


def test_migration_files_lint_as_the_database_they_make(
    lint_databases: LintDatabases, tmp_path: Path
) -> None:
    """Linting migrations offline (the SQL frontend) finds what linting the database finds."""
    (tmp_path / "cases.sql").write_text(cases_sql(), encoding="utf-8")
    assert lint(compile_migrations(tmp_path / "cases.sql")) == lint(cases_database(lint_databases)[1])


def test_a_schema_is_named_by_itself(lint_databases: LintDatabases) -> None:
    _, catalog = cases_database(lint_databases)
    found = [f for f in lint(catalog, only("quoted-identifier")) if f.kind == "schema"]
    assert [(f.schema, f.name, f.object) for f in found] == [("Billing", "Billing", "Billing")]
    assert found[0].line().startswith("info quoted-identifier Billing: schema Billing: 'Billing' must")


def test_findings_are_sorted_most_severe_first(lint_databases: LintDatabases) -> None:
    _, catalog = cases_database(lint_databases)
    findings = lint(catalog)
    assert [f.level for f in findings] == sorted(
        (f.level for f in findings), key=("error", "warning", "info").index
    )
    assert {f.level for f in findings} == {"error", "warning", "info"}
    assert findings == sorted(findings, key=Finding.sort_key) and len(set(findings)) == len(findings)


def test_level_override_and_skip(lint_databases: LintDatabases) -> None:
    _, catalog = cases_database(lint_databases)
    raised = lint(
        catalog,
        LintSettings(only=frozenset({"enum-without-labels"}), levels={"enum-without-labels": "error"}),
    )
    assert [f.level for f in raised] == ["error"]
    assert (
        lint(
            catalog,
            LintSettings(only=frozenset({"enum-without-labels"}), skip=frozenset({"enum-without-labels"})),
        )
        == []
    )
