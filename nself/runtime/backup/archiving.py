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
    wanted = archiving_settings(config)
    prepare_archive(config)
    if cluster.settings() == wanted:
        return False
    cluster.configure(wanted)
    return True


def archives_into(cluster: LocalCluster, config: BackupConfig) -> bool:
    return cluster.settings() == archiving_settings(config)
