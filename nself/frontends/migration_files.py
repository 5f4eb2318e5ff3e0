"""Find migration files in the layouts teams bring from other tools, in the order they apply.

Layouts read (one directory may mix them; every file is ordered by its version):
- nself: `NNN_YYYYMMDD_name.sql`, optionally split by `-- migrate:up` / `-- migrate:down`;
- dbmate: `<timestamp>_name.sql` with the same markers;
- goose: `<version>_name.sql` split by `-- +goose Up` / `-- +goose Down`;
- Supabase: `<timestamp>_name.sql`;
- golang-migrate: `N_name.up.sql` (+ `N_name.down.sql`);
- diesel: `<version>/up.sql` (+ `down.sql`);
- Prisma: `<timestamp>_name/migration.sql`.

Only the up part counts for the schema. Each `MigrationFile` keeps the line in its file where
the up SQL starts, so positions in `up_sql` map back to the original file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nself.errors import SourceError
from nself.textfiles import read_user_text

Layout = Literal["nself", "diesel", "golang-migrate", "prisma", "file"]

_MARKER = re.compile(r"^--\s*(?:migrate:(up|down)\b|\+goose\s+(?i:(up|down))\b).*$", re.MULTILINE)
# goose replaces ${VAR} in the SQL from the environment after this line; nself runs files as written
_GOOSE_ENVSUB = re.compile(r"^--\s*\+goose\s+ENVSUB\s+ON\b", re.MULTILINE | re.IGNORECASE)
_VERSIONED = re.compile(r"^(?P<version>\d[\d-]*)(?:_(?P<name>.*))?$")


@dataclass(frozen=True, slots=True)
class MigrationFile:
    version: str  # the leading version of the name: "001", "20240101120000", "2019-02-26-002946"
    name: str  # the descriptive rest of the name ("create_users"), may be empty
    path: Path  # the file holding the up SQL
    up_sql: str
    up_line: int  # 1-based line of `path` on which `up_sql` starts
    down_sql: str | None = None
    down_path: Path | None = None
    down_line: int | None = None
    layout: Layout = "file"

    @property
    def line_offset(self) -> int:
        """Lines to add to a position inside `up_sql` to get the line in `path`."""
        return self.up_line - 1


@dataclass(frozen=True, slots=True)
class Sections:
    up_sql: str
    up_line: int
    down_sql: str | None
    down_line: int | None


def split_sections(text: str) -> Sections:
    """Split a script at its `-- migrate:up` / `-- migrate:down` markers (nself and dbmate)
    or `-- +goose Up` / `-- +goose Down` (goose). Without markers the whole text is the up
    part. Text before the first marker is ignored, as dbmate and goose do."""
    markers = list(_MARKER.finditer(text))
    if not markers:
        return Sections(text, 1, None, None)
    up: tuple[str, int] | None = None
    down: tuple[str, int] | None = None
    for i, match in enumerate(markers):
        start = match.end() + 1 if match.end() < len(text) else match.end()
        end = markers[i + 1].start() if i + 1 < len(markers) else len(text)
        line = text.count("\n", 0, start) + 1
        part = (text[start:end], line)
        kind = (match.group(1) or match.group(2)).lower()
        if kind == "up" and up is None:
            up = part
        elif kind == "down" and down is None:
            down = part
    up_sql, up_line = up if up is not None else ("", 1)
    if down is None:
        return Sections(up_sql, up_line, None, None)
    return Sections(up_sql, up_line, down[0], down[1])


def natural_key(text: str) -> tuple[tuple[int, str], ...]:
    """Order names as people do: `2_x` before `10_x`, `001` before `002`."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", text) if part
    )


def _version_and_name(stem: str) -> tuple[str, str]:
    match = _VERSIONED.match(stem)
    if match is None:
        return "", stem
    return match.group("version").rstrip("-"), match.group("name") or ""


