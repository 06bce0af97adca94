"""Former home of ``build_fault``; kept so old imports work. See ``harness.faults.catalog``."""

from __future__ import annotations

from harness.faults.catalog import build_fault, fault_from_ledger

__all__ = ["build_fault", "fault_from_ledger"]
