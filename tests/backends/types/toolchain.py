"""Shared by the TypeScript / Python / GraphQL type tests: the rich schema (rich_schema.sql)
loaded and introspected once per module, and where to find tsc."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nself.frontends.live import introspect
from nself.ir import Catalog
from tests.backends.types.conftest import SessionDatabases
from tests.conftest import REPO, run_sql

HERE = Path(__file__).resolve().parent
RICH_SQL = HERE / "rich_schema.sql"
CORPUS_SCHEMAS = ["pagila", "openstreetmap", "lemmy"]


def load_rich(databases: SessionDatabases) -> tuple[str, Catalog]:
    """A database holding rich_schema.sql, and its introspected catalog."""
    url = databases.new("types_rich")
    run_sql(url, RICH_SQL.read_text(encoding="utf-8"))
    return url, introspect(url)


def in_ci() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("NSELF_REQUIRE_CORPUS") == "1"


def tsc_path() -> Path:
    """tsc from $NSELF_NODE_MODULES or <repo>/.cache/node/node_modules (installed with
    `npm install --prefix .cache/node typescript@5`). Skips locally, fails in CI."""
    candidates = [os.environ.get("NSELF_NODE_MODULES"), str(REPO / ".cache" / "node" / "node_modules")]
    for candidate in candidates:
        if candidate and (Path(candidate) / ".bin" / "tsc").exists():
            return Path(candidate) / ".bin" / "tsc"
    message = "tsc not found: run `npm install --prefix .cache/node typescript@5` (or set NSELF_NODE_MODULES)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)
