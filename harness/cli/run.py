"""``harness run``: run chaos scenarios against a system (the embedded sandbox by default)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness.errors import ConfigError

if TYPE_CHECKING:
    from harness.engine.scenario_runner import LiveStatus

console = Console(highlight=False, soft_wrap=True)


def _default_scenarios() -> list[Path]:
    found = sorted(Path("scenarios").glob("*.yaml"))
    if not found:
        raise ConfigError("no scenarios given and none found in ./scenarios/*.yaml; "
                          "pass scenario files or run from the project root")
    return found


def _contract_suites(value: str | None) -> tuple[str, ...]:
    if value is None:
        return ()
    from harness.contracts.run import SUITES  # imported here to keep `harness --help` fast

    if value.strip() == "all":
        return tuple(SUITES)
    chosen = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [c for c in chosen if c not in SUITES]
    if unknown or not chosen:
        raise ConfigError(f"--contracts: unknown suite(s) {unknown or [value]}; "
                          f"use 'all' or some of {', '.join(SUITES)}")
    return chosen


def _status_table(status: LiveStatus) -> Table:
    table = Table(show_header=True, header_style="bold", box=None)
    for col in ("scenario", "repeat", "phase", "left", "availability (5 s)", "active faults"):
        table.add_column(col)
    left = max(0.0, status.phase_ends_at - time.monotonic())
    avail = status.availability()
    table.add_row(status.scenario, str(status.repeat + 1), status.phase, f"{left:4.1f}s",
                  "-" if avail is None else f"{avail:.1%}", ", ".join(status.active_faults) or "none")
    return table


@contextlib.contextmanager
def _live_progress(status: LiveStatus, enabled: bool) -> Iterator[None]:
    """Redraw the status table four times a second while the run goes on (terminals only)."""
    if not (enabled and console.is_terminal):
        yield
        return
    stop = threading.Event()
    live = Live(_status_table(status), console=console, refresh_per_second=4, transient=True)

    def refresh() -> None:
        while not stop.wait(0.25):
            if status.scenario:
                live.update(_status_table(status))

    live.start()
    threading.Thread(target=refresh, daemon=True).start()
    try:
        yield
    finally:
        stop.set()
        live.stop()


def print_result(result: Any) -> None:
    console.print(f"run {result.run_id}: {result.run_dir}")
    for name, path in sorted(result.outputs.items()):
        console.print(f"  {name}: {path}")


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_cmd(
        scenarios: list[Path] = typer.Argument(None, help="scenario YAML files (default: scenarios/*.yaml)"),
        system: Path | None = typer.Option(None, "--system", "-s", help="system.yaml of the system under test"),
        sandbox: bool = typer.Option(False, "--sandbox", help="use the embedded sandbox (the default)"),
        defect: list[str] = typer.Option([], "--defect", help="seeded sandbox defect to switch on (repeatable)"),
        repeats: int | None = typer.Option(None, "--repeats", min=1, help="override every scenario's repeats"),
        seed: int | None = typer.Option(None, "--seed", help="seed for jitter and load (recorded in the journal)"),
        out: Path = typer.Option(Path("reports"), "--out", help="folder for reports/<run-id>/"),
        settle: float = typer.Option(20.0, "--settle", min=0, help="seconds to let in-flight work finish"),
        production: bool = typer.Option(False, "--i-know-this-is-production",
                                        help="allow a system whose environment is 'production'"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="live progress display"),
        distributed: int | None = typer.Option(None, "--distributed", min=0,
                                               help="Locust master + N local workers for every scenario's load"),
        locust_master: str | None = typer.Option(None, "--locust-master", metavar="HOST:PORT",
                                                 help="attach load workers to an existing Locust master"),
        contracts: str | None = typer.Option(None, "--contracts", metavar="SUITES",
                                             help="after the scenarios, run contract suites into the run: "
                                                  "'all' or a comma list of openapi,pact,a2a,mcp"),
    ) -> None:
        """Run scenarios: baseline -> inject -> observe -> revert -> recover, then score and report.

        Exit codes: 0 ran and held, 1 an SLO or steady state failed, 2 usage/config error,
        3 aborted by a safety condition, 130 interrupted (all faults reverted).
        """
        # imported here to keep `harness --help` fast
        from harness.engine.run import RunOptions, execute_run
        from harness.engine.scenario_runner import LiveStatus
        from harness.model.loader import load_scenario
        from harness.sandbox.target import open_system_or_sandbox

        paths = list(scenarios) if scenarios else _default_scenarios()
        for path in paths:  # validate everything before touching anything
            load_scenario(path)
        status = LiveStatus()
        suites = _contract_suites(contracts)
        load_overrides: dict[str, object] = {}
        if distributed is not None:
            load_overrides["distributed"] = distributed
        if locust_master is not None:
            if ":" not in locust_master:
                raise ConfigError(f"--locust-master must be HOST:PORT, got {locust_master!r}")
            load_overrides["master"] = locust_master

        with open_system_or_sandbox(None if sandbox else system, defects=defect, allow_production=production,
                         say=console.print) as target, _live_progress(status, progress):
            result = execute_run(RunOptions(
                target=target, scenarios=paths, out_root=out, repeats=repeats, seed=seed,
                allow_production=production, settle_s=settle, status=status, on_event=console.print,
                load_overrides=load_overrides, contract_suites=suites))
        print_result(result)
        raise typer.Exit(result.exit_code)

    _ = run_cmd
