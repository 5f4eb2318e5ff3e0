"""The TIME of `nself restore --point-in-time`: absolute (ISO 8601, with or without a
zone; without one, the server's zone) or relative ("90 minutes ago", "1 hour ago")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nself.errors import OptionError

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(second|sec|s|minute|min|m|hour|h|day|d|week|w)s?\s+ago\s*$", re.I)
_UNITS = {"s": "seconds", "sec": "seconds", "second": "seconds", "m": "minutes", "min": "minutes",
          "minute": "minutes", "h": "hours", "hour": "hours", "d": "days", "day": "days",
          "w": "weeks", "week": "weeks"}


@dataclass(frozen=True, slots=True)
class TargetTime:
    moment: datetime  # aware, UTC
    zone: str  # the zone the text was read in: "UTC", "+02:00", the server's, or "relative"
    text: str


def parse_target_time(text: str, *, server_zone: str, now: datetime | None = None) -> TargetTime:
    now = now or datetime.now(UTC)
    relative = _RELATIVE.match(text)
    if relative:
        amount = float(relative.group(1))
        delta = timedelta(**{_UNITS[relative.group(2).lower()]: amount})
        return TargetTime((now - delta).astimezone(UTC), "relative to now", text)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise OptionError(
            f"--point-in-time: cannot read {text!r}; use e.g. \"2026-12-07 15:30:00\", "
            "\"2026-12-07T15:30:00+01:00\", \"90 minutes ago\" or \"1 hour ago\""
        ) from None
    if moment.tzinfo is not None:
        return TargetTime(moment.astimezone(UTC), moment.strftime("%z") or "UTC", text)
    try:
        zone = ZoneInfo(server_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        raise OptionError(f"--point-in-time: the server's time zone {server_zone!r} is unknown here; give a zone (e.g. +00:00)")
    return TargetTime(moment.replace(tzinfo=zone).astimezone(UTC), f"{server_zone} (the server's zone)", text)
