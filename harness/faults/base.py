"""The contract every fault honours.

A fault is an object with ``inject()``, ``revert()`` and a TTL. The engine records
``ledger_entry()`` in the cleanup ledger (fsync'd) *before* calling ``inject()``, and
calls ``revert()`` in a ``finally``. ``harness cleanup`` rebuilds a fault from its
ledger entry with ``revert_from_ledger`` after the injecting process died, so the
entry must hold everything needed to undo the fault (API URL, proxy and toxic name,
pid ...), and reverting must be idempotent (reverting twice, or reverting something
that already expired, is not an error).

Faults whose TTL the target enforces by itself may hold it as a *lease*: injected with
a short TTL, and renewed while the fault is active, so the fault dies soon after the
process holding it. Such a fault has a ``renewable`` property and a ``renew()``
method (``Renewable``); the ``FaultSession`` calls ``renew()`` about every second.
"""

from __future__ import annotations

import abc
from typing import Any, Protocol, runtime_checkable


class Fault(abc.ABC):
    """One injectable, revertible failure."""

    #: kind of fault as in scenario YAML (``latency``, ``http_status``, ``kill`` ...)
    type: str
    #: unique within a run, e.g. ``s1-r0-f0-latency``
    fault_id: str
    #: seconds after which the fault removes itself even if nobody reverts it (0 = no TTL possible)
    ttl_s: float

    @abc.abstractmethod
    def inject(self) -> None:
        """Apply the fault. Raise ``FaultError`` with a clear message on failure."""

    @abc.abstractmethod
    def revert(self) -> None:
        """Undo the fault. Idempotent."""

    @abc.abstractmethod
    def ledger_entry(self) -> dict[str, Any]:
        """JSON-serialisable record sufficient to revert this fault from another process."""

    def describe(self) -> dict[str, Any]:
        """What the journal records about this fault (no secrets)."""
        return {"fault_id": self.fault_id, "type": self.type, "ttl_s": self.ttl_s}


class FaultError(RuntimeError):
    """Injecting or reverting a fault failed."""


class LeaseLost(FaultError):
    """Renewing a fault's lease is pointless: the target no longer has the fault."""


@runtime_checkable
class Renewable(Protocol):
    """A fault held as a lease (see the module docstring)."""

    @property
    def renewable(self) -> bool:
        """True while renewing still matters (the target enforces the TTL, the fault's own TTL is not over)."""
        ...

    def renew(self) -> None:
        """Extend the lease; ``LeaseLost`` if the fault is gone, ``FaultError`` if the target is unreachable."""
        ...
