"""MTTD / MTTR per fault injection, and the steady-state checks, from probe series.

Timestamps (all ``t_mono`` seconds):

* T0 ``fault_injected``; T2 its ``fault_reverted`` (``None`` if never reverted).
* T1 impact start: the first failed probe sent at/after T0 (one still in flight at T0 and failed
  after it counts at T0: the fault may have caused it), or, if earlier, the moment an SLO
  breach becomes attributable to the fault (``max(T0, start of the breached phase)`` for a
  failed SLO whose phase window overlaps ``[T0, T2 or end]``; SLOs are only known per phase).
* T3 restored: the first probe sample time ``c >= T1`` at which every probe's latest result
  is OK and no probe fails in ``(c, c + stable_for]``, observed up to ``c + stable_for``.

MTTD = T1 - T0, MTTR = T3 - T1, recovery after revert = max(0, T3 - T2). No T1 means
"no impact": all three stay ``None``, never 0. T1 without T3 means "not recovered".
The resolution of all of them is the probe interval (samples are discrete).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from harness.model.journal import FaultInjectedEvent, FaultRevertedEvent, ProbeEvent
from harness.model.scorecard import FaultResult, SloVerdict
from harness.scoring.timeline import RepeatView

EPS = 1e-9


@dataclass(frozen=True)
class ProbeObs:
    t: float
    probe: str
    ok: bool
    done: float | None = None  # when the answer came (``t`` for successes)


def probe_series(view: RepeatView) -> list[ProbeObs]:
    """Probe results of a repeat, each at the moment it is evidence for, in time order.

    The engine journals a probe when it completes. A *failure* is evidence from the moment
    the probe was sent (``t_mono - latency_ms / 1000``): the system did not answer well from
    then on, and a timeout or a workflow deadline only reports it seconds later. A *success*
    is evidence only when the answer came (``t_mono``): a probe sent into a frozen system
    that is answered once it resumes says nothing about the time it was sent.
    """
    obs = []
    for e in view.of_type(ProbeEvent):
        lat = e.latency_ms
        t = e.t_mono
        if not e.ok and lat is not None and 0 <= lat <= 3_600_000:
            t -= lat / 1000.0
        obs.append((t, e.seq, ProbeObs(t, e.probe or "?", e.ok, e.t_mono)))
    return [o for _, _, o in sorted(obs, key=lambda x: (x[0], x[1]))]


def probe_phase(view: RepeatView, obs: ProbeObs) -> str | None:
    """The phase a probe result counts in: where it was sent (``obs.t``), except that a failure
    answered after baseline ended belongs to the phase of its answer. A workflow probe sent just
    before the fault and failed by it says nothing about the baseline."""
    phase = view.phase_at(obs.t)
    if phase == "baseline" and not obs.ok and obs.done is not None:
        answered_in = view.phase_at(obs.done)
        if answered_in is not None and answered_in != "baseline":
            return answered_in
    return phase


def all_ok_moments(series: list[ProbeObs]) -> list[tuple[float, bool]]:
    """``(t, every probe's latest result is OK)`` after each distinct sample time."""
    state: dict[str, bool] = {}
    out: list[tuple[float, bool]] = []
    i = 0
    while i < len(series):
        t = series[i].t
        while i < len(series) and series[i].t == t:
            state[series[i].probe] = series[i].ok
            i += 1
        out.append((t, all(state.values())))
    return out


def restored_at(series: list[ProbeObs], since: float, stable_for: float, until: float) -> float | None:
    """T3: first sample time ``c >= since`` after which every probe holds for ``stable_for``."""
    fail_times = [o.t for o in series if not o.ok]
    for t, all_ok in all_ok_moments(series):
        if t < since - EPS or not all_ok:
            continue
        if t + stable_for > until + EPS:
            return None  # not observed long enough; later candidates are even shorter
        nxt = bisect_right(fail_times, t)
        if nxt == len(fail_times) or fail_times[nxt] > t + stable_for + EPS:
            return t
    return None


def first_failure(series: list[ProbeObs], since: float) -> float | None:
    """Earliest failure evidence at/after ``since``. A failed probe sent just before ``since``
    but answered after it was in flight when the fault began, so it counts, at ``since``."""
    times = [max(o.t, since) for o in series
             if not o.ok and (o.t >= since - EPS or (o.done is not None and o.done > since))]
    return min(times, default=None)


def fault_results(view: RepeatView, series: list[ProbeObs], slos: list[SloVerdict]) -> list[FaultResult]:
    """One ``FaultResult`` per ``fault_injected`` event of the repeat."""
    reverts: dict[str, list[float]] = {}
    for reverted in view.of_type(FaultRevertedEvent):
        reverts.setdefault(reverted.fault_id, []).append(reverted.t_mono)
    until = probes_until(view, series)
    results = []
    for ev in view.of_type(FaultInjectedEvent):
        fid = ev.fault_id or f"fault-{ev.seq}"
        t0 = ev.t_mono
        t2 = next((t for t in sorted(reverts.get(fid, [])) if t >= t0 - EPS), None)
        t1 = _impact_start(view, series, slos, t0, t2 if t2 is not None else until)
        t3 = restored_at(series, t1, view.config.stable_for, until) if t1 is not None else None
        results.append(FaultResult(
            fault_id=fid,
            type=ev.type or "unknown",
            target=target_label(ev.target),
            injected_at=t0,
            reverted_at=t2,
            impact=t1 is not None,
            mttd_s=None if t1 is None else t1 - t0,
            mttr_s=None if t1 is None or t3 is None else t3 - t1,
            recovery_after_revert_s=(max(0.0, t3 - t2) if t3 is not None and t2 is not None else None),
            recovered=t1 is None or t3 is not None,
        ))
    return results


def _impact_start(view: RepeatView, series: list[ProbeObs], slos: list[SloVerdict],
                  t0: float, fault_end: float) -> float | None:
    candidates = []
    probe_t = first_failure(series, t0)
    if probe_t is not None:
        candidates.append(probe_t)
    for verdict in slos:
        if verdict.passed:
            continue
        window = ((view.started_at, view.observed_until) if verdict.phase == "all"
                  else view.phase_windows.get(verdict.phase))
        if window is not None and window[0] <= fault_end + EPS and window[1] >= t0 - EPS:
            candidates.append(max(window[0], t0))
    return min(candidates) if candidates else None


def probes_until(view: RepeatView, series: list[ProbeObs]) -> float:
    """How far the probes observed the system: the end of ``recover`` (probes run through it)
    or the last probe sample. Not ``scenario_end``: the engine polls workflow outcomes after
    the phases, when no probe runs any more."""
    last = series[-1].t if series else view.started_at
    recover = view.phase_windows.get("recover")
    return max(last, recover[1]) if recover is not None else last


def target_label(target: str | dict[str, str | None] | None) -> str:
    """``{"edge": "a->b"}`` (older writers) -> ``edge:a->b``; strings pass through."""
    if isinstance(target, dict):
        return ",".join(f"{k}:{v}" for k, v in sorted(target.items()) if v is not None) or "?"
    return "?" if target is None else target


def steady_before(view: RepeatView, series: list[ProbeObs]) -> bool:
    """Steady state before the experiment: every probe sample in ``baseline`` held."""
    return all(o.ok for o in series if view.phase_at(o.t) == "baseline")


def steady_after(series: list[ProbeObs], stable_for: float, until: float) -> bool:
    """Steady state after the experiment: all probes held continuously over at least the
    last ``stable_for`` seconds of observation (vacuously true without probes)."""
    if not series:
        return True
    ok_since: float | None = None
    for t, all_ok in all_ok_moments(series):
        if not all_ok:
            ok_since = None
        elif ok_since is None:
            ok_since = t
    return ok_since is not None and until - ok_since >= stable_for - EPS
