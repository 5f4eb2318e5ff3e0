"""Mock-data plans: which tables to fill, in which order, and how to fill each column.

`plan_mock(catalog, config)` decides everything that depends on the schema: parents before
children (cycles broken through nullable foreign keys, filled afterwards), which columns
the database fills itself (identity, serial, generated), a generator per column (guessed
from its name and type unless the config names one), and what constraints ask of values
(unique keys, CHECK ranges and IN lists, enum labels, varchar lengths, partition bounds,
exclusion constraints). The runtime (nself/runtime/mock) executes a plan.

`render(catalog, options)` writes the default mock.config.yaml for `nself mock init`."""

# pglast types node attributes as optional unions; the check reader below only follows
# shapes it has matched with isinstance, so those two error codes are noise here.
# mypy: disable-error-code="union-attr,index"

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pglast import ast, parse_sql
from pglast.enums.parsenodes import A_Expr_Kind
from pglast.enums.primnodes import BoolExprType, NullTestType

from nself.ir.model import (
    Catalog,
    Column,
    ExclusionConstraint,
    PrimaryKey,
    Table,
    UniqueConstraint,
)
from nself.ir.types import resolve_type, split_type_name

DEFAULT_COUNT = 50
PRESETS = {"minimal": 10, "medium": 1_000, "stress": 100_000}


class MockPlanError(ValueError):
    """A table the plan cannot fill; the message names the column and the constraint."""


@dataclass(frozen=True)
class ValueRules:
    """What the schema asks of one column's values."""

    choices: tuple[str, ...] | None = None  # enum labels or a CHECK's IN list
    minimum: float | None = None
    maximum: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    max_length: int | None = None
    non_empty: bool = False
    always_null: bool = False  # `a IS NULL OR b IS NULL`: b is left NULL so that a may have values


@dataclass
class ColumnPlan:
    name: str
    data_type: str
    base_type: str  # domains resolved, array brackets removed
    dims: int
    generator: str
    params: dict[str, Any]
    not_null: bool
    unique: bool = False
    rules: ValueRules = field(default_factory=ValueRules)
    # A composite type's attributes, each planned like a column.
    attributes: tuple[ColumnPlan, ...] = ()


@dataclass
class ForeignKeyPlan:
    name: str
    columns: tuple[str, ...]
    parent_schema: str
    parent_table: str
    parent_columns: tuple[str, ...]
    deferred: bool  # filled by UPDATE once every table has rows (cycles, self references)
    nullable: bool
    unique: bool = False  # each parent row is used at most once (one-to-one)


@dataclass
class TablePlan:
    schema: str
    name: str
    count: int
    columns: list[ColumnPlan]
    foreign_keys: list[ForeignKeyPlan]
    # Unique keys made only of foreign-key groups: rows take distinct combinations.
    combination_keys: list[tuple[str, ...]] = field(default_factory=list)
    key_columns: tuple[str, ...] = ()  # a key to address rows for deferred updates

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class MockPlan:
    seed: int
    anchor: str  # ISO date that "past" and "future" dates count from
    tables: list[TablePlan]


def table_key(schema: str, name: str) -> str:
    """How a table is named in mock.config.yaml: bare in public, qualified elsewhere."""
    return name if schema == "public" else f"{schema}.{name}"


# --------------------------------------------------------------------------- guesses

