"""The mock files of a project: nself/mock/mock.config.yaml and nself/mock/mock.seed."""

from __future__ import annotations

import io
import tarfile
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from nself.errors import OptionError, SourceError, line_containing
from nself.runtime.mock.values import GENERATOR_VERSION, GENERATORS
from nself.textfiles import deepest_nesting, read_user_text

CONFIG_NAME = "mock.config.yaml"
SEED_NAME = "mock.seed"
# Besides the value generators: parents' keys, and a composite type's row built from a
# generator per attribute (what `mock init` writes for a composite column).
_KNOWN_TYPES = set(GENERATORS) | {"foreignKey", "composite"}


def mock_dir(root: Path) -> Path:
    return root / "nself" / "mock"


def load_config(path: Path) -> dict[str, Any]:
    """Read and check mock.config.yaml; errors name file:line:col."""
    if not path.is_file():
        raise OptionError(f"{path} not found: run `nself mock init` first")
    text = read_user_text(path)
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is not None:
            raise SourceError(path, mark.line + 1, mark.column + 1, str(problem)) from None
        raise SourceError(path, None, None, str(problem)) from None
    except RecursionError:  # PyYAML recurses once per nested collection
        line, col = deepest_nesting(text)
        raise SourceError(path, line, col, "collections nested too deeply") from None
    if not isinstance(data, dict):
        raise SourceError(path, 1, 1, "the mock config must be a mapping with `seed` and `tables`")
    _check(path, text, data)
    return data


def _check(path: Path, text: str, data: dict[str, Any]) -> None:
    seed = data.get("seed", 0)
    if not isinstance(seed, int):
        raise SourceError(path, line_containing(text, "seed"), 1, f"seed must be an integer, not {seed!r}")
    anchor = data.get("anchor", "2026-01-01")
    if not isinstance(anchor, (str, date)) or not _is_date(str(anchor)):
        raise SourceError(path, line_containing(text, "anchor"), 1, f"anchor must be a date (YYYY-MM-DD), not {anchor!r}")
    tables = data.get("tables") or {}
    if not isinstance(tables, dict):
        raise SourceError(path, line_containing(text, "tables"), 1, "tables must be a mapping of table name to settings")
    for name, settings in tables.items():
        if name == "skip":
            if not isinstance(settings, list) or not all(isinstance(t, str) for t in settings):
                raise SourceError(path, line_containing(text, "skip"), 1, "tables.skip must be a list of table names")
            continue
        if not isinstance(settings, dict):
            raise SourceError(path, line_containing(text, f"{name}:"), 1, f"tables.{name} must be a mapping")
        count = settings.get("count", 0)
        if not isinstance(count, int) or count < 0:
            raise SourceError(path, line_containing(text, "count") , 1, f"tables.{name}.count must be a whole number")
        columns = settings.get("columns") or {}
        if not isinstance(columns, dict):
            raise SourceError(
                path, line_containing(text, "columns"), 1, f"tables.{name}.columns must be a mapping of column name to generator"
            )
        for column, spec in columns.items():
            kind = spec.get("type") if isinstance(spec, dict) else spec
            if not isinstance(kind, str) or kind not in _KNOWN_TYPES:
                line = line_containing(text, f"{column}:")
                raise SourceError(
                    path, line, 1, f"tables.{name}.columns.{column}: unknown generator {kind!r}"
                    f" (known: {', '.join(sorted(_KNOWN_TYPES))})"
                )


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def read_seed(root: Path) -> int | None:
    path = mock_dir(root) / SEED_NAME
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("seed="):
            try:
                return int(line.split("=", 1)[1])
            except ValueError:
                raise SourceError(path, 1, 6, "seed must be an integer") from None
    return None


def write_seed(root: Path, seed: int) -> Path:
    path = mock_dir(root) / SEED_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"seed={seed}\ngenerator_version={GENERATOR_VERSION}\n", encoding="utf-8")
    return path


def export_archive(root: Path, output: Path) -> list[str]:
    folder = mock_dir(root)
    members = [p for p in (folder / CONFIG_NAME, folder / SEED_NAME) if p.is_file()]
    if not members:
        raise OptionError(f"nothing to export in {folder}: run `nself mock init` first")
    with tarfile.open(output, "w:gz") as archive:
        for path in members:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644  # reproducible archives
            archive.addfile(info, io.BytesIO(data))
    return [p.name for p in members]


def import_archive(root: Path, archive_path: Path) -> list[Path]:
    if not archive_path.is_file():
        raise OptionError(f"archive not found: {archive_path}")
    written: list[Path] = []
    folder = mock_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            for member in archive.getmembers():
                if member.name not in (CONFIG_NAME, SEED_NAME) or not member.isfile():
                    continue  # only the two known files, never paths outside the folder
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                target = folder / member.name
                target.write_bytes(handle.read())
                written.append(target)
    except tarfile.TarError as exc:
        raise OptionError(f"{archive_path}: not a mock archive ({exc})") from None
    if not written:
        raise OptionError(f"{archive_path} holds no {CONFIG_NAME} or {SEED_NAME}")
    load_config(folder / CONFIG_NAME)
    return written
