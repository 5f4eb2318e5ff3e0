"""Layers flow one way (docs/design.md): frontends -> IR -> backends; the runtime calls both;
the IR imports nothing of nself; a backend never imports a frontend or another backend."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nself"


def nself_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("nself"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("nself")
            and node.level == 0
        ):
            found.add(node.module)
    return found


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def backend_of(module: str) -> str:
    """nself.backends.types.go -> nself.backends.types; nself.backends.mock -> nself.backends.mock."""
    parts = module.split(".")
    return ".".join(parts[:3])


@pytest.mark.parametrize("path", modules("ir"), ids=lambda p: p.name)
def test_ir_imports_nothing_else_of_nself(path: Path) -> None:
    assert {m for m in nself_imports(path) if not m.startswith("nself.ir")} == set()


@pytest.mark.parametrize("path", modules("frontends"), ids=lambda p: p.name)
def test_frontends_import_only_the_ir_and_shared_modules(path: Path) -> None:
    wrong = {m for m in nself_imports(path) if m.startswith(("nself.backends", "nself.runtime", "nself.cli"))}
    assert wrong == set()


@pytest.mark.parametrize(
    "path",
    [p for p in modules("backends") if p.name != "__init__.py" or p.parent != PACKAGE / "backends"],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_a_backend_imports_no_frontend_and_no_other_backend(path: Path) -> None:
    own = backend_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    wrong = {
        m
        for m in nself_imports(path)
        if m.startswith(("nself.frontends", "nself.runtime", "nself.cli"))
        or (m.startswith("nself.backends.") and backend_of(m) != own)
    }
    assert wrong == set()
