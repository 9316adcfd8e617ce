"""S3, Azure Blob and HTTP(S) through obstore (Rust's object_store): one async client for
three protocols, streaming reads, multipart writes with bounded memory, typed errors.

Why obstore, and its gaps, are recorded in docs/object-stores.md. In short: a store is
bound to one bucket; metadata can only be set when an upload starts; S3 can validate a
sha256 per part on the server (`checksum_algorithm`), Azure cannot, so Azure uploads are
verified by reading them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import obstore
from obstore import exceptions as obstore_errors
from obstore.store import AzureStore, HTTPStore, S3Store

from transfer_operator.errors import ChecksumMismatch, InvalidRequest, TransferError
from transfer_operator.storage.base import ObjectInfo, sha256_of
from transfer_operator.storage.config import StoreConfig, account_of
from transfer_operator.storage.errors import classify
from transfer_operator.storage.url import Location

if TYPE_CHECKING:
    from obstore.store import AzureConfig, ClientConfig, RetryConfig, S3Config

SHA256_ATTRIBUTE = "sha256"
S3_MIN_PART_SIZE = 5 * 1024 * 1024  # S3 rejects smaller parts (but the last) EntityTooSmall
# obstore retries 5xx and connection errors on its own (10 times within 3 minutes by
# default). Keep that short: the request's own retry policy, visible in status, is the
# one that should decide.
_RETRY: RetryConfig = {"max_retries": 2, "retry_timeout": timedelta(seconds=30)}
# Parts in flight per object. Memory per object stream ~ part size x (this + 1).
_PART_CONCURRENCY = 2
_PERMANENT = (
    obstore_errors.InvalidPathError,
    obstore_errors.NotSupportedError,
    obstore_errors.AlreadyExistsError,
    obstore_errors.PreconditionError,
    obstore_errors.UnknownConfigurationKeyError,
    ValueError,
)
_DENIED = (obstore_errors.PermissionDeniedError, obstore_errors.UnauthenticatedError)


class ObstoreStore:
    """One bucket or container (or one HTTP origin), addressed by keys without a leading /."""

    def __init__(
        self,
        store: Any,
        base_url: str,
        secrets: Iterable[str] = (),
        *,
        account: tuple[object, ...] | None = None,
        part_size: int,
        needs_sha256_upfront: bool = True,
        server_verifies: bool = False,
    ) -> None:
        self._store = store
        self._account = account
        self._base_url = base_url.rstrip("/") + "/"
        self._secrets = tuple(secrets)
        self._part_size = part_size
        self.needs_sha256_upfront = needs_sha256_upfront
        self._server_verifies = server_verifies

    def _error(self, exc: BaseException, key: str) -> TransferError:
        return classify(
            exc, self._base_url + key, self._secrets, permanent=_PERMANENT, denied=_DENIED
        )

    async def stat(self, key: str) -> ObjectInfo | None:
        try:
            meta = await obstore.head_async(self._store, key)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise self._error(exc, key) from None
        return ObjectInfo(key=key, size=meta["size"])

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        try:
            async for batch in obstore.list(self._store, prefix or None, chunk_size=1000):
                for meta in batch:
                    yield ObjectInfo(key=meta["path"], size=meta["size"])
        except Exception as exc:
            raise self._error(exc, prefix) from None

    async def read(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            result = await obstore.get_async(self._store, key)
            async for chunk in result.stream(min_chunk_size=chunk_size):
                yield bytes(chunk)
        except Exception as exc:
            raise self._error(exc, key) from None

    async def known_sha256(self, key: str) -> str | None:
        """The sha256 recorded in the object's metadata, when we (or a peer) wrote it."""
        try:
            result = await obstore.get_async(self._store, key, options={"head": True})
        except Exception as exc:
            raise self._error(exc, key) from None
        value = result.attributes.get(SHA256_ATTRIBUTE)
        return value if isinstance(value, str) else None

    async def sha256(self, key: str) -> str:
        return await self.known_sha256(key) or await sha256_of(self.read(key, self._part_size))

    async def open_upload(
        self, key: str, writer_id: str, sha256: str | None = None
    ) -> ObstoreUpload:
        # Object stores make an object visible only when its upload completes, so the
        # writer id needs no temporary name here; an abandoned multipart upload stays
        # invisible (a bucket lifecycle rule should expire those, as for any S3 client).
        return ObstoreUpload(self, key, sha256)

    async def copy_to(self, key: str, destination: object, destination_key: str) -> bool:
        """Server-side within one bucket or container (obstore binds a store to one; a
        copy across buckets is streamed). Object metadata, our sha256 included, is kept."""
        same_place = (
            isinstance(destination, ObstoreStore)
            and self._account is not None
            and (self._account, self._base_url) == (destination._account, destination._base_url)
        )
        if not same_place:
            return False
        try:
            await obstore.copy_async(self._store, key, destination_key)
        except Exception as exc:
            raise self._error(exc, key) from None
        return True

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self._store, key)
        except FileNotFoundError:
            return
        except Exception as exc:
            raise self._error(exc, key) from None

    async def close(self) -> None:
        return None


