"""`nself data export -o s3://...|azure://...` and `nself data import s3://...|azure://...`
through the real CLI against moto's S3 server and Azurite: PostgreSQL is the oracle (every table's checksum after export ->
truncate -> import equals the one before), the bucket's listing says what was uploaded, and
no output holds the secret key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import boto3
import psycopg
import pytest

from tests.clitools import Result, run_nself
from tests.conftest import NewDatabase, run_sql
from tests.storage_servers import (
    AWS_ACCESS_KEY,
    AWS_SECRET,
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    Server,
    create_azure_container,
    create_s3_bucket,
    new_bucket_name,
)

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL, born date);
CREATE TABLE posts (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, author_id int REFERENCES authors (id),
                    title text, tags text[], meta jsonb, at timestamptz);
INSERT INTO authors VALUES (1, 'Ann', '1990-01-02'), (2, 'Bo, "B"', NULL);
INSERT INTO posts (author_id, title, tags, meta, at) VALUES
    (1, 'first', ARRAY['a', NULL], '{"k": [1, 2]}', '2026-01-01 10:00+02'),
    (2, '', '{}', NULL, NULL);
"""


def checksums(url: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return {
            table: str(
                conn.execute(
                    f"SELECT md5(string_agg(t::text, '' ORDER BY t::text)) FROM {table} t"
                ).fetchone()
            )  # type: ignore[arg-type]
            for table in ("authors", "posts")
        }


def ok(result: Result) -> Result:
    assert result.code == 0, result.stderr
    assert AWS_SECRET not in result.stdout + result.stderr
    assert AZURITE_KEY not in result.stdout + result.stderr
    return result


def keys(server: Server, bucket: str) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=AWS_ACCESS_KEY,
        aws_secret_access_key=AWS_SECRET,
        region_name="us-east-1",
    )
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def round_trip(
    tmp_path: Path, url: str, env: dict[str, str], base: str, listing: Callable[[], list[str]]
) -> None:
    """Parquet export to `base`/exports/one, the bucket's listing checked, then the
    prefix imported back over truncated tables: every checksum as before."""
    before = checksums(url)
    exported = json.loads(
        ok(
            run_nself(
                "data",
                "export",
                "--env",
                "dev",
                "-f",
                "parquet",
                "-o",
                f"{base}/exports/one",
                "--json",
                cwd=tmp_path,
                env=env,
            )
        ).stdout
    )
    assert exported["directory"] == f"{base}/exports/one"
    assert [t["path"] for t in exported["tables"]] == [
        f"{base}/exports/one/public.authors.parquet",
        f"{base}/exports/one/public.posts.parquet",
    ]
    assert listing() == [
        "exports/one/public.authors.parquet",
        "exports/one/public.posts.parquet",
    ]

    imported = json.loads(
        ok(
            run_nself(
                "data",
                "import",
                f"{base}/exports/one",
                "--env",
                "dev",
                "--truncate",
                "--yes",
                "--json",
                cwd=tmp_path,
                env=env,
            )
        ).stdout
    )
    assert [(t["table"], t["rows"]) for t in imported["tables"]] == [
        ("public.authors", 2),
        ("public.posts", 2),
    ]
    assert checksums(url) == before


