"""Judging a scorecard against a gate file: one outcome per rule, and the gate's verdict.

Each rule ends as **pass**, **fail**, **not measured** or **skipped** (a regression
without a baseline). Not measured is its own outcome so a gate works for systems with and
without Cedar policies or declared side effects, yet it is never silently a pass:

- the figure is None and its section says system.yaml declared it -> fail (broken telemetry);
- the figure is None and the rule is ``required`` -> fail;
- otherwise -> not measured, with the scorecard's reason, and it does not fail;
- a gate in which no rule was judged on a measured value fails: it checked nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from harness.gate.figures import Reading, measure
from harness.gate.rules import OPS, GateFile, RegressionRule, Rule, fmt
from harness.model.scorecard import Scorecard

Status = Literal["pass", "fail", "not_measured", "skip"]
STATUSES: tuple[Status, ...] = ("pass", "fail", "not_measured", "skip")
NOTHING_MEASURED = "nothing this gate checks was measured"
_EPS = 1e-9
_OP_FUNCS: dict[str, Any] = dict(zip(OPS, (
    lambda a, b: a >= b, lambda a, b: a <= b, lambda a, b: a == b,
    lambda a, b: a != b, lambda a, b: a < b, lambda a, b: a > b), strict=True))


@dataclass(frozen=True)
class RuleOutcome:
    """One rule's result: ``bound`` is what it requires (``>= 80``), ``actual`` the value read,
    ``measured`` whether the verdict rests on a measured value, ``reason`` why it is not a pass."""

    rule: str
    bound: str
    actual: str
    status: Status
    reason: str = ""
    measured: bool = False


@dataclass(frozen=True)
class GateResult:
    outcomes: list[RuleOutcome]

    @property
    def nothing_measured(self) -> bool:
        """No rule could be judged on a measured value: such a gate checked nothing."""
        return not any(o.measured for o in self.outcomes)

    @property
    def passed(self) -> bool:
        return not self.nothing_measured and all(o.status != "fail" for o in self.outcomes)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in STATUSES}

    @property
    def summary(self) -> str:
        """``9 passed, 0 failed, 2 not measured, 2 skipped``."""
        c = self.counts
        return (f"{c['pass']} passed, {c['fail']} failed, {c['not_measured']} not measured, "
                f"{c['skip']} skipped")

    @property
    def failures(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "fail"]

    @property
    def not_measured(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "not_measured"]

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def as_json(self) -> dict[str, Any]:
        """What ``--json`` writes (besides the run ids)."""
        return {"passed": self.passed, "nothing_measured": self.nothing_measured, "counts": self.counts,
                "outcomes": [dict(o.__dict__) for o in self.outcomes]}


def _compare(actual: Any, op: str, want: Any) -> bool:
    if isinstance(want, bool) or isinstance(actual, bool):
        if op not in ("==", "!="):
            return False
        a = bool(actual) if isinstance(actual, bool | int | float) else actual
        return bool(_OP_FUNCS[op](a, want))
    if isinstance(want, int | float) and isinstance(actual, int | float):
        if op == "==":
            return abs(actual - want) <= _EPS * max(1.0, abs(want))
        if op == "!=":
            return abs(actual - want) > _EPS * max(1.0, abs(want))
        return bool(_OP_FUNCS[op](actual, want))
    if op in ("==", "!="):
        return bool(_OP_FUNCS[op](str(actual), str(want)))
    return False


def _unmeasured(label: str, bound: str, reading: Reading, *, must: bool) -> RuleOutcome:
    """A rule whose figure has no value: not measured, unless declared or required."""
    reason = reading.reason
    if reading.declared:
        return RuleOutcome(label, bound, "not measured", "fail", f"declared in system.yaml but not measured: {reason}")
    if must:
        return RuleOutcome(label, bound, "not measured", "fail", f"required but not measured: {reason}")
    return RuleOutcome(label, bound, "not measured", "not_measured", reason)


def _check_rule(card: Scorecard, rule: Rule) -> RuleOutcome:
    reading = measure(card, rule.figure)
    if reading.value is None:
        return _unmeasured(rule.label, rule.bound, reading, must=rule.must_be_measured)
    ok = _compare(reading.value, rule.op, rule.value)
    return RuleOutcome(rule.label, rule.bound, fmt(reading.value), "pass" if ok else "fail",
                       "" if ok else f"{rule.figure} is {fmt(reading.value)}, required {rule.bound}", measured=True)


def _check_regression(card: Scorecard, base: Scorecard | None, rule: RegressionRule) -> RuleOutcome:
    if base is None:
        return RuleOutcome(rule.label, rule.bound, "no baseline", "skip", "no baseline given")
    now, before = measure(card, rule.figure), measure(base, rule.figure)
    if now.value is None:
        return _unmeasured(rule.label, rule.bound, now, must=rule.must_be_measured)
    if before.value is None:
        # the baseline's declarations are not this run's telemetry: only `required` makes it fail
        why = before.reason
        why = "the baseline" + why[len("the scorecard"):] if why.startswith("the scorecard") \
            else f"in the baseline: {why}"
        old = Reading(None, why)
        out = _unmeasured(rule.label, rule.bound, old, must=rule.must_be_measured)
        return RuleOutcome(out.rule, out.bound, f"{fmt(now.value)} (baseline not measured)", out.status,
                           out.reason)
    n, b = float(now.value), float(before.value)
    change = n - b
    if rule.max_increase is not None:
        ok, limit = change <= rule.max_increase + _EPS, b + rule.max_increase
    elif rule.max_decrease is not None:
        ok, limit = -change <= rule.max_decrease + _EPS, b - rule.max_decrease
    elif rule.max_increase_pct is not None:
        limit = b + abs(b) * rule.max_increase_pct / 100
        ok = n <= limit + _EPS
    else:
        assert rule.max_decrease_pct is not None
        limit = b - abs(b) * rule.max_decrease_pct / 100
        ok = n >= limit - _EPS
    pct = "" if b == 0 else f", {change / abs(b) * 100:+.1f}%"
    actual = f"{fmt(now.value)} (baseline {fmt(before.value)}{pct})"
    reason = "" if ok else f"{rule.figure} {fmt(before.value)} -> {fmt(now.value)}, limit {fmt(limit)}"
    return RuleOutcome(rule.label, rule.bound.replace("baseline", fmt(before.value), 1), actual,
                       "pass" if ok else "fail", reason, measured=True)


def evaluate(card: Scorecard, gate: GateFile, baseline: Scorecard | None = None) -> GateResult:
    """Check every rule; pure (no I/O), so the CLI and tests share it."""
    outcomes = [_check_rule(card, r) for r in gate.rules]
    outcomes += [_check_regression(card, baseline, r) for r in gate.regressions]
    return GateResult(outcomes)
