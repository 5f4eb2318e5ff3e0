"""nself/platforms.py: the platforms nself knows and how their project folders are recognised."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.errors import OptionError
from nself.platforms import detect_platform, platform_named, project_platform


def test_supabase_is_defined_by_files_shipped_in_the_package() -> None:
    supabase = platform_named("supabase")
    assert [f.name for f in supabase.files] == [
        "<supabase>/01_extensions.sql",
        "<supabase>/02_auth.sql",
        "<supabase>/03_storage.sql",
        "<supabase>/04_realtime.sql",
        "<supabase>/05_stand_ins.sql",
    ]
    assert "CREATE TABLE auth.users" in supabase.files[1].text
    for role in ("anon", "authenticated", "service_role", "supabase_auth_admin", "supabase_storage_admin", "authenticator"):
        assert f"'{role}'" in supabase.cluster_sql
    assert supabase.search_path == ("$user", "public", "extensions")
    assert {"auth", "storage", "extensions"} <= set(supabase.schemas)
    # extensions Supabase ships that this server lacks: what the base stands in for
    assert [s.extension for s in supabase.stand_ins] == ["pg_graphql", "pg_net", "pgjwt", "plv8"]
    assert {"net", "graphql", "graphql_public"} <= set(supabase.schemas)


def test_an_unknown_platform_is_one_line_naming_the_known_ones() -> None:
    with pytest.raises(OptionError, match=r"unknown platform 'firebase' \(known: supabase\)"):
        platform_named("firebase")


def test_supabase_migrations_folders_and_their_files_are_recognised(tmp_path: Path) -> None:
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20240101000000_init.sql").write_text("select 1;")
    assert detect_platform(migrations) is platform_named("supabase")
    assert detect_platform(migrations / "20240101000000_init.sql") is platform_named("supabase")
    other = tmp_path / "db" / "migrations"
    other.mkdir(parents=True)
    assert detect_platform(other) is None
    assert detect_platform(tmp_path / "supabase") is None


def test_a_project_folder_holding_supabase_is_a_supabase_project(tmp_path: Path) -> None:
    assert project_platform(tmp_path) is None
    (tmp_path / "supabase").mkdir()
    assert project_platform(tmp_path) is None  # an empty folder of that name says nothing
    (tmp_path / "supabase" / "config.toml").write_text('project_id = "x"\n')
    assert project_platform(tmp_path) is platform_named("supabase")
