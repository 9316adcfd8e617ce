from __future__ import annotations

from typing import Any

import pytest

from transfer_operator.api.quantity import parse_quantity
from transfer_operator.api.spec import SpecInvalid, parse_spec
from transfer_operator.engine import Overwrite

MINIMAL = {"source": {"url": "file:///data/a.bin"}, "destination": {"url": "file:///backup/"}}


def test_defaults_match_the_crd() -> None:
    spec = parse_spec(MINIMAL)
    assert spec.options.overwrite is Overwrite.IF_DIFFERENT
    assert spec.options.verify is True
    assert spec.options.delete_source is False
    assert spec.options.concurrency == 4
    assert spec.options.bandwidth_limit is None
    assert (spec.retry.max_attempts, spec.retry.initial_delay_seconds) == (5, 2)
    assert spec.retry.max_delay_seconds == 300
    assert spec.suspend is False


def test_full_spec() -> None:
    spec = parse_spec(
        {
            "source": {"url": "s3://raw/2026/", "credentialsSecretRef": {"name": "aws"},
                       "endpoint": "http://minio:9000", "region": "eu-west-1"},
            "destination": {"url": "gs://archive/2026/"},
            "include": ["*.gz"], "exclude": ["*.tmp"], "overwrite": "Always",
            "deleteSource": True, "bandwidthLimit": "50Mi", "concurrency": 8, "partSize": "16Mi",
            "retry": {"maxAttempts": 2, "initialDelaySeconds": 1, "maxDelaySeconds": 9},
        }
    )  # fmt: skip
    assert spec.source.credentials_secret == "aws"
    assert spec.source.endpoint == "http://minio:9000"
    assert spec.options.include == ("*.gz",)
    assert spec.options.bandwidth_limit == 50 * 2**20
    assert spec.options.part_size == 16 * 2**20
    assert spec.options.overwrite is Overwrite.ALWAYS
    assert spec.retry.max_attempts == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": {"url": "ftp://x/y"}}, "spec.source.url: unsupported URL scheme 'ftp'"),
        ({"source": None}, "spec.source.url is required"),
        (
            {"destination": {"url": "https://example.com/x"}},
            "https:// is supported as a source only",
        ),
        ({"destination": {"url": "file:///data/a.bin"}}, "must differ"),
        ({"retry": {"initialDelaySeconds": 60, "maxDelaySeconds": 10}}, "must not exceed"),
        ({"retry": {"maxAttempts": 0}}, "spec.retry.maxAttempts must be an integer from 1 to 100"),
        ({"overwrite": "Sometimes"}, "spec.overwrite must be one of"),
        ({"bandwidthLimit": "fast"}, "spec.bandwidthLimit: 'fast' is not a quantity"),
        ({"bandwidthLimit": 0}, "spec.bandwidthLimit must be positive"),
        ({"partSize": "64Ki"}, "spec.partSize must be from 262144 to 5368709120 bytes"),
        ({"deleteSource": True, "verify": False}, "deleteSource needs spec.verify"),
        ({"concurrency": 1000}, "spec.concurrency must be an integer from 1 to 64"),
        ({"include": "*.gz"}, "spec.include must be a list"),
        ({"source": {"url": "file://relative/path"}}, "must be absolute"),
        ({"source": {"url": "file:///a/../etc/passwd"}}, "must not contain '..'"),
    ],
)
def test_invalid_specs_name_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecInvalid) as caught:
        parse_spec({**MINIMAL, **change})
    assert message in caught.value.message
    assert caught.value.reason == "InvalidSpec" and not caught.value.retryable


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1048576", 1048576), ("50Mi", 50 * 2**20), ("1G", 10**9), ("1.5Ki", 1536), ("2e3", 2000),
     (123, 123), ("500k", 500_000)],
)  # fmt: skip
def test_quantities(text: str | int, expected: int) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "Mi", "5 MB", "-1", "1m", "ten"])
def test_bad_quantities(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text)
