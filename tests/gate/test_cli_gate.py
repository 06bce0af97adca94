"""`harness gate` as CI runs it: exit 0 pass, 1 fail, 2 usage error, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness.model.scorecard import Integrity, PolicyResult, Scorecard, Stat
from tests.report.synth import healthy_scorecard, write_run

ROOT = Path(__file__).resolve().parents[2]
NO_POLICIES = "system.yaml declares no Cedar policies (policies.files)"
NO_ACTIONS = "policies declared but no agent actions were seen in spans or audit events"


def _gate(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "harness", "gate", *args], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def _write(tmp_path: Path, card: Scorecard, name: str = "scorecard.json") -> Path:
    path = tmp_path / name
    path.write_text(card.model_dump_json())
    return path


def test_healthy_run_passes(tmp_path: Path) -> None:
    proc = _gate(str(_write(tmp_path, healthy_scorecard())), "--rules", str(ROOT / "gate.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gate passed: 9 passed, 0 failed, 0 not measured, 2 skipped" in proc.stdout
    assert "resilience_score >= 80" in proc.stdout and " pass " in proc.stdout


def test_not_measured_and_declared_but_unmeasured_read_differently(tmp_path: Path) -> None:
    portable = healthy_scorecard()
    portable.policy = PolicyResult(not_measured=NO_POLICIES)
    portable.mttr = Stat()
    md = tmp_path / "summary.md"
    proc = _gate(str(_write(tmp_path, portable)), "--rules", str(ROOT / "gate.yaml"), "--markdown", str(md),
                 "--json", str(tmp_path / "gate.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gate passed: 7 passed, 0 failed, 2 not measured, 2 skipped" in proc.stdout
    assert f"  not measured policy.adherence == 1: {NO_POLICIES}" in proc.stdout
    assert "  not measured MTTR p95 at most 15 s: the scorecard has no value for mttr.p95" in proc.stdout
    summary = md.read_text()
    assert f"| `policy.adherence == 1` | `== 1` | not measured | ➖ not measured | {NO_POLICIES} |" in summary
    assert "gate passed: 7 passed, 0 failed, 2 not measured, 2 skipped" in summary
    result = json.loads((tmp_path / "gate.json").read_text())
    assert result["counts"] == {"pass": 7, "fail": 0, "not_measured": 2, "skip": 2}
    assert result["passed"] is True and result["nothing_measured"] is False

    broken = healthy_scorecard()
    broken.policy = PolicyResult(declared=True, not_measured=NO_ACTIONS)
    proc = _gate(str(_write(tmp_path, broken)), "--rules", str(ROOT / "gate.yaml"), "--markdown", str(md))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"  FAIL policy.adherence == 1: declared in system.yaml but not measured: {NO_ACTIONS}" in proc.stdout
    assert (f"| `policy.adherence == 1` | `== 1` | not measured | ❌ **FAIL** | declared in system.yaml but not "
            f"measured: {NO_ACTIONS} |") in md.read_text()


def test_a_gate_that_measured_nothing_is_exit_1(tmp_path: Path) -> None:
    card = healthy_scorecard()
    card.policy = PolicyResult(not_measured=NO_POLICIES)
    card.integrity = Integrity(submitted=1, completed=1, not_measured="system.yaml declares no side_effects")
    rules = tmp_path / "gate.yaml"
    rules.write_text("rules:\n  - policy.adherence == 1.0\n  - integrity.duplicated == 0\n")
    md = tmp_path / "summary.md"
    proc = _gate(str(_write(tmp_path, card)), "--rules", str(rules), "--markdown", str(md))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ("gate FAILED: nothing this gate checks was measured (0 passed, 0 failed, 2 not measured, 0 skipped)"
            in proc.stdout)
    assert md.read_text().startswith("### ❌ gate failed")
    assert "nothing this gate checks was measured" in md.read_text()


def test_bad_run_fails_naming_rules_and_baseline_regression(tmp_path: Path) -> None:
    base = tmp_path / "base"
    write_run(base, run_id="base")
    run = tmp_path / "run"
    write_run(run, run_id="run", mttr_scale=1.3)
    out = tmp_path / "gate.json"
    md = tmp_path / "step-summary.md"
    md.write_text("earlier content\n")
    proc = _gate(str(run), "--rules", str(ROOT / "gate.yaml"), "--baseline", str(base), "--json", str(out),
                 "--markdown", str(md))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "gate FAILED: 9 of 11 rules failed (" in proc.stdout
    assert "FAIL resilience_score >= 80: resilience_score is 59.1, required >= 80" in proc.stdout
    assert "FAIL mttr.p95 vs baseline: not more than 20% higher: mttr.p95 3.5 -> 4.55, limit 4.2" in proc.stdout
    summary = md.read_text()
    assert summary.startswith("earlier content\n### ❌ gate failed")  # appended, not replaced
    assert ("| `resilience_score >= 80` | `>= 80` | 59.1 | ❌ **FAIL** | resilience_score is 59.1, required >= 80 |"
            in summary)
    assert "| `MTTR p95 at most 15 s` | `<= 15` | 4.55 | ✅ pass |  |" in summary
    result = json.loads(out.read_text())
    assert result["passed"] is False and result["baseline"] == "base"
    assert {o["status"] for o in result["outcomes"]} == {"pass", "fail"}


def test_bad_rule_file_is_exit_2_one_line(tmp_path: Path) -> None:
    card = _write(tmp_path, healthy_scorecard())
    rules = tmp_path / "gate.yaml"
    rules.write_text("rules:\n  - resilience_score >= 80\n  - figure: mttr.p95\n    op: '<<'\n    value: 5\n")
    proc = _gate(str(card), "--rules", str(rules))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert f"{rules}:4: field 'rules[1].op'" in lines[0]


def test_missing_scorecard_is_exit_2(tmp_path: Path) -> None:
    proc = _gate(str(tmp_path), "--rules", str(ROOT / "gate.yaml"))
    assert proc.returncode == 2 and "scorecard.json not found" in proc.stderr
    assert "Traceback" not in proc.stderr
