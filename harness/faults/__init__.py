"""Everything that breaks things, and the guarantees that it gets unbroken.

Public API (see docs/faults.md):

* ``build_fault(spec, system, fault_id=, ttl_s=, supervisor=)``: scenario fault -> ``Fault``
* network faults ``ToxicFault``, ``ProxyDownFault``; process faults ``KillFault``,
  ``PauseFault``, ``RestartFault``, ``CrashOrchestratorFault``, ``ExternalCommandFault``
* the catalog of fault types: ``fault_kinds()``, ``fault_kind(name)``, ``FaultKind``
  (a type's params model, builder and docs line), ``check_fault(spec)``
* ledger and session: ``CleanupLedger``, ``FaultSession``, ``cleanup``, ``revert_from_ledger``
* safety (from ``harness.system.safety``): ``check_target``, ``check_environment``

Submodules are imported lazily so ``import harness.proxy`` (the server) does not
pull in the client side, and the CLI stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.faults.base import Fault, FaultError, FaultKind, FaultParams, FaultRequest

_EXPORTS = {
    "ToxicFault": "harness.faults.network", "ProxyDownFault": "harness.faults.network",
    "TOXIC_TYPES": "harness.faults.network",
    "KillFault": "harness.faults.process", "PauseFault": "harness.faults.process",
    "RestartFault": "harness.faults.process", "CrashOrchestratorFault": "harness.faults.process",
    "ExternalCommandFault": "harness.faults.process", "ProcessControl": "harness.faults.process",
    "ManualActionRequired": "harness.faults.process",
    "CleanupLedger": "harness.faults.ledger", "CleanupReport": "harness.faults.ledger",
    "cleanup": "harness.faults.ledger", "revert_from_ledger": "harness.faults.ledger",
    "DEFAULT_LEDGER": "harness.faults.ledger", "FaultSession": "harness.faults.session",
    "check_target": "harness.system.safety", "check_environment": "harness.system.safety",
    "EnvironmentCheck": "harness.system.safety",
    "build_fault": "harness.faults.catalog", "fault_from_ledger": "harness.faults.catalog",
    "check_fault": "harness.faults.catalog", "fault_kind": "harness.faults.catalog",
    "fault_kinds": "harness.faults.catalog",
}

__all__ = ["Fault", "FaultError", "FaultKind", "FaultParams", "FaultRequest", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.faults' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
