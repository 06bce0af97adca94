"""Fixtures for the proxy core: the server as a real subprocess, small upstream servers on threads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from harness.system.ports import free_port
from tests.faults.proxy.helpers import ProxyApi, ThreadServer, bulk_handler, echo_handler


def start_proxy_process(port: int, *extra: str) -> subprocess.Popen[str]:
    """``python -m harness.faults.proxy`` on ``port``; returns once it printed its address."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.faults.proxy", "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"proxy did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc


def stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


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
