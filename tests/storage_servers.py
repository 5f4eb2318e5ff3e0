"""Real object-storage servers on loopback for the storage tests: moto's standalone S3
server and Azurite (npm). Each is started once per session on a free port.

A server that cannot start fails the tests in CI instead of skipping them (tests/tools.py, the
one rule for a missing tool); elsewhere a missing Azurite skips with the reason. moto is a Python test dependency, so it always must start."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nself.runtime.cluster import free_port
from nself.runtime.storage import ObjectStore, make_config
from nself.runtime.storage.azure import AzureStore
from nself.runtime.storage.local import LocalStore
from nself.runtime.storage.s3 import MiB, S3Store
from tests.tools import missing

REPO = Path(__file__).resolve().parent.parent

# Secrets the tests hand to the SDKs: no output may contain them.
AWS_ACCESS_KEY = "AKIANSELFTEST0000001"
AWS_SECRET = "nself-TEST-aws-secret-9f8e7d6c5b4a"
# Azurite's one well-known development account (public, but a key all the same).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _unavailable(message: str) -> None:
    missing(message)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}: {log.read_text(errors='replace')[-2000:]}")
        with socket.socket() as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s: {log.read_text(errors='replace')[-2000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()  # a throwaway server on throwaway data: nothing to shut down cleanly
    process.wait()


@dataclass(frozen=True)
class Server:
    endpoint: str
    env: dict[str, str]  # the variables a user would set for the SDK to find its credentials


def _moto(extra_env: dict[str, str]) -> Iterator[Server]:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:  # moto[server] is in the test extra: its absence is an error
        pytest.fail(f"moto[server] is not installed: {exc}")
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="nself-moto-")) / "moto.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **extra_env},
        )
    try:
        _wait_for_port(port, process, "moto_server", log)
        yield Server(
            f"http://127.0.0.1:{port}",
            {
                "AWS_ACCESS_KEY_ID": AWS_ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
                "AWS_DEFAULT_REGION": "us-east-1",
                # never the machine's own ~/.aws
                "AWS_SHARED_CREDENTIALS_FILE": str(log.parent / "no-credentials"),
                "AWS_CONFIG_FILE": str(log.parent / "no-config"),
            },
        )
    finally:
        _stop(process)
        shutil.rmtree(log.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Server]:
    """moto's standalone S3 server (`python -m moto.server`) on a free loopback port."""
    yield from _moto({})


@pytest.fixture(scope="session")
def moto_server_checking_credentials() -> Iterator[Server]:
    """A moto server that checks every request's credentials against its (empty) IAM: any
    key is refused, as a real service refuses a wrong one."""
    yield from _moto({"INITIAL_NO_AUTH_ACTION_COUNT": "0"})


def azurite_binary() -> Path | None:
    modules = os.environ.get("NSELF_NODE_MODULES")
    candidates = [Path(modules) / ".bin" / "azurite-blob"] if modules else []
    candidates.append(REPO / ".cache" / "node" / "node_modules" / ".bin" / "azurite-blob")
    found = shutil.which("azurite-blob")
    if found:
        candidates.append(Path(found))
    return next((c for c in candidates if c.exists()), None)


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[Server]:
    """Azurite's blob service (npm `azurite`, installed by .ci/run) on a free loopback port."""
    binary = azurite_binary()
    if binary is None:
        _unavailable("azurite-blob not found (npm install --prefix .cache/node azurite, as .ci/run does)")
        raise AssertionError  # unreachable: skip or fail raised
    port = free_port()
    location = Path(tempfile.mkdtemp(prefix="nself-azurite-"))
    log = location / "azurite.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                str(binary),
                "--blobHost", "127.0.0.1",
                "--blobPort", str(port),
                "--location", str(location / "data"),
                "--skipApiVersionCheck",
                "--loose",
                "--silent",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, "azurite-blob", log)
        endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        yield Server(endpoint, {"AZURE_STORAGE_ACCOUNT": AZURITE_ACCOUNT, "AZURE_STORAGE_KEY": AZURITE_KEY})
    finally:
        _stop(process)
        shutil.rmtree(location, ignore_errors=True)


def new_bucket_name() -> str:
    return f"nself-{uuid.uuid4().hex[:12]}"


def create_s3_bucket(server: Server, bucket: str) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=AWS_ACCESS_KEY,
        aws_secret_access_key=AWS_SECRET,
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)


def create_azure_container(server: Server, container: str) -> None:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(
        account_url=server.endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    )
    service.create_container(container)


def apply_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_SAS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def make_store(kind: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ObjectStore:
    bucket = new_bucket_name()
    if kind == "local":
        (tmp_path / "store").mkdir()
        return LocalStore(tmp_path / "store", "pre/fix")
    if kind == "s3":
        server: Server = request.getfixturevalue("moto_server")
        apply_env(monkeypatch, server.env)
        create_s3_bucket(server, bucket)
        # Small parts so that a few MiB take the multipart path (S3's minimum part is 5 MiB).
        return S3Store(make_config("minio", bucket, endpoint=server.endpoint, prefix="pre/fix"), concurrency=4, part_size=5 * MiB)
    server = request.getfixturevalue("azurite_server")
    apply_env(monkeypatch, server.env)
    create_azure_container(server, bucket)
    return AzureStore(make_config("azure", bucket, endpoint=server.endpoint, prefix="pre/fix"), concurrency=4, block_size=MiB)
