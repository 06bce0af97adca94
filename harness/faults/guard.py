"""Guarantees around faults: nothing is left broken, nothing outside the envelope is touched.

* ``CleanupLedger``: an append-only JSONL file, fsync'd per line, that lists every fault
  *before* it is injected and again when it is reverted. A run killed with SIGKILL
  leaves its outstanding faults there; ``cleanup()`` (``harness cleanup``) rebuilds
  and reverts them.
* ``check_target`` / ``check_environment``: loopback is always fine; anything else
  only when ``system.yaml`` allowlists it; ``production`` only with the explicit
  override, which the caller writes to the journal.
* ``FaultSession``: owns the active faults of a run, ledger first, revert all on
  exit, and turns SIGINT/SIGTERM/SIGHUP into an orderly revert before the process exits.
  It renews the lease of every active renewable fault (``harness.faults.base.Renewable``)
  from a daemon thread, so those faults outlive a SIGKILLed session by one lease only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.errors import ConfigError, SafetyError
from harness.faults.base import Fault, FaultError
from harness.faults.lease import LeaseKeeper
from harness.model.system import SystemSpec

__all__ = [
    "DEFAULT_LEDGER",
    "CleanupLedger",
    "CleanupReport",
    "CleanupRow",
    "EnvironmentCheck",
    "FaultSession",
    "check_environment",
    "check_target",
    "cleanup",
    "is_loopback",
    "parse_host",
    "revert_from_ledger",
]

DEFAULT_LEDGER = Path(".harness/ledger.jsonl")
PRODUCTION_NAMES = frozenset({"production", "prod"})
OVERRIDE_FLAG = "--i-know-this-is-production"

# --------------------------------------------------------------------------- ledger


def _starttime(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class CleanupLedger:
    """Append-only JSONL record of injected and reverted faults.

    Each line is written with one ``write()`` on an ``O_APPEND`` descriptor and
    fsync'd before the call returns, so a line that ``record_injecting`` returned from
    survives a SIGKILL or a power cut, and concurrent writers never interleave lines.
    Lines carry the writer's pid and start time so cleanup can tell a dead run from a
    live one.
    """

    def __init__(self, path: Path | str = DEFAULT_LEDGER) -> None:
        self.path = Path(path)
        self._owner = {"owner_pid": os.getpid(), "owner_start": _starttime(os.getpid())}

    def _append(self, record: dict[str, Any]) -> None:
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:  # make the new directory entry durable too
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)

    def record_injecting(self, fault: Fault) -> dict[str, Any]:
        """Record ``fault`` as about to be injected. Call BEFORE ``fault.inject()``."""
        record = {"event": "injecting", "fault_id": fault.fault_id, "ts": time.time(),
                  "entry": fault.ledger_entry(), **self._owner}
        self._append(record)
        return record

    def record_reverted(self, fault_id: str, *, outcome: str = "reverted", by: str = "run") -> None:
        self._append({"event": "reverted", "fault_id": fault_id, "ts": time.time(),
                      "outcome": outcome, "by": by, **self._owner})

    def records(self) -> Iterator[dict[str, Any]]:
        """Every well-formed line; a torn last line (crash mid-write) is skipped."""
        if not self.path.exists():
            return
        try:
            fh = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"cannot read the cleanup ledger: {exc.strerror or exc}",
                              path=str(self.path)) from exc
        with fh:
            for raw in fh:
                try:
                    record = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
                if (isinstance(record, dict) and isinstance(record.get("fault_id"), str)
                        and record.get("event") in ("injecting", "reverted")
                        and isinstance(record.get("entry", {}), dict)):
                    yield record

    def outstanding(self) -> list[dict[str, Any]]:
        """``injecting`` records with no later ``reverted`` record, oldest first."""
        open_: dict[str, dict[str, Any]] = {}
        for record in self.records():
            if record.get("event") == "injecting":
                open_.pop(record["fault_id"], None)  # re-injected: it now dates from this record
                open_[record["fault_id"]] = record
            elif record.get("event") == "reverted":
                open_.pop(record["fault_id"], None)
        return list(open_.values())


def _owner_alive(record: dict[str, Any]) -> bool:
    pid = record.get("owner_pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False  # our own leftovers are ours to clean
    start = _starttime(pid)
    return start is not None and start == record.get("owner_start")


def revert_from_ledger(entry: dict[str, Any], *, supervisor: Any = None) -> None:
    """Rebuild the fault an entry describes and revert it (idempotent).

    Raises ``FaultError`` when reverting failed, ``ManualActionRequired`` when only a
    person can undo it (e.g. a supervised service killed by a run that is gone).
    """
    from harness.faults.registry import fault_from_ledger

    fault_from_ledger(entry, supervisor=supervisor).revert()


@dataclass
class CleanupRow:
    fault_id: str
    type: str
    target: str
    outcome: str  # reverted | manual | failed | skipped
    detail: str = ""


@dataclass
class CleanupReport:
    rows: list[CleanupRow] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """Everything outstanding was reverted (nothing failed, skipped or left for a person)."""
        return all(row.outcome == "reverted" for row in self.rows)


def _target(entry: dict[str, Any]) -> str:
    if "proxy" in entry:
        return f"proxy {entry['proxy']} @ {entry.get('api_url', '?')}"
    if "service" in entry:
        pid = f" (pid {entry['pid']})" if entry.get("pid") else ""
        return f"service {entry['service']}{pid}"
    return "?"


def cleanup(ledger_path: Path | str = DEFAULT_LEDGER, *, supervisor: Any = None,
            force: bool = False) -> CleanupReport:
    """Revert every outstanding fault in the ledger and mark it reverted.

    Entries whose injecting process is still alive belong to a live run and are
    skipped unless ``force``. Running it again is a no-op. Faults that only a person
    can undo are marked (outcome ``manual``) so the report says what to do once.
    """
    ledger = CleanupLedger(ledger_path)
    report = CleanupReport()
    for record in ledger.outstanding():
        entry = record.get("entry") or {}
        row = CleanupRow(record["fault_id"], str(entry.get("type", "?")), _target(entry), "reverted")
        if not force and _owner_alive(record):
            row.outcome = "skipped"
            row.detail = f"run pid {record['owner_pid']} is still alive (use --force)"
        else:
            from harness.faults.process import ManualActionRequired

            try:
                revert_from_ledger(entry, supervisor=supervisor)
            except ManualActionRequired as exc:
                row.outcome, row.detail = "manual", str(exc)
                ledger.record_reverted(row.fault_id, outcome="manual", by="cleanup")
            except Exception as exc:  # one bad entry must not stop the others from being reverted
                row.outcome, row.detail = "failed", str(exc) or type(exc).__name__
            else:
                ledger.record_reverted(row.fault_id, outcome="reverted", by="cleanup")
        report.rows.append(row)
    return report


# --------------------------------------------------------------------------- targets

_BAD_NETLOC = frozenset("\\ \t\r\n%")


def parse_host(url_or_host: str) -> str:
    """The host a URL, ``host:port``, ``[v6]:port`` or bare host refers to, lowercased.

    Ambiguous inputs that different URL parsers read differently (backslashes,
    whitespace, percent-encoding or control characters in the authority) are refused
    rather than guessed at.
    """
    text = url_or_host.strip()
    if not text or any(ord(c) < 32 or c == "\x7f" for c in text):
        raise SafetyError(f"target {url_or_host!r} is not a valid host or URL")
    if "://" not in text:
        if text.count(":") > 1 and not text.startswith("["):
            text = f"[{text}]"  # bare IPv6 address
        text = f"//{text}"
    try:
        parts = urlsplit(text)
        if _BAD_NETLOC & set(parts.netloc):
            raise SafetyError(
                f"target {url_or_host!r} has an ambiguous authority; write plain scheme://host:port")
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        raise SafetyError(f"target {url_or_host!r} is not a valid host or URL: {exc}") from exc
    host = (host or "").rstrip(".").lower()
    if not host:
        raise SafetyError(f"target {url_or_host!r} names no host")
    return host


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1, IPv4-mapped loopback, and the name ``localhost``.

    Only canonical address forms count: ``127.1`` or ``0x7f.1`` are treated as names
    (and so need the allowlist), which errs on the safe side.
    """
    if host == "localhost":
        return True
    addr = _ip(host)
    if addr is None:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def _allowed(host: str, allow: list[str]) -> bool:
    addr = _ip(host)
    for item in allow:
        item = item.strip().lower()
        if not item:
            continue
        if "/" in item and "://" not in item:
            try:
                if addr is not None and addr in ipaddress.ip_network(item, strict=False):
                    return True
            except ValueError:
                pass
            continue
        if item.startswith("*."):
            suffix = item[1:].rstrip(".")
            if addr is None and host.endswith(suffix) and len(host) > len(suffix):
                return True
            continue
        try:
            allowed_host = parse_host(item)
        except SafetyError:
            continue
        if allowed_host == host:
            return True
        allowed_ip = _ip(allowed_host)
        if addr is not None and allowed_ip is not None and allowed_ip == addr:
            return True
    return False


