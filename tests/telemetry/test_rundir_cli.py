"""``harness score`` re-scores a run folder from its files alone; bad folders fail in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.model.scorecard import Scorecard
from harness.scoring import score_run
from harness.telemetry.rundir import load_run
from tests.scoring.factory import JournalBuilder, RepeatPlan, add_repeat, run_end, run_start

CONTRACTS = [{"suite": "openapi", "edge": "orchestrator->payout", "passed": 12, "failed": 1,
              "failures": [{"name": "POST /payouts negative", "passed": False, "message": "500"}]}]


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    b = JournalBuilder(run_id="20261127-abc")
    run_start(b)
    truth = add_repeat(b, RepeatPlan(outage=(103.0, 104.6), workflows=["completed", "unknown"],
                                     slos=[{"metric": "availability", "phase": "recover", "min": 0.9}]))
    run_end(b, truth.end + 1)
    b.policies["p.cedar"] = '@id("all") permit(principal, action, resource);'
    folder = b.write(tmp_path / "reports" / "20261127-abc", shuffle=3)
    (folder / "contracts.json").write_text(json.dumps(CONTRACTS))
    # one span as an OTLP JSON export, as a Collector's file exporter writes it
    (folder / "traces").mkdir()
    (folder / "traces" / "collector.json").write_text(json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "orchestrator"}}]},
        "scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                                   "name": "invoke_agent risk", "kind": 3,
                                   "startTimeUnixNano": str(int(b.wall(101.0) * 1e9)),
                                   "endTimeUnixNano": str(int(b.wall(101.1) * 1e9)),
                                   "attributes": [
                                       {"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}},
                                       {"key": "gen_ai.agent.name", "value": {"stringValue": "risk"}}]}]}]}]}))
    return folder


def test_cli_reproduces_the_in_process_scorecard(run_dir: Path, tmp_path: Path) -> None:
    expected = score_run(load_run(run_dir))
    proc = harness("score", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert "FAIL" in proc.stdout and "lost 1" in proc.stdout
    # declared side effects but no audit events: not measured, with why (never "duplicated 0")
    assert "duplicated not measured (side effects declared but" in " ".join(proc.stdout.split())
    written = Scorecard.model_validate_json((run_dir / "scorecard.json").read_text())
    assert written == expected
    assert written.integrity.lost[0].workflow_id == "s1-r0-w1"
    assert written.contracts[0].failed == 1 and written.contracts[0].edge == "orchestrator->payout"
    assert written.policy.actions == 1 and written.policy.by_phase == {"baseline": 1.0}
    assert written.scenarios[0].repeats[0].faults[0].mttr_s == pytest.approx(1.752)  # 103.0 -> 104.752
    # --out elsewhere gives the same bytes
    other = tmp_path / "elsewhere" / "card.json"
    assert harness("score", str(run_dir), "--out", str(other)).returncode == 0
    assert other.read_text() == (run_dir / "scorecard.json").read_text()


@pytest.mark.parametrize(("breakage", "message"), [
    ("missing", "run folder does not exist"),
    ("no-journal", "no journal.jsonl"),
    ("empty-journal", "journal has no valid events"),
    ("bad-contracts", "contracts.json: field '0.suite'"),
    ("bad-policy", "policies/p.cedar: Cedar policy does not parse"),
    ("bad-slo", "journal.jsonl: field 'slos[0]'"),
    ("bad-entities", "policies/entities.json: Cedar entities do not parse"),
])
def test_bad_folder_is_one_line_exit_2(run_dir: Path, breakage: str, message: str) -> None:
    target = run_dir
    if breakage == "missing":
        target = run_dir / "nope"
    elif breakage == "no-journal":
        (run_dir / "journal.jsonl").unlink()
    elif breakage == "empty-journal":
        (run_dir / "journal.jsonl").write_text("not json\n")
    elif breakage == "bad-contracts":
        (run_dir / "contracts.json").write_text(json.dumps([{"suite": "Not A Suite", "edge": "x"}]))
    elif breakage == "bad-policy":
        (run_dir / "policies" / "p.cedar").write_text("permit(principal, action")
    elif breakage == "bad-entities":
        (run_dir / "policies" / "entities.json").write_text(json.dumps([{"uid": {"type": "Agent"}}]))
    elif breakage == "bad-slo":
        lines = (run_dir / "journal.jsonl").read_text().splitlines()
        fixed = []
        for line in lines:
            ev = json.loads(line)
            if ev["kind"] == "scenario_start":
                ev["slos"] = [{"metric": "availability", "phase": "recover"}]  # no min/max
            fixed.append(json.dumps(ev))
        (run_dir / "journal.jsonl").write_text("\n".join(fixed) + "\n")
    proc = harness("score", str(target))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    with pytest.raises(ConfigError):
        score_run(load_run(target))


def test_torn_last_line_is_tolerated(run_dir: Path) -> None:
    with (run_dir / "traces.jsonl").open("a") as f:
        f.write('{"trace_id": "abc", "span_')   # writer killed mid-line
    with (run_dir / "journal.jsonl").open("a") as f:
        f.write('{"seq": 99999, "kind": "no')
    assert score_run(load_run(run_dir)).run.run_id == "20261127-abc"


def test_spans_from_all_sources_are_merged_and_deduplicated(run_dir: Path) -> None:
    collector = json.loads((run_dir / "traces" / "collector.json").read_text())
    start_ns = int(collector["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"])
    plain = {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331", "name": "dup",
             "start_ns": start_ns, "attributes": {"api_key": "k"}, "resource": {}}
    other = {**plain, "span_id": "00000000000000aa", "name": "receiver", "start_ns": start_ns + 1}
    (run_dir / "traces.jsonl").write_text(json.dumps(plain) + "\n")
    (run_dir / "traces" / "receiver.jsonl").write_text(json.dumps(other) + "\n")
    otlp_line = json.loads((run_dir / "traces" / "collector.json").read_text())
    (run_dir / "traces" / "more.jsonl").write_text(json.dumps(otlp_line) + "\n")
    spans = load_run(run_dir).spans
    # traces.jsonl wins for the span the collector export also holds; the receiver's span is added
    assert [s["name"] for s in spans] == ["dup", "receiver"]
    assert spans[0]["attributes"] == {"api_key": "[REDACTED]"}


def test_spans_a_system_wrote_badly_are_counted_not_fatal(run_dir: Path) -> None:
    """Spans are the system's data, not configuration: a line that is not JSON, a span with
    no name and a span from last week are each counted with their reason, and the run's own
    spans are still scored."""
    good = json.loads((run_dir / "traces" / "collector.json").read_text())
    (run_dir / "traces" / "collector.json").unlink()
    start_ns = int(good["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"])
    lines = [
        "{oops",
        json.dumps({"trace_id": "a" * 32, "span_id": "1" * 16, "start_ns": start_ns}),  # no name
        json.dumps({"trace_id": "a" * 32, "span_id": "2" * 16, "name": "last week",
                    "start_ns": start_ns - 7 * 86400 * 10**9}),
        json.dumps({"trace_id": "a" * 32, "span_id": "3" * 16, "name": "ours", "start": start_ns / 1e9,
                    "end": start_ns / 1e9 + 0.1, "attributes.gen_ai.operation.name": "invoke_agent"}),
    ]
    (run_dir / "traces.jsonl").write_text("\n".join(lines) + "\n")
    card = score_run(load_run(run_dir))
    intake = card.telemetry
    assert [s["name"] for s in load_run(run_dir).spans] == ["ours"]
    assert intake.spans_read == 4 and intake.spans_kept == 1 and intake.spans_outside_run == 1
    assert intake.spans_ignored == {"not valid JSON": 1, "no name": 1}
    assert any("first at traces.jsonl:1" in w for w in intake.warnings)
    proc = harness("score", str(run_dir))
    assert proc.returncode == 0, proc.stderr
    assert "telemetry: ignored 1 span (no name), first at traces.jsonl:2" in proc.stdout
    from harness.report.markdown import render_summary
    assert "- ignored 1 span (not valid JSON), first at traces.jsonl:1" in render_summary(card)
