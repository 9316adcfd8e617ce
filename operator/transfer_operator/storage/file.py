"""`file://` adapter: local directories, written atomically.

An upload streams into a hidden temporary file beside its destination, is fsynced, then
(optionally) re-hashed and renamed over the destination, and the directory is fsynced so
the rename survives a crash. Readers therefore see either the old file or the whole new one.
The verified sha256 is cached in an extended attribute together with the size and mtime it
describes, so later `IfDifferent` comparisons need not re-read unchanged files.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from transfer_operator.errors import AccessDenied, ChecksumMismatch, NotFound, TransferError
from transfer_operator.storage.base import ObjectInfo

PARTIAL_SUFFIX = ".transfer-partial"
_XATTR = "user.transfer.dev.sha256"
_HASH_BLOCK = 1 << 20


def _error(exc: OSError, path: Path) -> TransferError:
    """Map an OSError to a classified TransferError; the message names the path only."""
    detail = f"{exc.strerror or exc.__class__.__name__}: file://{path}"
    if isinstance(exc, FileNotFoundError):
        return NotFound(detail)
    if isinstance(exc, PermissionError):
        return AccessDenied(detail)
    if exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG, errno.EROFS):
        return TransferError(detail, reason="InvalidPath", retryable=False)
    # ENOSPC, EIO, EMFILE and friends may clear up: let the retry policy decide.
    return TransferError(detail, reason="IOError", retryable=True)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _cache_sha256(path: Path, sha256: str) -> None:
    """Remember the hash with the size and mtime it describes; skipped where xattrs are not."""
    st = path.stat()
    with contextlib.suppress(OSError):
        os.setxattr(path, _XATTR, f"{sha256}:{st.st_size}:{st.st_mtime_ns}".encode())


def _cached_sha256(path: Path) -> str | None:
    try:
        sha256, size, mtime = os.getxattr(path, _XATTR).decode().split(":")
        st = path.stat()
    except (OSError, ValueError):
        return None
    return sha256 if (int(size), int(mtime)) == (st.st_size, st.st_mtime_ns) else None


class FileUpload:
    def __init__(self, final: Path, writer_id: str) -> None:
        self._final = final
        self._temp = final.with_name(f".{final.name}.{writer_id}{PARTIAL_SUFFIX}")
        self._file = self._temp.open("wb")  # truncates what this writer left if it crashed

    async def write(self, chunk: bytes) -> None:
        try:
            await asyncio.to_thread(self._file.write, chunk)
        except OSError as exc:
            raise _error(exc, self._final) from None

    async def commit(self, sha256: str, *, verify: bool) -> None:
        try:
            await asyncio.to_thread(self._commit, sha256, verify)
        except OSError as exc:
            raise _error(exc, self._final) from None
        finally:
            await self.abort()

    def _commit(self, sha256: str, verify: bool) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        if verify and (actual := _hash_file(self._temp)) != sha256:
            raise ChecksumMismatch(
                f"file://{self._final}: wrote sha256 {actual}, expected {sha256}; not kept"
            )
        os.replace(self._temp, self._final)
        directory = os.open(self._final.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        _cache_sha256(self._final, sha256)

    async def abort(self) -> None:
        self._file.close()
        self._temp.unlink(missing_ok=True)


class FileStore:
    """Keys are absolute paths without their leading `/`."""

    needs_sha256_upfront = False

    @staticmethod
    def _path(key: str) -> Path:
        return Path("/" + key)

    async def stat(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            st = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _error(exc, path) from None
        if not path.is_file():
            return None
        return ObjectInfo(key=key, size=st.st_size)

    async def list(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        root = self._path(prefix)
        if not root.is_dir():
            raise NotFound(f"no such directory: file://{root}/")
        for info in await asyncio.to_thread(lambda: list(self._walk(root))):
            yield info

    def _walk(self, root: Path) -> Iterator[ObjectInfo]:
        def fail(exc: OSError) -> None:
            raise _error(exc, Path(exc.filename or root))

        for directory, _dirs, files in os.walk(root, onerror=fail):
            for name in files:
                if name.endswith(PARTIAL_SUFFIX):
                    continue
                path = Path(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    yield ObjectInfo(key=str(path).lstrip("/"), size=path.stat().st_size)

    async def read(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            f = await asyncio.to_thread(path.open, "rb")
        except OSError as exc:
            raise _error(exc, path) from None
        try:
            while chunk := await asyncio.to_thread(f.read, chunk_size):
                yield chunk
        except OSError as exc:
            raise _error(exc, path) from None
        finally:
            f.close()

    async def sha256(self, key: str) -> str:
        path = self._path(key)
        try:
            if cached := await asyncio.to_thread(_cached_sha256, path):
                return cached
            return await asyncio.to_thread(_hash_file, path)
        except OSError as exc:
            raise _error(exc, path) from None

    async def known_sha256(self, key: str) -> str | None:
        return await self.sha256(key)  # a local read costs no egress

    async def open_upload(self, key: str, writer_id: str, sha256: str | None = None) -> FileUpload:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
            return await asyncio.to_thread(FileUpload, path, writer_id)
        except OSError as exc:
            raise _error(exc, path) from None

    async def copy_to(self, key: str, destination: object, destination_key: str) -> bool:
        return False  # a local copy is a stream anyway; the engine's is verified and atomic

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise _error(exc, path) from None

    async def close(self) -> None:
        return None
