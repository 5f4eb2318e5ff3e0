"""Connecting to PostgreSQL, and the one place that knows where a password hides.

A connection target is a `postgresql://` URL or a libpq key=value string. Both are read
with libpq's own parser (`psycopg.conninfo.conninfo_to_dict`), never with regular
expressions: `host=h password='se cret'` holds the password `se cret`, quotes and space
included. A URL is masked more widely than libpq reads it, because what a user typed as a
password is a secret even where libpq reads it otherwise: in `postgresql://u:p@ss@h/db`
libpq takes `p` as the password and `ss@h` as the host, but the user meant `p@ss`, so
everything between `user:` and the last `@` of the authority is masked.

Every message that may hold a target goes through `mask_url` (to show a target) or
`scrub` (to clean a text, such as a server's or a client program's error, that may quote
one)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from nself.errors import ConnectionFailed

APPLICATION_NAME = "nself"
URL_SCHEMES = ("postgresql://", "postgres://")
MASK = "***"

if TYPE_CHECKING:
    import psycopg

    from nself.libpq import Connection as LibpqConnection


def is_url(text: str) -> bool:
    """A `postgresql://` (or `postgres://`) URL."""
    return text.lower().startswith(URL_SCHEMES)


def is_conninfo(text: str) -> bool:
    """A libpq key=value connection string (`host=h dbname=app ...`) that libpq accepts."""
    if is_url(text) or "=" not in text:
        return False
    return parse_target(text) is not None


def is_connection_target(text: str) -> bool:
    """A URL or a key=value connection string: something to connect to, not a name or a path."""
    return is_url(text) or is_conninfo(text)


def parse_target(target: str) -> dict[str, str] | None:
    """libpq's reading of a URL or key=value string; None when libpq rejects it."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(target)
    except (ProgrammingError, ValueError):
        return None
    return {str(key): str(value) for key, value in params.items() if value is not None}


def target_params(target: str, *, what: str = "connection URL") -> dict[str, str]:
    """libpq's reading of `target`, or ConnectionFailed naming it masked."""
    params = parse_target(target)
    if params is None:
        raise ConnectionFailed(f"invalid {what} {mask_url(target)}")
    return params


# --------------------------------------------------------------------------- secrets


def _url_userinfo_end(rest: str) -> int:
    """Where the credentials of a URL (the text after `scheme://`) end: the last `@` before
    the first `/`, or before the first `?`, whichever is further. libpq reads credentials
    up to the first `@` or `/`; the wider span also covers what a user meant as a password
    holding `@`, `/` or `?`."""
    slash = rest.find("/")
    question = rest.find("?")
    before_slash = rest.rfind("@", 0, slash if slash >= 0 else len(rest))
    before_query = rest.rfind("@", 0, question if question >= 0 else len(rest))
    return max(before_slash, before_query)


def _query_password_spans(url: str) -> list[tuple[int, int]]:
    """(start, end) of the value of every `password=` parameter of a URL's query."""
    question = url.find("?", len(url.split("://", 1)[0]) + 3)
    if question < 0:
        return []
    spans = []
    position = question + 1
    for item in url[question + 1 :].split("&"):
        key, equals, _ = item.partition("=")
        if equals and key.strip().lower() == "password":
            start = position + len(key) + 1
            spans.append((start, position + len(item)))
        position += len(item) + 1
    return spans


def _url_secret_spans(url: str) -> list[tuple[int, int]]:
    scheme_end = url.find("://") + 3
    rest = url[scheme_end:]
    spans = _query_password_spans(url)
    end = _url_userinfo_end(rest)
    if end >= 0:
        colon = rest.find(":", 0, end)
        if colon >= 0:
            # A password inside a query value is not a credential of the authority.
            inside_query = any(start <= scheme_end + end < stop for start, stop in spans)
            if not inside_query:
                spans.append((scheme_end + colon + 1, scheme_end + end))
    return sorted(spans)


def secrets_in(target: str) -> list[str]:
    """Every text of `target` that is, or may be, a password: libpq's reading, the masked
    spans of a URL (raw and percent-decoded, and each part between `@`s, which libpq may
    read as a host), longest first. Empty for a target without a password."""
    found: set[str] = set()
    params = parse_target(target)
    password = (params or {}).get("password", "")
    # In a URL, libpq's password is (a part of) the masked span, added below; a one-letter
    # part of `u:p@ss@h` would blank every `p` of a message.
    if password and (len(password) >= 2 or not is_url(target)):
        found.add(password)
    if is_url(target):
        for start, end in _url_secret_spans(target):
            raw = target[start:end]
            for text in (raw, unquote(raw)):
                found.add(text)
                found.update(part for part in text.split("@") if len(part) >= 2)
    elif params is None:
        cut = target.lower().find("password")
        if cut >= 0:  # unreadable by libpq: everything after the keyword may be secret
            tail = target[cut + len("password") :].lstrip(" =")
            for text in (tail, tail.strip("'\"")):
                found.add(text)
                found.update(part.strip("'\"") for part in text.split() if len(part) >= 2)
    found.discard("")
    return sorted(found, key=lambda s: (-len(s), s))


