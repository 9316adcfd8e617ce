"""`gs://` through google-cloud-storage (the JSON API), run in worker threads.

obstore speaks GCS's XML API, which fake-gcs-server (the faithful emulator our tests use)
does not serve for writes; the official client works against both it and real GCS. Its
resumable upload makes the object visible only when the last chunk lands, GCS returns the
stored object's md5 so the upload is verified without reading it back, and metadata can
be patched afterwards, so the sha256 is recorded without knowing it up front.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import google.auth
from google.api_core import exceptions as gapi
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
from google.cloud import storage
from google.oauth2 import service_account

from transfer_operator.errors import ChecksumMismatch, InvalidRequest, TransferError
from transfer_operator.storage.base import ObjectInfo, sha256_of
from transfer_operator.storage.config import StoreConfig, account_of
from transfer_operator.storage.errors import classify
from transfer_operator.storage.url import Location

SHA256_METADATA = "sha256"
SERVICE_ACCOUNT_KEY = "service-account.json"
EMULATOR_HOST = "STORAGE_EMULATOR_HOST"  # what Google's own clients honour
_CHUNK_QUANTUM = 256 * 1024  # resumable upload chunks must be multiples of 256 KiB
_PERMANENT = (gapi.BadRequest, gapi.Conflict, gapi.PreconditionFailed, ValueError)
_DENIED = (gapi.Forbidden, gapi.Unauthorized, GoogleAuthError)


def _client(config: StoreConfig) -> tuple[storage.Client, tuple[str, ...]]:
    """Credentials: the Secret's `service-account.json`; else, with a custom endpoint and no
    Secret (an emulator, as STORAGE_EMULATOR_HOST means to Google's own clients), anonymous;
    else Application Default Credentials (GKE Workload Identity, the metadata server,
    GOOGLE_APPLICATION_CREDENTIALS)."""
    endpoint = config.endpoint
    if not endpoint and config.credentials is None and (host := os.environ.get(EMULATOR_HOST)):
        endpoint = host if "://" in host else f"http://{host}"
    options = {"api_endpoint": endpoint} if endpoint else None
    secrets: tuple[str, ...] = ()
    credentials: Any
    project: str | None = None
    if config.credentials is not None:
        key = config.credentials.get(SERVICE_ACCOUNT_KEY)
        if not key:
            raise InvalidRequest(
                f"the credentials Secret has no {SERVICE_ACCOUNT_KEY} (a service-account key)",
                reason="CredentialsInvalid",
            )
        try:
            info = json.loads(key)
            credentials = service_account.Credentials.from_service_account_info(
                info, scopes=["https://www.googleapis.com/auth/devstorage.read_write"]
            )
        except (ValueError, KeyError):
            raise InvalidRequest(
                f"{SERVICE_ACCOUNT_KEY} in the credentials Secret is not a service-account key",
                reason="CredentialsInvalid",
            ) from None
        project = info.get("project_id")
        secrets = (key, info.get("private_key", ""))
    elif endpoint:
        credentials, project = AnonymousCredentials(), "anonymous"
    else:
        try:
            credentials, project = google.auth.default()
        except DefaultCredentialsError:
            raise InvalidRequest(
                "no GCS credentials: give spec.*.credentialsSecretRef or run with "
                "Application Default Credentials (e.g. GKE Workload Identity)",
                reason="CredentialsMissing",
            ) from None
    client = storage.Client(
        project=project or "unknown", credentials=credentials, client_options=options
    )
    return client, secrets


class GCSStore:
    needs_sha256_upfront = False

    def __init__(self, location: Location, config: StoreConfig, part_size: int) -> None:
        self._client, self._secrets = _client(config)
        self._account = account_of("gs", config)
        self._bucket = self._client.bucket(location.container)
        self._base_url = f"gs://{location.container}/"
        self._part_size = max(_CHUNK_QUANTUM, part_size // _CHUNK_QUANTUM * _CHUNK_QUANTUM)

    def _error(self, exc: BaseException, key: str) -> TransferError:
        if isinstance(exc, gapi.NotFound):
            exc = FileNotFoundError(str(exc))
        return classify(
            exc, self._base_url + key, self._secrets, permanent=_PERMANENT, denied=_DENIED
        )

    async def _call(self, key: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except Exception as exc:
            raise self._error(exc, key) from None

    async def stat(self, key: str) -> ObjectInfo | None:
        blob = await self._call(key, self._bucket.get_blob, key)
        return None if blob is None else ObjectInfo(key=key, size=blob.size)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        pages = self._client.list_blobs(self._bucket, prefix=prefix or None, page_size=1000).pages
        while page := await self._call(prefix, next, pages, None):
            for blob in page:
                yield ObjectInfo(key=blob.name, size=blob.size)

    async def read(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        reader = await self._call(key, self._bucket.blob(key).open, "rb", chunk_size=chunk_size)
        try:
            while chunk := await self._call(key, reader.read, chunk_size):
                yield chunk
        finally:
            reader.close()

    async def known_sha256(self, key: str) -> str | None:
        blob = await self._call(key, self._bucket.get_blob, key)
        if blob is None:
            raise self._error(FileNotFoundError("no such object"), key)
        value = (blob.metadata or {}).get(SHA256_METADATA)
        return value if isinstance(value, str) else None

    async def sha256(self, key: str) -> str:
        return await self.known_sha256(key) or await sha256_of(self.read(key, self._part_size))

    async def open_upload(self, key: str, writer_id: str, sha256: str | None = None) -> GCSUpload:
        blob = self._bucket.blob(key)
        writer = await self._call(key, blob.open, "wb", chunk_size=self._part_size,
                                  ignore_flush=True)  # fmt: skip
        return GCSUpload(self, blob, writer)

    async def copy_to(self, key: str, destination: object, destination_key: str) -> bool:
        """Server-side (GCS rewrite) within the same account, across buckets too."""
        if not isinstance(destination, GCSStore) or destination._account != self._account:
            return False
        blob = self._bucket.blob(key)
        await self._call(key, self._bucket.copy_blob, blob, destination._bucket, destination_key)
        return True

    async def delete(self, key: str) -> None:
        with contextlib.suppress(gapi.NotFound):
            await asyncio.to_thread(self._bucket.blob(key).delete)

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)


class GCSUpload:
    """A resumable upload: nothing is visible until `commit` sends the last chunk."""

    def __init__(self, owner: GCSStore, blob: storage.Blob, writer: Any) -> None:
        self._owner = owner
        self._blob = blob
        self._writer = writer
        self._md5 = hashlib.md5(usedforsecurity=False)

    def _write(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        self._writer.write(chunk)

    async def write(self, chunk: bytes) -> None:
        await self._owner._call(self._blob.name, self._write, chunk)

    async def commit(self, sha256: str, *, verify: bool) -> None:
        key = self._blob.name
        await self._owner._call(key, self._writer.close)
        await self._owner._call(key, self._blob.reload)
        expected = base64.b64encode(self._md5.digest()).decode()
        if verify and self._blob.md5_hash != expected:
            await self._owner.delete(key)
            raise ChecksumMismatch(
                f"{self._owner._base_url}{key}: GCS stored md5 {self._blob.md5_hash}, "
                f"streamed {expected}; deleted"
            )
        self._blob.metadata = {**(self._blob.metadata or {}), SHA256_METADATA: sha256}
        await self._owner._call(key, self._blob.patch)

    async def abort(self) -> None:
        # terminate(), never close(): closing would finalize (publish) what was sent so far.
        # It cancels the resumable session; safe to call again after a commit.
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._writer.terminate)
