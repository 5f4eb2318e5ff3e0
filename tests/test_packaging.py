"""The built package: every Python package of nself/ is listed in pyproject.toml, and an
install into a fresh virtual environment works without the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for init in (REPO / "nself").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def test_wheel_installs_and_runs_without_the_source_tree(tmp_path: Path, installed_package: Path) -> None:
    """The built package, installed into a folder of its own, imports and finds its templates.
    The running interpreter supplies the dependencies (a virtualenv's or the system's site-packages
    alike); PYTHONPATH puts the installed copy ahead of any editable install of the source tree."""
    site = installed_package
    assert list((site / "nself" / "templates").rglob("*")), "templates/ must ship inside the package"
    shipped = {p.name for p in (site / "nself" / "data" / "platforms" / "supabase").glob("*.sql")}
    assert {"roles.sql", "02_auth.sql"} <= shipped, "the platforms' SQL must ship inside the package"
    script = (
        "import importlib.resources, nself, nself.cli.main; print(nself.__file__); "
        "print(sorted(p.name for p in importlib.resources.files('nself.templates').iterdir())[:3]); "
        # Package data read by path beside the modules (nself.platforms.DATA), and the IR's
        # records' methods compiled with nself.ir._records.
        "from nself.platforms import platform_named; from nself.frontends.sql_expr.catalog import snapshot; "
        "from nself.ir._records import METHODS; "
        "assert platform_named('supabase').files and snapshot().types and len(METHODS) > 100"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    module_file, templates = done.stdout.splitlines()
    assert Path(module_file).is_relative_to(site), f"nself was imported from {module_file}, not the install"
    assert templates != "[]"
    assert str(REPO) not in done.stdout
