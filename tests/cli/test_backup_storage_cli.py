"""`nself backup storage|upload|download|sync|list --remote` through the real CLI, against
moto's S3 server and Azurite: nself.toml edited in place, one-line errors, a kill -9 during
an upload never listed as complete, and no credential in any output."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nself.runtime.backup.bundle import BUNDLE_FILE_LIMIT
from nself.runtime.backup.manifest import complete_backups
from nself.runtime.cluster import free_port
from tests.clitools import Result, run_nself
from tests.runtime.test_backup_transfer import FULL, INCR, make_backup, make_wal, snapshot
from tests.storage_servers import (
    AWS_ACCESS_KEY,
    AWS_SECRET,
    AZURITE_KEY,
    Server,
    create_azure_container,
    create_s3_bucket,
    new_bucket_name,
)

SECRETS = (AWS_SECRET, AWS_ACCESS_KEY, AZURITE_KEY)
TOML = """# the team's settings
[environments.local]
port = 54329  # our port

[backup]
# backup-core's settings stay as they are
repository = ".nself/backups"  # where these tests write their backups (not a server's reach)
"""


def clean(result: Result) -> Result:
    """No credential, no traceback, whatever the outcome."""
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr, "a credential was printed"
    assert "Traceback" not in result.stderr
    return result


def ok(result: Result) -> Result:
    assert result.code == 0, result.stderr
    return clean(result)


def fails(result: Result, message: str) -> Result:
    clean(result)
    assert result.code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    return result


def server_env(server: Server) -> dict[str, str]:
    env = dict(server.env)
    for name in ("AWS_SESSION_TOKEN", "AZURE_STORAGE_CONNECTION_STRING"):
        env[name] = ""  # empty: as if unset
    return env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "nself.toml").write_text(TOML)
    return tmp_path


def test_storage_set_keeps_the_rest_of_nself_toml(project: Path) -> None:
    ok(run_nself("backup", "storage", "set", "b2", "--bucket", "acme-backups", "--region", "us-west-004", "--prefix", "prod/", cwd=project))
    text = (project / "nself.toml").read_text()
    assert text.startswith(TOML)  # every line and comment of the user kept
    assert '[backup.storage]\nprovider = "b2"\nbucket = "acme-backups"\nregion = "us-west-004"\nprefix = "prod"\n' in text

    ok(run_nself("backup", "storage", "set", "gcs", "--bucket", "other", cwd=project))
    text = (project / "nself.toml").read_text()
    assert text.startswith(TOML) and 'provider = "gcs"' in text and "region" not in text and "prefix" not in text

    shown = json.loads(ok(run_nself("backup", "storage", "show", "--json", cwd=project, env={"AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": AWS_SECRET})).stdout)
    assert shown["endpoint"] == "https://storage.googleapis.com" and shown["region"] == "auto"
    assert "AWS_ACCESS_KEY_ID" in shown["credentials"]  # says where they come from, not what they are

    fails(run_nself("backup", "storage", "set", "b2", "--bucket", "acme", cwd=project), "--region")
    fails(run_nself("backup", "storage", "set", "dropbox", "--bucket", "acme", cwd=project), "unknown 'dropbox'")
    fails(run_nself("backup", "storage", "set", "minio", "--bucket", "acme", "--endpoint", "http://u:p@host:9000", cwd=project), "credentials")


def test_a_credential_in_nself_toml_is_refused(project: Path) -> None:
    (project / "nself.toml").write_text(TOML + '[backup.storage]\nprovider = "s3"\nbucket = "b-1"\nsecret_access_key = "x"\n')
    result = fails(run_nself("backup", "storage", "show", cwd=project), "credentials never go in nself.toml")
    assert f"{project / 'nself.toml'}:11:1:" in result.stderr


def test_s3_upload_list_download_sync(project: Path, moto_server: Server) -> None:
    env = server_env(moto_server)
    bucket = new_bucket_name()
    ok(run_nself("backup", "storage", "set", "minio", "--bucket", bucket, "--endpoint", moto_server.endpoint, cwd=project, env=env))
    fails(run_nself("backup", "storage", "test", cwd=project, env=env), f"bucket '{bucket}' does not exist")
    create_s3_bucket(moto_server, bucket)
    assert "ok:" in ok(run_nself("backup", "storage", "test", cwd=project, env=env)).stdout
    shown = ok(run_nself("backup", "storage", "show", cwd=project, env=env)).stdout
    assert "environment variables AWS_ACCESS_KEY_ID" in shown

    repo = project / ".nself" / "backups"
    make_backup(repo, FULL, {"base/1.zst": 300_000, "base/2.zst": 5})
    make_backup(repo, INCR, {"base/2.zst": 7}, kind="incremental", parent=FULL, refs={"base/1.zst": FULL})
    make_wal(repo, ["000000010000000000000002.zst", "000000010000000000000003.zst"])
    before = snapshot(repo)

    uploaded = json.loads(ok(run_nself("backup", "upload", "latest", "--json", cwd=project, env=env)).stdout)
    assert uploaded["backups_uploaded"] == [FULL, INCR]
    listed = json.loads(ok(run_nself("backup", "list", "--remote", "--json", cwd=project, env=env)).stdout)
    assert [(b["id"], b["complete"], b["kind"]) for b in listed] == [(FULL, True, "full"), (INCR, True, "incremental")]
    assert "complete" in ok(run_nself("backup", "list", "--remote", cwd=project, env=env)).stdout

    shutil.rmtree(repo)
    ok(run_nself("backup", "download", INCR, cwd=project, env=env))
    assert snapshot(repo) == before
    synced = json.loads(ok(run_nself("backup", "sync", "--json", cwd=project, env=env)).stdout)
    assert (synced["uploaded"], synced["downloaded"]) == (0, 0)


def test_kill_during_upload_is_never_listed_complete(project: Path, moto_server: Server) -> None:
    env = server_env(moto_server)
    bucket = new_bucket_name()
    create_s3_bucket(moto_server, bucket)
    ok(run_nself("backup", "storage", "set", "minio", "--bucket", bucket, "--endpoint", moto_server.endpoint, cwd=project, env=env))
    repo = project / ".nself" / "backups"
    # 60 small files (one bundle object) and 8 files of one object each.
    files = {f"base/{n:03}.zst": 20_000 for n in range(60)} | {f"base/big{n}.zst": BUNDLE_FILE_LIMIT + n for n in range(8)}
    make_backup(repo, FULL, files, wal=None)
    before = snapshot(repo)

    import boto3

    client = boto3.client(
        "s3", endpoint_url=moto_server.endpoint, aws_access_key_id=AWS_ACCESS_KEY,
        aws_secret_access_key=AWS_SECRET, region_name="us-east-1",
    )
    environ = {**os.environ, **env, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-P", "-m", "nself", "backup", "upload", FULL, "--jobs", "1"],
        cwd=project, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    # Kill as soon as some objects are stored (the bundle goes first), well before all are.
    for _ in range(3000):
        if client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) >= 2 or process.poll() is not None:
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the upload ended before it could be killed"

    assert snapshot(repo) == before  # the local backup is untouched
    listed = json.loads(ok(run_nself("backup", "list", "--remote", "--json", cwd=project, env=env)).stdout)
    assert [(b["id"], b["complete"]) for b in listed] == [(FULL, False)]
    assert "incomplete" in listed[0]["problem"]
    assert "NOT USABLE" in ok(run_nself("backup", "list", "--remote", cwd=project, env=env)).stdout
    fails(run_nself("backup", "download", FULL, cwd=project, env=env), f"remote backup {FULL} is incomplete")

    resumed = json.loads(ok(run_nself("backup", "upload", FULL, "--json", cwd=project, env=env)).stdout)
    assert resumed["skipped"] >= 2 and resumed["backups_uploaded"] == [FULL]
    listed = json.loads(ok(run_nself("backup", "list", "--remote", "--json", cwd=project, env=env)).stdout)
    assert [(b["id"], b["complete"]) for b in listed] == [(FULL, True)]


def test_azure_through_the_cli(project: Path, azurite_server: Server) -> None:
    env = server_env(azurite_server)
    container = new_bucket_name()
    create_azure_container(azurite_server, container)
    ok(run_nself("backup", "storage", "set", "azure", "--bucket", container, "--endpoint", azurite_server.endpoint, cwd=project, env=env))
    assert "AZURE_STORAGE_ACCOUNT" in ok(run_nself("backup", "storage", "show", cwd=project, env=env)).stdout
    ok(run_nself("backup", "storage", "test", cwd=project, env=env))

    repo = project / ".nself" / "backups"
    make_backup(repo, FULL, {"base/1.zst": 200_000, "global/pg_control.zst": 64})
    make_wal(repo, ["000000010000000000000002.zst"])
    before = snapshot(repo)
    ok(run_nself("backup", "upload", FULL, cwd=project, env=env))
    shutil.rmtree(repo)
    ok(run_nself("backup", "sync", cwd=project, env=env))  # brings the backup and the WAL back
    assert snapshot(repo) == before
    assert [m.id for m in complete_backups(repo)] == [FULL]

    wrong = {**env, "AZURE_STORAGE_KEY": "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="}
    result = fails(run_nself("backup", "storage", "test", cwd=project, env=wrong), "credentials refused")
    assert "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk=" not in result.stderr
    closed = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    ok(run_nself("backup", "storage", "set", "azure", "--bucket", container, "--endpoint", closed, cwd=project, env=env))
    fails(run_nself("backup", "storage", "test", cwd=project, env=env), "cannot reach the endpoint")


def test_refused_s3_credentials_are_one_line_without_them(project: Path, moto_server_checking_credentials: Server) -> None:
    env = server_env(moto_server_checking_credentials)
    endpoint = moto_server_checking_credentials.endpoint
    ok(run_nself("backup", "storage", "set", "minio", "--bucket", "acme", "--endpoint", endpoint, cwd=project, env=env))
    fails(run_nself("backup", "storage", "test", cwd=project, env=env), "credentials refused")
    fails(run_nself("backup", "list", "--remote", cwd=project, env=env), "credentials refused")
