"""The HTTP API: Toxiproxy's routes, JSON shapes, status codes and error bodies; fuzzed bad input."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.proxy.helpers import ProxyApi, ThreadServer, connect, round_trip


def _err(resp: httpx.Response, status: int, message: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == status
    assert message in body["error"], body


def test_proxy_crud_shapes_and_codes(api: ProxyApi, echo_server: ThreadServer) -> None:
    c = api.client
    upstream = f"127.0.0.1:{echo_server.port}"
    resp = c.post("/proxies", json={"name": "crud", "upstream": upstream, "listen": "127.0.0.1:0"})
    api.created.append("crud")
    assert resp.status_code == 201
    body = resp.json()
    assert list(body)[:5] == ["name", "listen", "upstream", "enabled", "toxics"]
    assert body["enabled"] is True and body["toxics"] == [] and body["upstream"] == upstream
    _err(c.post("/proxies", json={"name": "crud", "upstream": upstream}), 409, "proxy already exists")
    _err(c.post("/proxies", json={"upstream": upstream}), 400, "missing required field: name")
    _err(c.post("/proxies", json={"name": "x"}), 400, "missing required field: upstream")
    _err(c.get("/proxies/nope"), 404, "proxy not found")
    _err(c.delete("/proxies/nope"), 404, "proxy not found")
    assert c.get("/proxies").json()["crud"]["listen"] == body["listen"]
    assert c.get("/proxies/crud").json()["name"] == "crud"

    resp = c.post("/proxies/crud/toxics", json={"type": "latency", "attributes": {"latency": 5}})
    assert resp.status_code == 200
    assert resp.json() == {"attributes": {"latency": 5, "jitter": 0}, "name": "latency_downstream",
                           "type": "latency", "stream": "downstream", "toxicity": 1.0}
    c.post("/proxies/crud/toxics", json={"type": "bandwidth", "stream": "upstream", "name": "bw",
                                         "toxicity": 0.5, "attributes": {"rate": 100}})
    listed = c.get("/proxies/crud/toxics").json()
    assert [t["name"] for t in listed] == ["bw", "latency_downstream"]  # upstream chain first
    _err(c.post("/proxies/crud/toxics", json={"type": "latency"}), 409, "toxic already exists")
    _err(c.get("/proxies/crud/toxics/nope"), 404, "toxic not found")
    _err(c.delete("/proxies/crud/toxics/nope"), 404, "toxic not found")
    _err(c.post("/proxies/nope/toxics", json={"type": "latency"}), 404, "proxy not found")

    # Update merges attributes, as Toxiproxy decodes onto the existing toxic.
    resp = c.post("/proxies/crud/toxics/latency_downstream", json={"attributes": {"jitter": 2}})
    assert resp.status_code == 200
    assert resp.json()["attributes"] == {"latency": 5, "jitter": 2}
    resp = c.patch("/proxies/crud/toxics/bw", json={"toxicity": 1})
    assert resp.json()["toxicity"] == 1.0 and resp.json()["attributes"] == {"rate": 100}
    assert c.get("/proxies/crud").json()["metrics"]["active_toxics"] == 2

    assert c.delete("/proxies/crud/toxics/bw").status_code == 204
    assert c.post("/reset").status_code == 204
    assert c.get("/proxies/crud/toxics").json() == []
    assert c.delete("/proxies/crud").status_code == 204
    assert "crud" not in c.get("/proxies").json()


def test_proxy_update_moves_listener_and_upstream(api: ProxyApi, echo_server: ThreadServer) -> None:
    from harness.system.ports import free_port

    name, port = api.create(free_port())  # wrong upstream first
    new_port = free_port()
    resp = api.client.post(f"/proxies/{name}", json={"upstream": f"127.0.0.1:{echo_server.port}",
                                                     "listen": f"127.0.0.1:{new_port}"})
    assert resp.status_code == 200 and resp.json()["listen"] == f"127.0.0.1:{new_port}"
    with connect(new_port) as sock:
        round_trip(sock)
    with pytest.raises(ConnectionRefusedError):
        connect(port)


def test_listen_conflict_is_a_clean_error(api: ProxyApi, echo_server: ThreadServer) -> None:
    _, port = api.create(echo_server.port)
    resp = api.client.post("/proxies", json={"name": f"dup-{uuid.uuid4().hex[:6]}",
                                             "upstream": "127.0.0.1:1", "listen": f"127.0.0.1:{port}"})
    _err(resp, 409, "listen 127.0.0.1:")


def test_populate(api: ProxyApi, echo_server: ThreadServer) -> None:
    c = api.client
    upstream = f"127.0.0.1:{echo_server.port}"
    body = [{"name": "pop-a", "upstream": upstream}, {"name": "pop-b", "upstream": upstream, "enabled": False}]
    api.created += ["pop-a", "pop-b"]
    resp = c.post("/populate", json=body)
    assert resp.status_code == 201
    proxies = resp.json()["proxies"]
    assert [(p["name"], p["enabled"]) for p in proxies] == [("pop-a", True), ("pop-b", False)]
    listen_a = proxies[0]["listen"]
    # Same name, same listen and upstream: kept as is (not recreated).
    resp = c.post("/populate", json=[{"name": "pop-a", "upstream": upstream, "listen": listen_a}])
    assert resp.json()["proxies"][0]["listen"] == listen_a
    # Validation happens before any change: a bad entry leaves the collection untouched.
    resp = c.post("/populate", json=[{"name": "pop-c", "upstream": upstream}, {"name": "pop-d"}])
    _err(resp, 400, "missing required field: upstream at proxy 2")
    assert resp.json()["proxies"] == []
    assert "pop-c" not in c.get("/proxies").json()
    _err(c.post("/populate", json={"name": "x"}), 400, "bad request body")


@pytest.mark.parametrize(("body", "status", "message"), [
    ({"type": "nope"}, 400, "invalid toxic type"),
    ({}, 400, "invalid toxic type"),
    ({"type": "latency", "stream": "sideways"}, 400, "stream was invalid"),
    ({"type": "latency", "attributes": {"latency": "10"}}, 400, "attribute 'latency' must be an integer"),
    ({"type": "latency", "attributes": {"latency": -1}}, 400, "must be >= 0"),
    ({"type": "latency", "attributes": {"latnecy": 10}}, 400, "unknown attribute 'latnecy'"),
    ({"type": "latency", "attributes": [1]}, 400, "attributes must be a JSON object"),
    ({"type": "slicer", "attributes": {"average_size": 10, "size_variation": 10}}, 400, "size_variation"),
    ({"type": "latency", "toxicity": 2}, 400, "toxicity"),
    ({"type": "latency", "toxicity": "1"}, 400, "toxicity"),
    ({"type": "latency", "ttl_s": -1}, 400, "ttl_s"),
    ({"type": "latency", "ttl_s": "2"}, 400, "ttl_s"),
    ([], 400, "expected a JSON object"),
])
def test_bad_toxics(api: ProxyApi, echo_server: ThreadServer, body: Any, status: int, message: str) -> None:
    name, _ = api.create(echo_server.port)
    _err(api.client.post(f"/proxies/{name}/toxics", json=body), status, message)
    assert api.client.get(f"/proxies/{name}/toxics").json() == []


@pytest.mark.parametrize("raw", [b"", b"{", b"nul", b"\xff\xfe", b'{"name": "a", "upstream": }'])
def test_malformed_json(api: ProxyApi, raw: bytes) -> None:
    for path in ("/proxies", "/populate"):
        _err(api.client.post(path, content=raw), 400, "bad request body")


def test_version_metrics_and_unknown_routes(api: ProxyApi) -> None:
    c = api.client
    assert c.get("/version").json()["version"].startswith("2.")
    assert isinstance(c.get("/metrics").json()["proxies"], dict)
    _err(c.get("/nothing/here"), 404, "not found")
    _err(c.put("/proxies"), 405, "method not allowed")
    resp = c.get("/proxies", headers={"User-Agent": "Mozilla/5.0"})
    assert resp.status_code == 403  # Toxiproxy refuses browsers (CSRF protection)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)
TOXIC_TYPES = st.sampled_from(["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer",
                               "limit_data", "nope"])
TOXIC_BODY = st.fixed_dictionaries({}, optional={
    "name": st.text(max_size=10) | JSON, "type": TOXIC_TYPES | JSON,
    "stream": st.sampled_from(["upstream", "downstream", "x"]) | JSON,
    "toxicity": st.floats(-1, 2) | JSON, "ttl_s": st.floats(-5, 100) | JSON,
    "attributes": st.dictionaries(st.sampled_from(["latency", "jitter", "rate", "delay", "timeout", "bytes",
                                                   "average_size", "size_variation", "zzz"]),
                                  st.integers(-5, 10**6) | JSON, max_size=4) | JSON,
})
PROXY_BODY = st.fixed_dictionaries({}, optional={
    "name": st.text(max_size=10) | JSON, "upstream": st.just("127.0.0.1:1") | st.text(max_size=12) | JSON,
    "listen": st.just("127.0.0.1:0") | st.text(max_size=12) | JSON, "enabled": st.booleans() | JSON,
    "ttl_s": st.floats(-5, 100) | JSON, "record": st.none() | JSON,
})


def _check(resp: httpx.Response) -> None:
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        body = resp.json()
        assert body["status"] == resp.status_code and isinstance(body["error"], str)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=TOXIC_BODY, update=TOXIC_BODY)
def test_fuzz_toxic_api_never_500s(api: ProxyApi, echo_server: ThreadServer, body: Any, update: Any) -> None:
    if not api.created:
        api.create(echo_server.port, name=f"fz-{uuid.uuid4().hex[:6]}")
    name = api.created[0]
    resp = api.client.post(f"/proxies/{name}/toxics", json=body)
    _check(resp)
    if resp.status_code == 200:
        toxic = quote(resp.json()["name"], safe="")
        _check(api.client.post(f"/proxies/{name}/toxics/{toxic}", json=update))
        # a toxic with a short dead-man TTL may already have expired (its lease was never renewed)
        expiring = any(isinstance(d, dict) and isinstance(d.get("ttl_s"), int | float)
                       and not isinstance(d.get("ttl_s"), bool) and 0 < d["ttl_s"] < 30 for d in (body, update))
        assert api.client.delete(f"/proxies/{name}/toxics/{toxic}").status_code in ((204, 404) if expiring else (204,))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=PROXY_BODY | JSON, raw=st.binary(max_size=40))
def test_fuzz_proxy_api_never_500s(api: ProxyApi, body: Any, raw: bytes) -> None:
    resp = api.client.post("/proxies", json=body)
    _check(resp)
    if resp.status_code == 201:
        name = quote(resp.json()["name"], safe="")
        _check(api.client.post(f"/proxies/{name}", json=body))
        assert api.client.delete(f"/proxies/{name}").status_code == 204
    _check(api.client.post("/populate", json=[body]))
    for path in ("/proxies", "/populate", "/proxies/none/toxics"):
        _check(api.client.post(path, content=raw))
    for name in api.client.get("/proxies").json():  # leave nothing listening
        if name not in api.created:
            assert api.client.delete(f"/proxies/{quote(name, safe='')}").status_code == 204
    assert json.loads(api.client.get("/version").text)  # the server is still alive
