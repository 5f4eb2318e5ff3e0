"""The one rule for a test whose tool is missing (a program, an npm package, a PostgreSQL
extension, the shared corpus): it skips on a developer's machine, naming what to install, and
fails in CI (`.ci/run` sets NSELF_REQUIRE_CORPUS=1), where every oracle must run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parent.parent


def in_ci() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("NSELF_REQUIRE_CORPUS") == "1"


def missing(message: str) -> NoReturn:
    """Skip here, fail in CI."""
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_program(name: str, install: str) -> str:
    """The path of program `name` on PATH; `install` says how to get it."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} not found on PATH ({install})")
    return path


def node_modules_with(package_file: str, install: str) -> Path:
    """The node_modules folder holding `package_file` (a path inside it, e.g. `.bin/tsc`):
    $NSELF_NODE_MODULES, $NSELF_NODE_PATH or <repo>/.cache/node/node_modules, as .ci/run
    installs them (`npm install --prefix .cache/node ...`). Node itself must be on PATH."""
    candidates = [
        os.environ.get("NSELF_NODE_MODULES"),
        os.environ.get("NSELF_NODE_PATH"),
        str(REPO / ".cache" / "node" / "node_modules"),
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / package_file).exists() and shutil.which("node"):
            return Path(candidate)
    missing(f"node and {package_file} not found: run `{install}` (or set NSELF_NODE_MODULES)")
