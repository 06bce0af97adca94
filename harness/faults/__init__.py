"""Everything that breaks things, and the guarantees that it gets unbroken.

Public API (see docs/faults.md):

* ``build_fault(spec, system, fault_id=, ttl_s=, supervisor=)``: scenario fault -> ``Fault``
* network faults ``ToxicFault``, ``ProxyDownFault``; process faults ``KillFault``,
  ``PauseFault``, ``RestartFault``, ``CrashOrchestratorFault``, ``ExternalCommandFault``
* guard: ``CleanupLedger``, ``FaultSession``, ``cleanup``, ``revert_from_ledger``,
  ``check_target``, ``check_environment``

Submodules are imported lazily so ``import harness.proxy`` (the server) does not
pull in the client side, and the CLI stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from harness.faults.base import Fault, FaultError

_EXPORTS = {
    "ToxicFault": "network", "ProxyDownFault": "network", "TOXIC_TYPES": "network",
    "KillFault": "process", "PauseFault": "process", "RestartFault": "process",
    "CrashOrchestratorFault": "process", "ExternalCommandFault": "process",
    "ProcessControl": "process", "ManualActionRequired": "process",
    "CleanupLedger": "guard", "CleanupReport": "guard", "FaultSession": "guard", "cleanup": "guard",
    "revert_from_ledger": "guard", "check_target": "guard", "check_environment": "guard",
    "EnvironmentCheck": "guard", "DEFAULT_LEDGER": "guard",
    "build_fault": "registry", "fault_from_ledger": "registry",
}

__all__ = ["Fault", "FaultError", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.faults' has no attribute {name!r}")
    return getattr(importlib.import_module(f"harness.faults.{module}"), name)