_NAME_GUESSES: list[tuple[re.Pattern[str], dict[str, Any]]] = [
    (re.compile(r"e_?mail"), {"type": "email"}),
    (re.compile(r"^(first_?name|given_?name|forename)$"), {"type": "firstName"}),
    (re.compile(r"^(last_?name|family_?name|surname)$"), {"type": "lastName"}),
    (re.compile(r"^(full_?name|display_?name|name|author|contact_?name)$"), {"type": "fullName"}),
    (re.compile(r"^(user_?name|login|handle|nick(name)?)$"), {"type": "username"}),
    (re.compile(r"avatar|picture|photo|image"), {"type": "avatar"}),
    (re.compile(r"url|website|homepage|link"), {"type": "url"}),
    (re.compile(r"phone|mobile|fax|tel$"), {"type": "phone"}),
    (re.compile(r"city|town"), {"type": "city"}),
    (re.compile(r"country"), {"type": "country"}),
    (re.compile(r"address|street"), {"type": "address"}),
    (re.compile(r"company|organi[sz]ation|employer"), {"type": "company"}),
    (re.compile(r"^(title|subject|headline|summary)$"), {"type": "sentence", "words": 5}),
    (re.compile(r"^(body|content|description|bio|about|text|message|comment|notes?)$"), {"type": "paragraph"}),
    (re.compile(r"slug"), {"type": "slug"}),
    (re.compile(r"colou?r"), {"type": "color"}),
    (re.compile(r"(^|_)(ip|ip_?address)$"), {"type": "ipAddress"}),
    (re.compile(r"birth|dob"), {"type": "pastDate", "years": 60}),
    (re.compile(r"(price|amount|cost|total|balance|salary|fee)"), {"type": "number", "min": 1, "max": 1000, "precision": 2}),
]

_INTEGER_BOUNDS = {
    "smallint": (-32768, 32767),
    "integer": (-2147483648, 2147483647),
    "bigint": (-9223372036854775808, 9223372036854775807),
}

_TYPE_GUESSES: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean", "probability": 0.5},
    "smallint": {"type": "integer", "min": 0, "max": 1000},
    "integer": {"type": "integer", "min": 0, "max": 1000},
    "bigint": {"type": "integer", "min": 0, "max": 1000},
    "numeric": {"type": "number", "min": 0, "max": 1000, "precision": 2},
    "real": {"type": "number", "min": 0, "max": 1000, "precision": 2},
    "double precision": {"type": "number", "min": 0, "max": 1000, "precision": 4},
    "money": {"type": "number", "min": 0, "max": 1000, "precision": 2},
    "text": {"type": "words", "count": 3},
    "character varying": {"type": "words", "count": 3},
    "character": {"type": "words", "count": 1},
    "name": {"type": "word"},
    "citext": {"type": "words", "count": 2},
    "uuid": {"type": "uuid"},
    "date": {"type": "pastDate", "years": 2},
    "timestamp with time zone": {"type": "pastDate", "years": 2},
    "timestamp without time zone": {"type": "pastDate", "years": 2},
    "time without time zone": {"type": "time"},
    "time with time zone": {"type": "time"},
    "interval": {"type": "interval"},
    "json": {"type": "json"},
    "jsonb": {"type": "json"},
    "bytea": {"type": "bytes", "length": 8},
    "inet": {"type": "ipAddress"},
    "cidr": {"type": "ipAddress"},
    "macaddr": {"type": "macAddress"},
    "macaddr8": {"type": "macAddress"},
    "tsvector": {"type": "words", "count": 4},
    "tsquery": {"type": "word"},
    "xml": {"type": "constant", "value": "<doc/>"},
    "bit": {"type": "bits"},
    "bit varying": {"type": "bits"},
    "point": {"type": "point"},
    "int4range": {"type": "range"},
    "int8range": {"type": "range"},
    "numrange": {"type": "range"},
    "daterange": {"type": "range"},
    "tsrange": {"type": "range"},
    "tstzrange": {"type": "range"},
    "oid": {"type": "integer", "min": 1, "max": 100000},
    "year": {"type": "integer", "min": 1990, "max": 2030},
}

TEXT_TYPES = {"text", "character varying", "character", "citext", "name"}

_EXTENSION_TYPES: dict[str, dict[str, Any]] = {
    "citext": {"type": "words", "count": 2},
    "ltree": {"type": "ltree"},
    "hstore": {"type": "constant", "value": '"key"=>"value"'},
}


