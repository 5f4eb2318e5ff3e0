"""The sql frontend reads migrations as PostgreSQL 15 does, with pglast's newer grammar.

pglast parses with the grammar of PostgreSQL 18 (`pglast.parser.get_postgresql_version()`),
while nself targets 15 (its catalog snapshot, its keyword list in nself.ir.names). Two
things follow, and this module answers both:

1. Words that are keywords since 16 (`json`, `json_object`, `system_user`, ...) are plain
   identifiers in 15: `CREATE TABLE t (system_user text)` and `CREATE FUNCTION
   json_object(...)` run on 15 and fail pglast's grammar, and `SELECT system_user` means a
   column in 15 but the SYSTEM_USER function in 16. `as_pg15` writes every bare occurrence
   of those words as the quoted identifier 15 reads (`"system_user"`), so the parse is 15's,
   and gives a map from the written text's offsets back to the file's, so that error
   positions stay the file's.
2. Syntax that 16 and later added (non-decimal and `1_000` literals, a FROM subquery without
   an alias, virtual generated columns, `STORAGE` in CREATE TABLE, MERGE ... RETURNING,
   `NOT ENFORCED`, `WITHOUT OVERLAPS`, ...) parses in pglast but not in 15: `newer_syntax`
   finds it in a statement's tree so that the frontend refuses it at its position, as
   PostgreSQL 15 would. tests/frontends/test_sql_pg15.py runs a list of statements on a live
   PostgreSQL 15 and through the frontend: they must agree on which are syntax errors."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pglast import ast, enums
from pglast.parser import ParseError, scan

from nself.frontends.sql_tree import first_found

# Keywords of pglast's grammar (not unreserved ones) that PostgreSQL 15 does not have.
NEWER_KEYWORDS = frozenset(
    {
        "json",
        "json_array",
        "json_arrayagg",
        "json_exists",
        "json_object",
        "json_objectagg",
        "json_query",
        "json_scalar",
        "json_serialize",
        "json_table",
        "json_value",
        "merge_action",
        "system_user",
    }
)

# What makes a scan worth it: one of those words, or a number PostgreSQL 15's scanner ends
# before its junk (`0x1F`, `0o17`, `0b101`, `1_000`).
_CANDIDATE = re.compile(r"(?i)\b(?:json(?:_\w+)?|merge_action|system_user|0[xob]\w*|\d+_\w*)\b")
_NEWER_NUMBER = re.compile(r"(?i)0[xob]|.*_")


@dataclass(frozen=True)
class Positions:
    """Where the offsets of the text as parsed lie in the file's text."""

    # (offset in the parsed text from which the shift applies, total shift from there on)
    shifts: tuple[tuple[int, int], ...] = ()

    def source_offset(self, offset: int) -> int:
        """The file's offset of `offset` in the parsed text."""
        if not self.shifts:
            return offset
        at = bisect.bisect_right(self.shifts, (offset, float("inf"))) - 1
        return offset if at < 0 else max(0, offset - self.shifts[at][1])


@dataclass(frozen=True)
class Pg15Text:
    """The text to parse, and where its offsets lie in the file's text."""

    text: str
    positions: Positions = Positions()


class NewerSyntax(Exception):
    """Syntax PostgreSQL 15 refuses: message and character offset in the written text."""

    def __init__(self, message: str, location: int) -> None:
        super().__init__(message, location)
        self.message, self.location = message, location


def as_pg15(text: str) -> Pg15Text:
    """`text` with every bare newer keyword written as the quoted identifier PostgreSQL 15
    reads there. Raises NewerSyntax at a numeric literal 15's scanner refuses. A text that
    does not scan is left as it is (the parser reports its error)."""
    if not _CANDIDATE.search(text):
        return Pg15Text(text)
    try:
        tokens = scan(text)
    except ParseError:
        return Pg15Text(text)
    pieces: list[str] = []
    shifts: list[tuple[int, int]] = []
    done = 0
    for token in tokens:
        if token.name in ("ICONST", "FCONST"):
            word = text[token.start : token.end + 1]
            if _NEWER_NUMBER.match(word):
                raise NewerSyntax(f'trailing junk after numeric literal at or near "{word}"', token.start)
            continue
        if token.kind == "NO_KEYWORD" or token.name.lower() not in NEWER_KEYWORDS:
            continue
        pieces.append(text[done : token.start])
        pieces.append('"' + text[token.start : token.end + 1].lower() + '"')
        done = token.end + 1
        shift = 2 * (len(shifts) + 1)
        shifts.append((token.end + 1 + shift, shift))
    if not shifts:
        return Pg15Text(text)
    pieces.append(text[done:])
    return Pg15Text("".join(pieces), Positions(tuple(shifts)))


# --------------------------------------------------------------------------- trees


def newer_syntax(stmt: Any) -> tuple[str, int | None] | None:
    """(message, location or None for the statement's) of the first syntax in `stmt` that
    PostgreSQL 15's grammar does not have; None when 15 parses it."""
    found = first_found(stmt, _CHECKS)
    if found is None:
        return None
    message, location = found
    return f"{message} (PostgreSQL 15 refuses it)", location


Found = tuple[str, int | None] | None


def _location(node: Any) -> int | None:
    location = getattr(node, "location", None)
    return location if isinstance(location, int) and location >= 0 else None


