"""`--json` on the commands that report what they did (issue 13): each prints one JSON
document on stdout, with the same keys for the same things (`written` for files written,
`duration_ms` for how long it took), and what it reports is checked against the files and
the database it acted on."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

from tests.clitools import Result, run_nself
from tests.conftest import NewDatabase, run_sql

CONFIG = '[environments.dev]\nurl = "env:NSELF_JSON_DEV_URL"\n'
SCHEMA = "CREATE TABLE public.authors (id int PRIMARY KEY, name text NOT NULL);\n"


def nself(project: Path, url: str, *args: str) -> Result:
    return run_nself(*args, cwd=project, env={"NSELF_JSON_DEV_URL": url})


def test_schema_diagram_and_docs_write_the_file_and_summarise(tmp_path: Path) -> None:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    plain = run_nself("schema", "diagram", "--from", "schema.sql", cwd=tmp_path)
    done = run_nself("schema", "diagram", "--from", "schema.sql", "-o", "out/er.mmd", "--json", cwd=tmp_path)
    assert done.code == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["written"] == ["out/er.mmd"] and summary["format"] == "mermaid"
    assert (tmp_path / "out" / "er.mmd").read_text() == plain.stdout
    assert summary["bytes"] == len(plain.stdout.encode()) and isinstance(summary["duration_ms"], int)
    docs = json.loads(run_nself("schema", "docs", "--from", "schema.sql", "-f", "markdown", "-o", "s.md", "--json", cwd=tmp_path).stdout)
    assert docs["written"] == ["s.md"] and "authors" in (tmp_path / "s.md").read_text()
    stdout_only = run_nself("schema", "docs", "--from", "schema.sql", "--json", cwd=tmp_path)
    assert stdout_only.code == 1 and stdout_only.stderr.startswith("error: --json: give --output")


def test_migrate_fresh_seed_extract_and_mock_files(tmp_path: Path, new_database: NewDatabase) -> None:
    url = new_database("json")
    (tmp_path / "nself.toml").write_text(CONFIG)
    migrations = tmp_path / "nself" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "001_authors.sql").write_text(f"-- migrate:up\n{SCHEMA}-- migrate:down\nDROP TABLE public.authors;\n")
    fresh = nself(tmp_path, url, "db", "migrate:fresh", "--env", "dev", "--yes", "--json")
    assert fresh.code == 0, fresh.stderr
    runs = json.loads(fresh.stdout)
    assert [r["file"].endswith("001_authors.sql") for r in runs] == [True]
    assert all(isinstance(r["duration_ms"], int) for r in runs)
    run_sql(url, "INSERT INTO public.authors VALUES (1, 'Ann'), (2, 'Bo');")

    extracted = nself(tmp_path, url, "seed", "extract", "authors", "--env", "dev", "-o", "seed.sql", "--json")
    assert extracted.code == 0, extracted.stderr
    summary = json.loads(extracted.stdout)
    assert summary["path"] == "seed.sql" and summary["tables"] == ["authors"]
    assert summary["bytes"] == len((tmp_path / "seed.sql").read_bytes()) and "duration_ms" in summary

    made = nself(tmp_path, url, "mock", "init", "--env", "dev", "--json")
    assert made.code == 0, made.stderr
    written = json.loads(made.stdout)["written"]
    assert written and all(Path(p).is_file() for p in written)
    exported = json.loads(nself(tmp_path, url, "mock", "export", "-o", "m.tar.gz", "--json").stdout)
    assert exported["written"] == ["m.tar.gz"] and (tmp_path / "m.tar.gz").is_file()
    imported = json.loads(nself(tmp_path, url, "mock", "import", "m.tar.gz", "--json").stdout)
    assert sorted(Path(p).name for p in imported["written"]) == sorted(exported["files"])
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM public.authors").fetchone() == (2,)
