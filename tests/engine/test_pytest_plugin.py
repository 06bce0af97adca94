"""Scenario YAML files run as pytest items, in parallel with xdist (each worker its own sandbox)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import write_scenario

pytestmark = pytest.mark.slow

SCENARIO = """
title: {title}
repeats: {repeats}
phases: {{baseline: 1s, inject: 2s, recover: 2s}}
stable_for: 500ms
steady_state:
  - {{type: http, name: health, service: orchestrator, path: /healthz, interval_s: 200ms}}
load: {{users: 1, spawn_rate: 1, think_time_s: [0.2, 0.3]}}
faults:
  - {{type: latency, target: {{edge: {edge}}}, params: {{latency: 50}}}}
slos:
  - {{metric: availability, phase: all, min: {min_availability}}}
"""


def test_scenarios_run_as_pytest_items_in_parallel(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    write_scenario(folder, "risk-latency", SCENARIO.format(title="risk latency", repeats=2, edge="risk",
                                                          min_availability=0))
    write_scenario(folder, "notify-latency", SCENARIO.format(title="notify latency", repeats=1, edge="notify",
                                                            min_availability=0))
    # An SLO that no availability can meet makes its item fail, with the SLO in the message
    write_scenario(folder, "impossible", SCENARIO.format(title="impossible SLO", repeats=1, edge="intake",
                                                         min_availability=1.5))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(folder), "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
         "--harness-out", str(tmp_path / "reports"), "--harness-settle", "5", "-rA", "-v",
         "-o", "addopts=", "-o", "testpaths="],
        capture_output=True, text=True, timeout=400, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "PASSED scenarios/risk-latency.yaml::risk-latency[repeat1]" in out, out
    assert "1 failed, 3 passed" in out, out
    assert "impossible.yaml::impossible[repeat0]" in out and "SLO failed: availability" in out, out
    assert "[gw0]" in out and "[gw1]" in out, "both xdist workers ran scenario items"
    runs = sorted(p.name for p in (tmp_path / "reports").iterdir() if p.is_dir() and not p.is_symlink())
    assert len(runs) == 4 and sum(r.startswith("risk-latency-r") for r in runs) == 2


CHAOS_TEST = '''
import httpx


def test_latency_then_kill(harness_system, inject_fault):
    listen = harness_system.spec.edge("back").listen
    with inject_fault("latency", edge="back", params={"latency": 300}):
        r = httpx.get(f"http://{listen}/x", timeout=5)
        assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.3
    with inject_fault("kill", service="back"):
        try:
            httpx.get(f"http://{listen}/x", timeout=2)
            reached = True
        except httpx.HTTPError:
            reached = False
        assert not reached, "the killed service still answered"
    # reverting the kill restarted it through the supervisor the plugin handed over
    assert httpx.get(f"http://{listen}/x", timeout=5).status_code == 200
'''


def test_plugin_opens_a_users_system_like_harness_run(tmp_path: Path) -> None:
    """``--harness-system`` starts the system's ``start:`` services and the embedded proxy
    (the same code path as ``harness run --system``), process faults get the supervisor,
    and everything is stopped when pytest ends."""
    from tests.engine.test_own_system import _closed, write_two_service_system

    api_port, front_port, back_port, listen_port = write_two_service_system(tmp_path)
    (tmp_path / "test_chaos.py").write_text(CHAOS_TEST)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_chaos.py", "--harness-system", "system.yaml", "-p", "no:cacheprovider",
         "-o", "addopts=", "-o", "testpaths=", "-q"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
    for port in (api_port, front_port, back_port, listen_port):
        assert _closed(port), f"port {port} is still served after pytest ended"


def test_plugin_names_the_reason_when_the_system_cannot_be_opened(tmp_path: Path) -> None:
    """A proxy that is not embedded and not running: every test that needs the system fails
    with the same one-line reason (which proxy, what to do), and nothing is started."""
    from tests.engine.test_own_system import _closed, write_two_service_system

    api_port, front_port, back_port, _listen_port = write_two_service_system(tmp_path)
    system = tmp_path / "system.yaml"
    system.write_text(system.read_text().replace("embedded: true", "embedded: false"))
    (tmp_path / "test_chaos.py").write_text(
        "def test_one(harness_system):\n    pass\n\n\ndef test_two(harness_system):\n    pass\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "test_chaos.py", "--harness-system", "system.yaml", "-p", "no:cacheprovider",
         "-o", "addopts=", "-o", "testpaths=", "-q", "-rA"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "2 error" in out, out
    assert out.count(f"proxy API http://127.0.0.1:{api_port} (proxy.api_url) is unreachable") >= 2, out
    assert "proxy.embedded: true" in out and "Traceback" not in out, out
    for port in (front_port, back_port):
        assert _closed(port)
