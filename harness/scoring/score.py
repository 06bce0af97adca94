"""``score_run``: a parsed run folder in, a ``Scorecard`` out. Pure (no I/O).

The pieces are small functions in sibling modules (timeline, phases, faults, integrity,
policy, resilience, stats) so a report or a test can reuse any one of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from statistics import median
from typing import Literal

from harness.model.journal import Event, LoadSampleEvent, RunEndEvent, RunStartEvent
from harness.model.scorecard import (
    JournalIntake,
    PolicyResult,
    ProbeTally,
    RepeatResult,
    RunMeta,
    ScenarioResult,
    Scorecard,
)
from harness.scoring import policy as pol
from harness.scoring.checks import REPEAT_CHECKS, Check, RepeatFacts, run_checks
from harness.scoring.data import RunData
from harness.scoring.faults import ProbeObs, fault_results, probe_phase, probe_series, probes_until
from harness.scoring.integrity import check_integrity
from harness.scoring.phases import phase_stats, sample_ok, slo_verdicts, submitting_samples
from harness.scoring.resilience import SCORED_PROBE_PHASES, repeat_score, scenario_score, weighted_score
from harness.scoring.stats import pass_k_table, summarize
from harness.scoring.telemetry import telemetry_section
from harness.scoring.timeline import RepeatKey, RepeatLocator, RepeatView, clock_offset, split_repeats

Locate = Callable[[float], RepeatView | None]
"""Maps an epoch (wall clock) time to the repeat whose window holds it."""


def score_run(run: RunData) -> Scorecard:
    """Score every repeat, aggregate per scenario and overall, check integrity and policy."""
    views = split_repeats(run.events)
    offset = clock_offset(run.events)
    locator = RepeatLocator(views)

    def locate_wall(t_wall: float) -> RepeatView | None:
        return locator.at(t_wall - offset)

    report = check_integrity(run.events, run.audit,
                             lambda ts: (v.key if (v := locate_wall(ts)) is not None else None),
                             side_effects=run.side_effects, spans=run.spans)
    actions = pol.collect_actions(run.spans, run.audit)
    calls = _agent_calls(actions, locate_wall, offset)

    repeats: dict[str, list[RepeatResult]] = defaultdict(list)
    for view in views:
        repeats[view.scenario].append(
            score_repeat(view, report.outcomes, calls.get(view.key, {}), view.key in report.broken))

    scenarios = []
    for name, results in repeats.items():
        first = next(v for v in views if v.scenario == name)
        broken = any((name, r.repeat) in report.broken for r in results)
        passed_n = sum(1 for r in results if r.passed)
        faults = [f for r in results for f in r.faults]
        scenarios.append(ScenarioResult(
            scenario=name, title=first.config.title, weight=first.config.weight,
            score=scenario_score(results, broken),
            passed=passed_n == len(results) and not broken,
            aborted=any(r.aborted for r in results),
            pass_k=pass_k_table(passed_n, len(results)),
            mttd=summarize([f.mttd_s for f in faults]),
            mttr=summarize([f.mttr_s for f in faults]),
            repeats=results,
        ))

    all_faults = [f for s in scenarios for r in s.repeats for f in r.faults]
    policy_result = PolicyResult(declared=run.policies_declared, not_measured=pol.NO_POLICIES)
    if run.policies:
        decisions = pol.evaluate(actions, run.policies, run.entities)
        policy_result = pol.adherence(decisions, lambda a: _where(a, locate_wall, offset))
        policy_result.declared = True
        if policy_result.adherence is None:
            policy_result.not_measured = pol.NO_ACTIONS
    elif run.policies_declared:
        policy_result.not_measured = "system.yaml declares policies but none were copied into the run folder"
    verdict = run_verdict(scenarios, run.events)
    return Scorecard(
        run=run_meta(run, views),
        verdict=verdict,
        resilience_score=weighted_score([(s.score, s.weight) for s in scenarios]),
        availability=_availability(views, report.outcomes),
        mttd=summarize([f.mttd_s for f in all_faults]),
        mttr=summarize([f.mttr_s for f in all_faults]),
        scenarios=scenarios,
        integrity=report.integrity,
        policy=policy_result,
        contracts=list(run.contracts),
        telemetry=telemetry_section(run, actions, scenarios, report.integrity),
        journal=journal_section(run),
    )


def journal_section(run: RunData) -> JournalIntake:
    """How many events were scored and which lines were not (the first one named)."""
    problems = run.journal_problems
    return JournalIntake(events=len(run.events), problems=len(problems),
                         first_problem=str(problems[0]) if problems else None, torn_last_line=run.journal_torn)


def run_verdict(scenarios: list[ScenarioResult], events: list[Event]) -> Literal["pass", "fail", "aborted"]:
    """``aborted`` if any scenario (or the run itself) was aborted, else ``fail`` if any scenario
    failed or nothing was scored at all (a run that tested nothing must not pass), else ``pass``."""
    run_end = next((e for e in reversed(events) if isinstance(e, RunEndEvent)), None)
    if any(s.aborted for s in scenarios) or (run_end is not None and run_end.aborted):
        return "aborted"
    if not scenarios or any(not s.passed for s in scenarios):
        return "fail"
    return "pass"


def score_repeat(view: RepeatView, outcomes: dict[str, str], agent_calls: dict[str, int],
                 integrity_broken: bool, checks: tuple[Check, ...] = REPEAT_CHECKS) -> RepeatResult:
    """Everything about one repeat; it passes when every check in ``checks`` holds."""
    stats = phase_stats(view, outcomes, agent_calls)
    slos = slo_verdicts(view.config.slos, stats)
    series = probe_series(view)
    faults = fault_results(view, series, slos)
    scored = [o for o in series if probe_phase(view, o) in SCORED_PROBE_PHASES]
    held = sum(1 for o in scored if o.ok)
    score = 0.0 if integrity_broken else repeat_score(held, len(scored), slos)
    failed = run_checks(RepeatFacts(view, series, slos, faults, integrity_broken,
                                    probes_until(view, series)), checks)
    return RepeatResult(
        repeat=view.repeat, score=score, passed=not failed, failed_checks=failed, aborted=view.aborted,
        abort_reason=view.abort_reason, started_at=view.started_at, ended_at=view.ended_at,
        phases=stats, phase_windows=dict(view.phase_windows), probes=_tallies(series),
        slos=slos, faults=faults,
    )


def run_meta(run: RunData, views: list[RepeatView]) -> RunMeta:
    start = next((e for e in run.events if isinstance(e, RunStartEvent)), None)
    end = next((e for e in reversed(run.events) if isinstance(e, RunEndEvent)), None)
    return RunMeta(
        run_id=(start.run_id if start else None) or run.run_id,
        started_at=start.t_wall if start else (run.events[0].t_wall if run.events else 0.0),
        ended_at=end.t_wall if end else None,
        git_sha=start.git_sha if start else None,
        system=start.system if start else None,
        seed=start.seed if start else None,
        versions=dict(start.versions) if start else {},
        probe_interval_s=probe_resolution(views),
    )


def probe_resolution(views: list[RepeatView]) -> float | None:
    """The coarsest planned probe interval; without one, the median gap between
    consecutive samples of the same probe (what the journal shows)."""
    planned = [v.config.probe_interval_s for v in views if v.config.probe_interval_s]
    if planned:
        return max(planned)
    gaps = []
    for view in views:
        last: dict[str, float] = {}
        for obs in probe_series(view):
            if obs.probe in last:
                gaps.append(obs.t - last[obs.probe])
            last[obs.probe] = obs.t
    return median(gaps) if gaps else None


def _tallies(series: list[ProbeObs]) -> list[ProbeTally]:
    counts: dict[str, list[int]] = {}
    for obs in series:
        tally = counts.setdefault(obs.probe, [0, 0])
        tally[0] += 1
        tally[1] += int(obs.ok)
    return [ProbeTally(probe=p, total=t, ok=o) for p, (t, o) in sorted(counts.items())]


def _availability(views: list[RepeatView], outcomes: dict[str, str]) -> float | None:
    samples = [e for v in views for e in v.of_type(LoadSampleEvent)]
    if not samples:
        return None
    submitters = submitting_samples(samples)
    return sum(1 for e in samples if sample_ok(e, outcomes, submitters)) / len(samples)


def _where(action: pol.AgentAction, locate: Locate, offset: float) -> tuple[str | None, str | None]:
    if action.t_wall is None:
        return (None, None)
    view = locate(action.t_wall)
    if view is None:
        return (None, None)
    return (view.scenario, view.phase_at(action.t_wall - offset))


def _agent_calls(actions: list[pol.AgentAction], locate: Locate, offset: float) -> dict[RepeatKey, dict[str, int]]:
    """Agent-action spans per repeat and phase (audit-only actions are not calls)."""
    calls: dict[RepeatKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for act in actions:
        if act.source != "span" or act.t_wall is None:
            continue
        view = locate(act.t_wall)
        phase = view.phase_at(act.t_wall - offset) if view is not None else None
        if view is None or phase is None:
            continue
        calls[view.key][phase] += 1
    return {k: dict(v) for k, v in calls.items()}
