"""A journal line scoring cannot understand is counted and named in the scorecard, on the
console and in summary.md, never dropped without a word; a torn last line is only noted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.report.data import load_scored_run
from harness.report.html import render_html
from harness.report.markdown import render_summary
from harness.scoring import score_run
from harness.telemetry.rundir import load_run
from tests.scoring.factory import JournalBuilder, RepeatPlan, add_repeat, run_end, run_start


def _run_folder(tmp_path: Path) -> Path:
    b = JournalBuilder()
    run_start(b)
    truth = add_repeat(b, RepeatPlan(outage=(103.0, 104.0), workflows=["completed"]))
    run_end(b, truth.end + 1)
    return b.write(tmp_path / "run")


def test_clean_journal_has_no_journal_warning(tmp_path: Path) -> None:
    card = score_run(load_run(_run_folder(tmp_path)))
    assert card.journal.problems == 0 and card.journal.first_problem is None and not card.journal.torn_last_line
    assert card.journal.events > 50 and card.journal.warning is None
    assert "### Journal" not in render_summary(card)


def test_unknown_kind_is_reported_with_its_line_and_the_rest_still_scores(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    clean = score_run(load_run(folder))
    journal = folder / "journal.jsonl"
    lines = journal.read_text().splitlines()
    lines.insert(3, '{"seq": 5000, "kind": "probe_v2", "t_mono": 101.0, "t_wall": 1700000101.0, "probe": "api"}')
    lines.insert(7, '{"seq": 5001, "kind": "probe", "t_mono": 101.1, "t_wall": 1700000101.1, "probe": "api"}')
    journal.write_text("\n".join(lines) + '\n{"seq": 5002, "kind": "probe", "t_m')  # and killed mid-write

    card = score_run(load_run(folder))
    assert card.journal.problems == 2 and card.journal.torn_last_line
    assert card.journal.first_problem == "line 4: unknown event kind 'probe_v2'"
    assert card.journal.warning == "2 journal lines not scored (first: line 4: unknown event kind 'probe_v2')"
    assert card.journal.events == clean.journal.events
    assert card.scenarios == clean.scenarios  # the valid events score exactly as before
    assert "### Journal\n\n- 2 journal lines not scored (first: line 4: unknown event kind 'probe\\_v2')" \
        in render_summary(card)

    (folder / "scorecard.json").write_text(card.model_dump_json())
    page = render_html(load_scored_run(folder))
    assert "last line torn (run killed)" in page
    assert "2 journal lines not scored (first: line 4: unknown event kind &#39;probe_v2&#39;)" in page

    proc = subprocess.run([sys.executable, "-m", "harness", "score", str(folder)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "journal: 2 journal lines not scored (first: line 4: unknown event kind 'probe_v2')" in proc.stdout
