"""The DBML backend: the part of a Catalog that DBML can say, as one `schema.dbml`.

DBML holds enums, tables with their columns (type, primary key, not null, unique,
default, increment, note), indexes (composite, expression, unique, method), checks,
references with their actions, and notes from comments. The text is written so that
nself's DBML frontend reads it back to the same Catalog, restricted to that subset:

- every name is double-quoted, so no name is ever read as a keyword;
- constraint and index names are written out (`Ref name: ...`, `[name: '...']`,
  `checks { ... [name: '...'] }`), except where DBML has no place for one: a primary key
  and a single-column unique constraint are named by PostgreSQL's rules when read back;
- `serial` columns (integer + nextval default of the sequence a serial would have, owned
  or not) are written as serial/smallserial/bigserial, identity columns as `[increment]`;
  other nextval() defaults are left out, since DBML cannot declare their sequence;
- defaults are numbers, booleans and strings where DBML's own literal means the same
  constant, and `backtick expressions` otherwise.

What DBML cannot hold (views, functions, triggers, policies, privileges, domains and
composite types, partitioning, sequences of their own, exclusion constraints, index
predicates and INCLUDE, comments on anything but tables and columns) is left out, and
`losses` lists it for the CLI to warn about. An index DBML cannot write whole (a partial
one, a key it cannot quote) is left out rather than written stricter: without its WHERE, a
partial unique index would refuse rows PostgreSQL accepts. The output is deterministic: objects come in catalog order, refs sorted by table and name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nself.ir import Catalog
from nself.ir import model as m
from nself.ir.names import qualified_name, quote_literal

__all__ = ["losses", "render"]


def render(catalog: Catalog, options: Mapping[str, Any]) -> dict[str, str]:
    return {"schema.dbml": render_dbml(catalog)}


def render_dbml(catalog: Catalog) -> str:
    blocks: list[str] = []
    enums = {(e.schema, e.name) for e in catalog.enums}
    for enum in catalog.enums:
        blocks.append(_enum(enum))
    # The sequence behind each serial-like column: one it owns, or one named as a serial's
    # would be (pg_dump's pagila declares them apart), which DBML's serial re-creates.
    owned: dict[tuple[str, str, str], m.Sequence] = {}
    for table in catalog.tables:
        for column in table.columns:
            name_ = f"{table.name}_{column.name}_seq"
            sequence = next(
                (s for s in catalog.sequences if (s.schema, s.name) == (table.schema, name_)), None
            )
            if sequence is not None and sequence.owned_by in (None, (table.name, column.name)):
                owned[(table.schema, table.name, column.name)] = sequence
    for s in catalog.sequences:
        if s.owned_by is not None:
            owned[(s.schema, s.owned_by[0], s.owned_by[1])] = s
    for table in catalog.tables:
        blocks.append(_table(table, catalog, enums, owned))
    refs = []
    for table in catalog.tables:
        for fk in sorted(table.foreign_keys, key=lambda f: f.name):
            refs.append(_ref(table, fk))
    if refs:
        blocks.append("\n".join(refs))
    return "\n\n".join(blocks) + "\n" if blocks else ""


# --------------------------------------------------------------------------- text


def name(text: str) -> str:
    """A DBML name, always double-quoted."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def qualified(schema: str, table: str) -> str:
    return name(table) if schema == "public" else f"{name(schema)}.{name(table)}"


def string(text: str) -> str:
    """A DBML string: '...' for one line, '''...''' for several."""
    escaped = text.replace("\\", "\\\\")
    if "\n" in text:
        return "'''" + escaped.replace("'''", "\\'''") + "'''"
    return "'" + escaped.replace("'", "\\'") + "'"


