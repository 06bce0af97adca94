"""Fixtures: a real upstream HTTP server and the relay in front of it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.proxy.http.relay_host import RelayHost, run_relay
from tests.proxy.http.upstream_app import Upstream, run_upstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with run_upstream() as up:
        yield up


@pytest.fixture
def relay(upstream: Upstream) -> Iterator[RelayHost]:
    upstream.hits.clear()
    with run_relay(upstream.port) as host:
        yield host


@pytest.fixture
def client(relay: RelayHost) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{relay.port}", timeout=10) as c:
        yield c
