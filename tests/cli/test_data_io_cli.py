"""`nself data export` and `nself data import` through the real CLI: default paths, --json,
one-line errors. The oracle is PostgreSQL: the rows read back from the environment the files
were imported into."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.clitools import run_nself
from tests.conftest import NewDatabase, run_sql

CONFIG = """
[environments.source]
url = "env:NSELF_TEST_SOURCE_URL"

[environments.copy]
url = "env:NSELF_TEST_COPY_URL"
"""

SCHEMA = "CREATE TABLE notes (id serial PRIMARY KEY, body text, tags text[]);"


@pytest.fixture
def project(tmp_path: Path, new_database: NewDatabase) -> tuple[Path, dict[str, str]]:
    (tmp_path / "nself.toml").write_text(CONFIG)
    env = {"NSELF_TEST_SOURCE_URL": new_database("source"), "NSELF_TEST_COPY_URL": new_database("copy")}
    run_sql(env["NSELF_TEST_COPY_URL"], SCHEMA)
    run_sql(
        env["NSELF_TEST_SOURCE_URL"],
        SCHEMA
        + "INSERT INTO notes (body, tags) SELECT 'note ' || g, ARRAY[g::text] FROM generate_series(1, 50) g;",
    )
    return tmp_path, env


def notes(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT * FROM notes ORDER BY id").fetchall()


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_to_the_default_directory_then_import(project: tuple[Path, dict[str, str]], fmt: str) -> None:
    root, env = project
    exported = run_nself("data", "export", "--env", "source", "--format", fmt, "--json", cwd=root, env=env)
    assert exported.code == 0, exported.stderr
    report = json.loads(exported.stdout)
    directory = Path(report["directory"])
    assert directory.parent == root / ".nself" / "exports" and directory.name.startswith("source-")
    assert report["tables"] == [
        {"table": "public.notes", "path": str(directory / f"public.notes.{fmt}"), "rows": 50}
    ]

    imported = run_nself("data", "import", str(directory), "--env", "copy", cwd=root, env=env)
    assert imported.code == 0, imported.stderr
    assert "imported 50 rows into 1 tables of copy" in imported.stdout
    assert notes(env["NSELF_TEST_COPY_URL"]) == notes(env["NSELF_TEST_SOURCE_URL"])


def test_import_one_csv_into_a_named_table_then_upsert(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    (root / "people.csv").write_text('id,body,tags\n1,first,"{a,b}"\n2,,\n')
    first = run_nself(
        "data", "import", "people.csv", "--table", "notes", "--env", "copy", "--json", cwd=root, env=env
    )
    assert first.code == 0, first.stderr
    assert json.loads(first.stdout)["tables"][0]["rows"] == 2
    (root / "people.csv").write_text("id,body\n2,second\n3,third\n")
    again = run_nself(
        "data", "import", "people.csv", "-t", "notes", "--upsert", "--yes", "--env", "copy", cwd=root, env=env
    )
    assert again.code == 0, again.stderr
    assert notes(env["NSELF_TEST_COPY_URL"]) == [
        (1, "first", ["a", "b"]),
        (2, "second", None),
        (3, "third", None),
    ]


def test_errors_are_one_line(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    (root / "public.notes.csv").write_text("id,body\n1,a\nx,b\n")
    bad = run_nself("data", "import", "public.notes.csv", "--env", "copy", cwd=root, env=env)
    assert bad.code == 1
    assert bad.stderr.strip().splitlines() == [
        'error: public.notes.csv: line 3: invalid input syntax for type integer: "x"'
    ]
    assert notes(env["NSELF_TEST_COPY_URL"]) == []
    missing = run_nself("data", "import", "nowhere", "--env", "copy", cwd=root, env=env)
    assert missing.code != 0 and "nowhere: no such file or directory" in missing.stderr
    fmt = run_nself("data", "export", "--format", "xml", "--env", "source", cwd=root, env=env)
    assert fmt.code != 0 and "--format: expected json, csv or parquet" in fmt.stderr
    both = run_nself(
        "data", "import", "public.notes.csv", "--upsert", "--truncate", "--yes", "--env", "copy", cwd=root, env=env
    )
    assert both.code != 0 and "--upsert and --truncate exclude each other" in both.stderr
