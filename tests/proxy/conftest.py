"""Fixtures for the proxy core: the server as a real subprocess, small upstream servers on threads."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness.system.ports import free_port
from tests.proxy.helpers import (
    ProxyApi,
    ThreadServer,
    bulk_handler,
    echo_handler,
    start_proxy_process,
    stop_process,
)


@pytest.fixture(scope="module")
def proxy_server() -> Iterator[str]:
    """API base URL of a proxy server process private to this test module (xdist-safe)."""
    port = free_port()
    proc = start_proxy_process(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@pytest.fixture
def api(proxy_server: str) -> Iterator[ProxyApi]:
    """A client for the module's server; deletes the proxies a test created."""
    client = ProxyApi(proxy_server)
    try:
        yield client
    finally:
        client.cleanup()


@pytest.fixture(scope="module")
def echo_server() -> Iterator[ThreadServer]:
    with ThreadServer(echo_handler) as server:
        yield server


@pytest.fixture(scope="module")
def bulk_server() -> Iterator[ThreadServer]:
    with ThreadServer(bulk_handler) as server:
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client
