"""``harness gate RUN_DIR --rules gate.yaml [--baseline RUN_DIR|scorecard.json]``.

Exit 0 when every rule passes, 1 when one fails (the table says which and why), 2 on
bad input (a rule file with a typo, a missing scorecard), so CI can tell "the build is
not good enough" from "the gate is misconfigured". Each rule reads pass, FAIL, not
measured or skipped with its value, bound and reason, so a healthy run of a system without
policies and a run whose declared telemetry broke read differently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console

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

        from harness.gate import evaluate, load_gate
        from harness.runfolder import read_scorecard

        gate = load_gate(rules)
        card = read_scorecard(run)
        base = read_scorecard(baseline) if baseline is not None else None
        result = evaluate(card, gate, base)

        console = Console(highlight=False, soft_wrap=False, width=max(Console().width, 100))
        title = f"gate {rules} on run {card.run.run_id}"
        if base is not None:
            title += f" (baseline {base.run.run_id})"
        _print(console, result, title)
        if json_out is not None:
            json_out.write_text(json.dumps({
                **result.as_json(), "run_id": card.run.run_id,
                "baseline": base.run.run_id if base is not None else None}, indent=2), encoding="utf-8")
        if markdown is not None:
            with markdown.open("a", encoding="utf-8") as fh:
                fh.write(_markdown(result, title))
        raise typer.Exit(result.exit_code)

    _ = gate_cmd


# what each outcome reads as: a healthy run without policies and a broken one must differ
_WORD = {"pass": "pass", "fail": "FAIL", "not_measured": "not measured", "skip": "skipped"}
_STYLE = {"pass": "green", "fail": "bold red", "not_measured": "yellow", "skip": "dim"}


def _verdict_line(result: GateResult) -> str:
    from harness.gate import NOTHING_MEASURED

    if result.failures:
        head = f"gate FAILED: {len(result.failures)} of {len(result.outcomes)} rules failed"
        if result.nothing_measured:
            head += f", and {NOTHING_MEASURED}"
        return f"{head} ({result.summary})"
    if result.nothing_measured:
        return f"gate FAILED: {NOTHING_MEASURED} ({result.summary})"
    return f"gate passed: {result.summary}"


def _print(console: Console, result: GateResult, title: str) -> None:
    """The table (rule, bound, actual, result, reason), the verdict with counts, then one line
    per failed and per unmeasured rule with its reason (the lines CI logs are grepped for)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left")
    for col in ("rule", "bound", "actual", "result", "reason"):
        table.add_column(col, overflow="fold")
    for o in result.outcomes:
        table.add_row(escape(o.rule), escape(o.bound), escape(o.actual),
                      f"[{_STYLE[o.status]}]{_WORD[o.status]}[/]", escape(o.reason))
    console.print(table)
    line = _verdict_line(result)
    console.print(line, style="green" if result.passed else "bold red", markup=False, soft_wrap=True)
    for o in result.failures:
        console.print(f"  FAIL {o.rule}: {o.reason}", markup=False, soft_wrap=True)
    for o in result.not_measured:
        console.print(f"  not measured {o.rule}: {o.reason}", markup=False, soft_wrap=True)


def _markdown(result: GateResult, title: str) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("<", "&lt;")

    def code(text: str) -> str:  # literal in a code span: no entity needed for < (GFM still wants \|)
        return "`" + text.replace("`", "'").replace("|", "\\|") + "`"

    icon = {"pass": "✅ pass", "fail": "❌ **FAIL**", "skip": "⏭️ skipped", "not_measured": "➖ not measured"}
    head = "✅ gate passed" if result.passed else "❌ gate failed"
    lines = [f"### {head}: {cell(title)}", "", cell(_verdict_line(result)), "",
             "| rule | bound | actual | result | reason |", "|---|---|---|---|---|"]
    lines += [f"| {code(o.rule)} | {code(o.bound)} | {cell(o.actual)} | {icon[o.status]} | {cell(o.reason)} |"
              for o in result.outcomes]
    return "\n".join(lines) + "\n\n"
