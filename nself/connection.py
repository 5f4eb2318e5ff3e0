"""Connecting to PostgreSQL: one place that opens connections, turns failures into one
line, and keeps passwords out of every message."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from nself.errors import ConnectionFailed

APPLICATION_NAME = "nself"

if TYPE_CHECKING:
    import psycopg


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, also in `password=` query parameters
    and key=value connection strings."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(password\s*=\s*)\S+", r"\1***", url)
    if parts.scheme and parts.netloc and parts.password is not None:
        userinfo = f"{parts.username or ''}:***@"
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=userinfo + host)
    masked = urlunsplit(parts) if parts.scheme else url
    return re.sub(r"(password\s*=\s*)[^&\s]+", r"\1***", masked)


def scrub(text: str, url: str) -> str:
    """`text` with the password of `url` (if any) removed wherever it appears."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    text = text.replace(url, mask_url(url))
    if password:
        text = text.replace(password, "***")
    return text


def connect(url: str, *, autocommit: bool = False, connect_timeout: int = 10, **kwargs: Any) -> psycopg.Connection[Any]:
    """Open a connection; failure raises ConnectionFailed naming the masked URL."""
    import psycopg  # here, not at the top: commands that never connect start faster

    if "application_name" not in url:
        # Lets `nself db branch` tell nself's own sessions from other clients in pg_stat_activity.
        kwargs.setdefault("application_name", APPLICATION_NAME)
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=connect_timeout, **kwargs)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConnectionFailed(f"cannot connect to {mask_url(url)}: {scrub(reason, url)}") from None
    except psycopg.ProgrammingError as exc:  # a malformed URL or conninfo string
        raise ConnectionFailed(f"invalid connection URL {mask_url(url)}: {scrub(str(exc), url)}") from None


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every one of `secrets` (keys, tokens, passwords) replaced by ***, longest
    first so that a secret containing another is masked whole; empty and very short values
    (which would mask ordinary words) are left alone."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
