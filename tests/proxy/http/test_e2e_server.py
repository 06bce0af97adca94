"""End to end through the real proxy server process (``python -m harness.proxy``).

Toxics go in through the Toxiproxy-compatible API exactly as a user would add them; traffic is
driven with real httpx clients against the real upstream app.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.proxy.recorder import REDACTED, read_recording
from harness.system.ports import free_port
from tests.proxy.helpers import start_proxy_process, stop_process
from tests.proxy.http.upstream_app import ORDER, Upstream

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    port = free_port()
    proc = start_proxy_process(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@pytest.fixture
def api(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=10) as client:
        yield client
        for proxy in client.get("/proxies").json():
            client.delete(f"/proxies/{proxy}")


def make_proxy(api: httpx.Client, upstream: Upstream, name: str, **extra: object) -> str:
    listen = f"127.0.0.1:{free_port()}"
    r = api.post("/proxies", json={"name": name, "listen": listen,
                                   "upstream": f"127.0.0.1:{upstream.port}", **extra})
    assert r.status_code == 201, r.text
    return f"http://{r.json()['listen']}"


def add_toxic(api: httpx.Client, proxy: str, type_: str, **attributes: object) -> dict:
    r = api.post(f"/proxies/{proxy}/toxics", json={"type": type_, "ttl_s": 60, "attributes": attributes})
    assert r.status_code == 200, r.text
    return r.json()


def test_toxics_added_through_the_api_act_on_matching_requests(api: httpx.Client, upstream: Upstream) -> None:
    url = make_proxy(api, upstream, "agents")
    toxic = add_toxic(api, "agents", "http_status", jsonrpc_method="SendMessage", status=429,
                      headers={"Retry-After": "1"})
    assert toxic["type"] == "http_status" and toxic["attributes"]["status"] == 429
    add_toxic(api, "agents", "schema_drift", path="/order", pointer="/order/amount", op="retype", to="string")
    with httpx.Client(base_url=url, timeout=10) as c:
        for _ in range(3):  # keep-alive: toxics hit only matching requests on the same connection
            r = c.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage"})
            assert r.status_code == 429 and r.headers["retry-after"] == "1"
            assert c.post("/rpc", json={"jsonrpc": "2.0", "id": 2, "method": "GetTask"}).status_code == 200
            assert c.get("/order").json()["order"]["amount"] == "42"
    assert api.delete(f"/proxies/agents/toxics/{toxic['name']}").status_code == 204
    with httpx.Client(base_url=url, timeout=10) as c:
        assert c.post("/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage"}).status_code == 200


def test_bad_http_toxic_attributes_get_a_400_naming_the_attribute(api: httpx.Client, upstream: Upstream) -> None:
    make_proxy(api, upstream, "bad")
    for attrs, word in (({"status": 42}, "status"), ({"pointer": "nope"}, "pointer"), ({"zzz": 1}, "zzz")):
        type_ = "schema_drift" if "pointer" in attrs else "http_status"
        r = api.post("/proxies/bad/toxics", json={"type": type_, "attributes": attrs})
        assert r.status_code == 400 and word in r.text, r.text


def test_fail_first_n_and_stream_cut_through_the_server(api: httpx.Client, upstream: Upstream) -> None:
    url = make_proxy(api, upstream, "flaky")
    add_toxic(api, "flaky", "fail_first_n", path="/order", n=2, status=503)
    add_toxic(api, "flaky", "stream_cut", path="/sse", events=2)
    codes = []
    for _ in range(4):
        with httpx.Client(base_url=url, timeout=10) as c:
            codes.append(c.get("/order").status_code)
    assert codes == [503, 503, 200, 200]
    events = []
    with httpx.Client(base_url=url, timeout=10) as c, pytest.raises(httpx.RemoteProtocolError), \
            c.stream("GET", "/sse", params={"n": 8}) as r:
        events.extend(json.loads(line[5:])["n"] for line in r.iter_lines() if line.startswith("data:"))
    assert events == [0, 1]


def test_recording_through_the_server(api: httpx.Client, upstream: Upstream, tmp_path: Path) -> None:
    path = tmp_path / "agents.jsonl"
    url = make_proxy(api, upstream, "rec", record=str(path))
    add_toxic(api, "rec", "wrong_value", path="/order", pointer="/order/currency", value="USD")
    with httpx.Client(base_url=url, timeout=10, headers={"Authorization": "Bearer s3cr3t"}) as c:
        assert c.get("/order").json()["order"]["currency"] == "USD"
        assert c.post("/echo", json={"hello": "world"}).json() == {"hello": "world"}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not path.exists() or len(path.read_text().splitlines()) < 2):
        time.sleep(0.02)
    assert "s3cr3t" not in path.read_text()
    first, second = read_recording(path)
    assert first["proxy"] == "rec" and first["request"]["headers"]["authorization"] == REDACTED
    assert first["toxics"] == [{"name": "wrong_value_downstream", "type": "wrong_value"}]
    assert first["response"]["body"]["order"] == {**ORDER["order"], "currency": "USD"}
    assert second["request"]["body"] == {"hello": "world"} and second["toxics"] == []


def test_http_abort_with_reset_sends_rst_through_the_server(api: httpx.Client, upstream: Upstream) -> None:
    url = make_proxy(api, upstream, "rst")
    add_toxic(api, "rst", "http_abort", after_bytes=100, reset=True)
    host, port = url.removeprefix("http://").split(":")
    got = b""
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /blob?n=10000 HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            while chunk := sock.recv(65536):
                got += chunk
    assert got.partition(b"\r\n\r\n")[2] == bytes(i % 251 for i in range(100))
