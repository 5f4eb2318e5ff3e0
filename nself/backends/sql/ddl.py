"""PostgreSQL DDL for single IR objects: the statements that create, drop and comment on
each kind, as plain functions over IR nodes.

This is the vocabulary both the schema dump (`nself.backends.sql.render`) and the
schema-diff (`nself.backends.sql.migration`) speak, so every statement PostgreSQL needs
for one object is written in exactly one place. Functions return statement text without
the trailing semicolon's newline conventions of a script: each string is one complete
statement ending in `;`. Functions named `create_*` may return several statements (a
list) when one object needs more than one (a domain's NOT VALID check, a trigger's
enabled state).

Expressions in the IR are already PostgreSQL's canonical text, fully qualified for
everything outside pg_catalog, so they are emitted as they are; names are quoted with
PostgreSQL's own rule (`quote_ident`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Sequence as Seq

from nself.ir.model import (
    CheckConstraint,
    Collation,
    Column,
    CompositeType,
    Constraint,
    Domain,
    Enum,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    FunctionArgument,
    Identity,
    Index,
    IndexKey,
    Operator,
    Policy,
    PrimaryKey,
    Privilege,
    Publication,
    PublicationTable,
    RangeType,
    Schema,
    Sequence,
    Table,
    Trigger,
    UniqueConstraint,
    View,
)
from nself.ir.names import qualified_name, quote_ident, quote_literal

__all__ = [
    "add_constraint",
    "alter_sequence_owned_by",
    "attach_partition",
    "column_definition",
    "comment_on",
    "comments_of",
    "constraint_definition",
    "create_composite_type",
    "create_domain",
    "create_enum",
    "create_extension",
    "create_function",
    "create_index",
    "create_policy",
    "create_range_type",
    "create_schema",
    "create_sequence",
    "create_table",
    "create_trigger",
    "create_view",
    "drop_constraint",
    "drop_domain",
    "drop_extension",
    "drop_function",
    "drop_index",
    "drop_policy",
    "drop_schema",
    "drop_sequence",
    "drop_table",
    "drop_trigger",
    "drop_type",
    "drop_view",
    "function_signature",
    "grant",
    "is_sql_standard_body",
    "parenthesised",
    "qualified_name",
    "quote_ident",
    "quote_literal",
    "revoke",
    "row_level_security",
    "type_name",
]

# --------------------------------------------------------------------------- quoting

# quote_ident, qualified_name and quote_literal: nself.ir.names (one rule for every layer)


def type_name(schema: str, name: str) -> str:
    """How format_type() (with search_path = pg_catalog) names a user type: qualified."""
    return qualified_name(schema, name)


def parenthesised(expression: str) -> str:
    """`expression` wrapped in parentheses unless one pair already encloses all of it
    (`(a > 0)` stays, `(a > 0) AND (b > 0)` and `lower(x)` get wrapped)."""
    text = expression.strip()
    if text.startswith("(") and _closing_paren(text, 0) == len(text) - 1:
        return text
    return f"({text})"


def _closing_paren(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at `start`, skipping quoted text."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch in ("'", '"'):
            end = text.find(ch, i + 1)
            while end != -1 and end + 1 < len(text) and text[end + 1] == ch:
                end = text.find(ch, end + 2)
            if end == -1:
                return -1
            i = end
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _column_list(names: Iterable[str]) -> str:
    return ", ".join(quote_ident(n) for n in names)


def _ident_or_expression(text: str, columns: Iterable[str] | None = None) -> str:
    """An exclusion element: a bare column name, or an expression (pg_get_indexdef prints
    a function call without the parentheses CREATE needs around it). With the table's
    column names known, membership decides; without, text with no parenthesis is a name."""
    is_column = text in set(columns) if columns is not None else "(" not in text and ")" not in text
    return quote_ident(text) if is_column else parenthesised(text)


def _collation(name: str) -> str:
    """A collation as the IR stores it: a bare name (`C`, `en_US.utf8`), or already
    qualified and quoted (`pg_catalog."C"`, `public.mycoll`) when a frontend kept the
    catalog's spelling."""
    if '"' in name or re.fullmatch(r"[a-z_][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*", name):
        return name
    return quote_ident(name)


# --------------------------------------------------------------------------- comments


def comment_on(kind: str, target: str, comment: str | None) -> str:
    """`COMMENT ON <kind> <target> IS '...'` (IS NULL removes a comment). `target` is
    already quoted: use qualified_name() or the helpers below to build it."""
    text = "NULL" if comment is None else quote_literal(comment)
    return f"COMMENT ON {kind} {target} IS {text};"