class ObstoreUpload:
    """Bridges the engine's push (`write`) to obstore's pull (an async iterator for put)."""

    def __init__(self, owner: ObstoreStore, key: str, sha256: str | None) -> None:
        self._owner = owner
        self._key = key
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=1)
        attributes = {SHA256_ATTRIBUTE: sha256} if sha256 else None
        self._put = asyncio.ensure_future(
            obstore.put_async(
                owner._store, key, self._drain(), attributes=attributes,
                chunk_size=owner._part_size, max_concurrency=_PART_CONCURRENCY,
            )
        )  # fmt: skip

    async def _drain(self) -> AsyncIterator[bytes]:
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def _send(self, item: bytes | None) -> None:
        """Queue `item`, unless the upload already failed: then raise its error."""
        sending = asyncio.ensure_future(self._chunks.put(item))
        await asyncio.wait({sending, self._put}, return_when=asyncio.FIRST_COMPLETED)
        if not sending.done():
            sending.cancel()
            await self._result()

    async def _result(self) -> None:
        try:
            await self._put
        except Exception as exc:
            raise self._owner._error(exc, self._key) from None

    async def write(self, chunk: bytes) -> None:
        await self._send(chunk)

    async def commit(self, sha256: str, *, verify: bool) -> None:
        await self._send(None)
        await self._result()
        if verify and not self._owner._server_verifies:
            stored = await sha256_of(self._owner.read(self._key, self._owner._part_size))
            if stored != sha256:
                await self._owner.delete(self._key)
                raise ChecksumMismatch(
                    f"{self._owner._base_url}{self._key}: stored sha256 {stored}, "
                    f"expected {sha256}; deleted"
                )

    async def abort(self) -> None:
        if not self._put.done():
            self._put.cancel()
        with contextlib.suppress(BaseException):
            await self._put


# ---- construction per scheme --------------------------------------------------------------


def _client_options(endpoint: str | None) -> ClientConfig:
    return {"allow_http": True} if endpoint and endpoint.startswith("http://") else {}


def s3_store(location: Location, config: StoreConfig, part_size: int) -> ObstoreStore:
    """Keys in the Secret: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
    endpoint and region from the spec, else AWS_ENDPOINT_URL / AWS_REGION. Without a Secret,
    the AWS chain of the process: the same variables, EKS IRSA (AWS_ROLE_ARN +
    AWS_WEB_IDENTITY_TOKEN_FILE), ECS or instance metadata. A custom endpoint (MinIO, R2,
    Wasabi) is addressed path-style, AWS itself virtual-hosted style."""
    creds = dict(config.credentials or {})
    ambient = os.environ if config.credentials is None else {}
    settings: S3Config = {"checksum_algorithm": "sha256"}
    if config.credentials is not None:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if not creds.get(key):
                raise InvalidRequest(
                    f"the credentials Secret has no {key} (S3 needs AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY, optionally AWS_SESSION_TOKEN)",
                    reason="CredentialsInvalid",
                )
        settings["access_key_id"] = creds["AWS_ACCESS_KEY_ID"]
        settings["secret_access_key"] = creds["AWS_SECRET_ACCESS_KEY"]
        if creds.get("AWS_SESSION_TOKEN"):
            settings["session_token"] = creds["AWS_SESSION_TOKEN"]
    endpoint = config.endpoint or creds.get("AWS_ENDPOINT_URL") or ambient.get("AWS_ENDPOINT_URL")
    if endpoint:
        settings["endpoint"] = endpoint
        settings["virtual_hosted_style_request"] = False
    region = (
        config.region or creds.get("AWS_REGION")
        or ambient.get("AWS_REGION") or ambient.get("AWS_DEFAULT_REGION")
    )  # fmt: skip
    if region:
        settings["region"] = region
    store = S3Store(
        location.container, config=settings, client_options=_client_options(endpoint),
        retry_config=_RETRY,
    )  # fmt: skip
    # With checksum_algorithm=sha256 the server checks every part against the sha256 the
    # client computed from the bytes it sent, and rejects a mismatch.
    return ObstoreStore(
        store, f"s3://{location.container}", creds.values(), account=account_of("s3", config),
        part_size=max(part_size, S3_MIN_PART_SIZE), server_verifies=True,
    )  # fmt: skip


