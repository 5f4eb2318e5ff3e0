"""`[backup.storage]` of nself.toml: which object store backups go to, and the presets of
each provider (default endpoint and region rules).

```toml
[backup.storage]
provider = "s3"          # s3 | minio | b2 | gcs | azure | local
bucket = "acme-backups"  # the bucket (Azure: the container; local: a directory)
region = "eu-west-1"     # optional, per provider rules
endpoint = "https://..." # optional, per provider rules
prefix = "prod/db"       # optional: keys go under it
```

Credentials never go here: the S3 family reads boto3's default chain (AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE, ~/.aws/credentials and config,
instance roles), Azure reads AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with
AZURE_STORAGE_KEY. A credential-looking key in the table is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from nself.errors import OptionError, SourceError, line_containing

Family = Literal["s3", "azure", "local"]
TABLE = "backup.storage"
_KEYS = ("provider", "bucket", "endpoint", "region", "prefix")
_SECRET_WORDS = re.compile(r"key|secret|token|password|credential|connection|sas|signature", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Preset:
    """What a provider needs: its protocol family, its endpoint and region rules."""

    name: str
    family: Family
    title: str
    # `{region}` is replaced by the region; None: the SDK's own (AWS) endpoint.
    default_endpoint: str | None = None
    default_region: str | None = None
    region_required: bool = False
    # Path-style addressing (http://host/bucket/key): for endpoints without per-bucket DNS.
    path_style: bool = False
    # Whether boto3 may add its flexible checksums (CRC32) to every request: AWS and MinIO
    # check them; S3-compatible services that do not know them refuse such requests.
    flexible_checksums: bool = True


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("s3", "s3", "AWS S3"),
        Preset(
            "minio", "s3", "MinIO", default_endpoint="http://127.0.0.1:9000", default_region="us-east-1",
            path_style=True,
        ),
        Preset(
            "b2", "s3", "Backblaze B2 (S3-compatible API)", default_endpoint="https://s3.{region}.backblazeb2.com",
            region_required=True, flexible_checksums=False,
        ),
        Preset(
            "gcs", "s3", "Google Cloud Storage (S3-compatible XML API, HMAC keys)",
            default_endpoint="https://storage.googleapis.com", default_region="auto", path_style=True,
            flexible_checksums=False,
        ),
        Preset("azure", "azure", "Azure Blob Storage", default_endpoint="https://{account}.blob.core.windows.net"),
        Preset("local", "local", "directory on a local disk or mounted share"),
    )
}


@dataclass(frozen=True, slots=True)
class StorageConfig:
    provider: str
    bucket: str
    endpoint: str | None = None
    region: str | None = None
    prefix: str = ""

    @property
    def preset(self) -> Preset:
        return PRESETS[self.provider]

    def effective_region(self) -> str | None:
        return self.region or self.preset.default_region

    def effective_endpoint(self) -> str | None:
        """The endpoint used: the configured one, else the preset's (None: the AWS default).
        Azure's default needs the account name, known only from the environment."""
        if self.endpoint:
            return self.endpoint
        default = self.preset.default_endpoint
        if default is None or "{account}" in default:
            return default
        return default.format(region=self.effective_region() or "")

    def location(self) -> str:
        """`s3://bucket/prefix` and the like, for messages."""
        scheme = {"s3": "s3", "azure": "azure", "local": "file"}[self.preset.family]
        if self.preset.family == "local":
            return str(Path(self.bucket) / self.prefix) if self.prefix else self.bucket
        where = f"{scheme}://{self.bucket}"
        return f"{where}/{self.prefix}" if self.prefix else where

    def to_toml_values(self) -> dict[str, str]:
        values = {"provider": self.provider, "bucket": self.bucket}
        for name in ("endpoint", "region", "prefix"):
            value = getattr(self, name)
            if value:
                values[name] = value
        return values


