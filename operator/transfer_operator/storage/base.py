"""The contract between the engine and every storage adapter.

Kept deliberately small: list, stat, stream a read, stream a write that becomes visible
only on `commit`, delete. Anything a backend can do better (server-side copy, provider
checksums) is an optional capability added when a backend needs it, not a wider protocol.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object (or file) as listed: its key within the store and its size in bytes."""

    key: str
    size: int


class Upload(Protocol):
    """A destination object being written; invisible to readers until `commit`."""

    async def write(self, chunk: bytes) -> None: ...

    async def commit(self, sha256: str, *, verify: bool) -> None:
        """Make the object visible atomically.

        With `verify`, the store first checks that what it holds hashes to `sha256` and
        raises `ChecksumMismatch` (leaving nothing visible) when it does not.
        """
        ...

    async def abort(self) -> None:
        """Discard everything written so far. Safe to call more than once."""
        ...


class Store(Protocol):
    """One bucket, container or directory tree, addressed by keys with `/` separators."""

    # True when metadata can only be attached as an upload starts (S3, Azure): the engine
    # then asks the source for `known_sha256` first, so the destination records it.
    needs_sha256_upfront: bool

    async def stat(self, key: str) -> ObjectInfo | None:
        """The object at `key`, or None when there is none."""
        ...

    def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, recursively, in no promised order."""
        ...

    def read(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        """The object's bytes in chunks of at most `chunk_size`."""
        ...

    async def sha256(self, key: str) -> str:
        """The object's sha256 (hex): recorded metadata when the store has it, else hashed."""
        ...

    async def known_sha256(self, key: str) -> str | None:
        """The sha256 if it is known without streaming the object over the network:
        recorded metadata, or (local files) a local hash. None otherwise."""
        ...

    async def open_upload(self, key: str, writer_id: str, sha256: str | None = None) -> Upload:
        """Start writing `key`, recording `sha256` as metadata when given. A crashed writer's
        leftovers under the same `writer_id` are replaced, never orphaned."""
        ...

    async def copy_to(self, key: str, destination: Store, destination_key: str) -> bool:
        """Copy server-side when `destination` is reachable from here (same provider and
        account); False when it is not, and the engine streams the bytes instead."""
        ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


async def sha256_of(chunks: AsyncIterator[bytes]) -> str:
    """Hash a stream; hashlib releases the GIL on large buffers, so it runs in a thread."""
    digest = hashlib.sha256()
    async for chunk in chunks:
        await asyncio.to_thread(digest.update, chunk)
    return digest.hexdigest()
