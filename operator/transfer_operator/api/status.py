"""The status model: phase, counters, metav1-style conditions, and their wire form.

`Status.from_dict` / `to_dict` convert to and from the camelCase `.status` of the resource;
everything else works on the typed form. Times are RFC 3339 UTC strings on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    RETRYING = "Retrying"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    DEAD_LETTERED = "DeadLettered"
    SUSPENDED = "Suspended"


ACTIVE = frozenset({Phase.PENDING, Phase.RUNNING, Phase.RETRYING})
TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.DEAD_LETTERED})


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str = ""
    last_transition_time: str = ""
    observed_generation: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": self.last_transition_time,
            "observedGeneration": self.observed_generation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition:
        return cls(
            type=data["type"],
            status=data.get("status", "Unknown"),
            reason=data.get("reason", ""),
            message=data.get("message", ""),
            last_transition_time=data.get("lastTransitionTime", ""),
            observed_generation=data.get("observedGeneration", 0),
        )


@dataclass(frozen=True, slots=True)
class LastError:
    reason: str
    message: str
    retryable: bool
    time: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "message": self.message,
            "retryable": self.retryable,
            "time": self.time,
        }


@dataclass(frozen=True, slots=True)
class ProgressStatus:
    bytes_done: int = 0
    bytes_total: int = 0
    objects_done: int = 0
    objects_total: int = 0
    percent: int = 0
    bytes_per_second: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "bytesDone": self.bytes_done,
            "bytesTotal": self.bytes_total,
            "objectsDone": self.objects_done,
            "objectsTotal": self.objects_total,
            "percent": self.percent,
            "bytesPerSecond": self.bytes_per_second,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProgressStatus:
        return cls(
            bytes_done=data.get("bytesDone", 0),
            bytes_total=data.get("bytesTotal", 0),
            objects_done=data.get("objectsDone", 0),
            objects_total=data.get("objectsTotal", 0),
            percent=data.get("percent", 0),
            bytes_per_second=data.get("bytesPerSecond", 0),
        )


@dataclass(frozen=True, slots=True)
class Status:
    phase: Phase | None = None
    observed_generation: int = 0
    attempts: int = 0
    start_time: str | None = None
    completion_time: str | None = None
    next_retry_time: str | None = None
    progress: ProgressStatus = field(default_factory=ProgressStatus)
    checksum: str | None = None  # sha256 hex, single-object transfers
    last_error: LastError | None = None
    last_redrive: str | None = None
    conditions: tuple[Condition, ...] = ()

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)

    def with_condition(
        self, type_: str, status: bool, reason: str, message: str, now: str, generation: int
    ) -> Status:
        """Set one condition, keeping `lastTransitionTime` unless its status flips."""
        value = "True" if status else "False"
        old = self.condition(type_)
        since = old.last_transition_time if old and old.status == value else now
        new = Condition(type_, value, reason, message, since, generation)
        conditions = tuple(new if c.type == type_ else c for c in self.conditions)
        return replace(self, conditions=conditions if old else (*conditions, new))

    def to_dict(self) -> dict[str, Any]:
        """The full `.status`, with None for cleared fields so a merge-patch removes them."""
        return {
            "phase": self.phase.value if self.phase else None,
            "observedGeneration": self.observed_generation,
            "attempts": self.attempts,
            "startTime": self.start_time,
            "completionTime": self.completion_time,
            "nextRetryTime": self.next_retry_time,
            "progress": self.progress.to_dict(),
            "checksum": {"algorithm": "sha256", "value": self.checksum} if self.checksum else None,
            "lastError": self.last_error.to_dict() if self.last_error else None,
            "lastRedrive": self.last_redrive,
            "conditions": [c.to_dict() for c in self.conditions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Status:
        data = data or {}
        phase = data.get("phase")
        error = data.get("lastError")
        checksum = data.get("checksum") or {}
        return cls(
            phase=Phase(phase) if phase in {p.value for p in Phase} else None,
            observed_generation=data.get("observedGeneration", 0),
            attempts=data.get("attempts", 0),
            start_time=data.get("startTime"),
            completion_time=data.get("completionTime"),
            next_retry_time=data.get("nextRetryTime"),
            progress=ProgressStatus.from_dict(data.get("progress") or {}),
            checksum=checksum.get("value"),
            last_error=LastError(
                error.get("reason", ""),
                error.get("message", ""),
                bool(error.get("retryable")),
                error.get("time", ""),
            )
            if error
            else None,
            last_redrive=data.get("lastRedrive"),
            conditions=tuple(Condition.from_dict(c) for c in data.get("conditions") or ()),
        )
