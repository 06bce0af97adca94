"""``harness run`` end to end on the real sandbox: faults on and off, accounting, abort, Ctrl-C."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.engine.run import EXIT_ABORTED, EXIT_INTERRUPTED, RunOptions, execute_run
from harness.model.journal import (
    AbortEvent,
    FaultInjectedEvent,
    FaultRevertedEvent,
    ScenarioEndEvent,
    WorkflowOutcomeEvent,
    WorkflowSubmittedEvent,
    parse_journal_lines,
)
from harness.sandbox import Sandbox
from tests.engine.conftest import proxies_state, target_of, write_scenario

pytestmark = pytest.mark.slow

PROBES = """
steady_state:
  - {type: http, name: health, service: orchestrator, path: /healthz, interval_s: 200ms}
  - {type: workflow, name: claim, deadline_s: 6, interval_s: 300ms}
"""

LATENCY_AND_503 = f"""
title: latency on risk and 503s from intake
phases: {{baseline: 1s, inject: 3s, recover: 2s}}
stable_for: 500ms
{PROBES}
load: {{users: 2, spawn_rate: 2, think_time_s: [0.1, 0.2]}}
faults:
  - {{type: latency, target: {{edge: risk}}, params: {{latency: 100}}}}
  - {{type: http_status, target: {{edge: intake}}, at_s: 1, duration_s: 1, toxicity: 0.5,
     params: {{status: 503, headers: {{Retry-After: "0"}}}}}}
slos:
  - {{metric: availability, phase: baseline, min: 0.9}}
"""

PAUSE = f"""
title: pause the approval agent
phases: {{baseline: 1s, inject: 2s, recover: 3s}}
stable_for: 500ms
{PROBES}
faults:
  - {{type: pause, target: {{service: approval}}}}
"""


def _events(run_dir: Path) -> list:
    return parse_journal_lines((run_dir / "journal.jsonl").read_text().splitlines())


def test_run_injects_and_reverts_every_fault_and_accounts_for_all_work(sandbox: Sandbox, tmp_path: Path) -> None:
    scenarios = [write_scenario(tmp_path / "sc", "latency-503", LATENCY_AND_503),
                 write_scenario(tmp_path / "sc", "pause", PAUSE)]
    result = execute_run(RunOptions(target=target_of(sandbox), scenarios=scenarios, out_root=tmp_path / "reports",
                                    settle_s=20, ledger_path=tmp_path / "ledger.jsonl", seed=7,
                                    contract_suites=("a2a", "mcp")))
    events = _events(result.run_dir)
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    injected = {e.fault_id for e in events if isinstance(e, FaultInjectedEvent)}
    reverted = {e.fault_id for e in events if isinstance(e, FaultRevertedEvent) and e.ok}
    assert len(injected) == 3 and injected == reverted
    # phases in order, per scenario
    phases = [e.phase for e in events if e.kind == "phase_start" and e.scenario == "pause"]
    assert phases == ["baseline", "inject", "observe", "revert", "recover"]
    # the proxy holds no toxic afterwards and every proxy is enabled
    for proxy in proxies_state(sandbox).values():
        assert proxy["toxics"] == [] and proxy["enabled"] is True
    # the paused agent runs again (state R or S, not T)
    stat = Path(f"/proc/{sandbox.supervisor.pid('approval')}/stat").read_text()
    assert stat.split(")")[1].split()[0] != "T"
    # every submitted workflow has exactly one outcome, none lost
    submitted = [e.workflow_id for e in events if isinstance(e, WorkflowSubmittedEvent)]
    outcomes = [e for e in events if isinstance(e, WorkflowOutcomeEvent)]
    assert submitted and sorted(submitted) == sorted(e.workflow_id for e in outcomes)
    assert not [e for e in outcomes if e.state == "UNKNOWN"]
    assert sum(e.kind == "load_sample" for e in events) > 10
    # the run was scored and reported
    card = json.loads((result.run_dir / "scorecard.json").read_text())
    assert card["integrity"]["lost"] == [] and card["integrity"]["duplicated"] == []
    suites = {(c["suite"], c["edge"]): c for c in card["contracts"]}
    assert {s for s, _ in suites} == {"a2a", "mcp"}, "contract results must reach the scorecard"
    assert all(c["passed"] > 0 and c["failed"] == 0 for c in suites.values()), suites
    for name in ("report.html", "summary.md", "junit.xml"):
        assert (result.run_dir / name).exists()
    assert (tmp_path / "reports" / "latest").resolve() == result.run_dir.resolve()
    ledger = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert ledger, "faults must be written to the cleanup ledger"


def test_abort_condition_stops_early_and_reverts(sandbox: Sandbox, tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "sc", "abort", """
title: intake down with an abort condition
phases: {baseline: 1s, inject: 20s, recover: 1s}
steady_state:
  - {type: workflow, name: claim, deadline_s: 1500ms, interval_s: 100ms}
faults:
  - {type: down, target: {edge: intake}}
abort_when:
  - {probe: claim, consecutive_failures: 2}
""")
    start = time.monotonic()
    random.seed(1234)
    expected_next = random.Random(1234).random()
    result = execute_run(RunOptions(target=target_of(sandbox), scenarios=[scenario], out_root=tmp_path / "reports",
                                    settle_s=15, ledger_path=tmp_path / "ledger.jsonl", seed=5))
    elapsed = time.monotonic() - start
    assert random.random() == expected_next, "a run must not reseed (or draw from) the global random generator"
    assert result.exit_code == EXIT_ABORTED
    events = _events(result.run_dir)
    abort = next(e for e in events if isinstance(e, AbortEvent))
    assert "claim" in abort.reason and abort.phase == "inject"
    reverted = next(e for e in events if isinstance(e, FaultRevertedEvent))
    assert reverted.t_mono >= abort.t_mono and reverted.ok
    assert next(e for e in events if isinstance(e, ScenarioEndEvent)).aborted is True
    assert elapsed < 20, "the 20 s inject phase must have been cut short"
    assert proxies_state(sandbox)["intake"]["enabled"] is True


def test_ctrl_c_during_inject_reverts_everything(sandbox: Sandbox, tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path / "sc", "interrupt", f"""
title: interrupted while faults are on
phases: {{baseline: 1s, inject: 30s, recover: 1s}}
{PROBES}
faults:
  - {{type: latency, target: {{edge: payout}}, params: {{latency: 50}}}}
  - {{type: pause, target: {{service: notify}}}}
""")
    out = tmp_path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(scenario), "--system", str(sandbox.system_yaml_path),
         "--no-progress", "--out", str(out), "--settle", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + 60
    journal = None
    while time.monotonic() < deadline:
        runs = list(out.glob("*/journal.jsonl")) if out.exists() else []
        if runs and sum('"kind":"fault_injected"' in line for line in runs[0].read_text().splitlines()) == 2:
            journal = runs[0]
            break
        time.sleep(0.1)
    assert journal is not None, "faults were never injected"
    assert proxies_state(sandbox)["payout"]["toxics"], "the latency toxic should be live"
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_INTERRUPTED, output
    assert "Traceback" not in output
    events = parse_journal_lines(journal.read_text().splitlines())
    assert sum(isinstance(e, FaultRevertedEvent) and e.ok for e in events) == 2
    assert any(e.kind == "abort" for e in events) and events[-1].kind == "run_end"
    assert proxies_state(sandbox)["payout"]["toxics"] == []
    stat = Path(f"/proc/{sandbox.supervisor.pid('notify')}/stat").read_text()
    assert stat.split(")")[1].split()[0] != "T", "the paused agent must be continued"