def comments_of(node: object) -> list[str]:
    """Every COMMENT statement that a node and its parts (columns, constraints, view
    columns) carry; empty when nothing has a comment."""
    out: list[str] = []
    if isinstance(node, Schema):
        if node.comment is not None:
            out.append(comment_on("SCHEMA", quote_ident(node.name), node.comment))
    elif isinstance(node, Extension):
        if node.comment is not None:
            out.append(comment_on("EXTENSION", quote_ident(node.name), node.comment))
    elif isinstance(node, Collation):
        if node.comment is not None:
            out.append(comment_on("COLLATION", qualified_name(node.schema, node.name), node.comment))
    elif isinstance(node, (Enum, CompositeType, RangeType)):
        if node.comment is not None:
            out.append(comment_on("TYPE", qualified_name(node.schema, node.name), node.comment))
    elif isinstance(node, Domain):
        name = qualified_name(node.schema, node.name)
        if node.comment is not None:
            out.append(comment_on("DOMAIN", name, node.comment))
        out.extend(
            comment_on("CONSTRAINT", f"{quote_ident(c.name)} ON DOMAIN {name}", c.comment)
            for c in node.checks
            if c.comment is not None
        )
    elif isinstance(node, Sequence):
        if node.comment is not None:
            out.append(comment_on("SEQUENCE", qualified_name(node.schema, node.name), node.comment))
    elif isinstance(node, Operator):
        if node.comment is not None:
            out.append(
                comment_on("OPERATOR", f"{operator_name(node)} ({operator_arguments(node)})", node.comment)
            )
    elif isinstance(node, Table):
        name = qualified_name(node.schema, node.name)
        if node.comment is not None:
            out.append(comment_on("TABLE", name, node.comment))
        out.extend(
            comment_on("COLUMN", f"{name}.{quote_ident(c.name)}", c.comment)
            for c in node.columns
            if c.comment is not None
        )
        out.extend(
            comment_on("CONSTRAINT", f"{quote_ident(c.name)} ON {name}", c.comment)
            for c in node.constraints
            if c.comment is not None
        )
    elif isinstance(node, View):
        name = qualified_name(node.schema, node.name)
        if node.comment is not None:
            out.append(comment_on("MATERIALIZED VIEW" if node.materialized else "VIEW", name, node.comment))
        out.extend(
            comment_on("COLUMN", f"{name}.{quote_ident(c.name)}", c.comment)
            for c in node.columns
            if c.comment is not None
        )
    elif isinstance(node, Index):
        if node.comment is not None:
            out.append(comment_on("INDEX", qualified_name(node.schema, node.name), node.comment))
    elif isinstance(node, Function):
        if node.comment is not None:
            out.append(comment_on(_routine_keyword(node), function_signature(node), node.comment))
    elif isinstance(node, Trigger):
        if node.comment is not None:
            target = f"{quote_ident(node.name)} ON {qualified_name(node.schema, node.table)}"
            out.append(comment_on("TRIGGER", target, node.comment))
    elif isinstance(node, Policy) and node.comment is not None:
        target = f"{quote_ident(node.name)} ON {qualified_name(node.schema, node.table)}"
        out.append(comment_on("POLICY", target, node.comment))
    elif isinstance(node, Publication) and node.comment is not None:
        out.append(comment_on("PUBLICATION", quote_ident(node.name), node.comment))
    return out


# --------------------------------------------------------------------------- schemas, extensions


def create_schema(schema: Schema) -> str:
    return f"CREATE SCHEMA {quote_ident(schema.name)};"


def drop_schema(schema: Schema, *, cascade: bool = False) -> str:
    return f"DROP SCHEMA {quote_ident(schema.name)}{' CASCADE' if cascade else ''};"


def create_extension(extension: Extension, *, with_version: bool = True) -> str:
    sql = f"CREATE EXTENSION IF NOT EXISTS {quote_ident(extension.name)} WITH SCHEMA {quote_ident(extension.schema)}"
    if with_version and extension.version is not None:
        sql += f" VERSION {quote_literal(extension.version)}"
    return sql + ";"


def drop_extension(extension: Extension) -> str:
    return f"DROP EXTENSION {quote_ident(extension.name)};"


# --------------------------------------------------------------------------- collations


def create_collation(collation: Collation) -> str:
    """CREATE COLLATION with every option spelt out (the version is left to the server)."""
    options = [f"provider = {collation.provider}"]
    if collation.provider == "libc":
        options.append(f"lc_collate = {quote_literal(collation.lc_collate or '')}")
        options.append(f"lc_ctype = {quote_literal(collation.lc_ctype or '')}")
    else:
        options.append(f"locale = {quote_literal(collation.locale or '')}")
    if not collation.deterministic:
        options.append("deterministic = false")
    return f"CREATE COLLATION {qualified_name(collation.schema, collation.name)} ({', '.join(options)});"


def drop_collation(collation: Collation, *, cascade: bool = False) -> str:
    return (
        f"DROP COLLATION {qualified_name(collation.schema, collation.name)}{' CASCADE' if cascade else ''};"
    )


# --------------------------------------------------------------------------- operators


def operator_name(operator: Operator) -> str:
    """`app.===`: the schema quoted as an identifier, the symbol as it is."""
    return f"{quote_ident(operator.schema)}.{operator.name}"


def operator_arguments(operator: Operator) -> str:
    """`integer, integer` (`NONE, integer` for a prefix operator), as DROP OPERATOR and
    COMMENT ON OPERATOR list them."""
    return f"{operator.left_type or 'NONE'}, {operator.right_type}"


def create_operator(operator: Operator) -> str:
    """CREATE OPERATOR with every option PostgreSQL records (pg_dump's order)."""
    options = [f"FUNCTION = {operator.function}"]
    if operator.left_type is not None:
        options.append(f"LEFTARG = {operator.left_type}")
    options.append(f"RIGHTARG = {operator.right_type}")
    for word, value in (
        ("COMMUTATOR", operator.commutator),
        ("NEGATOR", operator.negator),
        ("RESTRICT", operator.restrict),
        ("JOIN", operator.join),
    ):
        if value is not None:
            options.append(f"{word} = {value}")
    if operator.hashes:
        options.append("HASHES")
    if operator.merges:
        options.append("MERGES")
    body = ",\n    ".join(options)
    return f"CREATE OPERATOR {operator_name(operator)} (\n    {body}\n);"


def drop_operator(operator: Operator) -> str:
    return f"DROP OPERATOR {operator_name(operator)} ({operator_arguments(operator)});"


# --------------------------------------------------------------------------- types


