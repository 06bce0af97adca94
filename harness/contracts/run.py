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
from urllib.parse import urlsplit

import httpx

from harness.contracts import a2a, mcp
from harness.contracts.diff import load_doc, parse_doc
from harness.contracts.openapi import check_openapi, document_problem, service_problem
from harness.contracts.results import ContractsUnavailable, Suite, Tally, failed_result, reason, require_checks
from harness.errors import ConfigError
from harness.model.scorecard import ContractResult
from harness.model.system import Service, SystemSpec

SUITES = ("openapi", "a2a", "mcp", "pact")
DEFAULT_DIR = Path("contracts")


def mcp_url(service: Service) -> str:
    """The MCP endpoint: ``base_url`` itself if it has a path, else ``base_url/mcp``."""
    path = urlsplit(service.base_url).path
    return service.base_url if path not in ("", "/") else service.base_url.rstrip("/") + "/mcp"


def edge_of(system: SystemSpec, service: str) -> str:
    for edge in system.edges:
        if edge.callee == service:
            return edge.name
    return service


def baseline_path(contracts_dir: Path, service: Service) -> Path:
    kind = {"a2a": ("a2a", "card.json"), "mcp": ("mcp", "tools.json"), "rest": ("openapi", "json")}
    folder, suffix = kind[service.protocol]
    return contracts_dir / folder / f"{service.name}.{suffix}"


