"""What a user's edit asks of a request: suspend, resume, re-drive. Pure and level-based.

Computed from the whole object on every watch event, so a missed or duplicated event
changes nothing: the answer depends only on what the object says now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from transfer_operator.api.machine import (
    DEAD_LETTER_LABEL,
    REDRIVE_ANNOTATION,
    Event,
    Redrive,
    Resume,
    Suspend,
)
from transfer_operator.api.status import ACTIVE, Phase, Status


def control_events(
    spec: Mapping[str, Any], annotations: Mapping[str, str], status: Status
) -> list[Event]:
    events: list[Event] = []
    token = annotations.get(REDRIVE_ANNOTATION)
    if token is not None and token != status.last_redrive:
        events.append(Redrive(token))
    suspend = spec.get("suspend") is True
    if suspend and (status.phase is None or status.phase in ACTIVE):
        events.append(Suspend())
    elif not suspend and status.phase is Phase.SUSPENDED:
        events.append(Resume())
    return events


def dead_letter_label(labels: Mapping[str, str], status: Status) -> dict[str, str | None] | None:
    """The label patch that makes `transfer.dev/dead-letter` match the phase, or None.

    The label is derived, not stored state: `kubectl get tr -l transfer.dev/dead-letter` is
    the dead-letter queue exactly while the phase is DeadLettered, even if the operator died
    between writing the phase and the label.
    """
    wanted = status.phase is Phase.DEAD_LETTERED
    if wanted == (DEAD_LETTER_LABEL in labels):
        return None
    return {DEAD_LETTER_LABEL: "true" if wanted else None}
