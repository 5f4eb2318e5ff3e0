"""sql_tree.walk visits only the attributes that may hold nodes: the same nodes, in the
same order, as a walk over every attribute."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pglast import ast

from nself.frontends.sql import parse_statements
from nself.sql_tree import first_found, walk
from tests.conftest import CORPUS

PAGILA = CORPUS / "schemas" / "pagila" / "pagila-schema.sql"

MORE = """
CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY, b text COLLATE "C" CHECK (b <> ''),
  EXCLUDE USING gist (a WITH =) WHERE (a > 0)) PARTITION BY RANGE (a);
CREATE VIEW v AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3)
  SELECT n, sum(n) OVER (PARTITION BY n ORDER BY n), ARRAY[n]::int[], (SELECT 1) FROM r
  LEFT JOIN LATERAL (VALUES (1)) AS x(y) ON true WHERE n IN (1, 2) AND n IS NOT NULL;
ALTER TABLE t ADD CONSTRAINT c FOREIGN KEY (a) REFERENCES t (a) ON DELETE SET NULL (a);
CREATE FUNCTION f(x int DEFAULT 1) RETURNS SETOF int LANGUAGE sql AS $$ SELECT x $$;
GRANT SELECT (b) ON t TO PUBLIC;
"""


def every_attribute(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Node):
            yield n
            stack.extend(getattr(n, attr) for attr in n)
        elif isinstance(n, tuple):
            stack.extend(n)


def test_walk_order() -> None:
    if not PAGILA.is_file():
        pytest.skip(f"corpus not found: {PAGILA}")
    statements = parse_statements(PAGILA.read_text(encoding="utf-8") + MORE)
    for statement in statements:
        assert [id(n) for n in walk(statement)] == [id(n) for n in every_attribute(statement)]


def test_first_found_is_the_first_in_walk_order() -> None:
    statements = parse_statements(MORE)
    for statement in statements:
        for cls in (ast.ColumnRef, ast.A_Const, ast.TypeName, ast.RangeVar, ast.FuncCall):
            first = next((n for n in walk(statement) if isinstance(n, cls)), None)
            assert first_found(statement, {cls: lambda n: n}) is first