def _enum(enum: m.Enum) -> str:
    lines = [f"Enum {qualified(enum.schema, enum.name)} {{"]
    lines += [f"  {name(label)}" for label in enum.labels]
    lines.append("}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- types

_BUILTIN = {
    "integer": "integer",
    "smallint": "smallint",
    "bigint": "bigint",
    "real": "real",
    "double precision": '"double precision"',
    "boolean": "boolean",
    "text": "text",
    "character varying": "varchar",
    "bpchar": "bpchar",
    "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz",
    "time without time zone": "time",
    "time with time zone": "timetz",
    "bit varying": "varbit",
}
_PARAMETRISED = [
    (re.compile(r"character varying\((\d+)\)"), "varchar({})"),
    (re.compile(r"character\((\d+)\)"), "char({})"),
    (re.compile(r"numeric\((\d+),(-?\d+)\)"), "numeric({},{})"),
    (re.compile(r"timestamp\((\d)\) without time zone"), "timestamp({})"),
    (re.compile(r"timestamp\((\d)\) with time zone"), "timestamptz({})"),
    (re.compile(r"time\((\d)\) without time zone"), "time({})"),
    (re.compile(r"time\((\d)\) with time zone"), "timetz({})"),
    (re.compile(r"interval\((\d)\)"), "interval({})"),
    (re.compile(r"bit\((\d+)\)"), "bit({})"),
    (re.compile(r"bit varying\((\d+)\)"), "varbit({})"),
]
_SIMPLE = re.compile(r"[a-z_][a-z0-9_]*")
_QUOTED_PART = r'(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")'
_USER_TYPE = re.compile(rf"({_QUOTED_PART})\.({_QUOTED_PART})")


def _unquote(part: str) -> str:
    return part[1:-1].replace('""', '"') if part.startswith('"') else part


def dbml_type(data_type: str) -> str:
    """DBML's spelling of a format_type() text (`character varying(255)` -> `varchar(255)`)."""
    array = data_type.endswith("[]")
    base = data_type[:-2] if array else data_type
    suffix = "[]" if array else ""
    if base in _BUILTIN:
        return _BUILTIN[base] + suffix
    for pattern, template in _PARAMETRISED:
        match = pattern.fullmatch(base)
        if match:
            return template.format(*match.groups()) + suffix
    user = _USER_TYPE.fullmatch(base)
    if user:
        return f"{name(_unquote(user.group(1)))}.{name(_unquote(user.group(2)))}{suffix}"
    if _SIMPLE.fullmatch(base):
        return base + suffix
    return name(data_type)


# --------------------------------------------------------------------------- losses


def losses(catalog: Catalog) -> list[str]:
    """What `render` leaves out or weakens, one line each, for the CLI to warn about: the
    DBML file alone must not pass for the whole schema."""
    found: list[str] = []

    def some(kind: str, names: list[str]) -> None:
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            found.append(f"{len(names)} {kind} left out (DBML has none): {shown}")

    def qual(schema: str, text: str) -> str:
        return text if schema == "public" else f"{schema}.{text}"

    some("view(s)", [qual(v.schema, v.name) for v in catalog.views])
    some("function(s)", [qual(f.schema, f.name) for f in catalog.functions])
    some("trigger(s)", [f"{t.name} on {qual(t.schema, t.table)}" for t in catalog.triggers])
    some("policy(ies)", [f"{p.name} on {qual(p.schema, p.table)}" for p in catalog.policies])
    some(
        "privilege(s)",
        [f"{p.privilege} on {qual(p.schema, p.object_name)} to {p.grantee}" for p in catalog.privileges if not _default_grant(p)],
    )
    some("domain(s)", [qual(d.schema, d.name) for d in catalog.domains])
    some("composite type(s)", [qual(t.schema, t.name) for t in catalog.composite_types])
    some("range type(s)", [qual(t.schema, t.name) for t in catalog.range_types])
    some("extension(s)", [e.name for e in catalog.extensions])
    for index in catalog.indexes:
        loss = index_loss(index)
        if loss is not None:
            found.append(f"index {qual(index.schema, index.name)} left out: {loss}")
        elif index.include:
            found.append(f"index {qual(index.schema, index.name)}: INCLUDE ({', '.join(index.include)}) left out")
        if index.unique and index.nulls_not_distinct and loss is None:
            found.append(f"index {qual(index.schema, index.name)}: NULLS NOT DISTINCT left out (DBML's unique lets NULLs repeat)")
    for table in catalog.tables:
        where = qual(table.schema, table.name)
        if table.partition_by is not None:
            found.append(f"table {where}: PARTITION BY {table.partition_by.strategy} left out")
        if table.partition_of is not None:
            found.append(f"table {where}: written as a table of its own, not a partition of {table.partition_of.parent}")
        for constraint in table.constraints:
            if isinstance(constraint, m.ExclusionConstraint):
                found.append(f"exclusion constraint {constraint.name} on {where} left out")
            elif isinstance(constraint, m.UniqueConstraint):
                if len(constraint.columns) == 1 and constraint.include:
                    found.append(f"unique constraint {constraint.name} on {where} left out (DBML has no INCLUDE)")
                if constraint.nulls_not_distinct:
                    found.append(f"unique constraint {constraint.name} on {where}: NULLS NOT DISTINCT left out")
                if constraint.deferrable:
                    found.append(f"unique constraint {constraint.name} on {where}: DEFERRABLE left out")
            elif isinstance(constraint, m.CheckConstraint) and "`" in constraint.expression:
                found.append(f"check constraint {constraint.name} on {where} left out (its expression holds a backtick)")
    return found


def _default_grant(privilege: m.Privilege) -> bool:
    """USAGE on schema public to PUBLIC: what every PostgreSQL 15 database has."""
    return (privilege.object_kind, privilege.object_name, privilege.grantee, privilege.privilege) == (
        "SCHEMA",
        "public",
        "PUBLIC",
        "USAGE",
    )


def index_loss(index: m.Index) -> str | None:
    """Why `index` cannot be written at all, or None. Without its predicate a partial index
    would cover every row (a unique one would refuse rows PostgreSQL accepts); without one
    of its keys, a unique index would be stricter too."""
    if index.predicate is not None:
        return f"DBML has no partial indexes (WHERE {index.predicate})"
    if any(k.column is None and (k.expression is None or "`" in k.expression) for k in index.keys):
        return "a key expression holds a backtick, which DBML cannot quote"
    if not index.keys:
        return "no key DBML can write"
    return None


# --------------------------------------------------------------------------- tables


def _base_type(data_type: str) -> str:
    """format_type(oid, -1) of a column type: what a constant of it is labelled."""
    array = data_type.endswith("[]")
    base = data_type[:-2] if array else data_type
    base = re.sub(r"\(\d+(,-?\d+)?\)", "", base)
    if base == "character":
        base = "bpchar"
    return base + ("[]" if array else "")


def _number_text(default: str) -> str | None:
    """The DBML number that means `default` (`5`, `'-1'::integer`), or None."""
    if re.fullmatch(r"[0-9]+", default):
        return default if int(default) < 2**31 else None
    if re.fullmatch(r"[0-9]+\.[0-9]+", default):
        return default
    match = re.fullmatch(r"'(-[0-9]+)'::integer", default)
    if match and int(match.group(1)) >= -(2**31):
        return match.group(1)
    match = re.fullmatch(r"'(-?[0-9]+)'::bigint", default)
    if match and not -(2**31) <= int(match.group(1)) < 2**31:
        return match.group(1)
    match = re.fullmatch(r"'(-[0-9]+\.[0-9]+)'::numeric", default)
    if match:
        return match.group(1)
    return None


def _default(column: m.Column) -> str | None:
    text = column.default
    if text is None:
        return None
    if text in ("true", "false"):
        return text
    number = _number_text(text)
    if number is not None and not re.fullmatch(r"-?[0-9]+\.[0-9]*0", number):
        return number
    base = _base_type(column.data_type)
    match = re.fullmatch(r"'((?:[^']|'')*)'::(.+)", text, flags=re.S)
    if (
        match
        and match.group(2) == base
        and (base in ("text", "character varying", "bpchar") or _USER_TYPE.fullmatch(base))
        and "\n" not in match.group(1)
    ):
        return string(match.group(1).replace("''", "'"))
    if "`" in text or text.startswith("nextval("):
        return None  # DBML has no sequences but those of serial columns
    return f"`{text}`"


def _serial_type(
    column: m.Column, table: m.Table, owned: dict[tuple[str, str, str], m.Sequence]
) -> str | None:
    sequence = owned.get((table.schema, table.name, column.name))
    if sequence is None or column.identity is not None:
        return None
    expected = f"nextval({quote_literal(qualified_name(sequence.schema, sequence.name))}::regclass)"
    if column.default != expected:
        return None
    return {"integer": "serial", "smallint": "smallserial", "bigint": "bigserial"}.get(column.data_type)


def _table(
    table: m.Table,
    catalog: Catalog,
    enums: set[tuple[str, str]],
    owned: dict[tuple[str, str, str], m.Sequence],
) -> str:
    pk = table.primary_key
    single_pk = pk.columns[0] if pk is not None and len(pk.columns) == 1 else None
    uniques = {
        c.columns[0]
        for c in table.constraints
        if isinstance(c, m.UniqueConstraint) and len(c.columns) == 1 and not c.include
    }
    header = f"Table {qualified(table.schema, table.name)}"
    if table.comment is not None:
        header += f" [note: {string(table.comment)}]"
    lines = [header + " {"]
    for column in table.columns:
        serial = _serial_type(column, table, owned)
        settings: list[str] = []
        if column.name == single_pk:
            settings.append("pk")
        if column.identity is not None and column.data_type in ("integer", "smallint", "bigint"):
            settings.append("increment")
        if column.not_null and column.name != single_pk and serial is None and column.identity is None:
            settings.append("not null")
        if column.name in uniques:
            settings.append("unique")
        if serial is None:
            default = _default(column)
            if default is not None:
                settings.append(f"default: {default}")
        if column.comment is not None:
            settings.append(f"note: {string(column.comment)}")
        line = f"  {name(column.name)} {serial or dbml_type(column.data_type)}"
        if settings:
            line += f" [{', '.join(settings)}]"
        lines.append(line)
    index_lines: list[str] = []
    if pk is not None and single_pk is None:
        index_lines.append(f"    ({', '.join(name(c) for c in pk.columns)}) [pk]")
    for constraint in sorted(table.constraints, key=lambda c: c.name):
        if isinstance(constraint, m.UniqueConstraint) and len(constraint.columns) > 1:
            cols = ", ".join(name(c) for c in constraint.columns)
            index_lines.append(f"    ({cols}) [unique, name: {string(constraint.name)}]")
    for index in catalog.indexes_of(table.schema, table.name):
        if index_loss(index) is not None:
            continue  # written without its predicate or a key, a unique index would be stricter
        keys = [name(k.column) if k.column is not None else f"`{k.expression}`" for k in index.keys]
        settings = [f"name: {string(index.name)}"]
        if index.unique:
            settings.append("unique")
        if index.method != "btree":
            settings.append(f"type: {index.method}")
        index_lines.append(f"    ({', '.join(keys)}) [{', '.join(settings)}]")
    if index_lines:
        lines += ["", "  indexes {", *index_lines, "  }"]
    checks = [c for c in table.constraints if isinstance(c, m.CheckConstraint) and "`" not in c.expression]
    if checks:
        lines += ["", "  checks {"]
        lines += [f"    `{c.expression}` [name: {string(c.name)}]" for c in checks]
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def _endpoint(schema: str, table: str, columns: tuple[str, ...]) -> str:
    where = qualified(schema, table)
    if len(columns) == 1:
        return f"{where}.{name(columns[0])}"
    return f"{where}.({', '.join(name(c) for c in columns)})"


def _ref(table: m.Table, fk: m.ForeignKey) -> str:
    settings = []
    if fk.on_delete != "NO ACTION":
        settings.append(f"delete: {fk.on_delete.lower()}")
    if fk.on_update != "NO ACTION":
        settings.append(f"update: {fk.on_update.lower()}")
    text = (
        f"Ref {name(fk.name)}: {_endpoint(table.schema, table.name, fk.columns)} > "
        f"{_endpoint(fk.ref_schema, fk.ref_table, fk.ref_columns)}"
    )
    if settings:
        text += f" [{', '.join(settings)}]"
    return text
