"""nself/anonymize.yaml: which columns to anonymise and how.

The plan's format, read exactly as written:

    tables:
      users:
        email: fake
        phone: mask
        ssn: hash
      payments:
        credit_card: null
      skip:            # inside `tables:` in the plan; a top-level `skip:` works too
        - roles

and beside it the richer forms of a column:

    email: fake:email                          # a kind for fake
    salary: {strategy: noise, percent: 5}      # a strategy with options
    email:                                     # several rules: the first whose `where` holds
      - {strategy: keep, where: "email LIKE '%@ourcompany.com'"}
      - fake:email
    profile:                                   # a JSON column, per key path
      json:
        contact.email: fake:email
        "addresses[*].street": fake:street
    name: {strategy: fake, kind: name, locale: fr}   # fake values of another language

and a top-level `locale: de` for every fake rule that names none (words.LOCALES: en, de, fr).

Every error names file:line:col."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nself.errors import OptionError, SourceError
from nself.runtime.anonymize.strategies import OPTIONS, STRATEGIES, Spec
from nself.runtime.anonymize.words import LOCALES

if TYPE_CHECKING:
    from nself.runtime.project import Project

CONFIG_PATH = Path("nself") / "anonymize.yaml"
KEY_VARIABLE = "NSELF_ANONYMIZE_KEY"


@dataclass(frozen=True)
class Position:
    file: str
    line: int
    col: int

    def error(self, message: str) -> SourceError:
        return SourceError(self.file, self.line, self.col, message)


@dataclass(frozen=True)
class Rule:
    spec: Spec
    where: str | None = None  # SQL over the row, evaluated by PostgreSQL on the source
    json: tuple[tuple[str, Rule], ...] = ()  # key path -> rule, for json/jsonb columns
    position: Position = field(default=Position("", 0, 0), compare=False)

    def same_as(self, other: Rule) -> bool:
        return (self.spec, self.where, self.json) == (other.spec, other.where, other.json)


@dataclass(frozen=True)
class ColumnRules:
    column: str
    rules: tuple[Rule, ...]
    position: Position


@dataclass(frozen=True)
class TableRules:
    name: str  # as written: "users" or "schema.users"
    columns: tuple[ColumnRules, ...]
    position: Position


@dataclass(frozen=True)
class Config:
    path: str
    tables: tuple[TableRules, ...] = ()
    skip: tuple[tuple[str, Position], ...] = ()
    locale: str | None = None  # the top-level `locale:`, already applied to the fake rules

    @property
    def empty(self) -> bool:
        return not any(t.columns for t in self.tables)


def node_position(node: yaml.Node, path: str) -> Position:
    mark = node.start_mark
    return Position(path, mark.line + 1, mark.column + 1)


def load_config(path: Path) -> Config:
    """Read and check the config file (shape only; `bind` checks it against a schema)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OptionError(f"--config: cannot read {path}: {exc.strerror or exc}") from None
    return parse_config(text, shown_path(path))


