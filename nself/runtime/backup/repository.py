"""Where a project's backups live and how they are keyed: the `[backup]` table of nself.toml.

    [backup]
    repository = ".nself/backups"   # default; relative to the project folder
    key = "env:NSELF_BACKUP_KEY"     # or key_file = "path"; the key itself never goes here
    encrypt = false                  # encrypt every backup (and the WAL archive) by default

The server archives WAL into the repository as the `postgres` system user, so the
repository must be within its reach; a project in a folder it cannot enter (a 0700 home)
keeps its repository under /var/lib/nself/backups/ instead, as it does its clusters."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from nself.errors import NselfError, OptionError
from nself.runtime.backup.codec import KEY_VARIABLE, parse_key
from nself.runtime.backup.manifest import repository_of
from nself.runtime.cluster import server_user_can_reach
from nself.runtime.project import Project

FALLBACK_REPOSITORIES = Path("/var/lib/nself/backups")


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the key comes from, never the key: an environment variable or a file."""

    variable: str | None = None
    file: Path | None = None

    def describe(self) -> str:
        return f"${self.variable}" if self.variable else str(self.file)

    def load(self) -> bytes:
        if self.variable:
            value = os.environ.get(self.variable)
            if not value:
                raise NselfError(f"the backup key is read from ${self.variable}, which is not set")
            return parse_key(value, f"${self.variable}")
        assert self.file is not None
        try:
            text = self.file.read_text(encoding="utf-8")
        except OSError as exc:
            raise NselfError(f"cannot read the backup key file {self.file}: {exc.strerror}") from None
        return parse_key(text, str(self.file))

    def argv(self) -> list[str]:
        """How a helper process (the WAL archiver) is told where the key is."""
        return ["--key-env", self.variable] if self.variable else ["--key-file", str(self.file)]


@dataclass(frozen=True, slots=True)
class BackupConfig:
    repository: Path
    key_source: KeySource
    encrypt: bool = False

    def key(self) -> bytes:
        return self.key_source.load()


def backup_config(project: Project) -> BackupConfig:
    raw = project.config.get("backup", {})
    if not isinstance(raw, dict):
        raise OptionError(f"{project.config_path}: [backup] must be a table")
    return BackupConfig(
        repository=_repository(project, raw.get("repository")),
        key_source=_key_source(project, raw),
        encrypt=bool(raw.get("encrypt", False)),
    )


def backup_repository(project: Project) -> Path:
    """The local backup repository of `project` (see the module's docstring)."""
    return backup_config(project).repository


def _repository(project: Project, setting: object) -> Path:
    if setting is not None:
        if not isinstance(setting, str):
            raise OptionError(f"{project.config_path}: [backup] repository must be a path")
        return (project.root / setting).resolve()
    preferred = repository_of(project.state_dir)
    if server_user_can_reach(preferred):
        return preferred
    digest = hashlib.sha256(str(project.root).encode()).hexdigest()[:16]
    return FALLBACK_REPOSITORIES / digest


def _key_source(project: Project, raw: dict[str, object]) -> KeySource:
    key = raw.get("key")
    key_file = raw.get("key_file")
    if key is not None:
        if not isinstance(key, str) or not key.startswith("env:"):
            raise OptionError(
                f'{project.config_path}: [backup] key must be "env:VARIABLE" (never the key itself); '
                "or use key_file = \"path\""
            )
        return KeySource(variable=key[4:])
    if key_file is not None:
        if not isinstance(key_file, str):
            raise OptionError(f"{project.config_path}: [backup] key_file must be a path")
        return KeySource(file=(project.root / key_file).resolve())
    return KeySource(variable=KEY_VARIABLE)
