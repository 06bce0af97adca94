"""Statistics: percentiles, pass^k, bootstrap CI."""

from __future__ import annotations

from itertools import pairwise
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.scoring.stats import bootstrap_ci, pass_k, pass_k_table, percentile, summarize

floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def test_percentile_matches_numpy_linear_on_known_values() -> None:
    # numpy.percentile([1, 2, 3, 4], q) with the default "linear" method
    data = [4.0, 1.0, 3.0, 2.0]
    assert percentile(data, 0) == 1.0
    assert percentile(data, 50) == 2.5
    assert percentile(data, 95) == pytest.approx(3.85)
    assert percentile(data, 100) == 4.0
    assert percentile([], 50) is None


@pytest.mark.parametrize(("successes", "trials", "k", "expected"), [
    (10, 10, 3, 1.0),
    (0, 5, 1, 0.0),
    (4, 5, 1, 0.8),
    (4, 5, 2, 0.6),       # C(4,2)/C(5,2) = 6/10
    (3, 5, 2, 0.3),       # 3/10
    (3, 5, 4, 0.0),       # k > successes
    (8, 10, 3, 56 / 120),
])
def test_pass_k_known_values(successes: int, trials: int, k: int, expected: float) -> None:
    assert pass_k(successes, trials, k) == pytest.approx(expected)


def test_pass_k_rejects_impossible_inputs() -> None:
    with pytest.raises(ValueError):
        pass_k(3, 2, 1)
    with pytest.raises(ValueError):
        pass_k(1, 2, 3)


@settings(deadline=None)  # a shared 2-core box: timing is not what these check
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_pass_k_bounded_monotone_in_k(sn: tuple[int, int]) -> None:
    successes, trials = sn
    table = pass_k_table(successes, trials)
    values = [table[str(k)] for k in range(1, trials + 1)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values[0] == pytest.approx(successes / trials)
    assert all(a >= b - 1e-12 for a, b in pairwise(values))
    assert values[-1] == (1.0 if successes == trials else 0.0)
    k = max(1, trials // 2)
    assert table[str(k)] == pytest.approx(comb(successes, k) / comb(trials, k))


@settings(deadline=None)  # a shared 2-core box: timing is not what these check
@given(st.lists(floats, min_size=1, max_size=40), st.floats(0, 100))
def test_percentile_within_range_and_monotone(values: list[float], q: float) -> None:
    p = percentile(values, q)
    assert p is not None
    assert min(values) - 1e-6 <= p <= max(values) + 1e-6
    assert percentile(values, min(q + 10, 100)) >= p - 1e-6 * max(1.0, abs(p))


@settings(deadline=None)  # a shared 2-core box: timing is not what these check
@given(st.lists(floats, min_size=1, max_size=25))
def test_bootstrap_ci_deterministic_and_bounded(values: list[float]) -> None:
    ci = bootstrap_ci(values)
    assert ci == bootstrap_ci(list(values))  # fixed seed: re-scoring is reproducible
    assert ci is not None
    lo, hi = ci
    assert min(values) - 1e-6 <= lo <= hi <= max(values) + 1e-6


def test_bootstrap_ci_covers_the_mean_of_a_spread_sample() -> None:
    values = [1.0, 2.0, 2.5, 3.0, 4.0, 5.0, 2.2, 3.3]
    lo, hi = bootstrap_ci(values)
    mean = sum(values) / len(values)
    assert lo < mean < hi
    assert hi - lo < max(values) - min(values)


def test_summarize_skips_unmeasured() -> None:
    stat = summarize([None, 2.0, None, 4.0])
    assert stat.n == 2 and stat.p50 == 3.0 and stat.max == 4.0 and stat.mean == 3.0
    assert summarize([None]).n == 0 and summarize([None]).p50 is None
