"""Run every contract suite against a described system, and snapshot its contracts.

``run_all`` is what ``harness contracts run`` and the engine call: OpenAPI tests for REST
agents, A2A checks for A2A agents, MCP checks for MCP servers (each compared with its
baseline snapshot when ``contracts/`` has one) and Pact verification of every provider
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
from harness.contracts.results import Tally
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

    Every service is covered, the orchestrator included. ``pacts`` defaults to
    ``<contracts_dir>/pacts``; a missing pact directory skips the pact suite (nothing
    recorded yet), a provider not in system.yaml fails it. Nothing passes for having
    checked nothing: an unreachable or unparsable document is a failed check naming the
    service, a suite result with zero checks fails, and so does a selection of services
    and suites that matched nothing.
    """
    unknown = [s for s in suites if s not in SUITES]
    if unknown:
        raise ConfigError(f"unknown contract suite(s) {unknown}; valid: {', '.join(SUITES)}", field="suite")
    cdir = Path(contracts_dir)
    chosen = [s for s in system.services if services is None or s.name in services]
    results: list[ContractResult] = []
    for svc in chosen:
        edge = edge_of(system, svc.name)
        if svc.protocol == "rest" and "openapi" in suites and svc.openapi_url:
            from harness.contracts.openapi import check_openapi

            problem = _document_problem(svc.openapi_url)
            if problem is not None:
                results.append(_failed("openapi", edge, "document", f"{svc.name}: {problem}"))
                continue
            result = check_openapi(svc.openapi_url, edge=edge, max_examples=openapi_examples, seed=seed,
                                   report_dir=report_dir, exclude_checks=tuple(exclude_checks))
        elif svc.protocol == "a2a" and "a2a" in suites:
            result = a2a.check_agent(svc.base_url, edge=edge, examples=examples, seed=seed,
                                     baseline=_load_baseline(baseline_path(cdir, svc)))
        elif svc.protocol == "mcp" and "mcp" in suites:
            result = mcp.check_server(mcp_url(svc), edge=edge, examples=examples, seed=seed,
                                      baseline=_load_baseline(baseline_path(cdir, svc)))
        else:
            continue
        results.append(_checked_something(result, svc.name))
    if "pact" in suites:
        results += verify_pacts(system, pacts if pacts is not None else [cdir / "pacts"], services=services)
    if not results:
        wanted = f"services {', '.join(services)}" if services is not None else "system.yaml's services"
        results.append(_failed(suites[0] if len(suites) == 1 else "openapi", ",".join(services or []) or system.name,
                               "selection", f"nothing to check: {wanted} offer no contract for the suite(s) "
                               f"{', '.join(suites)} (an openapi_url, an A2A or MCP service, or pact files)"))
    return results


def _failed(suite: str, edge: str, name: str, message: str) -> ContractResult:
    tally = Tally(suite, edge)  # type: ignore[arg-type]
    tally.fail(name, message)
    return tally.result()


def _checked_something(result: ContractResult, service: str) -> ContractResult:
    """A suite that ran no check at all did not show the contract holds: that is a failure."""
    if result.passed or result.failed or result.breaking_changes:
        return result
    return _failed(result.suite, result.edge, "no checks",
                   f"{service}: the {result.suite} suite ran no checks (is the service up and its document "
                   "non-empty? see the suite's output in the run folder)")


def _document_problem(url: str, timeout: float = 10.0) -> str | None:
    """Why the OpenAPI document at ``url`` cannot be tested, or None. Files are checked by
    ``check_openapi`` itself; only URLs are fetched here, once, before schemathesis runs."""
    if not url.startswith(("http://", "https://")):
        return None
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            resp = client.get(url)
    except httpx.HTTPError as exc:
        return f"OpenAPI document {url} unreachable: {exc.__class__.__name__}: {exc}"
    if resp.status_code >= 400:
        return f"OpenAPI document {url} answered HTTP {resp.status_code}"
    try:
        doc = resp.json()
    except ValueError:
        if url.endswith((".yaml", ".yml")):
            return None  # schemathesis parses YAML itself
        return f"OpenAPI document {url} is not JSON: {resp.text[:80]!r}"
    if not isinstance(doc, dict) or not ("openapi" in doc or "swagger" in doc):
        return f"{url} is not an OpenAPI document (no 'openapi' or 'swagger' field)"
    return None


def verify_pacts(system: SystemSpec, pacts: Sequence[str | Path], *,
                 services: Sequence[str] | None = None) -> list[ContractResult]:
    """Verify every provider named in ``pacts`` (files or directories) against ``system``."""
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
        results.append(verify_provider(provider, svc.base_url, files, edge=edge,
                                       state_url=svc.provider_states_url))
    return results


def snapshot(system: SystemSpec, out_dir: str | Path = DEFAULT_DIR, *,
             services: Sequence[str] | None = None, timeout: float = 15.0) -> list[Path]:
    """Save each agent's live contract (OpenAPI doc, agent card, tool list) as a baseline."""
    out = Path(out_dir)
    written: list[Path] = []
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        for svc in system.services:
            if services is not None and svc.name not in services:
                continue
            try:
                if svc.protocol == "rest":
                    if not svc.openapi_url:
                        continue
                    resp = client.get(svc.openapi_url)
                    resp.raise_for_status()
                    doc: Any = resp.json()
                elif svc.protocol == "a2a":
                    doc = a2a.fetch_card(svc.base_url, client=client)
                else:
                    doc = {"tools": mcp.list_tools(mcp_url(svc), timeout=timeout)}
            except (httpx.HTTPError, ValueError) as exc:
                raise ConfigError(f"cannot fetch the contract of service {svc.name!r}: {exc}",
                                  field=f"services.{svc.name}") from None
            path = baseline_path(out, svc)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(path)
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