def create_enum(enum: Enum) -> str:
    labels = ", ".join(quote_literal(label) for label in enum.labels)
    return f"CREATE TYPE {qualified_name(enum.schema, enum.name)} AS ENUM ({labels});"


def create_composite_type(composite: CompositeType) -> str:
    attributes = []
    for a in composite.attributes:
        text = f"{quote_ident(a.name)} {a.data_type}"
        if a.collation is not None:
            text += f" COLLATE {_collation(a.collation)}"
        attributes.append(text)
    body = ",\n    ".join(attributes)
    return f"CREATE TYPE {qualified_name(composite.schema, composite.name)} AS (\n    {body}\n);"


def create_range_type(range_type: RangeType) -> str:
    return f"CREATE TYPE {qualified_name(range_type.schema, range_type.name)} AS RANGE (subtype = {range_type.subtype});"


def drop_type(schema: str, name: str, *, cascade: bool = False) -> str:
    """DROP TYPE for an enum, composite or range type."""
    return f"DROP TYPE {qualified_name(schema, name)}{' CASCADE' if cascade else ''};"


def create_domain(domain: Domain) -> list[str]:
    """CREATE DOMAIN with its validated checks inline; a NOT VALID check can only be
    added afterwards, so it becomes an ALTER DOMAIN."""
    name = qualified_name(domain.schema, domain.name)
    sql = f"CREATE DOMAIN {name} AS {domain.data_type}"
    if domain.collation is not None:
        sql += f" COLLATE {_collation(domain.collation)}"
    if domain.default is not None:
        sql += f" DEFAULT {domain.default}"
    if domain.not_null:
        sql += " NOT NULL"
    later: list[str] = []
    for check in domain.checks:
        definition = f"CONSTRAINT {quote_ident(check.name)} CHECK {parenthesised(check.expression)}"
        if check.validated:
            sql += f"\n    {definition}"
        else:
            later.append(f"ALTER DOMAIN {name} ADD {definition} NOT VALID;")
    return [sql + ";", *later]


def drop_domain(domain: Domain, *, cascade: bool = False) -> str:
    return f"DROP DOMAIN {qualified_name(domain.schema, domain.name)}{' CASCADE' if cascade else ''};"


# --------------------------------------------------------------------------- sequences


def _sequence_options(
    data_type: str | None, start: int, increment: int, min_value: int, max_value: int, cache: int, cycle: bool
) -> list[str]:
    options = [f"AS {data_type}"] if data_type is not None else []
    options += [
        f"START WITH {start}",
        f"INCREMENT BY {increment}",
        f"MINVALUE {min_value}",
        f"MAXVALUE {max_value}",
        f"CACHE {cache}",
    ]
    if cycle:
        options.append("CYCLE")
    return options


def create_sequence(sequence: Sequence) -> str:
    """CREATE SEQUENCE without OWNED BY (the owning table does not exist yet when
    sequences are created; see alter_sequence_owned_by)."""
    options = _sequence_options(
        sequence.data_type,
        sequence.start,
        sequence.increment,
        sequence.min_value,
        sequence.max_value,
        sequence.cache,
        sequence.cycle,
    )
    body = "".join(f"\n    {o}" for o in options)
    return f"CREATE SEQUENCE {qualified_name(sequence.schema, sequence.name)}{body};"


def alter_sequence_owned_by(sequence: Sequence) -> str | None:
    if sequence.owned_by is None:
        return None
    table, column = sequence.owned_by
    owner = f"{qualified_name(sequence.schema, table)}.{quote_ident(column)}"
    return f"ALTER SEQUENCE {qualified_name(sequence.schema, sequence.name)} OWNED BY {owner};"


def drop_sequence(sequence: Sequence) -> str:
    return f"DROP SEQUENCE {qualified_name(sequence.schema, sequence.name)};"


# --------------------------------------------------------------------------- routines

# Settings whose value is a list: pg_dump quotes each element separately.
_LIST_SETTINGS = frozenset(
    {
        "search_path",
        "temp_tablespaces",
        "session_preload_libraries",
        "shared_preload_libraries",
        "local_preload_libraries",
    }
)


def _routine_keyword(function: Function) -> str:
    return {"procedure": "PROCEDURE", "aggregate": "AGGREGATE"}.get(function.kind, "FUNCTION")


def function_signature(function: Function) -> str:
    """`schema.name(type, ...)`: what COMMENT, DROP, GRANT and ALTER use to name a routine."""
    return f"{qualified_name(function.schema, function.name)}({function.identity_arguments})"


def _argument(argument: FunctionArgument) -> str:
    parts: list[str] = []
    if argument.mode in ("OUT", "INOUT", "VARIADIC"):
        parts.append(argument.mode)
    if argument.name:
        parts.append(quote_ident(argument.name))
    parts.append(argument.data_type)
    if argument.default is not None:
        parts.append(f"DEFAULT {argument.default}")
    return " ".join(parts)


def _split_setting_list(value: str) -> list[str]:
    """Split `"$user", public` into its elements, unquoting double-quoted ones."""
    items: list[str] = []
    for match in re.finditer(r'\s*("(?:[^"]|"")*"|[^,]*)\s*(?:,|$)', value):
        item = match.group(1).strip()
        if not item and match.end() >= len(value):
            break
        if item.startswith('"') and item.endswith('"'):
            item = item[1:-1].replace('""', '"')
        items.append(item)
    return items


def _set_clause(setting: str) -> str:
    key, _, value = setting.partition("=")
    if key.lower() in _LIST_SETTINGS:
        values = ", ".join(quote_literal(v) for v in _split_setting_list(value))
    else:
        values = quote_literal(value)
    return f"SET {quote_ident(key)} TO {values}"


