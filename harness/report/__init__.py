"""harness.report: turn a scored run folder into what people read.

``write_reports(run_dir)`` reads ``scorecard.json`` (required; the engine scores first)
and ``journal.jsonl`` and writes ``report.html``, ``summary.md``, ``junit.xml`` and
``allure-results/`` into the run folder, and appends the run to ``history.jsonl``.
Each renderer is a pure function of the loaded run, so they are easy to test and reuse.
"""

from __future__ import annotations

from pathlib import Path

from harness.jsontools import write_atomic
from harness.model.scorecard import Scorecard
from harness.runfolder import read_scorecard

__all__ = ["write_reports"]


def write_reports(run_dir: Path, *, history: Path | None, baseline: Scorecard | Path | None = None,
                  allure: bool = True) -> dict[str, Path]:
    """Write every report of ``run_dir``; return ``{"html": path, "summary": ..., "junit": ...,
    "allure": ..., "history": ...}`` (history only when ``history`` is given).

    ``baseline`` (a scorecard, a scorecard.json or a run folder) adds a "compared with
    baseline" section to report.html and summary.md.
    """
    from harness.report.allure import write_allure_results
    from harness.report.compare import regressions
    from harness.report.data import load_scored_run
    from harness.report.history import append_history
    from harness.report.html import render_html
    from harness.report.junit import render_junit
    from harness.report.markdown import render_summary

    run_dir = Path(run_dir)
    run = load_scored_run(run_dir)
    base = read_scorecard(baseline) if isinstance(baseline, str | Path) else baseline
    regs = regressions(run.scorecard, base) if base is not None else None
    out: dict[str, Path] = {}
    rows = None
    if history is not None:
        rows = append_history(Path(history), run.scorecard)
        out["history"] = Path(history)
    out["html"] = _write(run_dir / "report.html",
                         render_html(run, history=rows, baseline=base, regressions=regs).encode())
    out["summary"] = _write(run_dir / "summary.md",
                            render_summary(run.scorecard, baseline=base, regressions=regs).encode())
    out["junit"] = _write(run_dir / "junit.xml", render_junit(run.scorecard))
    if allure:
        out["allure"] = write_allure_results(run, run_dir / "allure-results")
    return out


def _write(path: Path, data: bytes) -> Path:
    """Write via a temp file and rename, so a reader never sees half a report."""
    return write_atomic(path, data)
