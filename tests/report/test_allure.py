"""allure-results/: Allure's result format, written directly, and accepted by the Allure CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.report.allure import build_allure_report, find_allure, write_allure_results
from harness.report.data import load_scored_run


def _results(out: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*-result.json"))]


def test_results_have_steps_per_phase_and_attachments(run_dir: Path, tmp_path: Path) -> None:
    out = write_allure_results(load_scored_run(run_dir), tmp_path / "allure-results")
    results = _results(out)
    by_name = {r["fullName"]: r for r in results}
    assert len(results) == 6 + 5 + 2  # repeats + contract suites + integrity/policy
    rep = by_name["harness.scenarios.kill-fraud.repeat1"]
    assert rep["status"] == "passed" and rep["stage"] == "finished"
    assert [s["name"] for s in rep["steps"]] == [f"phase {p}" for p in
                                                 ("baseline", "inject", "observe", "revert", "recover")]
    inject = rep["steps"][1]
    assert inject["status"] == "failed" and "probe failure" in inject["statusDetails"]["message"]
    assert inject["steps"][0]["name"] == "inject kill on fraud (kill-1)"
    assert rep["steps"][0]["status"] == "passed"
    assert all(s["start"] <= s["stop"] for s in rep["steps"])
    assert rep["steps"][0]["start"] >= rep["start"] - 1000  # wall-clock ms, not monotonic
    kinds = {a["name"]: a for a in rep["attachments"]}
    assert set(kinds) == {"journal excerpt", "timeline"}
    for a in rep["attachments"]:
        assert (out / a["source"]).exists()
    assert (out / kinds["timeline"]["source"]).read_text().startswith("<svg")
    aborted = by_name["harness.scenarios.kill-fraud.repeat2"]
    assert aborted["status"] == "broken" and "aborted" in aborted["statusDetails"]["message"]
    assert by_name["harness.contracts.diff.payout v1->v2"]["status"] == "failed"
    assert by_name["harness.run.integrity"]["status"] == "failed"
    labels = {lb["name"]: lb["value"] for lb in rep["labels"]}
    assert labels["suite"] == "scenarios" and labels["severity"] == "critical"
    assert "run_id=20261127T120000Z-synth" in (out / "environment.properties").read_text()
    # rewriting replaces the folder rather than mixing two runs
    write_allure_results(load_scored_run(run_dir), out)
    assert len(_results(out)) == 13


@pytest.mark.slow
def test_allure_cli_accepts_the_results(run_dir: Path, tmp_path: Path) -> None:
    if find_allure() is None:
        if os.environ.get("HARNESS_REQUIRE_ALLURE"):
            pytest.fail("Allure CLI missing: npm install --prefix .ci/allure allure")
        pytest.skip("Allure CLI not installed (npm install --prefix .ci/allure allure); CI requires it")
    out = write_allure_results(load_scored_run(run_dir), tmp_path / "allure-results")
    report = build_allure_report(out, tmp_path / "allure-report", name="harness run synth")
    index = report / "index.html"
    # one self-contained file (opens from disk), not an app that fetches data/ over HTTP
    assert index.stat().st_size > 500_000 and not (report / "data").exists()
    assert "<title> harness run synth </title>" in index.read_text(errors="replace")
    summary = json.loads((report / "summary.json").read_text()) if (report / "summary.json").exists() else None
    if summary is not None:  # Allure 3 writes a summary; Allure 2 does not
        assert summary["stats"]["total"] == 13
        assert summary["stats"]["failed"] == 8 and summary["stats"]["broken"] == 1
