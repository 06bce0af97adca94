"""Process supervisor: start, health-check, stop and restart the processes of a system.

Each process gets its own process group (so stopping it also stops anything it spawned),
a log file in ``<state_dir>/logs/``, and an entry in ``<state_dir>/state.json``. The state
file is what lets a *later* process (``harness sandbox down``/``status``, ``harness
cleanup``) find and stop what an earlier one started; a process is identified by pid
*and* its kernel start time, so a recycled pid is never mistaken for ours.

Public API used by other layers: :meth:`Supervisor.pid`, :meth:`~Supervisor.restart`,
:meth:`~Supervisor.stop`, :meth:`~Supervisor.is_running`.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from harness.errors import HarnessError
from harness.jsontools import write_atomic
from harness.redact import redact


class ProcessError(HarnessError):
    """A supervised process did not start or become healthy. Shown as one line."""

    exit_code = 1


@dataclass
class ProcessSpec:
    """How to start one process and how to know it is ready."""

    name: str
    argv: list[str]
    health_url: str | None = None
    url: str | None = None
    port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    ready_timeout_s: float = 60.0
    #: False ties the process to the supervising process: it gets SIGTERM when that dies
    #: (even by SIGKILL), so a killed test run leaves nothing behind. True for
    #: ``harness sandbox up``, whose processes must outlive the command.
    detached: bool = False


@dataclass
class ProcessRecord:
    spec: ProcessSpec
    pid: int = 0
    start_time: int = 0  # /proc/<pid>/stat field 22: identifies the process beyond its pid
    log: str = ""


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec hook asking Linux to SIGTERM the child when its parent dies (PR_SET_PDEATHSIG).

    Kept to one libc call: it runs between fork and exec. The parent-death signal fires
    when the forking *thread* ends, so supervisors must start processes from a thread that
    lives as long as they should; the supervisor only ties processes started from the main thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def hook() -> None:
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the prctl took effect
            os._exit(1)

    return hook


def _proc_start_time(pid: int) -> int | None:
    """Kernel start time of ``pid`` or None if it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


