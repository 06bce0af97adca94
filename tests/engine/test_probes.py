"""Probes against a real HTTP server: status, JSON tolerance, latency bound, command probes."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from harness.engine.probes import ProbeSet, probe_kinds, resolve_probe, run_command_probe, run_http_probe
from harness.errors import ConfigError
from harness.model.scenario import BUILTIN_PROBES, CommandProbe, HttpProbe, ProbeSpec, Scenario


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


def test_a_probe_of_an_unknown_type_or_with_a_bad_field_is_a_config_error() -> None:
    """Types the scenario model does not know are checked by the probe catalog before any probe runs."""
    scenario = Scenario.model_validate({"title": "t", "steady_state": [{"type": "tcpp", "name": "t", "port": 1}]})
    with pytest.raises(ConfigError, match="unknown probe type 'tcpp'; known: command, http, ") as info:
        ProbeSet(list(scenario.steady_state), lambda kind, **f: None, None)
    assert info.value.field == "type"
    generic = ProbeSpec(type="http", name="h", url="http://127.0.0.1:1/", bogus=1)
    with pytest.raises(ConfigError, match="probe 'h': unknown field") as info:
        resolve_probe(generic)
    assert info.value.field == "bogus"
    resolved = resolve_probe(ProbeSpec(type="http", name="h", url="http://127.0.0.1:1/"))
    assert isinstance(resolved, HttpProbe) and resolved.interval_s == 0.25


def test_every_built_in_probe_kind_runs_its_own_spec() -> None:
    kinds = probe_kinds()
    assert set(BUILTIN_PROBES) <= set(kinds)
    for name, spec in BUILTIN_PROBES.items():
        assert kinds[name].spec is spec


def test_tcp_probe_is_ok_while_the_port_accepts_connections() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    scenario = Scenario.model_validate({"title": "t", "steady_state": [{"type": "tcp", "name": "db", "port": port}]})
    events: list[dict[str, object]] = []
    pset = ProbeSet(list(scenario.steady_state), lambda kind, **f: events.append(f), None)
    assert pset.probes[0].timeout_s == 2.0  # resolved to the tcp spec
    try:
        assert probe_kinds()["tcp"].run(pset.probes[0], None).ok
    finally:
        listener.close()
    result = probe_kinds()["tcp"].run(pset.probes[0], None)
    assert not result.ok and "ConnectionRefused" in result.detail
    with pytest.raises(ConfigError) as info:
        ProbeSet([scenario.steady_state[0].model_copy(update={"port": 0})], lambda kind, **f: None, None)
    assert info.value.field == "port"
