"""Scenario YAML files run as pytest items, in parallel with xdist (each worker its own sandbox)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import write_scenario

pytestmark = pytest.mark.slow

SCENARIO = """
title: {title}
repeats: {repeats}
phases: {{baseline: 1s, inject: 2s, recover: 2s}}
stable_for: 500ms
steady_state:
  - {{type: http, name: health, service: orchestrator, path: /healthz, interval_s: 200ms}}
load: {{users: 1, spawn_rate: 1, think_time_s: [0.2, 0.3]}}
faults:
  - {{type: latency, target: {{edge: {edge}}}, params: {{latency: 50}}}}
slos:
  - {{metric: availability, phase: all, min: {min_availability}}}
"""


def test_scenarios_run_as_pytest_items_in_parallel(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    write_scenario(folder, "risk-latency", SCENARIO.format(title="risk latency", repeats=2, edge="risk",
                                                          min_availability=0))
    write_scenario(folder, "notify-latency", SCENARIO.format(title="notify latency", repeats=1, edge="notify",
                                                            min_availability=0))
    # An SLO that no availability can meet makes its item fail, with the SLO in the message
    write_scenario(folder, "impossible", SCENARIO.format(title="impossible SLO", repeats=1, edge="intake",
                                                         min_availability=1.5))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(folder), "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
         "--harness-out", str(tmp_path / "reports"), "--harness-settle", "5", "-rA", "-v",
         "-o", "addopts=", "-o", "testpaths="],
        capture_output=True, text=True, timeout=400, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "PASSED scenarios/risk-latency.yaml::risk-latency[repeat1]" in out, out
    assert "1 failed, 3 passed" in out, out
    assert "impossible.yaml::impossible[repeat0]" in out and "SLO failed: availability" in out, out
    assert "[gw0]" in out and "[gw1]" in out, "both xdist workers ran scenario items"
    runs = sorted(p.name for p in (tmp_path / "reports").iterdir() if p.is_dir() and not p.is_symlink())
    assert len(runs) == 4 and sum(r.startswith("risk-latency-r") for r in runs) == 2
