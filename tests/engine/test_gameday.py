"""``harness gameday``: a facilitator drives phases from stdin; notes land in the journal; abort reverts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.model.journal import AbortEvent, FaultRevertedEvent, NoteEvent, parse_journal_lines
from harness.sandbox import Sandbox
from tests.engine.conftest import proxies_state, write_scenario

pytestmark = pytest.mark.slow

SCENARIO = """
title: Game day on the risk agent
description: Risk gets slow; the team watches the dashboards.
phases: {baseline: 1s, inject: 2s, observe: 1s, recover: 1s}
steady_state:
  - {type: http, name: health, service: orchestrator, path: /healthz, interval_s: 200ms}
faults:
  - {type: latency, target: {edge: risk}, params: {latency: 80}}
"""


def _gameday(sandbox: Sandbox, scenario: Path, out: Path, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", "gameday", str(scenario), "--system", str(sandbox.system_yaml_path),
         "--out", str(out), "--facilitator", "ana"],
        input=stdin, capture_output=True, text=True, timeout=180, cwd=scenario.parent,
        env={**os.environ, "COLUMNS": "200"})


def test_facilitator_notes_and_phases(sandbox: Sandbox, tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, "gd", SCENARIO)
    # hypothesis, then per phase: optional notes, then Enter
    stdin = "retries absorb the latency\n\nlatency graph flat so far\n\n\n\n\n\n"
    proc = _gameday(sandbox, scenario, tmp_path / "reports", stdin)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Game day: Game day on the risk agent" in proc.stdout and "latency on risk" in proc.stdout
    journal = next((tmp_path / "reports").glob("*/journal.jsonl"))
    events = parse_journal_lines(journal.read_text().splitlines())
    notes = [e for e in events if isinstance(e, NoteEvent)]
    assert [n.message for n in notes] == ["hypothesis: retries absorb the latency", "latency graph flat so far"]
    assert all(n.author == "ana" for n in notes)
    # the second note was typed before inject started, so it belongs to the baseline phase context
    assert notes[1].phase == "baseline"
    kinds = [e.kind for e in events]
    assert kinds.count("fault_injected") == 1 and kinds.count("fault_reverted") == 1
    html = (journal.parent / "report.html").read_text()
    assert "Game-day notes" in html and "latency graph flat so far" in html and "game-day note" in html


def test_facilitator_abort_reverts(sandbox: Sandbox, tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, "gd-abort", SCENARIO)
    stdin = "\n\n\nabort\n"  # hypothesis skipped; start baseline, inject; abort before observe
    proc = _gameday(sandbox, scenario, tmp_path / "reports", stdin)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    journal = next((tmp_path / "reports").glob("*/journal.jsonl"))
    events = parse_journal_lines(journal.read_text().splitlines())
    abort = next(e for e in events if isinstance(e, AbortEvent))
    assert "aborted by ana before observe" in abort.reason
    assert any(isinstance(e, FaultRevertedEvent) and e.ok for e in events)
    assert proxies_state(sandbox)["risk"]["toxics"] == []
