from datetime import UTC, datetime

import pytest

from nself.errors import OptionError
from nself.runtime.backup.timespec import parse_target_time

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("90 minutes ago", "UTC", datetime(2026, 12, 7, 13, 30, tzinfo=UTC)),
        ("1 hour ago", "UTC", datetime(2026, 12, 7, 14, 0, tzinfo=UTC)),
        ("30 seconds ago", "UTC", datetime(2026, 12, 7, 14, 59, 30, tzinfo=UTC)),
        ("2026-12-07 12:00:00+01:00", "UTC", datetime(2026, 12, 7, 11, 0, tzinfo=UTC)),
        ("2026-12-07T12:00:00Z", "Europe/Paris", datetime(2026, 12, 7, 12, 0, tzinfo=UTC)),
        ("2026-12-07 12:00:00", "Europe/Paris", datetime(2026, 12, 7, 11, 0, tzinfo=UTC)),
        ("2026-12-07 12:00:00", "UTC", datetime(2026, 12, 7, 12, 0, tzinfo=UTC)),
    ],
)
def test_target_times(text: str, zone: str, expected: datetime) -> None:
    assert parse_target_time(text, server_zone=zone, now=NOW).moment == expected


def test_a_time_without_zone_says_it_used_the_servers() -> None:
    assert "Europe/Paris" in parse_target_time("2026-12-07 12:00", server_zone="Europe/Paris").zone


def test_unreadable_time_names_the_option() -> None:
    with pytest.raises(OptionError, match="--point-in-time"):
        parse_target_time("yesterday-ish", server_zone="UTC")
