"""Small files of a backup travel to object storage in a few bundle objects (as
pgBackRest's repo-bundle does): a fresh cluster is ~1,300 files, nearly all a few KiB once
compressed, and one request (plus its check) per file dominates an upload or a download.

In the store, beside the backup's other objects:

    <id>/nself-bundles/0001           the small files of the backup, concatenated
    <id>/nself-bundles.json           the index: for each bundle its size and sha256, for each
                                      file its bundle, offset, size and sha256

The index goes after the bundles and before the manifest (still last), so the rules of
transfer.py hold: a folder without a manifest is incomplete, and every file is checked
against its own sha256 when it is taken out of its bundle. The grouping is a function of
the local files alone (sorted by path, cut at BUNDLE_TARGET bytes): an interrupted upload
builds the same bundles again and skips those already stored with the same sha256."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nself.runtime.storage import StorageError

# Files smaller than this are bundled; larger ones stay one object each.
BUNDLE_FILE_LIMIT = 1024 * 1024
# A bundle is closed once it holds this many bytes (several bundles upload in parallel).
BUNDLE_TARGET = 8 * 1024 * 1024
INDEX_NAME = "nself-bundles.json"
BUNDLE_DIR = "nself-bundles"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class BundledFile:
    path: str  # relative to the backup folder, '/'-separated
    offset: int
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Bundle:
    name: str  # relative to the backup folder: nself-bundles/0001
    size: int
    sha256: str
    files: tuple[BundledFile, ...]


@dataclass(frozen=True, slots=True)
class BundleIndex:
    bundles: tuple[Bundle, ...]

    def to_bytes(self) -> bytes:
        data = {
            "format": FORMAT,
            "bundles": [
                {
                    "name": b.name,
                    "size": b.size,
                    "sha256": b.sha256,
                    "files": [[f.path, f.offset, f.size, f.sha256] for f in b.files],
                }
                for b in self.bundles
            ],
        }
        return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes, source: str) -> BundleIndex:
        try:
            raw: Any = json.loads(data.decode("utf-8"))
            if raw.get("format") != FORMAT:
                raise StorageError(f"{source}: bundle index format {raw.get('format')!r} is not {FORMAT}")
            bundles = tuple(
                Bundle(
                    str(b["name"]),
                    int(b["size"]),
                    str(b["sha256"]),
                    tuple(BundledFile(str(f[0]), int(f[1]), int(f[2]), str(f[3])) for f in b["files"]),
                )
                for b in raw["bundles"]
            )
        except StorageError:
            raise
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise StorageError(f"{source}: not a bundle index ({type(exc).__name__}: {exc})") from None
        for bundle in bundles:
            if not bundle.name.startswith(BUNDLE_DIR + "/") or "/" in bundle.name[len(BUNDLE_DIR) + 1 :]:
                raise StorageError(f"{source}: bad bundle name {bundle.name!r}")
            if any(f.offset < 0 or f.size < 0 or f.offset + f.size > bundle.size for f in bundle.files):
                raise StorageError(f"{source}: a file of {bundle.name} lies outside it")
        return cls(bundles)

    def files(self) -> dict[str, tuple[Bundle, BundledFile]]:
        return {f.path: (b, f) for b in self.bundles for f in b.files}


def bundled(files: dict[str, Path]) -> list[list[str]]:
    """The small files of `files` (relative path → local path) grouped into bundles."""
    groups: list[list[str]] = []
    current: list[str] = []
    size = 0
    for rel in sorted(files):
        length = files[rel].stat().st_size
        if length >= BUNDLE_FILE_LIMIT:
            continue
        current.append(rel)
        size += length
        if size >= BUNDLE_TARGET:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return groups


def bundle_name(number: int) -> str:
    return f"{BUNDLE_DIR}/{number:04}"


def build_bundle(name: str, rels: list[str], files: dict[str, Path]) -> tuple[Bundle, bytes]:
    """The bytes of one bundle and its index entry (each file's sha256 taken from the
    bytes read, which the caller compares with the manifest)."""
    parts: list[bytes] = []
    entries: list[BundledFile] = []
    offset = 0
    for rel in rels:
        data = files[rel].read_bytes()
        entries.append(BundledFile(rel, offset, len(data), hashlib.sha256(data).hexdigest()))
        parts.append(data)
        offset += len(data)
    blob = b"".join(parts)
    return Bundle(name, len(blob), hashlib.sha256(blob).hexdigest(), tuple(entries)), blob
