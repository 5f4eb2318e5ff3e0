"""The lint rules: each a function from a Catalog to the issues it finds, registered with
an id, a default level and a one-line summary (docs/lint.md says why each exists).

Indexes that back a constraint (primary key, unique, exclusion) live on the constraint in
the IR; the index rules see them through `_index_shapes`, so an index that repeats a
primary key is found like any other duplicate."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from nself.backends.lint.findings import Check, Finding, Issue, Level, LintSettings, Rule
from nself.ir import Catalog
from nself.ir.model import (
    ExclusionConstraint,
    ForeignKey,
    IndexKey,
    PrimaryKey,
    Table,
    UniqueConstraint,
)
from nself.ir.names import PG15_QUOTED_KEYWORDS, is_plain, qualified_name, quote_ident

RULES: dict[str, Rule] = {}


def rule(rule_id: str, level: Level, summary: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES[rule_id] = Rule(rule_id, level, summary, check)
        return check

    return register


def lint(catalog: Catalog, settings: LintSettings | None = None) -> list[Finding]:
    """The findings of every selected rule on `catalog`, most severe first."""
    settings = settings or LintSettings()
    findings = [
        Finding(
            rule.id,
            settings.levels.get(rule.id, rule.level),
            issue.schema,
            issue.name,
            issue.kind,
            issue.message,
            issue.remedy,
        )
        for rule in RULES.values()
        if settings.selects(rule.id)
        for issue in rule.check(catalog)
    ]
    return sorted(set(findings), key=Finding.sort_key)


# --------------------------------------------------------------------------- helpers


def _own_tables(catalog: Catalog) -> Iterator[Table]:
    """Tables that are not partitions: a partition copies its parent's columns, keys,
    foreign keys and indexes, so a finding on the parent covers it (and the IR leaves the
    copied keys and indexes out, so the partition alone would be judged on half its indexes)."""
    return (t for t in catalog.tables if t.partition_of is None)


def _own_columns(table: Table) -> Iterator[str]:
    return (c.name for c in table.columns if not c.inherited)


@dataclass(frozen=True, slots=True)
class _IndexShape:
    """An index as the planner sees it, whether CREATE INDEX or a constraint made it."""

    name: str
    constraint: str | None  # "PRIMARY KEY", "UNIQUE", "EXCLUDE" when a constraint backs it
    keys: tuple[IndexKey, ...]
    include: tuple[str, ...]
    method: str
    predicate: str | None
    unique: bool

    @property
    def signature(self) -> tuple[tuple[IndexKey, ...], tuple[str, ...], str, str | None]:
        return (self.keys, self.include, self.method, self.predicate)

    @property
    def key_columns(self) -> tuple[str | None, ...]:
        return tuple(k.column for k in self.keys)

    def described(self) -> str:
        if self.constraint:
            return f"{self.constraint} constraint {self.name}"
        return f"{'unique ' if self.unique else ''}index {self.name}"

    def preference(self) -> tuple[int, str]:
        """Which of equal indexes to keep: constraints first, then unique ones, then by name."""
        rank = {"PRIMARY KEY": 0, "UNIQUE": 1, "EXCLUDE": 2}.get(
            self.constraint or "", 4 if not self.unique else 3
        )
        return (rank, self.name)


def _index_shapes(catalog: Catalog, table: Table) -> list[_IndexShape]:
    shapes: list[_IndexShape] = []
    for constraint in table.constraints:
        if isinstance(constraint, PrimaryKey | UniqueConstraint):
            shapes.append(
                _IndexShape(
                    constraint.name,
                    "PRIMARY KEY" if isinstance(constraint, PrimaryKey) else "UNIQUE",
                    tuple(IndexKey(column=c) for c in constraint.columns),
                    constraint.include,
                    "btree",
                    None,
                    True,
                )
            )
        elif isinstance(constraint, ExclusionConstraint):
            keys = tuple(
                IndexKey(
                    column=None if e.expression.startswith("(") else e.expression,
                    expression=e.expression[1:-1] if e.expression.startswith("(") else None,
                    opclass=e.opclass,
                    descending=e.descending,
                    nulls_first=e.nulls_first,
                )
                for e in constraint.elements
            )
            shapes.append(
                _IndexShape(
                    constraint.name,
                    "EXCLUDE",
                    keys,
                    constraint.include,
                    constraint.method,
                    constraint.predicate,
                    False,
                )
            )
    shapes.extend(
        _IndexShape(i.name, None, i.keys, i.include, i.method, i.predicate, i.unique)
        for i in catalog.indexes_of(table.schema, table.name)
    )
    return shapes


def _index_issue(table: Table, shape: _IndexShape, message: str, remedy_index: str) -> Issue:
    if shape.constraint:
        return Issue(
            table.schema,
            f"{table.name}.{shape.name}",
            "constraint",
            message,
            f"ALTER TABLE {qualified_name(table.schema, table.name)} DROP CONSTRAINT {quote_ident(shape.name)}",
        )
    return Issue(table.schema, shape.name, "index", message, remedy_index)


# --------------------------------------------------------------------------- tables


@rule("no-primary-key", "warning", "table without a primary key")
def no_primary_key(catalog: Catalog) -> Iterable[Issue]:
    for table in _own_tables(catalog):
        if table.primary_key is None:
            yield Issue(
                table.schema,
                table.name,
                "table",
                f"table {table.name} has no primary key",
                "add one (an identity column if nothing else identifies a row): rows cannot be "
                "addressed reliably, and logical replication cannot UPDATE or DELETE them",
            )


@rule("fk-without-index", "warning", "foreign key whose columns do not lead any index")
def fk_without_index(catalog: Catalog) -> Iterable[Issue]:
    # Partitions too: the IR holds the keys declared on a partition itself (not those it
    # copies from its parent), and the parent's indexes are copied onto it, so they count.
    for table in catalog.tables:
        lineage = [table, *_ancestors(catalog, table)]
        leading = [s.key_columns for t in lineage for s in _index_shapes(catalog, t) if s.predicate is None]
        for fk in table.foreign_keys:
            wanted = set(fk.columns)
            if any(
                len(cols) >= len(fk.columns) and set(cols[: len(fk.columns)]) == wanted for cols in leading
            ):
                continue
            columns = ", ".join(quote_ident(c) for c in fk.columns)
            yield Issue(
                table.schema,
                f"{table.name}.{fk.name}",
                "constraint",
                f"foreign key {fk.name} ({', '.join(fk.columns)}) has no index that starts with its columns",
                f"CREATE INDEX ON {qualified_name(table.schema, table.name)} ({columns}): deleting or updating "
                f"a row of {fk.ref_table} otherwise scans {table.name}, and joins cannot use an index",
            )


@rule("fk-on-partition", "info", "foreign key declared on a partition, not on its partitioned table")
def fk_on_partition(catalog: Catalog) -> Iterable[Issue]:
    for table in catalog.tables:
        ancestors = _ancestors(catalog, table)
        if not ancestors:
            continue
        declared = {_fk_target(fk) for parent in ancestors for fk in parent.foreign_keys}
        root = ancestors[-1]
        for fk in table.foreign_keys:
            if _fk_target(fk) in declared:
                continue
            yield Issue(
                table.schema,
                f"{table.name}.{fk.name}",
                "constraint",
                f"foreign key {fk.name} is declared on partition {table.name} only: rows of the other "
                f"partitions of {root.name} are not checked",
                f"declare it on {qualified_name(root.schema, root.name)} (PostgreSQL then adds it to every "
                "partition) and drop this one",
            )


def _fk_target(fk: ForeignKey) -> tuple[tuple[str, ...], str, str, tuple[str, ...]]:
    return fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns


def _ancestors(catalog: Catalog, table: Table) -> list[Table]:
    """The tables `table` is a partition of, nearest first."""
    found: list[Table] = []
    current = table
    while current.partition_of is not None:
        parent = catalog.table(current.partition_of.parent_schema, current.partition_of.parent)
        if parent is None or parent in found:
            break
        found.append(parent)
        current = parent
    return found


@rule("duplicate-index", "warning", "index with the same keys, predicate and method as another")
def duplicate_index(catalog: Catalog) -> Iterable[Issue]:
    # On a partition the indexes of the tables it is a partition of count (PostgreSQL
    # copies them onto it): a partition's own index equal to one of those is reported;
    # the copies themselves are reported on the parent.
    for table in catalog.tables:
        ancestors = _ancestors(catalog, table)
        inherited = {s.signature: t.name for t in ancestors for s in _index_shapes(catalog, t)}
        groups: dict[object, list[_IndexShape]] = defaultdict(list)
        for shape in _index_shapes(catalog, table):
            groups[shape.signature].append(shape)
        for shapes in groups.values():
            kept, *others = sorted(shapes, key=_IndexShape.preference)
            parent = inherited.get(kept.signature)
            for shape in [kept, *others] if parent is not None else others:
                what = f"an index of {parent} (copied onto every partition)" if parent else kept.described()
                yield _index_issue(
                    table,
                    shape,
                    f"{shape.described()} on {table.name} duplicates {what}",
                    f"DROP INDEX {qualified_name(table.schema, shape.name)}: every write maintains both",
                )


@rule("redundant-index", "info", "btree index whose keys begin another index's keys")
def redundant_index(catalog: Catalog) -> Iterable[Issue]:
    for table in _own_tables(catalog):
        shapes = [s for s in _index_shapes(catalog, table) if s.method == "btree"]
        for shape in shapes:
            if shape.unique or shape.constraint:
                continue
            size = len(shape.keys)
            wider = sorted(
                (
                    other
                    for other in shapes
                    if len(other.keys) > size
                    and other.keys[:size] == shape.keys
                    and other.predicate == shape.predicate
                    and set(shape.include) <= {k.column for k in other.keys} | set(other.include)
                ),
                key=_IndexShape.preference,
            )
            if wider:
                yield Issue(
                    table.schema,
                    shape.name,
                    "index",
                    f"index {shape.name} on {table.name} is redundant: its keys begin {wider[0].described()}",
                    f"DROP INDEX {qualified_name(table.schema, shape.name)}, unless its smaller size matters "
                    "for the queries that use it",
                )


# --------------------------------------------------------------------------- columns

_TIMESTAMP = re.compile(r"timestamp(\(\d+\))? without time zone(\[\])*\Z")
_FIXED_LENGTH_TEXT = re.compile(r"(character varying|character)\(\d+\)(\[\])*\Z")


@rule("timestamp-without-time-zone", "warning", "column of type timestamp without time zone")
def timestamp_without_time_zone(catalog: Catalog) -> Iterable[Issue]:
    for table in _own_tables(catalog):
        for column in table.columns:
            if not column.inherited and _TIMESTAMP.match(column.data_type):
                yield Issue(
                    table.schema,
                    f"{table.name}.{column.name}",
                    "column",
                    f"column {table.name}.{column.name} is {column.data_type}",
                    "use timestamp with time zone (timestamptz): it stores an instant; timestamp stores "
                    "a wall-clock reading whose meaning depends on the writer's time zone",
                )


@rule("varchar-length", "info", "varchar(n) or char(n) column")
def varchar_length(catalog: Catalog) -> Iterable[Issue]:
    for table in _own_tables(catalog):
        for column in table.columns:
            if not column.inherited and _FIXED_LENGTH_TEXT.match(column.data_type):
                yield Issue(
                    table.schema,
                    f"{table.name}.{column.name}",
                    "column",
                    f"column {table.name}.{column.name} is {column.data_type}",
                    f"use text with CHECK (char_length({quote_ident(column.name)}) <= n): the same storage, and "
                    "a limit that changes without rewriting the table (char(n) also pads with spaces)",
                )


@rule("nullable-unique-column", "warning", "unique constraint over a nullable column")
def nullable_unique_column(catalog: Catalog) -> Iterable[Issue]:
    for table in _own_tables(catalog):
        for constraint in table.constraints:
            if not isinstance(constraint, UniqueConstraint) or constraint.nulls_not_distinct:
                continue
            nullable = [
                name
                for name in constraint.columns
                if (c := table.column(name)) is not None and not c.not_null
            ]
            if nullable:
                yield Issue(
                    table.schema,
                    f"{table.name}.{constraint.name}",
                    "constraint",
                    f"unique constraint {constraint.name} on {table.name} covers nullable "
                    f"column{'s' if len(nullable) > 1 else ''} {', '.join(nullable)}: rows with NULL there "
                    "never conflict",
                    "make the columns NOT NULL, or declare UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+) if "
                    "NULL should count as one value",
                )


@rule("serial-column", "info", "serial column instead of an identity column")
def serial_column(catalog: Catalog) -> Iterable[Issue]:
    owned = {(s.schema, *s.owned_by) for s in catalog.sequences if s.owned_by is not None}
    for table in _own_tables(catalog):
        for column in table.columns:
            default = column.default or ""
            if default.startswith("nextval(") and (table.schema, table.name, column.name) in owned:
                yield Issue(
                    table.schema,
                    f"{table.name}.{column.name}",
                    "column",
                    f"column {table.name}.{column.name} is a serial (a default of nextval on an owned sequence)",
                    "use GENERATED BY DEFAULT AS IDENTITY (SQL standard; its sequence's permissions and "
                    "ownership follow the table)",
                )


# --------------------------------------------------------------------------- names


def _named_relations(catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    """(schema, name within it, kind, the identifier itself) for tables, their columns and views."""
    for table in catalog.tables:
        yield table.schema, table.name, "table", table.name
        if table.partition_of is None:
            for column in _own_columns(table):
                yield table.schema, f"{table.name}.{column}", "column", column
    for view in catalog.views:
        yield view.schema, view.name, "view", view.name


@rule("reserved-word-name", "warning", "table, column or view named like a reserved keyword")
def reserved_word_name(catalog: Catalog) -> Iterable[Issue]:
    for schema, name, kind, identifier in _named_relations(catalog):
        if is_plain(identifier) and identifier in PG15_QUOTED_KEYWORDS:
            yield Issue(
                schema,
                name,
                kind,
                f"{kind} {name} is named {identifier!r}, a keyword: every query must quote it",
                "rename it (e.g. to a noun that says what it holds) with ALTER ... RENAME",
            )


def _named_objects(catalog: Catalog) -> Iterator[tuple[str, str, str, str]]:
    for schema in catalog.schemas:
        yield schema.name, schema.name, "schema", schema.name
    yield from _named_relations(catalog)
    for kind, types in (
        ("enum", catalog.enums),
        ("domain", catalog.domains),
        ("type", catalog.composite_types),
        ("type", catalog.range_types),
    ):
        for node in types:
            yield node.schema, node.name, kind, node.name
    for function in catalog.functions:
        yield function.schema, f"{function.name}({function.identity_arguments})", "function", function.name


@rule("quoted-identifier", "info", "name that needs double quotes (capitals, spaces, punctuation)")
def quoted_identifier(catalog: Catalog) -> Iterable[Issue]:
    for schema, name, kind, identifier in _named_objects(catalog):
        if not is_plain(identifier):
            yield Issue(
                schema,
                name,
                kind,
                f"{kind} {name}: {identifier!r} must always be written in double quotes",
                "rename it to lower case letters, digits and underscores (unquoted names fold to lower case, "
                f"so {identifier.lower()!r} is not the same name)",
            )


# --------------------------------------------------------------------------- security


@rule("rls-without-policy", "warning", "row level security enabled but no policy")
def rls_without_policy(catalog: Catalog) -> Iterable[Issue]:
    for table in catalog.tables:
        if table.rls_enabled and not catalog.policies_of(table.schema, table.name):
            yield Issue(
                table.schema,
                table.name,
                "table",
                f"table {table.name} has row level security enabled and no policy: it denies every row "
                "to every role but its owner and superusers",
                f"CREATE POLICY ... ON {qualified_name(table.schema, table.name)}, or DISABLE ROW LEVEL SECURITY "
                "if nothing should be filtered",
            )


@rule("policy-without-rls", "error", "policy on a table whose row level security is disabled")
def policy_without_rls(catalog: Catalog) -> Iterable[Issue]:
    for table in catalog.tables:
        policies = catalog.policies_of(table.schema, table.name)
        if policies and not table.rls_enabled:
            names = ", ".join(sorted(p.name for p in policies))
            yield Issue(
                table.schema,
                table.name,
                "table",
                f"table {table.name} has polic{'ies' if len(policies) > 1 else 'y'} {names} but row level "
                f"security is disabled: PostgreSQL ignores {'them' if len(policies) > 1 else 'it'} and every "
                "role with a grant sees every row",
                f"ALTER TABLE {qualified_name(table.schema, table.name)} ENABLE ROW LEVEL SECURITY",
            )


_COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@rule("multiple-permissive-policies", "warning", "several permissive policies for one role and command")
def multiple_permissive_policies(catalog: Catalog) -> Iterable[Issue]:
    for table in catalog.tables:
        permissive = [p for p in catalog.policies_of(table.schema, table.name) if p.permissive]
        roles = sorted({r for p in permissive for r in p.roles} | {"public"})
        for command in _COMMANDS:
            # A role sees the policies naming it and those for public; roles that see the
            # same set are reported together.
            sharing: dict[tuple[str, ...], list[str]] = defaultdict(list)
            for role in roles:
                applying = tuple(
                    sorted(
                        p.name
                        for p in permissive
                        if p.command in ("ALL", command) and (role in p.roles or "public" in p.roles)
                    )
                )
                if len(applying) > 1:
                    sharing[applying].append(role)
            for names, role_names in sharing.items():
                yield Issue(
                    table.schema,
                    table.name,
                    "table",
                    f"table {table.name}: {len(names)} permissive policies ({', '.join(names)}) apply to "
                    f"{'role' if len(role_names) == 1 else 'roles'} {', '.join(role_names)} on {command}",
                    "merge them into one policy with OR: PostgreSQL evaluates every permissive policy "
                    "for each row",
                )


@rule("security-definer-search-path", "error", "SECURITY DEFINER function without a fixed search_path")
def security_definer_search_path(catalog: Catalog) -> Iterable[Issue]:
    for function in catalog.functions:
        if function.security_definer and not any(c.startswith("search_path=") for c in function.config):
            yield Issue(
                function.schema,
                f"{function.name}({function.identity_arguments})",
                "function",
                f"SECURITY DEFINER {function.kind} {function.name}({function.identity_arguments}) does not "
                "fix search_path: a caller can put objects in a schema it searches and run them with the "
                "owner's rights",
                f"ALTER FUNCTION {function.signature} SET search_path = pg_catalog, pg_temp "
                "(and qualify the names it uses)",
            )


# --------------------------------------------------------------------------- types


@rule("enum-without-labels", "warning", "enum type with no labels")
def enum_without_labels(catalog: Catalog) -> Iterable[Issue]:
    for enum in catalog.enums:
        if not enum.labels:
            yield Issue(
                enum.schema,
                enum.name,
                "enum",
                f"enum {enum.name} has no labels: no value of it can exist",
                f"ALTER TYPE {qualified_name(enum.schema, enum.name)} ADD VALUE '...', or DROP TYPE it",
            )
