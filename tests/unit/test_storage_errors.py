"""Classifying and scrubbing storage errors (pure; the servers' real errors are covered by
tests/integration and tests/e2e)."""

from __future__ import annotations

import pytest

from transfer_operator.errors import AccessDenied, InvalidRequest, NotFound
from transfer_operator.storage.errors import classify, http_status, scrub


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Server returned non-2xx status code: 403 Forbidden: <Error>", 403),
        ("list request failed, status: 404", 404),
        ("HTTP status code 503", 503),
        ("error sending request for url (http://127.0.0.1:9/b)", None),
    ],
)
def test_http_status(text: str, status: int | None) -> None:
    assert http_status(text) == status


@pytest.mark.parametrize(
    ("message", "kind", "retryable", "reason"),
    [
        ("status code: 404 Not Found", NotFound, False, "NotFound"),
        ("status code: 403 Forbidden", AccessDenied, False, "AccessDenied"),
        ("status code: 400 Bad Request", InvalidRequest, False, "InvalidRequest"),
        ("status code: 429 Too Many Requests", Exception, True, "Throttled"),
        ("status code: 503 Service Unavailable", Exception, True, "ServerError"),
        ("error sending request: connection refused", Exception, True, "ConnectionError"),
        ("400 Bad Request: <Code>BadDigest</Code>", Exception, True, "ChecksumMismatch"),
    ],
)
def test_classification_by_status(
    message: str, kind: type[Exception], retryable: bool, reason: str
) -> None:
    error = classify(RuntimeError(message), "s3://bucket/key")
    assert isinstance(error, kind)
    assert (error.retryable, error.reason) == (retryable, reason)
    assert error.message.startswith("s3://bucket/key: ")


def test_typed_library_errors_win_over_the_text() -> None:
    class Denied(Exception):
        pass

    assert isinstance(classify(Denied("500"), "x", denied=(Denied,)), AccessDenied)
    assert isinstance(classify(FileNotFoundError("503"), "x"), NotFound)


def test_scrub_removes_query_strings_and_credential_values() -> None:
    sas = "sv=2024-01-01&sig=c2VjcmV0c2lnbmF0dXJl&se=2026"
    text = f"GET https://acct.blob.core.windows.net/c/b?{sas} failed\nwith key hunter2secret"
    cleaned = scrub(text, ["hunter2secret", "ab"])
    assert "sig=" not in cleaned and "hunter2secret" not in cleaned
    assert "https://acct.blob.core.windows.net/c/b?[query removed]" in cleaned
    assert "\n" not in cleaned


def test_scrub_bounds_the_length() -> None:
    assert len(scrub("x" * 10_000)) == 400
