"""``harness score RUN_DIR`` and ``harness telemetry receive``.

``score`` re-scores any run folder from its files alone (journal, traces, audit,
policies, contracts) and writes ``scorecard.json``; it exits 0 whatever the verdict
(gating is ``harness gate``'s job) and 2 on a missing or malformed folder.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=True)

telemetry_app = typer.Typer(help="Trace ingest: an OTLP/HTTP receiver on loopback.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``score`` and the ``telemetry`` group to ``app``."""

    @app.command("score")
    def score_cmd(
        run_dir: Path = typer.Argument(..., help="a run folder, e.g. reports/<run-id>"),
        out: Path | None = typer.Option(None, "--out", "-o", help="default: RUN_DIR/scorecard.json"),
    ) -> None:
        """Score a run folder into scorecard.json (formulas in docs/scoring.md)."""
        # imported here to keep `harness --help` fast
        from harness.runfolder import RunFolder
        from harness.scoring import score_run
        from harness.telemetry.rundir import load_run

        folder = RunFolder.existing(run_dir)
        card = score_run(load_run(folder))
        target = folder.write_scorecard(card, out)
        adherence = card.policy.adherence
        policy = (f"{100 * adherence:.1f}%" if adherence is not None
                  else f"not measured ({card.policy.not_measured or 'no agent actions'})")
        mttr = "n/a" if card.mttr.p50 is None else f"{card.mttr.p50:.2f}s"
        console.print(
            f"{card.verdict.upper()}  resilience {card.resilience_score:.1f}/100  "
            f"scenarios {sum(s.passed for s in card.scenarios)}/{len(card.scenarios)} passed  "
            f"MTTR p50 {mttr} (resolution {card.run.probe_interval_s or 'n/a'}s)  "
            f"lost {len(card.integrity.lost)} duplicated {card.integrity.duplicated_text}  "
            f"policy {policy}  -> {target}"
        )
        for warning in card.telemetry.warnings:
            console.print(f"  telemetry: {warning}", markup=False, highlight=False)
        if card.journal.warning:
            console.print(f"  journal: {card.journal.warning}", markup=False, highlight=False)

    @telemetry_app.command("receive")
    def receive_cmd(
        out: Path = typer.Option(Path("traces.jsonl"), "--out", "-o", help="spans are appended here (JSONL)"),
        port: int = typer.Option(4318, "--port", "-p", help="0 picks a free port"),
        host: str = typer.Option("127.0.0.1", "--host", help="bind address (loopback by default)"),
    ) -> None:
        """Receive OTLP/HTTP traces (POST /v1/traces, protobuf or JSON, gzip) until Ctrl-C."""
        from harness.errors import ConfigError
        from harness.telemetry.receiver import OtlpReceiver

        try:
            receiver = OtlpReceiver(out, host=host, port=port)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}", field="--port") from None
        try:
            receiver.serve_until_signalled(
                ready=lambda: console.print(f"receiving OTLP/HTTP on {receiver.endpoint} -> {out}", markup=False))
        finally:
            receiver.stop()
            console.print(f"received {receiver.spans_received} spans in {receiver.requests} requests")

    app.add_typer(telemetry_app, name="telemetry")
    _ = (score_cmd, receive_cmd)