def _dollar_quote(body: str) -> str:
    tag = "$$"
    n = 0
    while tag in body:
        tag = f"${'_' * (n + 1)}$" if n < 3 else f"$body{n}$"
        n += 1
    return f"{tag}{body}{tag}"


def is_sql_standard_body(function: Function) -> bool:
    """A SQL-standard body (BEGIN ATOMIC ... END, or RETURN expr) is written without AS."""
    if function.language != "sql":
        return False
    head = function.body.lstrip().upper()
    return head.startswith("BEGIN ATOMIC") or head.startswith("RETURN ") or head.startswith("RETURN\n")


def create_function(function: Function, *, or_replace: bool = False) -> str:
    """CREATE FUNCTION / PROCEDURE / AGGREGATE.

    An aggregate is rendered when its `body` holds CREATE AGGREGATE's option list as
    pg_dump writes it (`SFUNC = public._group_concat, STYPE = text`); an aggregate without
    one, or a window function (written in C), cannot be given to PostgreSQL: ValueError."""
    if function.kind == "aggregate" and function.body.strip():
        args = ", ".join(_argument(a) for a in function.arguments) or "*"
        return (
            f"CREATE AGGREGATE {qualified_name(function.schema, function.name)}({args}) (\n"
            f"    {function.body.strip()}\n);"
        )
    if function.kind in ("aggregate", "window"):
        raise ValueError(f"cannot render {function.kind} {function.signature}: the IR holds no definition")
    keyword = _routine_keyword(function)
    args = ", ".join(_argument(a) for a in function.arguments if a.mode != "TABLE")
    head = "CREATE OR REPLACE" if or_replace else "CREATE"
    lines = [f"{head} {keyword} {qualified_name(function.schema, function.name)}({args})"]
    if function.kind != "procedure":
        lines.append(f"    RETURNS {function.returns or 'void'}")
    lines.append(f"    LANGUAGE {quote_ident(function.language)}")
    if function.kind != "procedure":
        if function.volatility != "VOLATILE":
            lines.append(f"    {function.volatility}")
        if function.strict:
            lines.append("    STRICT")
        if function.leakproof:
            lines.append("    LEAKPROOF")
    if function.security_definer:
        lines.append("    SECURITY DEFINER")
    if function.kind != "procedure":
        if function.parallel != "UNSAFE":
            lines.append(f"    PARALLEL {function.parallel}")
        if function.cost is not None:
            lines.append(f"    COST {_number(function.cost)}")
        if function.rows is not None:
            lines.append(f"    ROWS {_number(function.rows)}")
    lines.extend(f"    {_set_clause(s)}" for s in function.config)
    if is_sql_standard_body(function):
        lines.append(function.body.strip())
    else:
        lines.append(f"    AS {_dollar_quote(function.body)}")
    return "\n".join(lines) + ";"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def drop_function(function: Function) -> str:
    return f"DROP {_routine_keyword(function)} {function_signature(function)};"


# --------------------------------------------------------------------------- tables


def _identity(identity: Identity) -> str:
    options = _sequence_options(
        None,
        identity.start,
        identity.increment,
        identity.min_value,
        identity.max_value,
        identity.cache,
        identity.cycle,
    )
    return f"GENERATED {identity.generation} AS IDENTITY ({' '.join(options)})"


def column_definition(column: Column) -> str:
    """`name type [COLLATE c] [GENERATED ...] [DEFAULT ...] [NOT NULL]`, as used in CREATE
    TABLE and ALTER TABLE ADD COLUMN."""
    parts = [quote_ident(column.name), column.data_type]
    if column.collation is not None:
        parts.append(f"COLLATE {_collation(column.collation)}")
    if column.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) STORED")
    if column.identity is not None:
        parts.append(_identity(column.identity))
    if column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if column.not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def _deferrable(deferrable: bool, initially_deferred: bool) -> str:
    if not deferrable:
        return ""
    return " DEFERRABLE INITIALLY DEFERRED" if initially_deferred else " DEFERRABLE"


def _include(include: Seq[str]) -> str:
    return f" INCLUDE ({_column_list(include)})" if include else ""


def constraint_definition(constraint: Constraint, table: Table | None = None) -> str:
    """`CONSTRAINT name <definition>` as in CREATE TABLE and ALTER TABLE ADD (without
    NOT VALID: see add_constraint). `table`, when given, tells an exclusion element that
    is a column from one that is an expression."""
    name = f"CONSTRAINT {quote_ident(constraint.name)} "
    if isinstance(constraint, PrimaryKey):
        return (
            f"{name}PRIMARY KEY ({_column_list(constraint.columns)}){_include(constraint.include)}"
            f"{_deferrable(constraint.deferrable, constraint.initially_deferred)}"
        )
    if isinstance(constraint, UniqueConstraint):
        nulls = " NULLS NOT DISTINCT" if constraint.nulls_not_distinct else ""
        return (
            f"{name}UNIQUE{nulls} ({_column_list(constraint.columns)}){_include(constraint.include)}"
            f"{_deferrable(constraint.deferrable, constraint.initially_deferred)}"
        )
    if isinstance(constraint, CheckConstraint):
        no_inherit = " NO INHERIT" if constraint.no_inherit else ""
        return f"{name}CHECK {parenthesised(constraint.expression)}{no_inherit}"
    if isinstance(constraint, ForeignKey):
        sql = (
            f"{name}FOREIGN KEY ({_column_list(constraint.columns)}) REFERENCES "
            f"{qualified_name(constraint.ref_schema, constraint.ref_table)}({_column_list(constraint.ref_columns)})"
        )
        if constraint.match != "SIMPLE":
            sql += f" MATCH {constraint.match}"
        if constraint.on_update != "NO ACTION":
            sql += f" ON UPDATE {constraint.on_update}"
        if constraint.on_delete != "NO ACTION":
            sql += f" ON DELETE {constraint.on_delete}"
        return sql + _deferrable(constraint.deferrable, constraint.initially_deferred)
    if isinstance(constraint, ExclusionConstraint):
        elements = []
        for e in constraint.elements:
            text = _ident_or_expression(e.expression, [c.name for c in table.columns] if table else None)
            if e.opclass is not None:
                text += f" {e.opclass}"
            if e.descending:
                text += " DESC"
            if e.nulls_first is not None:
                text += " NULLS FIRST" if e.nulls_first else " NULLS LAST"
            elements.append(f"{text} WITH {_operator(e.operator)}")
        sql = f"{name}EXCLUDE USING {constraint.method} ({', '.join(elements)}){_include(constraint.include)}"
        if constraint.predicate is not None:
            sql += f" WHERE {parenthesised(constraint.predicate)}"
        return sql + _deferrable(constraint.deferrable, constraint.initially_deferred)
    raise TypeError(f"not a constraint: {constraint!r}")


