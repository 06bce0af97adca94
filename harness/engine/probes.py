"""Steady-state probes, each on its own thread and interval.

Every result is one ``probe`` journal event (probe, ok, latency_ms, detail). The
latest results are also kept in memory so abort conditions can be evaluated live.
A workflow probe submits one work item per round and waits for it (up to its
deadline), so its rounds are as long as the workflow takes.

Probe types are a catalog: each ``ProbeKind`` is a spec model (a ``ProbeSpec`` subclass),
a ``run(spec, context)`` function and a docs line, registered once in ``BUILTIN_PROBES``.
Users add their own through the ``harness.probes`` entry point group (docs/scenarios.md);
a scenario probe of a type the scenario model does not know is checked against its kind's
spec model here.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import deque
from typing import Any

import httpx
from pydantic import ValidationError

from harness.engine import probe_tcp
from harness.engine.probe_base import Emit, ProbeContext, ProbeKind, ProbeResult
from harness.engine.workflow import WorkflowEngine
from harness.errors import ConfigError
from harness.jsontools import resolve_pointer
from harness.model.scenario import CommandProbe, HttpProbe, JsonCheck, ProbeSpec, WorkflowProbe
from harness.plugins import Catalog

__all__ = [
    "BUILTIN_PROBES", "PROBES", "PROBE_ENTRY_POINT_GROUP", "ProbeContext", "ProbeKind", "ProbeResult", "ProbeSet",
    "probe_kinds", "reset_probe_kinds", "resolve_probe", "run_command_probe", "run_http_probe", "run_workflow_probe",
]


def _check_json(check: JsonCheck, doc: Any) -> str | None:
    """None if the check holds, else why not."""
    value = resolve_pointer(doc, check.pointer)
    if check.equals is not None and value != check.equals:
        return f"{check.pointer} = {value!r}, expected {check.equals!r}"
    if check.min is not None or check.max is not None:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return f"{check.pointer} = {value!r}, expected a number"
        if check.min is not None and value < check.min:
            return f"{check.pointer} = {value} < {check.min}"
        if check.max is not None and value > check.max:
            return f"{check.pointer} = {value} > {check.max}"
    return None


def run_http_probe(probe: HttpProbe, client: httpx.Client, base_urls: dict[str, str] | None = None) -> ProbeResult:
    start = time.monotonic()
    try:
        resp = client.request(probe.method, probe.resolved_url(base_urls or {}), timeout=probe.timeout_s)
    except httpx.HTTPError as exc:
        return ProbeResult(False, (time.monotonic() - start) * 1000, f"{type(exc).__name__}: {exc}"[:200])
    latency_ms = (time.monotonic() - start) * 1000
    if resp.status_code not in probe.expect_status:
        return ProbeResult(False, latency_ms, f"status {resp.status_code}")
    if probe.max_latency_ms is not None and latency_ms > probe.max_latency_ms:
        return ProbeResult(False, latency_ms, f"latency {latency_ms:.0f} ms > {probe.max_latency_ms:.0f} ms")
    if probe.json_check is not None:
        try:
            doc = resp.json()
        except ValueError:
            return ProbeResult(False, latency_ms, "response is not JSON")
        problem = _check_json(probe.json_check, doc)
        if problem:
            return ProbeResult(False, latency_ms, problem)
    return ProbeResult(True, latency_ms)


def run_command_probe(probe: CommandProbe) -> ProbeResult:
    start = time.monotonic()
    try:
        proc = subprocess.run(probe.command, capture_output=True, timeout=probe.timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ProbeResult(False, (time.monotonic() - start) * 1000, str(exc)[:200])
    latency_ms = (time.monotonic() - start) * 1000
    if proc.returncode != probe.expect_exit:
        return ProbeResult(False, latency_ms, f"exit {proc.returncode}")
    return ProbeResult(True, latency_ms)


def run_workflow_probe(probe: WorkflowProbe, client: WorkflowEngine, emit: Emit,
                       stop: threading.Event) -> ProbeResult:
    start = time.monotonic()
    try:
        wf_id, key = client.submit(probe.body)
    except (httpx.HTTPError, ValueError) as exc:
        return ProbeResult(False, (time.monotonic() - start) * 1000, f"submit failed: {exc}"[:200])
    emit("workflow_submitted", workflow_id=wf_id, key=key, source=f"probe:{probe.name}")
    deadline = start + probe.deadline_s
    state = "UNKNOWN"
    while time.monotonic() < deadline and not stop.is_set():
        try:
            state = client.state(wf_id)
        except httpx.HTTPError as exc:
            state = f"unreachable ({type(exc).__name__})"
        if client.is_done(state):
            return ProbeResult(True, (time.monotonic() - start) * 1000, wf_id)
        if client.is_failed(state):
            return ProbeResult(False, (time.monotonic() - start) * 1000, f"{wf_id} {state}")
        stop.wait(0.1)
    return ProbeResult(False, (time.monotonic() - start) * 1000,
                       f"{wf_id} not done within {probe.deadline_s:g}s (state {state})")


def _workflow_round(probe: WorkflowProbe, ctx: ProbeContext) -> ProbeResult:
    if ctx.workflow is None:
        return ProbeResult(False, 0.0, "system.yaml has no 'workflow' section")
    return run_workflow_probe(probe, ctx.workflow, ctx.emit, ctx.stop)


PROBE_ENTRY_POINT_GROUP = "harness.probes"
BUILTIN_PROBES: tuple[ProbeKind, ...] = (
    ProbeKind("http", HttpProbe, lambda probe, ctx: run_http_probe(probe, ctx.http, ctx.base_urls),
              "an HTTP request; ok when the status, latency and an optional JSON check hold"),
    ProbeKind("workflow", WorkflowProbe, _workflow_round,
              "submit one work item through system.yaml's workflow; ok when it finishes by deadline_s"),
    ProbeKind("command", CommandProbe, lambda probe, _ctx: run_command_probe(probe),
              "run a command; ok when it exits with expect_exit within timeout_s"),
    probe_tcp.KIND,
)

PROBES: Catalog[ProbeKind] = Catalog(PROBE_ENTRY_POINT_GROUP, ProbeKind, "probe type", BUILTIN_PROBES)
#: name -> kind for every built-in and plugin probe type (the plugins loaded once)
probe_kinds = PROBES.kinds
#: forget the loaded kinds, so the next use reads the entry points again (for tests)
reset_probe_kinds = PROBES.reset


def resolve_probe(probe: ProbeSpec) -> ProbeSpec:
    """The probe as its kind's spec model; ``ConfigError`` naming the field if it does not fit."""
    kinds = probe_kinds()
    kind = kinds.get(probe.type)
    if kind is None:
        raise ConfigError(f"unknown probe type {probe.type!r}; known: {', '.join(sorted(kinds))}", field="type")
    if isinstance(probe, kind.spec):
        return probe
    try:
        return kind.spec.model_validate(probe.model_dump(by_alias=True, exclude_unset=True))
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; see `harness schema` for allowed fields)"
        loc = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"probe {probe.name!r}: {message}", field=loc or None) from None


