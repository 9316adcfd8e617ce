"""Every ordered pair of {file, s3, gs, az}, plus https -> each, through the engine, against
real local servers. Destinations are read back with each provider's client directly (not
through our adapters) and hashed, so the check does not depend on the code under test."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import obstore
import pytest

from tests.support import azure_client, gcs_client, s3_client
from transfer_operator.engine import Progress, TransferOptions, run_transfer
from transfer_operator.storage import StoreConfig

pytestmark = pytest.mark.integration

BIG = 48 * 2**20
PART = 8 * 2**20
SCHEMES = ("file", "s3", "gs", "az")


@dataclass
class Side:
    """One end of a transfer: where it is, how the operator would be configured for it,
    and direct (engine-independent) ways to put and get bytes there."""

    url: str
    config: StoreConfig
    put: Callable[[str, bytes], None]
    get: Callable[[str], bytes]
    list_keys: Callable[[], list[str]]
    recorded_sha256: Callable[[str], str | None] = lambda _: None


@pytest.fixture(scope="module")
def payload() -> tuple[bytes, str]:
    data = os.urandom(BIG + 12345)  # not a whole number of parts
    return data, hashlib.sha256(data).hexdigest()


def _obstore_side(store: Any, url: str, config: StoreConfig) -> Side:
    def put(key: str, data: bytes) -> None:
        obstore.put(store, key, data)

    def get(key: str) -> bytes:
        return bytes(obstore.get(store, key).bytes())

    def keys() -> list[str]:
        return sorted(m["path"] for batch in obstore.list(store) for m in batch)

    def recorded(key: str) -> str | None:
        value = obstore.get(store, key, options={"head": True}).attributes.get("sha256")
        return value if isinstance(value, str) else None

    return Side(url, config, put, get, keys, recorded)


def make_side(scheme: str, stores: Any, tmp_path: Path, role: str) -> Side:
    if scheme == "file":
        root = tmp_path / role

        def put(key: str, data: bytes) -> None:
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            (root / key).write_bytes(data)

        def keys() -> list[str]:
            return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

        return Side(f"file://{root}/", StoreConfig(), put, lambda k: (root / k).read_bytes(), keys)
    if scheme == "s3":
        s3 = stores.s3
        bucket = stores.create_s3_bucket()
        store = s3_client(stores, bucket)
        config = StoreConfig(
            endpoint=s3.endpoint,
            region=s3.region,
            credentials={
                "AWS_ACCESS_KEY_ID": s3.access_key_id,
                "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
            },
        )
        return _obstore_side(store, f"s3://{bucket}/", config)
    if scheme == "az":
        az = stores.azure
        container = stores.create_azure_container()
        store = azure_client(stores, container)
        config = StoreConfig(credentials={"AZURE_STORAGE_CONNECTION_STRING": az.connection_string})
        return _obstore_side(store, f"az://{container}/", config)
    assert scheme == "gs"
    bucket_name = stores.create_gcs_bucket()
    client = gcs_client(stores)
    bucket = client.bucket(bucket_name)

    def gput(key: str, data: bytes) -> None:
        bucket.blob(key).upload_from_string(data)

    def gkeys() -> list[str]:
        return sorted(blob.name for blob in client.list_blobs(bucket_name))

    return Side(
        f"gs://{bucket_name}/",
        StoreConfig(endpoint=stores.gcs.endpoint),
        gput,
        lambda k: bucket.blob(k).download_as_bytes(),
        gkeys,
        lambda k: (bucket.get_blob(k).metadata or {}).get("sha256"),
    )


def transfer(
    source: Side, source_key: str, destination: Side, destination_key: str, options: TransferOptions
) -> Progress:
    progress = Progress()
    asyncio.run(
        run_transfer(
            source.url + source_key,
            destination.url + destination_key,
            options,
            progress,
            source_config=source.config,
            destination_config=destination.config,
        )
    )
    return progress


PAIRS = [(a, b) for a in SCHEMES for b in SCHEMES]


@pytest.mark.parametrize(("source_scheme", "destination_scheme"), PAIRS)
def test_one_multipart_object(
    object_stores: Any,
    tmp_path: Path,
    payload: tuple[bytes, str],
    source_scheme: str,
    destination_scheme: str,
) -> None:
    data, digest = payload
    source = make_side(source_scheme, object_stores, tmp_path, "src")
    destination = make_side(destination_scheme, object_stores, tmp_path, "dst")
    source.put("in/big.bin", data)
    progress = transfer(
        source, "in/big.bin", destination, "out/big.bin", TransferOptions(part_size=PART)
    )
    assert hashlib.sha256(destination.get("out/big.bin")).hexdigest() == digest
    assert (progress.bytes_done, progress.objects_copied) == (len(data), 1)
    assert destination.list_keys() == ["out/big.bin"]  # nothing temporary left behind


@pytest.mark.parametrize("destination_scheme", SCHEMES)
def test_https_source(
    object_stores: Any, tmp_path: Path, payload: tuple[bytes, str], destination_scheme: str
) -> None:
    data, digest = payload
    url = object_stores.http_file(f"{destination_scheme}/big.bin", data)
    origin, path = url[: -len(f"{destination_scheme}/big.bin")], f"{destination_scheme}/big.bin"
    # The URL names the object; `endpoint` says where to fetch it from (a mirror, or here
    # the local test server: plain http on loopback).
    source = Side(
        "https://downloads.example.test/",
        StoreConfig(endpoint=origin),
        put=lambda *_: None,
        get=lambda _: b"",
        list_keys=list,
    )
    destination = make_side(destination_scheme, object_stores, tmp_path, "dst")
    transfer(source, path, destination, "big.bin", TransferOptions(part_size=PART))
    assert hashlib.sha256(destination.get("big.bin")).hexdigest() == digest


@pytest.mark.parametrize(("source_scheme", "destination_scheme"), PAIRS)
def test_prefix_of_small_objects_with_filters(
    object_stores: Any, tmp_path: Path, source_scheme: str, destination_scheme: str
) -> None:
    source = make_side(source_scheme, object_stores, tmp_path, "src")
    destination = make_side(destination_scheme, object_stores, tmp_path, "dst")
    expected: dict[str, str] = {}
    for i in range(200):
        name = f"logs/{i % 4}/part-{i:03d}." + ("gz" if i % 5 else "tmp")
        data = os.urandom(100 + i)
        source.put(f"batch/{name}", data)
        if name.endswith(".gz") and not name.startswith("logs/3/"):
            expected[name] = hashlib.sha256(data).hexdigest()
    options = TransferOptions(include=("*.gz",), exclude=("logs/3/**",), concurrency=8)
    progress = transfer(source, "batch/", destination, "copy/", options)
    assert progress.objects_copied == len(expected) == 120
    got = {
        k.removeprefix("copy/"): hashlib.sha256(destination.get(k)).hexdigest()
        for k in destination.list_keys()
    }
    assert got == expected

    # Run again: everything is identical, so nothing is copied (IfDifferent).
    again = transfer(source, "batch/", destination, "copy/", options)
    assert (again.objects_copied, again.objects_skipped) == (0, 120)


@pytest.mark.parametrize("destination_scheme", ["s3", "az", "gs"])
def test_destination_records_the_sha256(
    object_stores: Any, tmp_path: Path, destination_scheme: str
) -> None:
    """Later IfDifferent runs and audits read the sha256 from metadata, not the bytes."""
    data = os.urandom(3 * 2**20)
    source = make_side("file", object_stores, tmp_path, "src")
    destination = make_side(destination_scheme, object_stores, tmp_path, "dst")
    source.put("a.bin", data)
    transfer(source, "a.bin", destination, "a.bin", TransferOptions(part_size=2**20))
    recorded = destination.recorded_sha256("a.bin")
    assert recorded == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("scheme", "same_bucket", "server_side"),
    [
        ("s3", True, 1),
        ("az", True, 1),
        ("gs", True, 1),
        ("gs", False, 1),
        ("s3", False, 0),
        ("az", False, 0),
    ],
)
def test_server_side_copy_within_an_account_else_streamed(
    object_stores: Any, tmp_path: Path, scheme: str, same_bucket: bool, server_side: int
) -> None:
    """Same provider and credentials: the provider copies (GCS across buckets too; obstore
    binds S3 and Azure stores to one bucket, so across buckets those fall back to a stream)."""
    data = os.urandom(6 * 2**20)
    source = make_side(scheme, object_stores, tmp_path, "src")
    destination = source if same_bucket else make_side(scheme, object_stores, tmp_path, "dst")
    source.put("a/original.bin", data)
    progress = transfer(source, "a/original.bin", destination, "b/copy.bin", TransferOptions())
    assert progress.objects_server_side == server_side
    assert progress.objects_copied == 1
    assert destination.get("b/copy.bin") == data
