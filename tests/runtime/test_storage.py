"""The object stores against real servers on loopback: a directory, moto's S3 server,
Azurite. Every store: whole objects or none, sizes listed, checksums compared both ways,
one clear line without secrets on failure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from nself.runtime.storage import (
    ChecksumMismatch,
    ObjectStore,
    StorageError,
    make_config,
    open_store,
    sha256_file,
)
from nself.runtime.storage.local import LocalStore
from nself.runtime.storage.s3 import MiB
from tests.storage_servers import (
    AWS_SECRET,
    AZURITE_KEY,
    Server,
    apply_env,
    create_azure_container,
    make_store,
    new_bucket_name,
)

KINDS = ["local", "s3", "azure"]


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ObjectStore]:
    yield make_store(request.param, request, monkeypatch, tmp_path)


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_put_get_list_stat_delete(store: ObjectStore, tmp_path: Path) -> None:
    small = random_file(tmp_path / "small.bin", 1000)
    # Large enough for multipart (S3: 3 parts of 5 MiB) and several Azure blocks.
    large = random_file(tmp_path / "large.bin", 11 * MiB + 123)
    moved: list[int] = []
    info = store.put_file("b1/base/small.bin", small, progress=moved.append)
    assert (info.size, info.sha256) == (1000, sha256_file(small))
    store.put_file("b1/base/large.bin", large, progress=moved.append)
    assert sum(moved) >= 1000 + large.stat().st_size

    listed = {o.key: o.size for o in store.list()}
    assert listed == {"b1/base/small.bin": 1000, "b1/base/large.bin": large.stat().st_size}
    assert {o.key for o in store.list("b1/base/s")} == {"b1/base/small.bin"}
    stat = store.stat("b1/base/large.bin")
    assert stat is not None and stat.sha256 == sha256_file(large)
    assert store.stat("b1/nothing") is None and not store.exists("b1/nothing")

    received: list[int] = []
    store.get_file("b1/base/large.bin", tmp_path / "out" / "large.bin", progress=received.append)
    assert (tmp_path / "out" / "large.bin").read_bytes() == large.read_bytes()
    assert sum(received) == large.stat().st_size
    assert store.get_bytes("b1/base/small.bin") == small.read_bytes()

    store.delete("b1/base/small.bin")
    store.delete("b1/base/small.bin")  # already gone: no error
    assert not store.exists("b1/base/small.bin")
    assert [o.key for o in store.list()] == ["b1/base/large.bin"]


def test_download_with_wrong_checksum_leaves_nothing(store: ObjectStore, tmp_path: Path) -> None:
    source = random_file(tmp_path / "f.bin", 4096)
    store.put_file("x/f.bin", source)
    target = tmp_path / "dl" / "f.bin"
    with pytest.raises(ChecksumMismatch, match="damaged"):
        store.get_file("x/f.bin", target, sha256="0" * 64)
    assert not target.exists()
    assert [p.name for p in target.parent.iterdir()] == []  # no temporary file left
    with pytest.raises(ChecksumMismatch):
        store.get_bytes("x/f.bin", sha256="0" * 64)


def test_bad_keys_are_refused(store: ObjectStore, tmp_path: Path) -> None:
    for key in ("", "/abs", "a/../b", "a//b"):
        with pytest.raises(StorageError, match="invalid object key"):
            store.put_bytes(key, b"x")


def test_local_store_never_lists_a_copy_in_progress(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / ".nself-tmp-part.bin.1234abcd").write_bytes(b"half")
    assert list(store.list()) == []


def test_missing_bucket_is_one_line(moto_server: Server, azurite_server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    apply_env(monkeypatch, moto_server.env)
    s3 = open_store(make_config("minio", "no-such-bucket-here", endpoint=moto_server.endpoint))
    with pytest.raises(StorageError, match="bucket 'no-such-bucket-here' does not exist") as info:
        s3.put_bytes("probe", b"x")
    assert "\n" not in str(info.value) and AWS_SECRET not in str(info.value)
    with pytest.raises(StorageError, match="does not exist"):
        s3.stat("probe")

    apply_env(monkeypatch, azurite_server.env)
    azure = open_store(make_config("azure", "no-such-container", endpoint=azurite_server.endpoint))
    with pytest.raises(StorageError, match="container 'no-such-container' does not exist") as info:
        azure.put_bytes("probe", b"x")
    assert AZURITE_KEY not in str(info.value)


def test_bad_endpoint_is_one_line(monkeypatch: pytest.MonkeyPatch, moto_server: Server) -> None:
    from nself.runtime.cluster import free_port

    apply_env(monkeypatch, moto_server.env)
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StorageError, match="cannot reach the endpoint") as info:
        open_store(make_config("minio", "bucket", endpoint=closed)).put_bytes("probe", b"x")
    assert "\n" not in str(info.value)


def test_bad_azure_credentials_are_refused_without_showing_them(
    azurite_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = new_bucket_name()
    create_azure_container(azurite_server, bucket)
    wrong_key = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="
    apply_env(monkeypatch, {"AZURE_STORAGE_ACCOUNT": "devstoreaccount1", "AZURE_STORAGE_KEY": wrong_key})
    store = open_store(make_config("azure", bucket, endpoint=azurite_server.endpoint))
    with pytest.raises(StorageError, match="credentials refused") as info:
        store.put_bytes("probe", b"x")
    assert wrong_key not in str(info.value)


def test_azure_connection_string(azurite_server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bucket = new_bucket_name()
    create_azure_container(azurite_server, bucket)
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={azurite_server.endpoint};"
    )
    apply_env(monkeypatch, {"AZURE_STORAGE_CONNECTION_STRING": connection})
    monkeypatch.delenv("AZURE_STORAGE_KEY", raising=False)
    store = open_store(make_config("azure", bucket))
    store.put_bytes("a/b", b"hello")
    assert store.get_bytes("a/b") == b"hello"


def test_missing_credentials_say_where_to_put_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(StorageError, match="AZURE_STORAGE_CONNECTION_STRING"):
        open_store(make_config("azure", "container"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(StorageError, match="no credentials found"):
        open_store(make_config("s3", "bucket"))


def test_cloud_secrets_are_masked_in_any_text(monkeypatch: pytest.MonkeyPatch) -> None:
    from nself.runtime.storage.credentials import mask_cloud_secrets

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-Secret-value-123")
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=acct;AccountKey=QUJDREVGR0g=;EndpointSuffix=x")
    text = mask_cloud_secrets(
        "failed with aws-Secret-value-123; conn AccountName=acct;AccountKey=QUJDREVGR0g=; "
        "url https://a.blob.core.windows.net/c/b?sv=2021&sig=abc%2Fdef&se=1 "
        "presigned ?X-Amz-Credential=AKIA/x&X-Amz-Signature=deadbeef "
        "header 'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIA/...'"
    )
    for secret in ("aws-Secret-value-123", "QUJDREVGR0g=", "abc%2Fdef", "deadbeef", "AWS4-HMAC-SHA256"):
        assert secret not in text
    assert "AccountName=acct" in text  # what is not secret stays readable


def test_local_provider_directory_relative_to_the_project(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    store = open_store(make_config("local", "shared", prefix="db"), tmp_path)
    store.put_bytes("a/b", b"data")
    assert (tmp_path / "shared" / "db" / "a" / "b").read_bytes() == b"data"
    with pytest.raises(StorageError, match="does not exist"):
        open_store(make_config("local", "missing"), tmp_path).put_bytes("a", b"x")


def test_empty_objects(store: ObjectStore, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert store.put_file("e/empty", empty).size == 0
    store.get_file("e/empty", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b""
    assert [(o.key, o.size) for o in store.list("e/")] == [("e/empty", 0)]
