"""``harness contracts ...``: generate and run contract tests between agents.

Exit codes everywhere: 0 all contracts hold, 1 a contract failed or a change is
breaking (a service that is down, a document that cannot be fetched and a selection
that matched nothing are failures too: nothing passes for having checked nothing),
2 bad input (missing file, unknown service, a flag combination that cannot work).
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


def _usage(condition: bool, message: str, flags: str) -> None:
    """Refuse a flag combination that cannot work (exit 2) instead of silently ignoring a flag."""
    from harness.errors import ConfigError

    if condition:
        raise ConfigError(message, field=flags)


def _report(results: list[Any], out: Path | None = None) -> None:
    """Print a table of results plus every failure; write contracts.json; exit 0/1.

    A result that counted no check becomes a failure saying so before anything is shown
    or written, so neither the table nor contracts.json can read PASS with 0 checks.
    """
    from rich.console import Console
    from rich.table import Table

    from harness.contracts.results import all_passed, failed_result, require_checks, write_results

    results = [require_checks(r) for r in results]
    if not results:
        results = [failed_result("pact", "-", "selection", "nothing to check: no matching services or pacts")]
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

        _usage(bool(pacts) and bool(suite) and "pact" not in suite,
               "--pacts is only read by the pact suite, which --suite leaves out", "--pacts/--suite")
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

        _usage((system is None) == (url is None), "give exactly one of --system or --url", "--system/--url")
        _usage(url is not None and bool(service), "--service selects services of --system; with --url there "
               "is only that document", "--service/--url")
        _usage(system is not None and base_url is not None, "--base-url goes with --url FILE; with --system "
               "each service's base_url is used", "--base-url/--system")
        if url is not None:
            results = [check_openapi(url, base_url=base_url, max_examples=examples, seed=seed, report_dir=out,
                                     exclude_checks=tuple(exclude_checks or ()))]
        else:
            from harness.contracts.run import run_all

            spec = _system(system)  # type: ignore[arg-type]
            results = run_all(spec, suites=["openapi"], openapi_examples=examples, seed=seed,
                              services=_services(spec, service), report_dir=out, exclude_checks=exclude_checks or ())
        _report(results, out)

    def live(kind: str, doc: str) -> None:
        @group.command(kind)
        def cmd(
            system: Path | None = typer.Option(None, "--system", "-s", help=SYSTEM_HELP),
            url: str | None = typer.Option(None, "--url", help="agent base URL (A2A) or MCP endpoint URL"),
            baseline: Path | None = typer.Option(None, "--baseline", help="accepted card / tool list (JSON)"),
            service: list[str] = typer.Option(None, "--service", help="only these services"),
            contracts_dir: Path | None = typer.Option(None, "--contracts",
                                                      help="where baselines live (default contracts)"),
            examples: int = typer.Option(8, "--examples", "-n"),
            seed: int = typer.Option(0, "--seed"),
            out: Path | None = typer.Option(None, "--out", "-o", help="run folder for contracts.json"),
        ) -> None:
            from harness.contracts.catalog import protocol

            _usage((system is None) == (url is None), "give exactly one of --system or --url", "--system/--url")
            _usage(url is not None and bool(service), "--service selects services of --system; with --url "
                   "there is only that endpoint", "--service/--url")
            _usage(url is not None and contracts_dir is not None, "--contracts holds the baselines of "
                   "--system's services; with --url give --baseline FILE", "--contracts/--url")
            _usage(system is not None and baseline is not None, "--baseline goes with --url; with --system "
                   "baselines are read from --contracts DIR", "--baseline/--system")
            if url is not None:
                results = [protocol(kind).check_url(url, baseline=_load_json(baseline), examples=examples,
                                                    seed=seed)]
            else:
                from harness.contracts.run import run_all

                spec = _system(system)  # type: ignore[arg-type]
                results = run_all(spec, suites=[kind], contracts_dir=contracts_dir or Path("contracts"),
                                  examples=examples, seed=seed,
                                  services=_services(spec, service))
            _report(results, out)

        cmd.__doc__ = doc

    # Named here, not read from the catalog, so that `harness --help` need not import every
    # protocol's libraries; a protocol without a line here is still run by `contracts run`.
    live("a2a", "A2A 1.0: agent card shape, generated SendMessage/GetTask calls, result schemas.")
    live("mcp", "MCP: tools/list, generated tools/call inputs, outputSchema, isError, invalid inputs.")

    @group.command("protocols")
    def protocols_cmd() -> None:
        """List the contract protocols (suites) the harness knows."""
        from harness.contracts.catalog import PROTOCOLS

        for proto in PROTOCOLS:
            typer.echo(f"{proto.name:<10} {proto.summary}")

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
        from harness.contracts.results import failed_result
        from harness.contracts.run import verify_pacts
        from harness.errors import ConfigError

        spec = _system(system)
        sources = pacts or [Path("contracts/pacts")]
        missing = [p for p in sources if not p.exists()]
        if missing:
            raise ConfigError("pact file or directory not found", path=str(missing[0]))
        chosen = _services(spec, provider)
        results = verify_pacts(spec, sources, services=chosen)
        if not results:
            wanted = f"providers {', '.join(chosen)}" if chosen else "any provider"
            results = [failed_result("pact", ",".join(chosen or []) or spec.name, "selection",
                                     f"nothing to check: no pact in {', '.join(map(str, sources))} names {wanted}")]
        _report(results, out)

    @group.command("diff")
    def diff_cmd(
        old: Path = typer.Argument(..., help="the accepted contract (OpenAPI, agent card, tool list, pact)"),
        new: Path = typer.Argument(..., help="the new version of it"),
    ) -> None:
        """List breaking and non-breaking changes (exit 1 if any is breaking)."""
        from harness.contracts.catalog import diff_docs
        from harness.contracts.diff import load_doc

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
        from harness.contracts.catalog import can_i_deploy
        from harness.contracts.diff import load_doc
        from harness.errors import ConfigError

        sources: list[Path] = pacts or [Path("contracts/pacts")]
        checked, changes = can_i_deploy(provider, load_doc(contract), list(sources))
        if checked == 0:
            raise ConfigError(f"no pact names provider {provider!r}", path=", ".join(map(str, sources)))
        breaking = [c for c in changes if c.breaking]
        if breaking:
            typer.echo(f"NO: {len(breaking)} problem(s) across {checked} interaction(s) of {provider}")
        else:
            typer.echo(f"yes: all {checked} recorded interaction(s) of {provider} are still honoured")
        for c in breaking:
            typer.echo(f"  BREAKING {c}")
        for c in changes:
            if not c.breaking:
                typer.echo(f"  note     {c}")
        if breaking:
            raise typer.Exit(1)

    @group.command("snapshot")
    def snapshot_cmd(
        system: Path = typer.Option(..., "--system", "-s", help=SYSTEM_HELP),
        out: Path = typer.Option(Path("contracts"), "--out", "-o", help="contracts folder"),
        service: list[str] = typer.Option(None, "--service", help="only these services"),
    ) -> None:
        """Save the live contracts (OpenAPI docs, agent cards, tool lists) as baselines."""
        from harness.contracts.results import ContractsUnavailable
        from harness.contracts.run import snapshot

        spec = _system(system)
        try:
            written = snapshot(spec, out, services=_services(spec, service))
        except ContractsUnavailable as exc:
            for path in exc.written:
                typer.echo(f"wrote {path}")
            raise
        for path in written:
            typer.echo(f"wrote {path}")

    _ = (run_cmd, openapi_cmd, protocols_cmd, record_cmd, generate_cmd, verify_cmd, diff_cmd, deploy_cmd, snapshot_cmd)
