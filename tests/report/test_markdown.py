"""summary.md: verdict, key numbers, regressions, top failures; user text cannot break it."""

from __future__ import annotations

from pathlib import Path

from harness.model.scorecard import Scorecard
from harness.report.compare import regressions
from harness.report.markdown import render_summary, top_failures
from tests.report.conftest import XSS, retitle
from tests.report.synth import healthy_scorecard, write_run


def test_summary_of_a_failing_run(card: Scorecard) -> None:
    md = render_summary(card)
    assert md.startswith("## ❌ harness run `20261127T120000Z-synth`: **FAIL**")
    assert "| resilience score | **59.1** / 100 |" in md
    assert "| MTTR p50 / p95 | 3.5 s / 3.5 s |" in md
    assert "| lost / duplicated work | 1 / 1 |" in md
    assert "### Top failures" in md
    failures = top_failures(card)
    # integrity first: it is the hard floor of the score
    assert failures[0].startswith("lost work item `wf-17`")
    assert any("trace `4bf92f3577b34da6a3ce929d0e0e4736`" in f for f in failures)
    assert any("breaking contract change" in f for f in failures)
    assert "Compared with baseline" not in md


def test_summary_with_baseline_lists_regressions(tmp_path: Path) -> None:
    base = write_run(tmp_path / "a", run_id="base", mttr_scale=1.0)
    now = write_run(tmp_path / "b", run_id="now", mttr_scale=2.0, score_offset=-8)
    regs = regressions(now, base)
    assert "MTTR p95: 3.5 s -> 7 s (+3.5 s)" in regs
    assert any(r.startswith("resilience score: 59.1 -> ") for r in regs)
    md = render_summary(now, baseline=base, regressions=regs)
    assert "### Compared with baseline `base`" in md
    assert "| MTTR p95 | 3.5 s | 7 s | +3.5 s ⚠️ |" in md
    assert "**Regressions:**" in md
    same = render_summary(base, baseline=base, regressions=regressions(base, base))
    assert "No regressions against the baseline." in same and "⚠️" not in same


def test_healthy_summary_has_no_failures_section() -> None:
    md = render_summary(healthy_scorecard())
    assert "✅" in md and "**PASS**" in md and "Top failures" not in md


def test_user_text_cannot_inject_markup_or_break_tables(run_dir: Path) -> None:
    card = retitle(run_dir, XSS + " | col\nnext")
    md = render_summary(card)
    assert "<script>" not in md
    row = next(line for line in md.splitlines() if "latency-payout" in line and line.startswith("|"))
    # the title's pipe is escaped, so the row still has exactly 4 cells
    assert row.replace("\\|", "").count("|") == 5


def test_identical_failures_collapse_with_a_count(card: Scorecard) -> None:
    card.policy.violations = [card.policy.violations[1]] * 70
    lines = [f for f in top_failures(card) if f.startswith("policy violation")]
    assert len(lines) == 1 and lines[0].endswith("(×70)")
