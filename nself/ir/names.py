"""Names in SQL text: quoting an identifier as PostgreSQL's quote_ident() does, and
finding the `schema.name` pairs written in a text.

Both are used by the IR (the diff's references) and by the SQL backend, so they live in
the IR, which imports nothing else of nself. The scanner is linear in the length of the
text, whatever it holds (a 100 KB default, unbalanced quotes): it tokenises once with a
regular expression whose every alternative stops at the next double quote or at the end
of a word, instead of searching for `ident . ident` at every position, which backtracks
over long words and made long literals take quadratic time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from types import ModuleType
from typing import Any

__all__ = ["qualified_name", "qualified_names_in", "quote_ident", "unquote_ident", "words_in"]


def _keywords() -> Any:
    """pglast's keyword lists (PostgreSQL's kwlist.h, the parser's own). Read from its
    keywords module without running the package's __init__, which loads the whole parser
    (pglast.ast, enums): a tenth of a second that quoting a name does not need, for the
    commands that never parse SQL (live introspection, schema diff of databases)."""
    import sys

    if "pglast" in sys.modules:
        import pglast.keywords

        return pglast.keywords
    try:
        import importlib.util
        from pathlib import Path

        found = importlib.util.find_spec("pglast")
        origin = found.origin if found is not None else None
        spec = importlib.util.spec_from_file_location(
            "_nself_pglast_keywords", Path(str(origin)).with_name("keywords.py")
        )
        if spec is None or spec.loader is None:
            raise ImportError("pglast.keywords")
        module: ModuleType = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except (ImportError, OSError):  # an unusual install: the ordinary import then
        import pglast.keywords

        return pglast.keywords


_KEYWORDS = _keywords()
# Keywords that cannot be used as a bare column or table name; PostgreSQL's
# quote_identifier quotes every keyword that is not UNRESERVED.
_QUOTED_KEYWORDS = frozenset(
    _KEYWORDS.RESERVED_KEYWORDS | _KEYWORDS.COL_NAME_KEYWORDS | _KEYWORDS.TYPE_FUNC_NAME_KEYWORDS
) - frozenset(_KEYWORDS.UNRESERVED_KEYWORDS)
_SAFE_IDENT = re.compile(r"[a-z_][a-z0-9_]*\Z")


@lru_cache(maxsize=65536)
def quote_ident(name: str) -> str:
    """`name` as PostgreSQL's quote_ident() writes it: bare when it is lower case letters,
    digits and underscores not starting with a digit and not a (non-unreserved) keyword;
    otherwise in double quotes with inner quotes doubled (so `order` and `a$b` are quoted)."""
    if _SAFE_IDENT.match(name) and name not in _QUOTED_KEYWORDS:
        return name
    return '"' + name.replace('"', '""') + '"'


def qualified_name(schema: str | None, name: str) -> str:
    """`schema.name` with each part quoted as needed (just `name` when schema is None)."""
    if schema is None:
        return quote_ident(name)
    return f"{quote_ident(schema)}.{quote_ident(name)}"


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