def _from_script(path: Path, stem: str, layout: Layout) -> MigrationFile:
    text = read_user_text(path)
    envsub = _GOOSE_ENVSUB.search(text)
    if envsub is not None:
        line = text.count("\n", 0, envsub.start()) + 1
        raise SourceError(
            path, line, 1, "goose's ENVSUB (${VAR} replaced from the environment) is not supported: write the values in"
        )
    sections = split_sections(text)
    version, name = _version_and_name(stem)
    return MigrationFile(
        version=version,
        name=name,
        path=path,
        up_sql=sections.up_sql,
        up_line=sections.up_line,
        down_sql=sections.down_sql,
        down_path=path if sections.down_sql is not None else None,
        down_line=sections.down_line,
        layout=layout,
    )


def _from_pair(up: Path, down: Path | None, stem: str, layout: Layout) -> MigrationFile:
    version, name = _version_and_name(stem)
    return MigrationFile(
        version=version,
        name=name,
        path=up,
        up_sql=read_user_text(up),
        up_line=1,
        down_sql=read_user_text(down) if down is not None else None,
        down_path=down,
        down_line=1 if down is not None else None,
        layout=layout,
    )


@dataclass(frozen=True, slots=True)
class CodeMigration:
    """A migration written in a programming language (goose's Go migrations), which nself
    cannot run: it still holds its place in the sequence."""

    version: str
    path: Path


_GOOSE_GO = re.compile(r"\bgoose\.Add\w*Migration")


def code_migrations(path: Path | str) -> list[CodeMigration]:
    """goose's Go migrations in the folder `path` (`<version>_name.go` registering a
    migration with goose), in order."""
    path = Path(path)
    if not path.is_dir():
        return []
    found = []
    for entry in path.glob("*.go"):
        version, _ = _version_and_name(entry.stem)
        if version and _GOOSE_GO.search(entry.read_text(encoding="utf-8", errors="replace")):
            found.append(CodeMigration(version, entry))
    return sorted(found, key=lambda c: natural_key(c.path.name))


def discover_migrations(path: Path | str) -> list[MigrationFile]:
    """Every migration under `path` (a directory, or one .sql file) in apply order."""
    path = Path(path)
    if path.is_file():
        return [_from_script(path, path.stem, "file")]
    if not path.is_dir():
        raise SourceError(path, None, None, "no such migrations directory or .sql file")
    found: list[tuple[tuple[tuple[int, str], ...], MigrationFile]] = []
    for entry in path.iterdir():
        if entry.is_dir():
            if (entry / "up.sql").is_file():  # diesel
                down = entry / "down.sql"
                migration = _from_pair(
                    entry / "up.sql", down if down.is_file() else None, entry.name, "diesel"
                )
            elif (entry / "migration.sql").is_file():  # Prisma
                migration = _from_pair(entry / "migration.sql", None, entry.name, "prisma")
            else:
                continue
        elif entry.name.endswith(".down.sql"):
            continue
        elif entry.name.endswith(".up.sql"):  # golang-migrate
            stem = entry.name[: -len(".up.sql")]
            down = entry.with_name(stem + ".down.sql")
            migration = _from_pair(entry, down if down.is_file() else None, stem, "golang-migrate")
        elif entry.suffix == ".sql":  # nself, dbmate, Supabase
            migration = _from_script(entry, entry.stem, "nself")
        else:
            continue
        # diesel orders by the version without its dashes: crates.io's 2017-08-31-230457_x
        # comes after its 20140924113530_y
        name = entry.name.replace("-", "") if migration.layout == "diesel" else entry.name
        found.append((natural_key(name), migration))
    if any(m.layout in ("diesel", "prisma") for _, m in found):
        # diesel and Prisma read only their folders: a loose script beside them without a
        # version is not one of theirs (crates.io's data_oauth_github.sql, run by hand)
        found = [(key, m) for key, m in found if m.layout != "nself" or m.version]
    found.sort(key=lambda item: item[0])
    return [migration for _, migration in found]
