"""Logs: one JSON object per line, for our events and kopf's stdlib records alike."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from transfer_operator.observability.logging import configure_logging, get_logger


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    configure_logging("INFO", buffer)
    yield buffer
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_our_events_carry_the_bound_request_identity(stream: io.StringIO) -> None:
    get_logger(namespace="data", name="nightly", uid="u-1", attempt=2).info("attempt started")
    [line] = lines(stream)
    assert line["event"] == "attempt started"
    assert (line["namespace"], line["name"], line["uid"], line["attempt"]) == (
        "data", "nightly", "u-1", 2,
    )  # fmt: skip
    assert line["level"] == "info" and "timestamp" in line


def test_kopf_records_get_the_same_keys(stream: io.StringIO) -> None:
    ref = {"apiVersion": "transfer.dev/v1alpha1", "kind": "TransferRequest",
           "name": "nightly", "uid": "u-1", "namespace": "data"}  # fmt: skip
    logging.getLogger("kopf.objects").warning("Handler failed", extra={"k8s_ref": ref})
    [line] = lines(stream)
    assert line["event"] == "Handler failed"
    assert line["logger"] == "kopf.objects"
    assert (line["namespace"], line["name"], line["uid"]) == ("data", "nightly", "u-1")
    assert "k8s_ref" not in line


def test_exceptions_stay_on_one_line(stream: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        get_logger().exception("attempt failed unexpectedly")
    [line] = lines(stream)
    assert "ValueError: boom" in str(line["exception"])
