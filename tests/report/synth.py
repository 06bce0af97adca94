"""A synthetic but realistic run folder: journal.jsonl + scorecard.json.

Three scenarios (network latency, a killed agent, 503s with policy trouble), repeats,
faults with windows, probe failures during impact, load samples whose latency and
errors follow the faults, lost and duplicated work, policy violations, contract suites
with a breaking change. Deterministic for a seed. Used by the report tests and by
``benchmarks/bench_report.py`` (``target_events`` scales the load sample rate).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from harness.model.scorecard import (
    ContractCheck,
    ContractResult,
    FaultResult,
    Integrity,
    PhaseStats,
    PolicyResult,
    ProbeTally,
    RepeatResult,
    RunMeta,
    ScenarioResult,
    Scorecard,
    SloVerdict,
    Stat,
    Violation,
    WorkItem,
)

PHASES = (("baseline", 4.0), ("inject", 8.0), ("observe", 2.0), ("revert", 0.5), ("recover", 6.0))


@dataclass(frozen=True)
class SynthScenario:
    scenario: str
    title: str
    fault_type: str
    target: str
    weight: int
    #: how the fault hurts: extra latency (ms), error share, and seconds until the system copes
    extra_ms: float
    error_share: float
    heal_after_s: float | None  # None: never heals while the fault is on
    recover_s: float  # after revert, until probes hold again


DEFAULT_SCENARIOS = (
    SynthScenario("latency-payout", "Payout agent 300 ms slower", "latency", "orchestrator->payout", 5,
                  300.0, 0.0, None, 0.5),
    SynthScenario("kill-fraud", "Fraud agent killed mid-workflow", "kill", "fraud", 8,
                  0.0, 0.9, 3.0, 1.0),
    SynthScenario("http-503-approval", "Approval agent answers 503 with Retry-After", "http_status",
                  "orchestrator->approval", 6, 80.0, 0.35, None, 2.5),
)


def write_run(run_dir: Path, *, run_id: str = "20261127T120000Z-synth", seed: int = 7, repeats: int = 2,
              rate: float = 20.0, scenarios: tuple[SynthScenario, ...] = DEFAULT_SCENARIOS,
              target_events: int | None = None, started_at: float = 1_795_000_000.0,
              score_offset: float = 0.0, mttr_scale: float = 1.0, verdict: str | None = None) -> Scorecard:
    """Write ``journal.jsonl`` and ``scorecard.json`` into ``run_dir``; return the scorecard."""
    rng = random.Random(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    seconds = sum(d for _, d in PHASES) * repeats * len(scenarios)
    if target_events is not None:  # probes run at 2/s; ~15 phase/fault events per repeat
        rate = max(1.0, (target_events - 15 * repeats * len(scenarios)) / seconds - 2.0)
    events: list[dict] = []
    mono0, t = 5000.0, 0.0

    def emit(kind: str, **fields: object) -> None:
        events.append({"seq": len(events), "kind": kind, "t_mono": round(mono0 + t, 4),
                       "t_wall": round(started_at + t, 4), **fields})

    emit("run_start", run_id=run_id, system="sandbox", seed=seed, git_sha="0123abcd",
         scenarios=[s.scenario for s in scenarios])
    results: list[ScenarioResult] = []
    wf = 0
    for sc in scenarios:
        reps: list[RepeatResult] = []
        for rep in range(1, repeats + 1):
            ctx = {"scenario": sc.scenario, "repeat": rep}
            emit("scenario_start", title=sc.title, weight=sc.weight, repeats=repeats, stable_for=2.0,
                 probe_interval_s=0.5, **ctx)
            rep_start = t
            windows: dict[str, tuple[float, float]] = {}
            fault_on = fault_off = 0.0
            probe_total = probe_ok = 0
            for phase, dur in PHASES:
                emit("phase_start", phase=phase, **ctx)
                start = t
                if phase == "inject":
                    fault_on = t
                    emit("fault_injected", phase=phase, fault_id=f"{sc.fault_type}-1", type=sc.fault_type,
                         target=sc.target, params={"latency": sc.extra_ms}, ttl_s=60, **ctx)
                if phase == "revert":
                    fault_off = t
                    emit("fault_reverted", phase=phase, fault_id=f"{sc.fault_type}-1", ok=True, **ctx)
                step = 1.0 / rate
                next_probe = t
                while t < start + dur:
                    on = fault_on and not fault_off
                    since = t - fault_on
                    healed = sc.heal_after_s is not None and since >= sc.heal_after_s
                    recovering = fault_off and t - fault_off < sc.recover_s
                    hurt = (on and not healed) or recovering
                    lat = rng.lognormvariate(3.6, 0.35) + (sc.extra_ms if hurt else 0.0)
                    ok = not (hurt and rng.random() < sc.error_share)
                    wf += 1
                    emit("load_sample", phase=phase, name="submit", method="POST",
                         status=200 if ok else 503, latency_ms=round(lat, 2), ok=ok,
                         workflow_id=f"wf-{wf}", **ctx)
                    if t >= next_probe:
                        probe_ok_now = not hurt or (sc.error_share == 0 and lat < 250)
                        probe_total += 1
                        probe_ok += probe_ok_now
                        emit("probe", phase=phase, probe="health", ok=probe_ok_now,
                             latency_ms=round(lat / 2, 2),
                             detail="" if probe_ok_now else f"status 503 from {sc.target}", **ctx)
                        next_probe = t + 0.5
                    t += step * rng.uniform(0.6, 1.4)
                emit("phase_end", phase=phase, **ctx)
                windows[phase] = (round(mono0 + start, 3), round(mono0 + t, 3))
            aborted = sc.fault_type == "kill" and rep == repeats and repeats > 1
            if aborted:
                emit("abort", reason="probe health failed 5 times in a row", condition="abort_when",
                     **ctx)
            emit("scenario_end", aborted=aborted, reason="abort condition" if aborted else None, **ctx)
            score = max(0.0, min(100.0, 100.0 * probe_ok / max(probe_total, 1) + score_offset))
            mttr = None if sc.heal_after_s is None else (sc.heal_after_s + 0.5) * mttr_scale
            reps.append(RepeatResult(
                repeat=rep, score=round(score, 1), passed=score >= 80 and not aborted, aborted=aborted,
                abort_reason="probe health failed 5 times in a row" if aborted else None,
                started_at=mono0 + rep_start, ended_at=mono0 + t,
                phases={p: PhaseStats(requests=int(d * rate), failures=int(d * rate * sc.error_share / 3),
                                      availability=1 - sc.error_share / 3 if p in ("inject", "observe") else 1.0,
                                      p50_latency_ms=40 + (sc.extra_ms if p == "inject" else 0),
                                      p95_latency_ms=70 + (sc.extra_ms if p == "inject" else 0))
                        for p, d in PHASES},
                phase_windows=windows,
                probes=[ProbeTally(probe="health", total=probe_total, ok=probe_ok)],
                slos=[SloVerdict(metric="p95_latency_ms", phase="inject", max=250.0,
                                 actual=70 + sc.extra_ms, passed=70 + sc.extra_ms <= 250)],
                faults=[FaultResult(
                    fault_id=f"{sc.fault_type}-1", type=sc.fault_type, target=sc.target,
                    injected_at=mono0 + fault_on, reverted_at=mono0 + fault_off, impact=True,
                    mttd_s=0.5, mttr_s=mttr, recovery_after_revert_s=sc.recover_s * mttr_scale,
                    recovered=True)],
            ))
        scores = [r.score for r in reps]
        mttrs = sorted(r.faults[0].mttr_s for r in reps if r.faults[0].mttr_s is not None)
        results.append(ScenarioResult(
            scenario=sc.scenario, title=sc.title, weight=sc.weight, score=round(sum(scores) / len(scores), 1),
            passed=all(r.passed for r in reps), aborted=any(r.aborted for r in reps),
            pass_k={"1": sum(r.passed for r in reps) / len(reps)},
            mttd=Stat(n=len(reps), p50=0.5, p95=0.5, max=0.5, mean=0.5),
            mttr=Stat(n=len(mttrs), p50=mttrs[len(mttrs) // 2] if mttrs else None,
                      p95=mttrs[-1] if mttrs else None, max=mttrs[-1] if mttrs else None),
            repeats=reps,
        ))
    emit("run_end", exit_code=1, aborted=False)
    (run_dir / "journal.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")

    all_mttr = sorted(f.mttr_s for s in results for r in s.repeats for f in r.faults if f.mttr_s is not None)
    total_w = sum(s.weight for s in results)
    overall = round(sum(s.score * s.weight for s in results) / total_w, 1)
    card = Scorecard(
        run=RunMeta(run_id=run_id, started_at=started_at, ended_at=started_at + t, git_sha="0123abcd",
                    system="sandbox", seed=seed, versions={"harness": "0.1.0", "python": "3.11.7"},
                    probe_interval_s=0.5),
        verdict=verdict or ("pass" if all(s.passed for s in results) else "fail"),
        resilience_score=overall, availability=0.962,
        mttd=Stat(n=len(results) * repeats, p50=0.5, p95=0.5, max=0.5, mean=0.5),
        mttr=Stat(n=len(all_mttr), p50=all_mttr[len(all_mttr) // 2] if all_mttr else None,
                  p95=all_mttr[-1] if all_mttr else None, max=all_mttr[-1] if all_mttr else None),
        scenarios=results,
        integrity=Integrity(submitted=wf, completed=wf - 4, failed=2, pending=0,
                            lost=[WorkItem(workflow_id="wf-17", scenario="kill-fraud",
                                           detail="submitted, never completed nor failed")],
                            duplicated=[WorkItem(workflow_id="wf-42", scenario="http-503-approval",
                                                 detail="two payout_issued events for claim C-42")]),
        policy=PolicyResult(
            actions=120, permitted=118, adherence=118 / 120,
            by_phase={"baseline": 1.0, "inject": 0.95, "recover": 1.0},
            violations=[
                Violation(trace_id="4bf92f3577b34da6a3ce929d0e0e4736", span_id="00f067aa0ba902b7",
                          principal="orchestrator", action="issue_payout", resource="payout", phase="inject",
                          scenario="http-503-approval", policies=["require-approval"],
                          reason="payout without approval while approval agent returned 503"),
                Violation(trace_id="a3ce929d0e0e47364bf92f3577b34da6", principal="orchestrator",
                          action="send_email", resource="notifier", phase="inject",
                          scenario="http-503-approval", policies=["no-pii-egress"],
                          reason="payload contains PII"),
            ]),
        contracts=[
            ContractResult(suite="openapi", edge="orchestrator->fraud", passed=42, failed=0),
            ContractResult(suite="pact", edge="orchestrator->payout", passed=6, failed=1,
                           failures=[ContractCheck(name="POST /payouts", passed=False,
                                                   message="status 500, expected 201")]),
            ContractResult(suite="a2a", edge="approval", passed=9, failed=0),
            ContractResult(suite="mcp", edge="tools", passed=12, failed=0),
            ContractResult(suite="diff", edge="payout v1->v2", passed=0, failed=1,
                           breaking_changes=["response field 'amount' removed from POST /payouts 201"]),
        ],
    )
    (run_dir / "scorecard.json").write_text(card.model_dump_json(indent=2), encoding="utf-8")
    return card


def healthy_scorecard(run_id: str = "healthy") -> Scorecard:
    """A scorecard every default gate rule passes."""
    return Scorecard(
        run=RunMeta(run_id=run_id, started_at=1_795_000_000.0, probe_interval_s=0.5),
        verdict="pass", resilience_score=96.0, availability=0.999,
        mttd=Stat(n=3, p50=0.5, p95=1.0, max=1.0), mttr=Stat(n=3, p50=1.5, p95=2.5, max=2.5),
        scenarios=[ScenarioResult(scenario="latency", title="latency", weight=5, score=96.0, passed=True,
                                  repeats=[RepeatResult(repeat=1, score=96.0, passed=True, started_at=1.0)])],
        integrity=Integrity(submitted=10, completed=10, duplicated=[], declared=["item_shipped"]),
        policy=PolicyResult(actions=10, permitted=10, adherence=1.0, declared=True),
        contracts=[ContractResult(suite="openapi", edge="orchestrator->fraud", passed=5)],
    )
