"""The process supervisor on real child processes (a tiny HTTP server as the service)."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from harness.redact import REDACTED
from harness.system.ports import free_port
from harness.system.supervisor import ProcessError, ProcessSpec, Supervisor

# A service that also forks a child, to prove stop() takes the whole process group down.
SERVER = """
import http.server, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[2], "w").write(str(child.pid))
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def spec(tmp_path: Path, name: str = "web", **kw: object) -> ProcessSpec:
    port = free_port()
    return ProcessSpec(name=name, argv=[sys.executable, "-c", SERVER, str(port), str(tmp_path / f"{name}.child")],
                       health_url=f"http://127.0.0.1:{port}/", url=f"http://127.0.0.1:{port}", port=port,
                       cwd=str(tmp_path), ready_timeout_s=30, **kw)  # type: ignore[arg-type]


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_start_kill_restart_stop(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    try:
        sup.start(spec(tmp_path))
        pid = sup.pid("web")
        assert sup.is_running("web")
        os.kill(pid, signal.SIGKILL)
        assert wait_gone(pid) or not sup.is_running("web")
        assert not sup.is_running("web")
        with pytest.raises(ProcessError):
            sup.pid("web")
        sup.restart("web")
        assert sup.is_running("web") and sup.pid("web") != pid
    finally:
        sup.stop_all()
    assert not (tmp_path / "state.json").exists()


def test_restart_a_paused_process(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    try:
        sup.start(spec(tmp_path))
        pid = sup.pid("web")
        os.kill(pid, signal.SIGSTOP)
        sup.restart("web")
        assert wait_gone(pid)
        assert sup.is_running("web")
    finally:
        sup.stop_all()


def test_a_later_supervisor_stops_the_group_from_the_state_file(tmp_path: Path) -> None:
    first = Supervisor(tmp_path)
    first.start(spec(tmp_path, env={"API_TOKEN": "s3cret", "PLAIN": "x"}))
    pid = first.pid("web")
    child = int((tmp_path / "web.child").read_text())
    saved = json.loads((tmp_path / "state.json").read_text())
    assert saved["processes"]["web"]["spec"]["env"] == {"API_TOKEN": REDACTED, "PLAIN": "x"}
    assert "s3cret" not in (tmp_path / "state.json").read_text()

    later = Supervisor.load(tmp_path)
    assert later.is_running("web") and later.pid("web") == pid
    later.stop_all()
    assert wait_gone(pid) and wait_gone(child)
    first.stop_all()  # idempotent: nothing left to stop


def test_process_that_dies_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    bad = ProcessSpec(name="bad", argv=[sys.executable, "-c", "import sys; print('boom here'); sys.exit(3)"],
                      health_url=f"http://127.0.0.1:{free_port()}/", ready_timeout_s=30)
    try:
        with pytest.raises(ProcessError, match="boom here"):
            sup.start(bad)
    finally:
        sup.stop_all()


def test_start_twice_is_refused(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    try:
        s = spec(tmp_path)
        sup.start(s)
        with pytest.raises(ProcessError, match="already running"):
            sup.start(s)
    finally:
        sup.stop_all()


def test_attached_processes_die_with_the_supervising_process(tmp_path: Path) -> None:
    """A supervisor process killed with SIGKILL leaves no attached process behind; a detached one survives."""
    import subprocess

    script = f"""
import sys, time
sys.path.insert(0, {str(Path(__file__).parents[2])!r})
from pathlib import Path
from tests.sandbox.test_supervisor import spec
from harness.system.supervisor import Supervisor
tmp = Path({str(tmp_path)!r})
sup = Supervisor(tmp)
sup.start(spec(tmp, "attached"))
sup.start(spec(tmp, "detached", detached=True))
print(sup.pid("attached"), sup.pid("detached"), flush=True)
time.sleep(600)
"""
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        attached, detached = map(int, owner.stdout.readline().split())  # type: ignore[union-attr]
        owner.kill()
        owner.wait(timeout=10)
        assert wait_gone(attached, timeout=10)
        assert alive(detached)
    finally:
        owner.kill()
        # The test server's own child is not tied to anything: take down the rest of its group.
        grandchild = int((tmp_path / "attached.child").read_text())
        try:
            os.killpg(attached, signal.SIGKILL)
        except ProcessLookupError:
            pass
        assert wait_gone(grandchild)
        Supervisor.load(tmp_path).stop_all()
    assert wait_gone(detached)


def test_never_healthy_process_times_out_with_a_clear_error(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path)
    sleeper = ProcessSpec(name="mute", argv=[sys.executable, "-c", "import time; time.sleep(60)"],
                          health_url=f"http://127.0.0.1:{free_port()}/", ready_timeout_s=1.0)
    try:
        with pytest.raises(ProcessError, match="not healthy in time: mute"):
            sup.start(sleeper)
        pid = sup.records["mute"].pid
    finally:
        sup.stop_all()
    assert wait_gone(pid)
