"""`nself init` and the cluster nself manages under .nself/, through the real CLI."""

import json
import re
from pathlib import Path

from nself.runtime.cluster import free_port
from tests.clitools import run_nself


def test_init_start_status_stop(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    assert run_nself("init", cwd=tmp_path).code == 0
    for folder in ("nself/migrations", "nself/seeds", "nself/mock", "nself/tests"):
        assert (tmp_path / folder).is_dir()
    assert ".nself/" in (tmp_path / ".gitignore").read_text()
    config = tmp_path / "nself.toml"
    config.write_text(re.sub(r"(?m)^port = \d+", f"port = {free_port()}", config.read_text()))

    again = run_nself("init", cwd=tmp_path)
    assert again.code == 1 and "--force" in again.stderr

    started = run_nself("db", "start", "--json", cwd=tmp_path)
    assert started.code == 0, started.stderr
    try:
        status = json.loads(run_nself("db", "status", "--json", cwd=tmp_path).stdout)
        assert status["running"] is True
        assert status["server_version"].startswith("15")
        assert Path(status["data_dir"]).is_dir()
    finally:
        stopped = run_nself("db", "stop", "--json", cwd=tmp_path)
    assert stopped.code == 0, stopped.stderr
    assert json.loads(stopped.stdout)["running"] is False
