"""The phase state machine: each documented transition, and invariants under random events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from transfer_operator.api.control import control_events, dead_letter_label
from transfer_operator.api.machine import (
    Accepted,
    AttemptFailed,
    Event,
    Redrive,
    Rejected,
    Resume,
    Started,
    Succeeded,
    Suspend,
    Transition,
    transition,
)
from transfer_operator.api.spec import RetryPolicy
from transfer_operator.api.status import ACTIVE, TERMINAL, Phase, ProgressStatus, Status, parse_time

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=3, initial_delay_seconds=2, max_delay_seconds=10)
DONE = Succeeded(ProgressStatus(10, 10, 1, 1, 100, 5), "ab" * 32, "copied 1 object")


def step(status: Status, event: Event, policy: RetryPolicy = POLICY) -> Transition:
    return transition(status, event, policy=policy, generation=1, now=NOW)


def run(*events: Event, policy: RetryPolicy = POLICY) -> Transition:
    result = Transition(Status())
    for event in events:
        result = step(result.status, event, policy)
    return result


def fail(retryable: bool = True, draw: float = 0.5) -> AttemptFailed:
    return AttemptFailed("IOError", "disk hiccup", retryable, draw)


def conditions(status: Status) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_happy_path_sets_phase_conditions_and_checksum() -> None:
    result = run(Accepted(), Started(), DONE)
    status = result.status
    assert status.phase is Phase.SUCCEEDED
    assert status.attempts == 1
    assert status.checksum == "ab" * 32
    assert status.progress.percent == 100
    assert status.completion_time == "2026-11-27T12:00:00Z"
    assert conditions(status) == {
        "Ready": ("True", "Succeeded"),
        "Progressing": ("False", "Succeeded"),
        "Retrying": ("False", "NotRetrying"),
        "DeadLettered": ("False", "NotDeadLettered"),
        "SpecValid": ("True", "Valid"),
    }
    assert result.notice is not None and result.notice.type == "Normal"


def test_retryable_failure_schedules_a_retry_within_the_jitter_window() -> None:
    result = run(Accepted(), Started(), fail(draw=0.5))
    status = result.status
    assert status.phase is Phase.RETRYING
    assert status.last_error is not None and status.last_error.reason == "IOError"
    retry_at = parse_time(status.next_retry_time)
    assert retry_at == NOW + timedelta(seconds=1)  # 0.5 x min(10, 2 * 2**0)
    assert conditions(status)["Retrying"] == ("True", "IOError")
    assert result.notice is not None and result.notice.reason == "Retrying"


def test_retry_then_success_counts_attempts() -> None:
    status = run(Accepted(), Started(), fail(), Started(), DONE).status
    assert (status.phase, status.attempts, status.last_error) == (Phase.SUCCEEDED, 2, None)


def test_permanent_error_fails_without_burning_retries() -> None:
    result = run(Accepted(), Started(), AttemptFailed("AccessDenied", "no", False, 0.1))
    assert result.status.phase is Phase.FAILED
    assert result.status.attempts == 1
    assert result.status.next_retry_time is None
    assert conditions(result.status)["Ready"] == ("False", "AccessDenied")
    assert result.notice is not None and result.notice.type == "Warning"


def test_exhausted_retries_dead_letter_with_a_warning() -> None:
    result = run(Accepted(), Started(), fail(), Started(), fail(), Started(), fail())
    assert result.status.phase is Phase.DEAD_LETTERED
    assert result.status.attempts == 3
    assert conditions(result.status)["DeadLettered"] == ("True", "RetriesExhausted")
    assert result.notice is not None
    assert (result.notice.type, result.notice.reason) == ("Warning", "DeadLettered")
    assert "gave up after 3 attempts" in result.notice.message


def test_redrive_from_dead_letter_resets_attempts() -> None:
    dead = run(Accepted(), Started(), fail(), Started(), fail(), Started(), fail()).status
    result = step(dead, Redrive("1"))
    assert result.status.phase is Phase.PENDING
    assert result.status.attempts == 0
    assert result.status.last_redrive == "1"
    assert conditions(result.status)["DeadLettered"] == ("False", "NotDeadLettered")
    # The same token again is a no-op; a new one on a pending request only records it.
    assert step(result.status, Redrive("1")).status == result.status
    assert step(result.status, Redrive("2")).status.phase is Phase.PENDING


def test_redrive_of_failed_spec_revalidates() -> None:
    failed = run(Rejected("spec.source.url: bad")).status
    assert conditions(failed)["SpecValid"] == ("False", "InvalidSpec")
    redriven = step(failed, Redrive("x")).status
    assert conditions(redriven)["SpecValid"] == ("True", "Valid")


def test_suspend_and_resume() -> None:
    suspended = run(Accepted(), Started(), Suspend()).status
    assert suspended.phase is Phase.SUSPENDED
    assert conditions(suspended)["Progressing"] == ("False", "Suspended")
    resumed = step(suspended, Resume()).status
    assert resumed.phase is Phase.PENDING
    assert step(resumed, Started()).status.attempts == 1  # the interrupted attempt is given back


def test_terminal_phases_ignore_run_events() -> None:
    done = run(Accepted(), Started(), DONE).status
    for event in (Accepted(), Started(), DONE, fail(), Suspend(), Resume(), Rejected("x")):
        assert step(done, event) == Transition(done)


def test_last_transition_time_moves_only_when_status_flips() -> None:
    pending = run(Accepted()).status
    later = NOW + timedelta(minutes=5)
    running = transition(pending, Started(), policy=POLICY, generation=1, now=later).status
    ready_before = pending.condition("Ready")
    ready_after = running.condition("Ready")
    assert ready_before and ready_after
    assert ready_after.last_transition_time == ready_before.last_transition_time
    assert ready_after.reason == "Running"


# ---- properties ---------------------------------------------------------------------------

events = st.one_of(
    st.just(Accepted()),
    st.builds(Rejected, st.text(max_size=5)),
    st.just(Started()),
    st.just(DONE),
    st.builds(
        AttemptFailed,
        st.sampled_from(["IOError", "AccessDenied"]),
        st.text(max_size=5),
        st.booleans(),
        st.floats(min_value=0, max_value=1, exclude_max=True),
    ),
    st.just(Suspend()),
    st.just(Resume()),
    st.builds(Redrive, st.sampled_from(["a", "b", "c"])),
)
policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 6),
    initial_delay_seconds=st.integers(0, 50),
    max_delay_seconds=st.integers(50, 500),
)


@settings(max_examples=400)
@given(st.lists(events, max_size=40), policies)
def test_invariants_hold_for_any_event_sequence(stream: list[Event], policy: RetryPolicy) -> None:
    status = Status()
    for event in stream:
        result = transition(status, event, policy=policy, generation=1, now=NOW)
        new = result.status
        # attempts never exceed the policy, and only Started raises them, by one
        assert 0 <= new.attempts <= policy.max_attempts
        if new.attempts > status.attempts:
            assert isinstance(event, Started) and new.attempts == status.attempts + 1
        # a Succeeded request never leaves Succeeded except by an explicit re-drive
        if status.phase is Phase.SUCCEEDED and new.phase is not Phase.SUCCEEDED:
            assert isinstance(event, Redrive)
        if new.phase is not None:
            ready = new.condition("Ready")
            assert ready and (ready.status == "True") == (new.phase is Phase.SUCCEEDED)
            progressing = new.condition("Progressing")
            assert progressing and (progressing.status == "True") == (new.phase in ACTIVE)
            dead = new.condition("DeadLettered")
            assert dead and (dead.status == "True") == (new.phase is Phase.DEAD_LETTERED)
            assert len({c.type for c in new.conditions}) == len(new.conditions)
        # a retry is scheduled exactly in Retrying, never past the cap
        assert (new.next_retry_time is not None) == (new.phase is Phase.RETRYING)
        if new.phase is Phase.RETRYING and new is not status:
            delay = parse_time(new.next_retry_time) - NOW  # type: ignore[operator]
            assert timedelta(0) <= delay <= timedelta(seconds=policy.max_delay_seconds)
        if new.phase in TERMINAL:
            assert new.completion_time is not None
        # the wire form round-trips
        assert Status.from_dict(new.to_dict()) == new
        status = new


def test_dead_letter_label_follows_the_phase() -> None:
    dead = run(Accepted(), Started(), fail(), Started(), fail(), Started(), fail()).status
    label = "transfer.dev/dead-letter"
    assert dead_letter_label({}, dead) == {label: "true"}
    assert dead_letter_label({label: "true"}, dead) is None
    redriven = step(dead, Redrive("1")).status
    assert dead_letter_label({label: "true"}, redriven) == {label: None}
    assert dead_letter_label({}, redriven) is None


def test_control_events_from_user_edits() -> None:
    running = run(Accepted(), Started()).status
    assert control_events({"suspend": True}, {}, running) == [Suspend()]
    assert control_events({}, {}, running) == []
    suspended = step(running, Suspend()).status
    assert control_events({"suspend": False}, {}, suspended) == [Resume()]
    assert control_events({}, {"transfer.dev/redrive": "7"}, suspended) == [Redrive("7"), Resume()]
    recorded = step(suspended, Redrive("7")).status
    assert control_events({"suspend": True}, {"transfer.dev/redrive": "7"}, recorded) == []
