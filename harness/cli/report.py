"""``harness report RUN_DIR [--format NAME ...] [--allure] [--history reports/history.jsonl]``.

Re-renders every report of a scored run folder (``harness run`` does this itself at the
end). ``--allure`` also builds the Allure HTML report with the Allure CLI from npm; when
it is missing the command says how to install it and exits 1 (the other reports are
written regardless). ``harness report --list-formats`` lists the report formats, the
built-ins and those plugins add (entry point group ``harness.reporters``).
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``report`` to ``app``."""

    @app.command("report")
    def report_cmd(
        run_dir: Path | None = typer.Argument(None, help="a scored run folder, e.g. reports/<run-id>"),
        history: Path | None = typer.Option(
            None, "--history", help="history file to append to (default: history.jsonl next to RUN_DIR)"),
        no_history: bool = typer.Option(False, "--no-history", help="do not read or append history"),
        baseline: Path | None = typer.Option(None, "--baseline", "-b",
                                             help="a baseline run folder or scorecard.json to compare with"),
        allure: bool = typer.Option(False, "--allure", help="also build allure-report/ with the Allure CLI"),
        formats: list[str] = typer.Option([], "--format", "-f", help="write only this format (repeatable)"),
        list_formats: bool = typer.Option(False, "--list-formats", help="list the report formats and exit"),
    ) -> None:
        """Write report.html, summary.md, junit.xml, allure-results/ and append to history."""
        # imported here to keep `harness --help` fast
        from rich.console import Console

        from harness.errors import ConfigError
        from harness.report import reporters, write_reports
        from harness.report.allure import AllureNotFound, build_allure_report
        from harness.runfolder import RunFolder

        console = Console(highlight=False, soft_wrap=True)
        if list_formats:
            for reporter in reporters().values():
                console.print(f"{reporter.name:10} {reporter.docs}", markup=False)
            return
        if run_dir is None:
            raise ConfigError("give a run folder (e.g. reports/latest), or --list-formats", field="RUN_DIR")
        folder = RunFolder(run_dir)
        hist = None if no_history else (history or RunFolder(run_dir.resolve()).history)
        if allure and formats and "allure" not in formats:
            formats.append("allure")  # --allure builds from allure-results/
        outputs = write_reports(run_dir, history=hist, baseline=baseline, formats=formats or None)
        for name, path in outputs.items():
            console.print(f"{name:8} {path}", markup=False)
        if allure:
            try:
                run_id = folder.read_scorecard().run.run_id
                out = build_allure_report(outputs["allure"], folder.allure_report, name=f"harness run {run_id}")
            except AllureNotFound as exc:
                Console(stderr=True, highlight=False, soft_wrap=True).print(f"allure: {exc}", markup=False)
                raise typer.Exit(1) from None
            console.print(f"{'allure':8} {out / 'index.html'}", markup=False)

    _ = report_cmd
