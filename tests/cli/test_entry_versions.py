"""The entry point's process-wide settings: psycopg imports without importlib.metadata
(nself.cli.entry._Versions), the versions it then reports being the installed distributions'
own; the cyclic garbage collector is off for the one-shot commands (schema show and diff, types)."""

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


def test_the_collector_is_off_only_for_the_one_shot_commands() -> None:
    probe = (
        "import gc, sys\n"
        "from nself.cli.entry import _collect_less\n"
        "_collect_less(sys.argv[1:])\n"
        "print(gc.isenabled(), gc.get_threshold()[0])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    said = {
        " ".join(args): subprocess.run(
            [sys.executable, "-c", probe, *args], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for args in (
            ["schema", "diff", "a", "b"],
            ["schema", "show"],
            ["types"],
            ["types", "--check"],
            ["types", "--watch"],
            ["db", "query", "select 1"],
        )
    }
    assert said["schema diff a b"][0] == said["schema show"][0] == "False"
    assert said["types"][0] == said["types --check"][0] == "False"
    assert said["types --watch"] == said["db query select 1"] == ["True", "100000"]
