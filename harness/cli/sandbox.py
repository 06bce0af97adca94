"""``harness sandbox up|down|status|demo``: the shipped staging orchestration.

``up`` starts the processes detached (they outlive the command, each in its own process
group) and records them in ``<state-dir>/state.json``; ``down`` and ``status`` read that
file, so they work from any later shell.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=True)

DEFAULT_STATE_DIR = Path(".harness/sandbox")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Start, stop and inspect the embedded sandbox orchestration.", no_args_is_help=True)
    app.add_typer(group, name="sandbox")

    state_opt = typer.Option(DEFAULT_STATE_DIR, "--state-dir", help="where state, logs and telemetry go")

    @group.command("up")
    def up_cmd(
        defect: list[str] = typer.Option([], "--defect", help="seeded defect to switch on (repeatable)"),
        state_dir: Path = state_opt,
        no_proxy: bool = typer.Option(False, "--no-proxy", help="wire edges directly, without the embedded proxy"),
        otlp_endpoint: str = typer.Option("", "--otlp-endpoint", help="also export spans via OTLP/HTTP here"),
    ) -> None:
        """Start every sandbox process, wait for health, write system.yaml, show where things listen."""
        from harness.sandbox import Sandbox

        sb = Sandbox(state_dir, defects=defect, with_proxy=not no_proxy, otlp_endpoint=otlp_endpoint or None,
                     detached=True)
        with console.status("starting the sandbox ..."):
            sb.up()
        _show(sb)
        console.print(f"system.yaml: [bold]{sb.system_yaml_path}[/]   stop with: harness sandbox down "
                      f"--state-dir {state_dir}")

    @group.command("down")
    def down_cmd(state_dir: Path = state_opt) -> None:
        """Stop every process of the sandbox (SIGTERM, then SIGKILL); leaves none behind."""
        from harness.sandbox import Sandbox

        sb = Sandbox.attach(state_dir)
        names = sb.supervisor.names()
        if not names:
            console.print(f"no sandbox recorded in {state_dir}")
            return
        sb.down()
        console.print(f"stopped: {', '.join(names)}")

    @group.command("status")
    def status_cmd(state_dir: Path = state_opt) -> None:
        """Show the sandbox's processes; exit 1 if any recorded process is not running."""
        from harness.sandbox import Sandbox

        sb = Sandbox.attach(state_dir)
        if not sb.supervisor.names():
            console.print(f"no sandbox recorded in {state_dir}")
            raise typer.Exit(1)
        _show(sb)
        if len(sb.running()) != len(sb.supervisor.names()):
            raise typer.Exit(1)

    @group.command("demo")
    def demo_cmd(
        claims: int = typer.Option(10, "--claims", min=1, max=500, help="how many claims to submit"),
        state_dir: Path = state_opt,
    ) -> None:
        """Bring the sandbox up, submit claims, show them complete, bring it down."""
        from concurrent.futures import ThreadPoolExecutor

        from rich.table import Table

        from harness.sandbox import Sandbox, SandboxClient, make_claim

        with console.status("starting the sandbox ..."):
            sb = Sandbox(state_dir).up()
        try:
            _show(sb)
            client = SandboxClient(sb.urls, sb.state_dir)
            batch = [make_claim(150.0 * (i + 1)) for i in range(claims)]
            with ThreadPoolExecutor(max_workers=min(claims, 32)) as pool:
                ids = list(pool.map(client.submit, batch))
                done = list(pool.map(lambda wf: client.wait(wf, timeout_s=120), ids))
            table = Table("claim", "amount", "state", "status", "approved", "payout")
            for claim, st in zip(batch, done, strict=True):
                res = st.get("result") or {}
                table.add_row(claim["claim_id"], f"{claim['amount']:.2f}", st["state"], str(res.get("status")),
                              "-" if res.get("approved") is None else str(res["approved"]),
                              str(res.get("payout_ref") or "-"))
            console.print(table)
            ok = sum(1 for st in done if st["state"] == "SUCCESS")
            ours = {c["claim_id"] for c in batch}
            paid = sum(1 for row in client.ledger() if row["claim_id"] in ours)
            console.print(f"{ok}/{claims} claims completed; payouts in the ledger for them: {paid}")
            client.close()
        finally:
            sb.down()
        if ok != claims:
            raise typer.Exit(1)


def _show(sb: object) -> None:
    from rich.table import Table

    from harness.sandbox import Sandbox

    assert isinstance(sb, Sandbox)
    sup = sb.supervisor
    table = Table("process", "pid", "state", "url", "called via", title="harness sandbox")
    for row in sup.status():
        edge = sb.edges.get(row["name"], {})
        table.add_row(row["name"], str(row["pid"]), "[green]running[/]" if row["running"] else "[red]stopped[/]",
                      row["url"] or "", edge.get("listen", ""))
    console.print(table)
    console.print(f"logs: {sb.state_dir / 'logs'}   proxy API: {sb.proxy_api_url or '(none: edges wired directly)'}")
    if sb.defects:
        console.print(f"seeded defects: [bold red]{', '.join(sb.defects)}[/]")
