"""Running a project's SQL files (migrations, seeds) on one database session.

One owner for what every runner of those files needs, so that `db migrate`,
`db migrate:fresh`, `data reset` and `seed` cannot differ:
- `locked_connection`: the advisory lock that serialises runs across processes (each
  file applies once however many processes run at the same time);
- `clean_session`: every file starts from a clean session, so that what one file sets
  (`search_path`, a role, a temporary table) never reaches the next, and a sequence of
  files behaves the same run in one process or in several;
- `split_statements` / `run_script`: statements split by PostgreSQL 15's grammar
  (nself.pg15, the parse entry point the sql frontend and lint use too), an error naming
  file:line:col; `check_syntax`: what 15's grammar refuses, refused before a run starts;
- `check_transaction_control`: a `COMMIT` inside a file that nself runs in its own
  transaction would commit half of it without its history row; refused before anything
  runs, but for a migration's plain `BEGIN; ... COMMIT;` blocks, which are folded into the
  file's transaction (`folded_blocks`);
- `database_error`: a database error that is not the file's (permission denied on
  `_nself`, say) as one line.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from pglast import ast
from pglast import parser as pg_parser
from pglast.enums.parsenodes import TransactionStmtKind

from nself import pg15
from nself.connection import connect
from nself.errors import NselfError, SourceError, position_of

# Any constant would do; this one is "nself" in ASCII so it is recognisable in pg_locks.
ADVISORY_LOCK_KEY = 0x6E73656C66

# What DISCARD ALL does (its documented equivalent), less `pg_advisory_unlock_all()`:
# DISCARD ALL cannot run inside a transaction block (a `seed --fresh` run is one
# transaction) and would release the lock that serialises the run. Sent as one simple
# query: one round trip. psycopg sees the DEALLOCATE ALL and forgets its prepared statements.
_CLEAN_SESSION = (
    b"CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL; UNLISTEN *; "
    b"DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES"
)

# Transaction control that ends or opens a transaction. SAVEPOINT, RELEASE and ROLLBACK TO
# stay inside the transaction that holds them and are allowed everywhere.
_OPENS = {TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START}
_ENDS = {TransactionStmtKind.TRANS_STMT_COMMIT, TransactionStmtKind.TRANS_STMT_ROLLBACK}
_WITHIN = {
    TransactionStmtKind.TRANS_STMT_SAVEPOINT,
    TransactionStmtKind.TRANS_STMT_RELEASE,
    TransactionStmtKind.TRANS_STMT_ROLLBACK_TO,
}
_TWO_PHASE = {
    TransactionStmtKind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
    TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
    TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
}
# First tokens of the statements above (the scanner's names): only those are parsed.
_TRANSACTION_TOKENS = {"BEGIN_P", "START", "COMMIT", "END_P", "ROLLBACK", "ABORT_P", "PREPARE"}


@dataclass(frozen=True, slots=True)
class Statement:
    offset: int  # character offset of the statement in its script
    text: str


@contextlib.contextmanager
def locked_connection(url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection holding nself's advisory lock, shared by the migrations and
    seeds runners: concurrent runs wait for each other, so each file applies once."""
    with connect(url, autocommit=True) as conn:
        with database_error("cannot take nself's advisory lock"):
            conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            yield conn
        finally:
            # Closing the connection releases the lock anyway; a broken one says nothing more.
            with contextlib.suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def clean_session(conn: psycopg.Connection[Any]) -> None:
    """Put the session back as it was when it connected (settings, role, temporary tables,
    prepared statements, cursors, listeners), inside or outside a transaction, keeping
    nself's advisory lock."""
    conn.execute(_CLEAN_SESSION)


def split_statements(sql: str) -> list[Statement]:
    """Each statement of `sql` with its offset, split by PostgreSQL 15's grammar
    (nself.pg15: `BEGIN ATOMIC ... END` bodies stay whole, words that are keywords only
    after 15 are the identifiers 15 reads); by the scanner alone when the script does not
    parse, so that the server reports the error at its position."""
    return _split(sql)[0]


