"""Object-storage transfers: nself's stores against boto3 / azure-storage-blob used directly
(what `aws s3 cp` and `az storage blob upload` do), in the same run, against moto's S3 server
and Azurite on loopback. Prints figures; asserts nothing.

    python bench/bench_storage.py                    # one 256 MiB file and 500 files of 8 KiB
    python bench/bench_storage.py --size-mib 64 --files 200

nself does more than the plain SDK call: it hashes the local bytes (sha256) before sending,
checks the stored object afterwards, and hashes the bytes received; the figures show what
that costs. Azurite is skipped with a note when it is not installed (.ci/run installs it)."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nself.runtime.cluster import free_port  # noqa: E402
from nself.runtime.storage import ObjectStore, make_config  # noqa: E402
from nself.runtime.storage.azure import AzureStore  # noqa: E402
from nself.runtime.storage.s3 import MiB, S3Store  # noqa: E402
from tests.storage_servers import AZURITE_ACCOUNT, AZURITE_KEY, azurite_binary  # noqa: E402

JOBS = 8


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def wait_port(port: int) -> None:
    import socket

    for _ in range(600):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"no server on port {port}")


def many(paths: list[Path], work: Callable[[Path], object]) -> None:
    with ThreadPoolExecutor(JOBS) as pool:
        list(pool.map(work, paths))


def row(name: str, nbytes: int, ours: float, theirs: float) -> None:
    rate = lambda s: f"{nbytes / MiB / s:8.1f} MiB/s"  # noqa: E731
    print(f"  {name:<34} nself {ours:7.2f} s {rate(ours)}   sdk {theirs:7.2f} s {rate(theirs)}")


def bench(label: str, store: ObjectStore, sdk_put: Callable[[str, Path], Any], sdk_get: Callable[[str, Path], Any],
          big: Path, small: list[Path], out: Path) -> None:
    print(f"{label}:")
    size = big.stat().st_size
    row(f"upload 1 x {size // MiB} MiB", size, timed(lambda: store.put_file("n/big", big)), timed(lambda: sdk_put("s/big", big)))
    row(f"download 1 x {size // MiB} MiB", size, timed(lambda: store.get_file("n/big", out / "n-big")),
        timed(lambda: sdk_get("s/big", out / "s-big")))
    total = sum(p.stat().st_size for p in small)
    row(f"upload {len(small)} small files", total, timed(lambda: many(small, lambda p: store.put_file(f"n/{p.name}", p))),
        timed(lambda: many(small, lambda p: sdk_put(f"s/{p.name}", p))))
    row(f"download {len(small)} small files", total,
        timed(lambda: many(small, lambda p: store.get_file(f"n/{p.name}", out / f"n-{p.name}"))),
        timed(lambda: many(small, lambda p: sdk_get(f"s/{p.name}", out / f"s-{p.name}"))))


def make_backup_folder(repo: Path, files: int) -> str:
    """A backup folder shaped like a fresh cluster's: `files` small stored files (2-16 KiB)
    and a few of 1-3 MiB, random bytes (stored files are compressed already), manifest last."""
    import hashlib
    import random

    from nself.runtime.backup.manifest import FileEntry, Manifest, write_manifest

    backup_id = "20261207T100000Z-full"
    folder = repo / backup_id
    rng = random.Random(7)
    entries = []
    for n in range(files):
        size = rng.randint(1, 3) * MiB if n % 60 == 0 else rng.randint(2048, 16384)
        path = folder / "data" / "base" / "5" / f"{16384 + n}.zst"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size)
        path.write_bytes(data)
        entries.append(FileEntry(path.relative_to(folder).as_posix(), size, hashlib.sha256(data).hexdigest()))
    write_manifest(folder, Manifest(id=backup_id, kind="full", started_at="2026-12-07T10:00:00.000000Z",
                                    stopped_at="2026-12-07T10:00:05.000000Z", parent=None,
                                    size_bytes=sum(e.size for e in entries), wal_start=None, wal_stop=None,
                                    files=tuple(entries)))
    return backup_id


def bench_backup(label: str, store: ObjectStore, repo: Path, backup_id: str, out: Path) -> None:
    """`backup upload` then `backup download` of one backup folder: files under 1 MiB in
    bundles (now) against one object per file (before, bundling turned off), same run."""
    from nself.runtime.backup import bundle
    from nself.runtime.backup.transfer import TransferReport, _delete_remote, download_backup, upload_backup

    folder = repo / backup_id
    files = [p for p in folder.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"{label}: backup of {len(files)} files ({total / MiB:.0f} MiB), upload + download")
    limit = bundle.BUNDLE_FILE_LIMIT
    figures = []
    for name, file_limit in (("bundled", limit), ("one object per file", 0)):
        bundle.BUNDLE_FILE_LIMIT = file_limit
        try:
            up = timed(lambda: upload_backup(repo, store, backup_id, jobs=JOBS, with_wal=False))
            target = out / name.replace(" ", "-")
            down = timed(lambda t=target: download_backup(t, store, backup_id, jobs=JOBS, with_wal=False))  # type: ignore[misc]
            objects = sum(1 for _ in store.list(backup_id + "/"))
            _delete_remote(store, backup_id, TransferReport())
        finally:
            bundle.BUNDLE_FILE_LIMIT = limit
        figures.append((name, up, down, objects))
    for name, up, down, objects in figures:
        print(f"  {name:<22} {objects:5} objects   upload {up:7.2f} s   download {down:7.2f} s   round trip {up + down:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--backup-files", type=int, default=1270, help="files of the backup round trip (a fresh cluster: ~1,270)")
    parser.add_argument("--only-backup", action="store_true", help="only the backup round trip")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nself-bench-storage-"))
    big = work / "big.bin"
    with open(big, "wb") as handle:
        for _ in range(args.size_mib):
            handle.write(os.urandom(MiB))
    small = []
    for n in range(args.files):
        path = work / f"small-{n:05}.bin"
        path.write_bytes(os.urandom(8192))
        small.append(path)
    out = work / "out"
    out.mkdir()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        import boto3
        from boto3.s3.transfer import TransferConfig

        port = free_port()
        processes.append(subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port)
        os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret", AWS_DEFAULT_REGION="us-east-1")
        endpoint = f"http://127.0.0.1:{port}"
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="bench")
        config = TransferConfig(multipart_threshold=16 * MiB, multipart_chunksize=16 * MiB, max_concurrency=JOBS)
        store = S3Store(make_config("minio", "bench", endpoint=endpoint), concurrency=JOBS)
        backup_id = make_backup_folder(work / "repo", args.backup_files)
        bench_backup("S3 (moto_server)", store, work / "repo", backup_id, out)
        if args.only_backup:
            return
        bench(
            "S3 (moto_server)", store,
            lambda key, path: client.upload_file(str(path), "bench", key, Config=config),
            lambda key, path: client.download_file("bench", key, str(path), Config=config),
            big, small, out,
        )

        binary = azurite_binary()
        if binary is None:
            print("Azure: skipped (azurite-blob not installed)")
            return
        port = free_port()
        processes.append(subprocess.Popen(
            [str(binary), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", str(work / "azurite"),
             "--skipApiVersionCheck", "--loose", "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        wait_port(port)
        from azure.storage.blob import BlobServiceClient

        endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        service = BlobServiceClient(account_url=endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY},
                                    max_block_size=8 * MiB, max_single_put_size=8 * MiB)
        container = service.create_container("bench")
        os.environ.update(AZURE_STORAGE_ACCOUNT=AZURITE_ACCOUNT, AZURE_STORAGE_KEY=AZURITE_KEY)

        def az_put(key: str, path: Path) -> None:
            with open(path, "rb") as handle:
                container.get_blob_client(key).upload_blob(handle, overwrite=True, max_concurrency=JOBS)

        def az_get(key: str, path: Path) -> None:
            with open(path, "wb") as handle:
                container.get_blob_client(key).download_blob(max_concurrency=JOBS).readinto(handle)

        bench("Azure (Azurite)", AzureStore(make_config("azure", "bench", endpoint=endpoint), concurrency=JOBS),
              az_put, az_get, big, small, out)
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
