"""`nself db test`: run the project's pgTAP tests (nself/tests/**/*.sql) against a database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from nself.cli.common import EnvOption, JsonOption, console, environment, err_console, print_json
from nself.cli.safety import App

if TYPE_CHECKING:
    from nself.runtime.pgtap import FileResult


def register(app: App) -> None:
    app.command("test", destructive=False)(test)


def print_file(result: FileResult, verbose: bool) -> None:
    counts = ", ".join(
        f"{result.count(s)} {s}"
        for s in ("passed", "failed", "skipped", "todo")
        if result.count(s) or s == "passed"
    )
    verdict = "[green]ok[/green]" if result.ok else "[red]FAILED[/red]"
    console.print(f"{escape(result.path)} .. {verdict} ({counts})")
    for a in result.tap.assertions:
        if not verbose and a.status != "failed":
            continue
        head = "ok" if a.ok else "not ok"
        number = f" {a.number}" if a.number is not None else ""
        directive = f" # {a.directive.upper()} {a.reason}".rstrip() if a.directive else ""
        description = f" - {a.description}" if a.description else ""
        console.print(f"  {head}{number}{escape(description + directive)}")
        for line in a.diagnostics:
            console.print(f"    # {escape(line)}")
    for problem in result.problems:
        console.print(f"  [red]{escape(problem)}[/red]")


def test(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="FILE_OR_DIR",
            help="Test files, or directories searched for **/*.sql (default: nself/tests/, or nself.toml's `tests`).",
            show_default=False,
        ),
    ] = None,
    env: EnvOption = None,
    as_json: JsonOption = False,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit", metavar="FILE", help="Also write a JUnit XML report to FILE.", show_default=False
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every assertion, not only failures.")
    ] = False,
) -> None:
    """Run pgTAP test files against the environment's database (see docs/testing.md).

    Each file runs in its own transaction, rolled back afterwards: tests leave no data
    behind. The pgtap extension is created inside that transaction when the database
    lacks it. Exit code 1 when an assertion fails, a plan is not met or a file has an
    SQL error.

    Examples:

      nself db test

      nself db test nself/tests/users.sql -v

      nself db test --env staging --junit build/pgtap.xml

      nself db test --json
    """
    from nself.runtime.local import database_url
    from nself.runtime.pgtap import as_json as run_as_json
    from nself.runtime.pgtap import as_junit, find_test_files, run_tests

    proj, environ = environment(env)
    files = find_test_files(proj.root, paths or (), tests_dir=proj.tests_dir)
    url = database_url(proj, environ)
    if as_json:
        with err_console.status(f"running {len(files)} test file{'s' * (len(files) != 1)}"):
            run = run_tests(url, files, proj.root)
        print_json(run_as_json(run))
    else:
        run = run_tests(url, files, proj.root, on_file=lambda result: print_file(result, verbose))
        console.print(("" if run.ok else "[red]FAILED[/red] ") + run.summary())
    if junit is not None:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(as_junit(run), encoding="utf-8")
        err_console.print(f"wrote {junit}")
    if not run.ok:
        raise typer.Exit(1)
