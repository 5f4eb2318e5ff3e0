"""The built package: every Python package of nself/ is listed in pyproject.toml, and an
install into a fresh virtual environment works without the source tree."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import venv
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


def test_wheel_installs_and_runs_without_the_source_tree(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, system_site_packages=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(tmp_path / "site"), str(REPO)],
        check=True,
        capture_output=True,
    )
    site = tmp_path / "site"
    assert list((site / "nself" / "templates").rglob("*")), "templates/ must ship inside the package"
    script = (
        "import importlib.resources, nself.cli.main; "
        "print(sorted(p.name for p in importlib.resources.files('nself.templates').iterdir())[:3])"
    )
    done = subprocess.run(
        [str(python), "-P", "-c", script], cwd=tmp_path, env={"PYTHONPATH": str(site)}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert str(REPO) not in done.stdout
