"""`nself db shell`: psql on the environment, options after `--` passed through, and piped
SQL that fails exits non-zero (what psql itself does only with ON_ERROR_STOP)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

CONFIG = '[environments.dev]\nurl = "env:NSELF_SHELL_URL"\n'


def shell(tmp_path: Path, url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "nself.toml").write_text(CONFIG)
    return subprocess.run(
        [sys.executable, "-P", "-m", "nself", "db", "shell", "--env", "dev", *args],
        cwd=tmp_path,
        input=stdin,
        env={**os.environ, "NSELF_SHELL_URL": url, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_options_after_double_dash_reach_psql(tmp_path: Path, database: str) -> None:
    done = shell(tmp_path, database, "--", "-At", "-c", "select 40 + 2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"


def test_piped_sql_stops_at_its_first_error_and_exits_non_zero(tmp_path: Path, database: str) -> None:
    done = shell(tmp_path, database, stdin="create table a (id int);\nselect nope;\ncreate table b (id int);\n")
    assert done.returncode != 0
    assert "nope" in done.stderr
    with psycopg.connect(database) as conn:
        made = {r[0] for r in conn.execute("select relname from pg_class where relname in ('a', 'b')")}
    assert made == {"a"}  # stopped at the error: b never made


def test_the_users_own_on_error_stop_wins(tmp_path: Path, database: str) -> None:
    done = shell(tmp_path, database, "--", "-v", "ON_ERROR_STOP=0", stdin="select nope;\nselect 1;\n")
    assert done.returncode == 0
