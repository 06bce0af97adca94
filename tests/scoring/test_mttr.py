"""MTTD/MTTR against a synthetic ground truth, and the "no impact" / "not recovered" rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.scoring import score_run
from harness.scoring.faults import ProbeObs, first_failure, restored_at, steady_after
from tests.scoring.factory import JournalBuilder, RepeatPlan, add_repeat, run_end, run_start


def _score(plan: RepeatPlan):
    b = JournalBuilder()
    run_start(b)
    truth = add_repeat(b, plan)
    run_end(b, truth.end + 1)
    return score_run(b.run_data()), truth


@settings(max_examples=60, deadline=None)
@given(
    interval=st.sampled_from([0.1, 0.25, 0.5, 1.0]),
    impact_delay=st.floats(0.0, 2.5),
    outage_extra=st.floats(0.0, 4.0),
    probes=st.sampled_from([("api",), ("api", "workflow")]),
)
def test_mttr_within_one_probe_interval_of_truth(interval: float, impact_delay: float, outage_extra: float,
                                                 probes: tuple[str, ...]) -> None:
    outage = interval + outage_extra  # at least one probe interval long, so probes must see it
    start = 100.0
    inject_at = start + 2.0
    down = (inject_at + impact_delay, inject_at + impact_delay + outage)
    plan = RepeatPlan(start=start, probe_interval=interval, probes=probes, outage=down, stable_for=1.0,
                      durations={"baseline": 2.0, "inject": 4.0, "observe": 0.0, "revert": 0.5, "recover": 8.0})
    card, truth = _score(plan)
    fault = card.scenarios[0].repeats[0].faults[0]
    assert fault.impact
    true_mttd = down[0] - truth.t0
    true_mttr = down[1] - down[0]
    assert fault.mttd_s is not None and fault.mttr_s is not None
    assert 0.0 <= fault.mttd_s - true_mttd < interval + 1e-9
    ok_latency = 0.002  # a success counts when its answer arrives, 2 ms after it was sent
    assert abs(fault.mttr_s - true_mttr) < interval + ok_latency + 1e-9
    assert fault.recovered
    assert fault.recovery_after_revert_s == pytest.approx(max(0.0, fault.mttr_s + fault.mttd_s
                                                               + truth.t0 - truth.t2))
    assert card.run.probe_interval_s == interval


def test_measured_error_on_reference_case() -> None:
    """Reference numbers for the closing note: 0.25 s probes, outage 2.30 s starting 1.05 s in."""
    card, _ = _score(RepeatPlan(probe_interval=0.25, outage=(103.05, 105.35)))
    fault = card.scenarios[0].repeats[0].faults[0]
    assert fault.mttd_s == pytest.approx(1.25)   # truth 1.05: first failed probe sent at 103.25
    assert fault.mttr_s == pytest.approx(2.252)  # truth 2.30: 103.25 -> answer at 105.502
    assert abs(fault.mttr_s - 2.30) <= 0.25


@settings(max_examples=40, deadline=None)
@given(interval=st.sampled_from([0.1, 0.25, 0.5]), load=st.booleans())
def test_fault_without_impact_never_yields_mttr(interval: float, load: bool) -> None:
    card, _ = _score(RepeatPlan(probe_interval=interval, outage=None, load_interval=0.5 if load else None))
    fault = card.scenarios[0].repeats[0].faults[0]
    assert fault.impact is False
    assert fault.mttd_s is None and fault.mttr_s is None and fault.recovery_after_revert_s is None
    assert fault.recovered
    assert card.mttr.n == 0 and card.mttr.p50 is None
    assert card.verdict == "pass"
    assert card.resilience_score == 100.0


def test_not_recovered_by_the_end_is_listed_and_fails() -> None:
    card, _ = _score(RepeatPlan(outage=(103.0, 1e9)))
    rep = card.scenarios[0].repeats[0]
    fault = rep.faults[0]
    assert fault.impact and fault.mttd_s == pytest.approx(1.0)
    assert fault.recovered is False and fault.mttr_s is None and fault.recovery_after_revert_s is None
    assert rep.passed is False and card.verdict == "fail"
    assert card.mttr.n == 0 and card.mttd.n == 1


def test_recovery_needs_stable_for_window() -> None:
    # A 0.5 s blip of health inside the outage must not count as restored when stable_for is 1 s.
    series = [ProbeObs(t / 4, "api", ok) for t, ok in enumerate(
        [True] * 4 + [False] * 4 + [True] * 2 + [False] * 4 + [True] * 12)]
    assert restored_at(series, since=1.0, stable_for=1.0, until=series[-1].t) == pytest.approx(3.5)
    # observed for too short a time after the last failure -> not restored
    assert restored_at(series[:16], since=1.0, stable_for=1.0, until=series[15].t) is None
    assert steady_after(series, 1.0, series[-1].t)
    assert not steady_after(series[:16], 1.0, series[15].t)


def test_slo_breach_alone_counts_as_impact() -> None:
    # Probes stay green but the inject-phase availability SLO is breached: impact, detected at T0.
    plan = RepeatPlan(outage=None, slos=[{"metric": "availability", "phase": "inject", "min": 0.99}])
    b = JournalBuilder()
    run_start(b)
    truth = add_repeat(b, plan)
    for ev in b.events:
        if ev["kind"] == "load_sample" and ev.get("phase") == "inject":
            ev["ok"], ev["status"] = False, 503
    card = score_run(b.run_data())
    rep = card.scenarios[0].repeats[0]
    fault = rep.faults[0]
    assert rep.slos[0].passed is False and rep.slos[0].actual == 0.0
    assert fault.impact and fault.mttd_s == 0.0
    assert fault.mttr_s is not None and 0.0 <= fault.mttr_s <= plan.probe_interval
    assert rep.passed is False and truth.t0 == fault.injected_at


@pytest.mark.parametrize("timeout_ms", [5.0, 500.0, 2000.0, 8000.0])
def test_slow_failing_probes_are_timed_when_sent(timeout_ms: float) -> None:
    """A failed probe is journaled at its timeout, seconds late; MTTD/MTTR use the send time,
    so the error stays within one probe interval however long the timeout is."""
    card, _ = _score(RepeatPlan(probe_interval=0.25, probe_timeout_ms=timeout_ms, outage=(103.05, 105.35),
                                durations={"baseline": 2.0, "inject": 4.0, "observe": 0.0, "revert": 0.5,
                                           "recover": 12.0}))
    fault = card.scenarios[0].repeats[0].faults[0]
    assert fault.mttd_s == pytest.approx(1.25)
    assert fault.mttr_s == pytest.approx(2.252)


def test_a_probe_in_flight_when_the_fault_began_counts_at_t0() -> None:
    # sent 2 ms before the fault, frozen by it, failed after: impact at T0, not "no impact"
    series = [ProbeObs(9.5, "api", True, 9.51), ProbeObs(9.998, "api", False, 11.0),
              ProbeObs(12.0, "api", True, 12.01)]
    assert first_failure(series, 10.0) == pytest.approx(10.0)
    # a failure answered before the fault began is not the fault's
    assert first_failure([ProbeObs(9.0, "api", False, 9.9)], 10.0) is None
    # later failures keep their own send time
    assert first_failure([ProbeObs(10.4, "api", False, 11.4)], 10.0) == pytest.approx(10.4)