def _constraint(node: ast.Constraint) -> Found:
    kind = node.contype
    if kind == enums.ConstrType.CONSTR_GENERATED and node.generated_kind == "v":
        return "syntax error: a generated column must be STORED (virtual ones are PostgreSQL 18)", _location(
            node
        )
    if kind in (enums.ConstrType.CONSTR_CHECK, enums.ConstrType.CONSTR_FOREIGN) and node.is_enforced is False:
        return 'syntax error at or near "ENFORCED": NOT ENFORCED is PostgreSQL 18', _location(node)
    if node.without_overlaps:
        return 'syntax error at or near "WITHOUT": WITHOUT OVERLAPS is PostgreSQL 18', _location(node)
    if node.fk_with_period or node.pk_with_period:
        return 'syntax error at or near "PERIOD": PERIOD in a foreign key is PostgreSQL 18', _location(node)
    if kind == enums.ConstrType.CONSTR_NOTNULL and node.keys:
        return 'syntax error at or near "NOT": NOT NULL as a table constraint is PostgreSQL 18', _location(
            node
        )
    return None


def _column(node: ast.ColumnDef) -> Found:
    if node.storage_name:
        return (
            'syntax error at or near "STORAGE": STORAGE in a column definition is PostgreSQL 16',
            _location(node),
        )
    return None


def _range_subselect(node: ast.RangeSubselect) -> Found:
    if node.alias is not None:
        return None
    sub = node.subquery
    if isinstance(sub, ast.SelectStmt) and sub.valuesLists:
        return "VALUES in FROM must have an alias", None
    return "subquery in FROM must have an alias", None


_NEWER_ALTER = {
    "AT_SetExpression": "SET EXPRESSION is PostgreSQL 17",
    "AT_MergePartitions": "MERGE PARTITIONS is newer than PostgreSQL 15",
    "AT_SplitPartition": "SPLIT PARTITION is newer than PostgreSQL 15",
}


def _alter_table_cmd(node: ast.AlterTableCmd) -> Found:
    name = getattr(node.subtype, "name", str(node.subtype))
    if name in _NEWER_ALTER:
        return f"syntax error: {_NEWER_ALTER[name]}", None
    if name == "AT_SetAccessMethod" and node.name is None:
        return 'syntax error at or near "DEFAULT": SET ACCESS METHOD DEFAULT is PostgreSQL 17', None
    definition = node.def_
    if isinstance(definition, ast.ATAlterConstraint) and (
        definition.alterInheritability or definition.alterEnforceability
    ):
        return "syntax error: ALTER CONSTRAINT ... [NO] INHERIT / [NOT] ENFORCED is PostgreSQL 18", None
    return None


def _returning(node: ast.ReturningClause) -> Found:
    if node.options:
        return "syntax error: RETURNING WITH (OLD/NEW AS ...) is PostgreSQL 18", None
    return None


def _merge(node: ast.MergeStmt) -> Found:
    returning = node.returningClause
    if returning is not None and returning.exprs:
        return 'syntax error at or near "RETURNING": MERGE ... RETURNING is PostgreSQL 17', None
    return None


def _merge_when(node: ast.MergeWhenClause) -> Found:
    if node.matchKind == enums.MergeMatchKind.MERGE_WHEN_NOT_MATCHED_BY_SOURCE:
        return 'syntax error at or near "BY": WHEN NOT MATCHED BY SOURCE is PostgreSQL 17', None
    return None


def _grant_role(node: ast.GrantRoleStmt) -> Found:
    for option in node.opt or ():
        if isinstance(option, ast.DefElem) and option.defname != "admin":
            word = str(option.defname).upper()
            return f'syntax error at or near "{word}": GRANT ... WITH {word} is PostgreSQL 16', _location(
                option
            )
    return None


def _statistics(node: ast.CreateStatsStmt) -> Found:
    if not node.defnames:
        return 'syntax error at or near "ON": CREATE STATISTICS without a name is PostgreSQL 16', None
    return None


def _reindex(node: ast.ReindexStmt) -> Found:
    kind = getattr(node.kind, "name", "")
    if kind in ("REINDEX_OBJECT_DATABASE", "REINDEX_OBJECT_SYSTEM") and not node.name:
        return "syntax error: REINDEX DATABASE/SYSTEM without a name is PostgreSQL 16", None
    return None


def _json(node: Any) -> Found:
    return f"syntax error: {type(node).__name__} is PostgreSQL 16 or later SQL/JSON syntax", _location(node)


_CHECKS: dict[type, Callable[[Any], Found]] = {
    ast.Constraint: _constraint,
    ast.ColumnDef: _column,
    ast.RangeSubselect: _range_subselect,
    ast.AlterTableCmd: _alter_table_cmd,
    ast.ReturningClause: _returning,
    ast.MergeStmt: _merge,
    ast.MergeWhenClause: _merge_when,
    ast.GrantRoleStmt: _grant_role,
    ast.CreateStatsStmt: _statistics,
    ast.ReindexStmt: _reindex,
    **{
        cls: _json
        for name, cls in vars(ast).items()
        if isinstance(cls, type)
        and issubclass(cls, ast.Node)
        and (name.startswith("Json") or name == "MergeSupportFunc")
    },
}