_AZURE_KEYS = (
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
)  # fmt: skip


def _connection_string(text: str) -> dict[str, str]:
    parts = (item.split("=", 1) for item in text.split(";") if "=" in item)
    return {name.strip(): value.strip() for name, value in parts}


def azure_store(location: Location, config: StoreConfig, part_size: int) -> ObstoreStore:
    """Keys (in the Secret, else the process environment, as the az CLI reads them):
    AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or
    AZURE_STORAGE_SAS_TOKEN. AZURE_STORAGE_ACCOUNT alone means: that account, with the
    process's Azure identity (Workload Identity: AZURE_CLIENT_ID, AZURE_TENANT_ID,
    AZURE_FEDERATED_TOKEN_FILE; or a managed identity)."""
    if config.credentials is None:
        creds = {key: os.environ[key] for key in _AZURE_KEYS if os.environ.get(key)}
    else:
        creds = dict(config.credentials)
    settings: AzureConfig = {}
    endpoint = config.endpoint
    if conn := creds.get("AZURE_STORAGE_CONNECTION_STRING"):
        fields = _connection_string(conn)
        creds.setdefault("AZURE_STORAGE_ACCOUNT", fields.get("AccountName", ""))
        creds.setdefault("AZURE_STORAGE_KEY", fields.get("AccountKey", ""))
        creds.setdefault("AZURE_STORAGE_SAS_TOKEN", fields.get("SharedAccessSignature", ""))
        endpoint = endpoint or fields.get("BlobEndpoint")
    if not creds.get("AZURE_STORAGE_ACCOUNT"):
        raise InvalidRequest(
            "no Azure storage account: set AZURE_STORAGE_ACCOUNT (or a connection string) in "
            "the credentials Secret, or in the operator's environment for workload identity",
            reason="CredentialsInvalid",
        )
    if account := creds.get("AZURE_STORAGE_ACCOUNT"):
        settings["account_name"] = account
    if key := creds.get("AZURE_STORAGE_KEY"):
        settings["account_key"] = key
    elif sas := creds.get("AZURE_STORAGE_SAS_TOKEN"):
        settings["sas_key"] = sas.lstrip("?")
    if endpoint:
        settings["endpoint"] = endpoint
    store = AzureStore(
        location.container, config=settings, client_options=_client_options(endpoint),
        retry_config=_RETRY,
    )  # fmt: skip
    return ObstoreStore(
        store,
        f"az://{location.container}",
        creds.values(),
        account=account_of("az", config),
        part_size=part_size,
    )


def http_store(location: Location, config: StoreConfig, part_size: int) -> ObstoreStore:
    """A read-only origin; the URL names one object (HTTP cannot list a prefix).

    `endpoint` (e.g. an internal mirror, or a local server in tests) replaces the URL's
    origin: https://downloads.example.com/a/b.iso with endpoint http://mirror:8080 is
    fetched from http://mirror:8080/a/b.iso.
    """
    if location.is_prefix:
        raise InvalidRequest(
            f"{location.url}: an https:// source must name one object, not a prefix"
        )
    origin = (config.endpoint or f"https://{location.container}").rstrip("/")
    store = HTTPStore.from_url(
        origin, client_options=_client_options(config.endpoint), retry_config=_RETRY
    )
    return ObstoreStore(store, f"https://{location.container}", part_size=part_size)
