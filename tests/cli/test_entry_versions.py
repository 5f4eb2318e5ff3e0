"""The entry point lets psycopg import without importlib.metadata (nself.cli.entry._Versions):
the versions psycopg then reports are the installed distributions' own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from nself.cli.entry import _known_versions
_known_versions()
import psycopg
from psycopg import _cmodule
print(json.dumps([psycopg.__version__, _cmodule.__version__, psycopg.version.__version__,
                  "importlib.metadata" in sys.modules]))
"""


def test_psycopg_reports_its_installed_versions_without_importlib_metadata() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True, cwd=REPO
    )
    psycopg_version, binary_version, module_version, metadata_imported = json.loads(done.stdout)
    assert psycopg_version == module_version == metadata.version("psycopg")
    assert binary_version == metadata.version("psycopg-binary")
    assert metadata_imported is False
