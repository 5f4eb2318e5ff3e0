"""Object storage for backups: one `ObjectStore` protocol, three kinds of place.

    store = open_store(config, project_root)   # config: [backup.storage] of nself.toml
    store.put_file("20261207T153012Z-full/base.tar.zst", path, progress=advance)

- a directory (LocalStore): a local disk or a mounted share;
- the S3 family (S3Store, boto3): AWS S3, MinIO, Backblaze B2, Google Cloud Storage;
- Azure Blob Storage (AzureStore, azure-storage-blob).
Credentials come from each ecosystem's usual places (config.py says which), never from
nself.toml, and never appear in a message (credentials.py masks them)."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from nself.runtime.project import Project

__all__ = [
    "PRESETS",
    "ChecksumMismatch",
    "ObjectInfo",
    "ObjectStore",
    "ProbeResult",
    "ProgressCallback",
    "StorageConfig",
    "StorageError",
    "configured_store",
    "make_config",
    "open_store",
    "probe",
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


def configured_store(project: Project, *, concurrency: int = 8) -> tuple[StorageConfig, ObjectStore]:
    """The store of the project's `[backup.storage]`; StorageError when there is none."""
    config = storage_config(project.config, project.config_path)
    if config is None:
        raise StorageError(
            f"no [backup.storage] in {project.config_path}: set one with "
            "`nself backup storage set s3|minio|b2|gcs|azure --bucket NAME`"
        )
    return config, open_store(config, project.root, concurrency=concurrency)


@dataclass(frozen=True)
class ProbeResult:
    location: str
    key: str
    bytes: int
    seconds: float


def probe(store: ObjectStore) -> ProbeResult:
    """Write a probe object, read it back, compare, delete it, check it is gone: the
    round trip a backup needs. Any failure is one StorageError line."""
    key = f".nself-probe-{uuid.uuid4().hex}"
    data = os.urandom(64 * 1024)
    started = time.monotonic()
    store.put_bytes(key, data)
    try:
        back = store.get_bytes(key)
        if back != data:
            raise StorageError(f"{store.description}: the probe object read back differs from the one written")
        listed = [o for o in store.list(key) if o.key == key]
        if [o.size for o in listed] != [len(data)]:
            raise StorageError(f"{store.description}: the probe object is not listed with its size")
    finally:
        store.delete(key)
    if store.exists(key):
        raise StorageError(f"{store.description}: the probe object is still there after its deletion")
    return ProbeResult(store.description, key, len(data), time.monotonic() - started)


def describe_storage(config: StorageConfig) -> dict[str, str | None]:
    """What `storage show` prints: the settings in effect and where the credentials come
    from, never the credentials."""
    from nself.runtime.storage.credentials import aws_credential_source, azure_credential_source

    family = config.preset.family
    endpoint = config.effective_endpoint()
    if family == "azure":
        credentials = azure_credential_source()
        connection = dict(
            part.split("=", 1) for part in os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "").split(";") if "=" in part
        )
        account = connection.get("AccountName") or os.environ.get("AZURE_STORAGE_ACCOUNT")
        if connection.get("BlobEndpoint"):
            endpoint = connection["BlobEndpoint"]
        elif not config.endpoint:
            endpoint = f"https://{account or '<account>'}.blob.core.windows.net"
    elif family == "s3":
        credentials = aws_credential_source()
        endpoint = endpoint or "AWS S3 (boto3's endpoint for the region)"
    else:
        credentials = "none needed (file system permissions)"
    return {
        "provider": config.provider,
        "service": config.preset.title,
        "bucket": config.bucket,
        "endpoint": endpoint,
        "region": (config.effective_region() or "boto3's default (AWS_REGION, ~/.aws/config), else us-east-1")
        if family == "s3"
        else None,
        "prefix": config.prefix or None,
        "location": config.location(),
        "credentials": credentials,
    }
