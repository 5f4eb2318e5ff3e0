"""The sql frontend's on-disk cache (nself.frontends.sql_cache): a compile from the cache
gives exactly what a cold compile gives, an edited file is never read from a stale entry,
and a corrupt entry is ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.frontends.migration_files import MigrationFile, discover_migrations
from nself.frontends.sql import CompileResult, compile_cache, compile_files
from nself.frontends.sql_cache import CompileCache
from nself.ir import catalog_to_json
from nself.platforms import platform_named
from tests.conftest import CORPUS

PAGILA = CORPUS / "schemas" / "pagila" / "pagila-schema.sql"

FIRST = """CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, mood mood DEFAULT 'ok');
"""
SECOND = """CREATE SCHEMA app;
SET search_path = app, public;
CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES public.users (id), body text);
INSERT INTO posts (body) VALUES ('x');
"""
THIRD = """CREATE INDEX ON app.posts (user_id) WHERE body <> '';
CREATE VIEW app.recent AS SELECT id, body FROM app.posts WHERE id > 10;
LISTEN somewhere;
"""
PAGILA_MORE = """CREATE INDEX ON film (language_id) WHERE rating <> 'G';
CREATE VIEW recent_films AS SELECT film_id, title FROM film WHERE release_year > 2000;
"""


def project(tmp_path: Path, *texts: str) -> Path:
    migrations = tmp_path / "migrations"
    migrations.mkdir(exist_ok=True)
    for old in migrations.iterdir():
        old.unlink()
    for number, text in enumerate(texts, 1):
        (migrations / f"{number:03d}_part.sql").write_text(text, encoding="utf-8")
    return migrations


def same(got: CompileResult, want: CompileResult) -> None:
    assert catalog_to_json(got.catalog) == catalog_to_json(want.catalog)  # byte-equal IR
    assert got.warnings == want.warnings


def compiled(migrations: Path, cache: Path | None, platform_name: str | None = None) -> CompileResult:
    platform = platform_named(platform_name) if platform_name else None
    return compile_files(discover_migrations(migrations), platform, cache_dir=cache)


def cached(cache: Path, files: list[MigrationFile]) -> CompileCache:
    found = compile_cache(cache, files, None)
    assert found is not None
    return found


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("sql/*/*.pickle"))


def test_a_hit_equals_a_cold_compile(tmp_path: Path) -> None:
    migrations = project(tmp_path, FIRST, SECOND, THIRD)
    cache = tmp_path / ".nself" / "cache"
    cold = compiled(migrations, None)
    assert cold.warnings  # the INSERT and the LISTEN
    same(compiled(migrations, cache), cold)  # fills the cache
    assert [p.name.split("-")[0] for p in entries(cache)] == ["result", "state"]
    assert (cache / ".gitignore").read_text() == "*\n"
    hit = compiled(migrations, cache)
    same(hit, cold)
    files = discover_migrations(migrations)
    assert cached(cache, files).result() is not None


def test_pagila_from_the_cache(tmp_path: Path) -> None:
    if not PAGILA.is_file():
        pytest.skip(f"corpus not found: {PAGILA}")
    migrations = project(tmp_path, PAGILA.read_text(encoding="utf-8"), PAGILA_MORE)
    cache = tmp_path / "cache"
    cold = compiled(migrations, None)
    same(compiled(migrations, cache), cold)
    same(compiled(migrations, cache), cold)


def test_an_edited_last_file_replays_only_that_file(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    compiled(project(tmp_path, FIRST, SECOND, THIRD), cache)
    edited = THIRD.replace("id > 10", "id > 20")
    migrations = project(tmp_path, FIRST, SECOND, edited)
    files = discover_migrations(migrations)
    done, state = cached(cache, files).resume_point()
    assert done == 2 and state is not None  # resumes before the last file
    same(compiled(migrations, cache), compiled(migrations, None))
    # a file appended: resumes from the same point, replays the last two files
    appended = project(tmp_path, FIRST, SECOND, edited, "COMMENT ON TABLE app.posts IS 'p';\n")
    files = discover_migrations(appended)
    assert cached(cache, files).resume_point()[0] == 2
    same(compiled(appended, cache), compiled(appended, None))
    assert cached(cache, files).resume_point()[0] == 3


def test_an_edited_earlier_file_invalidates(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = compiled(project(tmp_path, FIRST, SECOND, THIRD), cache)
    # the same statements, a different text: only content counts, never times
    migrations = project(tmp_path, FIRST.replace("'sad'", "'sad', 'glad'"), SECOND, THIRD)
    files = discover_migrations(migrations)
    assert cached(cache, files).resume_point() == (0, None)
    after = compiled(migrations, cache)
    same(after, compiled(migrations, None))
    assert catalog_to_json(after.catalog) != catalog_to_json(before.catalog)
    # and back: the old entries were pruned, the compile is cold again and right
    same(compiled(project(tmp_path, FIRST, SECOND, THIRD), cache), before)


def test_the_platform_is_part_of_the_key(tmp_path: Path) -> None:
    migrations = project(
        tmp_path, "CREATE TABLE notes (id int PRIMARY KEY, owner uuid REFERENCES auth.users);\n"
    )
    cache = tmp_path / "cache"
    on_supabase = compiled(migrations, cache, "supabase")
    same(compiled(migrations, cache, "supabase"), on_supabase)
    same(on_supabase, compiled(migrations, None, "supabase"))
    with pytest.raises(Exception, match="auth"):
        compiled(migrations, cache)  # not on the platform: auth.users does not exist


@pytest.mark.parametrize("damage", [b"", b"garbage", b"\x80\x05N."])
def test_a_corrupt_cache_is_ignored(tmp_path: Path, damage: bytes) -> None:
    migrations = project(tmp_path, FIRST, SECOND, THIRD)
    cache = tmp_path / "cache"
    cold = compiled(migrations, cache)
    for entry in entries(cache):
        entry.write_bytes(damage if damage else entry.read_bytes()[: entry.stat().st_size // 2])
    same(compiled(migrations, cache), cold)  # no traceback, the right result
    # the entries were written again, whole
    files = discover_migrations(migrations)
    assert isinstance(cached(cache, files).result(), CompileResult)


def test_an_unwritable_cache_is_no_error(tmp_path: Path) -> None:
    migrations = project(tmp_path, FIRST, SECOND)
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder would be")
    same(compiled(migrations, blocker), compiled(migrations, None))


EARLIER = """CREATE TABLE items (a int DEFAULT 1 CHECK (a > 0), b text, c int GENERATED ALWAYS AS (a * 2) STORED);
CREATE INDEX items_a ON items (a, lower(b)) WHERE a > 2;
CREATE VIEW big_items AS SELECT a, b FROM items WHERE a > 100;
"""
LATER = """ALTER TABLE items RENAME COLUMN a TO amount;
ALTER TABLE items ALTER COLUMN amount TYPE bigint;
CREATE TABLE more_items (LIKE items INCLUDING ALL);
"""


def test_a_resumed_file_rederives_the_expressions_of_earlier_files(tmp_path: Path) -> None:
    # The State resumed from holds the trees of earlier defaults, checks, indexes and
    # views unpickled only when read (ExprSource): a last file that renames and retypes
    # their column, and copies their table, derives them again as a cold compile does.
    migrations = project(tmp_path, EARLIER, "SELECT 1;\n")
    cache = tmp_path / ".nself" / "cache"
    compiled(migrations, cache)  # keeps the state before the last file
    migrations = project(tmp_path, EARLIER, LATER)
    files = discover_migrations(migrations)
    assert cached(cache, files).resume_point()[0] == 1
    same(compiled(migrations, cache), compiled(migrations, None))
    same(compiled(migrations, cache), compiled(migrations, None))  # and from the result


def test_an_expression_source_pickles_the_tree_it_holds() -> None:
    import pickle

    import pglast

    from nself.frontends.sql_state import ExprSource

    one, two = (pglast.parse_sql(f"SELECT {n}")[0] for n in (1, 2))
    made = ExprSource("default", one, ("public",), "integer")
    unread = pickle.loads(pickle.dumps(made))
    assert pickle.loads(pickle.dumps(unread)) == made  # unread: the same bytes again
    assert unread == made and unread.node == one  # read when first used
    replaced = pickle.loads(pickle.dumps(made))
    replaced.node = two  # set before ever being read
    assert pickle.loads(pickle.dumps(replaced)).node == two


def test_a_result_written_by_a_forked_process(tmp_path: Path) -> None:
    """Inside writes_forked(), another process writes the result (and prunes the entries
    of the files before the edit); it is there, and whole, once the block is left."""
    import os

    from nself.frontends.sql_cache import writes_forked

    cache = tmp_path / "cache"
    compiled(project(tmp_path, FIRST, SECOND, THIRD), cache)
    migrations = project(tmp_path, FIRST, SECOND, THIRD.replace("id > 10", "id > 20"))
    files = discover_migrations(migrations)
    parent = os.getpid()
    with writes_forked():
        got = compiled(migrations, cache)
    assert os.getpid() == parent
    same(got, compiled(migrations, None))
    result = cached(cache, files).result()
    assert isinstance(result, CompileResult)
    same(result, got)
    assert [p.name.split("-")[0] for p in entries(cache)] == ["result", "state"]  # the old result pruned
