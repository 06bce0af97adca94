"""The contract protocols the harness knows, in one place.

``run``, ``diff``, ``deploy`` and the ``harness contracts`` CLI iterate ``PROTOCOLS``
instead of naming protocols, so a new protocol is one module defining a
``harness.contracts.protocol.ContractProtocol`` subclass plus one line below
(docs/contracts.md, "Adding a protocol"). The order is the order of ``--suite`` help,
of results and of document detection.
"""

from __future__ import annotations

from typing import Any

from harness.contracts.a2a import A2aProtocol
from harness.contracts.mcp import McpProtocol
from harness.contracts.openapi import OpenApiProtocol
from harness.contracts.pact import PactProtocol
from harness.contracts.protocol import ContractProtocol
from harness.errors import ConfigError
from harness.model.system import SystemSpec

PROTOCOLS: tuple[ContractProtocol, ...] = (
    OpenApiProtocol(),
    A2aProtocol(),
    McpProtocol(),
    PactProtocol(),
)

SUITES: tuple[str, ...] = tuple(p.name for p in PROTOCOLS)
"""Every protocol's suite name (``--suite`` values)."""
RESULT_SUITES: tuple[str, ...] = (*SUITES, "diff")
"""What ``contracts[].suite`` of a scorecard may name: the protocols plus ``diff`` rows."""


def protocol(name: str) -> ContractProtocol:
    """The protocol called ``name``; ConfigError listing the known ones otherwise."""
    for proto in PROTOCOLS:
        if proto.name == name:
            return proto
    raise ConfigError(f"unknown contract suite {name!r}; valid: {', '.join(SUITES)}", field="suite")


def service_protocols() -> tuple[str, ...]:
    """The ``services[].protocol`` values some protocol checks, sorted."""
    return tuple(sorted({wire for proto in PROTOCOLS for wire in proto.speaks}))


def check_service_protocols(system: SystemSpec) -> None:
    """ConfigError (exit 2) naming the first service whose ``protocol`` no catalog entry
    speaks: system.yaml keeps the field a plain string because model/ cannot know the
    catalog, so the names are checked here, where contracts use them."""
    known = service_protocols()
    for index, svc in enumerate(system.services):
        if svc.protocol not in known:
            raise ConfigError(f"service {svc.name!r}: unknown protocol {svc.protocol!r}; known: {', '.join(known)}",
                              field=f"services[{index}].protocol")


def detect(doc: Any, path: str = "<document>") -> ContractProtocol:
    """The protocol whose document ``doc`` is; ConfigError naming ``path`` when none claims it."""
    for proto in PROTOCOLS:
        if proto.detect(doc):
            return proto
    kinds = ", ".join(proto.contract for proto in PROTOCOLS)
    raise ConfigError(f"cannot tell what this is: expected one of: {kinds}", path=path)
