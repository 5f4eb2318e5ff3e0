"""Running the real `nself` command in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def run_nself(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    environ.pop("NSELF_DEBUG", None)
    done = subprocess.run(
        # -P: the project folder holds a nself/ directory that must not shadow the package.
        [sys.executable, "-P", "-m", "nself", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(done.returncode, done.stdout, done.stderr)
