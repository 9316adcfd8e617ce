"""The one error type every layer raises for a failed transfer.

It lives outside `engine/` and `storage/` because both raise it and the state machine in
`api/` classifies outcomes by it: `retryable` decides between Retrying and Failed, and
`reason` becomes the CamelCase reason users see in `status.lastError` and conditions.
Messages must never contain credentials; adapters build them from URLs and OS errors only.
"""

from __future__ import annotations


class TransferError(Exception):
    """A failure with a stable machine reason and a human message."""

    reason: str = "TransferFailed"
    retryable: bool = True

    def __init__(
        self, message: str, *, reason: str | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        if retryable is not None:
            self.retryable = retryable


class NotFound(TransferError):
    reason = "NotFound"
    retryable = False


class AccessDenied(TransferError):
    reason = "AccessDenied"
    retryable = False


class InvalidRequest(TransferError):
    reason = "InvalidRequest"
    retryable = False


class ChecksumMismatch(TransferError):
    """The bytes that arrived are not the bytes that left; the destination was not kept."""

    reason = "ChecksumMismatch"
    retryable = True
