"""Connections handed to the HTTP relay: recording switched per proxy, TCP toxics still applied underneath.

The HTTP toxics themselves are tested in tests/proxy/http/; here only the core's side of the hook.
"""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.proxy.helpers import ProxyApi, ThreadServer, recv_all, settle


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_record_switches_on_and_off(api: ProxyApi, http_upstream: int, tmp_path: Path) -> None:
    record = tmp_path / "traffic.jsonl"
    name, port = api.create(http_upstream, record=str(record))
    assert api.get(name)["record"] == str(record)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        assert client.get("/one").json() == {"path": "/one"}
        assert client.get("/two").json() == {"path": "/two"}  # same keep-alive connection
    resp = api.client.post(f"/proxies/{name}", json={"record": None})
    assert resp.json()["record"] is None
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        assert client.get("/three").json() == {"path": "/three"}
    paths = [line["request"]["path"] for line in _lines(record)]  # type: ignore[index]
    assert paths == ["/one", "/two"]
    metrics = api.get(name)["metrics"]
    assert metrics["connections_total"] == 2 and metrics["bytes_downstream"] > 0


def test_tcp_latency_applies_under_the_http_relay(api: ProxyApi, http_upstream: int, tmp_path: Path) -> None:
    name, port = api.create(http_upstream, record=str(tmp_path / "t.jsonl"))
    _, base_port = api.create(http_upstream, record=str(tmp_path / "base.jsonl"))
    api.toxic(name, "latency", latency=60)

    def added_ms() -> float:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as slow, \
                httpx.Client(base_url=f"http://127.0.0.1:{base_port}") as fast:
            slow.get("/warm"), fast.get("/warm")
            pairs = [(_timed(slow), _timed(fast)) for _ in range(7)]
        return (statistics.median(p[0] for p in pairs) - statistics.median(p[1] for p in pairs)) * 1000

    added = settle(added_ms)
    # One response = one chunk from the server here, so one 60 ms delay (not one per chunk).
    assert abs(added - 60) <= 5, added


def test_limit_data_cuts_an_http_response(api: ProxyApi, http_upstream: int, tmp_path: Path) -> None:
    name, port = api.create(http_upstream, record=str(tmp_path / "t.jsonl"))
    api.toxic(name, "limit_data", bytes=40)  # less than the response headers
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client, pytest.raises(httpx.HTTPError):
        client.get("/cut")


def _timed(client: httpx.Client) -> float:
    start = time.perf_counter()
    assert client.get("/t").status_code == 200
    return time.perf_counter() - start


def test_http_mode_lets_later_toxics_reach_live_keep_alive_connections(api: ProxyApi, http_upstream: int) -> None:
    name, port = api.create(http_upstream, http=True)
    assert api.get(name)["http"] is True
    plain_name, plain_port = api.create(http_upstream)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client, \
            httpx.Client(base_url=f"http://127.0.0.1:{plain_port}") as plain:
        assert client.get("/before").status_code == 200  # the connection is open before the toxic
        assert plain.get("/before").status_code == 200
        api.toxic(name, "http_status", status=503)
        api.toxic(plain_name, "http_status", status=503)
        assert client.get("/after").status_code == 503
        # without http mode the pooled connection stays a plain byte pump (documented limit) ...
        assert plain.get("/after").status_code == 200
    assert api.get(name)["metrics"]["connections_total"] == 1, "the same keep-alive connection was reused"
    # ... while a new connection on the plain proxy does see the toxic
    assert httpx.get(f"http://127.0.0.1:{plain_port}/new", headers={"Connection": "close"}).status_code == 503


def test_http_toxics_refuse_the_upstream_stream(api: ProxyApi, http_upstream: int) -> None:
    name, _ = api.create(http_upstream)
    resp = httpx.post(f"{api.base}/proxies/{name}/toxics",
                      json={"type": "http_status", "stream": "upstream", "attributes": {"status": 503}})
    assert resp.status_code == 400 and "stream" in resp.json()["error"]
    bad = httpx.post(f"{api.base}/proxies/{name}", json={"http": "yes"})
    assert bad.status_code == 400 and "'http'" in bad.json()["error"]


_ONE_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
_TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def _answer_once_then(goodbye: bytes) -> Callable[[socket.socket], None]:
    """An upstream handler: answers one request, then sends ``goodbye`` and hangs up."""

    def handler(conn: socket.socket) -> None:
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(4096)
        conn.sendall(_ONE_ANSWER)
        time.sleep(0.1)  # the proxy is idle between requests by now
        if goodbye:
            conn.sendall(goodbye)

    return handler


@pytest.mark.parametrize("goodbye", [b"", _TIMEOUT_408], ids=["close", "408-then-close"])
def test_upstream_hanging_up_an_idle_connection_reaches_the_client(api: ProxyApi, goodbye: bytes) -> None:
    """Through the proxy core: the client sees the upstream's close (and what it said before)."""
    with ThreadServer(_answer_once_then(goodbye)) as upstream:
        _, port = api.create(upstream.port, http=True)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
            assert recv_all(sock) == _ONE_ANSWER + goodbye  # ends in EOF: the relay closed the client side
