"""Synthetic run folders with a known ground truth, for scoring tests.

``JournalBuilder`` writes journal events the way the engine does (seq, t_mono, t_wall,
context); ``add_repeat`` lays out one scenario repeat with periodic probes that fail
exactly during a chosen outage window, so the true MTTD/MTTR are known.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.model.journal import parse_journal_lines
from harness.model.system import SideEffect
from harness.scoring.data import RunData

#: what the synthetic system declares as done-at-most-once (like a user's system.yaml)
PAYOUT = SideEffect(audit_event="payout_issued", key="/claim_id")

WALL_OFFSET = 1_700_000_000.0
PHASE_ORDER = ("baseline", "inject", "observe", "revert", "recover")


class JournalBuilder:
    def __init__(self, run_id: str = "run-1", wall_offset: float = WALL_OFFSET) -> None:
        self.run_id = run_id
        self.wall_offset = wall_offset
        self.events: list[dict[str, Any]] = []
        self.spans: list[dict[str, Any]] = []
        self.audit: list[dict[str, Any]] = []
        self.policies: dict[str, str] = {}
        self.side_effects: list[SideEffect] = [PAYOUT]

    def add(self, kind: str, t: float, **fields: Any) -> dict[str, Any]:
        ev = {"seq": len(self.events) + 1, "kind": kind, "t_mono": t, "t_wall": t + self.wall_offset}
        ev.update({k: v for k, v in fields.items() if v is not None})
        self.events.append(ev)
        return ev

    def wall(self, t_mono: float) -> float:
        return t_mono + self.wall_offset

    def run_data(self) -> RunData:
        return RunData(run_id=self.run_id, events=parse_journal_lines(json.dumps(e) for e in self.events),
                       spans=sorted(self.spans, key=lambda s: (s["start_ns"], s["trace_id"], s["span_id"])),
                       audit=sorted(self.audit, key=lambda r: (r["ts"], json.dumps(r, sort_keys=True))),
                       policies=dict(self.policies), side_effects=list(self.side_effects),
                       policies_declared=bool(self.policies))

    def write(self, run_dir: Path, *, shuffle: int | None = None) -> Path:
        """Write the folder; ``shuffle`` (a seed) scrambles line order in every JSONL file."""
        run_dir.mkdir(parents=True, exist_ok=True)
        rng = random.Random(shuffle)

        def dump(name: str, rows: list[dict[str, Any]]) -> None:
            lines = [json.dumps(r) for r in rows]
            if shuffle is not None:
                rng.shuffle(lines)
            (run_dir / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")

        dump("journal.jsonl", self.events)
        (run_dir / "declarations.json").write_text(json.dumps({
            "side_effects": [e.model_dump(exclude_none=True) for e in self.side_effects],
            "policies": bool(self.policies)}), encoding="utf-8")
        if self.spans:
            dump("traces.jsonl", self.spans)
        if self.audit:
            dump("audit.jsonl", self.audit)
        if self.policies:
            (run_dir / "policies").mkdir(exist_ok=True)
            for name, text in self.policies.items():
                (run_dir / "policies" / name).write_text(text, encoding="utf-8")
        return run_dir


@dataclass
class RepeatPlan:
    scenario: str = "s1"
    repeat: int = 0
    start: float = 100.0
    durations: dict[str, float] = field(default_factory=lambda: {
        "baseline": 2.0, "inject": 4.0, "observe": 0.0, "revert": 0.5, "recover": 6.0})
    probe_interval: float = 0.25
    probes: tuple[str, ...] = ("api",)
    probe_timeout_ms: float = 500.0
    """A failed probe is journaled this long after it was sent (its timeout)."""
    stable_for: float = 1.0
    outage: tuple[float, float] | None = None
    """Probes fail for ``outage_start <= t < outage_end`` (absolute t_mono)."""
    load_interval: float | None = 0.5
    slos: list[dict[str, Any]] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    """Outcome per submitted workflow: completed|failed|pending|unknown|missing."""
    weight: int = 5
    repeats: int = 1
    aborted: bool = False
    fault: bool = True


@dataclass
class RepeatTruth:
    t0: float | None
    t2: float | None
    phase_windows: dict[str, tuple[float, float]]
    end: float
    workflow_ids: dict[str, str]


def add_repeat(b: JournalBuilder, plan: RepeatPlan) -> RepeatTruth:
    ctx = {"scenario": plan.scenario, "repeat": plan.repeat}
    t = plan.start
    b.add("scenario_start", t, **ctx, title=f"Scenario {plan.scenario}", weight=plan.weight,
          repeats=plan.repeats, stable_for=plan.stable_for, probe_interval_s=plan.probe_interval,
          phases=plan.durations, probes=list(plan.probes), slos=plan.slos)
    windows: dict[str, tuple[float, float]] = {}
    for name in PHASE_ORDER:
        dur = plan.durations.get(name, 0.0)
        windows[name] = (t, t + dur)
        t += dur
    end = t
    timed: list[tuple[float, int, str, dict[str, Any]]] = []  # (t, order, kind, fields)
    for name, (s, e) in windows.items():
        timed.append((s, 0, "phase_start", {"phase": name}))
        timed.append((e, 3, "phase_end", {"phase": name}))
    t0 = t2 = None
    if plan.fault:
        t0 = windows["inject"][0]
        t2 = windows["revert"][0]
        timed.append((t0, 1, "fault_injected", {"phase": "inject", "fault_id": "f1", "type": "latency",
                                                 "target": {"edge": "orchestrator->payout"},
                                                 "params": {"latency_ms": 500}, "ttl_s": 60}))
        timed.append((t2, 1, "fault_reverted", {"phase": "revert", "fault_id": "f1", "ok": True}))
    for i, probe in enumerate(plan.probes):
        k = 0
        offset = i * plan.probe_interval / max(len(plan.probes), 1)
        while plan.start + offset + k * plan.probe_interval < end - 1e-9:
            pt = round(plan.start + offset + k * plan.probe_interval, 9)
            ok = not (plan.outage and plan.outage[0] <= pt < plan.outage[1])
            # journaled on completion, like the engine: a failed probe completes at its timeout
            latency = 2.0 if ok else plan.probe_timeout_ms
            done = round(pt + latency / 1000.0, 9)
            timed.append((done, 2, "probe", {"phase": _phase(windows, done), "probe": probe, "ok": ok,
                                             "latency_ms": latency}))
            k += 1
    if plan.load_interval:
        k = 0
        while plan.start + k * plan.load_interval < end - 1e-9:
            lt = round(plan.start + k * plan.load_interval + 0.01, 9)
            ok = not (plan.outage and plan.outage[0] <= lt < plan.outage[1])
            timed.append((lt, 2, "load_sample", {"phase": _phase(windows, lt), "name": "/claims/{id}",
                                                 "method": "GET", "status": 200 if ok else 503,
                                                 "latency_ms": 10.0 + k % 7, "ok": ok}))
            k += 1
    wids: dict[str, str] = {}
    for j, outcome in enumerate(plan.workflows):
        wid = f"{plan.scenario}-r{plan.repeat}-w{j}"
        wids[wid] = outcome
        st = plan.start + (end - plan.start) * (j + 0.5) / max(len(plan.workflows), 1)
        timed.append((st, 2, "workflow_submitted", {"phase": _phase(windows, st), "workflow_id": wid,
                                                    "key": f"k{j}", "source": "load"}))
    timed.sort(key=lambda x: (x[0], x[1]))
    for when, _, kind, fields in timed:
        b.add(kind, when, **ctx, **fields)
    if plan.aborted:
        b.add("abort", end, **ctx, reason="probe api failed 3 times")
    for wid, outcome in wids.items():
        if outcome == "missing":
            continue
        kind = {"completed": "workflow_completed", "failed": "workflow_failed",
                "pending": "workflow_pending", "unknown": "workflow_pending"}[outcome]
        state = {"completed": "SUCCESS", "failed": "ERROR", "pending": "PENDING", "unknown": "UNKNOWN"}[outcome]
        b.add(kind, end + 0.1, **ctx, workflow_id=wid, state=state)
    b.add("scenario_end", end + 0.2, **ctx, aborted=plan.aborted, reason="abort" if plan.aborted else None)
    return RepeatTruth(t0=t0, t2=t2, phase_windows=windows, end=end, workflow_ids=wids)


def _phase(windows: dict[str, tuple[float, float]], t: float) -> str | None:
    for name, (s, e) in windows.items():
        if s <= t < e:
            return name
    return None


def run_start(b: JournalBuilder, t: float = 99.0) -> None:
    b.add("run_start", t, run_id=b.run_id, system="sandbox", seed=7, git_sha="abc123",
          versions={"harness": "0.1.0"}, scenarios=[])


def run_end(b: JournalBuilder, t: float) -> None:
    b.add("run_end", t, exit_code=0, aborted=False)
