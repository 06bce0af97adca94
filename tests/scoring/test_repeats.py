"""Repeat-level rules: verdicts, killed runs, availability from workflow outcomes, SLOs, context."""

from __future__ import annotations

import pytest

from harness.scoring import score_run
from tests.scoring.factory import JournalBuilder, RepeatPlan, add_repeat, run_end, run_start


def build(*plans: RepeatPlan, end: bool = True) -> JournalBuilder:
    b = JournalBuilder()
    run_start(b)
    last = 0.0
    for plan in plans:
        last = add_repeat(b, plan).end
    if end:
        run_end(b, last + 1)
    return b


def test_healthy_repeats_pass_with_full_score_and_pass_k() -> None:
    b = build(RepeatPlan(repeat=0, repeats=3), RepeatPlan(repeat=1, start=120, repeats=3),
              RepeatPlan(repeat=2, start=140, repeats=3))
    card = score_run(b.run_data())
    sc = card.scenarios[0]
    assert card.verdict == "pass" and sc.passed and sc.score == 100.0
    assert sc.pass_k == {"1": 1.0, "2": 1.0, "3": 1.0}
    assert len(sc.repeats) == 3 and card.mttr.n == 0


def test_one_failed_repeat_of_three_gives_pass_k() -> None:
    b = build(RepeatPlan(repeat=0, repeats=3), RepeatPlan(repeat=1, start=120, repeats=3, outage=(123, 1e9)),
              RepeatPlan(repeat=2, start=140, repeats=3))
    sc = score_run(b.run_data()).scenarios[0]
    assert [r.passed for r in sc.repeats] == [True, False, True]
    assert sc.repeats[1].failed_checks == ["not recovered by the end: f1",
                                           "probes did not hold for the last 1s of observation"]
    assert sc.repeats[0].failed_checks == []
    assert sc.pass_k == {"1": pytest.approx(2 / 3), "2": pytest.approx(1 / 3), "3": 0.0}
    assert 0 < sc.repeats[1].score < 100 and not sc.passed


def test_killed_run_without_scenario_end_is_aborted() -> None:
    b = build(RepeatPlan(), end=False)
    b.events = [e for e in b.events if e["kind"] != "scenario_end"]
    card = score_run(b.run_data())
    assert card.verdict == "aborted"
    assert card.scenarios[0].repeats[0].abort_reason == "no scenario_end in the journal (run killed?)"


def test_run_with_nothing_scored_fails_and_aborted_run_end_aborts() -> None:
    b = JournalBuilder()
    run_start(b)
    run_end(b, 100)
    assert score_run(b.run_data()).verdict == "fail"
    b.events[-1]["aborted"] = True
    assert score_run(b.run_data()).verdict == "aborted"


def test_aborted_repeat_makes_run_aborted() -> None:
    card = score_run(build(RepeatPlan(aborted=True)).run_data())
    assert card.verdict == "aborted" and card.scenarios[0].aborted
    assert card.scenarios[0].repeats[0].abort_reason == "probe api failed 3 times"
    assert card.scenarios[0].repeats[0].failed_checks == ["aborted: probe api failed 3 times"]


def test_lost_workflow_fails_its_load_sample_and_floors_score() -> None:
    b = build(RepeatPlan(workflows=["completed", "missing"], load_interval=None))
    wids = [e["workflow_id"] for e in b.events if e["kind"] == "workflow_submitted"]
    for wid, t in zip(wids, (101.0, 107.0), strict=True):  # baseline and recover submits
        b.add("load_sample", t, scenario="s1", repeat=0, name="submit", method="POST", status=202,
              latency_ms=20.0, ok=True, workflow_id=wid)
    card = score_run(b.run_data())
    rep = card.scenarios[0].repeats[0]
    assert rep.phases["baseline"].failures == 0
    assert rep.phases["recover"].failures == 1 and rep.phases["recover"].availability == 0.0
    assert rep.phases["all"].availability == 0.5 and card.availability == 0.5
    assert rep.score == 0.0 and card.scenarios[0].score == 0.0 and card.verdict == "fail"
    assert [w.workflow_id for w in card.integrity.lost] == [wids[1]]
    assert card.scenarios[0].repeats[0].failed_checks == ["integrity: a work item was lost or duplicated"]


def test_only_the_submitting_sample_carries_a_failed_workflow() -> None:
    b = build(RepeatPlan(workflows=["failed"], load_interval=None))
    (wid,) = [e["workflow_id"] for e in b.events if e["kind"] == "workflow_submitted"]
    b.add("load_sample", 101.0, scenario="s1", repeat=0, name="submit", method="POST", status=202,
          latency_ms=20.0, ok=True, workflow_id=wid)
    b.add("load_sample", 107.0, scenario="s1", repeat=0, name="status", method="GET", status=200,
          latency_ms=5.0, ok=True, workflow_id=wid)  # a later poll answered correctly
    rep = score_run(b.run_data()).scenarios[0].repeats[0]
    assert rep.phases["baseline"].failures == 1
    assert rep.phases["recover"].failures == 0 and rep.phases["recover"].availability == 1.0