def _operator(operator: str) -> str:
    """An operator as EXCLUDE's WITH takes it: bare (`&&`), or OPERATOR(schema.op) when
    qualified. A quoted operator (`"&&"`, what quote_ident makes of one) is unquoted."""
    if len(operator) > 2 and operator.startswith('"') and operator.endswith('"'):
        operator = operator[1:-1].replace('""', '"')
    if operator.upper().startswith("OPERATOR("):
        return operator
    schema, dot, name = operator.rpartition(".")
    if dot and schema and name and not any(ch.isalnum() or ch == "_" for ch in name):
        return f"OPERATOR({schema}.{name})"
    return operator


def _not_valid(constraint: Constraint) -> bool:
    return isinstance(constraint, (CheckConstraint, ForeignKey)) and not constraint.validated


def add_constraint(table: Table, constraint: Constraint, *, only: bool = False) -> str:
    """ALTER TABLE ... ADD CONSTRAINT (with NOT VALID for an unvalidated check or FK).
    `only` adds it to the table alone (ALTER TABLE ONLY), as pg_dump does for FKs of
    tables that are not partitioned."""
    target = ("ONLY " if only else "") + qualified_name(table.schema, table.name)
    not_valid = " NOT VALID" if _not_valid(constraint) else ""
    return f"ALTER TABLE {target} ADD {constraint_definition(constraint, table if table.columns else None)}{not_valid};"


def drop_constraint(table: Table, name: str) -> str:
    return f"ALTER TABLE {qualified_name(table.schema, table.name)} DROP CONSTRAINT {quote_ident(name)};"


def create_table(
    table: Table,
    *,
    inline_constraints: bool = True,
    include_foreign_keys: bool = False,
    parent: Table | None = None,
    parents: Seq[Table] = (),
    inherited_checks: Seq[CheckConstraint] = (),
) -> list[str]:
    """CREATE TABLE with its columns and (by default) its PK/UNIQUE/CHECK/EXCLUDE
    constraints inline; foreign keys only with `include_foreign_keys` (a dump adds them at
    the end with add_constraint, once every referenced table exists). NOT VALID
    constraints always follow as ALTER TABLE.

    A partition (`partition_of`) is created with PARTITION OF: its columns come from the
    parent, so only the column properties of its own (a default or NOT NULL the parent
    does not have) follow as ALTER TABLE; pass the parent table as `parent` to compare.
    When its columns are in another order than the parent's (a table attached later), it
    is created as a plain table and attached, as pg_dump does.

    An inheritance child is created with INHERITS, which puts the parents' columns first;
    its column list declares only its local columns (a column it only inherits,
    `Column.inherited`, is left out, so PostgreSQL ends with the same attislocal), and an
    inherited column's own default or NOT NULL follows as ALTER TABLE ONLY. Pass the
    parent tables as `parents`: when the child's own column order differs (a parent's
    column added after the child had its own), it is built through a scaffold parent, see
    `_scaffolded_child`; `inherited_checks` are the inheritable CHECKs of the parents and
    their ancestors, which ALTER TABLE ... INHERIT needs the child to have."""
    name = qualified_name(table.schema, table.name)
    statements: list[str] = []
    constraints = [c for c in table.constraints if include_foreign_keys or not isinstance(c, ForeignKey)]
    inline = [c for c in constraints if inline_constraints and not _not_valid(c)]
    inline_ids = {id(c) for c in inline}
    later = [c for c in constraints if id(c) not in inline_ids]
    unlogged = "UNLOGGED " if table.unlogged else ""

    if table.partition_of is not None and (
        parent is None or [c.name for c in table.columns] == [c.name for c in parent.columns]
    ):
        p = table.partition_of
        elements = [constraint_definition(c, parent) for c in inline]
        sql = f"CREATE {unlogged}TABLE {name} PARTITION OF {qualified_name(p.parent_schema, p.parent)}"
        if elements:
            sql += " (\n    " + ",\n    ".join(elements) + "\n)"
        sql += f"\n{p.bound}"
        statements.append(_table_tail(sql, table) + ";")
        statements.extend(_partition_column_differences(table, parent))
    else:
        inherit_later = bool(table.inherits) and not _inherits_keeps_order(table, parents)
        if inherit_later and len(parents) == len(table.inherits):
            statements = _scaffolded_child(table, parents, inherited_checks, unlogged)
            statements.extend(add_constraint(table, c) for c in constraints)
            return statements
        # an inherited-only column is not declared: INHERITS brings it (unless no known
        # parent has it, in an IR that says otherwise)
        from_parents = {c.name for p in parents for c in p.columns}
        known = len(parents) == len(table.inherits)
        declared = [
            c
            for c in table.columns
            if inherit_later
            or not table.inherits
            or not c.inherited
            or (known and c.name not in from_parents)
        ]
        elements = [column_definition(c) for c in declared]
        elements += [constraint_definition(c, table) for c in inline]
        body = ",\n    ".join(elements)
        sql = (
            f"CREATE {unlogged}TABLE {name} (\n    {body}\n)"
            if elements
            else f"CREATE {unlogged}TABLE {name} ()"
        )
        if table.inherits and not inherit_later:
            sql += "\nINHERITS (" + ", ".join(qualified_name(s, t) for s, t in table.inherits) + ")"
        statements.append(_table_tail(sql, table) + ";")
        if table.inherits and not inherit_later:
            statements.extend(_inherited_column_differences(table, parents))
        if inherit_later:
            statements.extend(
                f"ALTER TABLE {name} INHERIT {qualified_name(s, t)};" for s, t in table.inherits
            )
        attach = attach_partition(table)
        if attach is not None:
            statements.append(attach)
    statements.extend(add_constraint(table, c) for c in later)
    return statements


