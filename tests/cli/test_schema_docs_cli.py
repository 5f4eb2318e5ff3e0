"""`nself schema docs` as a user runs it: formats, -o (file or directory), --schema, and
one-line errors for bad options."""

from __future__ import annotations

from pathlib import Path

from tests.backends.docs.conftest import AWKWARD_SQL, GOLDEN
from tests.backends.docs.pages import gfm_tables, parse_html
from tests.clitools import run_nself
from tests.conftest import run_sql


def test_html_to_stdout_by_default(tmp_path: Path) -> None:
    result = run_nself("schema", "docs", "--from", str(AWKWARD_SQL), cwd=tmp_path)
    assert result.code == 0, result.stderr
    page = parse_html(result.stdout)
    assert "table-public.users" in page.text and "table-billing.users" in page.text


def test_markdown_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "docs" / "db.md"
    result = run_nself(
        "schema", "docs", "--from", str(AWKWARD_SQL), "--format", "markdown", "-o", str(out), cwd=tmp_path
    )
    assert result.code == 0, result.stderr
    assert result.stdout == ""
    assert "wrote" in result.stderr
    assert gfm_tables(out.read_text(encoding="utf-8"))


def test_output_directory_gets_the_default_name(tmp_path: Path) -> None:
    result = run_nself("schema", "docs", "--from", str(AWKWARD_SQL), "-o", str(tmp_path), cwd=tmp_path)
    assert result.code == 0, result.stderr
    parse_html((tmp_path / "schema.html").read_text(encoding="utf-8"))


def test_schema_selects_schemas(tmp_path: Path) -> None:
    result = run_nself(
        "schema",
        "docs",
        "--from",
        str(AWKWARD_SQL),
        "--schema",
        "billing",
        "--schema",
        "Sales Data",
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    page = parse_html(result.stdout)
    assert "schema-billing" in page.text and "schema-Sales~20Data" in page.text
    assert "schema-public" not in page.text


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    for args, option in (
        (["--format", "pdf"], "--format"),
        (["--schema", "nope"], "--schema"),
    ):
        result = run_nself("schema", "docs", "--from", str(AWKWARD_SQL), *args, cwd=tmp_path)
        assert result.code != 0
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and option in lines[0], result.stderr
        assert "Traceback" not in result.stderr


def test_from_a_live_database_matches_the_golden_page(tmp_path: Path, database: str) -> None:
    run_sql(database, AWKWARD_SQL.read_text(encoding="utf-8"))
    result = run_nself("schema", "docs", "--from", database, "--format", "markdown", cwd=tmp_path)
    assert result.code == 0, result.stderr
    # read from a live database, each table also says its rows and size (tests/backends/docs/
    # test_docs_live.py compares them with PostgreSQL's); the rest is the golden page
    lines = result.stdout.splitlines(keepends=True)
    live = [line for line in lines if line.startswith(("- Rows: ", "- Size: "))]
    assert len(live) == 2 * result.stdout.count("- Row-level security: ")
    without = "".join(line for line in lines if line not in live)
    assert without == (GOLDEN / "awkward" / "schema.md").read_text(encoding="utf-8")


def test_output_directory_written_with_a_slash_is_created(tmp_path: Path) -> None:
    target = tmp_path / "site" / "schema"
    result = run_nself("schema", "docs", "--from", str(AWKWARD_SQL), "-o", f"{target}/", "--format", "markdown", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert (target / "schema.md").is_file()
    assert gfm_tables((target / "schema.md").read_text(encoding="utf-8"))
