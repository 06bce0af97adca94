"""``harness run --system`` on a user's own system.yaml: the harness starts the supervised
services and the embedded proxy, runs faults against them, and stops everything again."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from harness.model.journal import FaultRevertedEvent, ProbeEvent, parse_journal_lines
from harness.system.ports import free_ports

pytestmark = pytest.mark.slow

SERVICE = """\
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = json.dumps({"status": "ok", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_run_starts_supervises_and_stops_a_users_system(tmp_path: Path) -> None:
    api_port, front_port, back_port, listen_port = free_ports(4)
    (tmp_path / "service.py").write_text(SERVICE)
    (tmp_path / "system.yaml").write_text(f"""
name: my-agents
safety: {{environment: staging}}
proxy: {{api_url: "http://127.0.0.1:{api_port}", embedded: true}}
services:
  - name: front
    kind: orchestrator
    protocol: rest
    base_url: http://127.0.0.1:{front_port}
    health_url: http://127.0.0.1:{front_port}/health
    start: {{command: ["{sys.executable}", "service.py", "{front_port}"]}}
  - name: back
    kind: agent
    protocol: rest
    base_url: http://127.0.0.1:{back_port}
    health_url: http://127.0.0.1:{back_port}/health
    start: {{command: ["{sys.executable}", "service.py", "{back_port}"], cwd: "."}}
edges:
  - {{caller: front, callee: back, proxy: back, listen: "127.0.0.1:{listen_port}", upstream: "127.0.0.1:{back_port}"}}
""")
    (tmp_path / "scenario.yaml").write_text(f"""
title: back is slow, then killed
phases: {{baseline: 1s, inject: 3s, recover: 2s}}
stable_for: 500ms
steady_state:
  - {{type: http, name: via-proxy, url: "http://127.0.0.1:{listen_port}/x", interval_s: 200ms, timeout_s: 1s}}
  - {{type: http, name: front, service: front, path: /health, interval_s: 200ms}}
faults:
  - {{type: latency, target: {{edge: back}}, params: {{latency: 50}}}}
  - {{type: kill, target: {{service: back}}, at_s: 1, duration_s: 1}}
""")
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "scenario.yaml", "--system", "system.yaml", "--no-progress",
         "--out", "reports", "--settle", "1"],
        capture_output=True, text=True, timeout=240, cwd=tmp_path, env={**os.environ, "COLUMNS": "200"})
    out = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1), out
    assert "started embedded-proxy, front, back" in out and "stopped embedded-proxy, front, back" in out
    events = parse_journal_lines((tmp_path / "reports" / "latest" / "journal.jsonl").read_text().splitlines())
    reverted = [e for e in events if isinstance(e, FaultRevertedEvent)]
    assert len(reverted) == 2 and all(e.ok for e in reverted), reverted
    # the kill really cut the service off: the probe through the proxy failed while it was down
    via_proxy = [e for e in events if isinstance(e, ProbeEvent) and e.probe == "via-proxy"]
    assert any(not e.ok for e in via_proxy)
    # and it was restarted: the probe holds again before the end
    assert via_proxy[-1].ok, via_proxy[-1]
    for port in (api_port, front_port, back_port, listen_port):
        assert _closed(port), f"port {port} is still served after the run"


def write_two_service_system(tmp_path: Path) -> tuple[int, int, int, int]:
    """A user's system.yaml in ``tmp_path``: ``front`` calls ``back`` through the embedded
    proxy, both started by the harness. Returns (proxy API, front, back, edge listen) ports."""
    api_port, front_port, back_port, listen_port = free_ports(4)
    (tmp_path / "service.py").write_text(SERVICE)
    (tmp_path / "system.yaml").write_text(f"""
name: my-agents
proxy: {{api_url: "http://127.0.0.1:{api_port}", embedded: true}}
services:
  - {{name: front, kind: orchestrator, protocol: rest, base_url: "http://127.0.0.1:{front_port}",
      health_url: "http://127.0.0.1:{front_port}/health",
      start: {{command: ["{sys.executable}", "service.py", "{front_port}"]}}}}
  - {{name: back, kind: agent, protocol: rest, base_url: "http://127.0.0.1:{back_port}",
      health_url: "http://127.0.0.1:{back_port}/health",
      start: {{command: ["{sys.executable}", "service.py", "{back_port}"]}}}}
edges:
  - {{caller: front, callee: back, proxy: back, listen: "127.0.0.1:{listen_port}", upstream: "127.0.0.1:{back_port}"}}
""")
    return api_port, front_port, back_port, listen_port


