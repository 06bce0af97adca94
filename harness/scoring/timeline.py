"""Cut a journal into scenario repeats and phase windows, and map clocks.

Everything downstream works on ``RepeatView`` objects: the events of one scenario
repeat, its planned configuration (from ``scenario_start``) and the measured phase
windows (from ``phase_start``/``phase_end``), all on the journal's ``t_mono`` clock.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TypeVar

from pydantic import ValidationError

from harness.errors import ConfigError
from harness.model.journal import (
    AbortEvent,
    Event,
    PhaseEndEvent,
    PhaseStartEvent,
    RunEndEvent,
    RunStartEvent,
    ScenarioEndEvent,
    ScenarioStartEvent,
)
from harness.model.scenario import PHASES, Slo

RepeatKey = tuple[str, int]
E = TypeVar("E", bound=Event)


@dataclass
class ScenarioConfig:
    """What ``scenario_start`` says about the scenario (defaults when the engine left a field out)."""

    title: str
    weight: int = 5
    repeats: int = 1
    stable_for: float = 2.0
    probe_interval_s: float | None = None
    probes: list[str] = field(default_factory=list)
    slos: list[Slo] = field(default_factory=list)

    @classmethod
    def from_event(cls, event: ScenarioStartEvent) -> ScenarioConfig:
        slos: list[Slo] = []
        for i, raw in enumerate(event.slos):
            try:
                slos.append(Slo.model_validate(raw))
            except ValidationError as exc:
                first = exc.errors()[0]
                raise ConfigError(f"scenario_start (seq {event.seq}) slos[{i}]: {first['msg']}",
                                  path="journal.jsonl", field=f"slos[{i}]") from None
        return cls(
            title=event.title or event.scenario or "?",
            weight=min(max(event.weight, 1), 10),
            repeats=max(event.repeats, 1),
            stable_for=event.stable_for,
            probe_interval_s=event.probe_interval_s,
            probes=list(event.probes),
            slos=slos,
        )


@dataclass
class RepeatView:
    """One scenario repeat: its events in ``seq`` order, its config and its phase windows."""

    scenario: str
    repeat: int
    config: ScenarioConfig
    events: list[Event]
    started_at: float
    ended_at: float | None
    aborted: bool = False
    abort_reason: str | None = None
    phase_windows: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def key(self) -> RepeatKey:
        return (self.scenario, self.repeat)

    @property
    def observed_until(self) -> float:
        """End of observation: ``scenario_end`` or, for a torn journal, the last event."""
        if self.ended_at is not None:
            return self.ended_at
        return max((e.t_mono for e in self.events), default=self.started_at)

    def of_type(self, event_type: type[E]) -> list[E]:
        """The repeat's events of one kind (``view.of_type(ProbeEvent)``), in ``seq`` order."""
        return [e for e in self.events if isinstance(e, event_type)]

    def phase_of(self, event: Event) -> str | None:
        """The phase window holding the event's ``t_mono``, else its ``phase`` context.

        The measured time wins: a load sample is journaled a little after its request ran,
        when the writer's phase context may already have moved on.
        """
        return self.phase_at(event.t_mono) or event.phase

    def phase_at(self, t: float) -> str | None:
        for name, (start, end) in self.phase_windows.items():
            if start <= t < end:
                return name
        return None

    def contains(self, t: float) -> bool:
        return self.started_at <= t <= self.observed_until


def split_repeats(events: list[Event]) -> list[RepeatView]:
    """Group events into repeats by their ``scenario``/``repeat`` context.

    Events without context are given to the repeat that is open at that point of the
    journal (between its ``scenario_start`` and ``scenario_end``), so a writer that forgets
    the context on a few events still scores correctly.
    """
    views: dict[RepeatKey, RepeatView] = {}
    order: list[RepeatKey] = []
    pending: dict[RepeatKey, list[Event]] = {}
    current: RepeatKey | None = None
    for ev in events:
        key: RepeatKey | None = None
        if ev.scenario is not None and ev.repeat is not None:
            key = (ev.scenario, ev.repeat)
        elif not isinstance(ev, RunStartEvent | RunEndEvent):
            key = current
        if isinstance(ev, ScenarioStartEvent) and key is not None and key not in views:
            views[key] = RepeatView(scenario=key[0], repeat=key[1], config=ScenarioConfig.from_event(ev),
                                    events=pending.pop(key, []), started_at=ev.t_mono, ended_at=None)
            order.append(key)
            current = key
        if key is None:
            continue
        view = views.get(key)
        if view is None:  # event before its scenario_start (should not happen): keep it for later
            pending.setdefault(key, []).append(ev)
            continue
        view.events.append(ev)
        if isinstance(ev, ScenarioEndEvent):
            view.ended_at = ev.t_mono
            view.aborted = view.aborted or ev.aborted
            view.abort_reason = view.abort_reason or ev.reason
            if current == key:
                current = None
        elif isinstance(ev, AbortEvent):
            view.aborted = True
            view.abort_reason = view.abort_reason or ev.reason or "aborted"
    result = [views[k] for k in order]
    for view in result:
        if view.ended_at is None and not view.aborted:
            # a run killed mid-repeat (SIGKILL, power loss) never wrote scenario_end
            view.aborted, view.abort_reason = True, "no scenario_end in the journal (run killed?)"
        view.events.sort(key=lambda e: e.seq)
        view.phase_windows = phase_windows(view)
    return result


def phase_windows(view: RepeatView) -> dict[str, tuple[float, float]]:
    """Measured ``[start, end)`` of each phase in canonical order.

    A phase without ``phase_end`` ends where the next phase starts or the repeat ends.
    Without any phase events the window spans the events that carry that phase context.
    """
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    for ev in view.events:
        if ev.phase is None:
            continue
        if isinstance(ev, PhaseStartEvent):
            starts.setdefault(ev.phase, ev.t_mono)
        elif isinstance(ev, PhaseEndEvent):
            ends[ev.phase] = ev.t_mono
    if not starts:
        for ev in view.events:
            if ev.phase is not None:
                starts[ev.phase] = min(starts.get(ev.phase, ev.t_mono), ev.t_mono)
                ends[ev.phase] = max(ends.get(ev.phase, ev.t_mono), ev.t_mono)
    names = sorted(starts, key=lambda p: (starts[p], PHASES.index(p) if p in PHASES else len(PHASES)))
    windows: dict[str, tuple[float, float]] = {}
    for i, name in enumerate(names):
        end = ends.get(name)
        if end is None:
            end = starts[names[i + 1]] if i + 1 < len(names) else view.observed_until
        windows[name] = (starts[name], max(end, starts[name]))
    return windows


def clock_offset(events: list[Event]) -> float:
    """``t_wall - t_mono`` (median over events): converts span/audit epoch times to ``t_mono``."""
    if not events:
        return 0.0
    return statistics.median(e.t_wall - e.t_mono for e in events)


class RepeatLocator:
    """Find the repeat whose ``[start, end]`` window holds a ``t_mono`` timestamp."""

    def __init__(self, views: list[RepeatView]) -> None:
        self._views = sorted(views, key=lambda v: v.started_at)
        self._starts = [v.started_at for v in self._views]

    def at(self, t: float) -> RepeatView | None:
        i = bisect_right(self._starts, t) - 1
        if i >= 0 and self._views[i].contains(t):
            return self._views[i]
        return None
