"""WAL archiving of the cluster nself manages: turned on by `nself db start`, into the
project's backup repository. A running cluster that does not archive yet is switched on
once, which needs a restart."""

from __future__ import annotations

from pathlib import Path

from nself.runtime.backup.repository import BackupConfig
from nself.runtime.backup.wal import archive_command
from nself.runtime.cluster import LocalCluster, hand_to_server_user


def archiving_settings(config: BackupConfig) -> dict[str, str]:
    key_argv = config.key_source.argv() if config.encrypt else None
    return {
        "archive_mode": "on",
        "archive_command": archive_command(wal_archive(config), key_argv),
        "max_wal_senders": "10",
    }


def wal_archive(config: BackupConfig) -> Path:
    return config.repository / "wal"


def prepare_archive(config: BackupConfig) -> Path:
    """Create the WAL folder, writable by the server user that archives into it."""
    wal = wal_archive(config)
    wal.mkdir(parents=True, exist_ok=True)
    config.repository.chmod(0o755)
    hand_to_server_user(wal)
    return wal


def ensure_archiving(cluster: LocalCluster, config: BackupConfig) -> bool:
    """Configure `cluster` to archive into `config`'s repository. True when the settings
    changed (a running cluster then needs a restart to apply them)."""
    prepare_archive(config)
    if archives_into(cluster, config):
        return False
    cluster.configure(archiving_settings(config))
    return True


def archives_into(cluster: LocalCluster, config: BackupConfig) -> bool:
    """Whether the cluster archives into the repository; an archive_command that runs
    nself's and then another tool's (e.g. `(nself's) && pgbackrest archive-push %p`) does."""
    current = cluster.settings()
    wanted = archiving_settings(config)
    return current.get("archive_mode") == "on" and wanted["archive_command"] in current.get("archive_command", "")
