"""The scoring layer's real output renders: journal -> harness.scoring -> every report."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from harness.gate import evaluate, load_gate
from harness.report import write_reports
from tests.report.synth import write_run

HERE = Path(__file__).parent


def test_reports_from_a_scorecard_the_scorer_wrote(tmp_path: Path) -> None:
    from harness.runfolder import RunFolder
    from harness.scoring import score_run
    from harness.telemetry.rundir import load_run

    run = tmp_path / "reports" / "scored"
    write_run(run, run_id="scored")
    (run / "scorecard.json").unlink()  # keep only the journal: the scorer decides
    card = score_run(load_run(run))
    RunFolder(run).write_scorecard(card)

    out = write_reports(run, history=tmp_path / "reports" / "history.jsonl")
    page = out["html"].read_text()
    assert page.count('class="chart-spec"') == len(card.scenarios) == 3
    junit = etree.parse(str(out["junit"]))
    etree.XMLSchema(etree.parse(str(HERE / "junit.xsd"))).assertValid(junit)
    repeats = sum(len(s.repeats) for s in card.scenarios)
    assert len(junit.findall("testsuite[@name='scenarios']/testcase")) == repeats
    results = [json.loads(p.read_text()) for p in out["allure"].glob("*-result.json")]
    assert sum(r["fullName"].startswith("harness.scenarios.") for r in results) == repeats
    assert card.verdict.upper() in out["summary"].read_text()
    # the default gate reads every figure it names from a real scorecard without usage errors
    result = evaluate(card, load_gate(HERE.parents[1] / "gate.yaml"))
    assert result.outcomes and all(o.actual != "" for o in result.outcomes)
