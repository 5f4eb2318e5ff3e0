"""IncrementalCompiler (the watcher's compile): each round gives exactly what a fresh
compile_files gives, while replaying only the files, or the tail of a file, that changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from nself.errors import SourceError
from nself.frontends.migration_files import discover_migrations
from nself.frontends.sql import CompileResult, IncrementalCompiler, compile_files
from tests.conftest import CORPUS

PAGILA = CORPUS / "schemas" / "pagila" / "pagila-schema.sql"

FIRST = """CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL);
CREATE TYPE mood AS ENUM ('ok', 'sad');
"""
SECOND = """SET search_path = app, public;
CREATE SCHEMA app;
CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES public.users (id), body text);
INSERT INTO posts (body) VALUES ('x');
"""


def check(compiler: IncrementalCompiler, migrations: Path) -> CompileResult:
    files = discover_migrations(migrations)
    got = compiler.compile_files(files)
    want = compile_files(files)
    assert got.catalog == want.catalog
    assert got.warnings == want.warnings
    return got


def test_rounds_match_a_fresh_compile(tmp_path: Path) -> None:
    (tmp_path / "001_first.sql").write_text(FIRST)
    second = tmp_path / "002_second.sql"
    second.write_text(SECOND)
    compiler = IncrementalCompiler()
    check(compiler, tmp_path)
    assert [start for _, start in compiler.replayed] == [0, 0]

    check(compiler, tmp_path)  # nothing changed: nothing replayed
    assert compiler.replayed == []
    compiler.settle()  # what the watcher does between rounds
    check(compiler, tmp_path)
    assert compiler.replayed == []

    second.write_text(SECOND + "COMMENT ON TABLE app.posts IS 'p';\n")  # appended
    check(compiler, tmp_path)
    assert [(Path(p).name, start > 0) for p, start in compiler.replayed] == [("002_second.sql", True)]

    # the tail replaced; the session's search_path (app, public) still holds there
    second.write_text(SECOND + "ALTER TABLE posts ADD COLUMN mood mood;\n")
    catalog = check(compiler, tmp_path).catalog
    assert compiler.replayed[0][1] == len(SECOND) - 1  # just past the last `;` kept
    assert [c.name for t in catalog.tables if t.name == "posts" for c in t.columns][-1] == "mood"

    second.write_text(SECOND.replace("body text", "body text, title text"))  # edited in the middle
    check(compiler, tmp_path)
    assert [start for _, start in compiler.replayed] == [0]

    (tmp_path / "001_first.sql").write_text(
        FIRST + "ALTER TABLE users ADD COLUMN age int;\n"
    )  # an earlier file
    check(compiler, tmp_path)
    assert [Path(p).name for p, _ in compiler.replayed] == ["001_first.sql", "002_second.sql"]


def test_an_unterminated_last_statement_is_replayed_whole(tmp_path: Path) -> None:
    migration = tmp_path / "001_first.sql"
    migration.write_text(FIRST + "CREATE TABLE t (a int)")
    compiler = IncrementalCompiler()
    check(compiler, tmp_path)
    migration.write_text(FIRST + "CREATE TABLE t (a int, b int);\n")
    check(compiler, tmp_path)
    assert compiler.replayed == [(str(migration), 0)]


def test_errors_keep_the_snapshots_and_name_the_real_line(tmp_path: Path) -> None:
    migration = tmp_path / "001_first.sql"
    migration.write_text(FIRST)
    compiler = IncrementalCompiler()
    check(compiler, tmp_path)
    migration.write_text(FIRST + "\n\nCREATE TABLE broken (a int REFERENCES nowhere (id));\n")
    with pytest.raises(SourceError) as error:
        compiler.compile_files(discover_migrations(tmp_path))
    with pytest.raises(SourceError) as fresh:
        compile_files(discover_migrations(tmp_path))
    assert (error.value.line, error.value.col) == (fresh.value.line, fresh.value.col) == (5, 1)
    migration.write_text(FIRST + "\n\nCREATE TABLE fine (a int);\n")
    check(compiler, tmp_path)
    assert compiler.replayed[0][1] == len(FIRST) - 1


@pytest.mark.skipif(not PAGILA.exists(), reason=f"corpus not found at {CORPUS}")
def test_pagila_appended_statements(tmp_path: Path) -> None:
    migration = tmp_path / "001_pagila.sql"
    original = PAGILA.read_text(encoding="utf-8")
    migration.write_text(original)
    compiler = IncrementalCompiler()
    check(compiler, tmp_path)
    for n in range(6):  # more rounds than snapshots kept per file
        migration.write_text(original + f"\nCOMMENT ON TABLE public.actor IS 'round {n}';\nSELECT 1;\n")
        check(compiler, tmp_path)
        assert compiler.replayed[0][1] > 0
        if n % 2:
            compiler.settle()


def test_a_state_pickle_cannot_hold_means_no_snapshots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nself.frontends import sql

    def refuse(state: object) -> bytes:
        raise TypeError("cannot pickle 'generator' object")

    (tmp_path / "001_first.sql").write_text(FIRST)
    (tmp_path / "002_second.sql").write_text(SECOND)
    monkeypatch.setattr(sql, "_dump_state", refuse)
    compiler = IncrementalCompiler()
    check(compiler, tmp_path)
    compiler.settle()
    check(compiler, tmp_path)


def test_checkpoints_resume_an_edit_in_the_middle_of_a_big_file(tmp_path: Path) -> None:
    if not PAGILA.exists():
        pytest.skip("corpus not present")
    original = PAGILA.read_text(encoding="utf-8")
    migration = tmp_path / "001_pagila.sql"
    migration.write_text(original)
    compiler = IncrementalCompiler()
    check(compiler, tmp_path)
    compiler.settle()  # checkpoints are made here, while a watcher waits
    middle = original.index("CREATE TABLE public.payment (")
    for n in range(3):  # the same table edited again and again: resumed just before it
        edited = original.replace(
            "CREATE TABLE public.payment (\n", f"CREATE TABLE public.payment (\n    x{n} int,\n"
        )
        migration.write_text(edited)
        check(compiler, tmp_path)
        ((_, start),) = compiler.replayed
        assert 0 < start <= middle
        if n:
            between = original[start:middle].splitlines()
            assert all(not line.strip() or line.startswith("--") for line in between), (
                "resumed just before it"
            )
        compiler.settle()
    # an edit before it replays from an earlier point, and still gives a fresh compile's result
    migration.write_text(
        original.replace("CREATE TABLE public.actor (\n", "CREATE TABLE public.actor (\n    y int,\n")
    )
    check(compiler, tmp_path)
    assert compiler.replayed[0][1] < original.index("CREATE TABLE public.actor (")
