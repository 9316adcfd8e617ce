"""Turning a storage library's exception into a classified, scrubbed TransferError.

Every adapter funnels its failures through `classify`: permanent for what retrying cannot
fix (missing object or bucket, denied, malformed), retryable for the rest (throttling, 5xx,
connection trouble). Messages are cut to one line and scrubbed of URL query strings (SAS
tokens, presigned signatures) and of every credential value the store was given, so no
library's error text can carry a secret into status, Events or logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from transfer_operator.errors import (
    AccessDenied,
    ChecksumMismatch,
    InvalidRequest,
    NotFound,
    TransferError,
)

_QUERY = re.compile(r"(https?://[^\s?\"'<>]+)\?[^\s\"'<>]*")
# "403 Forbidden", "status: 404", "status code: 503": how libraries mention the HTTP status.
_STATUS = re.compile(r"\b([1-5]\d\d) [A-Z][a-z]+|status(?: code)?[:=]? ?([1-5]\d\d)\b", re.I)
_MAX_MESSAGE = 400
# S3's and Azure's words for "the body does not match the checksum that came with it".
_CORRUPTED = re.compile(r"BadDigest|InvalidDigest|XAmzContent\w*Mismatch|Md5Mismatch")


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    text = _QUERY.sub(r"\1?[query removed]", text)
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    line = " ".join(text.split())
    return line if len(line) <= _MAX_MESSAGE else line[: _MAX_MESSAGE - 1] + "…"


def http_status(text: str) -> int | None:
    """The HTTP status a library mentions in its message, e.g. '403 Forbidden'."""
    match = _STATUS.search(text)
    return int(match.group(1) or match.group(2)) if match else None


def by_status(status: int | None, message: str) -> TransferError:
    """Classify by HTTP status: 429/408/5xx and unknown (connection errors) are retryable."""
    if status == 404:
        return NotFound(message)
    if status in (401, 403):
        return AccessDenied(message)
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        return InvalidRequest(message)
    reason = "Throttled" if status == 429 else "ServerError" if status else "ConnectionError"
    return TransferError(message, reason=reason, retryable=True)


def classify(
    exc: BaseException,
    where: str,
    secrets: Iterable[str] = (),
    *,
    permanent: tuple[type[BaseException], ...] = (),
    denied: tuple[type[BaseException], ...] = (),
) -> TransferError:
    """A TransferError for `exc`, raised while working on `where` (a URL without secrets)."""
    if isinstance(exc, TransferError):
        return exc
    message = scrub(f"{where}: {exc}", secrets)
    if isinstance(exc, FileNotFoundError):
        return NotFound(message)
    if _CORRUPTED.search(str(exc)):
        # The server found the bytes it received differ from the checksum sent with them.
        return ChecksumMismatch(message)
    if isinstance(exc, denied):
        return AccessDenied(message)
    if isinstance(exc, permanent):
        return InvalidRequest(message)
    return by_status(http_status(str(exc)), message)
