"""report.html: self-contained, escaped, complete, and small for big journals."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.report import write_reports
from harness.report.charts import plotly_js
from harness.report.data import load_scored_run
from harness.report.html import render_html
from tests.report.conftest import XSS, retitle
from tests.report.synth import write_run


def _figures(page: str) -> list[dict]:
    """Every chart spec on the page, with the id of the div it draws into."""
    return [{"id": m[1], **json.loads(m[2])} for m in re.finditer(
        r'<script type="application/json" class="chart-spec" data-target="([^"]+)">(.*?)</script>', page, re.S)]


def test_page_is_self_contained_with_plotly_inlined_once(run_dir: Path) -> None:
    page = render_html(load_scored_run(run_dir))
    assert page.count(plotly_js()[:300]) == 1
    # nothing is loaded from anywhere: no src/href to a URL, no CDN, no @import
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=["\']?(https?:)?//', page, re.I)
    assert "cdn.plot.ly" not in page.replace(plotly_js(), "")
    figs = _figures(page)
    assert [f["id"] for f in figs] == ["timeline-0", "timeline-1", "timeline-2"]


def test_sections_show_what_the_scorecard_says(run_dir: Path) -> None:
    page = render_html(load_scored_run(run_dir))
    text = page.replace(plotly_js(), "")
    for needle in (
        'id="score">59.1<',  # headline resilience score
        "4bf92f3577b34da6a3ce929d0e0e4736",  # violation trace id
        "payout without approval while approval agent returned 503",
        "wf-17", "wf-42",  # lost and duplicated work
        "response field &#39;amount&#39; removed",  # breaking change (escaped quote)
        "POST /payouts", "Fraud agent killed mid-workflow", "probe health failed 5 times in a row",
        "0123abcd", "sandbox", "python 3.11.7",  # run metadata
    ):
        assert needle in text, needle
    assert 'class="verdict fail"' in text
    # the MTTR table lists every fault of every repeat
    mttr_rows = re.findall(r"<tr><td class=\"num\">\d+</td><td class=\"mono\">(\w+-1)</td>", text)
    assert sorted(mttr_rows) == sorted(["latency-1", "kill-1", "http_status-1"] * 2)


def test_timeline_chart_has_fault_windows_probes_and_phases(run_dir: Path) -> None:
    figs = _figures(render_html(load_scored_run(run_dir)))
    kill = figs[1]
    names = [t.get("name") for t in kill["data"]]
    assert names == ["p95 latency", "p50 latency", "ok requests", "errors", "probe failed"]
    rects = [s for s in kill["layout"]["shapes"] if s["type"] == "rect"]
    assert len(rects) == 2 and all(s["x1"] > s["x0"] for s in rects)  # one window per repeat
    labels = {a["text"] for a in kill["layout"]["annotations"]}
    assert {"baseline", "inject", "recover", "kill → fraud"} <= labels
    errors = kill["data"][3]["y"]
    assert sum(errors) > 0  # the kill produced errors, and they are drawn


def test_user_text_is_escaped_everywhere(run_dir: Path) -> None:
    retitle(run_dir, XSS)
    page = render_html(load_scored_run(run_dir)).replace(plotly_js(), "")
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_big_journal_is_downsampled(tmp_path: Path) -> None:
    d = tmp_path / "big"
    write_run(d, target_events=10_000)
    run = load_scored_run(d)
    assert len(run.events) >= 9_000
    page = render_html(run)
    for fig in _figures(page):
        for trace in fig["data"]:
            assert len(trace.get("x", [])) <= 241
    # all charts and tables together stay far below the journal's own size
    assert len(page) - len(plotly_js()) < 400_000 < (d / "journal.jsonl").stat().st_size


def test_write_reports_writes_all_outputs_and_trend(tmp_path: Path) -> None:
    hist = tmp_path / "reports" / "history.jsonl"
    first = tmp_path / "reports" / "r1"
    write_run(first, run_id="r1", started_at=1_795_000_000.0, mttr_scale=1.0)
    write_reports(first, history=hist)
    assert "No trend yet" in (first / "report.html").read_text()
    second = tmp_path / "reports" / "r2"
    write_run(second, run_id="r2", started_at=1_795_090_000.0, mttr_scale=2.0, score_offset=-10)
    out = write_reports(second, history=hist, baseline=first)
    assert set(out) == {"html", "summary", "junit", "allure", "history"}
    assert all(p.exists() for p in out.values())
    page = (second / "report.html").read_text()
    trend = [f for f in _figures(page) if f["id"] == "trend-chart"]
    assert trend and trend[0]["data"][0]["x"] == ["r1", "r2"]
    assert "Compared with baseline" in page and "MTTR p95: 3.5 s -&gt; 7 s" in page
    assert not list(second.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_repeated_violations_are_grouped_with_a_count(run_dir: Path) -> None:
    from harness.model.scorecard import Scorecard, Violation

    card = Scorecard.model_validate_json((run_dir / "scorecard.json").read_bytes())
    same = [Violation(trace_id=f"{i:032x}", principal="orchestrator", action="route_claim",
                      resource="orchestrator", phase=("inject" if i % 2 else "recover"), reason="default deny")
            for i in range(600)]
    card.policy.violations = [*card.policy.violations, *same]
    (run_dir / "scorecard.json").write_text(card.model_dump_json())
    page = render_html(load_scored_run(run_dir))
    groups = re.findall(r'<tr><td class="num fail-t">(\d+)</td><td>orchestrator</td><td class="mono">(\w+)</td>',
                        page)
    assert groups == [("600", "route_claim"), ("1", "issue_payout"), ("1", "send_email")]
    assert "inject, recover" in page  # the phases the group was seen in
    assert "… 102 more in scorecard.json" in page  # 602 violations, 500 detail rows


def test_scorecard_without_journal_renders_tables_only(tmp_path: Path) -> None:
    from tests.report.synth import healthy_scorecard

    (tmp_path / "scorecard.json").write_text(healthy_scorecard("lonely").model_dump_json())
    out = write_reports(tmp_path, history=None)
    page = out["html"].read_text()
    assert "No journal events for this scenario" in page
    assert plotly_js()[:300] not in page and len(page) < 100_000  # no charts, no 4 MB library
    assert set(out) == {"html", "summary", "junit", "allure"}


def test_huge_lost_lists_are_capped(run_dir: Path) -> None:
    from harness.model.scorecard import Scorecard, WorkItem

    card = Scorecard.model_validate_json((run_dir / "scorecard.json").read_bytes())
    card.integrity.lost = [WorkItem(workflow_id=f"w{i}") for i in range(700)]
    (run_dir / "scorecard.json").write_text(card.model_dump_json())
    page = render_html(load_scored_run(run_dir))
    assert page.count('<td class="fail-t">lost</td>') == 500
    assert "… 200 more in scorecard.json" in page
