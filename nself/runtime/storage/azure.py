"""Azure Blob Storage through azure-storage-blob: a container (the configured bucket) and an
optional prefix.

Credentials: AZURE_STORAGE_CONNECTION_STRING (its endpoint is used), else
AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY (endpoint: the configured one, else
https://ACCOUNT.blob.core.windows.net). Large files go as blocks sent in parallel
(max_concurrency), each block's MD5 checked by the service (validate_content); the blob
appears only when the block list is committed, so a reader never sees half of it. The
sha256 of the bytes is blob metadata, compared after upload and on every download."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nself.runtime.storage.base import (
    ObjectInfo,
    ProgressCallback,
    StorageError,
    check_key,
    check_received,
    check_stored,
    join_key,
    sha256_bytes,
    sha256_file,
)
from nself.runtime.storage.config import StorageConfig
from nself.runtime.storage.credentials import mask_cloud_secrets

# Azure metadata names are identifiers: an underscore, not a dash.
METADATA_NAME = "nself_sha256"
MiB = 1024 * 1024


class AzureStore:
    def __init__(self, config: StorageConfig, *, concurrency: int = 8, block_size: int = 8 * MiB) -> None:
        from azure.storage.blob import BlobServiceClient, ExponentialRetry

        self.config = config
        self.prefix = config.prefix
        self.concurrency = concurrency
        options: dict[str, Any] = {
            "max_single_put_size": block_size,
            "max_block_size": block_size,
            "max_chunk_get_size": block_size,
            "max_single_get_size": block_size,
            # The SDK's default first wait is 15 s: a bad endpoint would take a minute to say so.
            "retry_policy": ExponentialRetry(
                initial_backoff=1, increment_base=2, retry_total=3, retry_connect=1, random_jitter_range=1
            ),
            "connection_timeout": 5,
            "read_timeout": 60,
        }
        connection_string = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
        account = os.environ.get("AZURE_STORAGE_ACCOUNT")
        key = os.environ.get("AZURE_STORAGE_KEY")
        try:
            if connection_string:
                service = BlobServiceClient.from_connection_string(connection_string, **options)
            elif account and key:
                endpoint = config.endpoint or f"https://{account}.blob.core.windows.net"
                service = BlobServiceClient(
                    account_url=endpoint, credential={"account_name": account, "account_key": key}, **options
                )
            else:
                raise StorageError(
                    f"{config.location()}: no Azure credentials (set AZURE_STORAGE_CONNECTION_STRING, "
                    "or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY)"
                )
        except StorageError:
            raise
        except Exception as exc:
            raise azure_error(exc, config) from None
        self.endpoint = str(service.url).split("?")[0]
        self._container: Any = service.get_container_client(config.bucket)

    @property
    def description(self) -> str:
        return self.config.location()

    def _blob(self, key: str) -> Any:
        return self._container.get_blob_client(join_key(self.prefix, check_key(key)))

    @contextlib.contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            raise azure_error(exc, self.config, key, self.endpoint) from None

    def put_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> ObjectInfo:
        digest = sha256 or sha256_file(path)
        size = path.stat().st_size
        with self._errors(key), open(path, "rb") as handle:
            self._blob(key).upload_blob(
                handle,
                length=size,
                overwrite=True,
                metadata={METADATA_NAME: digest},
                max_concurrency=self.concurrency,
                validate_content=True,
                progress_hook=_deltas(progress),
            )
        return check_stored(key, self.description, digest, size, self.stat(key))

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        digest = sha256_bytes(data)
        with self._errors(key):
            self._blob(key).upload_blob(data, overwrite=True, metadata={METADATA_NAME: digest}, validate_content=True)
        return check_stored(key, self.description, digest, len(data), self.stat(key))

    def get_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> ObjectInfo:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".nself-tmp-{path.name}.{uuid.uuid4().hex[:8]}")
        try:
            with open(tmp, "wb") as handle:
                with self._errors(key):
                    # The first GET brings the size and metadata too; larger blobs continue
                    # in parallel ranged reads into the (seekable) file, hashed once complete.
                    downloader = self._blob(key).download_blob(
                        max_concurrency=self.concurrency, progress_hook=_deltas(progress)
                    )
                    stored_size = int(downloader.properties.size)
                    expected = sha256 or (downloader.properties.metadata or {}).get(METADATA_NAME)
                    size = downloader.readinto(handle)
                handle.flush()
                os.fsync(handle.fileno())
            digest = sha256_file(tmp)
            check_received(key, self.description, expected, digest, size, stored_size)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return ObjectInfo(key, size, digest)

    def get_bytes(self, key: str, *, sha256: str | None = None) -> bytes:
        with self._errors(key):
            downloader = self._blob(key).download_blob()
            data: bytes = downloader.readall()
        stored_sha = (downloader.properties.metadata or {}).get(METADATA_NAME)
        check_received(key, self.description, sha256 or stored_sha, sha256_bytes(data), len(data), None)
        return data

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = join_key(self.prefix, "") if self.prefix else ""
        with self._errors():
            for blob in self._container.list_blobs(name_starts_with=base + prefix):
                yield ObjectInfo(blob.name[len(base) :], int(blob.size))

    def stat(self, key: str) -> ObjectInfo | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with self._errors(key):
                properties = self._blob(key).get_blob_properties()
        except StorageError as exc:
            if isinstance(exc.__context__, ResourceNotFoundError) and _code(exc.__context__) != "ContainerNotFound":
                return None
            raise
        return ObjectInfo(key, int(properties.size), (properties.metadata or {}).get(METADATA_NAME))

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def delete(self, key: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            with self._errors(key):
                self._blob(key).delete_blob()
        except StorageError as exc:
            if not (isinstance(exc.__context__, ResourceNotFoundError) and _code(exc.__context__) == "BlobNotFound"):
                raise


def _deltas(progress: ProgressCallback | None) -> Any:
    """Azure reports the running total; nself's callbacks take the bytes just moved."""
    if progress is None:
        return None
    done = [0]

    def hook(current: int, _total: int | None) -> None:
        if current > done[0]:
            progress(current - done[0])
            done[0] = current

    return hook


def _code(exc: BaseException) -> str:
    return str(getattr(exc, "error_code", "") or "")


def azure_error(exc: BaseException, config: StorageConfig, key: str | None = None, endpoint: str | None = None) -> StorageError:
    """One line saying what went wrong with the container, credentials masked."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    where = config.location()
    endpoint = endpoint or config.endpoint or "the Azure endpoint"
    code = _code(exc)
    status = getattr(exc, "status_code", None)
    if isinstance(exc, ServiceRequestError):
        message = f"cannot reach the endpoint {endpoint} (bad endpoint, or the service is down)"
    elif code == "ContainerNotFound":
        message = f"container {config.bucket!r} does not exist at {endpoint}"
    elif code == "BlobNotFound":
        message = f"no object {key}"
    elif isinstance(exc, ClientAuthenticationError) or status == 403 or code.startswith("AuthenticationFailed"):
        message = f"credentials refused by {endpoint} ({code or status}); check AZURE_STORAGE_* (nself backup storage show)"
    elif isinstance(exc, HttpResponseError):
        first = " ".join(str(exc.message or exc).split("\n")[0].split())
        message = f"{code or status}: {first}"
    elif isinstance(exc, ValueError):
        message = f"invalid Azure settings: {' '.join(str(exc).split())}"
    else:
        message = " ".join(str(exc).split()) or type(exc).__name__
    error = StorageError(mask_cloud_secrets(f"{where}: {message}"))
    error.__context__ = exc
    return error
