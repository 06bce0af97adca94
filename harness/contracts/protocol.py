"""What a contract protocol is: one object per protocol, registered in ``harness.contracts.catalog``.

A protocol (OpenAPI, Pact, A2A, MCP, ...) knows which services of system.yaml it checks,
how to run its checks, how to fetch a service's live contract as a baseline (``snapshot``),
how to recognise and diff two versions of its documents, and how to hold a new version
against the interactions consumers recorded (``can-i-deploy``). Its results land in the
scorecard's ``contracts`` section as rows whose ``suite`` is the protocol's ``name``.

``run``, ``diff``, ``deploy`` and the ``harness contracts`` CLI iterate the catalog, so a
new protocol is one module defining a subclass plus one registration line in
``harness/contracts/catalog.py`` (docs/contracts.md, "Adding a protocol").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx

from harness.contracts.compat import Change
from harness.contracts.results import reason
from harness.model.scorecard import ContractResult
from harness.model.system import Service, SystemSpec

# (where in the pact, recorded request, recorded response) -> problems with the new contract
InteractionCheck = Callable[[str, dict[str, Any], dict[str, Any]], list[Change]]


@dataclass(frozen=True)
class CheckOptions:
    """Everything a protocol's checks may read, so ``run_all`` passes one value to every protocol."""

    contracts_dir: Path = Path("contracts")
    examples: int = 8
    openapi_examples: int = 25
    seed: int = 0
    report_dir: str | Path | None = None
    exclude_checks: tuple[str, ...] = ()
    pacts: Sequence[str | Path] | None = None
    services: Sequence[str] | None = None

    def pact_sources(self) -> list[str | Path]:
        """The pact files/directories to read: ``pacts`` if given, else ``<contracts_dir>/pacts``."""
        return list(self.pacts) if self.pacts is not None else [self.contracts_dir / "pacts"]


class ContractProtocol:
    """Base class of a contract protocol; subclasses set the class attributes and override
    what they support. The defaults mean "not offered": no live check, no snapshot, no diff."""

    name: ClassVar[str]
    """Suite name: ``--suite`` value, ``contracts[].suite`` in the scorecard, JUnit class suffix."""
    summary: ClassVar[str]
    """One line for docs/contracts.md and ``harness contracts protocols``."""
    speaks: ClassVar[tuple[str, ...]] = ()
    """The ``services[].protocol`` values of system.yaml this protocol checks."""
    requires: ClassVar[str] = ""
    """What a service speaking it must also declare to be checked ("an openapi_url"), if anything."""
    needs: ClassVar[str] = ""
    """What a service needs to be checked, for "nothing to check" messages."""
    contract: ClassVar[str] = "contract"
    """What its document is called in messages ("A2A agent card")."""
    baseline: ClassVar[tuple[str, str] | None] = None
    """(folder, suffix) of a snapshot under contracts/: ``contracts/<folder>/<service>.<suffix>``."""

    def covers(self, service: Service) -> bool:
        """Does this protocol check ``service`` live (one result per covered service)?"""
        return service.protocol in self.speaks

    def endpoint(self, service: Service) -> str:
        """The URL ``check_endpoint`` is given for ``service`` (its ``base_url`` unless overridden)."""
        return service.base_url

    def check_endpoint(self, url: str, *, baseline: Any, examples: int, seed: int, edge: str = "",
                       service: str = "") -> ContractResult:
        """Run the checks against the endpoint at ``url``; ``service`` names it in failures."""
        raise NotImplementedError(f"the {self.name} protocol has no live check of an endpoint")

    def check(self, service: Service, edge: str, options: CheckOptions, baseline: Any) -> ContractResult:
        """Run the checks against one covered service; ``baseline`` is its snapshot or None."""
        return self.check_endpoint(self.endpoint(service), baseline=baseline, examples=options.examples,
                                   seed=options.seed, edge=edge, service=service.name)

    def check_url(self, url: str, *, baseline: Any, examples: int, seed: int) -> ContractResult:
        """Check the endpoint at ``url`` without a system.yaml (``harness contracts <name> --url``)."""
        return self.check_endpoint(url, baseline=baseline, examples=examples, seed=seed)

    def check_system(self, system: SystemSpec, options: CheckOptions) -> list[tuple[set[str], ContractResult]]:
        """Checks that are not per service (Pact: per provider named in pact files), each with
        the services it covered. Most protocols have none."""
        _ = system, options
        return []

    def nothing_chosen(self, options: CheckOptions) -> str:
        """Why the protocol, chosen on its own, found nothing to check (after "but")."""
        _ = options
        return f"no service of system.yaml offers one ({self.needs})"

    def fetch(self, service: Service, client: httpx.Client, timeout: float) -> Any:
        """The service's live contract document (for ``snapshot``); raise httpx.HTTPError or
        ValueError when it cannot be had."""
        raise NotImplementedError(f"the {self.name} protocol has no live contract to snapshot")

    def contract_url(self, service: Service) -> str:
        """Where ``fetch`` reads from, for messages."""
        return service.base_url

    def fetch_contract(self, service: Service, client: httpx.Client, timeout: float) -> tuple[Any, str | None]:
        """(the contract document, None) or (None, one line saying why it could not be fetched)."""
        what, url = self.contract, self.contract_url(service)
        try:
            return self.fetch(service, client, timeout), None
        except httpx.HTTPStatusError as exc:
            return None, f"{what} {url} answered HTTP {exc.response.status_code}"
        except httpx.HTTPError as exc:
            return None, f"{what} {url} unreachable: {reason(exc)}"
        except ValueError as exc:
            return None, f"{what} {url} is unusable: {exc}"

    def detect(self, doc: Any) -> bool:
        """Is ``doc`` a document of this protocol (for ``diff`` and ``can-i-deploy``)?"""
        _ = doc
        return False

    def diff(self, old: Any, new: Any) -> list[Change]:
        """Breaking and non-breaking changes from ``old`` to ``new`` (both of this protocol)."""
        raise NotImplementedError(f"the {self.name} protocol cannot diff documents")

    def interaction_check(self, new_doc: Any) -> InteractionCheck | None:
        """How ``can-i-deploy`` holds a recorded interaction against ``new_doc``; None when a
        document of this protocol is not a provider contract (a pact file)."""
        _ = new_doc
        return None

    def baseline_path(self, contracts_dir: Path, service: Service) -> Path | None:
        if self.baseline is None:
            return None
        folder, suffix = self.baseline
        return contracts_dir / folder / f"{service.name}.{suffix}"
