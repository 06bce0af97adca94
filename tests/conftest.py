"""Shared fixtures. Heavy fixtures live in the per-layer conftest files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The suite runs under xdist beside real processes on 2 cores: generation speed and per-example
# time depend on the machine's load, not on the code, so neither may fail a property test.
settings.register_profile("harness", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("harness")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests save artifacts (screenshots, reports) that CI keeps."""
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # Loopback traffic must never be routed to an HTTP proxy from the environment.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    _ = os
