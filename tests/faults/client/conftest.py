"""Fixtures: the real embedded proxy server and a real upstream HTTP server, as subprocesses."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from harness.system.ports import free_port
from tests.faults.client._helpers import ROOT, kill_tree, wait_http


@dataclass
class ProxyServer:
    api: str
    upstream_port: int
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def new_name(self) -> str:
        """A proxy name no other test in this module uses (the server is shared)."""
        return f"agent{next(self._ids)}"

    def create(self, name: str) -> str:
        """Create a proxy to the upstream; returns its base URL."""
        listen = f"127.0.0.1:{free_port()}"
        resp = httpx.post(f"{self.api}/proxies", json={"name": name, "listen": listen,
                                                      "upstream": f"127.0.0.1:{self.upstream_port}"})
        assert resp.status_code == 201, resp.text
        return f"http://{resp.json()['listen']}/"

    def toxics(self, proxy: str) -> dict[str, dict]:
        resp = httpx.get(f"{self.api}/proxies/{proxy}/toxics")
        resp.raise_for_status()
        return {t["name"]: t for t in resp.json()}

    def proxy(self, name: str) -> dict:
        return httpx.get(f"{self.api}/proxies/{name}").json()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                            cwd=tmp_path_factory.mktemp("www"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        yield port
    finally:
        kill_tree(proc)


@pytest.fixture(scope="module")
def proxy_server(upstream: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyServer]:
    """One server per test module (starting it costs about a second); tests use their own proxies."""
    port = free_port()
    log = (tmp_path_factory.mktemp("proxy") / "proxy.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1",
                             "--port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/version", timeout_s=20)
        yield ProxyServer(f"http://127.0.0.1:{port}", upstream)
    finally:
        kill_tree(proc)
        log.close()