class ProbeSet:
    """Runs a scenario's probes in background threads until ``stop()``."""

    def __init__(self, probes: list[ProbeSpec], emit: Emit,
                 workflow: WorkflowEngine | None, base_urls: dict[str, str] | None = None) -> None:
        """Every probe is resolved through the catalog first (``ConfigError`` if one does not fit)."""
        self.probes = [resolve_probe(p) for p in probes]
        self.base_urls = base_urls or {}
        self._emit = emit
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.history: dict[str, deque[bool]] = {p.name: deque(maxlen=1000) for p in probes}
        self._http = httpx.Client(trust_env=False)
        self._context = ProbeContext(self._http, emit, self._stop, workflow, self.base_urls)
        self._kinds = probe_kinds()

    def _once(self, probe: ProbeSpec) -> ProbeResult:
        return self._kinds[probe.type].run(probe, self._context)

    def _loop(self, probe: ProbeSpec) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            result = self._once(probe)
            if self._stop.is_set() and not result.ok:
                break  # a probe cut short by stop() says nothing about the system
            with self._lock:
                self.history[probe.name].append(result.ok)
            self._emit("probe", probe=probe.name, ok=result.ok, latency_ms=round(result.latency_ms, 3),
                       detail=result.detail)
            next_at += probe.interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at, time.monotonic() - probe.interval_s)

    def start(self) -> None:
        for probe in self.probes:
            thread = threading.Thread(target=self._loop, args=(probe,), name=f"probe-{probe.name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def consecutive_failures(self, name: str) -> int:
        with self._lock:
            count = 0
            for ok in reversed(self.history.get(name, ())):
                if ok:
                    break
                count += 1
            return count

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._http.close()
