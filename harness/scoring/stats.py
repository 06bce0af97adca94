"""Small statistics without numpy: percentiles, bootstrap CI, pass^k.

Percentiles use linear interpolation between closest ranks (numpy's default "linear"
method), so values agree with what users get from numpy/pandas on the same data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from math import comb

from harness.model.scorecard import Stat

BOOTSTRAP_SEED = 20240521
"""Fixed seed: re-scoring the same run must give byte-identical scorecards."""

BOOTSTRAP_RESAMPLES = 2000


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation; ``None`` for no values."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return float(data[0])
    pos = (len(data) - 1) * min(max(q, 0.0), 100.0) / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    frac = pos - lo
    return float(data[lo] + (data[hi] - data[lo]) * frac)


def bootstrap_ci(values: Sequence[float], *, confidence: float = 0.95,
                 resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """Percentile-bootstrap confidence interval of the mean, deterministic for a given input.

    With few repeats (typical chaos runs have 3-10) the interval is wide, which is the
    honest answer; with one value it collapses to that value.
    """
    if not values:
        return None
    data = [float(v) for v in values]
    if min(data) == max(data):
        return (data[0], data[0])
    rng = random.Random(seed)
    n = len(data)
    means = sorted(sum(rng.choices(data, k=n)) / n for _ in range(resamples))
    alpha = (1.0 - confidence) / 2.0
    lo = percentile(means, 100.0 * alpha)
    hi = percentile(means, 100.0 * (1.0 - alpha))
    assert lo is not None and hi is not None
    return (lo, hi)


def summarize(values: Sequence[float | None]) -> Stat:
    """``Stat`` (n, p50, p95, max, mean, bootstrap CI) over the measured values; ``None`` is skipped."""
    data = [float(v) for v in values if v is not None]
    if not data:
        return Stat()
    return Stat(
        n=len(data),
        p50=percentile(data, 50),
        p95=percentile(data, 95),
        max=max(data),
        mean=sum(data) / len(data),
        ci95=bootstrap_ci(data),
    )


def pass_k(successes: int, trials: int, k: int) -> float:
    """pass^k = C(successes, k) / C(trials, k): the chance that k repeats drawn without
    replacement all pass. Stricter than pass@k; 0 when k > successes."""
    if trials < 1 or k < 1 or k > trials:
        raise ValueError(f"pass^k needs 1 <= k <= trials, got k={k}, trials={trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be within 0..trials, got {successes}/{trials}")
    return comb(successes, k) / comb(trials, k)


def pass_k_table(successes: int, trials: int) -> dict[str, float]:
    """pass^k for every k from 1 to ``trials``, keyed by ``str(k)`` (JSON object keys)."""
    return {str(k): pass_k(successes, trials, k) for k in range(1, trials + 1)}
