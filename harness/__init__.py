"""harness: chaos and contract testing for AI agent orchestrations.

The public Python API is what ``__all__`` lists (documented in docs/api.md); everything
else is internal and may move. Names load on first use, so ``import harness`` stays
cheap for the CLI and for the proxy process, which only needs ``__version__``.

The package is layered (docs/api.md lists the order): a package imports only those
below it, and ``model`` and ``scoring`` do no I/O.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("harness")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

#: public name -> (module, attribute)
_API: dict[str, tuple[str, str]] = {
    # running
    "run": ("harness.engine.run", "execute_run"),
    "RunOptions": ("harness.engine.run", "RunOptions"),
    "RunResult": ("harness.engine.run", "RunResult"),
    "open_target": ("harness.system.target", "open_target"),
    "Target": ("harness.system.target", "Target"),
    "load_system": ("harness.model.loader", "load_system"),
    "load_scenario": ("harness.model.loader", "load_scenario"),
    # scoring, reports, gate
    "RunFolder": ("harness.runfolder", "RunFolder"),
    "load_run": ("harness.telemetry.rundir", "load_run"),
    "score_run": ("harness.scoring", "score_run"),
    "write_reports": ("harness.report", "write_reports"),
    "load_gate": ("harness.gate", "load_gate"),
    "evaluate_gate": ("harness.gate", "evaluate"),
    # faults and the proxy
    "Fault": ("harness.faults.base", "Fault"),
    "FaultKind": ("harness.faults.base", "FaultKind"),
    "FaultSession": ("harness.faults.session", "FaultSession"),
    "build_fault": ("harness.faults.catalog", "build_fault"),
    "ProxyClient": ("harness.proxy.client", "ProxyClient"),
    "BackgroundProxy": ("harness.proxy.server", "BackgroundProxy"),
    # errors
    "HarnessError": ("harness.errors", "HarnessError"),
    "ConfigError": ("harness.errors", "ConfigError"),
}

__all__ = [  # spelled out for tools that read it statically; tests check it matches _API
    "BackgroundProxy", "ConfigError", "Fault", "FaultKind", "FaultSession", "HarnessError", "ProxyClient",
    "RunFolder", "RunOptions", "RunResult", "Target", "__version__", "build_fault", "evaluate_gate", "load_gate",
    "load_run", "load_scenario", "load_system", "open_target", "run", "score_run", "write_reports",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ loads them
    from harness.engine.run import RunOptions, RunResult
    from harness.engine.run import execute_run as run
    from harness.errors import ConfigError, HarnessError
    from harness.faults.base import Fault, FaultKind
    from harness.faults.catalog import build_fault
    from harness.faults.session import FaultSession
    from harness.gate import evaluate as evaluate_gate
    from harness.gate import load_gate
    from harness.model.loader import load_scenario, load_system
    from harness.proxy.client import ProxyClient
    from harness.proxy.server import BackgroundProxy
    from harness.report import write_reports
    from harness.runfolder import RunFolder
    from harness.scoring import score_run
    from harness.system.target import Target, open_target
    from harness.telemetry.rundir import load_run


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _API[name]
    except KeyError:
        raise AttributeError(f"module 'harness' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