def _load_baseline(path: Path) -> Any:
    if not path.exists():
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

    Every service is covered whatever its ``kind``, the orchestrator included: a service
    with an ``openapi_url`` gets the openapi suite, an A2A or MCP service its own suite.
    ``pacts`` defaults to ``<contracts_dir>/pacts``; a missing pact directory skips the
    pact suite when every suite runs (nothing recorded yet), a provider not in system.yaml
    fails it.

    Nothing passes for having checked nothing: an unreachable or unparsable document is
    a failed ``document`` check naming the service, a suite result with zero checks fails
    (``no checks``), and a selection that matched nothing fails (``selection``): a
    ``services`` name no chosen suite covers, a suite chosen on its own (``suites`` other
    than all of them) that found nothing to check, or no check at all.
    """
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise ConfigError(f"unknown contract suite(s) {unknown}; valid: {', '.join(SUITES)}", field="suite")
    known = {s.name for s in system.services}
    strangers = [n for n in services or [] if n not in known]
    if strangers:
        raise ConfigError(f"unknown service(s) {strangers}; known: {', '.join(sorted(known))}", field="service")
    cdir = Path(contracts_dir)
    results: list[ContractResult] = []
    covered: dict[str, set[str]] = {s: set() for s in suites}  # suite -> services it checked
    for svc in system.services:
        if services is not None and svc.name not in services:
            continue
        suite = suite_of(svc)
        if suite is None or suite not in suites:
            continue
        result = _check_service(svc, suite, edge_of(system, svc.name), cdir, examples=examples,
                                openapi_examples=openapi_examples, seed=seed, report_dir=report_dir,
                                exclude_checks=tuple(exclude_checks))
        results.append(require_checks(result, svc.name))
        covered[suite].add(svc.name)
    if "pact" in suites:
        for result in verify_pacts(system, pacts if pacts is not None else [cdir / "pacts"], services=services):
            results.append(require_checks(result, result.edge))
            covered["pact"].update(p.split("->")[-1] for p in result.edge.split(","))
    return results + _selection_failures(system, suites, services, covered, cdir, pacts, bool(results))


def suite_of(service: Service) -> str | None:
    """The live suite that checks ``service``: openapi for REST with an ``openapi_url``,
    a2a / mcp by protocol; None when it publishes no contract the harness can fetch."""
    if service.protocol == "rest":
        return "openapi" if service.openapi_url else None
    return service.protocol if service.protocol in ("a2a", "mcp") else None


def _check_service(svc: Service, suite: str, edge: str, cdir: Path, *, examples: int, openapi_examples: int,
                   seed: int, report_dir: str | Path | None, exclude_checks: tuple[str, ...]) -> ContractResult:
    if suite == "openapi":
        location = svc.openapi_url or ""
        is_url = location.startswith(("http://", "https://"))
        try:
            return check_openapi(location, base_url=None if is_url else svc.base_url, edge=edge,
                                 max_examples=openapi_examples, seed=seed, report_dir=report_dir,
                                 exclude_checks=exclude_checks, service=svc.name)
        except ConfigError as exc:  # a missing document file: this service fails, the others still run
            return failed_result("openapi", edge, "document", f"{svc.name}: OpenAPI document {exc}")
    if suite == "a2a":
        return a2a.check_agent(svc.base_url, edge=edge, examples=examples, seed=seed, service=svc.name,
                               baseline=_load_baseline(baseline_path(cdir, svc)))
    return mcp.check_server(mcp_url(svc), edge=edge, examples=examples, seed=seed, service=svc.name,
                            baseline=_load_baseline(baseline_path(cdir, svc)))


def _selection_failures(system: SystemSpec, suites: Sequence[str], services: Sequence[str] | None,
                        covered: dict[str, set[str]], cdir: Path, pacts: Sequence[str | Path] | None,
                        anything: bool) -> list[ContractResult]:
    """One failed ``selection`` check per part of the request that matched nothing."""
    out: list[ContractResult] = []
    suite_list = ", ".join(suites)
    for name in services or []:
        if not any(name in names for names in covered.values()):
            out.append(failed_result(_first(suites), name, "selection",
                                     f"{name}: nothing to check: no {suite_list} contract covers this service; "
                                     f"{_offers(system.service(name))}"))
    if services is None and set(suites) != set(SUITES):
        for suite in suites:
            if not covered[suite]:
                where = ", ".join(map(str, pacts)) if pacts is not None else str(cdir / "pacts")
                what = (f"no pact files naming a service of system.yaml in {where}" if suite == "pact" else
                        f"no service of system.yaml offers one ({_SUITE_NEEDS[suite]})")
                out.append(failed_result(suite, system.name, "selection",  # type: ignore[arg-type]
                                         f"nothing to check: the {suite} suite was chosen but {what}"))
    if not anything and not out:
        out.append(failed_result(_first(suites), system.name, "selection",
                                 f"nothing to check: system.yaml's services offer no contract for the "
                                 f"suite(s) {suite_list} (an openapi_url, an A2A or MCP service, or pact files)"))
    return out


_SUITE_NEEDS = {"openapi": "a service with an openapi_url", "a2a": "a service with protocol a2a",
                "mcp": "a service with protocol mcp", "pact": "pact files"}


def _first(suites: Sequence[str]) -> Suite:
    return suites[0] if len(suites) == 1 else "openapi"  # type: ignore[return-value]


def _offers(service: Service) -> str:
    suite = suite_of(service)
    if suite is None:
        return f"a {service.protocol} service publishes a contract only with an openapi_url"
    return f"it is checked by the {suite} suite, which was not chosen"


def verify_pacts(system: SystemSpec, pacts: Sequence[str | Path], *,
                 services: Sequence[str] | None = None) -> list[ContractResult]:
    """Verify every provider named in ``pacts`` (files or directories) against ``system``;
    a provider that is down fails once, naming it and the reason."""
    from harness.contracts.pact import pact_files, providers_of, verify_provider

    existing = [p for p in pacts if Path(p).exists()]
    if not existing:
        return []
    results = []
    for provider, files in providers_of(pact_files(existing)).items():
        if services is not None and provider not in services:
            continue
        consumers = sorted({json.loads(f.read_text(encoding="utf-8"))["consumer"]["name"] for f in files})
        edge = ",".join(f"{c}->{provider}" for c in consumers)
        try:
            svc = system.service(provider)
        except KeyError:
            tally = Tally("pact", edge)
            tally.fail("provider", f"pact provider {provider!r} is not a service in system.yaml "
                                   f"(known: {sorted(s.name for s in system.services)})")
            results.append(tally.result())
            continue
        down = service_problem(svc.base_url)
        if down is not None:  # one clear line instead of one "error sending request" per interaction
            results.append(failed_result("pact", edge, "service", f"{provider}: {down}"))
            continue
        results.append(verify_provider(provider, svc.base_url, files, edge=edge,
                                       state_url=svc.provider_states_url))
    return results


def snapshot(system: SystemSpec, out_dir: str | Path = DEFAULT_DIR, *,
             services: Sequence[str] | None = None, timeout: float = 15.0) -> list[Path]:
    """Save each service's live contract (OpenAPI doc, agent card, tool list) as a baseline.

    Every service that publishes one is tried, so one that is down does not hide the
    others; then ``ContractsUnavailable`` (exit 1) lists each that failed, one line per
    service with the reason, and is also raised when nothing at all could be saved.
    """
    out = Path(out_dir)
    written: list[Path] = []
    problems: list[str] = []
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        for svc in system.services:
            if services is not None and svc.name not in services:
                continue
            if suite_of(svc) is None:
                if services is not None:  # asked for by name: saying nothing would read as done
                    problems.append(f"{svc.name}: nothing to snapshot: {_offers(svc)}")
                continue
            doc, problem = _fetch_contract(svc, client, timeout)
            if problem is not None:
                problems.append(f"{svc.name}: {problem}")
                continue
            path = baseline_path(out, svc)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(path)
    if not written and not problems:
        problems.append("nothing to snapshot: no selected service publishes a contract "
                        "(an openapi_url, an A2A agent card or an MCP tool list)")
    if problems:
        raise ContractsUnavailable("; ".join(problems), written=written)
    return written


def _fetch_contract(svc: Service, client: httpx.Client, timeout: float) -> tuple[Any, str | None]:
    """(the contract document, None) or (None, why it could not be fetched)."""
    if svc.protocol == "rest":
        url = svc.openapi_url or ""
        if not url.startswith(("http://", "https://")):
            try:
                return load_doc(url), None
            except ConfigError as exc:
                return None, f"OpenAPI document {exc}"
        problem = document_problem(url, timeout)
        if problem is not None:
            return None, problem
        try:
            return parse_doc(client.get(url).text, url), None
        except (httpx.HTTPError, ConfigError) as exc:
            return None, f"OpenAPI document {url} is unusable: {exc}"
    what, url = ("A2A agent card", svc.base_url.rstrip("/") + a2a.CARD_PATH) if svc.protocol == "a2a" else \
        ("MCP tool list", mcp_url(svc))
    try:
        if svc.protocol == "a2a":
            return a2a.fetch_card(svc.base_url, client=client), None
        return {"tools": mcp.list_tools(mcp_url(svc), timeout=timeout)}, None
    except httpx.HTTPStatusError as exc:
        return None, f"{what} {url} answered HTTP {exc.response.status_code}"
    except httpx.HTTPError as exc:
        return None, f"{what} {url} unreachable: {reason(exc)}"
    except ValueError as exc:
        return None, f"{what} {url} is unusable: {exc}"


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
