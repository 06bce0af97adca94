"""The sandbox: a small, real multi-agent claims orchestration the harness tests by default.

Public API: :class:`Sandbox` (start/stop/describe), :class:`SandboxClient` and
:func:`make_claim` (drive it), :data:`DEFECTS` (the seeded defects), :class:`Resilience`
(the orchestrator's timeout/retry/breaker knobs).
"""

from harness.sandbox.client import SandboxClient, make_claim
from harness.sandbox.config import DEFECTS, Resilience, check_defects
from harness.sandbox.sandbox import Sandbox, check_extra_installed

__all__ = ["DEFECTS", "Resilience", "Sandbox", "SandboxClient", "check_defects", "check_extra_installed",
           "make_claim"]