@pytest.mark.parametrize("configured", [True, False], ids=["backup-storage", "url-alone"])
def test_export_to_s3_and_import_back(
    tmp_path: Path, new_database: NewDatabase, moto_server: Server, configured: bool
) -> None:
    bucket = new_bucket_name()
    create_s3_bucket(moto_server, bucket)
    url = new_database("remote")
    run_sql(url, SCHEMA)
    config = '[environments.dev]\nurl = "env:NSELF_REMOTE_URL"\n'
    env = {**moto_server.env, "NSELF_REMOTE_URL": url}
    if configured:
        # The bucket's settings from `backup storage set` (another prefix: the URL's path wins).
        config += f'\n[backup.storage]\nprovider = "minio"\nbucket = "{bucket}"\nendpoint = "{moto_server.endpoint}"\nprefix = "backups"\n'
    else:
        env["AWS_ENDPOINT_URL"] = moto_server.endpoint  # boto3's own chain finds the endpoint
    (tmp_path / "nself.toml").write_text(config)
    before = checksums(url)
    round_trip(tmp_path, url, env, f"s3://{bucket}", lambda: keys(moto_server, bucket))

    if configured:
        return
    # One object, and a CSV made elsewhere: its errors name the object's URL.
    client = boto3.client(
        "s3",
        endpoint_url=moto_server.endpoint,
        aws_access_key_id=AWS_ACCESS_KEY,
        aws_secret_access_key=AWS_SECRET,
        region_name="us-east-1",
    )
    client.put_object(Bucket=bucket, Key="in/authors.csv", Body=b"id;name;born\n3;Cy;2000-02-30\n")
    failed = run_nself(
        "data",
        "import",
        f"s3://{bucket}/in/authors.csv",
        "--table",
        "authors",
        "--env",
        "dev",
        cwd=tmp_path,
        env=env,
    )
    assert failed.code != 0
    assert f"s3://{bucket}/in/authors.csv: column 'born'" in failed.stderr
    assert checksums(url) == before
    missing = run_nself(
        "data", "import", f"s3://{bucket}/nothing/here", "--env", "dev", cwd=tmp_path, env=env
    )
    assert missing.code != 0 and "no .json" in missing.stderr and "Traceback" not in missing.stderr


def blob_names(server: Server, container: str) -> list[str]:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(
        account_url=server.endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    )
    return sorted(blob.name for blob in service.get_container_client(container).list_blobs())


@pytest.mark.parametrize("configured", [True, False], ids=["backup-storage", "connection-string"])
def test_export_to_azure_and_import_back(
    tmp_path: Path, new_database: NewDatabase, azurite_server: Server, configured: bool
) -> None:
    container = new_bucket_name()
    create_azure_container(azurite_server, container)
    url = new_database("remote_azure")
    run_sql(url, SCHEMA)
    config = '[environments.dev]\nurl = "env:NSELF_REMOTE_URL"\n'
    env = {"NSELF_REMOTE_URL": url}
    if configured:
        # `backup storage set --provider azure --endpoint ...`, the key from the environment.
        env.update(azurite_server.env)
        config += f'\n[backup.storage]\nprovider = "azure"\nbucket = "{container}"\nendpoint = "{azurite_server.endpoint}"\nprefix = "backups"\n'
    else:
        # The URL alone: the SDK's connection string names the endpoint (Azurite's form).
        env["AZURE_STORAGE_CONNECTION_STRING"] = (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={azurite_server.endpoint};"
        )
    (tmp_path / "nself.toml").write_text(config)
    round_trip(tmp_path, url, env, f"azure://{container}", lambda: blob_names(azurite_server, container))
    missing = run_nself(
        "data", "import", f"azure://{container}/nothing/here", "--env", "dev", cwd=tmp_path, env=env
    )
    assert missing.code != 0 and "no .json" in missing.stderr and "Traceback" not in missing.stderr
    assert AZURITE_KEY not in missing.stdout + missing.stderr
    # One object named by its key.
    before = checksums(url)
    one = json.loads(
        ok(
            run_nself(
                "data",
                "import",
                f"azure://{container}/exports/one/public.authors.parquet",
                "--table",
                "authors",
                "--env",
                "dev",
                "--upsert",
                "--yes",
                "--json",
                cwd=tmp_path,
                env=env,
            )
        ).stdout
    )
    assert [(t["table"], t["path"], t["rows"]) for t in one["tables"]] == [
        ("public.authors", f"azure://{container}/exports/one/public.authors.parquet", 2)
    ]
    assert checksums(url) == before