def _inherits_keeps_order(table: Table, parents: Seq[Table]) -> bool:
    """Whether CREATE TABLE ... INHERITS gives the child's columns in the child's order:
    the parents' columns first (merged by name), then the child's others."""
    if len(parents) != len(table.inherits):
        return True  # parents unknown: INHERITS, the usual case
    expected: list[str] = []
    for p in parents:
        expected.extend(c.name for c in p.columns if c.name not in expected)
    expected.extend(c.name for c in table.columns if c.name not in expected)
    return expected == [c.name for c in table.columns]


def scaffold_name(table: Table) -> str:
    return f"_nself_scaffold_{table.name}"[:63]


def _scaffolded_child(
    table: Table, parents: Seq[Table], inherited_checks: Seq[CheckConstraint], unlogged: str
) -> list[str]:
    """An inheritance child whose columns INHERITS would put in another order, built so
    that PostgreSQL ends with the same column order and attislocal: the child starts as
    the child of an empty scaffold table; in the child's column order, a column it only
    inherits is added to the scaffold (and so reaches the child as inherited) and a local
    one to the child alone. The scaffold then gets the parents' inheritable CHECKs (which
    ALTER TABLE ... INHERIT needs the child to have, as inherited ones), the child joins
    its real parents, leaves the scaffold, and the scaffold is dropped."""
    name = qualified_name(table.schema, table.name)
    scaffold = qualified_name(table.schema, scaffold_name(table))
    out = [
        f"CREATE TABLE {scaffold} ();",
        _table_tail(f"CREATE {unlogged}TABLE {name} ()\nINHERITS ({scaffold})", table) + ";",
    ]
    on_scaffold: set[str] = set()
    for column in table.columns:
        if column.inherited:
            out.append(f"ALTER TABLE {scaffold} ADD COLUMN {column_definition(column)};")
            on_scaffold.add(column.name)
        else:
            out.append(f"ALTER TABLE ONLY {name} ADD COLUMN {column_definition(column)};")
    checks = [c for c in inherited_checks if not c.no_inherit]
    if checks:
        # the CHECKs may read the child's local columns: the scaffold gets them too
        # (merged into the child's, which stay local)
        for column in table.columns:
            if column.name not in on_scaffold:
                collate = f" COLLATE {_collation(column.collation)}" if column.collation else ""
                out.append(
                    f"ALTER TABLE {scaffold} ADD COLUMN {quote_ident(column.name)} {column.data_type}{collate};"
                )
        seen: set[str] = set()
        for check in checks:
            if check.name not in seen:
                seen.add(check.name)
                out.append(f"ALTER TABLE {scaffold} ADD {constraint_definition(check)};")
    out.extend(f"ALTER TABLE {name} INHERIT {qualified_name(s, t)};" for s, t in table.inherits)
    out.append(f"ALTER TABLE {name} NO INHERIT {scaffold};")
    out.append(f"DROP TABLE {scaffold};")
    return out


def _inherited_column_differences(table: Table, parents: Seq[Table]) -> list[str]:
    """ALTER TABLE ONLY for the default and NOT NULL of columns the child only inherits,
    where they differ from what INHERITS gives (the first parent's default, NOT NULL if any
    parent has it). With the parents unknown, the child's own values are set."""
    name = qualified_name(table.schema, table.name)
    known = len(parents) == len(table.inherits)
    merged: dict[str, Column] = {}
    for parent in parents:
        for col in parent.columns:
            prior = merged.get(col.name)
            if prior is None:
                merged[col.name] = col
            elif col.not_null and not prior.not_null:
                merged[col.name] = Column(prior.name, prior.data_type, True, prior.default)
    out: list[str] = []
    for column in table.columns:
        if not column.inherited:
            continue
        base = merged.get(column.name) if known else None
        target = f"ALTER TABLE ONLY {name} ALTER COLUMN {quote_ident(column.name)}"
        base_default = base.default if base is not None and base.generated is None else None
        if column.generated is None and column.default != base_default and (known or column.default):
            out.append(
                f"{target} DROP DEFAULT;"
                if column.default is None
                else f"{target} SET DEFAULT {column.default};"
            )
        base_not_null = base.not_null if base is not None else False
        if column.not_null != base_not_null and (known or column.not_null):
            out.append(f"{target} {'SET' if column.not_null else 'DROP'} NOT NULL;")
    return out