def _guess(column: Column, base_type: str, catalog: Catalog) -> dict[str, Any]:
    schema, type_name, _ = split_type_name(base_type)
    if schema is not None:
        if any(e.schema == schema and e.name == type_name for e in catalog.enums):
            return {"type": "enum"}
        if any(c.schema == schema and c.name == type_name for c in catalog.composite_types):
            return {"type": "composite"}
        if any(r.schema == schema and r.name == type_name for r in catalog.range_types):
            return {"type": "range"}
        # Types of extensions, which live in a user schema.
        return dict(_EXTENSION_TYPES.get(type_name, {"type": "null"}))
    name = column.name.lower()
    if type_name in TEXT_TYPES:
        for pattern, guess in _NAME_GUESSES:
            if pattern.search(name):
                return dict(guess)
    if type_name in ("numeric", "real", "double precision", "money", "integer", "bigint", "smallint"):
        for pattern, guess in _NAME_GUESSES:
            if guess["type"] == "number" and pattern.search(name):
                if type_name in _INTEGER_BOUNDS:  # an amount in whole units (cents, ms): no decimals
                    return {"type": "integer", "min": guess["min"], "max": guess["max"]}
                return dict(guess)
    if type_name in ("inet", "cidr"):
        return {"type": "ipAddress"}
    if type_name.startswith("timestamp") or type_name == "date":
        if re.search(r"birth|dob", name):
            return {"type": "pastDate", "years": 60}
        if re.search(r"expire|due|until|deadline|end", name):
            return {"type": "futureDate", "years": 1}
    return dict(_TYPE_GUESSES.get(type_name, {"type": "words", "count": 2}))


# --------------------------------------------------------------------------- checks


def _unwrap(node: Any) -> Any:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return node


def _column_of(node: Any) -> str | None:
    node = _unwrap(node)
    if isinstance(node, ast.ColumnRef) and node.fields and isinstance(node.fields[-1], ast.String):
        return str(node.fields[-1].sval)
    return None


def _constant(node: Any) -> str | float | None:
    node = _unwrap(node)
    if isinstance(node, ast.A_Const) and not node.isnull:
        value = node.val
        if isinstance(value, ast.Integer):
            return float(value.ival or 0)
        if isinstance(value, ast.Float):
            return float(value.fval or 0)
        if isinstance(value, ast.String):
            return str(value.sval)
    if isinstance(node, ast.A_Expr) and node.name and node.name[0].sval == "-" and node.lexpr is None:
        inner = _constant(node.rexpr)
        return -inner if isinstance(inner, float) else None
    return None


def _array_constants(node: Any) -> list[str] | None:
    node = _unwrap(node)
    if isinstance(node, ast.A_ArrayExpr):
        values = [_constant(e) for e in node.elements or ()]
        if all(v is not None for v in values):
            return [_text(v) for v in values if v is not None]
    if isinstance(node, (list, tuple)):
        values = [_constant(e) for e in node]
        if all(v is not None for v in values):
            return [_text(v) for v in values if v is not None]
    return None


