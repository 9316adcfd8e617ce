"""plan -> copy -> verify for one transfer attempt.

Each object streams source -> sha256 -> (bandwidth limiter) -> destination upload, in
chunks of `part_size`, so memory is about `part_size x concurrency` whatever the object
sizes. The upload becomes visible only at `commit`, after the store has checked the bytes
it holds against the streamed sha256; any failure or cancellation aborts it, so no partial
destination object is ever left behind. A later attempt re-plans and, under IfDifferent,
skips what an earlier attempt already delivered.
"""

from __future__ import annotations

import asyncio
import hashlib
import posixpath
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from transfer_operator.engine.filters import selected
from transfer_operator.engine.options import Overwrite, TransferOptions
from transfer_operator.engine.progress import Progress
from transfer_operator.engine.ratelimit import RateLimiter
from transfer_operator.errors import NotFound, TransferError
from transfer_operator.storage import Location, Store, StoreConfig, open_store, parse_url

StoreFactory = Callable[[Location, StoreConfig, int], Store]


@dataclass(frozen=True, slots=True)
class CopyItem:
    source_key: str
    destination_key: str
    size: int


@dataclass(frozen=True, slots=True)
class TransferResult:
    progress: Progress
    sha256: str | None  # of the one object, for single-object transfers


async def run_transfer(
    source_url: str,
    destination_url: str,
    options: TransferOptions,
    progress: Progress | None = None,
    *,
    source_config: StoreConfig | None = None,
    destination_config: StoreConfig | None = None,
    store_factory: StoreFactory = open_store,
) -> TransferResult:
    """Copy everything `source_url` names to `destination_url`; raise TransferError on failure."""
    source, destination = parse_url(source_url), parse_url(destination_url)
    progress = progress if progress is not None else Progress()
    source_store = store_factory(source, source_config or StoreConfig(), options.part_size)
    destination_store = store_factory(
        destination, destination_config or StoreConfig(), options.part_size
    )
    try:
        items = await plan(source, destination, source_store, options)
        progress.objects_total = len(items)
        progress.bytes_total = sum(item.size for item in items)
        copier = _Copier(source_store, destination_store, options, progress)
        await copier.run(items)
        single = not source.is_prefix
        return TransferResult(progress, copier.last_sha256 if single else None)
    finally:
        await source_store.close()
        await destination_store.close()


async def plan(
    source: Location, destination: Location, store: Store, options: TransferOptions
) -> list[CopyItem]:
    """The objects to consider, with their destination keys; comparison happens per object."""
    if not source.is_prefix:
        info = await store.stat(source.key)
        if info is None:
            raise NotFound(
                f"source {source.url} does not exist (end a prefix URL with /)",
                reason="SourceNotFound",
            )
        target = destination.key
        if destination.is_prefix:
            target += posixpath.basename(source.key)
        return [CopyItem(source.key, target, info.size)]
    target_prefix = destination.key if destination.is_prefix else destination.key + "/"
    items = []
    async for info in store.list(source.key):
        relative = info.key[len(source.key) :]
        if selected(relative, options.include, options.exclude):
            items.append(CopyItem(info.key, target_prefix + relative, info.size))
    items.sort(key=lambda item: item.source_key)
    return items


class _Copier:
    def __init__(
        self, source: Store, destination: Store, options: TransferOptions, progress: Progress
    ) -> None:
        self._source = source
        self._destination = destination
        self._options = options
        self._progress = progress
        self._limiter = RateLimiter(options.bandwidth_limit) if options.bandwidth_limit else None
        # Under a bandwidth limit, read slices of about a quarter second's worth, so bytes
        # flow (and progress moves) steadily instead of one part per many seconds.
        self._chunk_size = options.part_size
        if options.bandwidth_limit:
            self._chunk_size = max(16 * 1024, min(options.part_size, options.bandwidth_limit // 4))
        self._writer_id = options.writer_id or secrets.token_hex(8)
        self.last_sha256: str | None = None

    async def run(self, items: list[CopyItem]) -> None:
        queue: asyncio.Queue[CopyItem] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty():
                await self._one(queue.get_nowait())

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self._options.concurrency, len(items))):
                    group.create_task(worker())
        except ExceptionGroup as group_error:
            # The first failure cancels the rest; report that one, as a retry decides on it.
            raise group_error.exceptions[0] from None

    async def _one(self, item: CopyItem) -> None:
        skip, identical_sha256 = await self._should_skip(item)
        if skip:
            self._progress.objects_skipped += 1
            self.last_sha256 = identical_sha256
        elif await self._source.copy_to(item.source_key, self._destination, item.destination_key):
            # Bytes the provider copied itself are its own; the sha256 is what the source
            # recorded, if anything (reading the object back would defeat the point).
            self.last_sha256 = await self._source.known_sha256(item.source_key)
            self._progress.objects_copied += 1
            self._progress.objects_server_side += 1
            self._progress.bytes_done += item.size
        else:
            self.last_sha256 = await self._stream(item)
            self._progress.objects_copied += 1
        if self._options.delete_source and (not skip or identical_sha256):
            await self._source.delete(item.source_key)
        self._progress.objects_done += 1
        if skip:
            self._progress.bytes_done += item.size

    async def _should_skip(self, item: CopyItem) -> tuple[bool, str | None]:
        """(skip?, sha256 when the destination is known to hold identical content)."""
        overwrite = self._options.overwrite
        if overwrite is Overwrite.ALWAYS:
            return False, None
        existing = await self._destination.stat(item.destination_key)
        if existing is None:
            return False, None
        if overwrite is Overwrite.NEVER:
            return True, None
        if existing.size != item.size:
            return False, None
        source_sha, destination_sha = await asyncio.gather(
            self._source.sha256(item.source_key), self._destination.sha256(item.destination_key)
        )
        return (True, source_sha) if source_sha == destination_sha else (False, None)

    async def _stream(self, item: CopyItem) -> str:
        expected = None
        if self._destination.needs_sha256_upfront:
            expected = await self._source.known_sha256(item.source_key)
        upload = await self._destination.open_upload(
            item.destination_key, self._writer_id, expected
        )
        digest = hashlib.sha256()
        sent = 0
        try:
            async for chunk in self._source.read(item.source_key, self._chunk_size):
                if self._limiter:
                    await self._limiter.acquire(len(chunk))
                # hashlib drops the GIL on large buffers: hashing in a thread keeps the loop free.
                await asyncio.to_thread(digest.update, chunk)
                await upload.write(chunk)
                sent += len(chunk)
                self._progress.bytes_done += len(chunk)
            if sent != item.size or (expected and digest.hexdigest() != expected):
                raise TransferError(
                    f"source changed while copying: listed {item.size} bytes"
                    f"{f' with sha256 {expected}' if expected else ''}, read {sent} bytes "
                    f"with sha256 {digest.hexdigest()}",
                    reason="SourceChanged",
                )
            await upload.commit(digest.hexdigest(), verify=self._options.verify)
        except BaseException:
            self._progress.bytes_done -= sent
            await upload.abort()
            raise
        return digest.hexdigest()
