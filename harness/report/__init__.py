"""harness.report: turn a scored run folder into what people read.

``write_reports(run_dir)`` reads ``scorecard.json`` (required; the engine scores first)
and ``journal.jsonl``, appends the run to ``history.jsonl`` and runs every report format
of ``harness.report.catalog`` (report.html, summary.md, junit.xml, allure-results/ and
users' own from the ``harness.reporters`` entry points). Each built-in renderer is a pure
function of the loaded run, so they are easy to test and reuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.errors import ConfigError
from harness.model.scorecard import Scorecard
from harness.report.base import ReportContext, Reporter
from harness.report.catalog import BUILTINS, reporters
from harness.report.compare import regressions
from harness.report.data import load_scored_run
from harness.report.history import append_history
from harness.runfolder import RunFolder, read_scorecard

__all__ = ["ReportContext", "Reporter", "reporters", "write_reports"]


def write_reports(run_dir: Path, *, history: Path | None, baseline: Scorecard | Path | None = None,
                  allure: bool = True, formats: Sequence[str] | None = None) -> dict[str, Path]:
    """Write the reports of ``run_dir``; return ``{format name: path}`` (``html``, ``summary``,
    ``junit``, ``allure``, users' own, and ``history`` when ``history`` is given).

    ``baseline`` (a scorecard, a scorecard.json or a run folder) adds a "compared with
    baseline" section to report.html and summary.md. ``formats`` picks some (default all);
    ``allure=False`` leaves out allure-results/. A plugin format that cannot be loaded or
    fails is a ``ConfigError`` naming it, raised after every other report is written.
    """
    run = load_scored_run(run_dir)
    base = read_scorecard(baseline) if isinstance(baseline, str | Path) else baseline
    out: dict[str, Path] = {}
    rows = None
    if history is not None:
        rows = append_history(Path(history), run.scorecard)
        out["history"] = Path(history)
    ctx = ReportContext(run=run, folder=RunFolder(run_dir), baseline=base,
                        regressions=regressions(run.scorecard, base) if base is not None else None, history=rows)
    plugin_error: ConfigError | None = None
    try:
        available = reporters()
    except ConfigError as exc:  # a broken plugin must not cost the built-in reports
        available, plugin_error = {r.name: r for r in BUILTINS}, exc
    chosen = _choose(available, formats, allure=allure)
    for reporter in chosen:
        try:
            out[reporter.name] = reporter.write(ctx)
        except Exception as exc:
            if reporter in BUILTINS:
                raise  # our own bug: its traceback is what a maintainer needs
            # a user's format: report it by name, keep the others
            plugin_error = plugin_error or ConfigError(
                f"report format {reporter.name!r} failed: {type(exc).__name__}: {exc}")
    if plugin_error is not None:
        raise plugin_error
    return out


def _choose(available: dict[str, Reporter], formats: Sequence[str] | None, *, allure: bool) -> list[Reporter]:
    if formats is not None:
        unknown = sorted(set(formats) - set(available))
        if unknown:
            raise ConfigError(f"unknown report format {unknown[0]!r}; known: {sorted(available)}", field="--format")
    return [r for name, r in available.items()
            if (formats is None or name in formats) and (allure or name != "allure")]
