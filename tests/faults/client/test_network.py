"""Network faults against the real embedded proxy server (a subprocess) and a real upstream."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from harness.errors import ConfigError, SafetyError
from harness.faults.base import FaultError
from harness.faults.catalog import build_fault, fault_from_ledger, fault_kind
from harness.faults.network import LEASE_S, ProxyDownFault, ToxicFault
from harness.model.scenario import FaultSpec, FaultTarget
from harness.model.system import SystemSpec
from harness.system.ports import free_port
from tests.faults.client._helpers import wait_for
from tests.faults.client.conftest import ProxyServer


def _system(api: str, proxy: str = "agent", allow: list[str] | None = None) -> SystemSpec:
    return SystemSpec.model_validate({
        "name": "s", "proxy": {"api_url": api},
        "safety": {"allow_targets": allow or []},
        "services": [
            {"name": "orch", "kind": "orchestrator", "protocol": "rest", "base_url": "http://127.0.0.1:1",
             "external": True},
            {"name": "agent", "kind": "agent", "protocol": "rest", "base_url": "http://127.0.0.1:2",
             "external": True},
        ],
        "edges": [{"caller": "orch", "callee": "agent", "proxy": proxy}],
    })


KINDS: list[tuple[str, dict[str, Any]]] = [
    ("latency", {"latency": 100, "jitter": 5}),
    ("bandwidth", {"rate": 64}),
    ("slow_close", {"delay": 10}),
    ("timeout", {"timeout": 100}),
    ("reset_peer", {"timeout": 10}),
    ("slicer", {"average_size": 8, "size_variation": 2, "delay": 10}),
    ("limit_data", {"bytes": 100}),
    ("http_status", {"status": 503}),
    ("http_delay", {"delay_ms": 50}),
    ("fail_first_n", {"n": 2}),
    ("json_truncate", {"fraction": 0.5}),
    ("http_abort", {"after_bytes": 10}),
    ("json_malform", {"mode": "html"}),
    ("schema_drift", {"pointer": "/a", "op": "rename", "to": "b"}),
    ("wrong_value", {"pointer": "/a", "value": 7}),
    ("stream_cut", {"events": 2}),
]


@pytest.mark.parametrize(("kind", "params"), KINDS, ids=[k for k, _ in KINDS])
def test_each_toxic_kind_reaches_the_proxy_api_with_its_ttl(proxy_server: ProxyServer, kind: str,
                                                            params: dict[str, Any]) -> None:
    proxy_server.create(name := proxy_server.new_name())
    stream = "downstream" if fault_kind(kind).family == "http" else "upstream"  # HTTP toxics act on responses
    spec = FaultSpec(type=kind, target=FaultTarget(edge="orch->agent"), stream=stream,
                     toxicity=0.75, params=params)
    fault = build_fault(spec, _system(proxy_server.api, name), fault_id=f"f-{kind}", ttl_s=42.5)
    assert isinstance(fault, ToxicFault)
    fault.inject()
    toxic = proxy_server.toxics(name)[f"f-{kind}"]
    assert toxic["type"] == kind and toxic["stream"] == stream and toxic["toxicity"] == 0.75
    assert toxic["ttl_s"] == LEASE_S and fault.server_enforces_ttl is True
    for key, value in params.items():
        assert toxic["attributes"][key] == value
    fault.inject()  # idempotent (409 from the server)
    assert list(proxy_server.toxics(name)) == [f"f-{kind}"]
    fault.revert()
    assert proxy_server.toxics(name) == {}
    fault.revert()  # idempotent (404 from the server)


def test_http_status_fault_is_seen_by_clients_and_gone_after_revert(proxy_server: ProxyServer) -> None:
    url = proxy_server.create(name := proxy_server.new_name())
    assert httpx.get(url).status_code == 200
    spec = FaultSpec(type="http_status", target=FaultTarget(edge="agent"), params={"status": 503})
    fault = build_fault(spec, _system(proxy_server.api, name), fault_id="s503", ttl_s=30)
    fault.inject()
    assert httpx.get(url).status_code == 503
    fault.revert()
    assert httpx.get(url).status_code == 200


def test_proxy_down_and_up(proxy_server: ProxyServer) -> None:
    url = proxy_server.create(name := proxy_server.new_name())
    spec = FaultSpec(type="down", target=FaultTarget(edge="orch->agent"))
    fault = build_fault(spec, _system(proxy_server.api, name), fault_id="down1", ttl_s=30)
    assert isinstance(fault, ProxyDownFault)
    entry = fault.ledger_entry()
    fault.inject()
    state = proxy_server.proxy(name)
    assert state["enabled"] is False and state["ttl_s"] == LEASE_S  # the lease; the session renews it up to 30 s
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)
    fault_from_ledger(entry).revert()  # as cleanup would, from another process
    assert proxy_server.proxy(name)["enabled"] is True
    assert httpx.get(url).status_code == 200
    fault.revert()


def test_reverting_an_expired_toxic_is_fine(proxy_server: ProxyServer) -> None:
    proxy_server.create(name := proxy_server.new_name())
    fault = ToxicFault(proxy_server.api, name, "latency", fault_id="short", ttl_s=1.0,
                       attributes={"latency": 10})
    fault.inject()
    assert "short" in proxy_server.toxics(name)
    assert wait_for(lambda: "short" not in proxy_server.toxics(name), timeout_s=5)
    fault.revert()


def test_api_errors_are_fault_errors(proxy_server: ProxyServer) -> None:
    proxy_server.create(name := proxy_server.new_name())
    with pytest.raises(FaultError, match="'ghost' not found"):
        ToxicFault(proxy_server.api, "ghost", "latency", fault_id="g", ttl_s=5).inject()
    with pytest.raises(FaultError, match="refused toxic 'latency' \\(400\\)"):
        ToxicFault(proxy_server.api, name, "latency", fault_id="b", ttl_s=5,
                   attributes={"latency": "slow"}).inject()
    with pytest.raises(FaultError, match="'ghost' not found"):
        ProxyDownFault(proxy_server.api, "ghost", fault_id="gd", ttl_s=5).inject()
    ProxyDownFault(proxy_server.api, "ghost", fault_id="gd", ttl_s=5).revert()  # gone: fine


def test_unreachable_api_is_a_fault_error() -> None:
    with socket.socket() as sock:  # a bound port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(FaultError, match="unreachable"):
            ToxicFault(f"http://127.0.0.1:{port}", "p", "latency", fault_id="u", ttl_s=5).inject()
        with pytest.raises(FaultError, match="unreachable"):
            ToxicFault(f"http://127.0.0.1:{port}", "p", "latency", fault_id="u", ttl_s=5).revert()


def test_registry_errors_name_the_field() -> None:
    system = _system(f"http://127.0.0.1:{free_port()}")
    bad = [
        (FaultSpec(type="latency", target=FaultTarget(edge="nowhere")), "target.edge", "unknown edge"),
        (FaultSpec(type="latency", target=FaultTarget(edge="agent"), params={"latncy": 1}),
         "params.latncy", "unknown attribute"),
        (FaultSpec(type="latency", target=FaultTarget(edge="agent"), params={"latency": -1}),
         "params.latency", "non-negative integer"),
        (FaultSpec(type="latency", target=FaultTarget(edge="agent"), params={"latency": 1.5}),
         "params.latency", "non-negative integer"),
        (FaultSpec(type="down", target=FaultTarget(edge="agent"), params={"x": 1}), "params.x", "no params"),
        (FaultSpec(type="http_status", target=FaultTarget(edge="agent"), params={"status": 999}),
         "params.status", "status"),
        (FaultSpec(type="http_status", target=FaultTarget(edge="agent"), stream="upstream"),
         "stream", "downstream"),
        (FaultSpec(type="kill", target=FaultTarget(service="ghost")), "target.service", "unknown service"),
        (FaultSpec(type="crash_orchestrator", target=FaultTarget(service="agent")), "target.service",
         "not the orchestrator"),
        (FaultSpec(type="pause", target=FaultTarget(service="agent"), params={"for": 1}), "params.for",
         "unknown param"),
    ]
    for spec, field, message in bad:
        with pytest.raises(ConfigError, match=message) as info:
            build_fault(spec, system, fault_id="x", ttl_s=10)
        assert info.value.field == field, (spec, str(info.value))
    no_proxy = SystemSpec.model_validate({**system.model_dump(), "edges": [{"caller": "orch", "callee": "agent"}]})
    with pytest.raises(ConfigError, match="has no proxy"):
        build_fault(FaultSpec(type="latency", target=FaultTarget(edge="agent")), no_proxy, fault_id="x",
                    ttl_s=10)


def test_registry_refuses_a_proxy_api_outside_the_allowlist() -> None:
    spec = FaultSpec(type="latency", target=FaultTarget(edge="agent"))
    with pytest.raises(SafetyError, match="allow_targets"):
        build_fault(spec, _system("http://toxiproxy.staging.example:8474"), fault_id="x", ttl_s=10)
    fault = build_fault(spec, _system("http://toxiproxy.staging.example:8474",
                                      allow=["toxiproxy.staging.example"]), fault_id="x", ttl_s=10)
    assert fault.ledger_entry()["api_url"] == "http://toxiproxy.staging.example:8474"


def test_a_stale_toxic_with_the_same_id_is_taken_over(proxy_server: ProxyServer) -> None:
    # fault ids repeat across runs: a dead run's toxic must not keep its old settings and TTL
    proxy_server.create(name := proxy_server.new_name())
    ToxicFault(proxy_server.api, name, "latency", fault_id="s1-r0-f0-latency", ttl_s=600,
               attributes={"latency": 900}).inject()
    fresh = ToxicFault(proxy_server.api, name, "latency", fault_id="s1-r0-f0-latency", ttl_s=12,
                       toxicity=0.5, attributes={"latency": 50})
    fresh.inject()
    toxic = proxy_server.toxics(name)["s1-r0-f0-latency"]
    assert toxic["attributes"]["latency"] == 50 and toxic["toxicity"] == 0.5 and toxic["ttl_s"] == LEASE_S
    fresh.revert()
    assert proxy_server.toxics(name) == {}


def test_secret_headers_in_toxic_attributes_stay_off_disk(proxy_server: ProxyServer, tmp_path: Any) -> None:
    from harness.faults.ledger import CleanupLedger
    from harness.faults.session import FaultSession

    proxy_server.create(name := proxy_server.new_name())
    fault = ToxicFault(proxy_server.api, name, "http_status", fault_id="sec", ttl_s=30,
                       attributes={"status": 401, "headers": {"Set-Cookie": "session=abc123",
                                                              "Retry-After": "1"}})
    ledger = CleanupLedger(tmp_path / "ledger.jsonl")
    with FaultSession(ledger, handle_signals=False) as session:
        session.inject(fault)
        # the server got the real header; the ledger and the journal description did not
        assert proxy_server.toxics(name)["sec"]["attributes"]["headers"]["Set-Cookie"] == "session=abc123"
        assert "abc123" not in (tmp_path / "ledger.jsonl").read_text()
        assert "abc123" not in str(fault.describe())
        assert "Retry-After" in (tmp_path / "ledger.jsonl").read_text()
    assert proxy_server.toxics(name) == {}
