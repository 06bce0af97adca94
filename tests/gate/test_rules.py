"""Gate rules: figures read from a scorecard, thresholds, missing figures, baseline regressions."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.gate import GateFile, Rule, check_figure, evaluate, load_gate, parse_rule, read_figure
from harness.model.scorecard import Integrity, PolicyResult, Scorecard, Stat
from tests.report.synth import healthy_scorecard, write_run

ROOT_GATE = Path(__file__).resolve().parents[2] / "gate.yaml"


@pytest.fixture
def bad(tmp_path: Path) -> Scorecard:
    return write_run(tmp_path / "bad")


def _gate(*rules: str, regressions: list[dict] | None = None) -> GateFile:
    return GateFile.model_validate({"rules": list(rules), "regressions": regressions or []})


def test_reading_figures(bad: Scorecard) -> None:
    assert read_figure(bad, "resilience_score") == 59.1
    assert read_figure(bad, "mttr.p95") == 3.5
    assert read_figure(bad, "integrity.lost") == 1  # a list counts its items
    assert read_figure(bad, "integrity.ok") is False
    assert read_figure(bad, "scenarios.aborted") == 1  # booleans over a list are counted
    assert read_figure(bad, "contracts.failed") == 2  # numbers summed
    assert read_figure(bad, "contracts.breaking_changes") == 1  # list lengths summed
    assert read_figure(bad, "policy.violations") == 2
    assert read_figure(bad, "min(scenarios.score)") == 39.0
    assert read_figure(bad, "max(scenarios.score)") == 80.5
    assert read_figure(bad, "scenarios[kill-fraud].score") == 80.5
    assert read_figure(bad, "scenarios[-1].scenario") == "http-503-approval"
    assert read_figure(bad, "scenarios[kill-fraud].repeats[1].aborted") is True
    assert read_figure(bad, "scenarios[kill-fraud].repeats[0].phases.inject.availability") == 0.7
    assert read_figure(bad, "contracts[payout v1->v2].failed") == 1  # selector by edge, with spaces
    assert read_figure(bad, "scenarios[no-such].score") is None
    assert read_figure(bad, "verdict") == "fail"
    empty = healthy_scorecard()
    empty.scenarios = []
    assert read_figure(empty, "scenarios.aborted") is None  # no scenarios: nothing was counted, not 0
    assert read_figure(empty, "min(scenarios.score)") is None  # no minimum of nothing
    assert read_figure(empty, "integrity.lost") == 0  # a list the scorecard holds: empty is 0
    unmeasured = healthy_scorecard()
    assert read_figure(unmeasured, "scenarios.mttr.p95") is None  # every value None: not measured


@pytest.mark.parametrize("figure", ["mttr.p59", "scenario.score", "resilience_score.x", "median(mttr.p95)",
                                    "verdict[0]", "scenarios..score", ""])
def test_unknown_figures_are_rejected(figure: str) -> None:
    with pytest.raises(ValueError):
        check_figure(figure)


def test_healthy_passes_the_default_gate() -> None:
    result = evaluate(healthy_scorecard(), load_gate(ROOT_GATE))
    assert result.passed and result.exit_code == 0
    assert {o.status for o in result.outcomes} == {"pass", "skip"}  # regressions skip without baseline
    assert all(o.measured for o in result.outcomes if o.status == "pass")


def test_bad_run_fails_with_reasons_naming_the_rule(bad: Scorecard) -> None:
    result = evaluate(bad, load_gate(ROOT_GATE))
    assert result.exit_code == 1
    failed = {o.rule: o for o in result.failures}
    assert set(failed) == {"resilience_score >= 80", "policy.adherence == 1", "integrity.lost == 0",
                           "integrity.duplicated == 0", "contracts.breaking_changes == 0",
                           "contracts.failed == 0", "scenarios.aborted == 0", "verdict == pass"}
    assert failed["resilience_score >= 80"].reason == "resilience_score is 59.1, required >= 80"
    assert failed["scenarios.aborted == 0"].actual == "1"


def test_unmeasured_figure_is_reported_not_failed_unless_required() -> None:
    card = healthy_scorecard()
    card.mttr = Stat()  # nothing had an impact: no MTTR
    result = evaluate(card, _gate("mttr.p95 <= 5", "resilience_score >= 80"))
    assert result.passed
    assert result.outcomes[0].status == "not_measured" and result.outcomes[0].actual == "not measured"
    assert result.outcomes[0].reason == "the scorecard has no value for mttr.p95"
    required = evaluate(card, GateFile(rules=[Rule(figure="mttr.p95", op="<=", value=5, required=True)]))
    assert not required.passed
    assert required.outcomes[0].reason.startswith("required but not measured")


def test_allow_missing_never_passes_a_measured_failing_value() -> None:
    card = healthy_scorecard()
    card.mttr = Stat(n=1, p50=9.0, p95=9.0, max=9.0, mean=9.0)
    result = evaluate(card, GateFile(rules=[Rule(figure="mttr.p95", op="<=", value=5, allow_missing=True)]))
    assert not result.passed and result.outcomes[0].status == "fail"


def test_a_gate_that_measured_nothing_fails() -> None:
    card = healthy_scorecard()
    card.mttr = Stat()
    card.policy = PolicyResult(not_measured="system.yaml declares no Cedar policies (policies.files)")
    result = evaluate(card, _gate("mttr.p95 <= 5", "policy.adherence == 1.0"))
    assert result.nothing_measured and not result.passed and result.exit_code == 1
    assert result.outcomes[1].reason == "system.yaml declares no Cedar policies (policies.files)"


def test_undeclared_policy_and_side_effects_are_not_measured_but_declared_ones_fail() -> None:
    card = healthy_scorecard()
    card.policy = PolicyResult(not_measured="system.yaml declares no Cedar policies (policies.files)")
    card.integrity = Integrity(submitted=3, completed=3, duplicated=None, not_measured="no side_effects")
    portable = evaluate(card, load_gate(ROOT_GATE))
    assert portable.passed, portable.failures
    by_rule = {o.rule: o for o in portable.outcomes}
    assert by_rule["policy.adherence == 1"].status == "not_measured"
    assert by_rule["policy.adherence == 1"].reason == "system.yaml declares no Cedar policies (policies.files)"
    assert by_rule["integrity.duplicated == 0"].status == "not_measured"
    assert by_rule["integrity.duplicated == 0"].reason == "no side_effects"
    # the same figures missing on a system that declares them: broken telemetry, not a pass
    card.policy = PolicyResult(declared=True, not_measured="policies declared but no agent actions were seen")
    card.integrity = Integrity(submitted=3, completed=3, duplicated=None, declared=["hotel_booked"],
                               not_measured="side effects declared but no matching audit events")
    broken = evaluate(card, load_gate(ROOT_GATE))
    assert not broken.passed
    reasons = {o.rule: o.reason for o in broken.failures}
    assert reasons["policy.adherence == 1"].startswith("declared in system.yaml but not measured: policies")
    assert reasons["integrity.duplicated == 0"].startswith("declared in system.yaml but not measured: side")


@pytest.mark.parametrize(("rule", "passes"), [
    ("resilience_score >= 96", True), ("resilience_score > 96", False), ("resilience_score < 96.01", True),
    ("resilience_score <= 95.99", False), ("resilience_score == 96", True), ("resilience_score != 96", False),
    ("policy.adherence == 1.0", True), ("integrity.ok == true", True), ("integrity.ok == false", False),
    ("verdict == pass", True), ("verdict == 'fail'", False), ("verdict != fail", True),
])
def test_operators(rule: str, passes: bool) -> None:
    assert evaluate(healthy_scorecard(), _gate(rule)).passed is passes


def test_baseline_regression_catches_a_slower_recovery(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", run_id="base", mttr_scale=1.0)
    slower = write_run(tmp_path / "slow", run_id="slow", mttr_scale=1.3)  # 30% slower recovery
    slightly = write_run(tmp_path / "ok", run_id="ok", mttr_scale=1.1)
    gate = load_gate(ROOT_GATE)
    rule = "mttr.p95 vs baseline: not more than 20% higher"
    out = {o.rule: o for o in evaluate(slower, gate, base).outcomes}
    assert out[rule].status == "fail"
    assert out[rule].reason == "mttr.p95 3.5 -> 4.55, limit 4.2"
    assert out[rule].actual == "4.55 (baseline 3.5, +30.0%)"
    assert {o.rule: o for o in evaluate(slightly, gate, base).outcomes}[rule].status == "pass"


def test_score_drop_regression() -> None:
    base = healthy_scorecard("base")
    gate = _gate(regressions=[{"figure": "resilience_score", "max_decrease": 5}])
    for drop, ok in ((5.0, True), (5.5, False), (0.0, True), (-3.0, True)):
        now = healthy_scorecard("now")
        now.resilience_score = base.resilience_score - drop
        assert evaluate(now, gate, base).passed is ok, drop


def test_regression_edge_cases() -> None:
    base, now = healthy_scorecard("b"), healthy_scorecard("n")
    gate = _gate(regressions=[{"figure": "mttr.p95", "max_increase_pct": 20}])
    assert evaluate(now, gate, None).outcomes[0].status == "skip"
    base.mttr = Stat()
    old = evaluate(now, gate, base).outcomes[0]  # nothing to compare with: not measured, never a pass
    assert (old.status, old.reason) == ("not_measured", "the baseline has no value for mttr.p95")
    assert old.actual == "2.5 (baseline not measured)"
    base, now = healthy_scorecard("b"), healthy_scorecard("n")
    now.mttr = Stat()
    # measured before, not now: reported, not failed
    assert evaluate(now, gate, base).outcomes[0].status == "not_measured"
    base.mttr, now.mttr = Stat(p95=0.0), Stat(p95=0.1)
    assert evaluate(now, gate, base).outcomes[0].status == "fail"  # any rise from zero is infinite %


figures = st.sampled_from(["resilience_score", "mttr.p95", "policy.adherence", "min(scenarios.score)",
                           "scenarios[kill-fraud].score", "integrity.lost"])
ops = st.sampled_from([">=", "<=", "==", "!=", "<", ">"])
numbers = st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 3))


@given(figure=figures, op=ops, value=numbers, space=st.sampled_from(["", " ", "  "]))
def test_shorthand_round_trips(figure: str, op: str, value: float, space: str) -> None:
    parsed = parse_rule(f"{space}{figure}{space}{op}{space}{value!r}{space}")
    assert parsed == {"figure": figure, "op": op, "value": value}
    rule = Rule.model_validate(f"{figure} {op} {value}")
    assert (rule.figure, rule.op) == (figure, op) and math.isclose(rule.value, value)  # type: ignore[arg-type]


@given(st.text(max_size=30))
def test_shorthand_never_crashes(text: str) -> None:
    try:
        parsed = parse_rule(text)
    except ValueError as exc:
        assert "FIGURE OP VALUE" in str(exc)
    else:
        assert parsed["op"] in (">=", "<=", "==", "!=", "<", ">")


@given(before=st.floats(0.01, 1e4), factor=st.floats(0.0, 3.0), pct=st.floats(0.0, 200.0))
def test_increase_pct_rule_matches_its_definition(before: float, factor: float, pct: float) -> None:
    base, now = healthy_scorecard("b"), healthy_scorecard("n")
    base.mttr, now.mttr = Stat(p95=before), Stat(p95=before * factor)
    outcome = evaluate(now, _gate(regressions=[{"figure": "mttr.p95", "max_increase_pct": pct}]), base).outcomes[0]
    limit = before * (1 + pct / 100)
    if before * factor < limit * (1 - 1e-6):
        assert outcome.status == "pass"
    elif before * factor > limit * (1 + 1e-6):
        assert outcome.status == "fail" and outcome.reason.startswith("mttr.p95 ")


@given(value=st.floats(0, 100, allow_nan=False), allow=st.sampled_from([True, False, None]))
def test_allow_missing_never_lets_a_measured_failing_value_pass(value: float, allow: bool | None) -> None:
    """``allow_missing`` (deprecated) is about unmeasured figures only; a measured value is judged."""
    card = healthy_scorecard()
    card.resilience_score = value
    rule: dict[str, object] = {"figure": "resilience_score", "op": ">", "value": value}
    if allow is not None:
        rule["allow_missing"] = allow
    result = evaluate(card, GateFile.model_validate({"rules": [rule]}))
    assert result.outcomes[0].status == "fail" and not result.passed
