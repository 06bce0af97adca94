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

A fault *kind* (``FaultKind``) is what a scenario's ``type`` names: its params model,
the builder that turns a spec into a ``Fault`` for one system, and a docs line. The
catalog (``harness.faults.catalog``) holds one ``FaultKind`` per type.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from harness.model.scenario import FaultSpec
from harness.model.system import SystemSpec

#: where a fault lands: network and http faults on an edge's proxy, process faults on a service
Family = Literal["network", "http", "process"]


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


class FaultParams(BaseModel):
    """Base of every fault kind's params model: unknown params are errors, not ignored."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class FaultRequest:
    """Everything a builder gets: the spec, its validated params, the system and the run's choices.

    ``ttl_s`` is the dead-man TTL (fault duration plus a margin); ``supervisor`` is the
    ``harness.faults.process.ProcessControl`` of supervised services, if any.
    """

    spec: FaultSpec
    params: FaultParams
    system: SystemSpec
    fault_id: str
    ttl_s: float
    supervisor: Any = None

    @property
    def where(self) -> str:
        """How error messages name this fault."""
        return f"fault {self.spec.name or self.spec.type!r}"


#: rebuilds a fault from its ledger entry (``Fault.ledger_entry()``) for ``harness cleanup``
Restorer = Callable[[dict[str, Any], Any], Fault]


@dataclass(frozen=True)
class FaultKind:
    """One fault type of the catalog: a scenario's ``type: <name>``.

    ``restorers`` maps the ``kind`` field of the ledger entries this kind's faults write
    to a function that rebuilds the fault (with the supervisor, if any) so cleanup can
    revert it from another process.
    """

    name: str
    family: Family
    params: type[FaultParams]
    build: Callable[[FaultRequest], Fault]
    doc: str
    restorers: Mapping[str, Restorer] = field(default_factory=dict)
