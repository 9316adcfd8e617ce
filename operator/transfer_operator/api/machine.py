"""The phase state machine: (status, event) -> transition. Pure and total.

Handlers in `controller/` only apply what this returns: the new status (patched to
`/status`) and the Event to post. The dead-letter label follows the phase (see
`api.control.dead_letter_label`), so it is reconciled from status rather than transitioned.
Events that make no sense in the current phase return the status unchanged, so a
duplicate or late watch event can never move a request backwards.

    (new) -> Pending -> Running -> Succeeded
                           |  \\-> Failed                (permanent error; no retry burned)
                           \\-> Retrying -> Running ...   (retryable; full-jitter backoff)
                                   \\-> DeadLettered      (maxAttempts reached)
    active <-> Suspended (spec.suspend);  terminal/Retrying -> Pending (re-drive annotation)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from transfer_operator.api.backoff import full_jitter
from transfer_operator.api.spec import RetryPolicy
from transfer_operator.api.status import (
    ACTIVE,
    TERMINAL,
    LastError,
    Phase,
    ProgressStatus,
    Status,
    format_time,
)

DEAD_LETTER_LABEL = "transfer.dev/dead-letter"
REDRIVE_ANNOTATION = "transfer.dev/redrive"


# ---- events -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    """The spec parsed; a new request enters the queue."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """The spec cannot be acted on (admission could not catch it)."""

    message: str


@dataclass(frozen=True, slots=True)
class Started:
    """An attempt begins (first run, or after a retry delay)."""


@dataclass(frozen=True, slots=True)
class Succeeded:
    progress: ProgressStatus
    checksum: str | None
    summary: str


@dataclass(frozen=True, slots=True)
class AttemptFailed:
    reason: str
    message: str
    retryable: bool
    draw: float  # uniform in [0, 1), for the jitter


@dataclass(frozen=True, slots=True)
class Suspend:
    pass


@dataclass(frozen=True, slots=True)
class Resume:
    pass


@dataclass(frozen=True, slots=True)
class Redrive:
    token: str


Event = Accepted | Rejected | Started | Succeeded | AttemptFailed | Suspend | Resume | Redrive


@dataclass(frozen=True, slots=True)
class Notice:
    """A Kubernetes Event to post: `type` is Normal or Warning."""

    type: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Transition:
    status: Status
    notice: Notice | None = None


# ---- the machine --------------------------------------------------------------------------


def transition(
    status: Status, event: Event, *, policy: RetryPolicy, generation: int, now: datetime
) -> Transition:
    """The next status after `event`; unchanged (no notice) when the event does not apply."""
    stamp = format_time(now)
    phase = status.phase
    base = replace(status, observed_generation=generation)

    match event:
        case Accepted() if phase is None:
            return Transition(
                _enter(base, Phase.PENDING, stamp, generation, "Queued", "waiting to start")
            )

        case Rejected(message) if phase is None or phase in ACTIVE:
            failed = replace(
                base,
                completion_time=stamp,
                next_retry_time=None,
                last_error=LastError("InvalidSpec", message, False, stamp),
            )
            failed = failed.with_condition(
                "SpecValid", False, "InvalidSpec", message, stamp, generation
            )
            return Transition(
                _enter(failed, Phase.FAILED, stamp, generation, "InvalidSpec", message),
                notice=Notice("Warning", "InvalidSpec", message),
            )

        case Started() if phase in (None, Phase.PENDING, Phase.RETRYING):
            attempt = status.attempts + 1
            running = replace(
                base,
                attempts=attempt,
                next_retry_time=None,
                completion_time=None,
                start_time=status.start_time or stamp,
                progress=ProgressStatus(),
            )
            message = f"attempt {attempt} of {policy.max_attempts}"
            return Transition(
                _enter(running, Phase.RUNNING, stamp, generation, "Copying", message),
                notice=Notice("Normal", "Started", message),
            )

        case Succeeded(progress, checksum, summary) if phase is Phase.RUNNING:
            done = replace(
                base,
                completion_time=stamp,
                progress=progress,
                checksum=checksum,
                last_error=None,
                next_retry_time=None,
            )
            return Transition(
                _enter(done, Phase.SUCCEEDED, stamp, generation, "Succeeded", summary),
                notice=Notice("Normal", "Succeeded", summary),
            )

        case AttemptFailed(reason, message, retryable, draw) if phase is Phase.RUNNING:
            error = LastError(reason, message, retryable, stamp)
            failed = replace(base, last_error=error)
            if not retryable:
                failed = replace(failed, completion_time=stamp)
                return Transition(
                    _enter(failed, Phase.FAILED, stamp, generation, reason, message),
                    notice=Notice("Warning", reason, message),
                )
            if status.attempts >= policy.max_attempts:
                text = f"gave up after {status.attempts} attempts; last error {reason}: {message}"
                dead = replace(failed, completion_time=stamp)
                return Transition(
                    _enter(dead, Phase.DEAD_LETTERED, stamp, generation, "RetriesExhausted", text),
                    notice=Notice("Warning", "DeadLettered", text),
                )
            delay = full_jitter(
                status.attempts, policy.initial_delay_seconds, policy.max_delay_seconds, draw
            )
            at = format_time(now + timedelta(seconds=delay))
            text = f"attempt {status.attempts} failed ({reason}: {message}); next attempt at {at}"
            waiting = replace(failed, next_retry_time=at)
            return Transition(
                _enter(waiting, Phase.RETRYING, stamp, generation, reason, text),
                notice=Notice("Warning", "Retrying", text),
            )

        case Suspend() if phase is None or phase in ACTIVE:
            # An attempt cut short by the user is not a failed attempt: give it back.
            attempts = status.attempts - 1 if phase is Phase.RUNNING else status.attempts
            suspended = replace(base, next_retry_time=None, attempts=attempts)
            return Transition(
                _enter(
                    suspended,
                    Phase.SUSPENDED,
                    stamp,
                    generation,
                    "Suspended",
                    "spec.suspend is true",
                ),
                notice=Notice("Normal", "Suspended", "spec.suspend is true"),
            )

        case Resume() if phase is Phase.SUSPENDED:
            return Transition(
                _enter(base, Phase.PENDING, stamp, generation, "Resumed", "spec.suspend is false"),
                notice=Notice("Normal", "Resumed", "spec.suspend is false"),
            )

        case Redrive(token) if token != status.last_redrive:
            if phase not in TERMINAL and phase is not Phase.RETRYING:
                # Nothing to re-drive (already queued, running or suspended): remember the token
                # so the same annotation value is not acted on later.
                return Transition(replace(status, last_redrive=token))
            fresh = replace(
                base,
                attempts=0,
                last_redrive=token,
                next_retry_time=None,
                completion_time=None,
                start_time=None,
                last_error=None,
                checksum=None,
                progress=ProgressStatus(),
            )
            fresh = fresh.with_condition("SpecValid", True, "Valid", "", stamp, generation)
            message = f"re-driven from {phase.value} ({REDRIVE_ANNOTATION}={token})"
            return Transition(
                _enter(fresh, Phase.PENDING, stamp, generation, "Redriven", message),
                notice=Notice("Normal", "Redriven", message),
            )

    return Transition(status)


def _enter(
    status: Status, phase: Phase, now: str, generation: int, reason: str, message: str
) -> Status:
    """Set `phase` and the conditions that describe it, all at once so they never disagree."""
    s = replace(status, phase=phase)
    ready = phase is Phase.SUCCEEDED
    progressing = phase in ACTIVE
    retrying = phase is Phase.RETRYING
    dead = phase is Phase.DEAD_LETTERED
    s = s.with_condition(
        "Ready",
        ready,
        reason if ready or not progressing else phase.value,
        message,
        now,
        generation,
    )
    s = s.with_condition(
        "Progressing", progressing, reason if progressing else phase.value, message, now, generation
    )
    s = s.with_condition(
        "Retrying",
        retrying,
        reason if retrying else "NotRetrying",
        message if retrying else "",
        now,
        generation,
    )
    s = s.with_condition(
        "DeadLettered",
        dead,
        "RetriesExhausted" if dead else "NotDeadLettered",
        message if dead else "",
        now,
        generation,
    )
    if s.condition("SpecValid") is None:
        s = s.with_condition("SpecValid", True, "Valid", "", now, generation)
    return s
