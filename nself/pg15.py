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
   PostgreSQL 15 and through the frontend: they must agree on which are syntax errors.

This is the one parse entry point of nself: the sql frontend, the runtime's script runner
(`nself.runtime.session`: splitting files into statements, refusing what 15 refuses before
anything runs) and lint's migration rules all read SQL through `parse`, `split` and
`parse_statements` here, so that what PostgreSQL 15 refuses is refused everywhere, at the
file's line and column. It lives outside nself.frontends because a backend (lint) may not
import a frontend."""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast, enums
from pglast.parser import ParseError, scan
from pglast.parser import split as pglast_split

from nself.sql_tree import first_found

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


class Pg15SyntaxError(Exception):
    """What PostgreSQL 15's grammar refuses in a text: its message, and the character
    offset in that text (as the file holds it) where it is."""

    def __init__(self, message: str, location: int) -> None:
        super().__init__(message, location)
        self.message, self.location = message, location


def _written(text: str) -> Pg15Text:
    try:
        return as_pg15(text)
    except NewerSyntax as exc:
        raise Pg15SyntaxError(exc.message, exc.location) from None


def _parse_error(exc: ParseError, written: Pg15Text) -> Pg15SyntaxError:
    # args: (message, character index of the error in the written text)
    location = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else 0
    location = max(0, min(location, len(written.text)))
    return Pg15SyntaxError(
        str(exc.args[0]) if exc.args else str(exc), written.positions.source_offset(location)
    )


def parse(text: str) -> tuple[tuple[ast.RawStmt, ...], Positions]:
    """The statements of `text` as PostgreSQL 15 reads them, and where the offsets of their
    trees lie in `text` (`positions.source_offset`). Raises Pg15SyntaxError (offset in
    `text`) at a syntax error, or at syntax newer than 15 (see `newer_syntax`)."""
    written = _written(text)
    try:
        statements = parse_statements(written.text)
    except ParseError as exc:
        raise _parse_error(exc, written) from None
    for raw in statements:
        newer = newer_syntax(raw.stmt)
        if newer is not None:
            message, location = newer
            if location is None:  # the statement's own: its first word
                location = skip_blank(written.text, raw.stmt_location or 0)
            raise Pg15SyntaxError(message, written.positions.source_offset(location))
    return statements, written.positions


def split(text: str) -> list[slice]:
    """Each statement of `text` as a slice of it (without its `;`), split by PostgreSQL 15's
    grammar, so that `BEGIN ATOMIC ... END` bodies stay whole. Raises Pg15SyntaxError
    where 15's grammar fails (newer syntax in the trees is `parse`'s to find)."""
    written = _written(text)
    try:
        parts = pglast_split(written.text, with_parser=True, only_slices=True)
    except ParseError as exc:
        raise _parse_error(exc, written) from None
    where = written.positions.source_offset
    return [slice(where(part.start), where(part.stop)) for part in parts]


def skip_blank(text: str, offset: int) -> int:
    """The offset of the first character at or after `offset` that is neither blank nor in
    a comment."""
    n = len(text)
    while offset < n:
        if text[offset].isspace():
            offset += 1
        elif text.startswith("--", offset):
            end = text.find("\n", offset)
            offset = n if end < 0 else end + 1
        elif text.startswith("/*", offset):
            end = text.find("*/", offset)
            offset = n if end < 0 else end + 2
        else:
            break
    return offset


# --------------------------------------------------------------------------- parsing


def _boolean_setattr(node: object, name: str, value: object) -> None:
    # the one field pglast's parser hands over as an int
    object.__setattr__(node, name, bool(value) if name == "boolval" and value is not None else value)


def parse_statements(text: str) -> tuple[ast.RawStmt, ...]:
    """pglast.parse_sql, four times faster: while the parser builds the tree, nodes skip
    the per-attribute validation of pglast.ast.Node.__setattr__ (the parser's values are
    already of the right types, but for Boolean.boolval; tests/frontends/test_sql.py
    checks the trees are equal). Not thread-safe, like the rest of the interpreter."""
    with unvalidated_nodes():
        return tuple(pglast.parse_sql(text))


# held while pglast's classes are patched: two threads (schema diff reads both sides at once)
# must not patch and restore them across each other
_PATCHING = threading.RLock()


@contextmanager
def unvalidated_nodes() -> Iterator[None]:
    """pglast nodes set without per-attribute validation (for trees pglast itself built)."""
    with _PATCHING:
        if "__setattr__" in ast.Boolean.__dict__:  # already patched, by this thread
            yield
            return
        validating = ast.Node.__setattr__
        ast.Node.__setattr__ = object.__setattr__  # type: ignore[assignment,method-assign]
        ast.Boolean.__setattr__ = _boolean_setattr  # type: ignore[assignment,method-assign]
        try:
            yield
        finally:
            ast.Node.__setattr__ = validating  # type: ignore[method-assign]
            del ast.Boolean.__setattr__


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