def _split(sql: str) -> tuple[list[Statement], pg15.Pg15SyntaxError | None]:
    """The statements, and 15's grammar error when the scanner had to split them."""
    try:
        parts = pg15.split(sql)
    except pg15.Pg15SyntaxError as error:
        try:
            tokens = pg_parser.scan(sql)
        except pg_parser.ParseError:
            return [Statement(0, sql)], error
        return _split_at_semicolons(sql, tokens), error
    return [Statement(piece.start, sql[piece]) for piece in parts], None


def check_syntax(sql: str, path: Path, first_line: int) -> None:
    """Refuse, naming path:line:col, what PostgreSQL 15's grammar refuses in `sql` (a syntax
    error, or syntax newer than 15 that pglast's grammar would take): before anything of
    the run is applied, rather than when the server reaches it."""
    try:
        pg15.parse(sql)
    except pg15.Pg15SyntaxError as error:
        line, col = position_of(sql, error.location)
        raise SourceError(path, line + first_line - 1, col, error.message) from None


def _split_at_semicolons(sql: str, tokens: list[pg_parser.Token]) -> list[Statement]:
    """Every statement between the scanner's semicolons, whatever its first word: the one
    that does not parse must reach the server, which reports its error (pglast's own
    scanner split drops a statement that starts with a word it does not know, so that a
    misspelt `selec 1` ran nothing and succeeded)."""
    statements: list[Statement] = []
    start = end = None
    for token in [*tokens, None]:
        if token is not None and token.name in ("SQL_COMMENT", "C_COMMENT"):
            continue
        if token is None or token.name == "ASCII_59":
            if start is not None and end is not None:
                statements.append(Statement(start, sql[start:end]))
            start = end = None
            continue
        if start is None:
            start = token.start
        end = token.end + 1
    return statements


def _first_token(text: str) -> pg_parser.Token | None:
    try:
        tokens = pg_parser.scan(text)
    except pg_parser.ParseError:
        return None
    return next((t for t in tokens if t.name not in ("SQL_COMMENT", "C_COMMENT")), None)


def _transaction_control(statement: Statement) -> tuple[TransactionStmtKind, str, int] | None:
    """(kind, keyword as written, offset of the keyword) of a transaction control statement."""
    first = _first_token(statement.text)
    if first is None or first.name not in _TRANSACTION_TOKENS:
        return None
    try:
        parsed = pg15.parse(statement.text)[0]
    except pg15.Pg15SyntaxError:
        return None
    node = parsed[0].stmt if len(parsed) == 1 else None
    if not isinstance(node, ast.TransactionStmt) or node.kind is None:
        return None
    kind = TransactionStmtKind(node.kind)
    keyword = _TWO_PHASE.get(kind) or statement.text[first.start : first.end + 1].upper()
    return kind, keyword, statement.offset + first.start


def folded_blocks(sql: str) -> frozenset[int]:
    """Offsets of the statements that open and close the `BEGIN; ... COMMIT;` blocks of a
    file (a plain BEGIN or START TRANSACTION, then COMMIT or END before any other
    transaction control), as Supabase projects write around a few statements. In a file
    nself runs in one transaction these statements are left out (`run_script(fold=...)`):
    the block's statements commit with the rest of the file and its history row, all or
    nothing, which is what the block asked for. Any other transaction control is not folded."""
    folded: set[int] = set()
    opened: int | None = None
    statements, parse_error = _split(sql)
    if parse_error is not None:
        return frozenset()
    for statement in statements:
        found = _transaction_control(statement)
        if found is None or found[0] in _WITHIN:
            continue
        kind = found[0]
        if kind in _OPENS and opened is None and _plain_begin(statement.text):
            opened = statement.offset
        elif (
            kind == TransactionStmtKind.TRANS_STMT_COMMIT
            and opened is not None
            and _plain_begin(statement.text)
        ):
            folded.update((opened, statement.offset))
            opened = None
        else:
            opened = None
    return frozenset(folded)


def _plain_begin(text: str) -> bool:
    """BEGIN / START TRANSACTION / COMMIT / END without options (isolation level, AND CHAIN)."""
    node = pg15.parse(text)[0][0].stmt
    return isinstance(node, ast.TransactionStmt) and not node.options and not node.chain