def _table_tail(sql: str, table: Table) -> str:
    if table.partition_by is not None:
        sql += f"\nPARTITION BY {table.partition_by.strategy} {_partition_key(table.partition_by.key, table.partition_by.strategy)}"
    if table.options:
        sql += f"\nWITH ({', '.join(table.options)})"
    return sql


def _partition_key(key: str, strategy: str) -> str:
    """The key as pg_get_partkeydef prints it is `RANGE (a)`; the IR may keep it with or
    without the strategy word."""
    text = key.strip()
    if text.upper().startswith(strategy + " "):
        text = text[len(strategy) :].strip()
    return text if text.startswith("(") and _closing_paren(text, 0) == len(text) - 1 else f"({text})"


def _partition_column_differences(table: Table, parent: Table | None) -> list[str]:
    name = qualified_name(table.schema, table.name)
    inherited = {c.name: c for c in parent.columns} if parent is not None else {}
    out = []
    for column in table.columns:
        base = inherited.get(column.name)
        if column.default is not None and (base is None or base.default != column.default):
            out.append(
                f"ALTER TABLE ONLY {name} ALTER COLUMN {quote_ident(column.name)} SET DEFAULT {column.default};"
            )
        if column.not_null and (base is None or not base.not_null):
            out.append(f"ALTER TABLE ONLY {name} ALTER COLUMN {quote_ident(column.name)} SET NOT NULL;")
    return out


def attach_partition(table: Table) -> str | None:
    """ALTER TABLE parent ATTACH PARTITION, for a partition created as a plain table."""
    if table.partition_of is None:
        return None
    p = table.partition_of
    return (
        f"ALTER TABLE ONLY {qualified_name(p.parent_schema, p.parent)} ATTACH PARTITION "
        f"{qualified_name(table.schema, table.name)} {p.bound};"
    )


