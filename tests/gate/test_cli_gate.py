"""`harness gate` as CI runs it: exit 0 pass, 1 fail, 2 usage error, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.report.synth import healthy_scorecard, write_run

ROOT = Path(__file__).resolve().parents[2]


def _gate(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "harness", "gate", *args], capture_output=True, text=True,
                          timeout=120, env=env, check=False)


def test_healthy_run_passes(tmp_path: Path) -> None:
    card = tmp_path / "scorecard.json"
    card.write_text(healthy_scorecard().model_dump_json())
    proc = _gate(str(card), "--rules", str(ROOT / "gate.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gate passed: 9 passed, 0 failed, 0 not measured, 2 skipped" in proc.stdout
    assert "resilience_score >= 80" in proc.stdout and "PASS" in proc.stdout


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
    assert ("| `resilience_score >= 80` | `>= 80` | 59.1 | ❌ **fail**: resilience_score is 59.1, required >= 80 |"
            in summary)
    assert "| `MTTR p95 at most 15 s` | `<= 15` | 4.55 | ✅ pass |" in summary
    result = json.loads(out.read_text())
    assert result["passed"] is False and result["baseline"] == "base"
    assert {o["status"] for o in result["outcomes"]} == {"pass", "fail"}


def test_bad_rule_file_is_exit_2_one_line(tmp_path: Path) -> None:
    card = tmp_path / "scorecard.json"
    card.write_text(healthy_scorecard().model_dump_json())
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