def check_transaction_control(
    sql: str, path: Path, first_line: int, *, in_transaction: bool, what: str = "file", fold: bool = False
) -> None:
    """Refuse, naming file:line:col, transaction control that would break the run of a
    `what` (migration, seed): where nself runs it in its own transaction, any
    BEGIN/COMMIT/ROLLBACK/END (part of it would commit without its history row) but, with
    `fold`, the `BEGIN; ... COMMIT;` blocks that `folded_blocks` finds; where it runs
    without one, a transaction left open at the end (the history row would be written
    inside it). Two-phase commit is refused in both. Before all that, what PostgreSQL 15's
    grammar refuses (`check_syntax`): the run's callers check every file first, so nothing
    of a run is applied when one of its files would fail to parse."""

    def refuse(offset: int, message: str) -> None:
        line, col = position_of(sql, offset)
        raise SourceError(path, line + first_line - 1, col, message)

    check_syntax(sql, path, first_line)
    opened: tuple[str, int] | None = None
    statements, _ = _split(sql)  # parses: split by 15's grammar
    folded = folded_blocks(sql) if fold and in_transaction else frozenset()
    for statement in statements:
        found = _transaction_control(statement)
        if found is None or found[0] in _WITHIN or statement.offset in folded:
            continue
        kind, keyword, offset = found
        if kind in _TWO_PHASE:
            refuse(offset, f"{keyword}: two-phase commit cannot be part of a {what}")
        if in_transaction:
            hint = ", or mark the file `-- nself:no-transaction`" if what == "migration" else ""
            refuse(
                offset,
                f"{keyword} inside a {what} that nself runs in one transaction would commit part of "
                f"it without its history row; remove it (nself commits the {what} and its history "
                f"together){hint}",
            )
        opened = (keyword, offset) if kind in _OPENS else None
    if opened is not None:
        refuse(
            opened[1],
            f"{opened[0]} opens a transaction that the {what} never ends (COMMIT or ROLLBACK): "
            "its history row would be written inside it",
        )


def run_script(
    conn: psycopg.Connection[Any],
    sql: str,
    path: Path,
    first_line: int,
    *,
    fold: bool = False,
    skip: Callable[[str], str | None] | None = None,
) -> list[str]:
    """Run each statement of `sql`; an error names path:line:col of the failing statement.
    With `fold` (inside nself's own transaction), the BEGIN and COMMIT of the file's
    `BEGIN; ... COMMIT;` blocks are left out (see `folded_blocks`). `skip` says why a
    statement is not run (None: run it); the reasons come back as `path:line: reason`."""
    folded = folded_blocks(sql) if fold else frozenset()
    skipped: list[str] = []
    for statement in split_statements(sql):
        if statement.offset in folded:
            continue
        reason = skip(statement.text) if skip is not None else None
        if reason is not None:
            line, _ = position_of(sql, statement.offset + _leading_blank(statement.text))
            skipped.append(f"{path}:{line + first_line - 1}: {reason}")
            continue
        try:
            conn.execute(statement.text.encode())
        except psycopg.Error as exc:
            diag = exc.diag
            position = statement.offset + _leading_blank(statement.text)
            if diag.statement_position:
                position = statement.offset + int(diag.statement_position) - 1
            line, col = position_of(sql, position)
            message = diag.message_primary or str(exc).splitlines()[0]
            raise SourceError(path, line + first_line - 1, col, message) from None
    return skipped


def _leading_blank(text: str) -> int:
    """Characters of whitespace and comments before the statement's first token."""
    first = _first_token(text)
    return first.start if first is not None else 0


def ensure_table(conn: psycopg.Connection[Any], qualified: str, create: str, *, what: str) -> None:
    """Create one of nself's own tables (`qualified`, in its schema) unless it exists, so that a
    role that may use it but not create in the database still can; `what` names it in errors."""
    schema = qualified.split(".", 1)[0]
    with database_error(f"cannot use {what} ({qualified})"):
        if conn.execute("SELECT to_regclass(%s) IS NULL", (qualified,)).fetchone() == (True,):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}".encode())
            conn.execute(create.encode())


@contextlib.contextmanager
def database_error(doing: str) -> Iterator[None]:
    """Turn a database error raised by nself's own statements (not a file's) into one line:
    `doing: PostgreSQL's message`."""
    try:
        yield
    except psycopg.Error as exc:
        message = exc.diag.message_primary or (str(exc).splitlines() or [type(exc).__name__])[0]
        raise NselfError(f"{doing}: {message}") from None
