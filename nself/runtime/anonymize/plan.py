"""Binding a config to a live schema: which value function each column of each table gets.

Everything here happens before anything is written: a column the schema does not have, a
strategy its type cannot take, a rule that cannot satisfy a constraint (null on NOT NULL,
one constant on a unique column) is an error naming the config line.

Foreign keys decide consistency: a column and every column it references or is referenced
by (followed transitively through the catalog's foreign keys) form one group that shares
one mapper, so an anonymised key still joins. Columns in a primary key, a unique constraint
or a unique index get an injective mapper: a collision is resolved by asking the strategy
for its next value for that input (the same answer in every run over the same rows)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nself.errors import NselfError
from nself.ir import model as m
from nself.runtime.anonymize.config import Config, Position, Rule, parse_json_path
from nself.runtime.anonymize.strategies import (
    ColumnType,
    Keyed,
    StrategyError,
    ValueFunction,
    column_type,
    compile_spec,
)

Column = tuple[str, str, str]  # schema, table, column
MAX_ATTEMPTS = 1000
CACHE_LIMIT = 1 << 17
_MISSING = object()


class AnonymizeError(NselfError):
    """Anonymisation that cannot go ahead (the message names the column or rule)."""


class Mapper:
    """One column group's value function with its memory: the same input always gives the
    same output, and (when injective) two inputs never give one output."""

    def __init__(self, function: ValueFunction, *, injective: bool, changes: bool, label: str) -> None:
        self.function = function
        self.injective = injective
        self.changes = changes  # must not give back its input (fake, hash, mask, noise)
        self.label = label
        self._cache: dict[str, str | None] = {}
        self._owner: dict[str, str] = {}  # output -> the input that has it (injective only)

    def __call__(self, value: str | None) -> str | None:
        if value is None:
            return None
        hit = self._cache.get(value, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        out: str | None = None
        for attempt in range(MAX_ATTEMPTS):
            out = self.function(value, attempt)
            if self.changes and out == value and attempt < 20:
                continue
            if self.injective and out is not None:
                owner = self._owner.get(out)
                if owner is not None and owner != value:
                    continue
                self._owner[out] = value
            break
        else:
            raise AnonymizeError(
                f"{self.label}: found no unused value after {MAX_ATTEMPTS} attempts (too few possible values for a unique column)"
            )
        if not self.injective and len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[value] = out
        return out


class JsonMapper:
    """Rewrites the values at key paths inside a json/jsonb document."""

    def __init__(self, paths: list[tuple[tuple[str, ...], Callable[[Any], Any]]]) -> None:
        self.paths = paths

    def __call__(self, value: str | None) -> str | None:
        if value is None:
            return None
        document = json.loads(value)
        for steps, apply in self.paths:
            document = _rewrite(document, steps, apply)
        return json.dumps(document, ensure_ascii=False)


def _rewrite(node: Any, steps: tuple[str, ...], apply: Callable[[Any], Any]) -> Any:
    if not steps:
        return _leaves(node, apply)
    step, rest = steps[0], steps[1:]
    if step == "[*]":
        return [_rewrite(item, rest, apply) for item in node] if isinstance(node, list) else node
    if isinstance(node, dict):
        if step == "*":
            return {k: _rewrite(v, rest, apply) for k, v in node.items()}
        if step in node:
            return {**node, step: _rewrite(node[step], rest, apply)}
    return node


def _leaves(node: Any, apply: Callable[[Any], Any]) -> Any:
    if isinstance(node, dict):
        return {k: _leaves(v, apply) for k, v in node.items()}
    if isinstance(node, list):
        return [_leaves(v, apply) for v in node]
    return apply(node)


@dataclass
class ColumnTransform:
    """The rules of one column, in order: the first whose `where` holds applies (a rule
    without `where` always does); a row no rule matches keeps its value."""

    column: str
    rules: list[tuple[int | None, Callable[[str | None], str | None]]]
    derived_from: str | None = None  # "people.email" when a foreign key brought the rule here


@dataclass
class TablePlan:
    schema: str
    name: str
    transforms: dict[str, ColumnTransform] = field(default_factory=dict)
    wheres: list[tuple[str, Position]] = field(default_factory=list)  # SQL conditions, by index

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Plan:
    tables: dict[tuple[str, str], TablePlan]
    skipped: set[tuple[str, str]]

    def configured_columns(self) -> list[Column]:
        return [(t.schema, t.name, c) for t in self.tables.values() for c in t.transforms]


def resolve_table(catalog: m.Catalog, name: str, position: Position, what: str) -> m.Table:
    if "." in name:
        schema, _, table = name.partition(".")
        found = catalog.table(schema, table)
        matches = [found] if found is not None else []
    else:
        matches = [t for t in catalog.tables if t.name == name and t.partition_of is None]
        public = [t for t in matches if t.schema == "public"]
        matches = public or matches
    if not matches:
        raise position.error(f"{what}: no table {name!r} in the database")
    if len(matches) > 1:
        names = ", ".join(f"{t.schema}.{t.name}" for t in matches)
        raise position.error(f"{what}: {name!r} could be any of {names}; write schema.table")
    return matches[0]


class _Groups:
    """Union-find over columns joined by foreign keys."""

    def __init__(self) -> None:
        self.parent: dict[Column, Column] = {}

    def find(self, node: Column) -> Column:
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, a: Column, b: Column) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def members(self, node: Column) -> list[Column]:
        root = self.find(node)
        return sorted(n for n in list(self.parent) if self.find(n) == root)


def unique_columns(catalog: m.Catalog) -> set[Column]:
    unique: set[Column] = set()
    for table in catalog.tables:
        for constraint in table.constraints:
            if isinstance(constraint, m.PrimaryKey | m.UniqueConstraint):
                unique.update((table.schema, table.name, c) for c in constraint.columns)
    for index in catalog.indexes:
        if index.unique:
            unique.update((index.schema, index.table, k.column) for k in index.keys if k.column)
    return unique


def _name(column: Column) -> str:
    schema, table, name = column
    return f"{table}.{name}" if schema == "public" else f"{schema}.{table}.{name}"


def bind(config: Config, catalog: m.Catalog, keyed: Keyed) -> Plan:
    """The plan for `config` on the schema `catalog`; AnonymizeError/SourceError naming the
    config line for anything that cannot hold."""
    domains = {f"{d.schema}.{d.name}": d.data_type for d in catalog.domains}
    domain_not_null = {f"{d.schema}.{d.name}" for d in catalog.domains if d.not_null}
    skipped: dict[tuple[str, str], Position] = {}
    for name, position in config.skip:
        table = resolve_table(catalog, name, position, "skip")
        skipped[(table.schema, table.name)] = position

    configured: dict[Column, tuple[tuple[Rule, ...], Position]] = {}
    for table_rules in config.tables:
        table = resolve_table(catalog, table_rules.name, table_rules.position, "tables")
        for column_rules in table_rules.columns:
            column = table.column(column_rules.column)
            where = f"tables.{table_rules.name}.{column_rules.column}"
            if column is None:
                known = ", ".join(c.name for c in table.columns)
                raise column_rules.position.error(
                    f"{where}: no column {column_rules.column!r} in {table.schema}.{table.name} (columns: {known})"
                )
            if column.generated is not None:
                raise column_rules.position.error(
                    f"{where}: a generated column is computed from the others; anonymise those instead"
                )
            configured[(table.schema, table.name, column.name)] = (column_rules.rules, column_rules.position)

    groups = _Groups()
    for table in catalog.tables:
        for fk in table.foreign_keys:
            for own, ref in zip(fk.columns, fk.ref_columns, strict=False):
                groups.union((table.schema, table.name, own), (fk.ref_schema, fk.ref_table, ref))
    unique = unique_columns(catalog)

    plan = Plan({}, set(skipped))
    tables = {(t.schema, t.name): t for t in catalog.tables}
    done: set[Column] = set()
    for node in sorted(configured):
        if node in done:
            continue
        rules, position = configured[node]
        members = groups.members(node) if node in groups.parent else [node]
        for other in members:
            if other != node and other in configured:
                other_rules, other_position = configured[other]
                if len(other_rules) != len(rules) or not all(
                    a.same_as(b) for a, b in zip(rules, other_rules, strict=True)
                ):
                    # Reported at the later of the two in the file, naming the earlier.
                    first, second = sorted(
                        [(position, node), (other_position, other)], key=lambda p: (p[0].line, p[0].col)
                    )
                    raise second[0].error(
                        f"{_name(second[1])}: its rule differs from {_name(first[1])}'s (line {first[0].line}) and a "
                        "foreign key joins them; give both the same rule, or configure only one (the others follow it)"
                    )
        if len(members) > 1 and any(r.where is not None for r in rules):
            raise position.error(
                f"{_name(node)}: a `where` on a column joined by a foreign key would break the join; use one rule"
            )
        for other in members:
            if (other[0], other[1]) in skipped:
                raise skipped[(other[0], other[1])].error(
                    f"skip: {other[0]}.{other[1]} cannot be kept as it is: {_name(other)} is joined by a foreign key "
                    f"to {_name(node)}, which is anonymised"
                )
        injective = len(members) > 1 or any(n in unique for n in members)
        types: list[ColumnType] = []
        for schema, table_name, column_name in [node] + [n for n in members if n != node]:
            column = tables[(schema, table_name)].column(column_name)
            assert column is not None
            ctype = column_type(column.data_type, domains)
            types.append(ctype)
            not_null = column.not_null or column.data_type in domain_not_null
            for rule in rules:
                if rule.spec.strategy == "null" and not_null:
                    raise rule.position.error(
                        f"{_name((schema, table_name, column_name))}: null on a NOT NULL column"
                    )
                if rule.spec.strategy == "constant" and rule.spec.option("value") is None and not_null:
                    raise rule.position.error(
                        f"{_name((schema, table_name, column_name))}: a NULL constant on a NOT NULL column"
                    )
                if injective and rule.spec.strategy in ("constant", "mask"):
                    raise rule.position.error(
                        f"{_name((schema, table_name, column_name))}: {rule.spec.strategy} gives many rows one value, "
                        "and the column must stay unique; use fake or hash"
                    )
                if injective and rule.json:
                    raise rule.position.error(f"{_name(node)}: json key paths on a unique column")
        lengths = [t.length for t in types if t.length is not None]
        shared = ColumnType(types[0].name, types[0].category, min(lengths) if lengths else None)
        compiled: list[tuple[int | None, Callable[[str | None], str | None], Rule]] = []
        for rule in rules:
            mapper = _compile_rule(rule, keyed, node, shared, injective, domains)
            compiled.append((None, mapper, rule))
        for other in members:
            done.add(other)
            if other not in configured and other not in groups.parent:
                continue
            schema, table_name, column_name = other
            table_plan = plan.tables.setdefault((schema, table_name), TablePlan(schema, table_name))
            entries: list[tuple[int | None, Callable[[str | None], str | None]]] = []
            for _, mapper, rule in compiled:
                index = None
                if rule.where is not None:
                    index = len(table_plan.wheres)
                    table_plan.wheres.append((rule.where, rule.position))
                entries.append((index, mapper))
            table_plan.transforms[column_name] = ColumnTransform(
                column_name, entries, None if other in configured else _name(node)
            )
    return plan


def _compile_rule(
    rule: Rule,
    keyed: Keyed,
    node: Column,
    ctype: ColumnType,
    injective: bool,
    domains: dict[str, str],
) -> Callable[[str | None], str | None]:
    label = _name(node)
    if rule.json:
        if ctype.category != "json":
            raise rule.position.error(f"{label}: json key paths on a {ctype.name} column")
        paths: list[tuple[tuple[str, ...], Callable[[Any], Any]]] = []
        for path, path_rule in rule.json:
            if path_rule.json or path_rule.where is not None:
                raise path_rule.position.error(
                    f"{label}.{path}: a key path takes a strategy, not `json:` or `where:`"
                )
            paths.append(
                (
                    parse_json_path(path, path_rule.position),
                    _json_value_function(path_rule, keyed, f"{label}.{path}"),
                )
            )
        return JsonMapper(paths)
    try:
        function = compile_spec(rule.spec, keyed, node[2], ctype)
    except StrategyError as exc:
        raise rule.position.error(f"{label}: {exc}") from None
    changes = rule.spec.strategy in ("fake", "hash", "mask", "noise")
    return Mapper(function, injective=injective, changes=changes, label=label)


def _json_value_function(rule: Rule, keyed: Keyed, label: str) -> Callable[[Any], Any]:
    """A function over JSON scalars: strings through the text form of the strategy, numbers
    through its numeric form where it has one."""
    if rule.spec.strategy == "keep":
        return lambda value: value
    key_name = label.rsplit(".", 1)[-1]
    changes = rule.spec.strategy in ("fake", "hash", "mask", "noise")
    try:
        text = Mapper(
            compile_spec(rule.spec, keyed, key_name, ColumnType("text", "text")),
            injective=False,
            changes=changes,
            label=label,
        )
    except StrategyError as exc:
        raise rule.position.error(f"{label}: {exc}") from None
    numeric: Mapper | None = None
    if rule.spec.strategy in ("noise", "hash", "null", "constant") or (
        rule.spec.strategy == "fake" and rule.spec.kind == "number"
    ):
        kind = "numeric" if rule.spec.strategy == "noise" else "integer"
        try:
            numeric = Mapper(
                compile_spec(
                    rule.spec, keyed, key_name, ColumnType("bigint" if kind == "integer" else "numeric", kind)
                ),
                injective=False,
                changes=changes,
                label=label,
            )
        except StrategyError:
            numeric = None
    if rule.spec.strategy == "null":
        return lambda value: None
    if rule.spec.strategy == "constant":
        constant = rule.spec.option("value")
        return lambda value: constant

    def apply(value: Any) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int | float) and numeric is not None:
            out = numeric(str(value))
            if out is None:
                return None
            number = float(out)
            return int(number) if number.is_integer() and isinstance(value, int) else number
        return text(str(value))

    return apply
