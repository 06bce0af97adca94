"""reports/history.jsonl: one line per run, idempotent, tolerant of torn lines."""

from __future__ import annotations

import json
from pathlib import Path

from harness.report.history import append_history, read_history
from tests.report.synth import healthy_scorecard


def test_append_once_per_run_and_skip_garbage(tmp_path: Path) -> None:
    hist = tmp_path / "reports" / "history.jsonl"
    rows = append_history(hist, healthy_scorecard("r1"))
    assert [r["run_id"] for r in rows] == ["r1"]
    append_history(hist, healthy_scorecard("r1"))  # re-reporting a run
    with hist.open("a") as fh:
        fh.write('["not a row"]\n{"run_id": "torn", "resil')  # foreign line and a torn write
    rows = append_history(hist, healthy_scorecard("r2"))
    assert [r["run_id"] for r in rows] == ["r1", "r2"]
    assert [r["run_id"] for r in read_history(hist)] == ["r1", "r2"]
    line = json.loads(hist.read_text().splitlines()[0])
    assert line["resilience_score"] == 96.0 and line["mttr_p95_s"] == 2.5 and line["lost"] == 0
    assert line["scenarios"] == {"latency": 96.0}


def test_missing_history_is_empty(tmp_path: Path) -> None:
    assert read_history(tmp_path / "nope.jsonl") == []
