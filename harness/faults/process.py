"""Process faults: kill -9, SIGSTOP/SIGCONT pause, restart, crash the orchestrator.

Two kinds of targets:

* processes the harness supervises: anything with ``pid(name)`` and ``restart(name)``
  (``ProcessControl``; the sandbox's supervisor is one). Signals go to the whole
  process group when the service leads its own group (the supervisor starts each
  service that way), so worker children stop or die with their parent.
* ``external: true`` services: only the commands the user declared in
  ``system.yaml`` (``services[].commands.kill/pause/resume/restart``) ever run.

A paused process must never stay paused: the ledger entry holds its pid, process
group and start time (so a recycled pid is never signalled), and a detached
watchdog process sends SIGCONT when the TTL expires or, sooner, as soon as the process
that injected the pause is gone (SIGKILL included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.faults.base import Fault, FaultError
from harness.redact import REDACTED, redact_argv

__all__ = [
    "CrashOrchestratorFault",
    "ExternalCommandFault",
    "KillFault",
    "ManualActionRequired",
    "PauseFault",
    "ProcessControl",
    "RestartFault",
    "find_watchdogs",
    "process_state",
]

#: seconds an external command may run before it counts as failed
COMMAND_TIMEOUT_S = 60.0
#: seconds to wait for a signal to take effect (death after SIGKILL, 'T' after SIGSTOP)
SIGNAL_WAIT_S = 5.0
WATCHDOG_MARKER = "harness-pause-watchdog"


@runtime_checkable
class ProcessControl(Protocol):
    """What process faults need from a supervisor."""

    def pid(self, name: str) -> int:
        """Pid of the running service (its process-group leader)."""
        ...

    def restart(self, name: str) -> None:
        """Start the service again with the same arguments and wait until it is healthy."""
        ...


class ManualActionRequired(FaultError):
    """Cleanup cannot undo this fault by itself; the message says what a person must do."""


# --------------------------------------------------------------------------- /proc helpers


def _stat(pid: int) -> tuple[str, str] | None:
    """(state letter, start time in clock ticks) of ``pid``, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may contain spaces and parentheses: split after the LAST ')'
    fields = raw.rsplit(")", 1)[1].split()
    return fields[0], fields[19]


def process_state(pid: int) -> str | None:
    """Kernel state letter of ``pid`` (R, S, T, Z ...), None when it does not exist."""
    stat = _stat(pid)
    return stat[0] if stat else None


def _alive(pid: int, starttime: str | None = None) -> bool:
    """Running (zombies count as dead) and, if given, still the same process (start time)."""
    stat = _stat(pid)
    if stat is None or stat[0] in ("Z", "X", "x"):
        return False
    return starttime is None or stat[1] == starttime


