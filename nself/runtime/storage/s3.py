"""The S3 family through boto3: AWS S3, MinIO, Backblaze B2 and Google Cloud Storage (their
S3-compatible endpoints), each a preset of nself/runtime/storage/config.py.

Large files go up and down in parallel parts (boto3's TransferConfig); an object becomes
visible only when its multipart upload completes (a failed one is aborted by boto3), so a
reader never sees half an object. The sha256 of the bytes travels as object metadata and is
compared with the local file after each upload and with the received bytes on each download."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nself.runtime.storage.base import (
    HashingWriter,
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
from nself.runtime.storage.credentials import mask_cloud_secrets, remember_secrets

# S3 metadata travels as x-amz-meta-* headers: a dash, not an underscore (proxies drop those).
METADATA_NAME = "nself-sha256"
MiB = 1024 * 1024
_AUTH_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "ExpiredToken",
    "InvalidToken",
    "AuthorizationHeaderMalformed",
    "InvalidSecurity",
    "403",
    "Forbidden",
}


class S3Store:
    """A bucket (and prefix) of an S3-compatible service."""

    def __init__(
        self,
        config: StorageConfig,
        *,
        concurrency: int = 8,
        part_size: int = 16 * MiB,
    ) -> None:
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.config = config
        self.bucket = config.bucket
        self.prefix = config.prefix
        preset = config.preset
        try:
            session = boto3.Session()
            credentials = session.get_credentials()
        except Exception as exc:  # a profile that does not exist, an unreadable ~/.aws file
            raise s3_error(exc, config) from None
        if credentials is None:
            raise StorageError(
                f"{config.location()}: no credentials found by boto3's default chain "
                "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE / ~/.aws/credentials)"
            )
        frozen = credentials.get_frozen_credentials()
        remember_secrets([frozen.secret_key, frozen.token, frozen.access_key])
        region = config.effective_region() or session.region_name or "us-east-1"
        checksums = "when_supported" if preset.flexible_checksums else "when_required"
        client_config = Config(
            region_name=region,
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": "path" if preset.path_style else "auto"},
            request_checksum_calculation=checksums,
            response_checksum_validation=checksums,
            max_pool_connections=max(10, 2 * concurrency),
        )
        self._client: Any = session.client("s3", endpoint_url=config.effective_endpoint(), config=client_config)
        self._transfer = TransferConfig(
            multipart_threshold=part_size,
            multipart_chunksize=part_size,
            max_concurrency=concurrency,
            use_threads=concurrency > 1,
        )

    @property
    def description(self) -> str:
        return self.config.location()

    def _key(self, key: str) -> str:
        return join_key(self.prefix, check_key(key))

    @contextlib.contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except Exception as exc:
            raise s3_error(exc, self.config, key) from None

    def put_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> ObjectInfo:
        digest = sha256 or sha256_file(path)
        size = path.stat().st_size
        with self._errors(key):
            self._client.upload_file(
                str(path),
                self.bucket,
                self._key(key),
                ExtraArgs={"Metadata": {METADATA_NAME: digest}},
                Config=self._transfer,
                Callback=progress,
            )
        return check_stored(key, self.description, digest, size, self.stat(key))

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        digest = sha256_bytes(data)
        with self._errors(key):
            self._client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, Metadata={METADATA_NAME: digest})
        return check_stored(key, self.description, digest, len(data), self.stat(key))

    def get_file(
        self, key: str, path: Path, *, sha256: str | None = None, progress: ProgressCallback | None = None
    ) -> ObjectInfo:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".nself-tmp-{path.name}.{uuid.uuid4().hex[:8]}")
        try:
            with open(tmp, "wb") as handle:
                # Not seekable: the bytes arrive in order, so the hash sees them in order.
                writer = HashingWriter(handle, progress)
                with self._errors(key):
                    # One GET for an object of one part (most files of a backup); boto3's
                    # parallel ranged GETs for larger ones.
                    response = self._first_part(key)
                    size = _total_size(response)
                    stored_sha = (response.get("Metadata") or {}).get(METADATA_NAME)
                    if size <= self._transfer.multipart_chunksize:
                        for chunk in response["Body"].iter_chunks(1024 * 1024):
                            writer.write(chunk)
                    else:
                        response["Body"].close()
                        self._client.download_fileobj(self.bucket, self._key(key), writer, Config=self._transfer)
                handle.flush()
                os.fsync(handle.fileno())
            digest = writer.digest.hexdigest()
            check_received(key, self.description, sha256 or stored_sha, digest, writer.size, size)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return ObjectInfo(key, writer.size, digest)

    def _first_part(self, key: str) -> Any:
        from botocore.exceptions import ClientError

        try:
            return self._client.get_object(
                Bucket=self.bucket, Key=self._key(key), Range=f"bytes=0-{self._transfer.multipart_chunksize - 1}"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "InvalidRange":
                raise
            return self._client.get_object(Bucket=self.bucket, Key=self._key(key))  # an empty object

    def get_bytes(self, key: str, *, sha256: str | None = None) -> bytes:
        with self._errors(key):
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            data: bytes = response["Body"].read()
        stored_sha = (response.get("Metadata") or {}).get(METADATA_NAME)
        check_received(key, self.description, sha256 or stored_sha, sha256_bytes(data), len(data), None)
        return data

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = join_key(self.prefix, "") if self.prefix else ""
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"][len(base) :], int(item["Size"]))

    def stat(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        try:
            with contextlib.suppress(ClientError):
                response = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
                metadata = response.get("Metadata") or {}
                return ObjectInfo(key, int(response["ContentLength"]), metadata.get(METADATA_NAME))
        except Exception as exc:
            raise s3_error(exc, self.config, key) from None
        # head_object says 404 for a missing object and for a missing bucket alike: ask which.
        with self._errors():
            self._client.head_bucket(Bucket=self.bucket)
        return None

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def delete(self, key: str) -> None:
        with self._errors(key):
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))


def _total_size(response: dict[str, Any]) -> int:
    """The whole object's size from a (possibly ranged) GET: `Content-Range: bytes 0-9/1234`."""
    content_range = response.get("ContentRange")
    if content_range and "/" in content_range:
        return int(content_range.rsplit("/", 1)[1])
    return int(response["ContentLength"])


def s3_error(exc: BaseException, config: StorageConfig, key: str | None = None) -> StorageError:
    """One line saying what went wrong with the bucket, credentials masked."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    where = config.location()
    endpoint = config.effective_endpoint() or "the AWS endpoint"
    text = " ".join(str(exc).split())
    code = ""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if not code or code.isdigit():
            code = str(status or code)
    else:
        match = re.search(r"An error occurred \((\w+)\)", text)  # boto3's S3UploadFailedError quotes it
        code = match.group(1) if match else ""
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        message = f"cannot reach the endpoint {endpoint} (bad endpoint, or the service is down)"
    elif isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        message = "no usable credentials in boto3's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws)"
    elif code in ("NoSuchBucket", "404") and (key is None or code == "NoSuchBucket"):
        message = f"bucket {config.bucket!r} does not exist at {endpoint}"
    elif code in ("NoSuchKey", "404"):
        message = f"no object {key}"
    elif code in _AUTH_CODES:
        message = f"credentials refused by {endpoint} ({code}); check the credentials boto3 finds (nself backup storage show)"
    else:
        message = text or type(exc).__name__
    return StorageError(mask_cloud_secrets(f"{where}: {message}"))