def mask_url(target: str) -> str:
    """`target` (URL or key=value string) as it may be shown: passwords replaced by ***."""
    if is_url(target):
        masked, last = [], 0
        for start, end in _url_secret_spans(target):
            masked += [target[last:start], MASK]
            last = end
        masked.append(target[last:])
        return "".join(masked)
    params = parse_target(target)
    if params is None:
        cut = target.lower().find("password")
        return target if cut < 0 else target[:cut] + f"password={MASK}"
    if "password" not in params:
        return target
    from psycopg.conninfo import make_conninfo

    shown = {key: (MASK if key == "password" else params[key]) for key in sorted(params)}
    return make_conninfo("", **shown)


def scrub(text: str, *targets: str | None) -> str:
    """`text` with every target shown masked and every password of theirs removed, wherever
    it appears (a server's message, a client program's stderr)."""
    for target in targets:
        if not target:
            continue
        if target in text:
            text = text.replace(target, mask_url(target))
        for secret in secrets_in(target):
            text = text.replace(secret, MASK)
    return text


def scrub_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with each of `secrets` (bare passwords, e.g. $PGPASSWORD) replaced by ***."""
    for secret in sorted({s for s in secrets if s}, key=lambda s: (-len(s), s)):
        text = text.replace(secret, MASK)
    return text


# --------------------------------------------------------------------------- connecting


def _session_params(url: str) -> dict[str, str]:
    """What nself adds to every connection unless the target says otherwise."""
    # Lets `nself db branch` tell nself's own sessions from other clients in pg_stat_activity.
    return {} if "application_name" in url else {"application_name": APPLICATION_NAME}


def _cannot_connect(url: str, exc: Exception) -> ConnectionFailed:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return ConnectionFailed(f"cannot connect to {mask_url(url)}: {scrub(reason, url)}")


def connect(url: str, *, autocommit: bool = False, connect_timeout: int = 10, **kwargs: Any) -> psycopg.Connection[Any]:
    """Open a connection; failure raises ConnectionFailed naming the masked URL."""
    import psycopg  # here, not at the top: commands that never connect start faster

    kwargs = {**_session_params(url), **kwargs}
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=connect_timeout, **kwargs)
    except psycopg.OperationalError as exc:
        raise _cannot_connect(url, exc) from None
    except (psycopg.ProgrammingError, ValueError) as exc:  # a malformed URL or conninfo string
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConnectionFailed(f"invalid connection URL {mask_url(url)}: {scrub(reason, url)}") from None


def connect_libpq(url: str, *, connect_timeout: int = 10) -> LibpqConnection | None:
    """`connect`'s connection (the same target read by the same libpq, nself's application
    name, the timeout) opened on libpq directly (nself.libpq), without importing psycopg:
    for a command whose start-up would otherwise be mostly that import (`db query --csv`).
    A timeout is ConnectionFailed, in psycopg's words. None, nothing left open, where no
    libpq loads here, where `url` is neither a URL nor a key=value string, and where libpq
    failed otherwise: then `connect` connects, or fails with its own message (psycopg tries
    each host and address of a target in turn and names every failure), which costs a
    second attempt on a failure."""
    if not (is_url(url) or "=" in url):
        return None  # libpq would take a bare word for a database name; psycopg refuses it
    from nself import libpq

    lib = libpq.load()
    if lib is None:
        return None
    params = {"dbname": url, **_session_params(url), "connect_timeout": str(connect_timeout)}
    # psycopg's own wait: at least 2 s; none (0) is its default of 130 s.
    timeout = max(connect_timeout, 2) if connect_timeout > 0 else 130
    try:
        return libpq.Connection.connect(lib, params, timeout)
    except libpq.ConnectFailed as exc:
        if exc.timed_out:
            raise _cannot_connect(url, exc) from None
        return None


def libpq_environment(url: str) -> tuple[str, dict[str, str]]:
    """(conninfo without the password, the variables to add to a client program's
    environment): a password in `url` travels as PGPASSWORD, never in argv. Without one,
    nothing is added, so the user's own PGPASSWORD (or ~/.pgpass) still applies."""
    from psycopg.conninfo import make_conninfo

    params = target_params(url)
    password = params.pop("password", None)
    extra = {"PGPASSWORD": password} if password is not None else {}
    return make_conninfo("", **params), extra
