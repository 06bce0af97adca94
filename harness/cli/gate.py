"""``harness gate RUN_DIR --rules gate.yaml [--baseline RUN_DIR|scorecard.json]``.

Exit 0 when every rule passes, 1 when one fails (the table says which and why), 2 on
bad input (a rule file with a typo, a missing scorecard), so CI can tell "the build is
not good enough" from "the gate is misconfigured".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from harness.gate import GateResult


def register(app: typer.Typer) -> None:
    """Add ``gate`` to ``app``."""

    @app.command("gate")
    def gate_cmd(
        run: Path = typer.Argument(..., help="a run folder (reports/<run-id>) or a scorecard.json"),
        rules: Path = typer.Option(Path("gate.yaml"), "--rules", "-r", help="the gate file"),
        baseline: Path | None = typer.Option(None, "--baseline", "-b",
                                             help="a baseline run folder or scorecard.json"),
        json_out: Path | None = typer.Option(None, "--json", help="also write the outcome as JSON here"),
        markdown: Path | None = typer.Option(
            None, "--markdown", help="append the outcome as a Markdown table (e.g. $GITHUB_STEP_SUMMARY)"),
    ) -> None:
        """Pass or fail a run against thresholds and a baseline (exit 0 pass, 1 fail, 2 usage error)."""
        from rich.console import Console
        from rich.table import Table

        from harness.gate import evaluate, load_gate
        from harness.report.data import load_scorecard

        gate = load_gate(rules)
        card = load_scorecard(run)
        base = load_scorecard(baseline) if baseline is not None else None
        result = evaluate(card, gate, base)

        console = Console(highlight=False, soft_wrap=False, width=max(Console().width, 100))
        title = f"gate {rules} on run {card.run.run_id}"
        if base is not None:
            title += f" (baseline {base.run.run_id})"
        table = Table(title=title, title_justify="left")
        for col in ("rule", "required", "actual", "result"):
            table.add_column(col, overflow="fold")
        style = {"pass": "[green]PASS[/]", "fail": "[bold red]FAIL[/]", "skip": "[yellow]SKIP[/]",
                 "unmeasured": "[yellow]NOT MEASURED[/]"}
        for o in result.outcomes:
            note = f" ({o.reason})" if o.status in ("skip", "unmeasured") or o.actual == "not measured" else ""
            table.add_row(o.rule, o.required, o.actual, style[o.status] + note)
        console.print(table)
        counts = (f"{result.count('pass')} passed, {result.count('fail')} failed, "
                  f"{result.count('unmeasured')} not measured, {result.count('skip')} skipped")
        fails = result.failures
        if fails:
            console.print(f"[bold red]gate FAILED[/]: {len(fails)} of {len(result.outcomes)} rules failed "
                          f"({counts})", markup=True)
            for o in fails:
                console.print(f"  FAIL {o.rule}: {o.reason}", markup=False, soft_wrap=True)
        elif result.nothing_measured:
            console.print(f"[bold red]gate FAILED[/]: nothing this gate checks was measured ({counts})",
                          markup=True)
        else:
            console.print(f"[green]gate passed[/]: {counts}", markup=True)
        for o in result.outcomes:
            if o.status == "unmeasured":
                console.print(f"  not measured {o.rule}: {o.reason}", markup=False, soft_wrap=True)
        if json_out is not None:
            json_out.write_text(json.dumps({
                "passed": result.passed, "run_id": card.run.run_id,
                "baseline": base.run.run_id if base is not None else None,
                "outcomes": [o.__dict__ for o in result.outcomes]}, indent=2), encoding="utf-8")
        if markdown is not None:
            with markdown.open("a", encoding="utf-8") as fh:
                fh.write(_markdown(result, title))
        raise typer.Exit(result.exit_code)

    _ = gate_cmd


def _markdown(result: GateResult, title: str) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("<", "&lt;")

    def code(text: str) -> str:  # literal in a code span: no entity needed for < (GFM still wants \|)
        return "`" + text.replace("`", "'").replace("|", "\\|") + "`"

    icon = {"pass": "✅ pass", "fail": "❌ **fail**", "skip": "⏭️ skip", "unmeasured": "➖ not measured"}
    lines = [f"### {'✅ gate passed' if result.passed else '❌ gate failed'}: {cell(title)}", "",
             "| rule | required | actual | result |", "|---|---|---|---|"]
    lines += [f"| {code(o.rule)} | {code(o.required)} | {cell(o.actual)} | {icon[o.status]}"
              + (f": {cell(o.reason)}" if o.reason and o.status != "pass" else "") + " |"
              for o in result.outcomes]
    if result.nothing_measured:
        lines += ["", "Nothing this gate checks was measured, so it fails."]
    return "\n".join(lines) + "\n\n"
