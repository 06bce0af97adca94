"""``FaultSession``: owns the active faults of a run, ledger first, everything reverted on exit.

It turns SIGINT/SIGTERM/SIGHUP into an orderly revert before the process exits, and
renews the lease of every active renewable fault (``harness.faults.base.Renewable``)
from a daemon thread, so those faults outlive a SIGKILLed session by one lease only.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.faults.base import Fault, FaultError
from harness.faults.lease import LeaseKeeper
from harness.faults.ledger import DEFAULT_LEDGER, CleanupLedger

__all__ = ["FaultSession"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: handled only when nobody chose otherwise (``nohup`` sets SIG_IGN: then it stays ignored);
#: a game day over SSH whose terminal drops must still revert
_IF_DEFAULT = (signal.SIGHUP,)


class FaultSession:
    """Owns a run's active faults: ledger first, then inject; everything reverted on exit.

    Used as a context manager. In the main thread it installs SIGINT/SIGTERM (and, unless
    ignored, SIGHUP) handlers that raise (``KeyboardInterrupt`` / ``SystemExit(128+signum)``)
    so the ``with`` block unwinds and ``__exit__`` reverts every fault before the process exits; while
    reverting, further signals are held back, and the previous handlers come back after.
    Thread-safe: the engine may inject from a scheduler thread.
    """

    def __init__(self, ledger: CleanupLedger | Path | str = DEFAULT_LEDGER, *,
                 handle_signals: bool = True,
                 on_event: Callable[[str, Fault], None] | None = None,
                 on_lease_error: Callable[[Fault, str], None] | None = None) -> None:
        """``on_lease_error(fault, reason)`` hears once per failure streak that a lease was
        not renewed (the engine journals it); renewal failures are never fatal."""
        self.ledger = ledger if isinstance(ledger, CleanupLedger) else CleanupLedger(ledger)
        self.handle_signals = handle_signals
        self.on_event = on_event
        self.active: dict[str, Fault] = {}
        self._lock = threading.RLock()
        self._closed = False
        self._previous: dict[int, Any] = {}
        self._reverting = False
        self._pending_signal: int | None = None
        self.leases = LeaseKeeper(self._lock, self.active, on_lease_error)

    # -- signals
    def _handler(self, signum: int, frame: types.FrameType | None) -> None:
        if self._reverting:
            self._pending_signal = signum
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def _install(self) -> None:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return
        for sig in _SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handler)
        for sig in _IF_DEFAULT:
            if signal.getsignal(sig) == signal.SIG_DFL:
                self._previous[sig] = signal.signal(sig, self._handler)

    def _restore(self) -> None:
        for sig, previous in self._previous.items():
            # None: the old handler was installed outside Python; the default is the closest match
            signal.signal(sig, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    # -- faults
    def _emit(self, what: str, fault: Fault) -> None:
        if self.on_event is not None:
            self.on_event(what, fault)

    def inject(self, fault: Fault) -> None:
        """Record ``fault`` in the ledger (fsync'd), then inject it."""
        with self._lock:
            if self._closed:
                raise FaultError(f"fault session is closed; not injecting {fault.fault_id}")
            if fault.fault_id in self.active:
                raise FaultError(f"fault id {fault.fault_id!r} is already active")
            self.active[fault.fault_id] = fault  # before the ledger: a signal in between still reverts it
            try:
                self.ledger.record_injecting(fault)
                fault.inject()
            except BaseException:
                # partially applied? undo what we can; the ledger keeps it if that fails too
                with contextlib.suppress(Exception):
                    self.revert(fault)
                raise
            self._emit("on", fault)
            self.leases.track(fault)

    def revert(self, fault: Fault) -> None:
        """Revert one fault and mark it reverted in the ledger (idempotent)."""
        with self._lock:
            fault.revert()
            if self.active.pop(fault.fault_id, None) is not None:
                self.ledger.record_reverted(fault.fault_id)
                self._emit("off", fault)

    def revert_all(self) -> None:
        """Revert every active fault, newest first; raise the first error after trying all."""
        errors: list[BaseException] = []
        with self._lock:
            for fault in reversed(list(self.active.values())):
                try:
                    self.revert(fault)
                except Exception as exc:
                    errors.append(exc)
        if errors:
            raise FaultError(f"{len(errors)} fault(s) could not be reverted: {errors[0]}") from errors[0]

    def close(self) -> None:
        """Revert everything with signals held back, then restore the previous handlers."""
        self._reverting = True
        try:
            with self._lock:
                self._closed = True
            self.leases.stop()
            self.revert_all()
        finally:
            self._reverting = False
            self._restore()
            pending, self._pending_signal = self._pending_signal, None
            if pending is not None:
                signal.raise_signal(pending)  # deliver it to the restored handler

    def __enter__(self) -> FaultSession:
        self._install()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: types.TracebackType | None) -> None:
        try:
            self.close()
        except FaultError:
            if exc is None:
                raise  # don't mask the error that ended the block
