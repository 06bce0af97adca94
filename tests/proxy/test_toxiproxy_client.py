"""The unmodified ``toxiproxy-python`` client from PyPI drives the embedded server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from tests.proxy.helpers import ThreadServer, connect, round_trip


@pytest.fixture
def toxiproxy(proxy_server: str) -> Iterator[Toxiproxy]:
    host, port = proxy_server.removeprefix("http://").rsplit(":", 1)
    server = Toxiproxy()
    server.update_api_consumer(host, int(port))
    try:
        yield server
    finally:
        server.destroy_all()


def test_client_lifecycle(toxiproxy: Toxiproxy, echo_server: ThreadServer) -> None:
    assert toxiproxy.running()
    assert b"version" in toxiproxy.version()
    proxy = toxiproxy.create(upstream=f"127.0.0.1:{echo_server.port}", name="echo")
    assert proxy.enabled is True
    host, port = proxy.listen.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert set(toxiproxy.proxies()) == {"echo"}
    assert toxiproxy.get_proxy("echo").upstream == f"127.0.0.1:{echo_server.port}"

    with pytest.raises(ProxyExists):
        toxiproxy.create(upstream=f"127.0.0.1:{echo_server.port}", name="echo")
    with pytest.raises(ProxyExists):  # the server's own 409, bypassing the client's pre-check
        APIConsumer.post("/proxies", json={"name": "echo", "upstream": "127.0.0.1:1"})

    proxy.add_toxic(type="latency", attributes={"latency": 40})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream"}
    toxic = toxics["latency_downstream"]
    assert (toxic.type, toxic.stream, toxic.toxicity) == ("latency", "downstream", 1.0)
    assert toxic.attributes == {"latency": 40, "jitter": 0}
    with connect(int(port)) as sock:
        assert round_trip(sock) >= 0.038
        assert proxy.destroy_toxic("latency_downstream")
        assert proxy.get_toxic("latency_downstream") is None
        assert round_trip(sock) < 0.03

    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="no_such_toxic")
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="timeout", name="t", attributes={"timeout": 0})
        proxy.add_toxic(type="timeout", name="t", attributes={"timeout": 0})
    with pytest.raises(NotFound):
        APIConsumer.get("/proxies/missing")

    with proxy.down():
        with pytest.raises(ConnectionRefusedError):
            connect(int(port))
        assert toxiproxy.get_proxy("echo").enabled is False
    assert toxiproxy.get_proxy("echo").enabled is True
    with connect(int(port)) as sock:
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):  # the timeout toxic "t" still holds data
            round_trip(sock)

    assert toxiproxy.reset()
    assert proxy.toxics() == {}
    with connect(int(port)) as sock:
        assert round_trip(sock) < 0.03
    assert proxy.destroy()
    assert toxiproxy.proxies() == {}


def test_client_populate(toxiproxy: Toxiproxy, echo_server: ThreadServer) -> None:
    upstream = f"127.0.0.1:{echo_server.port}"
    created = toxiproxy.populate([{"name": "a", "upstream": upstream, "listen": "127.0.0.1:0"},
                                  {"name": "b", "upstream": upstream, "listen": "127.0.0.1:0"}])
    assert sorted(p.name for p in created) == ["a", "b"]
    for proxy in created:
        with connect(int(proxy.listen.rsplit(":", 1)[1])) as sock:
            round_trip(sock)
    assert set(toxiproxy.proxies()) == {"a", "b"}
