"""The engine on real files in temporary directories."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from transfer_operator.engine import Overwrite, Progress, TransferOptions, run_transfer
from transfer_operator.errors import ChecksumMismatch, NotFound, TransferError
from transfer_operator.storage import Location, Store
from transfer_operator.storage.file import PARTIAL_SUFFIX, FileStore, FileUpload

SMALL_PARTS = TransferOptions(part_size=64 * 1024)


def url(path: Path, prefix: bool = False) -> str:
    return f"file://{path}{'/' if prefix else ''}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(PARTIAL_SUFFIX)]


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    src = tmp_path / "src" / "data.bin"
    src.parent.mkdir()
    src.write_bytes(os.urandom(1_000_003))  # not a multiple of the part size
    return src


async def test_single_file_copy_streams_and_reports_checksum(payload: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst" / "copy.bin"
    progress = Progress()
    result = await run_transfer(url(payload), url(dst), SMALL_PARTS, progress)
    assert dst.read_bytes() == payload.read_bytes()
    assert result.sha256 == sha256(payload)
    assert (progress.bytes_done, progress.bytes_total, progress.percent) == (1_000_003,) * 2 + (
        100,
    )
    assert (progress.objects_done, progress.objects_copied) == (1, 1)
    assert leftovers(tmp_path) == []


async def test_single_file_into_a_prefix_keeps_its_name(payload: Path, tmp_path: Path) -> None:
    await run_transfer(url(payload), url(tmp_path / "dst", prefix=True), SMALL_PARTS)
    assert (tmp_path / "dst" / "data.bin").read_bytes() == payload.read_bytes()


async def test_prefix_copy_is_recursive_and_filtered(tmp_path: Path) -> None:
    src = tmp_path / "src"
    files = {"a.gz": b"a", "b.tmp": b"b", "logs/c.gz": b"c", "logs/deep/d.gz": b"d", "e.txt": b"e"}
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    options = TransferOptions(include=("*.gz", "*.tmp"), exclude=("*.tmp", "logs/deep/**"))
    progress = Progress()
    result = await run_transfer(url(src, True), url(tmp_path / "dst", True), options, progress)
    assert tree(tmp_path / "dst") == {"a.gz": b"a", "logs/c.gz": b"c"}
    assert result.sha256 is None
    assert (progress.objects_total, progress.objects_done) == (2, 2)


async def test_missing_source_is_a_permanent_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound) as caught:
        await run_transfer(url(tmp_path / "nope"), url(tmp_path / "dst"), SMALL_PARTS)
    assert not caught.value.retryable
    assert caught.value.reason == "SourceNotFound"


@pytest.mark.parametrize(
    ("overwrite", "expect_copied"),
    [(Overwrite.NEVER, 0), (Overwrite.IF_DIFFERENT, 1), (Overwrite.ALWAYS, 2)],
)
async def test_overwrite_policies(tmp_path: Path, overwrite: Overwrite, expect_copied: int) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir(), dst.mkdir()
    (src / "same").write_bytes(b"identical")
    (dst / "same").write_bytes(b"identical")
    (src / "changed").write_bytes(b"new-data!")
    (dst / "changed").write_bytes(b"old-data!")  # same size, different bytes
    progress = Progress()
    options = TransferOptions(overwrite=overwrite)
    await run_transfer(url(src, True), url(dst, True), options, progress)
    assert progress.objects_copied == expect_copied
    assert progress.objects_copied + progress.objects_skipped == 2
    expected = b"old-data!" if overwrite is Overwrite.NEVER else b"new-data!"
    assert (dst / "changed").read_bytes() == expected


async def test_delete_source_only_after_verified_copy(payload: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst.bin"
    content = payload.read_bytes()
    await run_transfer(url(payload), url(dst), TransferOptions(delete_source=True))
    assert not payload.exists()
    assert dst.read_bytes() == content


class FlakyStore(FileStore):
    """Reads fail after `fail_after` chunks: a connection dropped mid-stream."""

    def __init__(self, fail_after: int) -> None:
        self.fail_after = fail_after

    async def read(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        count = 0
        async for chunk in super().read(key, chunk_size):
            if count == self.fail_after:
                raise TransferError("connection reset by peer", reason="ConnectionReset")
            count += 1
            yield chunk


async def test_failure_mid_stream_leaves_no_partial_destination_and_retry_succeeds(
    payload: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "dst" / "data.bin"
    flaky = FlakyStore(fail_after=3)
    progress = Progress()
    with pytest.raises(TransferError) as caught:
        await run_transfer(
            url(payload), url(dst), SMALL_PARTS, progress, store_factory=lambda *_: flaky
        )
    assert caught.value.retryable and caught.value.reason == "ConnectionReset"
    assert not dst.exists()
    assert leftovers(tmp_path) == []
    assert progress.bytes_done == 0  # what was streamed is not counted as delivered

    result = await run_transfer(url(payload), url(dst), SMALL_PARTS)  # the retry
    assert dst.read_bytes() == payload.read_bytes()
    assert result.sha256 == sha256(payload)


class CorruptingUpload(FileUpload):
    async def write(self, chunk: bytes) -> None:
        await super().write(chunk[:-1] + bytes([chunk[-1] ^ 0xFF]))


class CorruptingStore(FileStore):
    async def open_upload(self, key: str, writer_id: str, sha256: str | None = None) -> FileUpload:
        return CorruptingUpload(Path("/" + key), writer_id)


async def test_checksum_mismatch_keeps_nothing_and_is_retryable(
    payload: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "dst.bin"
    dst.write_bytes(b"previous version")
    stores: dict[str, Store] = {"src": FileStore(), "dst": CorruptingStore()}

    def factory(location: Location, *_: object) -> Store:
        return stores["src" if location.key == str(payload).lstrip("/") else "dst"]

    with pytest.raises(ChecksumMismatch) as caught:
        await run_transfer(url(payload), url(dst), SMALL_PARTS, store_factory=factory)
    assert caught.value.retryable
    assert dst.read_bytes() == b"previous version"  # the old file was never replaced
    assert leftovers(tmp_path) == []


async def test_cancellation_removes_temporary_files(payload: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst.bin"
    slow = TransferOptions(part_size=64 * 1024, bandwidth_limit=100_000)
    task = asyncio.create_task(run_transfer(url(payload), url(dst), slow))
    await asyncio.sleep(0.3)
    assert leftovers(tmp_path), "the copy should be under way"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(tmp_path) == [] and not dst.exists()


async def test_bandwidth_limit_slows_the_copy(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 * 2**20))
    started = time.monotonic()
    options = TransferOptions(part_size=256 * 1024, bandwidth_limit=2**20)
    await run_transfer(url(src), url(tmp_path / "dst.bin"), options)
    # one second of burst, then 1 MiB/s: at least ~2 s for 3 MiB
    assert time.monotonic() - started >= 1.8


async def test_a_restarted_writer_replaces_its_own_leftovers(payload: Path, tmp_path: Path) -> None:
    dst = tmp_path / "dst.bin"
    stale = tmp_path / f".dst.bin.request-uid{PARTIAL_SUFFIX}"
    stale.write_bytes(b"left by a writer killed with SIGKILL")
    options = TransferOptions(writer_id="request-uid")
    await run_transfer(url(payload), url(dst), options)
    assert leftovers(tmp_path) == []
    assert dst.read_bytes() == payload.read_bytes()


async def test_identical_destination_is_skipped_under_if_different(
    payload: Path, tmp_path: Path
) -> None:
    dst = tmp_path / "dst.bin"
    await run_transfer(url(payload), url(dst), SMALL_PARTS)
    inode = dst.stat().st_ino
    progress = Progress()
    result = await run_transfer(url(payload), url(dst), SMALL_PARTS, progress)
    assert (progress.objects_skipped, progress.objects_copied, progress.percent) == (1, 0, 100)
    assert dst.stat().st_ino == inode  # not rewritten
    assert result.sha256 == sha256(payload)
