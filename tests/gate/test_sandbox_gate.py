"""End to end on the real sandbox: `harness run` writes all five outputs, and the shipped
gate passes the healthy system and fails it with a seeded defect, naming the rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
XSD = ROOT / "tests" / "report" / "junit.xsd"

# approval-outage, shortened: the approval agent is down; big claims must wait, not be paid.
SCENARIO = """\
title: Approval agent outage, short
weight: 10
phases: {baseline: 1s, inject: 4s, recover: 4s}
stable_for: 1s
steady_state:
  - {type: http, name: orchestrator-health, service: orchestrator, path: /healthz, interval_s: 250ms}
load: {users: 2, spawn_rate: 2, think_time_s: [0.2, 0.4], body: {claim_id: "BIG-{n}", amount: 2500.0,
       customer: {name: "Grace Hopper", email: "grace@example.com", iban: "DE89370400440532013000"},
       description: "big claim {n}"}}
faults:
  - type: down
    target: {edge: approval}
"""


def _harness(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(ROOT), check=False)


def _run(out: Path, scenario: Path, *defects: str) -> Path:
    args = ["run", str(scenario), "--out", str(out), "--repeats", "1", "--settle", "3", "--no-progress",
            "--seed", "7"]
    for d in defects:
        args += ["--defect", d]
    proc = _harness(*args)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 0 held, 1 SLO/steady state failed
    runs = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]  # reports/latest is a link
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.slow
def test_gate_on_healthy_and_defective_sandbox(tmp_path: Path) -> None:
    scenario = tmp_path / "approval-outage-short.yaml"
    scenario.write_text(SCENARIO)

    healthy = _run(tmp_path / "healthy", scenario)
    for name in ("report.html", "summary.md", "junit.xml", "allure-results", "scorecard.json"):
        assert (healthy / name).exists(), name
    assert (healthy.parent / "history.jsonl").read_text().count("\n") == 1
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(healthy / "junit.xml")))
    assert list((healthy / "allure-results").glob("*-result.json"))
    passed = _harness("gate", str(healthy), "--rules", "gate.yaml")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "gate passed" in passed.stdout
    # strict for the sandbox: it declares its policies and side effects, so both are measured
    card = json.loads((healthy / "scorecard.json").read_text())
    assert card["policy"]["declared"] is True and card["policy"]["adherence"] is not None, card["policy"]
    assert card["integrity"]["declared"] and card["integrity"]["duplicated"] is not None, card["integrity"]
    assert "not measured policy.adherence" not in passed.stdout
    assert "not measured integrity.duplicated" not in passed.stdout

    broken = _run(tmp_path / "defect", scenario, "fail_open_approval")
    failed = _harness("gate", str(broken), "--rules", "gate.yaml", "--baseline", str(healthy))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    # paying claims while approval is down is a policy violation: the gate names that rule
    assert "FAIL policy.adherence == 1: policy.adherence is" in failed.stdout
