"""Migration safety: rules over the statements of pending migration files, judged against
the schema they will run on (the database before them), as `nself db lint` runs them.

- add-not-null-column: ADD COLUMN ... NOT NULL without a DEFAULT on a table that exists
  already fails as soon as the table has a row;
- index-not-concurrent: CREATE INDEX without CONCURRENTLY on an existing table blocks
  every write to it (SHARE lock) until the index is built;
- type-change-rewrite: ALTER COLUMN ... TYPE that PostgreSQL cannot do in place rewrites
  the table and its indexes under an ACCESS EXCLUSIVE lock.

A table created by the pending migrations themselves is new: nothing is reported on it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from nself import pg15
from nself.backends.lint.findings import Finding, Level, LintSettings
from nself.errors import SourceError, position_of
from nself.ir import Catalog
from nself.ir.model import Table


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule that does not read the Catalog alone: its id, default level and summary."""

    id: str
    level: Level
    summary: str


MIGRATION_RULES: dict[str, RuleInfo] = {
    r.id: r
    for r in (
        RuleInfo(
            "add-not-null-column",
            "error",
            "pending migration adds a NOT NULL column without a DEFAULT to an existing table",
        ),
        RuleInfo(
            "index-not-concurrent",
            "warning",
            "pending migration creates an index without CONCURRENTLY on an existing table",
        ),
        RuleInfo(
            "type-change-rewrite",
            "warning",
            "pending migration changes a column's type in a way that rewrites the table",
        ),
    )
}

# Rules that need the live server (nself.runtime.lint_live runs them).
LIVE_RULES: dict[str, RuleInfo] = {
    "plpgsql-check": RuleInfo(
        "plpgsql-check",
        "error",
        "PL/pgSQL function body that plpgsql_check finds wrong (servers that have it)",
    ),
}


@dataclass(frozen=True, slots=True)
class PendingMigration:
    path: str  # as shown to the user
    sql: str  # the up part
    line_offset: int  # lines before `sql` in the file


def lint_migrations(
    catalog: Catalog, migrations: list[PendingMigration], settings: LintSettings | None = None
) -> list[Finding]:
    """The findings of the selected migration rules on `migrations`, in order, run against
    `catalog` (the schema before them). A file that PostgreSQL 15's grammar refuses
    (nself.pg15, as `db migrate` refuses it before running anything) raises SourceError at
    its file:line:col."""
    settings = settings or LintSettings()
    findings: list[Finding] = []
    for migration in migrations:
        for rule_id, schema, name, kind, message, remedy in _issues(catalog, migration):
            if settings.selects(rule_id):
                level = settings.levels.get(rule_id, MIGRATION_RULES[rule_id].level)
                findings.append(Finding(rule_id, level, schema, name, kind, message, remedy))
    return findings


_Issue = tuple[str, str, str, str, str, str]


def _issues(catalog: Catalog, migration: PendingMigration) -> Iterator[_Issue]:
    try:
        statements, positions = pg15.parse(migration.sql)
    except pg15.Pg15SyntaxError as error:
        line, col = position_of(migration.sql, error.location)
        raise SourceError(migration.path, line + migration.line_offset, col, error.message) from None
    for raw in statements:
        start = pg15.skip_blank(migration.sql, positions.source_offset(raw.stmt_location or 0))
        where = f"{migration.path}:{migration.sql.count(chr(10), 0, start) + 1 + migration.line_offset}"
        stmt = raw.stmt
        if isinstance(stmt, ast.IndexStmt):
            yield from _index(catalog, stmt, where)
        elif isinstance(stmt, ast.AlterTableStmt):
            yield from _alter(catalog, stmt, where)


def _table(catalog: Catalog, relation: ast.RangeVar | None) -> Table | None:
    if relation is None or relation.relname is None:
        return None
    return catalog.table(relation.schemaname or "public", relation.relname)


def _index(catalog: Catalog, stmt: ast.IndexStmt, where: str) -> Iterator[_Issue]:
    table = _table(catalog, stmt.relation)
    if table is None or stmt.concurrent or table.partition_by is not None:
        return  # new table, or partitioned (CONCURRENTLY is refused there: index each partition)
    name = stmt.idxname or f"index on {table.name}"
    yield (
        "index-not-concurrent",
        table.schema,
        table.name,
        "table",
        f"{where}: CREATE INDEX {name} without CONCURRENTLY blocks writes to {table.name} while it builds",
        "CREATE INDEX CONCURRENTLY in a migration of its own, outside a transaction "
        "(-- nself:no-transaction)",
    )


