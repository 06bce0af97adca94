"""Headline figures of a run next to a baseline run, for summary.md and report.html.

This is the informational view ("what got worse"); the pass/fail decision with
thresholds is the gate's job (``harness.gate`` regression rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.model.scorecard import Scorecard

__all__ = ["Delta", "compare", "regressions"]


@dataclass(frozen=True)
class Delta:
    figure: str
    label: str
    baseline: float | None
    current: float | None
    better: Literal["higher", "lower"]
    unit: str = ""
    percent: bool = False  # a 0..1 share, shown as %

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def worse(self) -> bool:
        change = self.change
        if change is None or abs(change) < 1e-9:
            return False
        return change < 0 if self.better == "higher" else change > 0

    def describe(self) -> str:
        def fmt(v: float | None) -> str:
            if v is None:
                return "n/a"
            return f"{v * 100:.4g} %" if self.percent else f"{v:.4g}{self.unit}"

        change = self.change
        sign = "" if change is None else ("+" if change >= 0 else "")
        if change is None:
            diff = ""
        elif self.percent:
            diff = f" ({sign}{change * 100:.4g} pts)"
        else:
            diff = f" ({sign}{change:.4g}{self.unit})"
        return f"{self.label}: {fmt(self.baseline)} -> {fmt(self.current)}{diff}"


def compare(current: Scorecard, baseline: Scorecard) -> list[Delta]:
    """The headline figures that a reader compares between two runs."""

    def lost(c: Scorecard) -> float:
        return float(len(c.integrity.lost))

    def duplicated(c: Scorecard) -> float | None:
        """None when not measured (no side effects declared): n/a, never a measured 0."""
        return None if c.integrity.duplicated is None else float(len(c.integrity.duplicated))

    def breaking(c: Scorecard) -> float:
        return float(sum(len(x.breaking_changes) for x in c.contracts))

    return [
        Delta("resilience_score", "resilience score", baseline.resilience_score, current.resilience_score,
              "higher"),
        Delta("availability", "availability", baseline.availability, current.availability, "higher",
              percent=True),
        Delta("mttd.p95", "MTTD p95", baseline.mttd.p95, current.mttd.p95, "lower", " s"),
        Delta("mttr.p95", "MTTR p95", baseline.mttr.p95, current.mttr.p95, "lower", " s"),
        Delta("policy.adherence", "policy adherence", baseline.policy.adherence, current.policy.adherence,
              "higher", percent=True),
        Delta("integrity.lost", "lost work", lost(baseline), lost(current), "lower"),
        Delta("integrity.duplicated", "duplicated work", duplicated(baseline), duplicated(current), "lower"),
        Delta("contracts.breaking_changes", "breaking contract changes", breaking(baseline), breaking(current),
              "lower"),
    ]


def regressions(current: Scorecard, baseline: Scorecard) -> list[str]:
    """One line per figure that got worse, plus scenarios whose score dropped."""
    out = [d.describe() for d in compare(current, baseline) if d.worse]
    base_scores = {s.scenario: s.score for s in baseline.scenarios}
    for s in current.scenarios:
        before = base_scores.get(s.scenario)
        if before is not None and s.score < before - 1e-9:
            out.append(f"scenario {s.scenario} score: {before:.4g} -> {s.score:.4g} ({s.score - before:+.4g})")
    return out
