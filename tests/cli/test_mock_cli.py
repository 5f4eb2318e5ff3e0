"""`nself mock` through the real CLI: init, preview, bad config, export and import."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clitools import run_nself
from tests.conftest import run_sql


def test_init_preview_export_import(tmp_path: Path, database: str) -> None:
    run_sql(database, "CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, name text, age int CHECK (age >= 18));")
    (tmp_path / "nself.toml").write_text('[environments.dev]\nurl = "env:NSELF_MOCK_DEV"\n')
    env = {"NSELF_MOCK_DEV": database}
    init = run_nself("mock", "init", "--env", "dev", "--seed", "7", cwd=tmp_path, env=env)
    assert init.code == 0, init.stderr
    config = (tmp_path / "nself/mock/mock.config.yaml").read_text()
    assert "email:\n        type: email" in config and "seed: 7" in config
    assert "age:\n        type: integer\n        min: 18\n" in config  # ranges from CHECKs
    assert "generator_version=1" in (tmp_path / "nself/mock/mock.seed").read_text()

    preview = run_nself("mock", "preview", "users", "--rows", "3", "--json", "--env", "dev", cwd=tmp_path, env=env)
    assert preview.code == 0, preview.stderr
    rows = json.loads(preview.stdout)
    assert len(rows) == 3 and all(int(r["age"]) >= 18 for r in rows)
    again = run_nself("mock", "preview", "users", "--rows", "3", "--json", "--env", "dev", cwd=tmp_path, env=env)
    assert json.loads(again.stdout) == rows

    assert run_nself("mock", "export", "-o", "shared.tar.gz", cwd=tmp_path).code == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "nself.toml").write_text("")
    imported = run_nself("mock", "import", str(tmp_path / "shared.tar.gz"), cwd=other)
    assert imported.code == 0, imported.stderr
    assert (other / "nself/mock/mock.config.yaml").read_text() == config


def test_bad_config_names_file_line_and_column(tmp_path: Path, database: str) -> None:
    run_sql(database, "CREATE TABLE users (id serial PRIMARY KEY, name text);")
    (tmp_path / "nself.toml").write_text('[environments.dev]\nurl = "env:NSELF_MOCK_DEV"\n')
    config = tmp_path / "nself/mock/mock.config.yaml"
    config.parent.mkdir(parents=True)
    env = {"NSELF_MOCK_DEV": database}
    cases = [
        ("seed: 1\ntables:\n  users:\n    count: [1\n", ":5:"),
        ("seed: 1\ntables:\n  users:\n    columns:\n      name: { type: nonsense }\n", ":5:"),
        ("seed: one\n", ":1:"),
    ]
    for text, position in cases:
        config.write_text(text)
        result = run_nself("mock", "generate", "--yes", "--env", "dev", cwd=tmp_path, env=env)
        assert result.code == 1
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"{config}{position}" in lines[0], result.stderr


def test_preview_of_an_unknown_table_is_one_line(tmp_path: Path, database: str) -> None:
    run_sql(database, "CREATE TABLE users (id serial PRIMARY KEY, name text);")
    (tmp_path / "nself.toml").write_text('[environments.dev]\nurl = "env:NSELF_MOCK_DEV"\n')
    result = run_nself("mock", "preview", "nosuch", "--env", "dev", cwd=tmp_path, env={"NSELF_MOCK_DEV": database})
    assert result.code == 1
    assert result.stderr.strip().splitlines() == ["error: no table 'nosuch' in the schema (tables: users)"]


def test_mock_leaves_the_platform_tables_alone(tmp_path: Path, database: str) -> None:
    """A database with the Supabase base: mock init, preview and generate see the project's
    tables only (auth.users, storage.objects are the platform's: their rows come from its
    services); a project key to auth.users picks the users already there.
    --include-platform brings them back."""
    from nself.platforms import platform_named
    from nself.runtime.platform import ensure_platform

    ensure_platform(database, platform_named("supabase"))
    run_sql(
        database,
        "CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users, handle text NOT NULL);"
        "INSERT INTO auth.users (id, email) SELECT gen_random_uuid(), 'u' || i || '@x' FROM generate_series(1, 3) i;",
    )
    (tmp_path / "nself.toml").write_text('platform = "supabase"\n\n[environments.dev]\nurl = "env:NSELF_MOCK_DEV"\n')
    env = {"NSELF_MOCK_DEV": database}
    init = run_nself("mock", "init", "--env", "dev", cwd=tmp_path, env=env)
    assert init.code == 0, init.stderr
    config = (tmp_path / "nself/mock/mock.config.yaml").read_text()
    tables = [line.strip() for line in config.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert tables == ["profiles:"], config  # its key still names auth.users as its parent
    assert "table: auth.users" in config
    refused = run_nself("mock", "preview", "auth.users", "--env", "dev", cwd=tmp_path, env=env)
    assert refused.code == 1 and "no table 'auth.users'" in refused.stderr
    done = run_nself("mock", "generate", "--yes", "--preset", "minimal", "--env", "dev", cwd=tmp_path, env=env)
    assert done.code == 0, done.stderr
    assert "auth.users" not in done.stdout and "storage" not in done.stdout
    import psycopg

    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM auth.users").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM public.profiles").fetchone() == (3,)  # one per user
    wide = run_nself("mock", "init", "--force", "--include-platform", "--env", "dev", cwd=tmp_path, env=env)
    assert wide.code == 0, wide.stderr
    wide_config = (tmp_path / "nself/mock/mock.config.yaml").read_text()
    assert "  auth.users:" in wide_config and "  storage.objects:" in wide_config
