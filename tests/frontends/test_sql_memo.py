"""The SQL frontend's memos (format_type text of built-in type names, canonical texts of
simple defaults, CHECKs and predicates) must never change what it compiles: every corpus
case, and scripts where what an expression means changes between two spellings of it,
compile to the same IR with the memos as without them."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from typing import Any

import pytest

from nself.frontends import sql_expr
from nself.frontends.sql import compile_migrations_with_warnings, compile_sql_with_warnings
from nself.frontends.sql_expr.catalog import type_catalog
from nself.ir import CatalogBuilder, catalog_to_json
from tests.conftest import CORPUS
from tests.corpus import all_cases


def _without_memos(monkeypatch: pytest.MonkeyPatch) -> None:
    def compute(
        kind: str, node: Any, scope: Any, compute: Callable[[], Any], target_type: str | None = None
    ) -> Any:
        return compute()

    monkeypatch.setattr(sql_expr, "_memoised", compute)
    monkeypatch.setattr(sql_expr, "_builtin_type_key", lambda type_name, search_path: None)


# Each script spells one expression twice, around a change to what it means.
SCRIPTS = {
    "regclass literal, relation created": """
        CREATE SCHEMA s;
        SET search_path = public, s;
        CREATE TABLE s.x (a int);
        CREATE TABLE t1 (r regclass DEFAULT 'x', c regclass DEFAULT 'x'::regclass);
        CREATE TABLE public.x (a int);
        CREATE TABLE t2 (r regclass DEFAULT 'x', c regclass DEFAULT 'x'::regclass);
    """,
    "search_path puts a schema before pg_catalog": """
        CREATE SCHEMA s;
        CREATE DOMAIN s.int4 AS bigint;
        CREATE TABLE t1 (a int4 DEFAULT 1, b int4 CHECK (b > 0));
        SET search_path = s, pg_catalog, public;
        CREATE TABLE public.t2 (a int4 DEFAULT 1, b int4 CHECK (b > 0));
    """,
    "function defined between two calls": """
        CREATE TABLE t1 (a text DEFAULT nextid(), b timestamptz DEFAULT now());
        CREATE FUNCTION nextid() RETURNS text LANGUAGE sql AS 'SELECT ''x''';
        CREATE FUNCTION public.now() RETURNS date LANGUAGE sql AS 'SELECT current_date';
        CREATE TABLE t2 (a text DEFAULT nextid(), b timestamptz DEFAULT now());
    """,
    "column type changes": """
        CREATE TABLE t1 (a int CHECK (a > 0), b int);
        CREATE INDEX ON t1 (b) WHERE a > 0;
        ALTER TABLE t1 ALTER COLUMN a TYPE numeric;
        CREATE INDEX ON t1 (b) WHERE a > 0;
        CREATE TABLE t2 (a numeric CHECK (a > 0));
    """,
    "enum relabelled, dropped, made a domain": """
        CREATE TYPE mood AS ENUM ('sad', 'ok');
        CREATE TABLE t1 (m mood DEFAULT 'ok', n int);
        CREATE INDEX ON t1 (n) WHERE m <> 'sad';
        ALTER TYPE mood ADD VALUE 'happy';
        CREATE TABLE t2 (m mood DEFAULT 'ok', n int);
        CREATE INDEX ON t2 (n) WHERE m <> 'sad';
        DROP TABLE t1, t2;
        DROP TYPE mood;
        CREATE DOMAIN mood AS text CHECK (VALUE <> '');
        CREATE TABLE t3 (m mood DEFAULT 'ok', n int);
        CREATE INDEX ON t3 (n) WHERE m <> 'sad';
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_memos_change_nothing_in_scripts(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with_memos = compile_sql_with_warnings(SCRIPTS[name])
    _without_memos(monkeypatch)
    without = compile_sql_with_warnings(SCRIPTS[name])
    assert catalog_to_json(with_memos.catalog) == catalog_to_json(without.catalog)
    assert with_memos.warnings == without.warnings


def test_memos_change_nothing_in_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (CORPUS / "README.md").exists():
        pytest.skip("corpus missing")
    sources = [case.root if case.root is not None else case.files[0] for case in all_cases(CORPUS)]
    with_memos = [compile_migrations_with_warnings(source) for source in sources]
    _without_memos(monkeypatch)
    for source, memoised in zip(sources, with_memos, strict=True):
        plain = compile_migrations_with_warnings(source)
        assert catalog_to_json(memoised.catalog) == catalog_to_json(plain.catalog), source
        assert memoised.warnings == plain.warnings, source


def test_a_builder_and_its_type_catalog_are_freed_together() -> None:
    """type_catalog's cache holds a builder weakly: compiling does not keep every schema
    ever compiled alive (a watch session compiles one per change)."""
    builder = CatalogBuilder()
    assert type_catalog(builder) is type_catalog(builder)
    gone = weakref.ref(builder)
    del builder
    gc.collect()
    assert gone() is None
