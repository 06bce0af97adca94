"""What every probe type shares: its result, the context a round runs in, and ``ProbeKind``.

Kept apart from the catalog (``harness.engine.probes``) so a probe type's own module can
import it while the catalog imports that module to register it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.engine.workflow import WorkflowEngine
from harness.model.scenario import ProbeSpec

__all__ = ["Emit", "ProbeContext", "ProbeKind", "ProbeResult"]

Emit = Callable[..., Any]


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    latency_ms: float
    detail: str = ""


@dataclass
class ProbeContext:
    """What a probe round may use: shared by every probe of a scenario repeat."""

    http: httpx.Client
    emit: Emit
    stop: threading.Event
    workflow: WorkflowEngine | None = None
    base_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeKind:
    """One probe type: ``steady_state: [{type: <name>, ...}]``."""

    name: str
    spec: type[ProbeSpec]
    run: Callable[[Any, ProbeContext], ProbeResult]
    doc: str
