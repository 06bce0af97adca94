"""Lease renewal: keep renewable faults alive while their session lives, and no longer.

Faults whose target enforces a TTL by itself (toxics and downed proxies on the embedded
proxy) are injected with a short TTL, the lease (``harness.faults.network.LEASE_S``).
``LeaseKeeper`` renews it about every second from a daemon thread, so a fault lasts as
long as its plan says while the harness runs, and at most one lease after the harness
died (SIGKILL included), with no cleanup run needed. The fault's planned revert still
happens at its scheduled time; renewing only pushes the dead-man deadline forward.

A renewal that fails is reported once per failure streak (log and callback: the engine
journals it) and never stops the run; a fault the target no longer has (``LeaseLost``:
it expired, or someone removed it as an emergency stop) is not renewed again, since
renewing cannot bring it back and must not.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from harness.faults.base import Fault, LeaseLost, Renewable

__all__ = ["RENEW_EVERY_S", "LeaseKeeper"]

#: seconds between renewals; well inside the lease (harness.faults.network ``LEASE_S``)
RENEW_EVERY_S = 1.0

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Renews the leases of a session's active faults until ``stop()``.

    ``lock`` is the session's lock and ``active`` its dict of active faults: each renewal
    runs under the lock and only for a fault still in ``active``, so a revert never races a
    renewal (which could re-arm what was just reverted) and waits for at most one short
    API call.
    """

    def __init__(self, lock: Any, active: dict[str, Fault],
                 on_error: Callable[[Fault, str], None] | None = None) -> None:
        self._lock = lock
        self._active = active
        self.on_error = on_error
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._failing: set[str] = set()  # last renewal failed (already reported)
        self._lost: set[str] = set()  # the target no longer has it: never renewed again

    def track(self, fault: Fault) -> None:
        """Called after ``fault`` was injected; starts the renewal thread on first need."""
        with self._lock:
            self._failing.discard(fault.fault_id)
            self._lost.discard(fault.fault_id)
        if isinstance(fault, Renewable) and self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._loop, name="fault-lease", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """No renewal starts after this returns (one in progress finishes under the lock)."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(RENEW_EVERY_S):
            self.renew_all()

    def renew_all(self) -> None:
        """One round: renew every active renewable fault once."""
        with self._lock:
            fault_ids = list(self._active)
        for fault_id in fault_ids:
            with self._lock:
                fault = self._active.get(fault_id)
                if fault is not None and not self._stop.is_set():
                    self._renew(fault)

    def _renew(self, fault: Fault) -> None:
        if fault.fault_id in self._lost or not isinstance(fault, Renewable) or not fault.renewable:
            return
        try:
            fault.renew()
        except Exception as exc:  # a missed renewal only shortens the fault; the run goes on
            if isinstance(exc, LeaseLost):
                self._lost.add(fault.fault_id)
            if fault.fault_id not in self._failing:
                self._failing.add(fault.fault_id)
                self._report(fault, str(exc) or type(exc).__name__)
        else:
            self._failing.discard(fault.fault_id)

    def _report(self, fault: Fault, reason: str) -> None:
        log.warning("lease of fault %s not renewed: %s", fault.fault_id, reason)
        if self.on_error is not None:
            with contextlib.suppress(Exception):  # reporting must not stop the renewals of others
                self.on_error(fault, reason)
