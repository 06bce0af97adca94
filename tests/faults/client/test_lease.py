"""The lease: network faults are injected with a short TTL that the live FaultSession renews.

Against the real embedded proxy server (a subprocess). The lease and the renewal period
are shortened here (1 s / 0.3 s) so the tests see several leases go by quickly.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from harness.faults import lease, network
from harness.faults.base import Fault
from harness.faults.ledger import CleanupLedger
from harness.faults.network import ProxyDownFault, ToxicFault
from harness.faults.session import FaultSession
from harness.system.ports import free_port
from tests.faults.client._helpers import wait_for
from tests.faults.client.conftest import ProxyServer

LEASE = 1.0


@pytest.fixture(autouse=True)
def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "LEASE_S", LEASE)
    monkeypatch.setattr(lease, "RENEW_EVERY_S", 0.3)


def _session(tmp_path: Path, errors: list[tuple[str, str]] | None = None) -> FaultSession:
    def record(fault: Fault, reason: str) -> None:
        if errors is not None:
            errors.append((fault.fault_id, reason))

    return FaultSession(CleanupLedger(tmp_path / "ledger.jsonl"), handle_signals=False, on_lease_error=record)


def test_the_session_keeps_faults_alive_past_their_lease(proxy_server: ProxyServer, tmp_path: Path) -> None:
    toxic_proxy, down_proxy = proxy_server.new_name(), proxy_server.new_name()
    proxy_server.create(toxic_proxy)
    down_url = proxy_server.create(down_proxy)
    toxic = ToxicFault(proxy_server.api, toxic_proxy, "latency", fault_id="lease-latency", ttl_s=60,
                       attributes={"latency": 10})
    down = ProxyDownFault(proxy_server.api, down_proxy, fault_id="lease-down", ttl_s=60)
    errors: list[tuple[str, str]] = []
    with _session(tmp_path, errors) as session:
        session.inject(toxic)
        session.inject(down)
        assert proxy_server.toxics(toxic_proxy)["lease-latency"]["ttl_s"] == LEASE  # short, on the server
        time.sleep(3 * LEASE)  # three leases: only the renewals keep them on
        assert "lease-latency" in proxy_server.toxics(toxic_proxy)
        assert proxy_server.proxy(down_proxy)["enabled"] is False
        with pytest.raises(httpx.ConnectError):
            httpx.get(down_url, timeout=1)
    assert errors == []
    assert proxy_server.toxics(toxic_proxy) == {} and proxy_server.proxy(down_proxy)["enabled"] is True


def test_without_a_session_the_lease_runs_out(proxy_server: ProxyServer) -> None:
    """Nobody renews: the server removes the toxic and brings the proxy back after one lease."""
    toxic_proxy, down_proxy = proxy_server.new_name(), proxy_server.new_name()
    proxy_server.create(toxic_proxy)
    proxy_server.create(down_proxy)
    toxic = ToxicFault(proxy_server.api, toxic_proxy, "latency", fault_id="orphan", ttl_s=60,
                       attributes={"latency": 10})
    down = ProxyDownFault(proxy_server.api, down_proxy, fault_id="orphan-down", ttl_s=60)
    toxic.inject()
    down.inject()
    assert wait_for(lambda: proxy_server.toxics(toxic_proxy) == {}
                    and proxy_server.proxy(down_proxy)["enabled"] is True, timeout_s=LEASE + 3)


def test_a_reverted_fault_is_not_renewed_back(proxy_server: ProxyServer, tmp_path: Path) -> None:
    down_proxy = proxy_server.new_name()
    proxy_server.create(down_proxy)
    down = ProxyDownFault(proxy_server.api, down_proxy, fault_id="rev-down", ttl_s=60)
    with _session(tmp_path) as session:
        session.inject(down)
        time.sleep(LEASE)
        session.revert(down)  # the planned revert, while the session lives on
        assert proxy_server.proxy(down_proxy)["enabled"] is True
        time.sleep(3 * 0.3)  # several renewal rounds
        assert proxy_server.proxy(down_proxy)["enabled"] is True and session.active == {}


def test_an_emergency_stop_wins_over_the_lease(proxy_server: ProxyServer, tmp_path: Path) -> None:
    """Someone removes the toxic and re-enables the proxy by hand: renewals must not undo that;
    each lost lease is reported once and the session carries on."""
    toxic_proxy, down_proxy = proxy_server.new_name(), proxy_server.new_name()
    proxy_server.create(toxic_proxy)
    proxy_server.create(down_proxy)
    errors: list[tuple[str, str]] = []
    with _session(tmp_path, errors) as session:
        session.inject(ToxicFault(proxy_server.api, toxic_proxy, "latency", fault_id="es-latency", ttl_s=60,
                                  attributes={"latency": 10}))
        session.inject(ProxyDownFault(proxy_server.api, down_proxy, fault_id="es-down", ttl_s=60))
        httpx.delete(f"{proxy_server.api}/proxies/{toxic_proxy}/toxics/es-latency").raise_for_status()
        httpx.post(f"{proxy_server.api}/proxies/{down_proxy}", json={"enabled": True}).raise_for_status()
        assert wait_for(lambda: len(errors) == 2, timeout_s=3)
        time.sleep(3 * 0.3)
        assert proxy_server.toxics(toxic_proxy) == {} and proxy_server.proxy(down_proxy)["enabled"] is True
        assert sorted(fid for fid, _ in errors) == ["es-down", "es-latency"]  # once each, not every round
        assert "gone" in dict(errors)["es-latency"] and "up again" in dict(errors)["es-down"]
    assert CleanupLedger(tmp_path / "ledger.jsonl").outstanding() == []


def test_an_unreachable_proxy_is_reported_once_and_not_fatal(proxy_server: ProxyServer, tmp_path: Path) -> None:
    toxic_proxy = proxy_server.new_name()
    proxy_server.create(toxic_proxy)
    toxic = ToxicFault(proxy_server.api, toxic_proxy, "latency", fault_id="unreach", ttl_s=60,
                       attributes={"latency": 10})
    errors: list[tuple[str, str]] = []
    with _session(tmp_path, errors) as session:
        session.inject(toxic)
        real_api, toxic.api_url = toxic.api_url, f"http://127.0.0.1:{free_port()}"  # nothing listens there
        assert wait_for(lambda: errors != [], timeout_s=3)
        time.sleep(3 * 0.3)
        assert [fid for fid, _ in errors] == ["unreach"] and "unreachable" in errors[0][1]
        toxic.api_url = real_api  # the proxy is back: the fault is reverted normally on exit
    assert proxy_server.toxics(toxic_proxy) == {}