def check_target(url_or_host: str, system: SystemSpec) -> str:
    """Return the host if the harness may touch it, else raise ``SafetyError``."""
    host = parse_host(url_or_host)
    if is_loopback(host) or _allowed(host, system.safety.allow_targets):
        return host
    raise SafetyError(
        f"target {host!r} (from {url_or_host!r}) is outside loopback and not allowlisted; "
        f"add it to safety.allow_targets in system.yaml to allow it"
    )


@dataclass(frozen=True)
class EnvironmentCheck:
    """Outcome of ``check_environment``; the engine writes ``journal_fields()`` to the journal."""

    environment: str
    production: bool
    override_used: bool

    def __bool__(self) -> bool:
        """Truthy exactly when the production override was used (``if check: journal it``)."""
        return self.override_used

    def journal_fields(self) -> dict[str, Any]:
        return {"environment": self.environment, "production": self.production,
                "production_override": self.override_used}


def check_environment(system: SystemSpec, override: bool = False) -> EnvironmentCheck:
    """Refuse a production system unless the user passed the explicit override flag."""
    env = system.safety.environment.strip()
    production = env.lower() in PRODUCTION_NAMES
    if production and not override:
        raise SafetyError(
            f"system {system.name!r} declares safety.environment: {env}; refusing to inject faults. "
            f"Pass {OVERRIDE_FLAG} to run anyway (it is recorded in the journal)"
        )
    return EnvironmentCheck(env, production, production and override)


# --------------------------------------------------------------------------- session

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
