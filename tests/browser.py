"""A real headless Chromium (Debian's `chromium`), driven through playwright-core in node, for
the tests of the html pages nself writes (schema diagram, schema docs). One browser per
session, started on first use: `browser` is the fixture, a `Browser` the handle. Missing
chromium or playwright-core skips locally and fails in CI (tests/tools.py)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tools import node_modules_with, require_program

DRIVER = Path(__file__).resolve().parent / "browser_driver.mjs"
CHROMIUM = "/usr/bin/chromium"


class BrowserError(AssertionError):
    pass


class Browser:
    """One page in Chromium; each method is one command to tests/browser_driver.mjs."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def _call(self, op: str, **arguments: Any) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise BrowserError(f"the browser driver stopped (exit code {self.process.poll()})")
        answer = json.loads(line)
        if "error" in answer:
            raise BrowserError(f"{op}: {answer['error']}")
        return answer["value"]

    def open(self, path: Path) -> None:
        """Load the file at `path`; console errors and fetch attempts are counted from here."""
        self._call("open", url=path.resolve().as_uri())

    def problems(self) -> tuple[list[str], list[str]]:
        """(console errors and uncaught exceptions, URLs the page tried to fetch) since `open`."""
        found = self._call("problems")
        return found["errors"], found["requests"]

    def evaluate(self, script: str) -> Any:
        """The value of a JavaScript expression or function (`() => ...`) in the page."""
        return self._call("evaluate", script=script)

    def click(self, selector: str) -> None:
        """A real mouse click on the first element `selector` (a Playwright selector) matches."""
        self._call("click", selector=selector)

    def fill(self, selector: str, text: str) -> None:
        self._call("fill", selector=selector, text=text)

    def press(self, selector: str, key: str) -> None:
        self._call("press", selector=selector, key=key)

    def wheel(self, selector: str, delta_y: float) -> None:
        """The mouse wheel turned over the middle of the element (negative: away from the user)."""
        self._call("wheel", selector=selector, deltaY=delta_y)

    def drag(self, selector: str, dx: float, dy: float) -> None:
        """A mouse drag from the middle of the element, by (dx, dy) pixels."""
        self._call("drag", selector=selector, dx=dx, dy=dy)

    def screenshot(self, path: Path) -> Path:
        self._call("screenshot", path=str(path))
        return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Chromium, launched once for the session with a fresh profile."""
    if not Path(CHROMIUM).exists():
        require_program("chromium", "apt-get install chromium")
    node_modules = node_modules_with(
        "playwright-core/package.json", "npm install --prefix .cache/node playwright-core"
    )
    with (
        tempfile.TemporaryDirectory(prefix="nself-chromium-") as profile,
        tempfile.TemporaryFile("w+", encoding="utf-8") as stderr,
    ):
        process = subprocess.Popen(
            ["node", str(DRIVER), str(node_modules), CHROMIUM, profile],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        )
        assert process.stdout is not None
        if not process.stdout.readline():
            process.wait()
            stderr.seek(0)
            pytest.fail(f"chromium did not start through playwright-core: {stderr.read().strip()[-2000:]}")
        try:
            yield Browser(process)
        finally:
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
