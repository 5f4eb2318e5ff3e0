"""A Supabase project used as it is, through the real CLI: `nself init` adopts its
supabase/ folder, `nself db migrate` applies its migrations unchanged on the managed
cluster (which got the platform's base), and what nself reads from the files equals what
it reads from the database, the platform's own objects left out of both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nself.runtime.cluster import free_port
from tests.clitools import run_nself

pytestmark = pytest.mark.oracle

EXAMPLES = ("todo-list", "user-management", "slack-clone")

SEED = "insert into storage.buckets (id, name, public) values ('docs', 'docs', true);\n"
TEST = """begin;
select plan(2);
select has_table('auth', 'users', 'the platform made auth.users');
select is((select count(*)::int from storage.buckets where id = 'docs'), 1, 'the seed ran');
select * from finish();
rollback;
"""


def adopted_project(corpus: Path, example: str, tmp_path: Path) -> Path:
    root = tmp_path / example
    shutil.copytree(corpus / "supabase-examples" / example, root)
    for path in (tmp_path, *root.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (root / "supabase" / "seed.sql").write_text(SEED)
    (root / "supabase" / "tests").mkdir()
    (root / "supabase" / "tests" / "platform_test.sql").write_text(TEST)
    return root


def schema_json(root: Path, *args: str) -> dict[str, object]:
    shown = run_nself("schema", "show", "--format", "json", *args, cwd=root)
    assert shown.code == 0, shown.stderr
    data: dict[str, object] = json.loads(shown.stdout)
    return data


def table_names(data: dict[str, object]) -> set[str]:
    tables = data.get("tables", [])
    assert isinstance(tables, list)
    return {f"{t['schema']}.{t['name']}" for t in tables}


@pytest.mark.parametrize("example", EXAMPLES)
def test_init_adopts_a_supabase_project_and_migrate_applies_it(example: str, corpus: Path, tmp_path: Path) -> None:
    root = adopted_project(corpus, example, tmp_path)
    created = run_nself("init", cwd=root)
    assert created.code == 0, created.stderr
    config = root / "nself.toml"
    text = config.read_text()
    for line in (
        'platform = "supabase"',
        'migrations = "supabase/migrations"',
        'seeds = "supabase/seed.sql"',
        'tests = "supabase/tests"',
    ):
        assert line in text
    assert not (root / "nself" / "migrations").exists()
    config.write_text(text.replace("port = 54329", f"port = {free_port()}"))
    try:
        migrated = run_nself("db", "migrate", cwd=root)
        assert migrated.code == 0, migrated.stderr
        [migration] = (root / "supabase" / "migrations").iterdir()
        assert f"applied supabase/migrations/{migration.name}" in migrated.stdout
        assert "up to date" in run_nself("db", "migrate", cwd=root).stdout

        # the files and the database read the same, the platform's objects out of both
        from_database = schema_json(root)
        from_files = schema_json(root, "--from", "supabase/migrations")
        assert from_files == from_database
        assert not any(name.startswith("storage.") for name in table_names(from_database))
        if example != "slack-clone":
            return  # the rest once (each command is a process of its own: seconds)
        assert "storage.objects" in table_names(schema_json(root, "--include-platform"))
        diff = run_nself("schema", "diff", "--exit-code", cwd=root)
        assert diff.code == 0, diff.stdout + diff.stderr
        assert "no differences" in diff.stderr

        seeded = run_nself("seed", "run", cwd=root)
        assert seeded.code == 0 and "ran seed.sql" in seeded.stdout, seeded.stderr
        tested = run_nself("db", "test", cwd=root)
        assert tested.code == 0, tested.stdout + tested.stderr

        # An extension Supabase ships that this server lacks: a warning, not a failure,
        # and no difference between the files and the database.
        hooks = root / "supabase" / "migrations" / "20990101000000_hooks.sql"
        hooks.write_text(
            "create extension if not exists pg_net;\n"
            "create function public.ping(target text) returns bigint language sql\n"
            "  as $$ select net.http_post(url := target) $$;\n"
        )
        migrated = run_nself("db", "migrate", cwd=root)
        assert migrated.code == 0, migrated.stderr
        assert "applied supabase/migrations/20990101000000_hooks.sql" in migrated.stdout
        warning = " ".join(migrated.stderr.split())
        assert "warning:" in warning and "20990101000000_hooks.sql:1: extension pg_net is not available" in warning
        diff = run_nself("schema", "diff", "--exit-code", cwd=root)
        assert diff.code == 0, diff.stdout + diff.stderr
    finally:
        run_nself("db", "stop", cwd=root)
