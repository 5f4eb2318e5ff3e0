"""nself.connection: the one reader of connection targets and the one masker, checked
against libpq's own reading (psycopg.conninfo) and against a real server's errors."""

from __future__ import annotations

import pytest

from nself.connection import connect, is_connection_target, libpq_environment, mask_url, scrub, secrets_in
from nself.errors import ConnectionFailed

# Passwords with quotes, spaces, `@`, `/`, `?` and `&`: each written in a URL or key=value string.
CASES = [
    ("postgresql://u:pw9@h/db", "postgresql://u:***@h/db", "pw9"),
    ("postgres://u@h:5/db", "postgres://u@h:5/db", None),
    ("postgresql://h/db?password=xyz&sslmode=disable", "postgresql://h/db?password=***&sslmode=disable", "xyz"),
    ("host=h password='a b' user=u", "host=h password=*** user=u", "a b"),
    ("host=h password='se cret'", "host=h password=***", "se cret"),
    ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db", "p@ss"),
    ("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db", "pa/ss"),
    ("postgresql://u:p?ss@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require", "p?ss"),
    ("postgresql://h:5/db?password=p@ss&sslmode=require", "postgresql://h:5/db?password=***&sslmode=require", "p@ss"),
    ("postgresql://app:q'u%20o\"t%40e@h:1/app", "postgresql://app:***@h:1/app", "q'u o\"t@e"),
    ("host=h password='it\\'s @ secret' dbname=d", "dbname=d host=h password=***", "it's @ secret"),
    ("host=h password='unterminated", "host=h password=***", "unterminated"),
]


@pytest.mark.parametrize(("target", "masked", "password"), CASES, ids=[c[0] for c in CASES])
def test_mask_hides_every_password(target: str, masked: str, password: str | None) -> None:
    assert mask_url(target) == masked
    if password is not None:
        assert password not in mask_url(target)
        assert any(password in secret for secret in secrets_in(target))
        for part in password.replace(" ", "@").split("@"):
            if len(part) >= 2:
                assert part not in scrub(f"error near {target} and {password}", target)


def test_what_libpq_reads_as_host_is_still_secret() -> None:
    # libpq reads `u:p@ss@h` as password `p`, host `ss@h`: its own error quotes "ss@h".
    with pytest.raises(ConnectionFailed) as caught:
        connect("postgresql://u:p@sswordpart@127.0.0.1:1/db", connect_timeout=2)
    assert "sswordpart" not in str(caught.value)


def test_targets_are_told_from_names_and_paths() -> None:
    assert is_connection_target("postgresql://h/db")
    assert is_connection_target("host=h dbname=d")
    assert not is_connection_target("prod")
    assert not is_connection_target("nself/migrations")
    assert not is_connection_target("schema.sql")


def test_client_programs_keep_the_users_pgpassword() -> None:
    conninfo, extra = libpq_environment("postgresql://u@h/db")
    assert extra == {}  # the caller's PGPASSWORD is left in place
    conninfo, extra = libpq_environment("postgresql://u:p%20w@h/db")
    assert extra == {"PGPASSWORD": "p w"}
    assert "p w" not in conninfo and "password" not in conninfo
