"""Each HTTP toxic against a real HTTP server through the relay, with real httpx clients."""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest

from tests.proxy.http.relay_host import RelayHost, run_relay
from tests.proxy.http.upstream_app import ORDER, Upstream


def rpc(method: str, params: dict | None = None, id_: int = 1) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}}


def test_http_status_hits_only_matching_requests_and_keeps_the_connection(
        client: httpx.Client, relay: RelayHost, upstream: Upstream) -> None:
    relay.add("http_status", path="/orders/*", status=503, headers={"Retry-After": "1"},
              body={"error": "overloaded"})
    for i in range(3):
        r = client.post(f"/orders/{i}", content=b"y" * 5000, headers={"x-test-id": f"hit{i}"})
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json() == {"error": "overloaded"}
        assert client.get("/order", headers={"x-test-id": f"miss{i}"}).json() == ORDER
    assert relay.connections == 1  # the drained request bodies kept keep-alive working
    assert upstream.hit_ids() == ["miss0", "miss1", "miss2"]  # answered without calling upstream


def test_match_by_method(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("http_status", method="post", status=418)
    assert client.get("/order").status_code == 200
    assert client.post("/echo", content=b"1").status_code == 418
    assert client.put("/echo", content=b"1").status_code == 200


def test_match_by_jsonrpc_method_including_batches(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("http_status", jsonrpc_method="SendMessage", status=429, headers={"Retry-After": "2"})
    assert client.post("/rpc", json=rpc("SendMessage")).status_code == 429
    assert client.post("/rpc", json=rpc("GetTask")).json()["result"]["method"] == "GetTask"
    batch = [rpc("GetTask"), rpc("SendMessage", id_=2)]
    assert client.post("/rpc", json=batch).status_code == 429
    assert client.post("/rpc", content=b"not json").status_code != 429


def test_match_by_mcp_tool_name(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("http_status", tool="issue_*", status=500)
    call = rpc("tools/call", {"name": "issue_payout", "arguments": {"amount": 5}})
    assert client.post("/rpc", json=call).status_code == 500
    other = rpc("tools/call", {"name": "lookup_order", "arguments": {}})
    assert client.post("/rpc", json=other).status_code == 200
    assert client.post("/rpc", json=rpc("tools/list")).status_code == 200


def test_body_matchers_on_a_chunked_request(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("http_status", jsonrpc_method="SendMessage", status=503)
    body = json.dumps(rpc("SendMessage")).encode()
    r = client.post("/rpc", content=iter([body[:10], body[10:]]), headers={"content-type": "application/json"})
    assert r.status_code == 503
    body = json.dumps(rpc("GetTask")).encode()
    r = client.post("/rpc", content=iter([body[:10], body[10:]]), headers={"content-type": "application/json"})
    assert r.json()["result"]["method"] == "GetTask"


def test_http_abort_before_headers(client: httpx.Client, relay: RelayHost, upstream: Upstream) -> None:
    relay.add("http_abort", path="/order")
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/order", headers={"x-test-id": "aborted"})
    assert "aborted" in upstream.hit_ids()  # the request reached the upstream; its answer was lost
    assert client.post("/echo", content=b"ok").content == b"ok"  # new connection, unaffected path


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except ConnectionResetError:
            out += b"<RST>"
        return out


@pytest.mark.parametrize("reset", [False, True])
def test_http_abort_after_bytes_cuts_at_the_byte(relay: RelayHost, reset: bool) -> None:
    relay.add("http_abort", after_bytes=300, reset=reset)
    out = _raw(relay.port, b"GET /blob?n=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
    if reset:
        assert out.endswith(b"<RST>")
        out = out[:-5]
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"content-length: 5000" in head.lower()
    assert body == bytes(i % 251 for i in range(300))


def test_http_delay_applies_per_matching_request(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("http_delay", path="/order", delay_ms=1000)
    start = time.monotonic()
    assert client.get("/order").json() == ORDER
    delayed = time.monotonic() - start
    start = time.monotonic()
    assert client.post("/echo", content=b"x").content == b"x"
    undelayed = time.monotonic() - start
    assert delayed >= 1.0
    assert undelayed < 1.0  # functional: the unmatched request does not wait for the delay


@pytest.mark.parametrize("path", ["/order", "/chunked"])
def test_json_truncate_fixes_content_length(client: httpx.Client, relay: RelayHost, path: str) -> None:
    full = json.dumps(ORDER).encode()
    relay.add("json_truncate", fraction=0.5)
    r = client.get(path)  # no protocol error: Content-Length matches the cut body
    assert r.status_code == 200 and int(r.headers["content-length"]) == len(r.content)
    assert 0 < len(r.content) < len(full)
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    relay.views.clear()
    relay.add("json_truncate", bytes=10)
    assert len(client.get(path).content) == 10
    assert relay.connections == 1


@pytest.mark.parametrize("mode", ["trailing_garbage", "drop_closing", "html"])
def test_json_malform_modes(client: httpx.Client, relay: RelayHost, mode: str) -> None:
    relay.add("json_malform", mode=mode, path="/rpc")
    r = client.post("/rpc", json=rpc("GetTask"))
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    assert client.get("/order").json() == ORDER


def test_schema_drift_remove_rename_retype(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("schema_drift", path="/order", pointer="/order/currency", op="remove")
    relay.add("schema_drift", path="/order", pointer="/order/items/*/sku", op="rename", to="SKU")
    relay.add("schema_drift", path="/order", pointer="/order/amount", op="retype", to="string")
    doc = client.get("/order").json()
    assert "currency" not in doc["order"]
    assert [set(i) for i in doc["order"]["items"]] == [{"SKU", "qty"}] * 2
    assert doc["order"]["amount"] == "42"
    relay.views.clear()
    relay.add("schema_drift", jsonrpc_method="SendMessage", pointer="/result/status", op="remove")
    assert "status" not in client.post("/rpc", json=rpc("SendMessage")).json()["result"]
    assert client.post("/rpc", json=rpc("GetTask")).json()["result"]["status"] == "completed"


def test_wrong_value_keeps_type_changes_value(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("wrong_value", path="/order", pointer="/order/id")
    relay.add("wrong_value", path="/order", pointer="/order/amount")
    relay.add("wrong_value", path="/order", pointer="/order/paid")
    relay.add("wrong_value", tool="issue_payout", pointer="/result/amount", value=1000000)
    doc = client.get("/order").json()["order"]
    assert isinstance(doc["id"], str) and len(doc["id"]) == len("ord-7f3a") and doc["id"] != "ord-7f3a"
    assert doc["amount"] != 42 and isinstance(doc["amount"], int)
    assert doc["paid"] is True
    call = rpc("tools/call", {"name": "issue_payout"})
    assert client.post("/rpc", json=call).json()["result"]["amount"] == 1000000


def test_fail_first_n_counts_across_connections(relay: RelayHost, upstream: Upstream) -> None:
    relay.add("fail_first_n", n=3, path="/order", status=502)
    codes = []
    for _ in range(5):  # a new client, so a new connection, each time
        with httpx.Client(base_url=f"http://127.0.0.1:{relay.port}") as c:
            codes.append(c.get("/order").status_code)
    assert codes == [502, 502, 502, 200, 200]
    assert relay.connections == 5


def test_stream_cut_after_sse_events(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("stream_cut", path="/sse", events=3)
    events = []
    with pytest.raises(httpx.RemoteProtocolError), client.stream("GET", "/sse", params={"n": 10}) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:])["n"])
    assert events == [0, 1, 2]


def test_stream_cut_bytes_on_a_chunked_response(relay: RelayHost) -> None:
    relay.add("stream_cut", bytes=20)
    out = _raw(relay.port, b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    payload, rest = b"", body
    while rest:  # decode the chunks that did arrive; the terminating 0-chunk must be missing
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        assert size > 0
        payload, rest = payload + rest[:size], rest[size + 2:]
    assert payload == json.dumps(ORDER).encode()[:20]


def test_toxicity_and_probability_hit_about_the_right_share(relay: RelayHost) -> None:
    relay.add("http_status", toxicity=0.5, probability=0.5, status=503)
    with httpx.Client(base_url=f"http://127.0.0.1:{relay.port}") as c:
        hits = sum(c.get("/order").status_code == 503 for _ in range(400))
    # p = 0.25 over 400 requests: mean 100, sd 8.7; +-40 is over 4.5 sd.
    assert 60 <= hits <= 140, hits


def test_toxic_removed_mid_connection_stops_applying(client: httpx.Client, relay: RelayHost) -> None:
    relay.add("http_status", status=500)
    assert client.get("/order").status_code == 500
    relay.views.clear()
    assert client.get("/order").status_code == 200
    assert relay.connections == 1


def test_body_rewrite_reads_a_gzip_body_and_asks_upstream_for_identity(client: httpx.Client,
                                                                      relay: RelayHost) -> None:
    r = client.get("/gz")  # no toxic: the compressed body passes through as sent
    assert r.headers["content-encoding"] == "gzip" and r.json()["accept_encoding"].startswith("gzip")
    relay.add("wrong_value", path="/gz", pointer="/order/amount", value=-1)
    r = client.get("/gz")
    assert "content-encoding" not in r.headers
    doc = r.json()
    assert doc["order"]["amount"] == -1 and doc["accept_encoding"] == "identity"


def test_expect_100_continue_is_answered_by_the_relay(relay: RelayHost) -> None:
    relay.add("http_status", jsonrpc_method="never")  # forces the relay to read request bodies itself
    with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        reply = b""
        while not reply.endswith(b"hello"):
            reply += sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"100 Continue" not in reply  # the upstream never saw Expect, so sent no second interim


def test_101_switching_protocols_becomes_a_byte_pipe() -> None:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += conn.recv(4096)
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
            while data := conn.recv(4096):
                conn.sendall(data.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with run_relay(srv.getsockname()[1]) as relay, \
                socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
            sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(4096)
            assert head.startswith(b"HTTP/1.1 101 ")
            sock.sendall(b"not http at all\r\n\r\n")
            got = b""
            while len(got) < 19:
                got += sock.recv(4096)
            assert got == b"NOT HTTP AT ALL\r\n\r\n"
    finally:
        srv.close()
        thread.join(5)
