"""Probes against a real HTTP server: status, JSON tolerance, latency bound, command probes."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from harness.engine.probes import ProbeSet, run_command_probe, run_http_probe
from harness.model.scenario import CommandProbe, HttpProbe


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(0.2)
        status = 503 if self.path == "/down" else 200
        body = b'{"status": "ok", "queue": 7}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def probe(**kw: object) -> HttpProbe:
    return HttpProbe.model_validate({"type": "http", "name": "p", **kw})


def test_http_probe_checks_status_json_and_latency(server: str) -> None:
    with httpx.Client() as client:
        assert run_http_probe(probe(url=f"{server}/ok"), client).ok
        bad = run_http_probe(probe(url=f"{server}/down"), client)
        assert not bad.ok and bad.detail == "status 503"
        assert run_http_probe(probe(url=f"{server}/ok", json={"pointer": "/queue", "max": 10}), client).ok
        over = run_http_probe(probe(url=f"{server}/ok", json={"pointer": "/queue", "max": 5}), client)
        assert not over.ok and "/queue = 7 > 5" in over.detail
        eq = run_http_probe(probe(url=f"{server}/ok", json={"pointer": "/status", "equals": "down"}), client)
        assert not eq.ok
        slow = run_http_probe(probe(url=f"{server}/slow", max_latency_ms=50), client)
        assert not slow.ok and "latency" in slow.detail
        svc = run_http_probe(probe(service="api", path="/ok"), client, {"api": server})
        assert svc.ok


def test_http_probe_on_a_closed_port_fails_cleanly() -> None:
    from harness.system.ports import free_port

    with httpx.Client() as client:
        result = run_http_probe(probe(url=f"http://127.0.0.1:{free_port()}/", timeout_s=1), client)
    assert not result.ok and "ConnectError" in result.detail


def test_command_probe_uses_exit_code() -> None:
    ok = CommandProbe(type="command", name="c", command=[sys.executable, "-c", "raise SystemExit(0)"])
    bad = CommandProbe(type="command", name="c", command=[sys.executable, "-c", "raise SystemExit(3)"])
    assert run_command_probe(ok).ok
    assert run_command_probe(bad).detail == "exit 3"


def test_probe_set_emits_on_interval_and_counts_consecutive_failures(server: str) -> None:
    events: list[dict[str, object]] = []
    probes = [probe(name="up", url=f"{server}/ok", interval_s=0.05),
              probe(name="down", url=f"{server}/down", interval_s=0.05)]
    pset = ProbeSet(probes, lambda kind, **f: events.append({"kind": kind, **f}), None)
    pset.start()
    time.sleep(0.6)
    pset.stop()
    ups = [e for e in events if e["probe"] == "up"]
    downs = [e for e in events if e["probe"] == "down"]
    assert len(ups) >= 5 and all(e["ok"] for e in ups)
    assert len(downs) >= 5 and not any(e["ok"] for e in downs)
    assert pset.consecutive_failures("down") == len(downs)
    assert pset.consecutive_failures("up") == 0
