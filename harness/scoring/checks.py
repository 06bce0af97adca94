"""The checks that decide whether a repeat passed, schemathesis style: small named functions
that each return ``None`` (held) or a one-line reason (failed).

``score_repeat`` runs ``REPEAT_CHECKS`` by default; pass another tuple to add or drop one.
The reasons land in ``RepeatResult.failed_checks`` so a report can say *why* a repeat failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.model.scorecard import FaultResult, SloVerdict
from harness.scoring.faults import ProbeObs, probe_phase, steady_after
from harness.scoring.timeline import RepeatView


@dataclass(frozen=True)
class RepeatFacts:
    """What the checks look at, computed once per repeat."""

    view: RepeatView
    series: list[ProbeObs]
    slos: list[SloVerdict]
    faults: list[FaultResult]
    integrity_broken: bool
    probes_until: float


Check = Callable[[RepeatFacts], str | None]


def not_aborted(f: RepeatFacts) -> str | None:
    return f"aborted: {f.view.abort_reason or 'no reason given'}" if f.view.aborted else None


def integrity_holds(f: RepeatFacts) -> str | None:
    return "integrity: a work item was lost or duplicated" if f.integrity_broken else None


def slos_pass(f: RepeatFacts) -> str | None:
    failed = [s for s in f.slos if not s.passed]
    if not failed:
        return None
    parts = []
    for s in failed:
        bound = " ".join(x for x in (f">= {s.min:g}" if s.min is not None else "",
                                     f"<= {s.max:g}" if s.max is not None else "") if x)
        actual = "not measured" if s.actual is None else f"{s.actual:.4g}"
        parts.append(f"{s.metric}@{s.phase} {actual} (want {bound})")
    return "SLO failed: " + "; ".join(parts)


def faults_recovered(f: RepeatFacts) -> str | None:
    stuck = [x.fault_id for x in f.faults if not x.recovered]
    return f"not recovered by the end: {', '.join(stuck)}" if stuck else None


def steady_state_before(f: RepeatFacts) -> str | None:
    bad = sorted({o.probe for o in f.series if not o.ok and probe_phase(f.view, o) == "baseline"})
    return f"steady state did not hold in baseline: {', '.join(bad)}" if bad else None


def steady_state_after(f: RepeatFacts) -> str | None:
    if steady_after(f.series, f.view.config.stable_for, f.probes_until):
        return None
    return f"probes did not hold for the last {f.view.config.stable_for:g}s of observation"


REPEAT_CHECKS: tuple[Check, ...] = (
    not_aborted, integrity_holds, slos_pass, faults_recovered, steady_state_before, steady_state_after,
)


def run_checks(facts: RepeatFacts, checks: tuple[Check, ...] = REPEAT_CHECKS) -> list[str]:
    """Reasons of the checks that failed, in check order (empty: the repeat passed)."""
    return [reason for check in checks if (reason := check(facts)) is not None]
