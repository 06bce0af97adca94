"""Run every contract suite against a described system, and snapshot its contracts.

``run_all`` is what ``harness contracts run`` and the engine call: OpenAPI tests for every
service with an ``openapi_url`` (whatever its kind: the orchestrator too), A2A checks for
A2A agents, MCP checks for MCP servers (each compared with its baseline snapshot when
``contracts/`` has one) and Pact verification of every provider
named in the pact directory. Results are per edge (``caller->callee`` when system.yaml
declares the edge, else the service name).

``snapshot`` saves the live contracts (OpenAPI documents, agent cards, tool lists) as
the baselines later runs, ``diff`` and ``can-i-deploy`` compare against::

    contracts/openapi/<service>.json  contracts/a2a/<service>.card.json
    contracts/mcp/<service>.tools.json  contracts/pacts/<consumer>-<provider>.json
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from harness.contracts.catalog import PROTOCOLS, SUITES, check_service_protocols, protocol
from harness.contracts.mcp import mcp_url
from harness.contracts.pact import verify_pacts
from harness.contracts.protocol import CheckOptions, ContractProtocol
from harness.contracts.results import ContractsUnavailable, failed_result, require_checks
from harness.errors import ConfigError
from harness.model.scorecard import ContractResult
from harness.model.system import Service, SystemSpec

__all__ = ["DEFAULT_DIR", "SUITES", "baseline_path", "edge_of", "mcp_url", "run_all", "set_recording",
           "snapshot", "suite_of", "verify_pacts"]

DEFAULT_DIR = Path("contracts")


def edge_of(system: SystemSpec, service: str) -> str:
    for edge in system.edges:
        if edge.callee == service:
            return edge.name
    return service


def covering(service: Service) -> ContractProtocol | None:
    """The protocol that checks ``service`` live (the first in the catalog that covers it)."""
    return next((proto for proto in PROTOCOLS if proto.covers(service)), None)


def suite_of(service: Service) -> str | None:
    """The live suite that checks ``service`` (openapi for REST with an ``openapi_url``, a2a /
    mcp by protocol, ...); None when it publishes no contract the harness can fetch."""
    proto = covering(service)
    return proto.name if proto is not None else None


def baseline_path(contracts_dir: Path, service: Service) -> Path:
    proto = covering(service)
    path = proto.baseline_path(contracts_dir, service) if proto is not None else None
    if path is None:
        raise ConfigError(f"service {service.name!r} publishes no contract to keep a baseline of",
                          field="services[].protocol")
    return path


def _load_baseline(path: Path | None) -> Any:
    if path is None or not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable baseline: {exc}", path=str(path)) from None


def run_all(system: SystemSpec, *, suites: Sequence[str] = SUITES, contracts_dir: str | Path = DEFAULT_DIR,
            pacts: Sequence[str | Path] | None = None, examples: int = 8, openapi_examples: int = 25,
            seed: int = 0, services: Sequence[str] | None = None, report_dir: str | Path | None = None,
            exclude_checks: Sequence[str] = ()) -> list[ContractResult]:
    """Run the chosen suites against ``system``; one ContractResult per suite x edge.

    Every service is covered whatever its ``kind``, the orchestrator included: each gets
    the suite of the catalog's first protocol that covers it (docs/contracts.md). Then
    protocols that check per system rather than per service run (Pact: ``pacts`` defaults
    to ``<contracts_dir>/pacts``; a missing pact directory skips the pact suite when every
    suite runs (nothing recorded yet), a provider not in system.yaml fails it).

    Nothing passes for having checked nothing: an unreachable or unparsable document is
    a failed ``document`` check naming the service, a suite result with zero checks fails
    (``no checks``), and a selection that matched nothing fails (``selection``): a
    ``services`` name no chosen suite covers, a suite chosen on its own (``suites`` other
    than all of them) that found nothing to check, or no check at all.
    """
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise ConfigError(f"unknown contract suite(s) {unknown}; valid: {', '.join(SUITES)}", field="suite")
    check_service_protocols(system)
    known = {s.name for s in system.services}
    strangers = [n for n in services or [] if n not in known]
    if strangers:
        raise ConfigError(f"unknown service(s) {strangers}; known: {', '.join(sorted(known))}", field="service")
    options = CheckOptions(contracts_dir=Path(contracts_dir), examples=examples, openapi_examples=openapi_examples,
                           seed=seed, report_dir=report_dir, exclude_checks=tuple(exclude_checks), pacts=pacts,
                           services=services)
    results: list[ContractResult] = []
    covered: dict[str, set[str]] = {s: set() for s in suites}  # suite -> services it checked
    for svc in system.services:
        if services is not None and svc.name not in services:
            continue
        proto = covering(svc)
        if proto is None or proto.name not in suites:
            continue
        baseline = _load_baseline(proto.baseline_path(options.contracts_dir, svc))
        result = proto.check(svc, edge_of(system, svc.name), options, baseline)
        results.append(require_checks(result, svc.name))
        covered[proto.name].add(svc.name)
    for name in suites:
        for names, result in protocol(name).check_system(system, options):
            results.append(require_checks(result, result.edge))
            covered[name].update(names)
    return results + _selection_failures(system, suites, options, covered, bool(results))


def _selection_failures(system: SystemSpec, suites: Sequence[str], options: CheckOptions,
                        covered: dict[str, set[str]], anything: bool) -> list[ContractResult]:
    """One failed ``selection`` check per part of the request that matched nothing."""
    out: list[ContractResult] = []
    suite_list = ", ".join(suites)
    for name in options.services or []:
        if not any(name in names for names in covered.values()):
            out.append(failed_result(_first(suites), name, "selection",
                                     f"{name}: nothing to check: no {suite_list} contract covers this service; "
                                     f"{_offers(system.service(name))}"))
    if options.services is None and set(suites) != set(SUITES):
        for suite in suites:
            if not covered[suite]:
                out.append(failed_result(suite, system.name, "selection",
                                         f"nothing to check: the {suite} suite was chosen but "
                                         f"{protocol(suite).nothing_chosen(options)}"))
    if not anything and not out:
        needs = ", ".join(proto.needs for proto in PROTOCOLS)
        out.append(failed_result(_first(suites), system.name, "selection",
                                 f"nothing to check: system.yaml's services offer no contract for the "
                                 f"suite(s) {suite_list} ({needs})"))
    return out


def _first(suites: Sequence[str]) -> str:
    return suites[0] if len(suites) == 1 else SUITES[0]


def _offers(service: Service) -> str:
    proto = covering(service)
    if proto is not None:
        return f"it is checked by the {proto.name} suite, which was not chosen"
    requires = [p.requires for p in PROTOCOLS if service.protocol in p.speaks and p.requires]
    if requires:
        return f"a {service.protocol} service publishes a contract only with {' or '.join(requires)}"
    return f"no contract protocol checks a {service.protocol} service"


def snapshot(system: SystemSpec, out_dir: str | Path = DEFAULT_DIR, *,
             services: Sequence[str] | None = None, timeout: float = 15.0) -> list[Path]:
    """Save each service's live contract (OpenAPI doc, agent card, tool list) as a baseline.

    Every service that publishes one is tried, so one that is down does not hide the
    others; then ``ContractsUnavailable`` (exit 1) lists each that failed, one line per
    service with the reason, and is also raised when nothing at all could be saved.
    """
    check_service_protocols(system)
    out = Path(out_dir)
    written: list[Path] = []
    problems: list[str] = []
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        for svc in system.services:
            if services is not None and svc.name not in services:
                continue
            proto = covering(svc)
            path = proto.baseline_path(out, svc) if proto is not None else None
            if proto is None or path is None:
                if services is not None:  # asked for by name: saying nothing would read as done
                    problems.append(f"{svc.name}: nothing to snapshot: {_offers(svc)}")
                continue
            doc, problem = proto.fetch_contract(svc, client, timeout)
            if problem is not None:
                problems.append(f"{svc.name}: {problem}")
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(path)
    if not written and not problems:
        kinds = ", ".join(p.contract for p in PROTOCOLS if p.baseline is not None)
        problems.append(f"nothing to snapshot: no selected service publishes a contract ({kinds})")
    if problems:
        raise ContractsUnavailable("; ".join(problems), written=written)
    return written


def set_recording(system: SystemSpec, path: str | Path | None, *, timeout: float = 10.0) -> list[str]:
    """Switch traffic recording on (to ``path``, JSONL appended) or off (None) on every proxy
    of ``system``'s edges, through the proxy API; returns the proxy names."""
    proxies = [e.proxy for e in system.edges if e.proxy]
    if not proxies:
        raise ConfigError("no edge in system.yaml runs through a proxy, so nothing can be recorded",
                          field="edges[].proxy")
    target = str(Path(path).resolve()) if path is not None else None
    with httpx.Client(base_url=system.proxy.api_url, timeout=timeout, trust_env=False) as api:
        for name in proxies:
            try:
                resp = api.post(f"/proxies/{name}", json={"record": target})
            except httpx.HTTPError as exc:
                raise ConfigError(f"proxy API unreachable: {exc}", field="proxy.api_url") from None
            if resp.status_code >= 400:
                raise ConfigError(f"proxy {name!r} refused recording: HTTP {resp.status_code} {resp.text[:200]}",
                                  field="edges[].proxy")
    return [p for p in proxies if p]
