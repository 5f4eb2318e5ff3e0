from pathlib import Path

import pytest

from nself.errors import OptionError, SourceError
from nself.runtime.project import load_project, mask_url


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "nself.toml").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("[environments.local]\nport = \n", 2, "Invalid value"),
        ("[environments.local\nport = 5\n", 1, ""),
        ('[environments.local]\nport = "five"\n', 2, "port must be a port number"),
        ('[environments.staging]\nurl = "mysql://x"\n', 2, "must be \"env:VARIABLE\""),
        ('[environments.prod]\nurl = "env:P"\nproduction = "yes"\n', 3, "production must be true or false"),
        ('[environments.staging]\nurl = "postgresql://u:secret@h/db"\n', 2, "password in clear"),
        ('environments = 5\n', 1, "must be a table"),
        ('platform = "firebase"\n', 1, "platform must be one of: 'supabase'"),
        ('# paths\nmigrations = 5\n', 2, "migrations must be a path"),
        ('seeds = ""\n', 1, "seeds must be a path"),
    ],
)
def test_bad_nself_toml_names_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    write_config(tmp_path, text)
    with pytest.raises(SourceError) as info:
        load_project(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'nself.toml'}:{line}")
    assert fragment in message
    assert "\n" not in message
    assert "secret" not in message


def test_environments_resolve_urls_from_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(
        tmp_path,
        '[environments.local]\nport = 6000\n[environments.prod]\nurl = "env:PROD_URL"\nproduction = true\n',
    )
    project = load_project(tmp_path)
    monkeypatch.setenv("PROD_URL", "postgresql://app:hunter2@db.example/app")
    prod = project.environment("prod")
    assert prod.production and not prod.managed
    assert prod.url() == "postgresql://app:hunter2@db.example/app"
    assert "hunter2" not in prod.display_url()
    assert project.environment("local").url().endswith(":6000/postgres")


def test_default_environment_comes_from_nself_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, '[environments.staging]\nurl = "env:S"\n')
    monkeypatch.setenv("NSELF_ENV", "staging")
    assert load_project(tmp_path).environment().name == "staging"


def test_unknown_environment_and_unset_variable_name_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, '[environments.staging]\nurl = "env:NSELF_TEST_UNSET"\n')
    monkeypatch.delenv("NSELF_TEST_UNSET", raising=False)
    project = load_project(tmp_path)
    with pytest.raises(OptionError, match="--env: no environment 'qa'"):
        project.environment("qa")
    with pytest.raises(OptionError, match="NSELF_TEST_UNSET is not set"):
        project.environment("staging").url()


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://app:hunter2@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("postgresql://app@db/app", "postgresql://app@db/app"),
        ("postgresql://db/app?password=hunter2&sslmode=require", "postgresql://db/app?password=***&sslmode=require"),
        ("host=db password=hunter2 user=app", "host=db password=*** user=app"),
    ],
)
def test_mask_url_hides_passwords(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_paths_and_platform_come_from_nself_toml(tmp_path: Path) -> None:
    plain = load_project(write_config(tmp_path, "[environments.local]\nport = 6000\n"))
    assert plain.migrations_dir == tmp_path / "nself" / "migrations"
    assert plain.seeds_path == tmp_path / "nself" / "seeds"
    assert plain.tests_dir == tmp_path / "nself" / "tests"
    assert plain.platform is None
    write_config(
        tmp_path,
        'platform = "supabase"\nmigrations = "supabase/migrations"\nseeds = "supabase/seed.sql"\n'
        'tests = "supabase/tests"\n',
    )
    adopted = load_project(tmp_path)
    assert adopted.migrations_dir == tmp_path / "supabase" / "migrations"
    assert adopted.seeds_path == tmp_path / "supabase" / "seed.sql"
    assert adopted.tests_dir == tmp_path / "supabase" / "tests"
    assert adopted.platform is not None and adopted.platform.name == "supabase"
