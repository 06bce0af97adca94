"""Load a scored run for the renderers and reduce its journal to what the report shows.

The journal of a long run holds tens of thousands of load samples; a browser does not
need them all. ``timelines`` folds the samples of each scenario into at most
``max_buckets`` time buckets (p50/p95/max latency, request and error counts), and keeps
the sparse events (phases, faults, failed probes) as they are. Times are seconds since the
scenario's first event, so repeats of one scenario read left to right on one axis.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from harness.model.journal import (
    AbortEvent,
    Event,
    FaultInjectedEvent,
    FaultRevertedEvent,
    LoadSampleEvent,
    NoteEvent,
    PhaseStartEvent,
    ProbeEvent,
)
from harness.model.scorecard import Scorecard
from harness.redact import redact
from harness.runfolder import RunFolder

__all__ = [
    "Bucket", "FaultWindow", "Marker", "ScoredRun", "Timeline",
    "journal_excerpt", "load_scored_run", "quantile", "timelines",
]


@dataclass(frozen=True)
class Bucket:
    """Load samples folded into one time slot ``[t0, t1)``."""

    t0: float
    t1: float
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None


@dataclass(frozen=True)
class FaultWindow:
    fault_id: str
    type: str
    target: str
    start: float
    end: float
    repeat: int | None
    reverted: bool


@dataclass(frozen=True)
class Marker:
    """A point event on the timeline: a phase start, a failed probe, an abort."""

    t: float
    label: str
    repeat: int | None = None
    detail: str = ""


@dataclass
class Timeline:
    scenario: str
    t0_mono: float
    duration: float = 0.0
    buckets: list[Bucket] = field(default_factory=list)
    faults: list[FaultWindow] = field(default_factory=list)
    phases: list[Marker] = field(default_factory=list)
    probe_failures: list[Marker] = field(default_factory=list)
    aborts: list[Marker] = field(default_factory=list)
    notes: list[Marker] = field(default_factory=list)  # game-day notes: label = author, detail = text
    samples: int = 0


@dataclass
class ScoredRun:
    """What the renderers need of a scored run folder, loaded once: its scorecard and journal
    (scoring's input is ``harness.scoring.data.RunData``, read by ``harness.telemetry.rundir``)."""

    run_dir: Path
    scorecard: Scorecard
    events: list[Event]

    @property
    def run_id(self) -> str:
        return self.scorecard.run.run_id


def load_scored_run(run_dir: Path) -> ScoredRun:
    """Scorecard (required) and journal (optional: a scorecard alone still renders)."""
    folder = RunFolder.existing(run_dir)
    return ScoredRun(run_dir=folder.root, scorecard=folder.read_scorecard(), events=folder.read_events(required=False))


def quantile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank quantile of an already sorted list; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _fold(samples: list[tuple[float, float | None, bool]], t0: float, t1: float) -> Bucket:
    lat = sorted(s[1] for s in samples if s[1] is not None)
    return Bucket(
        t0=t0, t1=t1, requests=len(samples), errors=sum(1 for s in samples if not s[2]),
        p50_ms=quantile(lat, 0.50), p95_ms=quantile(lat, 0.95), max_ms=lat[-1] if lat else None,
    )


def _bucketize(samples: list[tuple[float, float | None, bool]], duration: float,
               max_buckets: int) -> list[Bucket]:
    """Fold samples into equal slots of at least 0.5 s (finer adds noise, not insight)."""
    if not samples:
        return []
    width = max(duration / max_buckets, 0.5)
    slots: dict[int, list[tuple[float, float | None, bool]]] = {}
    for s in samples:
        slots.setdefault(int(s[0] // width), []).append(s)
    return [_fold(slots[i], i * width, (i + 1) * width) for i in sorted(slots)]


def timelines(events: list[Event], *, max_buckets: int = 240) -> dict[str, Timeline]:
    """Per scenario timeline, in the order scenarios first appear in the journal."""
    by_scenario: dict[str, list[Event]] = {}
    for ev in events:
        if ev.scenario is not None:
            by_scenario.setdefault(ev.scenario, []).append(ev)
    out: dict[str, Timeline] = {}
    for name, evs in by_scenario.items():
        t0 = evs[0].t_mono
        tl = Timeline(scenario=name, t0_mono=t0, duration=max(e.t_mono for e in evs) - t0)
        samples: list[tuple[float, float | None, bool]] = []
        open_faults: dict[tuple[int | None, str], FaultInjectedEvent] = {}
        for ev in evs:
            t = ev.t_mono - t0
            if isinstance(ev, LoadSampleEvent):
                samples.append((t, ev.latency_ms, ev.ok))
            elif isinstance(ev, ProbeEvent):
                if not ev.ok:
                    tl.probe_failures.append(Marker(t, ev.probe, ev.repeat, ev.detail or ""))
            elif isinstance(ev, PhaseStartEvent) and ev.phase:
                tl.phases.append(Marker(t, ev.phase, ev.repeat))
            elif isinstance(ev, FaultInjectedEvent):
                open_faults[(ev.repeat, ev.fault_id)] = ev
            elif isinstance(ev, FaultRevertedEvent):
                start_ev = open_faults.pop((ev.repeat, ev.fault_id), None)
                if start_ev is not None:
                    tl.faults.append(_window(start_ev, t0, t, reverted=True))
            elif isinstance(ev, AbortEvent):
                tl.aborts.append(Marker(t, "abort", ev.repeat, ev.reason))
            elif isinstance(ev, NoteEvent):
                tl.notes.append(Marker(t, ev.author or "", ev.repeat, ev.message))
        for start_ev in open_faults.values():  # never reverted: shade to the end of the scenario
            tl.faults.append(_window(start_ev, t0, tl.duration, reverted=False))
        tl.faults.sort(key=lambda w: w.start)
        tl.samples = len(samples)
        tl.buckets = _bucketize(samples, tl.duration, max_buckets)
        out[name] = tl
    return out


def _window(ev: FaultInjectedEvent, t0: float, end: float, *, reverted: bool) -> FaultWindow:
    return FaultWindow(
        fault_id=ev.fault_id, type=ev.type, target=str(ev.target or ""), start=ev.t_mono - t0, end=end,
        repeat=ev.repeat, reverted=reverted,
    )


def journal_excerpt(events: list[Event], *, scenario: str | None = None, repeat: int | None = None,
                    limit: int = 300) -> str:
    """The interesting lines of one scenario repeat as JSONL: everything but passing load samples
    and passing probes, which would drown the faults and failures a reader is looking for.
    Secret-looking keys (Authorization, *token*, *password* ...) are redacted."""
    lines: list[str] = []
    for ev in events:
        if scenario is not None and ev.scenario != scenario:
            continue
        if repeat is not None and ev.repeat != repeat:
            continue
        if isinstance(ev, LoadSampleEvent | ProbeEvent) and ev.ok:
            continue
        # The engine's writer already redacts; journals from other writers may not, and
        # this excerpt is copied into allure-results, so redact again (cheap, idempotent).
        lines.append(json.dumps(redact(ev.model_dump(mode="json")), separators=(",", ":"), sort_keys=True))
        if len(lines) >= limit:
            lines.append(json.dumps({"note": f"excerpt truncated at {limit} events"}))
            break
    return "\n".join(lines) + ("\n" if lines else "")
