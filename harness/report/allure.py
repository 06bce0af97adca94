"""``allure-results/``: the run in Allure's result format, written directly.

One result per scenario repeat (steps per phase, a nested step per fault, attachments:
the repeat's journal excerpt and an SVG timeline), one per contract suite and edge, and
the run-wide integrity and policy checks. ``build_allure_report`` turns the folder into
the Allure HTML report with the Allure CLI from npm (Allure 3 ``allure`` or Allure 2
``allure-commandline``), found next to the project or on PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.model.journal import Event, FaultInjectedEvent, ProbeEvent
from harness.model.scorecard import RepeatResult, ScenarioResult, Scorecard
from harness.report.base import ReportContext, Reporter
from harness.report.data import ScoredRun, journal_excerpt, timelines
from harness.report.svg import timeline_svg

__all__ = ["ALLURE_INSTALL_HINT", "AllureNotFound", "build_allure_report", "find_allure", "write_allure_results"]

ALLURE_INSTALL_HINT = ("the Allure CLI is not installed; install it with "
                       "`npm install --prefix .ci/allure allure` (Allure 3, needs node >= 18) "
                       "or put `allure` on PATH, or set HARNESS_ALLURE=/path/to/allure")


class AllureNotFound(HarnessError):
    exit_code = 1


def _uid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "harness:" + ":".join(map(str, parts))))


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class _Writer:
    def __init__(self, out: Path, run_id: str) -> None:
        self.out, self.run_id = out, run_id

    def attach(self, owner: str, name: str, body: str, mime: str, ext: str) -> dict[str, str]:
        source = f"{_uid(self.run_id, owner, name)}-attachment.{ext}"
        (self.out / source).write_text(body, encoding="utf-8")
        return {"name": name, "source": source, "type": mime}

    def result(self, *, full_name: str, name: str, status: str, start: float, stop: float,
               labels: dict[str, str], message: str = "", trace: str = "", steps: list[dict] | None = None,
               attachments: list[dict] | None = None, parameters: dict[str, str] | None = None,
               description: str = "") -> None:
        # historyId stays stable across runs so Allure can show the history of a scenario.
        res = {
            "uuid": _uid(self.run_id, full_name), "historyId": _md5(full_name), "testCaseId": _md5(full_name),
            "fullName": full_name, "name": name, "status": status, "stage": "finished",
            "statusDetails": {"message": message, "trace": trace} if message or trace else {},
            "start": int(start * 1000), "stop": int(max(stop, start) * 1000), "description": description,
            "labels": [{"name": k, "value": v} for k, v in labels.items()]
            + [{"name": "framework", "value": "harness"}, {"name": "language", "value": "python"}],
            "parameters": [{"name": k, "value": v} for k, v in (parameters or {}).items()],
            "steps": steps or [], "attachments": attachments or [], "links": [],
        }
        (self.out / f"{res['uuid']}-result.json").write_text(json.dumps(res, indent=1), encoding="utf-8")


def _phase_steps(r: RepeatResult, events: list[Event], scenario: str, wall: float) -> list[dict[str, Any]]:
    """One step per phase; failed when a probe failed in it; a nested step per fault injected in it."""
    fails: dict[str, list[str]] = {}
    faults: dict[str, list[FaultInjectedEvent]] = {}
    for ev in events:
        if ev.scenario != scenario or ev.repeat != r.repeat or ev.phase is None:
            continue
        if isinstance(ev, ProbeEvent) and not ev.ok:
            fails.setdefault(ev.phase, []).append(f"{ev.probe}: {ev.detail or 'failed'}")
        elif isinstance(ev, FaultInjectedEvent):
            faults.setdefault(ev.phase, []).append(ev)
    steps = []
    for phase, (t0, t1) in r.phase_windows.items():
        stats = r.phases.get(phase)
        params = [] if stats is None else [
            {"name": "availability", "value": "n/a" if stats.availability is None else f"{stats.availability:.4f}"},
            {"name": "p95 ms", "value": "n/a" if stats.p95_latency_ms is None else f"{stats.p95_latency_ms:.0f}"},
            {"name": "requests", "value": str(stats.requests)},
        ]
        failed = fails.get(phase, [])
        sub = [{"name": f"inject {ev.type} on {ev.target} ({ev.fault_id})",
                "status": "passed", "stage": "finished", "start": int((ev.t_mono + wall) * 1000),
                "stop": int((ev.t_mono + wall) * 1000), "steps": [], "attachments": [], "parameters": []}
               for ev in faults.get(phase, [])]
        steps.append({
            "name": f"phase {phase}", "status": "failed" if failed else "passed", "stage": "finished",
            "statusDetails": {"message": f"{len(failed)} probe failure(s): {failed[0]}"} if failed else {},
            "start": int((t0 + wall) * 1000), "stop": int((t1 + wall) * 1000),
            "steps": sub, "attachments": [], "parameters": params,
        })
    return steps


def _scenario_results(w: _Writer, run: ScoredRun, sc: ScenarioResult, wall: float) -> None:
    tl = timelines([e for e in run.events if e.scenario == sc.scenario]).get(sc.scenario)
    for r in sc.repeats:
        full = f"harness.scenarios.{sc.scenario}.repeat{r.repeat}"
        problems = [f"probe {p.probe} held {p.ok}/{p.total}" for p in r.probes if p.ok < p.total]
        problems += [f"SLO {s.metric} in {s.phase}: {s.actual}" for s in r.slos if not s.passed]
        status = "broken" if r.aborted else ("passed" if r.passed else "failed")
        message = (f"aborted: {r.abort_reason}" if r.aborted else
                   "" if r.passed else f"score {r.score:.1f}: " + "; ".join(problems[:3]))
        attachments = []
        excerpt = journal_excerpt(run.events, scenario=sc.scenario, repeat=r.repeat)
        if excerpt:
            attachments.append(w.attach(full, "journal excerpt", excerpt, "text/plain", "txt"))
        if tl is not None:
            t_from = r.started_at - tl.t0_mono
            t_to = (r.ended_at - tl.t0_mono) if r.ended_at is not None else None
            attachments.append(w.attach(full, "timeline", timeline_svg(tl, t_from=t_from, t_to=t_to),
                                        "image/svg+xml", "svg"))
        w.result(full_name=full, name=f"{sc.title} [repeat {r.repeat}]", status=status,
                 start=r.started_at + wall, stop=(r.ended_at or r.started_at) + wall,
                 labels={"parentSuite": f"harness run {run.run_id}", "suite": "scenarios",
                         "subSuite": sc.scenario, "feature": "resilience", "story": sc.scenario,
                         "severity": "critical" if sc.weight >= 8 else "normal"},
                 message=message, trace="\n".join(problems),
                 steps=_phase_steps(r, run.events, sc.scenario, wall), attachments=attachments,
                 parameters={"repeat": str(r.repeat), "score": f"{r.score:.1f}"})


def _wall_offset(run: ScoredRun) -> float:
    """Add to a t_mono to get epoch seconds (from the journal, else from the run start)."""
    if run.events:
        return run.events[0].t_wall - run.events[0].t_mono
    starts = [r.started_at for s in run.scorecard.scenarios for r in s.repeats]
    return run.scorecard.run.started_at - (min(starts) if starts else 0.0)


def write_allure_results(run: ScoredRun, out: Path) -> Path:
    """Write (replace) ``out`` with result files for this run; return ``out``."""
    card: Scorecard = run.scorecard
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    w = _Writer(out, run.run_id)
    wall = _wall_offset(run)
    for sc in card.scenarios:
        _scenario_results(w, run, sc, wall)
    start, stop = card.run.started_at, card.run.ended_at or card.run.started_at
    for c in card.contracts:
        bad = [f"breaking: {b}" for b in c.breaking_changes] + [f"{f.name}: {f.message}" for f in c.failures]
        w.result(full_name=f"harness.contracts.{c.suite}.{c.edge}", name=f"{c.suite} contract {c.edge}",
                 status="failed" if c.failed or c.breaking_changes else "passed", start=start, stop=stop,
                 labels={"parentSuite": f"harness run {run.run_id}", "suite": "contracts", "subSuite": c.suite,
                         "feature": "contracts"},
                 message=f"{c.failed} failed, {len(c.breaking_changes)} breaking" if bad else "",
                 trace="\n".join(bad), parameters={"passed": str(c.passed), "failed": str(c.failed)})
    integ = card.integrity
    status, message = ("failed", f"{len(integ.lost)} lost, {integ.duplicated_text} duplicated")
    if integ.ok and integ.duplicated is not None:
        status, message = "passed", ""
    elif integ.ok:
        status, message = _not_measured(bool(integ.declared)), f"no lost work; duplicated work {integ.duplicated_text}"
    w.result(full_name="harness.run.integrity", name="integrity: no lost or duplicated work",
             status=status, start=start, stop=stop,
             labels={"parentSuite": f"harness run {run.run_id}", "suite": "run", "feature": "integrity"},
             message=message,
             trace="\n".join([f"lost {x.workflow_id}: {x.detail}" for x in integ.lost]
                             + [f"duplicated {x.workflow_id}: {x.detail}" for x in integ.duplicated_items]))
    pol = card.policy
    status, message = ("failed", f"{len(pol.violations)} violation(s)") if pol.violations else ("passed", "")
    if not pol.violations and pol.adherence is None:
        status = _not_measured(pol.declared)
        message = f"policy adherence not measured ({pol.not_measured or 'no agent actions'})"
    w.result(full_name="harness.run.policy", name="policy: every agent action allowed",
             status=status, start=start, stop=stop,
             labels={"parentSuite": f"harness run {run.run_id}", "suite": "run", "feature": "policy"},
             message=message,
             trace="\n".join(f"{v.principal} {v.action} {v.resource} trace={v.trace_id}: {v.reason}"
                             for v in pol.violations))
    env = {"run_id": card.run.run_id, "system": card.run.system, "git_sha": card.run.git_sha,
           "seed": card.run.seed, **card.run.versions}
    (out / "environment.properties").write_text(
        "".join(f"{k}={v}\n" for k, v in env.items() if v is not None), encoding="utf-8")
    return out


def _not_measured(declared: bool) -> str:
    """Status of a run-wide check the scorecard could not measure, never "passed": skipped
    when system.yaml declares nothing for it, failed when it does (the telemetry is missing)."""
    return "failed" if declared else "skipped"


def find_allure() -> str | None:
    """The Allure CLI: $HARNESS_ALLURE, the project-local npm install, or PATH."""
    explicit = os.environ.get("HARNESS_ALLURE")
    if explicit:
        return explicit if Path(explicit).exists() else None
    root = Path(__file__).resolve().parents[2]
    for base in (root / ".ci" / "allure", root, Path.cwd()):
        candidate = base / "node_modules" / ".bin" / "allure"
        if candidate.exists():
            return str(candidate)
    return shutil.which("allure")


def build_allure_report(results: Path, out: Path, *, name: str = "harness", timeout: float = 180.0) -> Path:
    """Run ``allure generate`` into ``out`` as ONE ``index.html`` that opens from disk
    (a multi-file Allure report needs a web server); raise AllureNotFound with the hint."""
    exe = find_allure()
    if exe is None:
        raise AllureNotFound(ALLURE_INSTALL_HINT)
    env = {**os.environ, "NO_COLOR": "1"}
    shutil.rmtree(out, ignore_errors=True)  # Allure 2 refuses an existing folder without --clean
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60, env=env,
                             check=False).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        if version.startswith("2."):
            cmd = [exe, "generate", str(results), "-o", str(out), "--clean", "--single-file"]
        else:  # Allure 3: no --single-file flag; the awesome plugin takes it from a config file
            config = Path(tmp) / "allurerc.json"
            config.write_text(json.dumps({"name": name, "output": str(out.resolve()), "plugins": {
                "awesome": {"options": {"singleFile": True, "reportName": name}}}}), encoding="utf-8")
            cmd = [exe, "generate", str(results.resolve()), "-c", str(config)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp,
                              check=False)
    if proc.returncode != 0 or not (out / "index.html").exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise HarnessError(f"allure generate failed (exit {proc.returncode}): {tail[0]}")
    return out


def _write_allure(ctx: ReportContext) -> Path:
    return write_allure_results(ctx.run, ctx.folder.allure_results)


REPORTER = Reporter("allure", "allure-results/: Allure result files (`harness report --allure` builds the HTML)",
                    _write_allure)
