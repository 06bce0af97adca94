"""``harness cleanup``: revert every fault a dead run left behind, from the ledger."""

from __future__ import annotations

from pathlib import Path

import typer


def cleanup_command(
    ledger: Path = typer.Option(Path(".harness/ledger.jsonl"), "--ledger", help="Cleanup ledger file."),
    force: bool = typer.Option(False, "--force",
                               help="Also revert faults of runs whose process is still alive."),
) -> None:
    """Revert all outstanding faults in the ledger; exit 0 when nothing is left behind."""
    from rich.console import Console
    from rich.table import Table

    from harness.faults.guard import cleanup

    console = Console(highlight=False)
    report = cleanup(ledger, force=force)
    if not report.rows:
        console.print(f"nothing to clean up ({ledger})")
        return
    table = Table(title=f"cleanup of {ledger}")
    for col in ("fault", "type", "target", "outcome", "detail"):
        table.add_column(col, overflow="fold")
    colours = {"reverted": "green", "manual": "yellow", "skipped": "yellow", "failed": "red"}
    for row in report.rows:
        table.add_row(row.fault_id, row.type, row.target,
                      f"[{colours[row.outcome]}]{row.outcome}[/]", row.detail)
    console.print(table)
    counts: dict[str, int] = {}
    for row in report.rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    console.print(", ".join(f"{n} {outcome}" for outcome, n in counts.items()))
    if not report.clean:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``harness cleanup`` to the app."""
    app.command("cleanup")(cleanup_command)