def _text(value: str | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<>": "<>"}


def check_rules(expression: str) -> dict[str, ValueRules]:
    """What a CHECK expression (canonical text) asks of single columns. Conjunctions of
    comparisons with constants, IN / = ANY lists, BETWEEN and length limits are read;
    anything else is left to PostgreSQL to enforce."""
    try:
        target = parse_sql(f"SELECT {expression}")[0].stmt.targetList[0].val
    except Exception:
        return {}
    found: dict[str, dict[str, Any]] = {}

    def note(column: str, **values: Any) -> None:
        found.setdefault(column, {}).update(values)

    def visit(node: Any) -> None:  # pglast nodes: attributes typed loosely
        if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
            for arg in node.args:
                visit(arg)
            return
        if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.OR_EXPR:
            # a IS NULL OR b IS NULL ...: at most one of them has a value (the first, here)
            args = node.args or ()
            nulls = [
                _column_of(arg.arg)
                for arg in args
                if isinstance(arg, ast.NullTest) and arg.nulltesttype == NullTestType.IS_NULL
            ]
            if len(nulls) == len(args) and all(nulls):
                for name in nulls[1:]:
                    note(str(name), always_null=True)
                return
            # col = 'a' OR col = 'b' ... : a choice list
            choices: list[str] = []
            column: str | None = None
            for arg in node.args:
                if not (isinstance(arg, ast.A_Expr) and arg.kind == A_Expr_Kind.AEXPR_OP and arg.name[0].sval == "="):
                    return
                col, value = _column_of(arg.lexpr), _constant(arg.rexpr)
                if col is None or value is None or (column is not None and col != column):
                    return
                column = col
                choices.append(_text(value))
            if column is not None:
                note(column, choices=tuple(choices))
            return
        if not isinstance(node, ast.A_Expr):
            return
        if node.kind == A_Expr_Kind.AEXPR_OP_ANY and node.name[0].sval == "=":
            column, values = _column_of(node.lexpr), _array_constants(node.rexpr)
            if column and values is not None:
                note(column, choices=tuple(values))
            return
        if node.kind == A_Expr_Kind.AEXPR_IN and node.name[0].sval == "=":
            column, values = _column_of(node.lexpr), _array_constants(node.rexpr)
            if column and values is not None:
                note(column, choices=tuple(values))
            return
        if node.kind in (A_Expr_Kind.AEXPR_BETWEEN, A_Expr_Kind.AEXPR_BETWEEN_SYM):
            column = _column_of(node.lexpr)
            bounds = [_constant(b) for b in node.rexpr]
            if column and all(isinstance(b, float) for b in bounds):
                low, high = sorted(b for b in bounds if isinstance(b, float))
                note(column, minimum=low, maximum=high)
            return
        if node.kind != A_Expr_Kind.AEXPR_OP or node.lexpr is None:
            return
        op = node.name[0].sval
        left, right = node.lexpr, node.rexpr
        column, value = _column_of(left), _constant(right)
        if column is None and _column_of(right) is not None:
            column, value = _column_of(right), _constant(left)
            op = _FLIP.get(op, op)
        if column is None:
            # length(col) <= n, char_length(col) < n
            func = _unwrap(left)
            if isinstance(func, ast.FuncCall) and func.funcname[-1].sval in ("length", "char_length", "character_length"):
                inner = _column_of(func.args[0]) if func.args else None
                limit = _constant(right)
                if inner and isinstance(limit, float):
                    if op in ("<=", "<"):
                        note(inner, max_length=int(limit) - (op == "<"))
                    elif op in (">", ">=") and limit >= 0:
                        note(inner, non_empty=True)
            return
        if value is None:
            return
        if op in (">", ">=") and isinstance(value, float):
            note(column, minimum=value, min_exclusive=op == ">")
        elif op in ("<", "<=") and isinstance(value, float):
            note(column, maximum=value, max_exclusive=op == "<")
        elif op == "<>" and value == "":
            note(column, non_empty=True)
        elif op == "=":
            note(column, choices=(_text(value),))

    visit(target)
    return {column: ValueRules(**values) for column, values in found.items()}


def _merge(first: ValueRules, second: ValueRules) -> ValueRules:
    def tighter(a: float | None, b: float | None, pick: Any) -> float | None:
        if a is None:
            return b
        if b is None:
            return a
        return float(pick(a, b))

    return ValueRules(
        choices=second.choices if second.choices is not None else first.choices,
        minimum=tighter(first.minimum, second.minimum, max),
        maximum=tighter(first.maximum, second.maximum, min),
        min_exclusive=first.min_exclusive or second.min_exclusive,
        max_exclusive=first.max_exclusive or second.max_exclusive,
        max_length=min(x for x in (first.max_length, second.max_length, 10**9) if x is not None)
        if (first.max_length or second.max_length)
        else None,
        non_empty=first.non_empty or second.non_empty,
        always_null=first.always_null or second.always_null,
    )


# --------------------------------------------------------------------------- plan


def _filled_by_database(column: Column) -> bool:
    if column.generated is not None or column.identity is not None:
        return True
    return column.default is not None and column.default.startswith("nextval(")


def _length_of(data_type: str) -> int | None:
    match = re.match(r"^(character varying|character|bit varying|bit)\((\d+)\)$", data_type)
    return int(match.group(2)) if match else None


def _parse_config_tables(config: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    tables = config.get("tables") or {}
    return {str(k): (v or {}) for k, v in tables.items() if k != "skip"}


def plan_mock(
    catalog: Catalog,
    config: Mapping[str, Any],
    *,
    only: list[str] | None = None,
    count: int | None = None,
) -> MockPlan:
    """The plan for `catalog` under `config` (the parsed mock.config.yaml). `only` limits
    generation to some tables (named as in the config); `count` overrides every count."""
    configured = _parse_config_tables(config)
    skip = set((config.get("tables") or {}).get("skip") or [])
    partitions = {(t.schema, t.name) for t in catalog.tables if t.partition_of is not None}
    candidates = [
        t for t in catalog.tables if (t.schema, t.name) not in partitions and table_key(t.schema, t.name) not in skip
    ]
    by_key = {table_key(t.schema, t.name): t for t in candidates}
    if only:
        unknown = [name for name in only if name not in by_key]
        if unknown:
            raise MockPlanError(f"no table {unknown[0]!r} in the schema (tables: {', '.join(sorted(by_key)) or 'none'})")
        chosen = [by_key[name] for name in only]
    else:
        chosen = candidates
    chosen_ids = {(t.schema, t.name) for t in chosen}
    plans = {(t.schema, t.name): _plan_table(catalog, t, configured.get(table_key(t.schema, t.name), {}), count) for t in chosen}
    order = _order(plans, chosen_ids)
    seed = int(config.get("seed", 0) or 0)
    anchor = str(config.get("anchor", "2026-01-01"))
    return MockPlan(seed=seed, anchor=anchor, tables=[plans[key] for key in order])


def _plan_table(catalog: Catalog, table: Table, settings: Mapping[str, Any], count: int | None) -> TablePlan:
    configured_columns: Mapping[str, Any] = settings.get("columns") or {}
    rows = count if count is not None else int(settings.get("count", DEFAULT_COUNT))
    if table.partition_by is not None and not _partition_bounds(catalog, table):
        # PostgreSQL refuses every row of a partitioned table without partitions (an
        # application that makes them as time goes on has made none yet)
        if count is None and int(settings.get("count", 0)) > 0:
            raise MockPlanError(
                f"{table_key(table.schema, table.name)}: partitioned by {table.partition_by.strategy} "
                f"({table.partition_by.key}) with no partition, so no row can be stored; create a partition "
                "or set its count to 0 in mock.config.yaml"
            )
        rows = 0
    fk_columns: set[str] = set()
    foreign_keys: list[ForeignKeyPlan] = []
    # Rows go in through a partitioned table, but partitions may carry their own foreign
    # keys (pagila's payment_p2022_*): the parent's rows must satisfy those too.
    inherited = [
        fk
        for t in catalog.tables
        if t.partition_of is not None and (t.partition_of.parent_schema, t.partition_of.parent) == (table.schema, table.name)
        for fk in t.foreign_keys
    ]
    seen: set[tuple[tuple[str, ...], str, str]] = set()
    for fk in (*table.foreign_keys, *inherited):
        if (fk.columns, fk.ref_schema, fk.ref_table) in seen:
            continue
        seen.add((fk.columns, fk.ref_schema, fk.ref_table))
        nullable = any(not (c := table.column(name)) or not c.not_null for name in fk.columns)
        foreign_keys.append(
            ForeignKeyPlan(fk.name, fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns, False, nullable)
        )
        fk_columns.update(fk.columns)
    # Configured foreignKey columns without a declared constraint still pick parents.
    for name, spec in configured_columns.items():
        if isinstance(spec, Mapping) and spec.get("type") == "foreignKey" and name not in fk_columns:
            parent = str(spec.get("table", ""))
            schema, _, parent_name = parent.rpartition(".")
            foreign_keys.append(
                ForeignKeyPlan(f"config:{name}", (name,), schema or "public", parent_name, (str(spec.get("column", "id")),), False, True)
            )
            fk_columns.add(name)

    rules: dict[str, ValueRules] = {}
    for constraint in table.constraints:
        if hasattr(constraint, "expression"):
            for checked, found in check_rules(constraint.expression).items():  # type: ignore[union-attr]
                rules[checked] = _merge(rules.get(checked, ValueRules()), found)

    # (columns, partial): a partial unique index is held as if it covered every row, which
    # its rows then satisfy whatever its WHERE says (trigger.dev's RuntimeEnvironment:
    # UNIQUE ("projectId", type) WHERE ... type IN (...)), where that can be done
    unique_sets = [
        (c.columns, False) for c in table.constraints if isinstance(c, (PrimaryKey, UniqueConstraint))
    ] + [
        (tuple(k.column for k in i.keys if k.column), i.predicate is not None)
        for i in catalog.indexes_of(table.schema, table.name)
        if i.unique
    ]
    unique_expression_indexes = [
        i for i in catalog.indexes_of(table.schema, table.name) if i.unique and any(k.expression for k in i.keys)
    ]
    unique_columns: set[str] = set()
    combination_keys: list[tuple[str, ...]] = []
    for key_columns, partial in unique_sets:
        if not key_columns:
            continue
        free = [c for c in key_columns if c not in fk_columns and (col := table.column(c)) and not _filled_by_database(col)]
        if any((col := table.column(c)) is not None and _filled_by_database(col) for c in key_columns):
            continue  # a serial or identity column already makes the key unique
        # A column with few possible values (enum, boolean, IN list) cannot carry a key.
        open_ended = [c for c in free if not _few_values(catalog, table, c, rules)]
        if open_ended:
            unique_columns.add(open_ended[0])
            continue
        groups = [fk for fk in foreign_keys if set(fk.columns) <= set(key_columns)]
        if free and not groups:
            if not partial:  # a partial one on few values (`UNIQUE (is_default) WHERE is_default`) cannot be held for every row
                unique_columns.add(free[0])
            continue
        if len(groups) == 1 and set(groups[0].columns) == set(key_columns):
            groups[0].unique = True
        elif groups:
            combination_keys.append(tuple(key_columns))
    for index in unique_expression_indexes:
        mentioned = [
            c.name for c in table.columns for k in index.keys if k.expression and re.search(rf"\b{re.escape(c.name)}\b", k.expression)
        ]
        if not mentioned and not any(k.column for k in index.keys) and index.predicate is None:
            rows = min(rows, 1)  # a unique index on a constant: a one-row table (lemmy's site_aggregates)
        for index_key in index.keys:
            for candidate in table.columns:
                if (
                    index_key.expression
                    and re.search(rf"\b{re.escape(candidate.name)}\b", index_key.expression)
                    and candidate.name not in fk_columns
                ):
                    unique_columns.add(candidate.name)
                    break

    exclusion_columns: set[str] = set()
    for constraint in table.constraints:
        if isinstance(constraint, ExclusionConstraint):
            for element in constraint.elements:
                if element.operator == "&&" and table.column(element.expression):
                    exclusion_columns.add(element.expression)

    columns: list[ColumnPlan] = []
    for column in table.columns:
        if column.name in fk_columns or _filled_by_database(column):
            continue
        resolved = resolve_type(catalog, column.data_type)
        spec = configured_columns.get(column.name)
        if spec is None:
            spec = _guess(column, resolved.base, catalog)
            if spec["type"] == "null" and (column.default is not None or not column.not_null):
                continue  # a type nself cannot make up: its default (or NULL) stands
        elif isinstance(spec, str):
            spec = {"type": spec}
        spec = dict(spec)
        generator = str(spec.pop("type", "words"))
        column_rules = rules.get(column.name, ValueRules())
        if column_rules.always_null and not column.not_null and column.name not in configured_columns:
            generator, spec = "null", {}
        for check in resolved.checks:
            domain_rules = check_rules(check.expression).get("value")
            if domain_rules:
                column_rules = _merge(column_rules, domain_rules)
        length = _length_of(resolved.base)
        if length is not None:
            column_rules = _merge(column_rules, ValueRules(max_length=length))
        numeric = re.match(r"^numeric\((\d+),(\d+)\)$", resolved.base)
        if numeric:
            digits, scale = int(numeric.group(1)), int(numeric.group(2))
            limit = 10.0 ** (digits - scale) - 10.0**-scale
            column_rules = _merge(column_rules, ValueRules(minimum=-limit, maximum=limit))
            spec.setdefault("precision", scale)
        type_schema, type_name, _ = split_type_name(resolved.base)
        if type_schema is not None:
            enum = catalog.enum(type_schema, type_name)
            if enum is not None and column_rules.choices is None:
                column_rules = _merge(column_rules, ValueRules(choices=enum.labels))
        attributes = _attribute_plans(catalog, resolved.base)
        if column.name in exclusion_columns:
            generator = "disjointRange"
        if column.name in _partition_columns(table):
            spec.setdefault("partitions", _partition_bounds(catalog, table))
        columns.append(
            ColumnPlan(
                name=column.name,
                data_type=column.data_type,
                base_type=resolved.base,
                dims=resolved.dims,
                generator=generator,
                params=spec,
                not_null=column.not_null or resolved.not_null,
                unique=column.name in unique_columns,
                rules=column_rules,
                attributes=attributes,
            )
        )
    pk = table.primary_key
    address = pk.columns if pk else next((c.columns for c in table.constraints if isinstance(c, UniqueConstraint)), ())
    return TablePlan(table.schema, table.name, rows, columns, foreign_keys, combination_keys, tuple(address))


def _few_values(catalog: Catalog, table: Table, name: str, rules: Mapping[str, ValueRules]) -> bool:
    column = table.column(name)
    if column is None:
        return False
    if name in rules and rules[name].choices is not None:
        return True
    base = resolve_type(catalog, column.data_type).base
    schema, type_name, _ = split_type_name(base)
    return base == "boolean" or (schema is not None and catalog.enum(schema, type_name) is not None)


def _attribute_plans(catalog: Catalog, data_type: str, depth: int = 0) -> tuple[ColumnPlan, ...]:
    schema, type_name, _ = split_type_name(data_type)
    composite = next((c for c in catalog.composite_types if c.schema == schema and c.name == type_name), None)
    if composite is None or depth > 4:
        return ()
    plans = []
    for attribute in composite.attributes:
        resolved = resolve_type(catalog, attribute.data_type)
        spec = _guess(Column(attribute.name, attribute.data_type), resolved.base, catalog)
        generator = str(spec.pop("type"))
        rules = ValueRules(max_length=_length_of(resolved.base))
        a_schema, a_name, _ = split_type_name(resolved.base)
        enum = catalog.enum(a_schema, a_name) if a_schema else None
        if enum is not None:
            rules = ValueRules(choices=enum.labels)
        plans.append(
            ColumnPlan(
                attribute.name, attribute.data_type, resolved.base, resolved.dims, generator, spec,
                False, rules=rules, attributes=_attribute_plans(catalog, resolved.base, depth + 1),
            )
        )
    return tuple(plans)


def _partition_columns(table: Table) -> set[str]:
    if table.partition_by is None:
        return set()
    return {part.strip().strip('"') for part in table.partition_by.key.split(",")}


def _partition_bounds(catalog: Catalog, table: Table) -> list[str]:
    return [
        t.partition_of.bound
        for t in catalog.tables
        if t.partition_of is not None and (t.partition_of.parent_schema, t.partition_of.parent) == (table.schema, table.name)
    ]


def _order(plans: dict[tuple[str, str], TablePlan], chosen: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """Parents before children. A foreign key back to the table itself or through a cycle
    is deferred (rows get NULL, then an UPDATE) when it is nullable; a NOT NULL cycle
    cannot be filled and is reported."""
    for plan in plans.values():
        for fk in plan.foreign_keys:
            if (fk.parent_schema, fk.parent_table) == (plan.schema, plan.name):
                if not fk.nullable:
                    raise MockPlanError(
                        f"{plan.qualified}: cannot fill NOT NULL self reference {', '.join(fk.columns)} "
                        f"(foreign key {fk.name}); make it nullable or configure the column"
                    )
                fk.deferred = True
    ordered: list[tuple[str, str]] = []
    remaining = set(plans)
    while remaining:
        ready = sorted(
            key
            for key in remaining
            if all(
                fk.deferred
                or (fk.parent_schema, fk.parent_table) not in remaining
                or (fk.parent_schema, fk.parent_table) == key
                for fk in plans[key].foreign_keys
            )
        )
        if not ready:
            # A cycle: defer one nullable foreign key inside it and try again.
            for key in sorted(remaining):
                candidate = next(
                    (
                        fk
                        for fk in plans[key].foreign_keys
                        if not fk.deferred and fk.nullable and (fk.parent_schema, fk.parent_table) in remaining
                    ),
                    None,
                )
                if candidate is not None:
                    candidate.deferred = True
                    break
            else:
                stuck = sorted(f"{s}.{n}" for s, n in remaining)
                raise MockPlanError(
                    "cannot order tables " + ", ".join(stuck) + ": their foreign keys form a cycle of NOT NULL columns"
                )
            continue
        ordered.extend(ready)
        remaining.difference_update(ready)
    return ordered


# --------------------------------------------------------------------------- config


def default_config(catalog: Catalog, seed: int = 42) -> dict[str, Any]:
    """The mock.config.yaml that `nself mock init` writes: every table with a count and a
    generator per column, so a team edits guesses instead of writing them."""
    tables: dict[str, Any] = {}
    plan = plan_mock(catalog, {"seed": seed})
    for table in plan.tables:
        columns: dict[str, Any] = {}
        for column in table.columns:
            spec: dict[str, Any] = {"type": column.generator, **column.params}
            spec.pop("partitions", None)
            _show_rules(spec, column)
            columns[column.name] = spec
        for fk in table.foreign_keys:
            if len(fk.columns) == 1:
                parent = table_key(fk.parent_schema, fk.parent_table)
                columns[fk.columns[0]] = {"type": "foreignKey", "table": parent}
        tables[table_key(table.schema, table.name)] = {"count": table.count, "columns": columns}
    return {"seed": seed, "anchor": "2026-01-01", "tables": tables}


def _show_rules(spec: dict[str, Any], column: ColumnPlan) -> None:
    """Write what the schema's CHECKs and types allow into the guessed spec, so the config
    a team edits shows the real ranges and value lists (the plan applies them anyway)."""
    rules = column.rules
    if rules.choices is not None:
        kind = spec["type"] if spec["type"] in ("enum", "oneOf") else "oneOf"
        spec.clear()
        spec.update({"type": kind, "values": list(rules.choices)})
        return
    if spec["type"] == "integer":
        if rules.minimum is not None:
            spec["min"] = int(rules.minimum) + (1 if rules.min_exclusive and float(rules.minimum).is_integer() else 0)
        if rules.maximum is not None:
            spec["max"] = int(rules.maximum) - (1 if rules.max_exclusive and float(rules.maximum).is_integer() else 0)
    elif spec["type"] == "number":
        if rules.minimum is not None and rules.minimum > float(spec.get("min", rules.minimum)):
            spec["min"] = rules.minimum
        if rules.maximum is not None and rules.maximum < float(spec.get("max", rules.maximum)):
            spec["max"] = rules.maximum


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    config = default_config(catalog, int(options.get("seed", 42)))
    header = (
        "# nself mock data configuration (git-tracked): the same config and seed give the\n"
        "# same rows on every machine. Generators: see docs/mock.md.\n"
    )
    return {"mock.config.yaml": header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)}
