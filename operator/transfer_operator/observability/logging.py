"""One JSON object per line, for our own events and for kopf's stdlib log records alike.

Our code logs through structlog with `namespace`, `name`, `uid` and `attempt` bound. kopf
attaches the object it is working on to its records as the `k8s_ref` extra; the foreign
pre-chain lifts that into the same top-level `namespace`/`name`/`uid` keys, so one
`jq 'select(.uid == "...")'` follows a request through both.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger


def _lift_k8s_ref(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
    ref = event.pop("k8s_ref", None)
    if isinstance(ref, dict):
        for key in ("namespace", "name", "uid"):
            if ref.get(key) is not None:
                event.setdefault(key, ref[key])
    return event


def configure_logging(level: str = "INFO", stream: TextIO | None = None) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(allow=["k8s_ref"]), _lift_k8s_ref],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Probe and scrape requests are not events worth a line each.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def get_logger(**bound: Any) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.get_logger("transfer_operator").bind(**bound)
    return logger
