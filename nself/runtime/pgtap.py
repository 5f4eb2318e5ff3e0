"""`nself db test`: run pgTAP test files against a database and read their TAP output.

Each file runs in psql (pgTAP files are psql scripts: `\\set`, `\\i`, `\\pset` are common),
inside one transaction that is rolled back afterwards, so a test leaves no rows, tables or
extension behind. When the database lacks the pgtap extension it is created inside that
transaction, and rolled back with it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree

import psycopg

from nself.connection import connect, mask_url, scrub
from nself.errors import NselfError, OptionError
from nself.frontends.migration_files import natural_key
from nself.runtime.cluster import find_pg_program
from nself.runtime.query import psql_environment

Status = Literal["passed", "failed", "skipped", "todo"]

# `ok 3 - description # SKIP reason`; pgTAP writes a `#` inside a description as `\#`.
TEST_LINE = re.compile(r"^(?P<not>not )?ok\b(?:\s+(?P<number>\d+))?(?:\s*-)?\s*(?P<rest>.*)$")
DIRECTIVE = re.compile(r"(?<!\\)#\s*(?P<kind>skip|todo)\b\S*\s*(?P<reason>.*)$", re.IGNORECASE)
PLAN_LINE = re.compile(r"^1\.\.(?P<count>\d+)\s*(?:#\s*(?P<reason>.*))?$")
PSQL_ERROR = re.compile(r"^psql:(?P<file>.+?):(?P<line>\d+): ERROR:\s+(?P<message>.*)$")
PSQL_ERROR_LINE = re.compile(r"^LINE \d+: (?P<text>.*)$")


@dataclass(frozen=True)
class Assertion:
    number: int | None
    ok: bool
    description: str
    directive: Literal["skip", "todo"] | None = None
    reason: str = ""
    diagnostics: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        if self.directive == "skip":
            return "skipped"
        if self.directive == "todo" and not self.ok:
            return "todo"  # an expected failure: TAP does not count it against the file
        return "passed" if self.ok else "failed"


@dataclass(frozen=True)
class Tap:
    """What one TAP stream says: its assertions, its plan and the diagnostics before the first test."""

    assertions: tuple[Assertion, ...]
    planned: int | None
    skip_all: str | None = None  # `1..0 # Skipped: reason`
    diagnostics: tuple[str, ...] = ()


def parse_tap(text: str) -> Tap:
    """Read TAP as pgTAP writes it. Lines that are not TAP (rows a test file selects) are ignored."""
    assertions: list[Assertion] = []
    pending: list[str] = []  # diagnostics of the last assertion
    leading: list[str] = []
    planned: int | None = None
    skip_all: str | None = None

    def close() -> None:
        if assertions and pending:
            last = assertions[-1]
            assertions[-1] = Assertion(
                last.number,
                last.ok,
                last.description,
                last.directive,
                last.reason,
                (*last.diagnostics, *pending),
            )
        pending.clear()

    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("#"):
            (pending if assertions else leading).append(line[1:].strip())
            continue
        plan = PLAN_LINE.match(line)
        if plan:
            close()
            planned = int(plan["count"])
            if planned == 0:
                skip_all = (plan["reason"] or "").removeprefix("Skipped:").removeprefix("skip").strip()
            continue
        test = TEST_LINE.match(line)
        if not test:
            continue
        close()
        rest = test["rest"]
        directive = DIRECTIVE.search(rest)
        kind: Literal["skip", "todo"] | None = None
        reason = ""
        if directive:
            kind = "skip" if directive["kind"].lower() == "skip" else "todo"
            reason = directive["reason"].strip()
            rest = rest[: directive.start()]
        assertions.append(
            Assertion(
                int(test["number"]) if test["number"] else None,
                test["not"] is None,
                rest.strip().replace("\\#", "#"),
                kind,
                reason,
            )
        )
    close()
    return Tap(tuple(assertions), planned, skip_all, tuple(leading))


@dataclass(frozen=True)
class FileResult:
    path: str  # as shown to the user: relative to the project when it is inside it
    tap: Tap
    error: str | None = None  # `file:line: message` of an SQL error that stopped the file

    def count(self, status: Status) -> int:
        return sum(1 for a in self.tap.assertions if a.status == status)

    @property
    def problems(self) -> list[str]:
        """Why the file fails apart from its failed assertions: an SQL error, a bad or missing plan."""
        if self.error:  # the plan is not met either, but the error is the news
            return [f"SQL error: {self.error}"]
        found = []
        ran, planned = len(self.tap.assertions), self.tap.planned
        if planned is None:
            found.append(
                f"no plan: ran {ran} test{'s' * (ran != 1)} without plan(N), or no_plan() and finish()"
            )
        elif planned is not None and planned != ran and self.tap.skip_all is None:
            found.append(f"planned {planned} test{'s' * (planned != 1)} but ran {ran}")
        return found

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0 and not self.problems


@dataclass
class SuiteResult:
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(f.count(status) for f in self.files)

    @property
    def failed_files(self) -> int:
        return sum(1 for f in self.files if not f.ok)

    @property
    def ok(self) -> bool:
        return self.failed_files == 0

    def summary(self) -> str:
        tests = sum(len(f.tap.assertions) for f in self.files)
        counts = ", ".join(f"{self.count(s)} {s}" for s in ("passed", "failed", "skipped", "todo"))
        files = len(self.files)
        verdict = "all files passed" if self.ok else f"{self.failed_files} of {files} files failed"
        return f"{tests} test{'s' * (tests != 1)} in {files} file{'s' * (files != 1)}: {counts}; {verdict}"


def find_test_files(
    root: Path, operands: Sequence[str], cwd: Path | None = None, tests_dir: Path | None = None
) -> list[Path]:
    """The files to run: each operand (a .sql file, or a directory searched for **/*.sql),
    else every .sql file under the project's tests folder (`tests_dir`, by default
    nself/tests); each directory's files in name order."""
    cwd = cwd or Path.cwd()

    def under(folder: Path) -> list[Path]:
        # a folder's own files first, then its subfolders', each by natural_key (2_x before 10_x)
        def key(path: Path) -> tuple[tuple[object, ...], object]:
            parts = path.relative_to(folder).parts
            return tuple(natural_key(part) for part in parts[:-1]), natural_key(parts[-1])

        return sorted(folder.rglob("*.sql"), key=key)

    if not operands:
        folder = tests_dir or root / "nself" / "tests"
        found = under(folder) if folder.is_dir() else []
        if not found:
            raise NselfError(
                f"no test files: {folder.relative_to(root) if folder.is_relative_to(root) else folder}/ "
                "has no .sql files (see docs/testing.md)"
            )
        return found
    files: list[Path] = []
    for operand in operands:
        path = cwd / operand
        if path.is_dir():
            inside = under(path)
            if not inside:
                raise OptionError(f"FILE_OR_DIR {operand}: the directory has no .sql files")
            files.extend(inside)
        elif path.is_file():
            files.append(path)
        else:
            raise OptionError(f"FILE_OR_DIR {operand}: no such file or directory")
    return files


def ensure_pgtap(url: str) -> bool:
    """Whether the database already has the pgtap extension. When it lacks it, check that a
    run can create it (in a transaction rolled back at once); one line when it cannot."""
    with connect(url) as conn:
        installed = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgtap'").fetchone()
        if installed:
            return True
        available = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgtap'").fetchone()
        if not available:
            raise NselfError(
                f"the pgtap extension is not available on the server of {mask_url(url)}: install it there "
                "(Debian/Ubuntu: postgresql-NN-pgtap; or `make install` from pgtap.org)"
            )
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("CREATE EXTENSION pgtap")
        except psycopg.Error as exc:
            message = scrub(exc.diag.message_primary or str(exc).splitlines()[0], url)
            raise NselfError(
                f"cannot create the pgtap extension in {mask_url(url)}: {message} "
                "(ask a superuser to run CREATE EXTENSION pgtap in this database)"
            ) from None
    return False


def _error_location(stderr: str, path: Path, shown: str) -> str | None:
    """`file:line: message` of the first error psql printed. psql names the line where the
    failing statement ends; when the server gave a position (psql's `LINE n:` excerpt), the
    line holding that excerpt is the one reported."""
    lines = stderr.splitlines()
    for index, text in enumerate(lines):
        found = PSQL_ERROR.match(text)
        if not found:
            continue
        line = int(found["line"])
        where = shown if Path(found["file"]) == path else found["file"]
        excerpt = PSQL_ERROR_LINE.match(lines[index + 1]) if index + 1 < len(lines) else None
        if excerpt and where == shown:
            # psql trims long lines to a window marked with "..."
            needle = excerpt["text"].removeprefix("...").removesuffix("...").strip()
            source = path.read_text(encoding="utf-8", errors="replace").splitlines()
            for number in range(min(line, len(source)), 0, -1):
                if needle and needle in source[number - 1]:
                    line = number
                    break
        return f"{where}:{line}: {found['message'].strip()}"
    return None


def _psql_quote(path: Path) -> str:
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def run_file(url: str, path: Path, shown: str, *, has_pgtap: bool, psql: str | None = None) -> FileResult:
    """Run one test file in psql, in a transaction rolled back at the end."""
    psql = psql or shutil.which("psql") or str(find_pg_program("psql"))
    script = "\\pset pager off\nBEGIN;\n"
    if not has_pgtap:
        script += "CREATE EXTENSION pgtap;\n"
    script += f"\\i {_psql_quote(path.resolve())}\nROLLBACK;\n"
    done = subprocess.run(
        # -X: no ~/.psqlrc; -A -t: rows as bare lines, which is what TAP is; -q: no command tags.
        [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        env={**os.environ, **psql_environment(url)},
    )
    tap = parse_tap(done.stdout)
    stderr = scrub(done.stderr, url)
    # Read errors from stderr even when psql succeeded: a file may turn ON_ERROR_STOP off,
    # and then the first error is still the one that spoiled the rest of its transaction.
    error = _error_location(stderr, path.resolve(), shown)
    if error is None and done.returncode != 0:
        error = next(
            (line for line in stderr.splitlines() if line.strip()), f"psql exited with code {done.returncode}"
        )
    return FileResult(shown, tap, error)


def run_tests(
    url: str, files: Sequence[Path], root: Path, on_file: Callable[[FileResult], None] | None = None
) -> SuiteResult:
    """Run every file in order; a file that fails (even with an SQL error) does not stop the run."""
    has_pgtap = ensure_pgtap(url)
    psql = shutil.which("psql") or str(find_pg_program("psql"))
    run = SuiteResult()
    for path in files:
        resolved = path.resolve()
        shown = (
            str(resolved.relative_to(root.resolve()))
            if resolved.is_relative_to(root.resolve())
            else str(path)
        )
        result = run_file(url, path, shown, has_pgtap=has_pgtap, psql=psql)
        run.files.append(result)
        if on_file:
            on_file(result)
    return run


def as_json(run: SuiteResult) -> dict[str, object]:
    return {
        "ok": run.ok,
        "summary": {s: run.count(s) for s in ("passed", "failed", "skipped", "todo")}
        | {"files": len(run.files), "failed_files": run.failed_files},
        "files": [
            {
                "path": f.path,
                "ok": f.ok,
                "planned": f.tap.planned,
                "passed": f.count("passed"),
                "failed": f.count("failed"),
                "skipped": f.count("skipped"),
                "todo": f.count("todo"),
                "error": f.error,
                "problems": f.problems,
                "diagnostics": list(f.tap.diagnostics),
                "assertions": [
                    {
                        "number": a.number,
                        "status": a.status,
                        "ok": a.ok,
                        "description": a.description,
                        "directive": a.directive,
                        "reason": a.reason,
                        "diagnostics": list(a.diagnostics),
                    }
                    for a in f.tap.assertions
                ],
            }
            for f in run.files
        ],
    }


def as_junit(run: SuiteResult) -> str:
    """JUnit XML: a testsuite per file, a testcase per assertion, plus one failing testcase
    for a plan mismatch and one erroring testcase for an SQL error. TODO (expected-failure)
    assertions are reported as skipped, since JUnit has no expected failures."""
    suites = ElementTree.Element("testsuites", name="nself db test")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for f in run.files:
        suite = ElementTree.SubElement(suites, "testsuite", name=f.path)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for a in f.tap.assertions:
            name = f"{a.number} - {a.description}" if a.number is not None else a.description
            case = ElementTree.SubElement(suite, "testcase", classname=f.path, name=name)
            counts["tests"] += 1
            if a.status == "failed":
                counts["failures"] += 1
                failure = ElementTree.SubElement(case, "failure", message=a.description or "failed")
                failure.text = "\n".join(a.diagnostics)
            elif a.status in ("skipped", "todo"):
                counts["skipped"] += 1
                ElementTree.SubElement(case, "skipped", message=f"{a.directive}: {a.reason}".rstrip(": "))
        for problem in f.problems:
            counts["tests"] += 1
            if problem.startswith("SQL error: "):
                case = ElementTree.SubElement(suite, "testcase", classname=f.path, name="SQL error")
                counts["errors"] += 1
                ElementTree.SubElement(case, "error", message=problem.removeprefix("SQL error: "))
            else:
                case = ElementTree.SubElement(suite, "testcase", classname=f.path, name="plan")
                counts["failures"] += 1
                ElementTree.SubElement(case, "failure", message=problem)
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        suites.set(key, str(value))
    ElementTree.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
    )
