"""The contract protocols the harness knows, in one place.

``run`` and the ``harness contracts`` CLI iterate ``PROTOCOLS`` instead of naming
protocols, and the protocol-agnostic entry points live here (``diff_docs``,
``detect_kind``, ``can_i_deploy``: they dispatch over the catalog, whose protocols use
``diff`` and ``deploy``'s per-protocol functions), so a new protocol is one module defining a
``harness.contracts.protocol.ContractProtocol`` subclass plus one line below
(docs/contracts.md, "Adding a protocol"). The order is the order of ``--suite`` help,
of results and of document detection.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.contracts.a2a import A2aProtocol
from harness.contracts.compat import Change
from harness.contracts.diff import Kind
from harness.contracts.mcp import McpProtocol
from harness.contracts.openapi import OpenApiProtocol
from harness.contracts.pact import PactProtocol, pact_files
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


def detect_kind(doc: Any, path: str = "<document>") -> Kind:
    """The name of the catalog protocol whose document ``doc`` is (ConfigError if none)."""
    return detect(doc, path).name


def diff_docs(old: Any, new: Any, *, old_name: str = "OLD", new_name: str = "NEW") -> tuple[Kind, list[Change]]:
    """Auto-detect the protocol of both documents and diff them (they must be of one protocol)."""
    ok, nk = detect(old, old_name), detect(new, new_name)
    if ok is not nk:
        raise ConfigError(f"cannot compare a {ok.name} document with a {nk.name} document", path=new_name)
    return ok.name, ok.diff(old, new)


def can_i_deploy(provider: str, new_doc: Any, pacts: list[str | Path]) -> tuple[int, list[Change]]:
    """(interactions checked, changes) of ``new_doc`` against ``provider``'s pacts: every
    breaking change, plus non-breaking "not checked" notes where the contract promises
    nothing about what the consumer received."""
    proto = detect(new_doc)
    check = proto.interaction_check(new_doc)
    if check is None:
        raise ConfigError(f"can-i-deploy needs the provider's new contract ({_provider_contracts()}), "
                          f"not a {proto.contract.lower()}")
    checked, out = 0, []
    for path in pact_files(pacts):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if (doc.get("provider") or {}).get("name") != provider:
            continue
        consumer = (doc.get("consumer") or {}).get("name", "?")
        for inter in doc.get("interactions") or []:
            if inter.get("type", "Synchronous/HTTP") != "Synchronous/HTTP":
                continue
            checked += 1
            out += check(f"{consumer} '{inter.get('description')}'", inter.get("request") or {},
                         inter.get("response") or {})
    return checked, out


def _provider_contracts() -> str:
    return ", ".join(p.contract for p in PROTOCOLS
                     if type(p).interaction_check is not ContractProtocol.interaction_check)
