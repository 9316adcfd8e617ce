"""Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").

Full jitter spreads retries of many requests that failed together (an outage of one
bucket) uniformly over the window instead of in synchronised waves.
"""

from __future__ import annotations

import math


def backoff_ceiling(attempt: int, initial: float, cap: float) -> float:
    """The window after failed attempt `attempt` (1-based): min(cap, initial * 2^(attempt-1))."""
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    # Compare exponents first so a large attempt number cannot overflow a float.
    if attempt - 1 >= 64:
        return cap
    return min(cap, math.ldexp(initial, attempt - 1))


def full_jitter(attempt: int, initial: float, cap: float, draw: float) -> float:
    """The delay for a uniform `draw` in [0, 1): somewhere in [0, ceiling)."""
    if not 0.0 <= draw < 1.0:
        raise ValueError("draw must be in [0, 1)")
    return draw * backoff_ceiling(attempt, initial, cap)
