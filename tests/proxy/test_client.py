"""``harness.proxy.client.ProxyClient`` against the real embedded proxy on real sockets."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from harness.proxy.client import ProxyApiError, ProxyClient
from harness.proxy.server import BackgroundProxy
from harness.system.ports import free_port


class _Ok(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api() -> Iterator[ProxyClient]:
    with BackgroundProxy() as proxy, ProxyClient(proxy.api_url) as client:
        yield client


def test_a_toxic_added_through_the_client_changes_traffic_and_goes_away(api: ProxyClient, upstream: str) -> None:
    listen = f"127.0.0.1:{free_port()}"
    api.create_proxy("orders", listen, upstream, http=True)
    assert httpx.get(f"http://{listen}/", trust_env=False).text == "ok"
    api.add_toxic("orders", "http_status", name="fail", status=503)
    assert httpx.get(f"http://{listen}/", trust_env=False).status_code == 503
    assert [t["name"] for t in api.toxics("orders")] == ["fail"]
    api.remove_toxic("orders", "fail")
    assert httpx.get(f"http://{listen}/", trust_env=False).status_code == 200
    api.update_proxy("orders", enabled=False)
    assert api.proxies()["orders"]["enabled"] is False
    api.reset()
    assert api.proxies()["orders"]["enabled"] is True


def test_a_toxic_with_ttl_removes_itself(api: ProxyClient, upstream: str) -> None:
    api.populate([{"name": "pay", "listen": f"127.0.0.1:{free_port()}", "upstream": upstream}])
    api.add_toxic("pay", "latency", name="slow", ttl_s=0.3, latency=100)
    deadline = time.monotonic() + 5
    while api.toxics("pay") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.toxics("pay") == []


def test_errors_carry_the_status_and_the_servers_reason(api: ProxyClient) -> None:
    with pytest.raises(ProxyApiError, match="HTTP 404") as err:
        api.add_toxic("nowhere", "latency", latency=1)
    assert err.value.status == 404
    dead = ProxyClient(f"http://127.0.0.1:{free_port()}", timeout_s=1)
    with pytest.raises(ProxyApiError, match="unreachable") as err:
        dead.proxies()
    assert err.value.status is None
