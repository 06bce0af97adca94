"""``harness contracts ...``: generate and run contract tests between agents.

Exit codes everywhere: 0 all contracts hold, 1 a contract failed or a change is
breaking, 2 bad input (missing file, unknown service, unreadable document).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

SYSTEM_HELP = "system.yaml describing the services"


def _system(path: Path) -> Any:
    from harness.model.loader import load_system

    return load_system(path)


def _services(system: Any, names: list[str] | None) -> list[str] | None:
    from harness.errors import ConfigError

    if not names:
        return None
    known = {s.name for s in system.services}
    for n in names:
        if n not in known:
            raise ConfigError(f"unknown service {n!r}; known: {', '.join(sorted(known))}", field="--service")
    return names


def _report(results: list[Any], out: Path | None = None) -> None:
    """Print a table of results plus every failure; write contracts.json; exit 0/1."""
    from rich.console import Console
    from rich.table import Table

    from harness.contracts.results import all_passed, write_results

    console = Console(highlight=False, width=max(Console().width, 110))
    table = Table(title="contracts", title_justify="left")
    for col in ("suite", "edge", "passed", "failed", "result"):
        table.add_column(col, overflow="fold")
    for r in results:
        ok = r.failed == 0 and not r.breaking_changes
        table.add_row(r.suite, r.edge, str(r.passed), str(r.failed), "[green]PASS[/]" if ok else "[red]FAIL[/]")
    console.print(table)
    for r in results:
        for change in r.breaking_changes:
            console.print(f"BREAKING [{r.suite} {r.edge}] {change}", markup=False, soft_wrap=True)
        for f in r.failures:
            console.print(f"FAIL [{r.suite} {r.edge}] {f.name}: {f.message}", markup=False, soft_wrap=True)
    if out is not None:
        path = write_results(results, out)
        console.print(f"wrote {path}", markup=False)
    if not results:
        console.print("no contracts to check (no matching services or pacts)", markup=False)
    raise typer.Exit(0 if all_passed(results) else 1)


def _load_json(path: Path | None) -> Any:
    if path is None:
        return None
    from harness.contracts.diff import load_doc

    return load_doc(path)


def register(app: typer.Typer) -> None:
    """Add the ``contracts`` command group to ``app``."""
    group = typer.Typer(help="Contract tests between agents: OpenAPI, Pact V4, A2A, MCP, diff.",
                        no_args_is_help=True)
    app.add_typer(group, name="contracts")

    @group.command("run")
    def run_cmd(
        system: Path = typer.Option(..., "--system", "-s", help=SYSTEM_HELP),
        out: Path | None = typer.Option(None, "--out", "-o", help="run folder to write contracts.json into"),
        suite: list[str] = typer.Option(None, "--suite", help="openapi, a2a, mcp, pact (default all)"),
        service: list[str] = typer.Option(None, "--service", help="only these services"),
        contracts_dir: Path = typer.Option(Path("contracts"), "--contracts", help="baselines and pacts/"),
        pacts: list[Path] = typer.Option(None, "--pacts", help="pact files/dirs (default CONTRACTS/pacts)"),
        examples: int = typer.Option(8, "--examples", "-n", help="generated calls per A2A skill / MCP tool"),
        openapi_examples: int = typer.Option(25, "--openapi-examples", help="schemathesis max examples"),
        seed: int = typer.Option(0, "--seed", help="seed of every generator (same seed, same inputs)"),
        exclude_checks: list[str] = typer.Option(None, "--exclude-checks", help="schemathesis checks to skip"),
    ) -> None:
        """Run every contract suite against a system; write contracts.json into --out."""
        from harness.contracts.run import SUITES, run_all

        spec = _system(system)
        results = run_all(spec, suites=suite or SUITES, contracts_dir=contracts_dir, pacts=pacts or None,
                          examples=examples, openapi_examples=openapi_examples, seed=seed,
                          services=_services(spec, service), report_dir=out, exclude_checks=exclude_checks or ())
        _report(results, out)

    @group.command("openapi")
    def openapi_cmd(
        system: Path | None = typer.Option(None, "--system", "-s", help=SYSTEM_HELP),
        url: str | None = typer.Option(None, "--url", help="an OpenAPI document URL or file"),
        base_url: str | None = typer.Option(None, "--base-url", help="API base URL (needed for a file)"),
        service: list[str] = typer.Option(None, "--service", help="only these services"),
        examples: int = typer.Option(50, "--examples", "-n", help="schemathesis max examples per operation"),
        seed: int = typer.Option(0, "--seed"),
        out: Path | None = typer.Option(None, "--out", "-o", help="run folder for contracts.json + reports"),
        exclude_checks: list[str] = typer.Option(None, "--exclude-checks", help="schemathesis checks to skip"),
    ) -> None:
        """Property-based tests (schemathesis) of REST agents' OpenAPI documents."""
        from harness.contracts.openapi import check_openapi
        from harness.errors import ConfigError

        if (system is None) == (url is None):
            raise ConfigError("give exactly one of --system or --url", field="--system/--url")
        if url is not None:
            results = [check_openapi(url, base_url=base_url, max_examples=examples, seed=seed, report_dir=out,
                                     exclude_checks=tuple(exclude_checks or ()))]
        else:
            from harness.contracts.run import run_all

            spec = _system(system)  # type: ignore[arg-type]
            results = run_all(spec, suites=["openapi"], openapi_examples=examples, seed=seed,
                              services=_services(spec, service), report_dir=out, exclude_checks=exclude_checks or ())
        _report(results, out)

    def live(kind: str) -> None:
        @group.command(kind)
        def cmd(
            system: Path | None = typer.Option(None, "--system", "-s", help=SYSTEM_HELP),
            url: str | None = typer.Option(None, "--url", help="agent base URL (A2A) or MCP endpoint URL"),
            baseline: Path | None = typer.Option(None, "--baseline", help="accepted card / tool list (JSON)"),
            service: list[str] = typer.Option(None, "--service", help="only these services"),
            contracts_dir: Path = typer.Option(Path("contracts"), "--contracts", help="where baselines live"),
            examples: int = typer.Option(8, "--examples", "-n"),
            seed: int = typer.Option(0, "--seed"),
            out: Path | None = typer.Option(None, "--out", "-o", help="run folder for contracts.json"),
        ) -> None:
            from harness.contracts import a2a, mcp
            from harness.errors import ConfigError

            if (system is None) == (url is None):
                raise ConfigError("give exactly one of --system or --url", field="--system/--url")
            if url is not None:
                check = a2a.check_agent if kind == "a2a" else mcp.check_server
                results = [check(url, baseline=_load_json(baseline), examples=examples, seed=seed)]
            else:
                from harness.contracts.run import run_all

                spec = _system(system)  # type: ignore[arg-type]
                results = run_all(spec, suites=[kind], contracts_dir=contracts_dir, examples=examples, seed=seed,
                                  services=_services(spec, service))
            _report(results, out)

        cmd.__doc__ = ("A2A 1.0: agent card shape, generated SendMessage/GetTask calls, result schemas."
                       if kind == "a2a" else
                       "MCP: tools/list, generated tools/call inputs, outputSchema, isError, invalid inputs.")

    live("a2a")
    live("mcp")

    @group.command("generate")
    def generate_cmd(
        recording: list[Path] = typer.Option(..., "--recording", "-r", help="proxy JSONL recording or HAR"),
        out: Path = typer.Option(Path("contracts/pacts"), "--out", "-o", help="where to write pact files"),
        system: Path | None = typer.Option(None, "--system", "-s", help="maps proxy names to caller/callee"),
        consumer: str | None = typer.Option(None, "--consumer", help="consumer name for every exchange"),
        provider: str | None = typer.Option(None, "--provider", help="provider name for every exchange"),
    ) -> None:
        """Generate Pact V4 files from recorded traffic."""
        import json

        from harness.contracts.pact import generate_pacts

        spec = _system(system) if system is not None else None
        for path in generate_pacts(recording, out, system=spec, consumer=consumer, provider=provider):
            n = len(json.loads(path.read_text(encoding="utf-8"))["interactions"])
            typer.echo(f"wrote {path} ({n} interaction{'s' if n != 1 else ''})")

    @group.command("record")
    def record_cmd(
        system: Path = typer.Option(..., "--system", "-s", help=SYSTEM_HELP),
        to: Path | None = typer.Option(None, "--to", help="JSONL file to append exchanges to"),
        stop: bool = typer.Option(False, "--stop", help="stop recording"),
    ) -> None:
        """Start (--to FILE) or stop (--stop) traffic recording on every proxied edge."""
        from harness.contracts.run import set_recording
        from harness.errors import ConfigError

        if (to is None) == (not stop):
            raise ConfigError("give exactly one of --to FILE or --stop", field="--to/--stop")
        names = set_recording(_system(system), None if stop else to)
        typer.echo(f"recording {'stopped' if stop else f'to {to}'} on: {', '.join(names)}")

    @group.command("verify")
    def verify_cmd(
        system: Path = typer.Option(..., "--system", "-s", help=SYSTEM_HELP),
        pacts: list[Path] = typer.Option(None, "--pacts", help="pact files/dirs (default contracts/pacts)"),
        provider: list[str] = typer.Option(None, "--provider", help="only these providers"),
        out: Path | None = typer.Option(None, "--out", "-o", help="run folder for contracts.json"),
    ) -> None:
        """Verify each provider against its consumers' pacts (pact-python Verifier)."""
        from harness.contracts.run import verify_pacts
        from harness.errors import ConfigError

        spec = _system(system)
        sources = pacts or [Path("contracts/pacts")]
        missing = [p for p in sources if not p.exists()]
        if missing:
            raise ConfigError("pact file or directory not found", path=str(missing[0]))
        _report(verify_pacts(spec, sources, services=provider or None), out)

    @group.command("diff")
    def diff_cmd(
        old: Path = typer.Argument(..., help="the accepted contract (OpenAPI, agent card, tool list, pact)"),
        new: Path = typer.Argument(..., help="the new version of it"),
    ) -> None:
        """List breaking and non-breaking changes (exit 1 if any is breaking)."""
        from harness.contracts.diff import diff_docs, load_doc

        kind, changes = diff_docs(load_doc(old), load_doc(new), old_name=str(old), new_name=str(new))
        breaking = [c for c in changes if c.breaking]
        typer.echo(f"{kind} diff {old} -> {new}: {len(breaking)} breaking, {len(changes) - len(breaking)} other")
        for c in breaking:
            typer.echo(f"  BREAKING {c}")
        for c in changes:
            if not c.breaking:
                typer.echo(f"  ok       {c}")
        raise typer.Exit(1 if breaking else 0)

    @group.command("can-i-deploy")
    def deploy_cmd(
        provider: str = typer.Option(..., "--provider", "-p", help="provider (service) name in the pacts"),
        contract: Path = typer.Option(..., "--contract", "-c", help="its new OpenAPI doc, agent card or tools"),
        pacts: list[Path] = typer.Option(None, "--pacts", help="pact files/dirs (default contracts/pacts)"),
    ) -> None:
        """Check a new provider version against every recorded consumer pact."""
        from harness.contracts.deploy import can_i_deploy
        from harness.contracts.diff import load_doc
        from harness.errors import ConfigError

        sources: list[Path] = pacts or [Path("contracts/pacts")]
        checked, changes = can_i_deploy(provider, load_doc(contract), list(sources))
        if checked == 0:
            raise ConfigError(f"no pact names provider {provider!r}", path=", ".join(map(str, sources)))
        if changes:
            typer.echo(f"NO: {len(changes)} problem(s) across {checked} interaction(s) of {provider}")
            for c in changes:
                typer.echo(f"  BREAKING {c}")
            raise typer.Exit(1)
        typer.echo(f"yes: all {checked} recorded interaction(s) of {provider} are still honoured")

    @group.command("snapshot")
    def snapshot_cmd(
        system: Path = typer.Option(..., "--system", "-s", help=SYSTEM_HELP),
        out: Path = typer.Option(Path("contracts"), "--out", "-o", help="contracts folder"),
        service: list[str] = typer.Option(None, "--service", help="only these services"),
    ) -> None:
        """Save the live contracts (OpenAPI docs, agent cards, tool lists) as baselines."""
        from harness.contracts.run import snapshot

        spec = _system(system)
        for path in snapshot(spec, out, services=_services(spec, service)):
            typer.echo(f"wrote {path}")

    _ = (run_cmd, openapi_cmd, record_cmd, generate_cmd, verify_cmd, diff_cmd, deploy_cmd, snapshot_cmd)
