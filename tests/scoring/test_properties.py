"""Property tests over generated runs: bounds, order invariance on disk, integrity ground truth."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.scoring import score_run
from harness.telemetry.rundir import load_run
from tests.scoring.factory import JournalBuilder, RepeatPlan, add_repeat, run_end, run_start

OUTCOMES = ("completed", "failed", "pending", "unknown", "missing")
SLO_POOL = [
    {"metric": "availability", "phase": "recover", "min": 0.95},
    {"metric": "error_rate", "phase": "inject", "max": 0.5},
    {"metric": "p95_latency_ms", "phase": "all", "max": 15.0},
    {"metric": "p99_latency_ms", "phase": "observe", "max": 100.0},  # observe lasts 0 s: unmeasured
]

POLICY = """@id("payouts") permit(principal, action == Action::"issue_payout", resource);
@id("approval-above-1000") forbid(principal, action == Action::"issue_payout", resource)
when { context.amount > 100000 && !context.approved };"""


@st.composite
def runs(draw: st.DrawFn) -> tuple[JournalBuilder, dict[str, object]]:
    """A run of 1-3 scenarios x 1-3 repeats, random outages, SLOs, workflow outcomes, payouts."""
    b = JournalBuilder()
    run_start(b)
    t = 100.0
    truth: dict[str, object] = {"lost": set(), "dup_claims": set(), "counts": dict.fromkeys(OUTCOMES, 0),
                                "aborted": False, "denied": 0, "actions": 0}
    for s in range(draw(st.integers(1, 3))):
        n_rep = draw(st.integers(1, 3))
        weight = draw(st.integers(1, 10))
        slos = draw(st.lists(st.sampled_from(SLO_POOL), max_size=3, unique_by=lambda d: d["metric"]))
        for r in range(n_rep):
            outage = None
            if draw(st.booleans()):
                a = t + draw(st.floats(0.0, 10.0))
                outage = (a, a + draw(st.floats(0.1, 12.0)))
            flows = draw(st.lists(st.sampled_from(OUTCOMES), max_size=6))
            aborted = draw(st.integers(0, 9)) == 0
            truth["aborted"] = truth["aborted"] or aborted
            rt = add_repeat(b, RepeatPlan(scenario=f"s{s}", repeat=r, start=t, outage=outage, slos=slos,
                                          workflows=flows, weight=weight, repeats=n_rep, aborted=aborted,
                                          probe_interval=draw(st.sampled_from([0.25, 0.5])),
                                          fault=draw(st.booleans()) or outage is None))
            for wid, outcome in rt.workflow_ids.items():
                truth["counts"][outcome] += 1
                if outcome in ("unknown", "missing"):
                    truth["lost"].add(wid)
            payouts = draw(st.lists(st.integers(0, 3), max_size=4))
            for i, claim in enumerate(payouts):
                cid = f"C-{s}-{r}-{claim}"
                b.audit.append({"ts": b.wall(t + 1 + i * 0.1), "principal": "orchestrator",
                                "action": "issue_payout", "resource": "payout", "event": "payout_issued",
                                "claim_id": cid, "context": {"amount": 100, "approved": True}})
                truth["actions"] += 1  # an audited action with no span: judged once, permitted
                if payouts.count(claim) > 1:
                    truth["dup_claims"].add(cid)
            for i, amount in enumerate(draw(st.lists(st.integers(0, 300_000), max_size=4))):
                start_ns = int(b.wall(rt.phase_windows["baseline"][0] + 0.3 * i) * 1e9)
                b.spans.append({
                    "trace_id": f"{s:02d}{r:02d}{i:028x}", "span_id": f"{i:016x}", "parent_span_id": None,
                    "name": "execute_tool issue_payout", "kind": "CLIENT", "start_ns": start_ns,
                    "end_ns": start_ns + 1000, "status": "OK", "events": [],
                    "resource": {"service.name": "orchestrator"},
                    "attributes": {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "issue_payout",
                                   "gen_ai.agent.name": "payout", "ctx.amount": amount,
                                   "ctx.approved": amount % 2 == 0}})
                truth["denied"] += int(amount > 100_000 and amount % 2 == 1)
                truth["actions"] += 1
            t = rt.end + 5.0
    b.policies["payout.cedar"] = POLICY
    run_end(b, t)
    return b, truth


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_scores_within_bounds_and_verdict_consistent(generated: tuple[JournalBuilder, dict]) -> None:
    b, truth = generated
    card = score_run(b.run_data())
    assert 0.0 <= card.resilience_score <= 100.0
    assert card.availability is None or 0.0 <= card.availability <= 1.0
    for sc in card.scenarios:
        assert 0.0 <= sc.score <= 100.0
        assert all(0.0 <= v <= 1.0 for v in sc.pass_k.values())
        for rep in sc.repeats:
            assert 0.0 <= rep.score <= 100.0
            for ph in rep.phases.values():
                assert ph.failures <= ph.requests
                assert ph.availability is None or 0.0 <= ph.availability <= 1.0
            for f in rep.faults:
                assert f.mttd_s is None or f.mttd_s >= 0.0
                assert f.mttr_s is None or f.mttr_s >= 0.0
                if not f.impact:
                    assert f.mttr_s is None and f.mttd_s is None and f.recovered
                if not f.recovered:
                    assert not rep.passed
    assert card.policy.actions == truth["actions"]
    assert card.policy.actions - card.policy.permitted == truth["denied"] == len(card.policy.violations)
    assert card.policy.adherence is None or 0.0 <= card.policy.adherence <= 1.0
    assert all(v.policies == ["approval-above-1000"] for v in card.policy.violations)
    if truth["aborted"]:
        assert card.verdict == "aborted"
    elif all(s.passed for s in card.scenarios):
        assert card.verdict == "pass"
    else:
        assert card.verdict == "fail"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_integrity_matches_ground_truth_and_floors_score(generated: tuple[JournalBuilder, dict]) -> None:
    b, truth = generated
    card = score_run(b.run_data())
    integ = card.integrity
    counts = truth["counts"]
    assert integ.submitted == sum(counts.values())
    assert (integ.completed, integ.failed, integ.pending) == (
        counts["completed"], counts["failed"], counts["pending"])
    assert {w.workflow_id for w in integ.lost} == truth["lost"]
    if not b.audit and integ.completed:
        # the side effect is declared, work completed, and the audit source gave nothing at all:
        # that is a telemetry gap, so duplicates are not measured (never "none found")
        assert integ.duplicated is None and integ.not_measured
    else:
        assert integ.duplicated is not None and integ.not_measured is None
        assert {w.detail.rsplit(" ", 1)[-1] for w in integ.duplicated} == truth["dup_claims"]
    assert integ.declared == ["payout_issued"]
    broken = {w.scenario for w in integ.lost} | {w.scenario for w in integ.duplicated_items}
    for sc in card.scenarios:
        if sc.scenario in broken:
            assert sc.score == 0.0 and not sc.passed
    if broken:
        assert card.verdict in ("fail", "aborted")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs(), st.integers(0, 2**32 - 1))
def test_invariant_to_line_order_on_disk(generated: tuple[JournalBuilder, dict], seed: int) -> None:
    b, _ = generated
    with tempfile.TemporaryDirectory() as tmp:
        ordered = score_run(load_run(b.write(Path(tmp) / "a")))
        shuffled = score_run(load_run(b.write(Path(tmp) / "b", shuffle=seed)))
    assert ordered.model_dump(exclude={"run": {"run_id"}}) == shuffled.model_dump(exclude={"run": {"run_id"}})
    in_memory = score_run(b.run_data()).model_copy(update={"run": ordered.run})
    # the folder's telemetry section also knows the run window; what was kept is the same
    assert ordered.model_dump(exclude={"telemetry"}) == in_memory.model_dump(exclude={"telemetry"})
    assert (ordered.telemetry.spans_kept, ordered.telemetry.audit_kept) == \
        (in_memory.telemetry.spans_kept, in_memory.telemetry.audit_kept)
