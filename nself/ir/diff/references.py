"""References inside IR text (defaults, checks, view bodies, policies) resolved to dependency keys:
the canonical text qualifies everything outside pg_catalog, so `schema.name` pairs that name an
object of either catalog are dependencies."""

from __future__ import annotations

import re
from functools import lru_cache

from nself.ir.diff.deps import DepKey, _func_key, node_key
from nself.ir.model import Catalog
from nself.ir.names import qualified_names_in, unquote_ident, words_in

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'


_TYPE_NAME = re.compile(rf"({_IDENT})\.({_IDENT})")


def _unquote(ident: str) -> str:
    return unquote_ident(ident, fold=True)


@lru_cache(maxsize=65536)
def _user_type_of(data_type: str) -> tuple[str, str] | None:
    """(schema, name) of a schema-qualified type (`public.mood[]`), else None. Kept: a
    catalog spells few types, over and over."""
    text = data_type.strip()
    while text.endswith("[]"):
        text = text[:-2].rstrip()
    m = _TYPE_NAME.fullmatch(text)
    if m is None:
        return None
    return _unquote(m.group(1)), _unquote(m.group(2))


@lru_cache(maxsize=65536)
def _words(text: str | None) -> frozenset[str]:
    """The words of `text`, kept: a diff asks again for every pass over the dependants."""
    if not text:
        return frozenset()
    return frozenset(words_in(text))


class _References:
    """Resolves names found in IR text to dependency keys, over both catalogs."""

    def __init__(self, *catalogs: Catalog) -> None:
        self.names: dict[tuple[str, str], set[DepKey]] = {}
        self.extension_schemas: dict[str, set[DepKey]] = {}
        for catalog in catalogs:
            for kind in (
                "collations",
                "enums",
                "domains",
                "composite_types",
                "range_types",
                "sequences",
                "tables",
                "views",
            ):
                for node in getattr(catalog, kind):
                    self.names.setdefault((node.schema, node.name), set()).add(node_key(node))
            for f in catalog.functions:
                self.names.setdefault((f.schema, f.name), set()).add(_func_key(f))
            for o in catalog.operators:
                self.names.setdefault((o.schema, o.name), set()).add(node_key(o))
            for e in catalog.extensions:
                self.extension_schemas.setdefault(e.schema, set()).add(node_key(e))
        self._cache: dict[str, frozenset[DepKey]] = {}

    def in_text(self, text: str | None) -> frozenset[DepKey]:
        if not text:
            return frozenset()
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        found: set[DepKey] = set()
        for schema, name in qualified_names_in(text, fold=True):
            keys = self.names.get((schema, name))
            if keys:
                found |= keys
            elif schema in self.extension_schemas and schema != "pg_catalog":
                found |= self.extension_schemas[schema]
        result = frozenset(found)
        self._cache[text] = result
        return result

    def in_type(self, data_type: str) -> frozenset[DepKey]:
        ref = _user_type_of(data_type)
        if ref is None:
            return frozenset()
        keys = self.names.get(ref)
        if keys:
            return frozenset(keys)
        return frozenset(self.extension_schemas.get(ref[0], ()))