def row_level_security(table: Table) -> list[str]:
    """ENABLE / FORCE ROW LEVEL SECURITY, for a table that has them."""
    name = qualified_name(table.schema, table.name)
    out = []
    if table.rls_enabled:
        out.append(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;")
    if table.rls_forced:
        out.append(f"ALTER TABLE {name} FORCE ROW LEVEL SECURITY;")
    return out


def replica_identity(table: Table) -> str | None:
    """ALTER TABLE ... REPLICA IDENTITY, for a table whose identity is not the default."""
    if table.replica_identity == "DEFAULT":
        return None
    return f"ALTER TABLE ONLY {qualified_name(table.schema, table.name)} {replica_identity_clause(table)};"


def replica_identity_clause(table: Table) -> str:
    if table.replica_identity == "INDEX":
        return f"REPLICA IDENTITY USING INDEX {quote_ident(table.replica_identity_index or '')}"
    return f"REPLICA IDENTITY {table.replica_identity}"


def drop_table(table: Table, *, cascade: bool = False) -> str:
    return f"DROP TABLE {qualified_name(table.schema, table.name)}{' CASCADE' if cascade else ''};"


# --------------------------------------------------------------------------- indexes


def _index_key(key: IndexKey) -> str:
    text = quote_ident(key.column) if key.column is not None else f"({key.expression})"
    if key.collation is not None:
        text += f" COLLATE {_collation(key.collation)}"
    if key.opclass is not None:
        text += f" {key.opclass}"
    if key.descending:
        text += " DESC"
    if key.nulls_first is not None:
        text += " NULLS FIRST" if key.nulls_first else " NULLS LAST"
    return text


def create_index(index: Index, *, only: bool = False) -> str:
    """CREATE INDEX as pg_get_indexdef writes it. `only` builds it on a partitioned
    table alone (its partitions' indexes are then created and attached separately)."""
    unique = "UNIQUE " if index.unique else ""
    target = ("ONLY " if only else "") + qualified_name(index.schema, index.table)
    keys = ", ".join(_index_key(k) for k in index.keys)
    sql = f"CREATE {unique}INDEX {quote_ident(index.name)} ON {target} USING {index.method} ({keys})"
    sql += _include(index.include)
    if index.nulls_not_distinct:
        sql += " NULLS NOT DISTINCT"
    if index.options:
        sql += f" WITH ({', '.join(index.options)})"
    if index.predicate is not None:
        sql += f" WHERE {parenthesised(index.predicate)}"
    return sql + ";"


def drop_index(index: Index) -> str:
    return f"DROP INDEX {qualified_name(index.schema, index.name)};"


# --------------------------------------------------------------------------- views


def view_body(view: View) -> str:
    """The view's query without a trailing semicolon."""
    return view.definition.strip().rstrip(";").rstrip()


def create_view(view: View, *, or_replace: bool = False, with_data: bool = False) -> str:
    """CREATE VIEW, or CREATE MATERIALIZED VIEW ... WITH NO DATA (as pg_dump --schema-only
    writes it; `with_data` populates it at once)."""
    name = qualified_name(view.schema, view.name)
    options = f" WITH ({', '.join(view.options)})" if view.options else ""
    if view.materialized:
        data = "WITH DATA" if with_data else "WITH NO DATA"
        return f"CREATE MATERIALIZED VIEW {name}{options} AS\n{view_body(view)}\n{data};"
    head = "CREATE OR REPLACE VIEW" if or_replace else "CREATE VIEW"
    return f"{head} {name}{options} AS\n{view_body(view)};"


def drop_view(view: View, *, cascade: bool = False) -> str:
    kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
    return f"DROP {kind} {qualified_name(view.schema, view.name)}{' CASCADE' if cascade else ''};"


# --------------------------------------------------------------------------- triggers, policies


def create_trigger(trigger: Trigger) -> list[str]:
    """CREATE [CONSTRAINT] TRIGGER, then its enabled state when not the default."""
    table = qualified_name(trigger.schema, trigger.table)
    events = []
    for event in trigger.events:
        if event == "UPDATE" and trigger.update_columns:
            events.append(f"UPDATE OF {_column_list(trigger.update_columns)}")
        else:
            events.append(event)
    constraint = "CONSTRAINT " if trigger.constraint else ""
    sql = f"CREATE {constraint}TRIGGER {quote_ident(trigger.name)} {trigger.timing} {' OR '.join(events)} ON {table}"
    if trigger.constraint:
        sql += _deferrable(trigger.deferrable, trigger.initially_deferred) or " NOT DEFERRABLE"
    if trigger.old_table is not None or trigger.new_table is not None:
        sql += " REFERENCING"
        if trigger.old_table is not None:
            sql += f" OLD TABLE AS {quote_ident(trigger.old_table)}"
        if trigger.new_table is not None:
            sql += f" NEW TABLE AS {quote_ident(trigger.new_table)}"
    sql += " FOR EACH ROW" if trigger.for_each_row else " FOR EACH STATEMENT"
    if trigger.when is not None:
        sql += f" WHEN {parenthesised(trigger.when)}"
    args = ", ".join(quote_literal(a) for a in trigger.arguments)
    sql += f" EXECUTE FUNCTION {qualified_name(trigger.function_schema, trigger.function)}({args});"
    out = [sql]
    state = {"D": "DISABLE", "R": "ENABLE REPLICA", "A": "ENABLE ALWAYS"}.get(trigger.enabled)
    if state is not None:
        out.append(f"ALTER TABLE {table} {state} TRIGGER {quote_ident(trigger.name)};")
    return out


def drop_trigger(trigger: Trigger) -> str:
    return f"DROP TRIGGER {quote_ident(trigger.name)} ON {qualified_name(trigger.schema, trigger.table)};"


def _role(name: str) -> str:
    return "PUBLIC" if name.lower() == "public" else quote_ident(name)


def create_policy(policy: Policy) -> str:
    sql = f"CREATE POLICY {quote_ident(policy.name)} ON {qualified_name(policy.schema, policy.table)}"
    if not policy.permissive:
        sql += " AS RESTRICTIVE"
    if policy.command != "ALL":
        sql += f" FOR {policy.command}"
    if tuple(policy.roles) != ("public",):
        sql += " TO " + ", ".join(_role(r) for r in policy.roles)
    if policy.using is not None:
        sql += f" USING {parenthesised(policy.using)}"
    if policy.with_check is not None:
        sql += f" WITH CHECK {parenthesised(policy.with_check)}"
    return sql + ";"


def drop_policy(policy: Policy) -> str:
    return f"DROP POLICY {quote_ident(policy.name)} ON {qualified_name(policy.schema, policy.table)};"


# --------------------------------------------------------------------------- privileges


def _privilege_target(privilege: Privilege) -> str:
    kind = privilege.object_kind
    if kind == "SCHEMA":
        return f"SCHEMA {quote_ident(privilege.object_name)}"
    if kind == "FUNCTION":
        name, paren, args = privilege.object_name.partition("(")
        return f"FUNCTION {qualified_name(privilege.schema, name)}{paren}{args}"
    return f"{kind} {qualified_name(privilege.schema, privilege.object_name)}"


def grant(privilege: Privilege) -> str:
    column = f" ({quote_ident(privilege.column)})" if privilege.column else ""
    option = " WITH GRANT OPTION" if privilege.grantable else ""
    return (
        f"GRANT {privilege.privilege}{column} ON {_privilege_target(privilege)} "
        f"TO {_role(privilege.grantee)}{option};"
    )


def revoke(privilege: Privilege) -> str:
    column = f" ({quote_ident(privilege.column)})" if privilege.column else ""
    return f"REVOKE {privilege.privilege}{column} ON {_privilege_target(privilege)} FROM {_role(privilege.grantee)};"


# --------------------------------------------------------------------------- publications


def publication_objects(publication: Publication) -> str:
    """The object list of CREATE / ALTER PUBLICATION ... SET: `TABLE a (x), b WHERE (...),
    TABLES IN SCHEMA s`; empty for a publication of no table."""
    parts = [publication_table(t) for t in publication.tables]
    parts += [f"TABLES IN SCHEMA {quote_ident(s)}" for s in publication.schemas]
    if publication.tables:
        parts[0] = "TABLE " + parts[0]
    return ", ".join(parts)


def publication_table(table: PublicationTable) -> str:
    text = qualified_name(table.schema, table.table)
    if table.columns:
        text += f" ({_column_list(table.columns)})"
    if table.where is not None:
        text += f" WHERE {parenthesised(table.where)}"
    return text


def publication_options(publication: Publication) -> str:
    return (
        f"publish = {quote_literal(', '.join(publication.publish))}, "
        f"publish_via_partition_root = {'true' if publication.via_partition_root else 'false'}"
    )


def create_publication(publication: Publication) -> str:
    name = quote_ident(publication.name)
    target = " FOR ALL TABLES" if publication.all_tables else ""
    objects = publication_objects(publication)
    if objects:
        target = f" FOR {objects}"
    return f"CREATE PUBLICATION {name}{target} WITH ({publication_options(publication)});"


def drop_publication(publication: Publication) -> str:
    return f"DROP PUBLICATION {quote_ident(publication.name)};"
