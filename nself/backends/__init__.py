"""Backends: each is a module with one public function

    render(catalog: Catalog, options: Mapping[str, object]) -> dict[str, str]

returning files (relative path -> text). Backends import the IR only: never a frontend
or another backend. The tables below are what the CLI reads to list formats and
languages; modules are imported on first use so start-up stays fast."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from nself.ir import Catalog

Render = Callable[[Catalog, Mapping[str, Any]], dict[str, str]]

# `nself schema show --format NAME`
SCHEMA_FORMATS: dict[str, str] = {
    "text": "nself.backends.text",
    "json": "nself.backends.json",
    "sql": "nself.backends.sql",
    "dbml": "nself.backends.dbml",
}

# `nself types LANGUAGE`
TYPE_LANGUAGES: dict[str, str] = {
    "typescript": "nself.backends.types.typescript",
    "go": "nself.backends.types.go",
    "python": "nself.backends.types.python",
    "swift": "nself.backends.types.swift",
    "rust": "nself.backends.types.rust",
    "graphql": "nself.backends.types.graphql",
}


Losses = Callable[[Catalog], list[str]]


def load_losses(module_path: str) -> Losses | None:
    """The backend's `losses(catalog)`, when its format cannot hold every object: what
    `render` leaves out or weakens, one line each, for the CLI to warn about."""
    module = importlib.import_module(module_path)
    losses: Losses | None = getattr(module, "losses", None)
    return losses


def load_renderer(module_path: str) -> Render:
    module = importlib.import_module(module_path)
    render: Render = module.render
    return render
