"""`harness report` in a subprocess, as users and CI run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.report.synth import write_run


def _harness(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, check=False)


def test_report_writes_everything_and_history_next_to_run(tmp_path: Path) -> None:
    run = tmp_path / "reports" / "r1"
    write_run(run, run_id="r1")
    proc = _harness("report", str(run))
    assert proc.returncode == 0, proc.stderr
    for name in ("report.html", "summary.md", "junit.xml", "allure-results"):
        assert (run / name).exists(), name
    assert (tmp_path / "reports" / "history.jsonl").read_text().count("\n") == 1


def test_allure_missing_says_how_to_install(tmp_path: Path) -> None:
    run = tmp_path / "r1"
    write_run(run, run_id="r1")
    proc = _harness("report", str(run), "--allure", "--no-history", env={"HARNESS_ALLURE": str(tmp_path / "no")})
    assert proc.returncode == 1
    assert "npm install --prefix .ci/allure allure" in proc.stderr
    assert (run / "report.html").exists()  # the other reports are still written


def test_unscored_folder_is_one_line_exit_2(tmp_path: Path) -> None:
    proc = _harness("report", str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "scorecard.json not found" in lines[0]
