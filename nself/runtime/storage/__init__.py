"""Object storage for backups: one `ObjectStore` protocol, three kinds of place.

    store = open_store(config, project_root)   # config: [backup.storage] of nself.toml
    store.put_file("20261207T153012Z-full/base.tar.zst", path, progress=advance)

- a directory (LocalStore): a local disk or a mounted share;
- the S3 family (S3Store, boto3): AWS S3, MinIO, Backblaze B2, Google Cloud Storage;
- Azure Blob Storage (AzureStore, azure-storage-blob).
Credentials come from each ecosystem's usual places (config.py says which), never from
nself.toml, and never appear in a message (credentials.py masks them)."""

from __future__ import annotations

from pathlib import Path

from nself.runtime.storage.base import (
    ChecksumMismatch,
    ObjectInfo,
    ObjectStore,
    ProgressCallback,
    StorageError,
    sha256_file,
)
from nself.runtime.storage.config import (
    PRESETS,
    StorageConfig,
    make_config,
    storage_config,
    write_storage_config,
)

__all__ = [
    "PRESETS",
    "ChecksumMismatch",
    "ObjectInfo",
    "ObjectStore",
    "ProgressCallback",
    "StorageConfig",
    "StorageError",
    "make_config",
    "open_store",
    "sha256_file",
    "storage_config",
    "write_storage_config",
]


def open_store(config: StorageConfig, project_root: Path | None = None, *, concurrency: int = 8) -> ObjectStore:
    """The store `config` describes. A relative directory of the `local` provider is taken
    from the project's root. The SDKs are imported here, only when a store is used."""
    family = config.preset.family
    if family == "local":
        from nself.runtime.storage.local import LocalStore

        root = Path(config.bucket).expanduser()
        if not root.is_absolute() and project_root is not None:
            root = project_root / root
        return LocalStore(root, config.prefix)
    if family == "s3":
        from nself.runtime.storage.s3 import S3Store

        return S3Store(config, concurrency=concurrency)
    from nself.runtime.storage.azure import AzureStore

    return AzureStore(config, concurrency=concurrency)
