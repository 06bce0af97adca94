"""Run one repeat of one scenario: phases, probes, load, fault schedule, abort conditions.

Timeline (all on the monotonic clock)::

    load+probes start -> baseline -> inject -> observe -> revert -> recover -> settle/accounting

A fault is injected at ``inject start + at_s`` and reverted at ``at_s + duration_s`` or
at the start of ``revert``, whichever comes first. Every fault goes through the
``FaultSession`` (cleanup ledger first, then inject) and is reverted in a ``finally``:
on abort, on error and on Ctrl-C. After ``recover`` every submitted workflow is
polled until it settles (or ``settle_s`` passes) and gets exactly one outcome event.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.engine.journal import JournalWriter
from harness.engine.probes import ProbeSet
from harness.engine.workflow import open_workflow
from harness.faults.base import Fault
from harness.model.scenario import PHASES, SUBMIT_TASK, FaultSpec, Scenario
from harness.model.system import SystemSpec

TICK_S = 0.05
TTL_MARGIN_S = 30.0


class AbortRun(Exception):
    """An abort condition fired; the scenario stops early and reverts."""


@dataclass
class RepeatOutcome:
    scenario: str
    repeat: int
    aborted: bool = False
    reason: str = ""
    probe_failures: int = 0
    submitted: int = 0
    unsettled: int = 0


@dataclass
class LiveStatus:
    """What the progress display shows; written by the runner, read by the UI thread."""

    scenario: str = ""
    repeat: int = 0
    phase: str = ""
    phase_ends_at: float = 0.0
    active_faults: list[str] = field(default_factory=list)
    recent: deque[tuple[float, bool]] = field(default_factory=lambda: deque(maxlen=5000))

    def availability(self, window_s: float = 5.0) -> float | None:
        cutoff = time.monotonic() - window_s
        recent = [ok for t, ok in list(self.recent) if t >= cutoff]
        return (sum(recent) / len(recent)) if recent else None


@dataclass
class _Planned:
    spec: FaultSpec
    fault: Fault
    inject_at: float  # offset from inject start
    revert_at: float  # offset from inject start
    injected: bool = False
    reverted: bool = False


class ScenarioRunner:
    """Runs repeats of scenarios against one system inside one fault session."""

    def __init__(self, *, journal: JournalWriter, system: SystemSpec, session: Any,
                 build_fault: Callable[..., Fault], supervisor: Any = None,
                 load_factory: Callable[..., Any] | None = None, status: LiveStatus | None = None,
                 settle_s: float = 20.0,
                 before_phase: Callable[[ScenarioRunner, str, Scenario], None] | None = None,
                 run_id: str = "") -> None:
        self.journal = journal
        self.system = system
        self.session = session
        self.build_fault = build_fault
        self.supervisor = supervisor
        self.load_factory = load_factory
        self.status = status or LiveStatus()
        self.settle_s = settle_s
        # game days: a facilitator confirms each phase (and takes notes) before it starts
        self.before_phase = before_phase
        self.workflow = open_workflow(system.workflow, run_id=run_id) if system.workflow else None
        self._submitted: dict[str, str] = {}
        self._sub_lock = threading.Lock()
        self._samples: deque[tuple[float, bool]] = deque(maxlen=20000)

    def close(self) -> None:
        if self.workflow is not None:
            self.workflow.close()

    # -- event plumbing -------------------------------------------------------------
    def note(self, message: str, author: str | None = None) -> None:
        """A person's note during a game day, journaled with the current context."""
        self._emit("note", message=message, author=author)

    def _emit(self, kind: str, **fields: Any) -> None:
        if kind == "workflow_submitted":
            with self._sub_lock:
                self._submitted[str(fields["workflow_id"])] = str(fields.get("source", ""))
        self.journal.emit(kind, **fields)

    def _on_sample(self, sample: Any) -> None:
        data = dataclasses.asdict(sample) if dataclasses.is_dataclass(sample) else dict(sample)
        t_mono, t_wall = data.pop("t_mono", None), data.pop("t_wall", None)
        self.journal.emit("load_sample", t_mono=t_mono, t_wall=t_wall, **data)
        ok = bool(data.get("ok"))
        now = t_mono if t_mono is not None else time.monotonic()
        self._samples.append((now, ok))
        self.status.recent.append((now, ok))
        wf_id = data.get("workflow_id")
        if data.get("name") == SUBMIT_TASK and ok and wf_id:
            self._emit("workflow_submitted", workflow_id=wf_id, source="load", t_mono=t_mono, t_wall=t_wall)

    # -- abort conditions -----------------------------------------------------------
    def _check_abort(self, scenario: Scenario, probes: ProbeSet) -> None:
        for cond in scenario.abort_when:
            if cond.consecutive_failures is not None and cond.probe is not None:
                failures = probes.consecutive_failures(cond.probe)
                if failures >= cond.consecutive_failures:
                    raise AbortRun(f"probe {cond.probe!r} failed {failures} times in a row "
                                   f"(limit {cond.consecutive_failures})")
            if cond.error_rate_above is not None:
                cutoff = time.monotonic() - cond.window_s
                window = [ok for t, ok in list(self._samples) if t >= cutoff]
                if len(window) >= 10:
                    rate = 1 - sum(window) / len(window)
                    if rate > cond.error_rate_above:
                        raise AbortRun(f"error rate {rate:.0%} over the last {cond.window_s:g}s "
                                       f"> {cond.error_rate_above:.0%} ({len(window)} requests)")

    # -- faults -----------------------------------------------------------------------
    def _plan_faults(self, name: str, repeat: int, scenario: Scenario) -> list[_Planned]:
        window = scenario.phases.inject + scenario.phases.observe
        planned = []
        for index, spec in enumerate(scenario.faults):
            duration = spec.duration_s if spec.duration_s is not None else max(0.0, window - spec.at_s)
            revert_at = min(spec.at_s + duration, window)
            fault_id = f"{name}-r{repeat}-f{index}-{spec.name or spec.type}"
            fault = self.build_fault(spec, self.system, fault_id=fault_id,
                                     ttl_s=duration + TTL_MARGIN_S, supervisor=self.supervisor)
            planned.append(_Planned(spec, fault, spec.at_s, revert_at))
        return planned

    def _inject(self, item: _Planned) -> None:
        target = item.spec.target.edge or item.spec.target.service or ""
        # The event carries the time the injection *began*: some faults block (a crash waits
        # for the restart), and their impact starts at once, so MTTD must count from here.
        t_mono, t_wall = time.monotonic(), time.time()
        self.session.inject(item.fault)
        item.injected = True
        self.status.active_faults.append(f"{item.spec.type}@{target}")
        self._emit("fault_injected", fault_id=item.fault.fault_id, type=item.spec.type, target=target,
                   params=item.spec.params, stream=item.spec.stream, toxicity=item.spec.toxicity,
                   ttl_s=item.fault.ttl_s, t_mono=t_mono, t_wall=t_wall,
                   duration_ms=round((time.monotonic() - t_mono) * 1000, 1))

    def _revert(self, item: _Planned) -> None:
        if not item.injected or item.reverted:
            return
        item.reverted = True
        target = item.spec.target.edge or item.spec.target.service or ""
        error = None
        t_mono, t_wall = time.monotonic(), time.time()
        try:
            self.session.revert(item.fault)
        except Exception as exc:  # recorded, and the ledger keeps it for `harness cleanup`
            error = f"{type(exc).__name__}: {exc}"
        label = f"{item.spec.type}@{target}"
        if label in self.status.active_faults:
            self.status.active_faults.remove(label)
        self._emit("fault_reverted", fault_id=item.fault.fault_id, ok=error is None, error=error,
                   t_mono=t_mono, t_wall=t_wall, duration_ms=round((time.monotonic() - t_mono) * 1000, 1))

    # -- the repeat -------------------------------------------------------------------
    def run(self, name: str, scenario: Scenario, repeat: int) -> RepeatOutcome:
        outcome = RepeatOutcome(name, repeat)
        self.journal.set_context(scenario=name, repeat=repeat, phase=None)
        self.status.scenario, self.status.repeat = name, repeat
        self._submitted.clear()
        self._samples.clear()
        probe_interval = min((p.interval_s for p in scenario.steady_state), default=None)
        self._emit("scenario_start", title=scenario.title, weight=scenario.weight, repeats=scenario.repeats,
                   stable_for=scenario.stable_for, probe_interval_s=probe_interval,
                   phases=scenario.phases.model_dump(), probes=[p.name for p in scenario.steady_state],
                   slos=[s.model_dump() for s in scenario.slos], description=scenario.description)
        planned = self._plan_faults(name, repeat, scenario)
        load = None
        probes = ProbeSet(list(scenario.steady_state), self._emit, self.workflow,
                          {svc.name: svc.base_url for svc in self.system.services})
        try:
            if scenario.load is not None and scenario.load.users > 0 and self.load_factory is not None:
                total = sum(scenario.phases.model_dump().values())
                load = self.load_factory(scenario.load, self._on_sample, name, repeat,
                                         max_runtime_s=total + 120.0)
                load.start()
            probes.start()
            self._run_phases(scenario, planned, probes)
        except AbortRun as exc:
            outcome.aborted, outcome.reason = True, str(exc)
            self._emit("abort", reason=str(exc), condition="abort_when")
        except KeyboardInterrupt:
            outcome.aborted, outcome.reason = True, "interrupted (Ctrl-C)"
            self._emit("abort", reason=outcome.reason, condition="signal")
            raise
        except Exception as exc:
            outcome.aborted, outcome.reason = True, f"error: {type(exc).__name__}: {exc}"
            self._emit("error", message=outcome.reason)
        finally:
            for item in planned:
                self._revert(item)
            probes.stop()
            if load is not None:
                load.stop()
            self.journal.set_context(phase=None)
            if not outcome.reason.startswith("interrupted"):
                outcome.unsettled = self._account_workflows()
            outcome.submitted = len(self._submitted)
            self._emit("scenario_end", aborted=outcome.aborted, reason=outcome.reason or None)
            self.journal.set_context(scenario=None, repeat=None)
        outcome.probe_failures = sum(not ok for hist in probes.history.values() for ok in hist)
        return outcome

    def _run_phases(self, scenario: Scenario, planned: list[_Planned], probes: ProbeSet) -> None:
        inject_start: float | None = None
        for phase in PHASES:
            duration = getattr(scenario.phases, phase)
            if self.before_phase is not None:
                waited_from = time.monotonic()
                self.before_phase(self, phase, scenario)
                if inject_start is not None:
                    # time spent waiting for the facilitator does not count against the fault schedule
                    inject_start += time.monotonic() - waited_from
            start = time.monotonic()
            self.journal.set_context(phase=phase)
            self.status.phase, self.status.phase_ends_at = phase, start + duration
            self._emit("phase_start", planned_s=duration)
            if phase == "inject":
                inject_start = start
            if phase == "revert":
                for item in planned:
                    self._revert(item)
            while True:
                now = time.monotonic()
                if inject_start is not None and phase in ("inject", "observe"):
                    offset = now - inject_start
                    for item in planned:
                        if not item.injected and offset >= item.inject_at:
                            self._inject(item)
                        elif item.injected and not item.reverted and offset >= item.revert_at:
                            self._revert(item)
                self._check_abort(scenario, probes)
                if now - start >= duration:
                    break
                time.sleep(min(TICK_S, max(0.0, duration - (now - start))))
            self._emit("phase_end")

    def _account_workflows(self) -> int:
        """Poll every submitted workflow until settled or ``settle_s``; one outcome event each."""
        if self.workflow is None:
            return 0
        with self._sub_lock:
            pending = dict(self._submitted)
        deadline = time.monotonic() + self.settle_s
        final: dict[str, str] = {}
        while pending:
            for wf_id in list(pending):
                try:
                    state = self.workflow.state(wf_id)
                except httpx.HTTPError:
                    continue
                if self.workflow.is_done(state) or self.workflow.is_failed(state) or state == "UNKNOWN":
                    final[wf_id] = state
                    pending.pop(wf_id)
            if not pending or time.monotonic() >= deadline:
                break
            time.sleep(0.25)
        for wf_id, state in final.items():
            if self.workflow.is_done(state):
                self._emit("workflow_completed", workflow_id=wf_id, state=state)
            else:
                self._emit("workflow_failed", workflow_id=wf_id, state=state)
        for wf_id in pending:
            try:
                state = self.workflow.state(wf_id)
            except httpx.HTTPError as exc:
                state = f"unreachable ({type(exc).__name__})"
            self._emit("workflow_pending", workflow_id=wf_id, state=state)
        return len(pending)