def shown_path(path: Path) -> str:
    """The path as errors show it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse_config(text: str, path: str) -> Config:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is not None:
            raise SourceError(path, mark.line + 1, mark.column + 1, str(problem)) from None
        raise SourceError(path, None, None, str(problem)) from None
    if root is None:
        return Config(path)
    if not isinstance(root, yaml.MappingNode):
        raise node_position(root, path).error("expected a mapping with `tables:` (and `skip:`)")
    tables: list[TableRules] = []
    skip: list[tuple[str, Position]] = []
    locale: str | None = None
    for key, value in root.value:
        name = scalar(key, path, "a key")
        if name == "tables":
            if is_null(value):
                continue
            if not isinstance(value, yaml.MappingNode):
                raise node_position(value, path).error("tables: expected a mapping of table name to columns")
            for table_key, table_value in value.value:
                table = scalar(table_key, path, "a table name")
                if table == "skip" and isinstance(table_value, yaml.SequenceNode):
                    skip.extend(_skip_list(table_value, path))
                    continue
                tables.append(_table(table, table_key, table_value, path))
        elif name == "skip":
            if not isinstance(value, yaml.SequenceNode):
                raise node_position(value, path).error("skip: expected a list of table names")
            skip.extend(_skip_list(value, path))
        elif name == "locale":
            locale = scalar(value, path, "a locale")
            if locale not in LOCALES:
                raise node_position(value, path).error(
                    f"locale: unknown {locale!r} (known: {', '.join(LOCALES)})"
                )
        else:
            raise node_position(key, path).error(f"unknown key {name!r} (expected tables, skip or locale)")
    seen: dict[str, Position] = {}
    for table_rules in tables:
        if table_rules.name in seen:
            raise table_rules.position.error(f"table {table_rules.name!r} appears twice")
        seen[table_rules.name] = table_rules.position
    for skipped, position in skip:
        if skipped in seen:
            raise position.error(f"table {skipped!r} is both skipped and configured")
    if locale is not None:
        tables = [
            TableRules(
                t.name,
                tuple(
                    ColumnRules(c.column, tuple(_with_locale(r, locale) for r in c.rules), c.position)
                    for c in t.columns
                ),
                t.position,
            )
            for t in tables
        ]
    return Config(path, tuple(tables), tuple(skip), locale)


def _with_locale(rule: Rule, locale: str) -> Rule:
    """`rule` with `locale` on its fake rules (JSON key paths too) that name none."""
    spec = rule.spec
    if spec.strategy == "fake" and spec.option("locale") is None:
        spec = Spec(spec.strategy, spec.kind, tuple(sorted((*spec.options, ("locale", locale)))))
    paths = tuple((key, _with_locale(inner, locale)) for key, inner in rule.json)
    return Rule(spec, rule.where, paths, rule.position)


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def scalar(node: yaml.Node, path: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise node_position(node, path).error(f"expected {what}")
    return str(node.value)


def _skip_list(node: yaml.SequenceNode, path: str) -> list[tuple[str, Position]]:
    return [(scalar(item, path, "a table name"), node_position(item, path)) for item in node.value]


def _table(name: str, key: yaml.Node, node: yaml.Node, path: str) -> TableRules:
    if is_null(node):
        return TableRules(name, (), node_position(key, path))
    if not isinstance(node, yaml.MappingNode):
        raise node_position(node, path).error(f"tables.{name}: expected a mapping of column to strategy")
    columns: list[ColumnRules] = []
    for column_key, column_value in node.value:
        column = scalar(column_key, path, "a column name")
        if any(c.column == column for c in columns):
            raise node_position(column_key, path).error(f"tables.{name}.{column} appears twice")
        if isinstance(column_value, yaml.SequenceNode):
            rules = tuple(_rule(item, path, f"tables.{name}.{column}") for item in column_value.value)
            if not rules:
                raise node_position(column_value, path).error(
                    f"tables.{name}.{column}: an empty list of rules"
                )
        else:
            rules = (_rule(column_value, path, f"tables.{name}.{column}"),)
        for rule in rules[:-1]:
            if rule.where is None:
                raise rule.position.error(
                    f"tables.{name}.{column}: only the last rule may go without `where` (the rules after it never apply)"
                )
        columns.append(ColumnRules(column, rules, node_position(column_key, path)))
    return TableRules(name, tuple(columns), node_position(key, path))


def parse_strategy(text: str, position: Position, where: str, *, mapping: bool = False) -> Spec:
    """`fake`, `fake:email`, `mask`, `hash`, `null`, `keep`, `noise`."""
    strategy, _, kind = text.partition(":")
    strategy = strategy.strip()
    if strategy not in STRATEGIES:
        raise position.error(f"{where}: unknown strategy {text!r} (expected one of {', '.join(STRATEGIES)})")
    if kind and strategy != "fake":
        raise position.error(f"{where}: only fake takes a kind ({strategy}:{kind})")
    if strategy == "constant" and not mapping:
        raise position.error(f"{where}: constant needs a value: {{strategy: constant, value: ...}}")
    return Spec(strategy, kind.strip() or None)


def _rule(node: yaml.Node, path: str, where: str) -> Rule:
    position = node_position(node, path)
    if is_null(node):  # `credit_card: null` in the plan's example
        return Rule(Spec("null"), position=position)
    if isinstance(node, yaml.ScalarNode):
        return Rule(parse_strategy(str(node.value), position, where), position=position)
    if not isinstance(node, yaml.MappingNode):
        raise position.error(f"{where}: expected a strategy name or a mapping with `strategy:`")
    values: dict[str, yaml.Node] = {}
    for key, value in node.value:
        values[scalar(key, path, "an option name")] = value
    json_node = values.pop("json", None)
    where_node = values.pop("where", None)
    strategy_node = values.pop("strategy", None)
    kind_node = values.pop("kind", None)
    condition = None
    if where_node is not None:
        condition = scalar(where_node, path, "an SQL condition")
        if not condition.strip():
            raise node_position(where_node, path).error(f"{where}.where: an empty condition")
    paths: list[tuple[str, Rule]] = []
    if json_node is not None:
        if not isinstance(json_node, yaml.MappingNode):
            raise node_position(json_node, path).error(
                f"{where}.json: expected a mapping of key path to strategy"
            )
        for key, value in json_node.value:
            key_path = scalar(key, path, "a key path")
            parse_json_path(key_path, node_position(key, path))
            paths.append((key_path, _rule(value, path, f"{where}.json.{key_path}")))
    if strategy_node is None:
        if not paths:
            raise position.error(f"{where}: expected `strategy:` (or `json:` key paths)")
        if values or kind_node is not None:
            raise position.error(f"{where}: options need a `strategy:`")
        return Rule(Spec("keep"), condition, tuple(paths), position)
    spec = parse_strategy(
        scalar(strategy_node, path, "a strategy name"),
        node_position(strategy_node, path),
        where,
        mapping=True,
    )
    kind = spec.kind
    if kind_node is not None:
        if spec.strategy != "fake":
            raise node_position(kind_node, path).error(f"{where}: only fake takes a kind")
        kind = scalar(kind_node, path, "a kind")
    options: list[tuple[str, Any]] = []
    for option, value in values.items():
        if option not in OPTIONS[spec.strategy]:
            known = ", ".join(sorted(OPTIONS[spec.strategy])) or "none"
            raise node_position(node, path).error(
                f"{where}: unknown option {option!r} for {spec.strategy} (known: {known})"
            )
        loaded = yaml.safe_load(yaml.serialize(value))
        if option == "locale" and loaded not in LOCALES:
            raise node_position(value, path).error(
                f"{where}: unknown locale {loaded!r} (known: {', '.join(LOCALES)})"
            )
        options.append((option, loaded))
    if spec.strategy == "constant" and "value" not in dict(options):
        raise position.error(f"{where}: constant needs a value")
    return Rule(Spec(spec.strategy, kind, tuple(sorted(options))), condition, tuple(paths), position)


def parse_json_path(text: str, position: Position) -> tuple[str, ...]:
    """`a.b`, `a[*].b`, `*`: the steps of a key path (`*` is every key, `[*]` every element)."""
    steps: list[str] = []
    for part in text.split("."):
        stars = 0
        while part.endswith("[*]"):
            part, stars = part[:-3], stars + 1
        if not part:
            raise position.error(f"key path {text!r}: an empty step")
        steps.append(part)
        steps.extend(["[*]"] * stars)
    return tuple(steps)


def anonymize_key(project: Project) -> bytes:
    """The HMAC key: $NSELF_ANONYMIZE_KEY, else nself.toml `[anonymize] key = "env:NAME"`.
    Never printed."""
    value = os.environ.get(KEY_VARIABLE)
    if value:
        return value.encode()
    section = project.config.get("anonymize", {})
    setting = section.get("key") if isinstance(section, dict) else None
    if setting is None:
        raise OptionError(
            f'no anonymisation key: set {KEY_VARIABLE}, or [anonymize] key = "env:NAME" in nself.toml'
        )
    if not isinstance(setting, str) or not setting.startswith("env:"):
        raise OptionError(
            f'{project.config_path}: [anonymize] key must be "env:NAME" (a key is never written in the file)'
        )
    variable = setting[4:]
    value = os.environ.get(variable)
    if not value:
        raise OptionError(
            f"no anonymisation key: variable {variable} is not set (nself.toml [anonymize] key)"
        )
    return value.encode()
