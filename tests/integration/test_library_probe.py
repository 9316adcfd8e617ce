"""Library probe: what obstore (and, where it falls short, an SDK) does against the local
object stores. Each test asserts the behaviour recorded in docs/object-stores.md, so a
library or emulator upgrade that changes the matrix shows up here as a failure.

Needs: obstore (and boto3, azure-storage-blob, google-cloud-storage for the checksum and
fallback checks; those tests skip without them).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import random
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

obs = pytest.importorskip("obstore")
from obstore.exceptions import (  # noqa: E402
    AlreadyExistsError,
    GenericError,
    NotSupportedError,
    PermissionDeniedError,
)
from obstore.store import AzureStore, GCSStore, HTTPStore, S3Store  # noqa: E402

from tests.conftest import objectstores_lib  # noqa: E402

# func_only: the first test also waits for the session fixture (a cold build takes minutes)
pytestmark = [pytest.mark.integration, pytest.mark.timeout(300, func_only=True)]

MiB = 1 << 20
CLIENT = {"allow_http": True}  # the emulators speak plain http on loopback
RETRY = {"max_retries": 1, "retry_timeout": dt.timedelta(seconds=5)}
OBJECT_SCHEMES = ["s3", "gcs", "azure"]
# fake-gcs-server (upstream) implements object writes only on the JSON API; obstore's GCS
# client writes with the XML API (PUT /bucket/object, POST ?uploads), which it answers
# with 400 "invalid uploadType". Real GCS serves both; this is an emulator gap.
GCS_XML_WRITE_GAP = "fake-gcs-server has no XML-API object writes (400 invalid uploadType)"
# Writes work on S3 and Azure; fake-gcs-server takes writes only on the JSON API.
WRITE_SCHEMES = [
    "s3",
    "azure",
    pytest.param(
        "gcs", marks=pytest.mark.xfail(raises=GenericError, strict=True, reason=GCS_XML_WRITE_GAP)
    ),
]


# --------------------------------------------------------------------------- helpers
def make_store(stores: Any, scheme: str, bucket: str, **overrides: Any) -> Any:
    if scheme == "s3":
        return S3Store(
            bucket,
            endpoint=stores.s3.endpoint,
            access_key_id=overrides.pop("access_key_id", stores.s3.access_key_id),
            secret_access_key=overrides.pop("secret_access_key", stores.s3.secret_access_key),
            region=stores.s3.region,
            virtual_hosted_style_request=False,  # path-style: http://127.0.0.1:PORT/bucket/key
            client_options=CLIENT,
            retry_config=RETRY,
            **overrides,
        )
    if scheme == "gcs":
        # The service-account file carries {"gcs_base_url": endpoint, "disable_oauth": true}.
        return GCSStore(
            bucket,
            service_account=stores.gcs.service_account_path,
            client_options=CLIENT,
            retry_config=RETRY,
            **overrides,
        )
    return AzureStore(
        bucket,
        account_name=stores.azure.account_name,
        account_key=overrides.pop("account_key", stores.azure.account_key),
        endpoint=stores.azure.endpoint,  # http://127.0.0.1:PORT/devstoreaccount1
        client_options=CLIENT,
        retry_config=RETRY,
        **overrides,
    )


def new_bucket(stores: Any, scheme: str) -> str:
    create = {
        "s3": stores.create_s3_bucket,
        "gcs": stores.create_gcs_bucket,
        "azure": stores.create_azure_container,
    }[scheme]
    return str(create())


def seed(stores: Any, scheme: str, bucket: str, path: str, data: bytes) -> None:
    """Write an object; for GCS through the JSON API (obstore cannot write to the emulator)."""
    if scheme == "gcs":
        url = (
            f"{stores.gcs.endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=media"
            f"&name={urllib.parse.quote(path, safe='')}"
        )
        status, body = objectstores_lib.http_request(
            "POST", url, data, {"Content-Type": "application/octet-stream"}
        )
        assert status == 200, body
    else:
        obs.put(make_store(stores, scheme, bucket), path, data)


async def chunks(total: int, size: int, sink: Any) -> AsyncIterator[bytes]:
    rnd = random.Random(total)
    for _ in range(total // size):
        c = rnd.randbytes(size)
        sink.update(c)
        yield c


def vm_hwm_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (peak RSS) to current RSS


def vm_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


# --------------------------------------------------------------------------- basics
@pytest.mark.parametrize("scheme", OBJECT_SCHEMES)
async def test_head_get_stream_range_list(object_stores: Any, scheme: str) -> None:
    bucket = new_bucket(object_stores, scheme)
    seed(object_stores, scheme, bucket, "p/a.txt", b"hello")
    seed(object_stores, scheme, bucket, "p/sub/b.txt", b"hello world")
    seed(object_stores, scheme, bucket, "q/c.txt", b"x")
    store = make_store(object_stores, scheme, bucket)

    meta = await obs.head_async(store, "p/a.txt")
    assert meta["size"] == 5 and meta["e_tag"]

    listed = [(m["path"], m["size"]) async for batch in obs.list(store, "p/") for m in batch]
    assert sorted(listed) == [("p/a.txt", 5), ("p/sub/b.txt", 11)]  # recursive, with sizes
    shallow = await obs.list_with_delimiter_async(store, "p/")
    assert shallow["common_prefixes"] == ["p/sub"]

    got = await obs.get_async(store, "p/sub/b.txt")
    assert b"".join([bytes(c) async for c in got.stream(min_chunk_size=4)]) == b"hello world"
    assert bytes(await obs.get_range_async(store, "p/sub/b.txt", start=6, end=11)) == b"world"
    suffix = obs.get_async(store, "p/sub/b.txt", options={"range": {"suffix": 5}})
    if scheme == "azure":
        with pytest.raises(NotSupportedError, match="suffix range"):
            await suffix
    else:
        assert bytes(await (await suffix).bytes_async()) == b"world"

    await obs.delete_async(store, "q/c.txt")
    with pytest.raises(FileNotFoundError):
        await obs.head_async(store, "q/c.txt")


async def test_get_streams_large_object_in_chunks(object_stores: Any) -> None:
    bucket = object_stores.create_s3_bucket()
    store = make_store(object_stores, "s3", bucket)
    data = random.Random(7).randbytes(24 * MiB)
    await obs.put_async(store, "big.bin", data)
    got = await obs.get_async(store, "big.bin")
    sizes = [len(c) async for c in got.stream(min_chunk_size=4 * MiB)]
    assert sum(sizes) == len(data) and len(sizes) >= 5


# --------------------------------------------------------------------------- uploads
@pytest.mark.parametrize("scheme", WRITE_SCHEMES)
async def test_streaming_multipart_upload_with_metadata(object_stores: Any, scheme: str) -> None:
    """48 MiB from an async iterator of 1 MiB chunks, 8 MiB parts, 2 in flight; a custom
    `sha256` attribute comes back from a HEAD-only get (head_async has no attributes)."""
    bucket = new_bucket(object_stores, scheme)
    store = make_store(object_stores, scheme, bucket)
    h = hashlib.sha256()
    total = 48 * MiB
    vm_hwm_reset()
    rss0 = vm_kib("VmRSS")
    res = await obs.put_async(
        store,
        "big/48m.bin",
        chunks(total, MiB, h),
        chunk_size=8 * MiB,
        max_concurrency=2,
        attributes={"sha256": "pending", "Content-Type": "application/octet-stream"},
    )
    grew_mib = (vm_kib("VmHWM") - rss0) / 1024
    assert grew_mib < 40, f"peak RSS grew {grew_mib:.0f} MiB for a 48 MiB upload"
    if scheme == "s3":
        assert res["e_tag"].endswith('-6"')  # a 6-part multipart upload
    head = await obs.get_async(store, "big/48m.bin", options={"head": True})
    assert head.meta["size"] == total
    assert head.attributes["sha256"] == "pending"
    digest = hashlib.sha256()
    async for c in await obs.get_async(store, "big/48m.bin"):
        digest.update(c)
    assert digest.hexdigest() == h.hexdigest()


@pytest.mark.parametrize("scheme", ["s3", "azure"])
async def test_conditional_create(object_stores: Any, scheme: str) -> None:
    bucket = new_bucket(object_stores, scheme)
    store = make_store(object_stores, scheme, bucket)
    await obs.put_async(store, "a", b"1")
    with pytest.raises(AlreadyExistsError):
        await obs.put_async(store, "a", b"2", mode="create")


# --------------------------------------------------------------------------- copy
@pytest.mark.parametrize("scheme", WRITE_SCHEMES)
async def test_server_side_copy_within_bucket(object_stores: Any, scheme: str) -> None:
    bucket = new_bucket(object_stores, scheme)
    seed(object_stores, scheme, bucket, "a.txt", b"hello")
    store = make_store(object_stores, scheme, bucket)
    await obs.copy_async(store, "a.txt", "b.txt")
    assert bytes(await (await obs.get_async(store, "b.txt")).bytes_async()) == b"hello"
    if scheme == "s3":  # needs S3Store(copy_if_not_exists=...) on real S3 / MinIO
        with pytest.raises(NotSupportedError):
            await obs.copy_async(store, "a.txt", "b.txt", overwrite=False)
    else:
        with pytest.raises(AlreadyExistsError):
            await obs.copy_async(store, "a.txt", "b.txt", overwrite=False)


async def test_copy_across_buckets_and_stores_streams(object_stores: Any) -> None:
    """obstore's copy takes one store (one bucket): across buckets or clouds the bytes go
    through us, get_async -> put_async, hashed on the way."""
    src = make_store(object_stores, "s3", object_stores.create_s3_bucket())
    dst_s3 = make_store(object_stores, "s3", object_stores.create_s3_bucket())
    dst_az = make_store(object_stores, "azure", object_stores.create_azure_container())
    data = random.Random(3).randbytes(10 * MiB)
    await obs.put_async(src, "x.bin", data)
    for dst in (dst_s3, dst_az):
        h = hashlib.sha256()

        async def tee(it: Any, h: Any = h) -> AsyncIterator[bytes]:
            async for c in it:
                h.update(c)
                yield c

        got = await obs.get_async(src, "x.bin")
        await obs.put_async(dst, "y.bin", tee(got.stream(min_chunk_size=4 * MiB)))
        assert h.hexdigest() == hashlib.sha256(data).hexdigest()
        assert (await obs.head_async(dst, "y.bin"))["size"] == len(data)


# --------------------------------------------------------------------------- checksums
async def test_s3_sha256_checksum_on_upload(object_stores: Any) -> None:
    boto3 = pytest.importorskip("boto3")
    bucket = object_stores.create_s3_bucket()
    store = make_store(object_stores, "s3", bucket, checksum_algorithm="sha256")
    await obs.put_async(store, "one.bin", b"hello")
    await obs.put_async(
        store, "multi.bin", chunks(24 * MiB, MiB, hashlib.sha256()), chunk_size=8 * MiB
    )
    client = boto3.client(
        "s3",
        endpoint_url=object_stores.s3.endpoint,
        aws_access_key_id=object_stores.s3.access_key_id,
        aws_secret_access_key=object_stores.s3.secret_access_key,
        region_name=object_stores.s3.region,
    )
    one = client.head_object(Bucket=bucket, Key="one.bin", ChecksumMode="ENABLED")
    assert one["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"hello").digest()).decode()
    assert one["ChecksumType"] == "FULL_OBJECT"
    assert one["ETag"] == f'"{hashlib.md5(b"hello").hexdigest()}"'
    multi = client.head_object(Bucket=bucket, Key="multi.bin", ChecksumMode="ENABLED")
    assert multi["ChecksumType"] == "COMPOSITE" and multi["ChecksumSHA256"].endswith("-3")


async def test_gcs_and_azure_provider_checksums(object_stores: Any) -> None:
    bucket = object_stores.create_gcs_bucket()
    seed(object_stores, "gcs", bucket, "a.txt", b"hello")
    status, body = objectstores_lib.http_request(
        "GET", f"{object_stores.gcs.endpoint}/storage/v1/b/{bucket}/o/a.txt"
    )
    assert status == 200, body
    meta = json.loads(body)
    assert meta["md5Hash"] == base64.b64encode(hashlib.md5(b"hello").digest()).decode()
    assert meta["crc32c"]
    store = make_store(object_stores, "gcs", bucket)
    assert (await obs.head_async(store, "a.txt"))["e_tag"] == f'"{meta["md5Hash"]}"'

    blob_mod = pytest.importorskip("azure.storage.blob")
    container = object_stores.create_azure_container()
    az = make_store(object_stores, "azure", container)
    await obs.put_async(az, "one.bin", b"hello")
    await obs.put_async(
        az, "multi.bin", chunks(16 * MiB, MiB, hashlib.sha256()), chunk_size=8 * MiB
    )
    svc = blob_mod.BlobServiceClient.from_connection_string(object_stores.azure.connection_string)
    one = svc.get_blob_client(container, "one.bin").get_blob_properties()
    assert bytes(one.content_settings.content_md5) == hashlib.md5(b"hello").digest()
    multi = svc.get_blob_client(container, "multi.bin").get_blob_properties()
    assert multi.content_settings.content_md5 is None  # Put Block List: no whole-blob MD5


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("scheme", OBJECT_SCHEMES)
async def test_error_types(object_stores: Any, scheme: str) -> None:
    bucket = new_bucket(object_stores, scheme)
    store = make_store(object_stores, scheme, bucket)
    with pytest.raises(FileNotFoundError):  # missing object: builtin, not an obstore class
        await obs.get_async(store, "missing")
    with pytest.raises(FileNotFoundError):
        await obs.head_async(store, "missing")
    if scheme == "s3":
        await obs.delete_async(store, "missing")  # S3 delete is idempotent
    else:
        with pytest.raises(FileNotFoundError):
            await obs.delete_async(store, "missing")

    nobucket = make_store(object_stores, scheme, "no-such-bucket-probe")
    with pytest.raises(FileNotFoundError):  # missing bucket on object calls: same as object
        await obs.head_async(nobucket, "x")
    with pytest.raises(GenericError, match="list request"):  # ... but listing is Generic
        await obs.list(nobucket, "").collect_async()

    if scheme == "gcs":
        return  # the emulator does not check credentials (disable_oauth)
    bad = (
        make_store(object_stores, "s3", bucket, secret_access_key="wrong-secret-0123456789")
        if scheme == "s3"
        else make_store(object_stores, "azure", bucket, account_key="d3Jvbmcta2V5")
    )
    with pytest.raises(PermissionDeniedError):  # 403 on object calls
        await obs.head_async(bad, "x")
    with pytest.raises(PermissionDeniedError):
        await obs.put_async(bad, "x", b"1")
    with pytest.raises(GenericError, match="403 Forbidden"):  # listing: Generic, status in text
        await obs.list(bad, "").collect_async()


async def test_unreachable_endpoint_is_generic_after_retries(object_stores: Any) -> None:
    store = S3Store(
        "b",
        endpoint="http://127.0.0.1:9",  # discard port: nothing listens
        access_key_id="x",
        secret_access_key="y",
        region="us-east-1",
        client_options=CLIENT,
        retry_config={"max_retries": 1, "retry_timeout": dt.timedelta(seconds=2)},
    )
    with pytest.raises(GenericError, match="error sending request"):
        await obs.head_async(store, "x")


def test_http_scheme_requires_allow_http(object_stores: Any) -> None:
    with pytest.raises(GenericError, match=r"(?i)http"):
        obs.head(HTTPStore.from_url(object_stores.http.url, retry_config=RETRY), "x")


# --------------------------------------------------------------------------- https source
async def test_http_source(object_stores: Any) -> None:
    data = random.Random(5).randbytes(3 * MiB)
    object_stores.http_file("dir/f.bin", data)
    store = HTTPStore.from_url(object_stores.http.url, client_options=CLIENT, retry_config=RETRY)
    assert (await obs.head_async(store, "dir/f.bin"))["size"] == len(data)
    got = await obs.get_async(store, "dir/f.bin")
    assert b"".join([bytes(c) async for c in got.stream(min_chunk_size=MiB)]) == data
    part = await obs.get_range_async(store, "dir/f.bin", start=MiB, end=MiB + 10)
    assert bytes(part) == data[MiB : MiB + 10]
    with pytest.raises(FileNotFoundError):
        await obs.head_async(store, "dir/missing.bin")
    with pytest.raises(GenericError, match="PROPFIND"):  # listing needs WebDAV
        await obs.list(store, "dir/").collect_async()


# --------------------------------------------------------------------------- GCS fallback
def test_gcs_writes_with_google_cloud_storage(object_stores: Any) -> None:
    """The SDK writes through the JSON API (resumable uploads), which the emulator has."""
    storage = pytest.importorskip("google.cloud.storage")
    from google.auth.credentials import AnonymousCredentials

    bucket = object_stores.create_gcs_bucket()
    client = storage.Client(
        project=object_stores.gcs.project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": object_stores.gcs.endpoint},
    )
    blob = client.bucket(bucket).blob("big/24m.bin", chunk_size=8 * MiB)
    blob.metadata = {"sha256": "pending"}
    h = hashlib.sha256()
    rnd = random.Random(11)
    with blob.open("wb") as fh:
        for _ in range(24):
            c = rnd.randbytes(MiB)
            h.update(c)
            fh.write(c)
    blob.reload()
    assert blob.size == 24 * MiB and blob.metadata == {"sha256": "pending"}
    assert blob.md5_hash and blob.crc32c
    # ... and obstore reads what the SDK wrote.
    store = make_store(object_stores, "gcs", bucket)

    async def read() -> str:
        d = hashlib.sha256()
        async for c in await obs.get_async(store, "big/24m.bin"):
            d.update(c)
        return d.hexdigest()

    assert asyncio.run(read()) == h.hexdigest()
