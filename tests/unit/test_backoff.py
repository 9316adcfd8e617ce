from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transfer_operator.api.backoff import backoff_ceiling, full_jitter


@given(
    attempt=st.integers(1, 10_000),
    initial=st.floats(0, 3600),
    cap=st.floats(1, 86400),
    draw=st.floats(0, 1, exclude_max=True),
)
def test_full_jitter_stays_in_window(attempt: int, initial: float, cap: float, draw: float) -> None:
    delay = full_jitter(attempt, initial, cap, draw)
    assert 0 <= delay <= cap
    assert delay <= backoff_ceiling(attempt, initial, cap)


@given(attempt=st.integers(1, 200), initial=st.floats(0.001, 100), cap=st.floats(1, 86400))
def test_ceiling_grows_monotonically_to_the_cap(attempt: int, initial: float, cap: float) -> None:
    assert backoff_ceiling(attempt + 1, initial, cap) >= backoff_ceiling(attempt, initial, cap)
    assert backoff_ceiling(attempt, initial, cap) <= cap


def test_ceiling_doubles() -> None:
    assert [backoff_ceiling(n, 2, 300) for n in range(1, 10)] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        300,
    ]


@pytest.mark.parametrize("draw", [-0.1, 1.0])
def test_draw_out_of_range_is_rejected(draw: float) -> None:
    with pytest.raises(ValueError):
        full_jitter(1, 2, 10, draw)
