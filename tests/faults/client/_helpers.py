"""Real processes for the fault-client tests.

``ChildSupervisor`` is a deliberately small, real supervisor (Popen in a new session,
wait until the port answers HTTP) implementing ``ProcessControl``. The project's own
supervisor (harness.system.supervisor) belongs to another layer; these tests only need
something that really starts, tracks and restarts processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from harness.faults.process import process_state
from harness.system.ports import free_port

ROOT = Path(__file__).resolve().parents[3]

# a parent HTTP server with one child process in the same process group
GROUP_SERVER = (
    "import http.server,subprocess,sys\n"
    "child=subprocess.Popen([sys.executable,'-c','import time\\nwhile True: time.sleep(0.05)'])\n"
    "open(sys.argv[2],'w').write(str(child.pid))\n"
    "http.server.ThreadingHTTPServer(('127.0.0.1',int(sys.argv[1])),"
    "http.server.SimpleHTTPRequestHandler).serve_forever()\n"
)


def wait_http(url: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=0.5, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not come up within {timeout_s} s")


def reachable(url: str, timeout_s: float = 0.5) -> bool:
    try:
        httpx.get(url, timeout=timeout_s, trust_env=False)
        return True
    except httpx.HTTPError:
        return False


def wait_for(predicate, timeout_s: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


class ChildSupervisor:
    """Starts services as real child processes, each in its own session/process group."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.restarts: dict[str, int] = {}
        self._argv: dict[str, list[str]] = {}

    def start(self, name: str, *, group: bool = False) -> str:
        port = free_port()
        if group:
            argv = [sys.executable, "-c", GROUP_SERVER, str(port), str(self.workdir / f"{name}.child")]
        else:
            argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        self._argv[name], self.ports[name] = argv, port
        self._spawn(name)
        return self.url(name)

    def _spawn(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(
            self._argv[name], cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_http(self.url(name))

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}/"

    def child_pid(self, name: str) -> int:
        return int((self.workdir / f"{name}.child").read_text())

    # -- ProcessControl
    def pid(self, name: str) -> int:
        proc = self.procs[name]
        proc.poll()  # reap a killed child so it does not linger as a zombie
        return proc.pid

    def restart(self, name: str) -> None:
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self._stop(self.procs[name])
        self._spawn(name)

    def _stop(self, proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGCONT)
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def close(self) -> None:
        for proc in self.procs.values():
            self._stop(proc)


def kill_tree(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Kill a process we started (and its group if it leads one); never leaves it stopped."""
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGCONT)
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def stopped(pid: int) -> bool:
    return process_state(pid) in ("T", "t")
