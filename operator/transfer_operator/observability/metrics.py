"""Prometheus metrics. Labels stay low-cardinality: no request names, no URLs.

Per-request rates and ETAs live in `status.progress`; fleet-wide rates come from
`rate(transfer_operator_transferred_bytes_total[5m])`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

TRANSFERS = Counter(
    "transfer_operator_transfers_total",
    "TransferRequests that reached a terminal phase, by result.",
    ["result"],  # succeeded | failed | dead_lettered
)
ATTEMPTS = Counter(
    "transfer_operator_attempts_total",
    "Transfer attempts started.",
)
RETRIES = Counter(
    "transfer_operator_retries_total",
    "Attempts that failed with a retryable error and were scheduled again, by error reason.",
    ["reason"],
)
BYTES = Counter(
    "transfer_operator_transferred_bytes_total",
    "Bytes streamed from source to destination, by URL scheme pair.",
    ["source_scheme", "destination_scheme"],
)
OBJECTS = Counter(
    "transfer_operator_objects_total",
    "Objects handled by completed attempts: copied, or skipped as already identical.",
    ["outcome"],  # copied | skipped
)
DURATION = Histogram(
    "transfer_operator_attempt_duration_seconds",
    "Wall time of one transfer attempt, by outcome.",
    ["outcome"],  # succeeded | failed
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600),
)
IN_FLIGHT = Gauge(
    "transfer_operator_transfers_in_flight",
    "Transfer attempts running right now in this operator process.",
)
REQUESTS = Gauge(
    "transfer_operator_requests",
    "TransferRequests this operator watches, by phase (phase=DeadLettered: the dead-letter queue).",
    ["phase"],
)


def serve(port: int, address: str = "0.0.0.0") -> None:
    """Expose /metrics on its own port, beside kopf's liveness endpoint."""
    start_http_server(port, addr=address)
