"""`nself schema diagram` through the real CLI, from the diagram tests' edge-case schema read
as a .sql file (the SQL frontend gives the catalog PostgreSQL gives: the golden files are
drawn from the introspected database)."""

from __future__ import annotations

import stat
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.backends.diagram.conftest import EDGE_CASES_SQL, GOLDEN
from tests.clitools import run_nself

SVG = "{http://www.w3.org/2000/svg}"


def diagram(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = run_nself("schema", "diagram", "--from", str(EDGE_CASES_SQL), *args, cwd=tmp_path, env=env)
    return result.code, result.stdout, result.stderr


def node_titles(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {
        g.findtext(f"{SVG}title") or "" for g in root.iter(f"{SVG}g") if "node" in g.get("class", "").split()
    }


def test_mermaid_is_the_default_on_stdout(tmp_path: Path) -> None:
    code, out, err = diagram(tmp_path)
    assert code == 0, err
    assert out == (GOLDEN / "edge_cases.mmd").read_text(encoding="utf-8")


def test_dot_to_a_file(tmp_path: Path) -> None:
    code, out, err = diagram(tmp_path, "--format", "dot", "-o", str(tmp_path / "out" / "schema.dot"))
    assert code == 0, err
    assert out == ""
    assert "wrote" in err
    assert (tmp_path / "out" / "schema.dot").read_text(encoding="utf-8") == (
        GOLDEN / "edge_cases.dot"
    ).read_text(encoding="utf-8")


def test_svg_and_html(tmp_path: Path) -> None:
    code, svg, err = diagram(tmp_path, "--format", "svg")
    assert code == 0, err
    titles = node_titles(svg)
    assert {"public.customer", "sales.customer", "sales.order$20line"} <= titles
    code, _, err = diagram(tmp_path, "-f", "html", "-o", str(tmp_path / "schema.html"))
    assert code == 0, err
    page = (tmp_path / "schema.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert node_titles(page[page.index("<svg") : page.index("</svg>") + 6]) == titles


def test_partitions_are_folded_unless_asked(tmp_path: Path) -> None:
    code, folded, err = diagram(tmp_path, "--format", "svg")
    assert code == 0, err
    assert "public.events" in node_titles(folded) and "public.events_2024" not in node_titles(folded)
    code, shown, err = diagram(tmp_path, "--format", "svg", "--partitions")
    assert code == 0, err
    assert node_titles(shown) == node_titles(folded) | {"public.events_2024"}


def test_schema_filter_and_no_columns(tmp_path: Path) -> None:
    code, out, err = diagram(tmp_path, "--schema", "sales", "--no-columns")
    assert code == 0, err
    entities = [line.split()[0] for line in out.splitlines() if line.startswith('  "') and " : " not in line]
    assert entities == [
        '"sales.customer"',
        '"sales.customer_count"',
        '"sales.invoice"',
        '"sales.order$20line"',
    ]
    assert "{" not in out.replace("o{", "")  # no column blocks; `o{` is a cardinality marker
    code, out, err = diagram(tmp_path, "--schema", "sales", "--schema", "public", "-f", "dot")
    assert code == 0, err
    assert '"public.customer"' in out and "odd" not in out


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    for args, named in [
        (("--format", "png"), "--format: 'png' is not one of mermaid, dot, svg, html"),
        (("--schema", "nope"), "--schema: no schema 'nope'"),
        (("--open", "--format", "dot"), "--open"),
        (("--format", "svg", "--layout", "neato"), "--layout: 'neato' is not one of auto, dot, fdp"),
    ]:
        code, out, err = diagram(tmp_path, *args)
        assert code != 0, args
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert named in err


def test_missing_graphviz_is_a_one_line_error(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    for format_name in ("svg", "html"):
        code, out, err = diagram(tmp_path, "--format", format_name, env={"PATH": str(empty)})
        assert code != 0
        assert out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert "Graphviz" in err and "dot" in err and f"--format {format_name}" in err
    # mermaid and dot need no Graphviz
    assert diagram(tmp_path, "--format", "dot", env={"PATH": str(empty)})[0] == 0


def test_open_writes_html_and_hands_it_to_the_browser(tmp_path: Path) -> None:
    # $BROWSER is what Python's webbrowser runs: a script that records the address it is given
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(f"import sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n")
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "nself.toml").write_text("[environments.local]\n")
    env = {"BROWSER": f"{sys.executable} {browser} %s"}
    code, out, err = diagram(tmp_path, "--open", env=env)
    assert code == 0, err
    assert out == ""
    page = tmp_path / ".nself" / "diagram.html"
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert opened.read_text() == page.resolve().as_uri()


def test_mermaid_too_long_for_mermaid_warns(tmp_path: Path) -> None:
    sql = tmp_path / "many.sql"
    sql.write_text(
        "".join(
            f"CREATE TABLE t{i} (id int PRIMARY KEY, a text, b text, c text, d text);\n" for i in range(600)
        )
    )
    result = run_nself("schema", "diagram", "--from", str(sql), cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert len(result.stdout) > 50_000
    assert "refuse more than 50,000" in result.stderr and "--no-columns" in result.stderr
    quiet = run_nself("schema", "diagram", "--from", str(sql), "--no-columns", cwd=tmp_path)
    assert quiet.code == 0 and len(quiet.stdout) < 50_000 and quiet.stderr == ""
