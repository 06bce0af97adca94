"""What the gate does with a figure the run did not measure: not measured with the
scorecard's reason, a failure when required or declared, and never a silent pass."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.gate import GateFile, RegressionRule, Rule, evaluate, load_gate, measure
from harness.model.scorecard import Integrity, PolicyResult, Scorecard, Stat, WorkItem
from tests.report.synth import healthy_scorecard

ROOT_GATE = Path(__file__).resolve().parents[2] / "gate.yaml"
NO_POLICIES = "system.yaml declares no Cedar policies (policies.files)"
NO_ACTIONS = "policies declared but no agent actions were seen in spans or audit events"
NO_SIDE_EFFECTS = "system.yaml declares no side_effects"


def _gate(*rules: str | dict, regressions: list[dict] | None = None) -> GateFile:
    return GateFile.model_validate({"rules": list(rules), "regressions": regressions or []})


def _portable() -> Scorecard:
    """A healthy run of a system that declares neither policies nor side effects."""
    card = healthy_scorecard()
    card.policy = PolicyResult(not_measured=NO_POLICIES)
    card.integrity = Integrity(submitted=10, completed=10, duplicated=None, not_measured=NO_SIDE_EFFECTS)
    return card


def _broken() -> Scorecard:
    """The same run of a system that declares both, whose telemetry never arrived."""
    card = healthy_scorecard()
    card.policy = PolicyResult(declared=True, not_measured=NO_ACTIONS)
    card.integrity = Integrity(submitted=10, completed=10, duplicated=None, declared=["payout_sent"],
                               not_measured="side effects declared but no matching audit events or spans")
    return card


def test_healthy_and_broken_runs_read_differently_under_the_shipped_gate() -> None:
    gate = load_gate(ROOT_GATE)
    healthy = {o.rule: o for o in evaluate(_portable(), gate).outcomes}
    broken_result = evaluate(_broken(), gate)
    broken = {o.rule: o for o in broken_result.outcomes}
    assert evaluate(_portable(), gate).passed and not broken_result.passed
    assert (healthy["policy.adherence == 1"].status, healthy["policy.adherence == 1"].reason) == \
        ("not_measured", NO_POLICIES)
    assert (broken["policy.adherence == 1"].status, broken["policy.adherence == 1"].reason) == \
        ("fail", f"declared in system.yaml but not measured: {NO_ACTIONS}")
    assert healthy["integrity.duplicated == 0"].reason == NO_SIDE_EFFECTS
    assert broken["integrity.duplicated == 0"].reason.startswith(
        "declared in system.yaml but not measured: side effects declared but no matching")
    # the figures that were measured are judged the same way in both
    for rule in ("resilience_score >= 80", "integrity.lost == 0", "verdict == pass"):
        assert healthy[rule].status == broken[rule].status == "pass"


def test_a_measured_failure_is_a_failure_whatever_the_section_says() -> None:
    card = _portable()
    card.integrity = Integrity(submitted=3, completed=2, lost=[WorkItem(workflow_id="wf-1")], duplicated=None,
                               not_measured=NO_SIDE_EFFECTS)
    result = evaluate(card, _gate("integrity.lost == 0", "integrity.ok == true"))
    assert [o.status for o in result.outcomes] == ["fail", "fail"]
    assert result.outcomes[1].reason == "integrity.ok is false, required == true"


def test_ok_without_measured_duplicates_is_not_measured() -> None:
    reading = measure(_portable(), "integrity.ok")
    assert reading.value is None and reading.reason == NO_SIDE_EFFECTS


@pytest.mark.parametrize("figure", ["policy.violations", "policy.actions", "policy.by_phase.inject",
                                    "policy.blocked"])
def test_no_policies_means_no_policy_figure_not_zero_violations(figure: str) -> None:
    """Zero violations of no policies is not a pass: every policy figure is not measured."""
    outcome = evaluate(_portable(), _gate(f"{figure} == 0", "resilience_score >= 80")).outcomes[0]
    assert (outcome.status, outcome.reason) == ("not_measured", NO_POLICIES)
    declared = evaluate(_broken(), _gate(f"{figure} == 0")).outcomes[0]
    assert declared.status == "fail" and declared.reason.endswith(NO_ACTIONS)


def test_a_phase_missing_from_measured_policies_reads_the_generic_reason() -> None:
    outcome = evaluate(healthy_scorecard(), _gate("policy.by_phase.recover >= 0.9")).outcomes[0]
    # policies were declared and measured, yet this phase has no value: declared and None fails
    assert outcome.status == "fail"
    assert outcome.reason == "declared in system.yaml but not measured: the scorecard has no value for " \
                             "policy.by_phase.recover"


def test_mapping_over_an_empty_list_is_not_measured() -> None:
    card = healthy_scorecard()
    card.contracts = []
    outcome = evaluate(card, _gate("contracts.failed == 0", "resilience_score >= 80")).outcomes[0]
    assert outcome.status == "not_measured"
    assert outcome.reason == "the scorecard has no contracts to read contracts.failed from"
    assert measure(card, "sum(contracts.failed)").value is None


def test_required_fails_a_figure_that_was_not_measured() -> None:
    result = evaluate(_portable(), _gate({"figure": "policy.adherence", "op": "==", "value": 1, "required": True},
                                         "resilience_score >= 80"))
    assert not result.passed
    assert result.failures[0].reason == f"required but not measured: {NO_POLICIES}"


def test_deprecated_allow_missing() -> None:
    # true is the default now; false kept its meaning: the figure must be measured
    lenient = _gate({"figure": "mttr.p95", "op": "<=", "value": 5, "allow_missing": True}, "resilience_score >= 80")
    strict = _gate({"figure": "mttr.p95", "op": "<=", "value": 5, "allow_missing": False}, "resilience_score >= 80")
    card = healthy_scorecard()
    card.mttr = Stat()
    assert evaluate(card, lenient).passed and evaluate(card, lenient).outcomes[0].status == "not_measured"
    assert not evaluate(card, strict).passed
    # it never lets a measured failing value pass, in a rule or a regression
    card.mttr = Stat(n=1, p95=9.0)
    assert evaluate(card, lenient).outcomes[0].status == "fail" and not evaluate(card, lenient).passed
    base = healthy_scorecard("base")
    regression = _gate(regressions=[{"figure": "mttr.p95", "max_increase_pct": 20, "allow_missing": True}])
    assert not evaluate(card, regression, base).passed


def test_a_gate_of_only_unmeasured_or_skipped_rules_fails() -> None:
    card = _portable()
    card.mttr = Stat()
    result = evaluate(card, _gate("mttr.p95 <= 15", "policy.adherence == 1", "integrity.duplicated == 0"))
    assert result.nothing_measured and not result.passed and result.exit_code == 1
    assert not result.failures and result.count("not_measured") == 3
    only_regressions = evaluate(card, _gate(regressions=[{"figure": "resilience_score", "max_decrease": 5}]))
    assert only_regressions.nothing_measured and only_regressions.exit_code == 1  # no baseline: checked nothing
    assert only_regressions.summary == "0 passed, 0 failed, 0 not measured, 1 skipped"


def test_regressions_on_unmeasured_figures() -> None:
    now, base = _broken(), healthy_scorecard("base")
    rule = [{"figure": "policy.adherence", "max_decrease": 0.01}]
    # declared in this run but not measured: broken telemetry
    assert evaluate(now, _gate(regressions=rule), base).outcomes[0].status == "fail"
    # the baseline lacking it is not this run's fault: not measured, with the baseline's reason
    out = evaluate(healthy_scorecard(), _gate(regressions=rule), _portable()).outcomes[0]
    assert (out.status, out.reason) == ("not_measured", f"in the baseline: {NO_POLICIES}")
    required = [{**rule[0], "required": True}]
    out = evaluate(healthy_scorecard(), _gate(regressions=required), _portable()).outcomes[0]
    assert out.status == "fail" and out.reason == f"required but not measured: in the baseline: {NO_POLICIES}"


def _expected(value: float | None, declared: bool, required: bool, bound: float) -> str:
    if value is None:
        return "fail" if declared or required else "not_measured"
    return "pass" if value >= bound else "fail"


@given(value=st.one_of(st.none(), st.floats(0, 1)), declared=st.booleans(), required=st.booleans(),
       allow_missing=st.sampled_from([None, True, False]), bound=st.floats(0, 1))
def test_outcome_table(value: float | None, declared: bool, required: bool, allow_missing: bool | None,
                       bound: float) -> None:
    """Every combination: measured values are compared; None fails only if declared or required."""
    if required and allow_missing is True:
        return  # a contradiction the loader rejects (tests/gate/test_gate_file.py)
    card = healthy_scorecard()
    card.policy = PolicyResult(actions=0 if value is None else 4, adherence=value, declared=declared,
                               not_measured=(NO_ACTIONS if declared else NO_POLICIES) if value is None else None)
    rule = Rule(figure="policy.adherence", op=">=", value=bound, required=required, allow_missing=allow_missing)
    outcome = evaluate(card, GateFile(rules=[rule])).outcomes[0]
    must = required or allow_missing is False
    assert outcome.status == _expected(value, declared, must, bound)
    assert outcome.measured is (value is not None)
    if value is None:
        assert outcome.actual == "not measured" and outcome.reason.endswith(card.policy.not_measured or "?")
    regression = RegressionRule(figure="policy.adherence", max_decrease=0.5, required=required,
                                allow_missing=allow_missing)
    base = healthy_scorecard("base")
    out = evaluate(card, GateFile(regressions=[regression]), base).outcomes[0]
    assert out.status == _expected(value, declared, must, 0.5)


def test_a_scenario_that_did_not_run_is_named_in_the_reason() -> None:
    outcome = evaluate(healthy_scorecard(), _gate("scenarios[kill-fraud].score >= 80",
                                                  "resilience_score >= 80")).outcomes[0]
    assert outcome.status == "not_measured"
    assert outcome.reason == "the scorecard has no scenarios[kill-fraud] to read scenarios[kill-fraud].score from"
