"""Boundaries the scores must get exactly right: SLO bounds are inclusive, pending work is not a failure."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from harness.model.scenario import Slo
from harness.model.scorecard import PhaseStats
from harness.scoring import score_run
from harness.scoring.phases import slo_verdicts
from tests.scoring.factory import JournalBuilder, RepeatPlan, add_repeat, run_end, run_start

VALUE = st.floats(0.0, 1e6, allow_nan=False)


@given(value=VALUE)
def test_a_value_on_the_min_bound_passes_and_just_below_fails(value: float) -> None:
    on = slo_verdicts([Slo(metric="availability", min=value)], {"all": PhaseStats(availability=value)})
    assert on[0].passed
    below = math.nextafter(value, -math.inf)
    off = slo_verdicts([Slo(metric="availability", min=value)], {"all": PhaseStats(availability=below)})
    assert not off[0].passed


@given(value=VALUE)
def test_a_value_on_the_max_bound_passes_and_just_above_fails(value: float) -> None:
    on = slo_verdicts([Slo(metric="p95_latency_ms", max=value)], {"all": PhaseStats(p95_latency_ms=value)})
    assert on[0].passed
    above = math.nextafter(value, math.inf)
    off = slo_verdicts([Slo(metric="p95_latency_ms", max=value)], {"all": PhaseStats(p95_latency_ms=above)})
    assert not off[0].passed


def _with_submits(outcomes: list[str]) -> JournalBuilder:
    b = JournalBuilder()
    run_start(b)
    end = add_repeat(b, RepeatPlan(workflows=outcomes, load_interval=None)).end
    wids = [e["workflow_id"] for e in b.events if e["kind"] == "workflow_submitted"]
    for i, wid in enumerate(wids):
        b.add("load_sample", 100.5 + i * 0.01, scenario="s1", repeat=0, name="submit", method="POST",
              status=202, latency_ms=20.0, ok=True, workflow_id=wid)
    run_end(b, end + 1)
    return b


@given(outcomes=st.lists(st.sampled_from(["completed", "failed", "pending", "missing"]), min_size=1, max_size=8))
def test_only_failed_or_lost_submits_count_as_failures(outcomes: list[str]) -> None:
    card = score_run(_with_submits(outcomes).run_data())
    bad = sum(o in ("failed", "missing") for o in outcomes)
    base = card.scenarios[0].repeats[0].phases["baseline"]
    assert base.requests == len(outcomes) and base.failures == bad
    assert card.availability == (len(outcomes) - bad) / len(outcomes)


def test_a_pending_workflow_leaves_availability_whole() -> None:
    card = score_run(_with_submits(["pending", "pending"]).run_data())
    assert card.availability == 1.0
    assert card.scenarios[0].repeats[0].phases["all"].availability == 1.0