def test_the_submitting_sample_is_the_first_naming_the_workflow_whatever_its_task() -> None:
    """No load task names are assumed: a user's load tasks can be called anything."""
    b = build(RepeatPlan(workflows=["failed"], load_interval=None))
    (wid,) = [e["workflow_id"] for e in b.events if e["kind"] == "workflow_submitted"]
    b.add("load_sample", 101.0, scenario="s1", repeat=0, name="book_trip", method="POST", status=202,
          latency_ms=20.0, ok=True, workflow_id=wid)
    b.add("load_sample", 101.5, scenario="s1", repeat=0, name="trip_status", method="GET", status=200,
          latency_ms=5.0, ok=True, workflow_id=wid)
    b.add("load_sample", 101.7, scenario="s1", repeat=0, name="health", method="GET", status=200,
          latency_ms=1.0, ok=True)
    card = score_run(b.run_data())
    assert card.scenarios[0].repeats[0].phases["baseline"].failures == 1
    assert card.availability == 2 / 3


def test_unmeasurable_slo_fails() -> None:
    card = score_run(build(RepeatPlan(slos=[{"metric": "p95_latency_ms", "phase": "observe", "max": 100}])
                           ).run_data())
    (slo,) = card.scenarios[0].repeats[0].slos
    assert slo.actual is None and slo.passed is False
    assert card.scenarios[0].repeats[0].failed_checks == [
        "SLO failed: p95_latency_ms@observe not measured (want <= 100)"]
    assert card.scenarios[0].repeats[0].score == pytest.approx(50.0)  # probes 100%, SLOs 0%


def test_events_without_context_go_to_the_open_repeat() -> None:
    b = build(RepeatPlan(workflows=["completed"]))
    for ev in b.events:
        if ev["kind"] in ("probe", "load_sample", "workflow_completed"):
            ev.pop("scenario"), ev.pop("repeat"), ev.pop("phase", None)
    card = score_run(b.run_data())
    rep = card.scenarios[0].repeats[0]
    assert rep.probes[0].total == 50 and rep.phases["baseline"].requests == 4
    assert card.integrity.completed == 1 and not card.integrity.lost


def test_baseline_failure_breaks_steady_state_before_but_is_not_fault_impact() -> None:
    card = score_run(build(RepeatPlan(outage=(100.5, 101.0))).run_data())
    rep = card.scenarios[0].repeats[0]
    assert rep.failed_checks == ["steady state did not hold in baseline: api"]
    assert rep.faults[0].impact is False and rep.faults[0].mttr_s is None
    assert rep.score == pytest.approx(100 * (1 - 2 / 32))  # 2 of 8 baseline + 24 recover samples failed


def test_duplicate_payouts_are_scoped_per_repeat() -> None:
    """``C-{n}`` counters restart per repeat: the same claim id paid once in each of two
    repeats is two claims; paid twice in one repeat (by its workflow) is a duplicate."""
    b = build(RepeatPlan(repeat=0, repeats=2, workflows=["completed"]),
              RepeatPlan(repeat=1, start=120, repeats=2, workflows=["completed"]))
    wid0, wid1 = (e["workflow_id"] for e in b.events if e["kind"] == "workflow_submitted")
    for wid, t in ((wid0, 101.0), (wid1, 121.0)):
        b.audit.append({"ts": b.wall(t), "event": "payout_issued", "claim_id": "C-1", "workflow_id": wid})
    card = score_run(b.run_data())
    assert card.integrity.duplicated == [] and card.verdict == "pass"
    b.audit.append({"ts": b.wall(125.0), "event": "payout_issued", "claim_id": "C-1", "workflow_id": wid1})
    card = score_run(b.run_data())
    (dup,) = card.integrity.duplicated
    assert (dup.workflow_id, dup.scenario, dup.repeat) == (wid1, "s1", 1)
    assert dup.detail == "payout_issued 2 times for claim_id C-1"
    assert [r.passed for r in card.scenarios[0].repeats] == [True, False]
    assert card.scenarios[0].score == 0.0 and card.verdict == "fail"


def test_a_probe_failed_by_the_fault_does_not_spoil_the_baseline() -> None:
    b = build(RepeatPlan())
    inject_start = next(e["t_mono"] for e in b.events if e["kind"] == "phase_start" and e.get("phase") == "inject")
    # a workflow probe sent 0.3 s before the fault, answered (failed) 0.2 s after it began
    b.add("probe", inject_start + 0.2, scenario="s1", repeat=0, probe="api", ok=False, latency_ms=500.0)
    rep = score_run(b.run_data()).scenarios[0].repeats[0]
    assert not any("baseline" in c for c in rep.failed_checks), rep.failed_checks
    # the same failure answered within baseline does spoil it
    b2 = build(RepeatPlan())
    b2.add("probe", inject_start - 0.1, scenario="s1", repeat=0, probe="api", ok=False, latency_ms=200.0)
    rep2 = score_run(b2.run_data()).scenarios[0].repeats[0]
    assert "steady state did not hold in baseline: api" in rep2.failed_checks
