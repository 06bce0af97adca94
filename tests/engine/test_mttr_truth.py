"""MTTR on a real sandbox run against a known truth: the orchestrator is frozen (SIGSTOP)
for a known window, so service is out from injection to revert; MTTR must match that
within one probe interval (the stated resolution)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.engine.run import RunOptions, execute_run
from harness.model.journal import FaultInjectedEvent, FaultRevertedEvent, parse_journal_lines
from harness.sandbox import Sandbox
from tests.engine.conftest import target_of, write_scenario

pytestmark = pytest.mark.slow

INTERVAL = 0.25


def test_mttr_is_within_one_probe_interval_of_the_truth(sandbox: Sandbox, tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, "freeze", f"""
title: orchestrator frozen for 2 s
phases: {{baseline: 1s, inject: 2s, recover: 2s}}
stable_for: 500ms
steady_state:
  - {{type: http, name: health, service: orchestrator, path: /healthz, interval_s: {INTERVAL}, timeout_s: 1s}}
faults:
  - {{type: pause, target: {{service: orchestrator}}}}
""")
    result = execute_run(RunOptions(target=target_of(sandbox), scenarios=[scenario], out_root=tmp_path / "reports",
                                    settle_s=2, ledger_path=tmp_path / "ledger.jsonl", repeats=2))
    events = parse_journal_lines((result.run_dir / "journal.jsonl").read_text().splitlines())
    card = json.loads((result.run_dir / "scorecard.json").read_text())
    assert card["run"]["probe_interval_s"] == INTERVAL
    faults = [f for rep in card["scenarios"][0]["repeats"] for f in rep["faults"]]
    assert len(faults) == 2
    errors = []
    for fault in faults:
        on = next(e for e in events if isinstance(e, FaultInjectedEvent) and e.fault_id == fault["fault_id"])
        off = next(e for e in events if isinstance(e, FaultRevertedEvent) and e.fault_id == fault["fault_id"])
        # Frozen from SIGSTOP to SIGCONT. The pause fault arms its SIGCONT watchdog first and sends
        # SIGSTOP last, so the freeze begins when injecting ends (t_mono + duration_ms; up to 0.2 s
        # after T0 on a loaded machine). Detection lags the freeze by at most one probe interval.
        frozen_after = (on.duration_ms or 0.0) / 1000
        truth = off.t_mono - (on.t_mono + frozen_after)
        assert fault["impact"] and fault["recovered"], fault
        assert 0 <= fault["mttd_s"] <= frozen_after + INTERVAL + 0.05, (fault, frozen_after)
        errors.append(fault["mttr_s"] - truth)
    # MTTR = T3 - T1 (docs/scoring.md): T1 is the first failed probe's send time, up to one interval
    # after the freeze began, so the error lies in [-interval, +answer latency]; 30 ms allow for the
    # probe thread's scheduling on a loaded 2-core machine. Measured here: -0.22 to -0.24 s.
    assert all(-INTERVAL - 0.03 <= err <= 0.05 for err in errors), errors
