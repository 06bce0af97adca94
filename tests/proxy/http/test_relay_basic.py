"""The relay with no toxic: keep-alive, chunked both ways, streaming, malformed input."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

import httpx

from tests.proxy.http.relay_host import RelayHost, run_relay
from tests.proxy.http.upstream_app import ORDER, Upstream


def test_keep_alive_many_requests_one_connection(client: httpx.Client, relay: RelayHost,
                                                 upstream: Upstream) -> None:
    for i in range(5):
        assert client.get("/order", headers={"x-test-id": str(i)}).json() == ORDER
        r = client.post("/echo", content=b"x" * (i * 1000), headers={"content-type": "text/plain"})
        assert r.status_code == 200 and r.content == b"x" * (i * 1000)
    assert relay.connections == 1
    assert upstream.hit_ids()[:10:2] == ["0", "1", "2", "3", "4"]


def test_chunked_request_and_response_pass_through(client: httpx.Client) -> None:
    parts = [b"alpha-", b"", b"beta-" * 100, b"gamma"]
    r = client.post("/echo", content=iter(parts), headers={"content-type": "text/plain"})
    assert r.content == b"".join(parts)
    r = client.get("/chunked")
    assert r.headers["transfer-encoding"] == "chunked" and r.json() == ORDER


def test_sse_is_streamed_not_buffered(client: httpx.Client) -> None:
    with client.stream("GET", "/sse", params={"n": 40}) as r:
        first_at = None
        start = time.monotonic()
        events = []
        for line in r.iter_lines():
            if line.startswith("data:"):
                first_at = first_at or time.monotonic() - start
                events.append(json.loads(line[5:]))
        total = time.monotonic() - start
    assert [e["n"] for e in events] == list(range(40))
    # Functional, not a speed target: the upstream spaces events ~10 ms apart (~400 ms in all); a
    # buffering relay would deliver the first event only when the stream ends.
    assert first_at is not None and first_at < total / 2


def _raw_exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # our side is done: the relay sees EOF after the last request
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def test_malformed_client_http_gets_400_and_close(relay: RelayHost, client: httpx.Client) -> None:
    for garbage in (b"NOT HTTP AT ALL\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"GET / HTTP/1.1\r\nbad header line\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nContent-Length: zz\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n"):
        reply = _raw_exchange(relay.port, garbage)
        assert reply == b"" or reply.startswith(b"HTTP/1.1 400 "), (garbage, reply)
    # Half a head, then EOF: still a clean 400 for whoever reads, and the connection ends.
    assert _raw_exchange(relay.port, b"GET /order HTTP/1.1\r\nHost: x").startswith(b"HTTP/1.1 400 ")
    assert client.get("/order").json() == ORDER  # the proxy still serves


def test_http10_and_connection_close_end_the_connection(relay: RelayHost) -> None:
    reply = _raw_exchange(relay.port, b"GET /order HTTP/1.0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(json.dumps(ORDER, separators=(",", ":")).encode())
    reply = _raw_exchange(relay.port, b"GET /order HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")


def test_pipelined_requests(relay: RelayHost) -> None:
    req = b"GET /order HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = _raw_exchange(relay.port, req * 3 + b"GET /order HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.count(b"HTTP/1.1 200 OK") == 4


def test_upstream_closing_an_idle_connection_closes_the_client_side() -> None:
    """An upstream that answers once and then hangs up (no ``Connection: close``): the client must
    not reuse a connection whose upstream half is gone."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while b"\r\n\r\n" not in buf:
                    buf += conn.recv(4096)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with run_relay(srv.getsockname()[1]) as relay, \
                httpx.Client(base_url=f"http://127.0.0.1:{relay.port}", timeout=5) as c:
            for _ in range(3):
                assert c.get("/x").text == "ok"
                deadline = time.monotonic() + 5
                while relay.finished < relay.connections and time.monotonic() < deadline:
                    time.sleep(0.01)  # the relay noticed the upstream close and closed the client side
            assert relay.connections == 3
    finally:
        with contextlib.suppress(OSError):
            srv.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not)
        srv.close()
        thread.join(5)
