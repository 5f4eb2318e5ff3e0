"""Names in SQL text: quoting an identifier as PostgreSQL 15's quote_ident() does, string
literals as PostgreSQL writes them, and finding the `schema.name` pairs written in a text.

The one quoting module of nself: every layer (frontends, IR, backends, runtime) quotes
through it, so it lives in the IR, which imports nothing else of nself. The scanner is linear in the length of the
text, whatever it holds (a 100 KB default, unbalanced quotes): it tokenises once with a
regular expression whose every alternative stops at the next double quote or at the end
of a word, instead of searching for `ident . ident` at every position, which backtracks
over long words and made long literals take quadratic time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

__all__ = [
    "PG15_QUOTED_KEYWORDS",
    "is_plain",
    "qualified_name",
    "qualified_names_in",
    "quote_ident",
    "quote_literal",
    "quote_literal_escaped",
    "readable_ident",
    "unquote_ident",
    "words_in",
]

# The keywords PostgreSQL 15's quote_ident() quotes: every keyword whose category is not
# UNRESERVED (`SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'` on 15; the test
# tests/ir/test_names_postgresql.py checks it against a live server). Written out rather
# than taken from pglast, whose grammar is newer (PostgreSQL 18: `json`, `merge_action`,
# `system_user`, ... are keywords there), so that `json.t_id_seq` stays bare as 15 prints it.
PG15_QUOTED_KEYWORDS = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "between",
        "bigint",
        "binary",
        "bit",
        "boolean",
        "both",
        "case",
        "cast",
        "char",
        "character",
        "check",
        "coalesce",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "dec",
        "decimal",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "exists",
        "extract",
        "false",
        "fetch",
        "float",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "greatest",
        "group",
        "grouping",
        "having",
        "ilike",
        "in",
        "initially",
        "inner",
        "inout",
        "int",
        "integer",
        "intersect",
        "interval",
        "into",
        "is",
        "isnull",
        "join",
        "lateral",
        "leading",
        "least",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "national",
        "natural",
        "nchar",
        "none",
        "normalize",
        "not",
        "notnull",
        "null",
        "nullif",
        "numeric",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "out",
        "outer",
        "overlaps",
        "overlay",
        "placing",
        "position",
        "precision",
        "primary",
        "real",
        "references",
        "returning",
        "right",
        "row",
        "select",
        "session_user",
        "setof",
        "similar",
        "smallint",
        "some",
        "substring",
        "symmetric",
        "table",
        "tablesample",
        "then",
        "time",
        "timestamp",
        "to",
        "trailing",
        "treat",
        "trim",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "values",
        "varchar",
        "variadic",
        "verbose",
        "when",
        "where",
        "window",
        "with",
        "xmlattributes",
        "xmlconcat",
        "xmlelement",
        "xmlexists",
        "xmlforest",
        "xmlnamespaces",
        "xmlparse",
        "xmlpi",
        "xmlroot",
        "xmlserialize",
        "xmltable",
    ]
)
_PLAIN = re.compile(r"[a-z_][a-z0-9_]*\Z")

# The schemas unqualified names are looked up in by default (PostgreSQL's search_path).
DEFAULT_SEARCH_PATH: tuple[str, ...] = ("$user", "public")


def is_plain(name: str) -> bool:
    """Whether `name` is lower case ASCII letters, digits and underscores, not starting with
    a digit: the names quote_ident() leaves bare unless they are keywords."""
    return _PLAIN.match(name) is not None


@lru_cache(maxsize=65536)
def quote_ident(name: str, *, always: bool = False) -> str:
    """`name` as PostgreSQL 15's quote_ident() writes it: bare when it is lower case ASCII
    letters, digits and underscores not starting with a digit and not a keyword other than
    an unreserved one; otherwise in double quotes with inner quotes doubled (so `order`,
    `a$b`, `Film` and the empty name are quoted).

    `always`: in double quotes whatever the name. For SQL the runtime sends to a server of
    any version (whose keyword list may be longer than 15's) and for scripts that must not
    depend on a keyword list at all."""
    if not always and is_plain(name) and name not in PG15_QUOTED_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified_name(schema: str | None, name: str, *, always: bool = False) -> str:
    """`schema.name` with each part quoted as quote_ident() does (just `name` when schema is
    None); `always`: both parts in double quotes."""
    if schema is None:
        return quote_ident(name, always=always)
    return f"{quote_ident(schema, always=always)}.{quote_ident(name, always=always)}"


_READABLE = re.compile(r"[a-z_][a-z0-9_$]*\Z")


def readable_ident(name: str) -> str:
    """A name as nself's prose (the text and docs outputs) writes it, so that
    `"Sales Data"."Order Items"` reads unambiguously: bare when lower case ASCII letters,
    digits, `_` and `$` not starting with a digit, keywords included (prose is not SQL);
    otherwise double-quoted as quote_ident() quotes."""
    return name if _READABLE.match(name) else quote_ident(name, always=True)


def quote_literal(text: str) -> str:
    """A string constant as PostgreSQL prints one in pg_get_expr() and pg_dump output
    (ruleutils' simple_quote_literal with standard_conforming_strings on): in single quotes,
    inner quotes doubled, backslashes as they are."""
    return "'" + text.replace("'", "''") + "'"


def quote_literal_escaped(text: str) -> str:
    """A string constant as PostgreSQL's quote_literal() function writes it: as
    quote_literal(), but `E'...'` with backslashes doubled when the text holds one (valid
    whatever standard_conforming_strings is)."""
    if "\\" in text:
        return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return quote_literal(text)


def unquote_ident(ident: str, *, fold: bool = False) -> str:
    """A written identifier as its name: quotes removed (inner quotes undoubled); a bare
    one lower-cased when `fold` (as PostgreSQL folds it)."""
    if ident.startswith('"'):
        return ident[1:-1].replace('""', '"')
    return ident.lower() if fold else ident


# One token per match, each alternative bounded: a double-quoted segment ends at the next
# double quote (`"a""b"` is two adjacent segments, joined below), a word at its last
# word character, anything else at the next quote or word start.
_TOKEN = re.compile(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_$]*+|[^"A-Za-z_]++|"')
_DOT = re.compile(r"\s*\.\s*")


def _identifiers(text: str) -> Iterator[tuple[str | None, str]]:
    """(identifier as written, or None for anything else, token text), in order. Adjacent
    double-quoted segments form one quoted identifier."""
    quoted: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if len(token) > 1 and token[0] == '"' and token[-1] == '"':
            quoted.append(token)
            continue
        if quoted:
            yield "".join(quoted), "".join(quoted)
            quoted = []
        if token[0].isalpha() or token[0] == "_":
            yield token, token
        else:
            yield None, token
    if quoted:
        yield "".join(quoted), "".join(quoted)


def qualified_names_in(text: str, *, fold: bool = False) -> Iterator[tuple[str, str]]:
    """Every `schema.name` pair written in `text` (quotes removed; bare names lower-cased
    when `fold`), left to right, pairs not overlapping. Over-matches (`alias.column`, text
    inside string literals) are harmless to callers that look the pairs up."""
    previous: str | None = None  # an identifier, then an identifier followed by a dot
    dotted = False
    for ident, token in _identifiers(text):
        if ident is None:
            if previous is not None and not dotted and _DOT.fullmatch(token):
                dotted = True
            else:
                previous, dotted = None, False
            continue
        if previous is not None and dotted:
            yield unquote_ident(previous, fold=fold), unquote_ident(ident, fold=fold)
            previous, dotted = None, False
        else:
            previous, dotted = ident, False


def words_in(text: str, *, fold: bool = True) -> Iterator[str]:
    """Every identifier written in `text`, quotes removed (bare ones lower-cased when
    `fold`)."""
    for ident, _token in _identifiers(text):
        if ident is not None:
            yield unquote_ident(ident, fold=fold)