def _wait_answers(url: str, timeout_s: float) -> None:
    import time

    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1, trust_env=False).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")


def test_sigkilled_run_leaves_no_toxic_behind_after_five_seconds(tmp_path: Path) -> None:
    """The lease on the ``run --system`` path: the run's latency toxic carries a short TTL
    that the live run renews; after the run is SIGKILLed, the proxy (which outlives the run
    here, as a shared one would) removes the toxic by itself within 5 s, no cleanup run."""
    import signal
    import time

    import httpx
    import psutil

    api_port, _front_port, back_port, listen_port = write_two_service_system(tmp_path)
    api = f"http://127.0.0.1:{api_port}"
    # A proxy that is already up: the harness uses it as is instead of starting its own.
    proxy = subprocess.Popen([sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1",
                              "--port", str(api_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    run: subprocess.Popen[bytes] | None = None
    children: list[psutil.Process] = []
    try:
        _wait_answers(f"{api}/version", 30)
        httpx.post(f"{api}/populate", json=[{"name": "back", "listen": f"127.0.0.1:{listen_port}",
                                             "upstream": f"127.0.0.1:{back_port}", "http": True}],
                   timeout=10, trust_env=False).raise_for_status()
        (tmp_path / "scenario.yaml").write_text("""
title: back is slow for a long time
phases: {baseline: 1s, inject: 120s, recover: 1s}
steady_state:
  - {type: http, name: front, service: front, path: /health, interval_s: 500ms}
faults:
  - {type: latency, target: {edge: back}, params: {latency: 50}}
""")
        run = subprocess.Popen(
            [sys.executable, "-m", "harness", "run", "scenario.yaml", "--system", "system.yaml", "--no-progress",
             "--out", "reports", "--settle", "1"], cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        toxics_url = f"{api}/proxies/back/toxics"

        def active() -> list[dict]:
            return httpx.get(toxics_url, timeout=2, trust_env=False).json()

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not active():
            assert run.poll() is None, f"harness run exited early ({run.returncode})"
            time.sleep(0.2)
        assert active(), "the latency toxic never appeared"
        time.sleep(4)  # past the first lease: the live run keeps it alive by renewing
        assert active(), "the toxic expired while the run was alive"
        children = psutil.Process(run.pid).children(recursive=True)
        run.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        run.wait(10)
        while time.monotonic() - killed_at < 5.0 and active():
            time.sleep(0.05)
        gone_after = time.monotonic() - killed_at
        assert active() == [], "toxic still active 5 s after SIGKILL"
        print(f"toxic gone {gone_after:.2f} s after SIGKILL")
        assert httpx.get(f"{api}/version", timeout=2, trust_env=False).is_success  # the lease did it, not a crash
    finally:
        if run is not None and run.poll() is None:
            run.kill()
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
        proxy.kill()
        proxy.wait(10)


def test_an_unreachable_proxy_that_is_not_embedded_is_one_clear_error(tmp_path: Path) -> None:
    api_port, front_port, back_port, _listen_port = write_two_service_system(tmp_path)
    system = tmp_path / "system.yaml"
    system.write_text(system.read_text().replace("embedded: true", "embedded: false"))
    (tmp_path / "scenario.yaml").write_text("""
title: t
phases: {baseline: 1s, inject: 1s, recover: 1s}
faults:
  - {type: latency, target: {edge: back}, params: {latency: 50}}
""")
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "run", "scenario.yaml", "--system", "system.yaml", "--no-progress"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**os.environ, "COLUMNS": "300"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in proc.stdout + proc.stderr, err
    assert f"http://127.0.0.1:{api_port}" in err and "proxy.embedded: true" in err and "Toxiproxy" in err, err
    for port in (front_port, back_port):  # nothing was started before the check
        assert _closed(port)