def make_config(
    provider: str, bucket: str, *, endpoint: str | None = None, region: str | None = None, prefix: str | None = None
) -> StorageConfig:
    """A checked configuration from command-line values (OptionError names the option)."""
    if provider not in PRESETS:
        raise OptionError(f"provider: unknown {provider!r} (one of {', '.join(PRESETS)})")
    if not bucket.strip():
        raise OptionError("--bucket: must not be empty")
    preset = PRESETS[provider]
    if preset.family == "s3" and not re.fullmatch(r"[a-z0-9][a-z0-9.\-_]{1,254}", bucket):
        raise OptionError(f"--bucket: {bucket!r} is not a valid bucket name (lower-case letters, digits, '.', '-')")
    if preset.family == "azure" and not re.fullmatch(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", bucket):
        raise OptionError(f"--bucket: {bucket!r} is not a valid Azure container name (3-63 of a-z, 0-9, '-')")
    if endpoint is not None:
        _check_endpoint(endpoint, "--endpoint")
    if preset.region_required and not region:
        raise OptionError(f"--region: {preset.title} needs a region (e.g. us-west-004)")
    if prefix is not None and (".." in prefix.split("/") or "\\" in prefix):
        raise OptionError(f"--prefix: {prefix!r} must be a '/'-separated path without '..'")
    return StorageConfig(provider, bucket, endpoint or None, region or None, (prefix or "").strip("/"))


def _check_endpoint(endpoint: str, where: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError(f"{where}: {endpoint!r} is not an http:// or https:// URL")
    if parts.username or parts.password or re.search(r"(sig|signature|key|token)=", parts.query, re.IGNORECASE):
        raise OptionError(f"{where}: holds credentials; they come from the environment, never from nself.toml")


def storage_config(config: dict[str, Any], config_path: Path | None = None) -> StorageConfig | None:
    """The `[backup.storage]` table of a loaded nself.toml, checked; None when absent."""
    backup = config.get("backup")
    if not isinstance(backup, dict) or "storage" not in backup:
        return None
    table = backup["storage"]
    text = config_path.read_text(encoding="utf-8") if config_path and config_path.is_file() else ""

    def fail(needle: str, message: str) -> SourceError:
        return SourceError(config_path, line_containing(text, needle) if text else None, 1, message)

    if not isinstance(table, dict):
        raise fail("storage", f"[{TABLE}] must be a table")
    for name, value in table.items():
        if name not in _KEYS:
            if _SECRET_WORDS.search(name):
                raise fail(
                    name,
                    f"[{TABLE}] {name}: credentials never go in nself.toml; set them where the provider's "
                    "tools read them (AWS_* variables or ~/.aws for the S3 family, AZURE_STORAGE_* for Azure)",
                )
            raise fail(name, f"[{TABLE}] unknown key {name!r} (known: {', '.join(_KEYS)})")
        if not isinstance(value, str):
            raise fail(name, f"[{TABLE}] {name} must be a string")
    if "provider" not in table or "bucket" not in table:
        raise fail("storage", f"[{TABLE}] needs provider and bucket (nself backup storage set ...)")
    try:
        return make_config(
            table["provider"],
            table["bucket"],
            endpoint=table.get("endpoint"),
            region=table.get("region"),
            prefix=table.get("prefix"),
        )
    except OptionError as exc:
        option = str(exc).split(":", 1)[0].lstrip("-")
        raise fail(option, f"[{TABLE}] {str(exc).lstrip('-')}") from None


def write_storage_config(config_path: Path, storage: StorageConfig) -> None:
    """Set `[backup.storage]` in nself.toml, keeping every other line, key and comment of
    the file as it was (tomlkit edits the parsed document, comments included)."""
    import tomlkit
    from tomlkit.items import Table

    from nself.runtime.backup.manifest import atomic_write_bytes

    text = config_path.read_text(encoding="utf-8") if config_path.is_file() else ""
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise SourceError(config_path, exc.line, exc.col, "invalid TOML") from None
    backup = document.get("backup")
    if backup is None:
        backup = tomlkit.table(is_super_table=True)
        document.append("backup", backup)
    if not isinstance(backup, Table):
        raise SourceError(config_path, line_containing(text, "backup"), 1, "backup must be a table")
    table = backup.get("storage")
    if table is None:
        table = tomlkit.table()
        backup.append("storage", table)
    if not isinstance(table, Table):
        raise SourceError(config_path, line_containing(text, "storage"), 1, f"{TABLE} must be a table")
    values = storage.to_toml_values()
    for name in _KEYS:
        if name in values:
            table[name] = values[name]
        elif name in table:
            del table[name]
    atomic_write_bytes(config_path, tomlkit.dumps(document).encode("utf-8"))