def _alter(catalog: Catalog, stmt: ast.AlterTableStmt, where: str) -> Iterator[_Issue]:
    table = _table(catalog, stmt.relation)
    if table is None:
        return
    for cmd in stmt.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd) or not isinstance(cmd.def_, ast.ColumnDef):
            continue
        column = cmd.def_
        if cmd.subtype == AlterTableType.AT_AddColumn and _not_null_without_default(column):
            yield (
                "add-not-null-column",
                table.schema,
                f"{table.name}.{column.colname}",
                "column",
                f"{where}: ADD COLUMN {column.colname} NOT NULL without a DEFAULT fails once {table.name} has a row",
                "add a DEFAULT (filled in without a rewrite when it is a constant), or add the column "
                "nullable, fill it, then SET NOT NULL",
            )
        elif cmd.subtype == AlterTableType.AT_AlterColumnType and cmd.name is not None:
            old = next((c for c in table.columns if c.name == cmd.name), None)
            if old is not None and _rewrites(old.data_type, column):
                yield (
                    "type-change-rewrite",
                    table.schema,
                    f"{table.name}.{cmd.name}",
                    "column",
                    f"{where}: changing {cmd.name} from {old.data_type} to {_type_text(column.typeName)} "
                    f"rewrites {table.name} and its indexes under an ACCESS EXCLUSIVE lock",
                    "add a new column, fill it in batches and swap; or widen within the type "
                    "(varchar(n) to a larger n or text, numeric(p,s) to a larger p)",
                )


def _constraints(column: ast.ColumnDef) -> list[ConstrType]:
    return [
        c.contype for c in column.constraints or () if isinstance(c, ast.Constraint) and c.contype is not None
    ]


def _not_null_without_default(column: ast.ColumnDef) -> bool:
    kinds = _constraints(column)
    required = column.is_not_null or ConstrType.CONSTR_NOTNULL in kinds or ConstrType.CONSTR_PRIMARY in kinds
    filled = {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED} & set(kinds)
    return bool(required) and not filled and column.raw_default is None


# pglast spells built-in types by their internal names; format_type (the IR) by their SQL ones.
_SQL_NAMES = {
    "varchar": "character varying",
    "bpchar": "character",
    "varbit": "bit varying",
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "time": "time without time zone",
    "timetz": "time with time zone",
}

# Changes PostgreSQL makes in place (binary-coercible, and a length check only when the
# new limit is smaller): from -> to, among base types.
_IN_PLACE = {
    ("character varying", "text"),
    ("text", "character varying"),  # only without a limit: checked below
    ("cidr", "inet"),
}
_LIMITED = {"character varying", "numeric", "bit varying"}


def _type_parts(typename: ast.TypeName | None) -> tuple[str, tuple[int, ...]] | None:
    if typename is None or not typename.names or typename.arrayBounds:
        return None
    last = typename.names[-1]
    base = last.sval.lower() if isinstance(last, ast.String) and last.sval else ""
    mods: list[int] = []
    for mod in typename.typmods or ():
        value = getattr(getattr(mod, "val", None), "ival", None)
        if not isinstance(value, int):
            return None
        mods.append(value)
    return _SQL_NAMES.get(base, base), tuple(mods)


def _type_text(typename: ast.TypeName | None) -> str:
    parts = _type_parts(typename)
    if parts is None:
        return "another type"
    base, mods = parts
    return f"{base}({','.join(map(str, mods))})" if mods else base


_FORMATTED = re.compile(r"^(?P<base>[a-z ]+?)(?:\((?P<mods>[0-9, ]+)\))?(?P<rest>(?: [a-z ]+)?)$")


def _old_parts(data_type: str) -> tuple[str, tuple[int, ...]] | None:
    """`character varying(10)` -> ("character varying", (10,)); None for arrays and others."""
    match = _FORMATTED.match(data_type)
    if match is None or match["rest"].strip():
        return None
    mods = tuple(int(m) for m in match["mods"].split(",")) if match["mods"] else ()
    return match["base"].strip(), mods


def _rewrites(old_type: str, column: ast.ColumnDef) -> bool:
    """Whether PostgreSQL rewrites the table to change a column of `old_type` to the
    column's new type (ATColumnChangeRequiresRewrite): any USING, or a change that is not
    binary-coercible or that shrinks a length, precision or scale. Unknown spellings count
    as a rewrite when the type's name differs, and as none when it is the same text."""
    if column.raw_default is not None:  # USING
        return True
    new = _type_parts(column.typeName)
    old = _old_parts(old_type)
    if new is None or old is None:
        return _type_text(column.typeName) != old_type
    (old_base, old_mods), (new_base, new_mods) = old, new
    if old == new:
        return False
    if old_base == new_base and old_base in _LIMITED:
        if not new_mods:
            return False  # to no limit at all
        if not old_mods:
            return True  # a limit where there was none: every value is checked and coerced
        if old_base == "numeric":
            old_scale = old_mods[1] if len(old_mods) > 1 else 0
            new_scale = new_mods[1] if len(new_mods) > 1 else 0
            return new_scale != old_scale or new_mods[0] < old_mods[0]
        return new_mods[0] < old_mods[0]
    if (old_base, new_base) in _IN_PLACE:
        return new_base == "character varying" and bool(new_mods)
    return True
