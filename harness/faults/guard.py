"""Former home of the ledger, the session and the safety checks; kept so old imports work.

They now live in ``harness.faults.ledger``, ``harness.faults.session`` and
``harness.system.safety``.
"""

from __future__ import annotations

from harness.faults.ledger import DEFAULT_LEDGER, CleanupLedger, CleanupReport, CleanupRow, cleanup, revert_from_ledger
from harness.faults.session import FaultSession
from harness.system.safety import (
    OVERRIDE_FLAG,
    PRODUCTION_NAMES,
    EnvironmentCheck,
    check_environment,
    check_target,
    is_loopback,
    parse_host,
)

__all__ = [
    "DEFAULT_LEDGER", "OVERRIDE_FLAG", "PRODUCTION_NAMES", "CleanupLedger", "CleanupReport", "CleanupRow",
    "EnvironmentCheck", "FaultSession", "check_environment", "check_target", "cleanup", "is_loopback",
    "parse_host", "revert_from_ledger",
]
