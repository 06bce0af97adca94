"""Availability, error rate, latency and retry amplification per phase; SLO verdicts.

A load sample counts as a failure when the request itself failed (``ok`` false) *or* when
it submitted a workflow that later failed or was lost: the user-visible outcome of
submitting work is the work done, not the 202. Only the submitting request takes the
outcome: a later status poll of a failed workflow answered correctly, and charging it again
would move an inject-phase failure into the recover phase. The submitting sample is the
first one naming the workflow (a poll can only ask for an id a submit returned), so no load
task names are assumed. Pending workflows are not failures (their outcome is unknown, not bad).
"""

from __future__ import annotations

from collections import defaultdict

from harness.model.journal import LoadSampleEvent, WorkflowSubmittedEvent
from harness.model.scenario import Slo
from harness.model.scorecard import PhaseStats, SloVerdict
from harness.scoring.stats import percentile
from harness.scoring.timeline import RepeatView

ALL = "all"
"""Key of the whole-repeat aggregate in ``RepeatResult.phases`` (SLOs with ``phase: all``)."""

BAD_OUTCOMES = frozenset({"failed", "lost"})


def submitting_samples(samples: list[LoadSampleEvent]) -> set[int]:
    """``seq`` of the sample that submitted each workflow: the first (in ``seq`` order) naming it."""
    first: dict[str, int] = {}
    for ev in sorted(samples, key=lambda e: e.seq):
        if ev.workflow_id is not None:
            first.setdefault(ev.workflow_id, ev.seq)
    return set(first.values())


def sample_ok(event: LoadSampleEvent, outcomes: dict[str, str], submitters: set[int]) -> bool:
    """Did this load sample succeed end to end (request ok and, if it is the sample that
    submitted a workflow (``submitters``), that workflow not failed/lost)?"""
    wid = event.workflow_id
    if event.ok and event.seq in submitters and wid is not None and outcomes.get(wid) in BAD_OUTCOMES:
        return False
    return event.ok


def phase_stats(view: RepeatView, outcomes: dict[str, str],
                agent_calls: dict[str, int] | None = None) -> dict[str, PhaseStats]:
    """``PhaseStats`` per phase of one repeat, plus the ``all`` aggregate.

    ``agent_calls`` (agent-action spans per phase) over the workflows submitted in that
    phase that completed gives retry amplification; ``None`` when nothing completed.
    """
    samples: dict[str, list[tuple[bool, float | None]]] = defaultdict(list)
    load = view.of_type(LoadSampleEvent)
    submitters = submitting_samples(load)
    for ev in load:
        entry = (sample_ok(ev, outcomes, submitters), ev.latency_ms)
        samples[view.phase_of(ev) or ALL].append(entry)
        if (view.phase_of(ev) or ALL) != ALL:
            samples[ALL].append(entry)
    completed: dict[str, int] = defaultdict(int)
    for submitted in view.of_type(WorkflowSubmittedEvent):
        if outcomes.get(submitted.workflow_id) == "completed":
            phase = view.phase_of(submitted) or ALL
            completed[phase] += 1
            if phase != ALL:
                completed[ALL] += 1
    calls = dict(agent_calls or {})
    if calls:
        calls[ALL] = sum(v for k, v in calls.items() if k != ALL)
    names = [p for p in view.phase_windows if p != ALL] + [ALL]
    for extra in list(samples) + list(completed):
        if extra not in names:
            names.insert(len(names) - 1, extra)
    return {name: _stats(samples.get(name, []), calls.get(name), completed.get(name, 0))
            for name in names}


def _stats(entries: list[tuple[bool, float | None]], calls: int | None, completed: int) -> PhaseStats:
    requests = len(entries)
    failures = sum(1 for ok, _ in entries if not ok)
    lats = [lat for _, lat in entries if lat is not None]
    return PhaseStats(
        requests=requests,
        failures=failures,
        availability=(requests - failures) / requests if requests else None,
        error_rate=failures / requests if requests else None,
        p50_latency_ms=percentile(lats, 50),
        p95_latency_ms=percentile(lats, 95),
        p99_latency_ms=percentile(lats, 99),
        agent_calls_per_workflow=(calls / completed) if calls is not None and completed else None,
    )


def slo_verdicts(slos: list[Slo], stats: dict[str, PhaseStats]) -> list[SloVerdict]:
    """One verdict per SLO. An SLO whose metric could not be measured (no samples in that
    phase) fails: an unverifiable promise must not pass silently."""
    verdicts = []
    for slo in slos:
        phase_stats_ = stats.get(slo.phase)
        actual = getattr(phase_stats_, slo.metric) if phase_stats_ is not None else None
        passed = actual is not None and (slo.min is None or actual >= slo.min) and (
            slo.max is None or actual <= slo.max)
        verdicts.append(SloVerdict(metric=slo.metric, phase=slo.phase, min=slo.min, max=slo.max,
                                   actual=actual, passed=passed))
    return verdicts
