"""`nself data export -o s3://bucket/prefix` and `nself data import s3://bucket/prefix[/file]`
(also `azure://container/prefix`): the files go through the object storage of backups
(nself.runtime.storage, docs/backup-storage.md).

The bucket's settings (provider, endpoint, region) are the project's `[backup.storage]` when
it names the same bucket; otherwise the URL alone is used, with the SDK's own credential
chain and endpoint (boto3: AWS_* variables, AWS_ENDPOINT_URL, ~/.aws; Azure:
AZURE_STORAGE_*). The URL's path is the key prefix in the bucket, whatever prefix the
configuration has. Exports are written to a temporary directory and uploaded file by file
(each checked by its sha256); imports download the files into one, then load them as local
files."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from nself.errors import OptionError

if TYPE_CHECKING:
    from nself.runtime.data_io import DataFormat, ExportResult, ImportResult, Progress
    from nself.runtime.project import Project
    from nself.runtime.storage import ObjectStore, StorageConfig

SCHEMES = {"s3": "s3", "azure": "azure"}  # URL scheme -> storage family


@dataclass(frozen=True)
class RemoteLocation:
    scheme: str
    bucket: str
    path: str  # the key prefix (or an object's key), '/'-separated, no leading or trailing '/'

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.path}" if self.path else f"{self.scheme}://{self.bucket}"


def parse_remote(text: str) -> RemoteLocation | None:
    """The location `text` names when it is an `s3://` or `azure://` URL; None for a path."""
    if "://" not in text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in SCHEMES:
        raise OptionError(
            f"{text}: unknown scheme {parts.scheme!r}: use s3://BUCKET/PREFIX or azure://CONTAINER/PREFIX"
        )
    if not parts.netloc or parts.query or parts.fragment or "@" in parts.netloc:
        raise OptionError(
            f"{parts.scheme}://...: expected {parts.scheme}://BUCKET/PREFIX (no user, query or fragment)"
        )
    path = parts.path.strip("/")
    if ".." in path.split("/") or "//" in path or "\\" in path:
        raise OptionError(
            f"{parts.scheme}://{parts.netloc}/...: the prefix must be a '/'-separated path without '..'"
        )
    return RemoteLocation(parts.scheme, parts.netloc, path)


def remote_config(project: Project | None, location: RemoteLocation) -> StorageConfig:
    """The storage settings for `location`: `[backup.storage]`'s when it names the same bucket
    (its endpoint, region and provider), else the provider's defaults; the prefix is none:
    keys are the URL's paths."""
    from nself.runtime.storage import make_config, storage_config

    family = SCHEMES[location.scheme]
    configured = storage_config(project.config, project.config_path) if project is not None else None
    if configured is not None and configured.preset.family == family and configured.bucket == location.bucket:
        return dataclasses.replace(configured, prefix="")
    return make_config("s3" if family == "s3" else "azure", location.bucket)


def open_remote(project: Project | None, location: RemoteLocation) -> ObjectStore:
    from nself.runtime.storage import open_store

    return open_store(
        remote_config(project, location), project.root if project is not None else None, concurrency=4
    )


def upload_directory(store: ObjectStore, directory: Path, location: RemoteLocation) -> list[str]:
    """Upload every file of `directory` under the location's prefix; their URLs."""
    urls = []
    for file in sorted(p for p in directory.iterdir() if p.is_file()):
        key = f"{location.path}/{file.name}" if location.path else file.name
        store.put_file(key, file)
        urls.append(f"{location.scheme}://{location.bucket}/{key}")
    return urls


@contextlib.contextmanager
def downloaded(store: ObjectStore, location: RemoteLocation, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """The object the location names, or the data files directly under its prefix,
    downloaded into a temporary directory; yields the file or the directory."""
    from nself.runtime.storage import StorageError

    with tempfile.TemporaryDirectory(prefix="nself-import-") as tmp:
        root = Path(tmp)
        if (
            location.path
            and location.path.rsplit("/", 1)[-1].endswith(suffixes)
            and store.exists(location.path)
        ):
            target = root / location.path.rsplit("/", 1)[-1]
            store.get_file(location.path, target)
            yield target
            return
        prefix = f"{location.path}/" if location.path else ""
        keys = [
            info.key
            for info in store.list(prefix)
            if "/" not in info.key[len(prefix) :] and info.key.endswith(suffixes)
        ]
        if not keys:
            raise StorageError(f"{location.url}: no {', '.join(suffixes)} files there")
        for key in keys:
            store.get_file(key, root / key[len(prefix) :])
        yield root


def export_remote(
    project: Project | None,
    url: str,
    location: RemoteLocation,
    *,
    fmt: DataFormat,
    tables: Sequence[str] = (),
    progress: Progress | None = None,
) -> ExportResult:
    """`export_data` into a temporary directory, then every file uploaded under the location."""
    from nself.runtime.data_io import ExportResult, TableFile, export_data

    store = open_remote(project, location)  # credentials and bucket settings checked before reading
    with tempfile.TemporaryDirectory(prefix="nself-export-") as tmp:
        local = export_data(url, Path(tmp), fmt=fmt, tables=tables, progress=progress)
        if progress:
            progress(f"uploading to {location.url}")
        upload_directory(store, Path(tmp), location)
    base = location.url.rstrip("/")
    return ExportResult(
        base,
        local.format,
        tuple(TableFile(t.table, f"{base}/{Path(t.path).name}", t.rows) for t in local.tables),
    )


def import_remote(
    project: Project | None,
    url: str,
    location: RemoteLocation,
    *,
    table: str | None = None,
    upsert: bool = False,
    truncate: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """The files the location names downloaded, then `import_data` on them; messages and
    results name the objects' URLs, not the temporary files."""
    from nself.errors import NselfError
    from nself.runtime.data_io import SUFFIXES, DataFileError, ImportResult, TableFile, import_data

    store = open_remote(project, location)
    with downloaded(store, location, SUFFIXES) as local:
        base = location.url if local.is_file() else location.url.rstrip("/")
        root = str(local) if local.is_file() else str(local) + "/"
        where = location.url if local.is_file() else base + "/"
        try:
            result = import_data(url, local, table=table, upsert=upsert, truncate=truncate, progress=progress)
        except NselfError as exc:
            kind = DataFileError if isinstance(exc, DataFileError) else NselfError
            raise kind(str(exc).replace(root, where)) from None
    return ImportResult(
        tuple(TableFile(t.table, t.path.replace(root, where), t.rows) for t in result.tables),
        result.upsert,
        result.truncate,
    )
