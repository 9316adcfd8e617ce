"""`spec` of a TransferRequest -> a typed, defaulted `TransferSpec`.

The CRD schema and CEL rules reject bad input at admission; this parser repeats the checks
that matter so an object admitted under an older CRD, or built by hand for the CLI, still
gets a precise `SpecValid=False` message instead of a crash mid-transfer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from transfer_operator.api.quantity import parse_quantity
from transfer_operator.engine import Overwrite, TransferOptions
from transfer_operator.errors import InvalidRequest, TransferError
from transfer_operator.storage import parse_url
from transfer_operator.storage.config import DEFAULT_PART_SIZE

MIN_PART_SIZE = 256 * 1024
MAX_PART_SIZE = 5 * 1024**3


class SpecInvalid(InvalidRequest):
    reason = "InvalidSpec"


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    credentials_secret: str | None = None
    endpoint: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_delay_seconds: int = 2
    max_delay_seconds: int = 300


@dataclass(frozen=True, slots=True)
class TransferSpec:
    source: Endpoint
    destination: Endpoint
    options: TransferOptions
    retry: RetryPolicy
    suspend: bool = False


def _int(data: Mapping[str, Any], key: str, default: int, low: int, high: int, path: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecInvalid(f"{path}.{key} must be an integer from {low} to {high}, got {value!r}")
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise SpecInvalid(f"spec.{key} must be true or false, got {value!r}")
    return value


def _globs(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecInvalid(f"spec.{key} must be a list of non-empty glob strings")
    return tuple(value)


def _quantity(
    spec: Mapping[str, Any], key: str, default: int | None, low: int, high: int | None
) -> int | None:
    value = spec.get(key)
    if value is None:
        return default
    try:
        amount = parse_quantity(value)
    except ValueError as exc:
        raise SpecInvalid(f"spec.{key}: {exc}") from None
    if amount < low or (high is not None and amount > high):
        bounds = f"from {low} to {high} bytes" if high else "positive"
        raise SpecInvalid(f"spec.{key} must be {bounds}, got {value!r}")
    return amount


def _endpoint(data: Any, path: str) -> Endpoint:
    if not isinstance(data, Mapping) or not isinstance(data.get("url"), str):
        raise SpecInvalid(f"{path}.url is required")
    try:
        parse_url(data["url"])
    except TransferError as exc:
        raise SpecInvalid(f"{path}.url: {exc.message}") from None
    secret = data.get("credentialsSecretRef") or {}
    return Endpoint(
        url=data["url"],
        credentials_secret=secret.get("name") if isinstance(secret, Mapping) else None,
        endpoint=data.get("endpoint"),
        region=data.get("region"),
    )


def parse_spec(spec: Mapping[str, Any]) -> TransferSpec:
    """Parse and default; raise SpecInvalid naming the offending field."""
    source = _endpoint(spec.get("source"), "spec.source")
    destination = _endpoint(spec.get("destination"), "spec.destination")
    if source.url == destination.url:
        raise SpecInvalid("spec.source.url and spec.destination.url must differ")
    if destination.url.startswith("https://"):
        raise SpecInvalid("spec.destination.url: https:// is supported as a source only")

    retry_data = spec.get("retry") or {}
    retry = RetryPolicy(
        max_attempts=_int(retry_data, "maxAttempts", 5, 1, 100, "spec.retry"),
        initial_delay_seconds=_int(retry_data, "initialDelaySeconds", 2, 0, 3600, "spec.retry"),
        max_delay_seconds=_int(retry_data, "maxDelaySeconds", 300, 1, 86400, "spec.retry"),
    )
    if retry.initial_delay_seconds > retry.max_delay_seconds:
        raise SpecInvalid(
            "spec.retry.initialDelaySeconds must not exceed spec.retry.maxDelaySeconds"
        )

    overwrite = spec.get("overwrite", Overwrite.IF_DIFFERENT.value)
    if overwrite not in {o.value for o in Overwrite}:
        raise SpecInvalid(
            f"spec.overwrite must be one of Never, IfDifferent, Always, got {overwrite!r}"
        )

    bandwidth_limit = _quantity(spec, "bandwidthLimit", None, 1, None)
    part_size = _quantity(spec, "partSize", DEFAULT_PART_SIZE, MIN_PART_SIZE, MAX_PART_SIZE)

    verify = _bool(spec, "verify", True)
    delete_source = _bool(spec, "deleteSource", False)
    if delete_source and not verify:
        raise SpecInvalid("spec.deleteSource needs spec.verify: true")

    options = TransferOptions(
        include=_globs(spec, "include"),
        exclude=_globs(spec, "exclude"),
        overwrite=Overwrite(overwrite),
        verify=verify,
        delete_source=delete_source,
        bandwidth_limit=bandwidth_limit,
        concurrency=_int(spec, "concurrency", 4, 1, 64, "spec"),
        part_size=part_size or DEFAULT_PART_SIZE,
    )
    return TransferSpec(source, destination, options, retry, _bool(spec, "suspend", False))
