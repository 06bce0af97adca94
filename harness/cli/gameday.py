"""``harness gameday``: a scenario run led by people.

The facilitator reads a briefing, records the team's hypothesis, and starts each phase
by pressing Enter; anything typed instead is journaled as a ``note`` event (with the
author), so the timeline in the report shows what people saw and said. ``abort`` stops
the experiment (faults are reverted, exit code 3). With ``--auto`` phases start on
their own, as in ``harness run``. End of input (stdin closed) counts as Enter, so a
game day can never hang a terminal that went away.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

console = Console(highlight=False, soft_wrap=True)

ABORT_WORDS = {"abort", "a", "stop"}


def _ask(prompt: str) -> str:
    console.print(prompt, end="")
    line = sys.stdin.readline()
    return line.strip()


def _briefing(name: str, scenario: Any) -> None:
    console.rule(f"[bold]Game day: {scenario.title}[/] ({name})")
    if scenario.description:
        console.print(scenario.description.strip())
    table = Table(title="Plan", show_header=True, header_style="bold")
    for col in ("phase", "seconds", "what happens"):
        table.add_column(col)
    faults = ", ".join(f"{f.type} on {f.target.edge or f.target.service}" for f in scenario.faults) or "none"
    what = {"baseline": "steady state under load, no fault", "inject": f"inject: {faults}",
            "observe": "faults stay on; watch", "revert": "every fault reverted",
            "recover": f"probes must hold for {scenario.stable_for:g}s"}
    for phase, secs in scenario.phases.model_dump().items():
        table.add_row(phase, f"{secs:g}", what[phase])
    console.print(table)
    probes = ", ".join(p.name for p in scenario.steady_state) or "none"
    slos = ", ".join(f"{s.metric} {'>=' if s.min is not None else '<='} "
                     f"{s.min if s.min is not None else s.max} ({s.phase})" for s in scenario.slos) or "none"
    console.print(f"probes: {probes}\nSLOs: {slos}")


def register(app: typer.Typer) -> None:
    @app.command("gameday")
    def gameday_cmd(
        scenario_path: Path = typer.Argument(..., metavar="SCENARIO", help="the scenario to play"),
        system: Path | None = typer.Option(None, "--system", "-s", help="system.yaml (default: the sandbox)"),
        defect: list[str] = typer.Option([], "--defect", help="seeded sandbox defect (repeatable)"),
        facilitator: str = typer.Option("facilitator", "--facilitator", help="name recorded with notes"),
        auto: bool = typer.Option(False, "--auto", help="start phases on their own (no prompts)"),
        out: Path = typer.Option(Path("reports"), "--out", help="folder for reports/<run-id>/"),
        production: bool = typer.Option(False, "--i-know-this-is-production",
                                        help="allow a system whose environment is 'production'"),
    ) -> None:
        """Play one scenario with people: briefing, hypothesis, phase-by-phase go, notes, report."""
        # imported here to keep `harness --help` fast
        from harness.cli.run import print_result
        from harness.engine.run import RunOptions, execute_run
        from harness.engine.scenario_runner import AbortRun
        from harness.model.loader import load_scenario
        from harness.sandbox.target import open_system_or_sandbox

        scenario = load_scenario(scenario_path)
        name = scenario_path.stem
        _briefing(name, scenario)
        hypothesis = "" if auto else _ask("What does the team expect to happen? (one line, Enter to skip) ")
        started = {"hypothesis": False}

        def before_phase(runner: Any, phase: str, _scenario: Any) -> None:
            if not started["hypothesis"]:
                started["hypothesis"] = True
                if hypothesis:
                    runner.note(f"hypothesis: {hypothesis}", author=facilitator)
            avail = runner.status.availability()
            live = "-" if avail is None else f"{avail:.1%}"
            faults = ", ".join(runner.status.active_faults) or "none"
            console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] availability (5 s) {live}; active faults: {faults}")
            if auto:
                console.print(f"starting [bold]{phase}[/]")
                return
            while True:
                answer = _ask(f"[Enter] start [bold]{phase}[/], type a note, or 'abort': ")
                if not answer:
                    return
                if answer.lower() in ABORT_WORDS:
                    runner.note("facilitator aborted the game day", author=facilitator)
                    raise AbortRun(f"aborted by {facilitator} before {phase}")
                runner.note(answer, author=facilitator)
                console.print("[green]noted[/]")

        with open_system_or_sandbox(system, defects=defect, allow_production=production, say=console.print) as target:
            result = execute_run(RunOptions(target=target, scenarios=[scenario_path], out_root=out, repeats=1,
                                            allow_production=production, before_phase=before_phase,
                                            on_event=console.print))
        print_result(result)
        raise typer.Exit(result.exit_code)

    _ = gameday_cmd
