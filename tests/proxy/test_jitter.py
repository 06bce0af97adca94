"""The jitter of the latency and http_delay toxics as a property of the delay function.

Wall-clock tests cannot show that jitter reaches *below* the latency on a loaded machine
(scheduling only adds delay), so the spread is checked on the pure delay computation, with
the random draw replaced by a chosen point of the interval it was asked for.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from harness.proxy.toxics import jittered_delay_ms

LATENCY = st.integers(0, 10_000)
JITTER = st.integers(1, 10_000)
FRACTION = st.floats(0.0, 1.0)


def at(fraction: float) -> Callable[[float, float], float]:
    """A stand-in for ``random.uniform`` that returns the point ``fraction`` of the way from lo to hi."""

    def uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * fraction

    return uniform


@given(latency=LATENCY, jitter=JITTER)
def test_the_extremes_are_latency_minus_and_plus_jitter(latency: int, jitter: int) -> None:
    assert jittered_delay_ms(latency, jitter, at(0.0)) == max(0.0, latency - jitter)
    assert jittered_delay_ms(latency, jitter, at(1.0)) == latency + jitter
    assert jittered_delay_ms(latency, jitter, at(0.5)) == latency  # centred on the setting


@given(jitter=JITTER, extra=st.integers(0, 10_000), fraction=FRACTION)
def test_the_spread_is_symmetric_around_the_latency(jitter: int, extra: int, fraction: float) -> None:
    """With latency >= jitter nothing is clamped: a draw and its mirror sit equally far on both sides."""
    latency = jitter + extra
    above = jittered_delay_ms(latency, jitter, at(fraction)) - latency
    below = jittered_delay_ms(latency, jitter, at(1.0 - fraction)) - latency
    assert abs(above + below) <= 1e-6 * max(1, latency)
    assert -jitter - 1e-9 <= above <= jitter + 1e-9


@given(latency=LATENCY, jitter=JITTER, fraction=FRACTION)
def test_never_negative(latency: int, jitter: int, fraction: float) -> None:
    assert jittered_delay_ms(latency, jitter, at(fraction)) >= 0.0


@given(latency=LATENCY)
def test_no_jitter_is_exactly_the_latency(latency: int) -> None:
    assert jittered_delay_ms(latency, 0, at(0.0)) == latency
    assert jittered_delay_ms(latency, 0, at(1.0)) == latency


def test_real_draws_fall_on_both_sides() -> None:
    """With the real uniform draw (seeded), about half the delays are below the latency."""
    rng = random.Random(1234)
    delays = [jittered_delay_ms(20, 4, rng.uniform) for _ in range(400)]
    below = sum(d < 20 for d in delays)
    assert 150 <= below <= 250, below  # binomial(400, 0.5): 5 sd either side
    assert min(delays) >= 16 and max(delays) <= 24
    assert min(delays) < 17 and max(delays) > 23  # the whole +-4 ms is used
