"""Where cloud credentials come from (each ecosystem's usual places, never nself.toml), how
to say so without showing them, and how to keep them out of every message."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from nself.connection import scrub_secrets

_AWS_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ACCESS_KEY_ID")
_AZURE_VARIABLES = ("AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_SAS_TOKEN")
# Secrets inside texts an SDK may quote: connection strings, presigned or SAS URLs, headers.
_SECRET_PATTERNS = (
    re.compile(r"((?:AccountKey|SharedAccessSignature|SharedAccessKey)\s*=\s*)[^;\s'\"]+", re.IGNORECASE),
    re.compile(r"((?:^|[?&\s])(?:sig|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature)=)[^&\s'\"]+"),
    re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\n]+", re.IGNORECASE),
)

# Secrets learnt while running (boto3 resolving ~/.aws/credentials): masked too.
_resolved: set[str] = set()


def remember_secrets(values: Iterable[str | None]) -> None:
    _resolved.update(v for v in values if v)


def known_secrets() -> list[str]:
    """Every credential value this process may hold: the variables of both ecosystems, the
    parts of an Azure connection string, and what boto3 resolved from its files."""
    values = [os.environ.get(name, "") for name in (*_AWS_VARIABLES, *_AZURE_VARIABLES)]
    connection = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "")
    for part in connection.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() in ("accountkey", "sharedaccesssignature"):
            values.append(value.strip())
    values.extend(_resolved)
    return [v for v in values if v]


def mask_cloud_secrets(text: str) -> str:
    """`text` without any credential: known values replaced by ***, and anything shaped
    like a key, signature or authorization header masked as well."""
    text = scrub_secrets(text, (s for s in known_secrets() if len(s) >= 4))
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


def aws_credential_source(profile: str | None = None) -> str:
    """Where boto3's default chain finds credentials (the chain's own name for it), or a
    sentence saying none were found. Never the credentials themselves."""
    import boto3

    try:
        session = boto3.Session(profile_name=profile) if profile else boto3.Session()
        credentials = session.get_credentials()
    except Exception as exc:  # a profile that does not exist, an unreadable ~/.aws file
        return f"boto3's default chain fails: {mask_cloud_secrets(' '.join(str(exc).split()))}"
    if credentials is None:
        return "none found (boto3's chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials)"
    method = getattr(credentials, "method", "") or "unknown"
    described = {
        "env": "environment variables AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
        "shared-credentials-file": f"~/.aws/credentials (profile {session.profile_name})",
        "config-file": f"~/.aws/config (profile {session.profile_name})",
        "iam-role": "the instance's IAM role",
        "container-role": "the container's IAM role",
        "assume-role": f"an assumed role (profile {session.profile_name})",
        "sso": f"AWS SSO (profile {session.profile_name})",
    }
    return f"boto3's default chain: {described.get(method, method)}"


def azure_credential_source() -> str:
    if os.environ.get("AZURE_STORAGE_CONNECTION_STRING"):
        return "environment variable AZURE_STORAGE_CONNECTION_STRING"
    if os.environ.get("AZURE_STORAGE_ACCOUNT") and os.environ.get("AZURE_STORAGE_KEY"):
        return "environment variables AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_KEY"
    return "none found (set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY)"
