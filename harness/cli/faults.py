"""``harness cleanup``: revert every fault a dead run left behind, from the ledger.
``harness faults list`` / ``harness probes list``: every fault and probe type of the catalogs,
plugins included, with its params and docs line (docs/faults.md points here)."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import BaseModel


def cleanup_command(
    ledger: Path = typer.Option(Path(".harness/ledger.jsonl"), "--ledger", help="Cleanup ledger file."),
    force: bool = typer.Option(False, "--force",
                               help="Also revert faults of runs whose process is still alive."),
) -> None:
    """Revert all outstanding faults in the ledger; exit 0 when nothing is left behind."""
    from rich.console import Console
    from rich.table import Table

    from harness.faults.ledger import cleanup

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


faults_app = typer.Typer(help="The fault types scenarios may use.", no_args_is_help=True)
probes_app = typer.Typer(help="The probe types scenarios may use.", no_args_is_help=True)


def _fields(model: type[BaseModel], skip: frozenset[str] = frozenset()) -> str:
    return ", ".join(f"{info.alias or name}={info.get_default(call_default_factory=True)!r}"
                     for name, info in model.model_fields.items() if name not in skip) or "-"


def _print_table(title: str, rows: list[tuple[str, ...]], columns: tuple[str, ...]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    Console(highlight=False).print(table)


@faults_app.command("list")
def faults_list_command() -> None:
    """Every fault type (built in and from plugins): family, params with defaults, what it does."""
    from harness.faults.catalog import fault_kinds
    from harness.faults.network_kinds import HttpMatch

    matchers = frozenset(HttpMatch.model_fields)  # shared by every HTTP toxic; said once, in the title
    rows = [(name, kind.family, _fields(kind.params, matchers), kind.doc)
            for name, kind in sorted(fault_kinds().items())]
    title = f"fault types (scenario faults[].type); http types also take {', '.join(sorted(matchers))}"
    _print_table(title, rows, ("type", "family", "params", "what it does"))


@probes_app.command("list")
def probes_list_command() -> None:
    """Every probe type (built in and from plugins): fields with defaults, what it checks."""
    from harness.engine.probes import probe_kinds

    common = frozenset({"type", "name"})
    rows = [(name, _fields(kind.spec, common), kind.doc) for name, kind in sorted(probe_kinds().items())]
    _print_table("probe types (scenario steady_state[].type)", rows, ("type", "fields", "what it checks"))


def register(app: typer.Typer) -> None:
    """Add ``harness cleanup``, ``harness faults list`` and ``harness probes list`` to the app."""
    app.command("cleanup")(cleanup_command)
    app.add_typer(faults_app, name="faults")
    app.add_typer(probes_app, name="probes")