class Supervisor:
    """Owns the processes of one state dir. Not thread-safe; one owner at a time."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.records: dict[str, ProcessRecord] = {}
        self.meta: dict[str, Any] = {}
        self._popen: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def state_file(self) -> Path:
        return self.state_dir / "state.json"

    # ------------------------------------------------------------ persistence

    @classmethod
    def load(cls, state_dir: Path) -> Supervisor:
        """A supervisor for processes started by another (maybe finished) process."""
        sup = cls(state_dir)
        if not sup.state_file.exists():
            return sup
        try:
            data = json.loads(sup.state_file.read_text())
            for name, rec in data.get("processes", {}).items():
                spec = ProcessSpec(**rec["spec"])
                sup.records[name] = ProcessRecord(spec=spec, pid=rec["pid"], start_time=rec["start_time"],
                                                  log=rec["log"])
            sup.meta = data.get("meta", {})
        except (ValueError, KeyError, TypeError) as exc:
            raise ProcessError(f"{sup.state_file}: unreadable state file ({exc}); remove it and retry") from exc
        return sup

    def save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        procs = {}
        for name, rec in self.records.items():
            spec = asdict(rec.spec)
            spec["env"] = redact(spec["env"])  # the state file is on disk: no secrets in it
            procs[name] = {"spec": spec, "pid": rec.pid, "start_time": rec.start_time, "log": rec.log}
        write_atomic(self.state_file, json.dumps({"version": 1, "processes": procs, "meta": self.meta}, indent=2))

    # ------------------------------------------------------------ queries

    def names(self) -> list[str]:
        return list(self.records)

    def pid(self, name: str) -> int:
        """Pid of a running process (raises ProcessError if it is not running)."""
        if not self.is_running(name):
            raise ProcessError(f"process {name!r} is not running")
        return self.records[name].pid

    def is_running(self, name: str) -> bool:
        rec = self.records.get(name)
        if rec is None or rec.pid <= 0:
            return False
        popen = self._popen.get(name)
        if popen is not None and popen.pid == rec.pid and popen.poll() is not None:
            return False  # exited (and now reaped)
        return _proc_start_time(rec.pid) == rec.start_time

    def spec(self, name: str) -> ProcessSpec:
        return self.records[name].spec

    # ------------------------------------------------------------ start / stop

    def start(self, spec: ProcessSpec, *, wait: bool = True) -> None:
        """Start ``spec`` in its own process group; optionally wait until it is healthy."""
        self.start_many([spec], wait=wait)

    def start_many(self, specs: Iterable[ProcessSpec], *, wait: bool = True) -> None:
        """Start several processes at once, then wait for all of them (faster than one by one)."""
        specs = list(specs)
        for spec in specs:
            if self.is_running(spec.name):
                raise ProcessError(f"process {spec.name!r} is already running (pid {self.records[spec.name].pid})")
            self._spawn(spec)
        self.save()
        if wait:
            self.wait_healthy([s.name for s in specs])

    def _spawn(self, spec: ProcessSpec) -> None:
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{spec.name}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **spec.env}
        # PDEATHSIG follows the forking thread; from any other thread it could fire early.
        tie = not spec.detached and threading.current_thread() is threading.main_thread()
        with log_path.open("ab") as log:
            log.write(f"--- start {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(spec.argv)}\n".encode())
            log.flush()
            popen = subprocess.Popen(spec.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     cwd=spec.cwd, env=env, start_new_session=True,
                                     preexec_fn=_die_with_parent(os.getpid()) if tie else None)
        self._popen[spec.name] = popen
        start_time = None
        for _ in range(100):  # /proc entry appears right after fork; be patient on a busy box
            start_time = _proc_start_time(popen.pid)
            if start_time is not None or popen.poll() is not None:
                break
            time.sleep(0.01)
        self.records[spec.name] = ProcessRecord(spec=spec, pid=popen.pid, start_time=start_time or 0,
                                                log=str(log_path))

    def wait_healthy(self, names: Iterable[str], timeout_s: float | None = None) -> None:
        """Poll each health URL until it answers 2xx; fail fast if a process exits."""
        pending = [n for n in names if self.records[n].spec.health_url]
        deadline = time.monotonic() + (timeout_s or max(self.records[n].spec.ready_timeout_s for n in names)
                                       if pending else 0)
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while pending:
                for name in list(pending):
                    if not self.is_running(name):
                        raise ProcessError(f"process {name!r} exited during start-up; last log lines:\n"
                                           f"{self.tail(name)}")
                    try:
                        if client.get(self.records[name].spec.health_url or "").is_success:
                            pending.remove(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise ProcessError(f"not healthy in time: {', '.join(pending)} (logs in {self.state_dir / 'logs'})")
                if pending:
                    time.sleep(0.1)

    def tail(self, name: str, lines: int = 15) -> str:
        try:
            return "\n".join(Path(self.records[name].log).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, name: str, grace_s: float = 5.0) -> None:
        """SIGTERM the process group, SIGKILL it after ``grace_s``. Idempotent."""
        rec = self.records.get(name)
        if rec is None:
            return
        if self.is_running(name):
            self._signal_group(rec.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_s
            while self.is_running(name) and time.monotonic() < deadline:
                time.sleep(0.05)
        # Anything left in the group (the leader or its children) gets SIGKILL.
        self._signal_group(rec.pid, signal.SIGKILL)
        popen = self._popen.pop(name, None)
        if popen is not None:
            try:
                popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while _proc_start_time(rec.pid) == rec.start_time and time.monotonic() < deadline:
            time.sleep(0.05)  # not our child: init reaps it
        self.save()

    def _signal_group(self, pid: int, sig: signal.Signals) -> None:
        # start_new_session made the process a group leader: pgid == pid. Linux does not hand
        # out a pid that is still some group's id, so while any member lives this reaches only ours.
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop_all(self, grace_s: float = 5.0) -> None:
        """Stop every process and clear the state file.

        All groups get SIGTERM at once and share one grace period, so stopping six
        processes costs about as long as stopping the slowest one.
        """
        names = list(self.records)
        for name in names:
            if self.is_running(name):
                self._signal_group(self.records[name].pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while any(self.is_running(n) for n in names) and time.monotonic() < deadline:
            time.sleep(0.05)
        for name in names:
            self.stop(name, grace_s=0)
        self.records.clear()
        self.meta.clear()
        if self.state_file.exists():
            self.state_file.unlink()

    def restart(self, name: str, *, wait: bool = True) -> None:
        """Stop ``name`` if it still runs (e.g. after SIGSTOP), start it again with the same spec."""
        rec = self.records.get(name)
        if rec is None:
            raise ProcessError(f"unknown process {name!r}; known: {', '.join(self.records)}")
        if self.is_running(name):
            try:
                os.killpg(rec.pid, signal.SIGCONT)  # a paused process cannot handle SIGTERM
            except (ProcessLookupError, PermissionError):
                pass
            self.stop(name)
        else:
            self._reap(name)
        self._spawn(rec.spec)
        self.save()
        if wait:
            self.wait_healthy([name])

    def _reap(self, name: str) -> None:
        popen = self._popen.pop(name, None)
        if popen is not None:
            popen.poll()
        rec = self.records[name]
        self._signal_group(rec.pid, signal.SIGKILL)  # children the dead leader may have left

    def status(self) -> list[dict[str, Any]]:
        return [{"name": n, "pid": r.pid, "running": self.is_running(n), "url": r.spec.url, "port": r.spec.port,
                 "log": r.log} for n, r in self.records.items()]