def _group_of(pid: int) -> int | None:
    """The process group to signal: the target's own group if it leads one (never ours)."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return None
    return pgid if pgid == pid and pgid != os.getpgrp() else None


def _signal(pid: int, pgid: int | None, sig: signal.Signals) -> None:
    try:
        if pgid:
            os.killpg(pgid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait(predicate: Callable[[], bool], timeout_s: float = SIGNAL_WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


# --------------------------------------------------------------------------- supervised


class _Supervised(Fault):
    """A fault on one supervised service; resolves and records the pid before injecting."""

    kind = "process"

    def __init__(self, service: str, *, fault_id: str, supervisor: ProcessControl | None,
                 ttl_s: float = 0.0) -> None:
        self.service = service
        self.fault_id = fault_id
        self.supervisor = supervisor
        self.ttl_s = float(ttl_s)
        self.target_pid: int | None = None
        self.starttime: str | None = None
        self.pgid: int | None = None

    def _need_supervisor(self) -> ProcessControl:
        if self.supervisor is None:
            raise ManualActionRequired(
                f"service {self.service!r} is supervised by a harness run that no longer exists; "
                "restart the system under test with its supervisor (e.g. `harness sandbox up`)"
            )
        return self.supervisor

    def _resolve(self) -> int:
        """Look the pid up once, so the ledger entry and the signal name the same process."""
        if self.target_pid is None:
            supervisor = self._need_supervisor()
            try:
                pid = int(supervisor.pid(self.service))
            except Exception as exc:  # supervisors report "not running" by raising
                raise FaultError(f"service {self.service!r} is not running: {exc}") from exc
            stat = _stat(pid)
            if stat is None:
                raise FaultError(f"service {self.service!r}: pid {pid} is not running")
            self.target_pid, self.starttime, self.pgid = pid, stat[1], _group_of(pid)
        return self.target_pid

    def _running_now(self) -> bool:
        """Is the service up (a live pid from the supervisor)?"""
        supervisor = self._need_supervisor()
        try:
            return _alive(int(supervisor.pid(self.service)))
        except Exception:  # supervisors say "not running" by raising (ProcessError, KeyError ...)
            return False

    def _ensure_running(self) -> None:
        if not self._running_now():
            try:
                self._need_supervisor().restart(self.service)
            except ManualActionRequired:
                raise
            except Exception as exc:
                raise FaultError(f"restarting service {self.service!r} failed: {exc}") from exc

    def ledger_entry(self) -> dict[str, Any]:
        if self.supervisor is not None:
            self._resolve()
        state_dir = getattr(self.supervisor, "state_dir", None)
        return {
            "kind": self.kind, "fault_id": self.fault_id, "type": self.type, "ttl_s": self.ttl_s,
            "service": self.service, "pid": self.target_pid, "starttime": self.starttime,
            "pgid": self.pgid,
            # lets cleanup in another process reattach to a file-backed supervisor (the sandbox's)
            "supervisor_state_dir": str(state_dir) if state_dir else None,
        }

    @classmethod
    def from_ledger(cls, entry: dict[str, Any], supervisor: ProcessControl | None = None) -> _Supervised:
        fault = cls(entry["service"], fault_id=entry["fault_id"], supervisor=supervisor,
                    ttl_s=entry.get("ttl_s", 0.0))
        fault.target_pid, fault.starttime, fault.pgid = entry.get("pid"), entry.get("starttime"), entry.get(
            "pgid")
        return fault

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "service": self.service, "pid": self.target_pid}


class KillFault(_Supervised):
    """SIGKILL the service (its process group). Revert: restart through the supervisor, wait healthy."""

    type = "kill"
    kind = "process_kill"

    def inject(self) -> None:
        pid = self._resolve()
        if not _alive(pid, self.starttime):
            return  # already dead (inject is idempotent)
        _signal(pid, self.pgid, signal.SIGKILL)
        if not _wait(lambda: not _alive(pid, self.starttime)):
            raise FaultError(f"service {self.service!r} (pid {pid}) survived SIGKILL")

    def revert(self) -> None:
        if self.target_pid is None:
            return  # never resolved, so never injected: do not start a service that was not running
        if _alive(self.target_pid, self.starttime):
            return  # the kill never landed
        self._ensure_running()


class CrashOrchestratorFault(KillFault):
    """SIGKILL the orchestrator mid-workflow, then restart it after ``restart_after_s``.

    The engine schedules it while load is submitting workflows, so in-flight work is
    lost from memory and must be recovered by the workflow engine. With
    ``restart_after_s=None`` the restart waits for ``revert()``.
    """

    type = "crash_orchestrator"
    kind = "process_crash"

    def __init__(self, service: str, *, fault_id: str, supervisor: ProcessControl | None,
                 ttl_s: float = 0.0, restart_after_s: float | None = 0.0) -> None:
        super().__init__(service, fault_id=fault_id, supervisor=supervisor, ttl_s=ttl_s)
        self.restart_after_s = restart_after_s

    def inject(self) -> None:
        super().inject()
        if self.restart_after_s is not None:
            time.sleep(self.restart_after_s)
            self._ensure_running()


class RestartFault(_Supervised):
    """Restart the service (graceful stop, start, wait healthy). Revert makes sure it runs."""

    type = "restart"
    kind = "process_restart"

    def inject(self) -> None:
        self._resolve()
        try:
            self._need_supervisor().restart(self.service)
        except ManualActionRequired:
            raise
        except Exception as exc:
            raise FaultError(f"restarting service {self.service!r} failed: {exc}") from exc

    def revert(self) -> None:
        if self.supervisor is None or self.target_pid is None:
            return  # never injected, or cleanup without a supervisor: nothing to undo
        self._ensure_running()


#: seconds between the pause watchdog's looks at the process that owns the pause
WATCHDOG_POLL_S = 0.25

# The pause's dead-man switch: SIGCONT when the TTL expires OR as soon as the owner (the
# process that injected the pause) is gone, whichever comes first, and only to the same
# process (start time). Watching the owner is the pause's lease: it needs no renewals
# (the watchdog runs on the host of both processes anyway) and reacts within a poll.
_WATCHDOG = (
    "import os,signal,sys,time\n"
    "pid,start,pgid,ttl=int(sys.argv[1]),sys.argv[2],int(sys.argv[3]),float(sys.argv[4])\n"
    "owner,ostart,poll=int(sys.argv[7]),sys.argv[8],float(sys.argv[9])\n"
    "def stat(p):\n"
    "    try:\n"
    "        return open('/proc/%d/stat'%p).read().rsplit(')',1)[1].split()\n"
    "    except OSError:\n"
    "        return None\n"
    "end=time.monotonic()+ttl\n"
    "while time.monotonic()<end:\n"
    "    f=stat(owner) if owner else None\n"
    "    if owner and (f is None or f[0] in 'ZXx' or f[19]!=ostart):\n"
    "        break\n"
    "    time.sleep(max(0.0,min(poll,end-time.monotonic())))\n"
    "f=stat(pid)\n"
    "if f is not None and f[19]==start:\n"
    "    try:\n"
    "        os.killpg(pgid,signal.SIGCONT) if pgid else os.kill(pid,signal.SIGCONT)\n"
    "    except OSError:\n"
    "        pass\n"
)


def find_watchdogs(fault_id: str, pid: int | None = None, starttime: str | None = None) -> list[int]:
    """Pids of live pause watchdogs for ``fault_id`` (and, if given, that target process).

    Found by command line, so cleanup in another process can stop them. Matching the
    target's pid and start time too keeps concurrent runs that reuse a fault id (same
    scenario, or pytest-xdist workers) from stopping each other's watchdogs.
    """
    want = [WATCHDOG_MARKER.encode(), fault_id.encode()]
    if pid is not None:
        want.append(str(pid).encode())
    if starttime is not None:
        want.append(starttime.encode())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(w in argv for w in want):
            found.append(int(entry.name))
    return found


class PauseFault(_Supervised):
    """SIGSTOP the service (its process group); revert sends SIGCONT.

    With ``ttl_s > 0`` a detached watchdog process sends SIGCONT when the TTL expires or
    within ``WATCHDOG_POLL_S`` of the injecting process's death, so a pause outlives
    neither its TTL nor a SIGKILLed harness.
    """

    type = "pause"
    kind = "process_pause"

    def __init__(self, service: str, *, fault_id: str, supervisor: ProcessControl | None,
                 ttl_s: float = 0.0) -> None:
        super().__init__(service, fault_id=fault_id, supervisor=supervisor, ttl_s=ttl_s)
        self._watchdog: subprocess.Popen[bytes] | None = None

    def _start_watchdog(self) -> None:
        assert self.target_pid is not None and self.starttime is not None
        owner = _stat(os.getpid())
        self._watchdog = subprocess.Popen(
            [sys.executable, "-S", "-c", _WATCHDOG, str(self.target_pid), self.starttime,
             str(self.pgid or 0), str(self.ttl_s), WATCHDOG_MARKER, self.fault_id,
             str(os.getpid() if owner else 0), owner[1] if owner else "0", str(WATCHDOG_POLL_S)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # survives Ctrl-C and the harness's own death
        )

    def _stop_watchdogs(self) -> None:
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None
        # one left by a dead run (cleanup)
        for pid in find_watchdogs(self.fault_id, self.target_pid, self.starttime):
            _signal(pid, None, signal.SIGKILL)

    def inject(self) -> None:
        pid = self._resolve()
        if not _alive(pid, self.starttime):
            raise FaultError(f"service {self.service!r} (pid {pid}) is not running; cannot pause it")
        if self.ttl_s > 0 and self._watchdog is None:
            self._start_watchdog()
        _signal(pid, self.pgid, signal.SIGSTOP)
        if not _wait(lambda: process_state(pid) in ("T", "t", None)):
            raise FaultError(f"service {self.service!r} (pid {pid}) did not stop after SIGSTOP")

    def revert(self) -> None:
        pid = self.target_pid
        if pid is not None and _alive(pid, self.starttime):
            _signal(pid, self.pgid, signal.SIGCONT)
            _wait(lambda: process_state(pid) not in ("T", "t"))
        self._stop_watchdogs()


# --------------------------------------------------------------------------- external

def _run(argv: list[str], what: str) -> None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError as exc:
        raise FaultError(f"{what} command not found: {argv[0]!r}") from exc
    except subprocess.TimeoutExpired as exc:
        raise FaultError(f"{what} command {argv[0]!r} timed out after {COMMAND_TIMEOUT_S:.0f} s") from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        raise FaultError(f"{what} command {argv[0]!r} exited {proc.returncode}: {tail[0][:200]}")


class ExternalCommandFault(Fault):
    """A process fault on an external service through its allowlisted ``system.yaml`` commands.

    ``inject_cmd`` runs on inject; ``revert_cmd`` (if any) on revert. With
    ``revert_after_s`` set, inject itself runs the revert command after that pause
    (crash-then-restart), and revert only runs it again if that never happened.
    """

    def __init__(self, service: str, fault_type: str, *, fault_id: str, inject_cmd: list[str],
                 revert_cmd: list[str] | None, revert_after_s: float | None = None,
                 ttl_s: float = 0.0) -> None:
        self.service = service
        self.type = fault_type
        self.fault_id = fault_id
        self.inject_cmd = list(inject_cmd)
        self.revert_cmd = list(revert_cmd) if revert_cmd else None
        self.revert_after_s = revert_after_s
        self.ttl_s = float(ttl_s)
        self._undone = False

    def inject(self) -> None:
        self._undone = False
        _run(self.inject_cmd, f"service {self.service!r} {self.type}")
        if self.revert_after_s is not None and self.revert_cmd:
            time.sleep(self.revert_after_s)
            self.revert()

    def revert(self) -> None:
        if self._undone or not self.revert_cmd:
            return
        if any(REDACTED in arg for arg in self.revert_cmd):
            raise ManualActionRequired(
                f"service {self.service!r}: the revert command holds a secret and was not stored; "
                f"run services[{self.service}].commands from system.yaml by hand"
            )
        _run(self.revert_cmd, f"service {self.service!r} revert of {self.type}")
        self._undone = True

    def ledger_entry(self) -> dict[str, Any]:
        revert_cmd = redact_argv(self.revert_cmd)[0] if self.revert_cmd else None
        return {
            "kind": "external_command", "fault_id": self.fault_id, "type": self.type,
            "ttl_s": self.ttl_s, "service": self.service, "revert_cmd": revert_cmd,
        }

    @classmethod
    def from_ledger(cls, entry: dict[str, Any]) -> ExternalCommandFault:
        return cls(entry["service"], entry["type"], fault_id=entry["fault_id"], inject_cmd=[],
                   revert_cmd=entry.get("revert_cmd"), ttl_s=entry.get("ttl_s", 0.0))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "service": self.service, "command": redact_argv(self.inject_cmd)[0]}
