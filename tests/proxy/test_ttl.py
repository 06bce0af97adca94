"""Dead-man TTL: the server removes faults itself, even when their injector was SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from harness.system.ports import free_port
from tests.proxy.helpers import ProxyApi, ThreadServer, connect, round_trip, start_proxy_process, stop_process

_INJECTOR = r'''
import sys, time, httpx
api, proxy = sys.argv[1], sys.argv[2]
resp = httpx.post(f"{api}/proxies/{proxy}/toxics",
                  json={"name": "dead-man", "type": "latency", "attributes": {"latency": 200}, "ttl_s": 2})
resp.raise_for_status()
print("injected", flush=True)
time.sleep(600)  # never reverts: it gets SIGKILLed
'''


@pytest.mark.slow
def test_toxic_expires_after_its_injector_is_killed(echo_server: ThreadServer) -> None:
    port = free_port()
    server = start_proxy_process(port)
    api = f"http://127.0.0.1:{port}"
    injector = None
    try:
        with httpx.Client(base_url=api, timeout=5) as client:
            resp = client.post("/proxies", json={"name": "ttl", "upstream": f"127.0.0.1:{echo_server.port}"})
            listen = int(resp.json()["listen"].rsplit(":", 1)[1])
            injector = subprocess.Popen([sys.executable, "-c", _INJECTOR, api, "ttl"], stdout=subprocess.PIPE,
                                        text=True)
            assert injector.stdout is not None
            assert injector.stdout.readline().strip() == "injected"
            injected_at = time.monotonic()
            toxic = client.get("/proxies/ttl/toxics/dead-man").json()
            assert toxic["ttl_s"] == 2 and toxic["expires_at"] > time.time()
            os.kill(injector.pid, signal.SIGKILL)
            injector.wait(5)
            with connect(listen) as sock:
                assert round_trip(sock) >= 0.19  # still active right after the kill
            gone_at = None
            while time.monotonic() - injected_at < 3.0:
                if client.get("/proxies/ttl/toxics/dead-man").status_code == 404:
                    gone_at = time.monotonic() - injected_at
                    break
                time.sleep(0.05)
            assert gone_at is not None, "toxic still present 3 s after injection"
            assert gone_at >= 1.9  # and not removed early
            with connect(listen) as sock:
                assert round_trip(sock) < 0.1
    finally:
        if injector is not None and injector.poll() is None:
            injector.kill()
            injector.wait()
        if injector is not None and injector.stdout is not None:
            injector.stdout.close()
        stop_process(server)


def test_downed_proxy_comes_back_after_ttl(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    resp = api.client.post(f"/proxies/{name}", json={"enabled": False, "ttl_s": 0.5})
    assert resp.json()["enabled"] is False and resp.json()["ttl_s"] == 0.5
    with pytest.raises(ConnectionRefusedError):
        connect(port)
    deadline = time.monotonic() + 3
    while not api.get(name)["enabled"] and time.monotonic() < deadline:
        time.sleep(0.05)
    body = api.get(name)
    assert body["enabled"] is True and "ttl_s" not in body
    with connect(port) as sock:  # same port again
        round_trip(sock)


def test_enabling_cancels_the_down_ttl_and_update_rearms_toxic_ttl(api: ProxyApi,
                                                                   echo_server: ThreadServer) -> None:
    name, _ = api.create(echo_server.port)
    api.client.post(f"/proxies/{name}", json={"enabled": False, "ttl_s": 0.3})
    api.client.post(f"/proxies/{name}", json={"enabled": True})
    api.client.post(f"/proxies/{name}", json={"enabled": False})  # no TTL: must stay down
    resp = api.client.post(f"/proxies/{name}/toxics", json={"type": "timeout", "ttl_s": 0.3})
    api.client.post(f"/proxies/{name}/toxics/timeout_downstream", json={"ttl_s": 60})
    time.sleep(0.8)
    assert resp.status_code == 200
    body = api.get(name)
    assert body["enabled"] is False
    assert [t["name"] for t in body["toxics"]] == ["timeout_downstream"]
    api.client.post(f"/proxies/{name}/toxics/timeout_downstream", json={"ttl_s": 0.2})
    time.sleep(0.6)
    assert api.get(name)["toxics"] == []
