"""The plugin's fixtures as a user writes chaos tests with them (real sandbox, real proxy)."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.chaos, pytest.mark.slow]


def _toxics(system, proxy: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return httpx.get(f"{system.spec.proxy.api_url}/proxies/{proxy}", timeout=5).json()["toxics"]


def test_inject_fault_applies_and_always_reverts(harness_system, inject_fault, journal) -> None:  # type: ignore[no-untyped-def]
    health = harness_system.spec.service("orchestrator").health_url
    with inject_fault("latency", edge="risk", params={"latency": 300}) as fault:
        toxics = _toxics(harness_system, "risk")
        assert [t["type"] for t in toxics] == ["latency"] and toxics[0]["attributes"]["latency"] == 300
        assert httpx.get(health, timeout=5).status_code == 200
    assert _toxics(harness_system, "risk") == []
    with pytest.raises(RuntimeError), inject_fault("http_status", edge="intake", params={"status": 503}):
        assert _toxics(harness_system, "intake")
        raise RuntimeError("the test body failed")
    assert _toxics(harness_system, "intake") == [], "a failing test body must not leave the fault behind"
    kinds = [line for line in journal.path.read_text().splitlines()]
    assert sum('"fault_injected"' in k for k in kinds) == 2 and sum('"fault_reverted"' in k for k in kinds) == 2
    assert fault.fault_id.startswith("pytest-")
