"""Bring up the parts of a ``system.yaml`` the harness is asked to supervise, for one run.

* Services with ``start:`` are started (each in its own process group, logs in the state
  dir) unless they already answer their health URL, in which case the harness attaches
  and leaves them alone. Started ones are stopped again on exit, and the supervisor is
  handed to the fault layer so kill/pause/restart work on them.
* ``proxy.embedded: true`` with an API that does not answer: the embedded proxy is
  started on the API's address and one proxy per edge is populated (``listen`` ->
  ``upstream``, HTTP-aware). A proxy API that answers (a real Toxiproxy, or one started
  by someone else) is used as is.
* ``external: true`` services are never started; process faults on them use the commands
  declared in ``system.yaml``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from harness.errors import ConfigError
from harness.model.system import SystemSpec
from harness.proxy.client import ProxyApiError, ProxyClient
from harness.system.supervisor import ProcessSpec, Supervisor

PROXY_PROCESS = "embedded-proxy"


def _answers(url: str | None) -> bool:
    if not url:
        return False
    try:
        return httpx.get(url, timeout=2.0, trust_env=False).is_success
    except httpx.HTTPError:
        return False


class SystemLauncher:
    """``with SystemLauncher(spec, path) as launcher: ... launcher.supervisor ...``"""

    def __init__(self, system: SystemSpec, system_path: Path | None = None, state_dir: Path | None = None) -> None:
        self.system = system
        self.base = system_path.resolve().parent if system_path else Path.cwd()
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="harness-system-"))
        self.supervisor: Supervisor | None = None
        self.started: list[str] = []

    def _spec(self, name: str) -> ProcessSpec:
        svc = self.system.service(name)
        assert svc.start is not None
        cwd = svc.start.cwd
        if cwd is not None and not Path(cwd).is_absolute():
            cwd = str(self.base / cwd)
        return ProcessSpec(name=name, argv=list(svc.start.command), health_url=svc.health_url, url=svc.base_url,
                           env=dict(svc.start.env), cwd=cwd or str(self.base),
                           ready_timeout_s=svc.start.ready_timeout_s)

    def _proxy_spec(self) -> ProcessSpec | None:
        api = self.system.proxy.api_url
        if not self.system.proxy.embedded or not any(e.proxy for e in self.system.edges):
            return None
        if _answers(f"{api.rstrip('/')}/version"):
            return None
        parts = urlsplit(api)
        if parts.hostname is None or parts.port is None:
            raise ConfigError(f"proxy.api_url {api!r} needs a host and a port to start the embedded proxy",
                              field="proxy.api_url")
        return ProcessSpec(name=PROXY_PROCESS, argv=[sys.executable, "-m", "harness.proxy",
                                                     "--host", parts.hostname, "--port", str(parts.port)],
                           health_url=f"{api.rstrip('/')}/version", ready_timeout_s=30)

    def _populate(self) -> None:
        body = []
        for edge in self.system.edges:
            if not edge.proxy:
                continue
            if not edge.listen or not edge.upstream:
                raise ConfigError(f"edge {edge.name} has a proxy but no listen/upstream address for it",
                                  field="edges")
            body.append({"name": edge.proxy, "listen": edge.listen, "upstream": edge.upstream,
                         "enabled": True, "http": True})
        with ProxyClient(self.system.proxy.api_url, timeout_s=10) as api:
            try:
                api.populate(body)
            except ProxyApiError as exc:
                raise ConfigError(f"the embedded proxy refused the edges: {exc}", field="edges") from None

    def __enter__(self) -> SystemLauncher:
        specs = []
        proxy = self._proxy_spec()
        if proxy is not None:
            specs.append(proxy)
        for svc in self.system.services:
            if svc.start is not None and not _answers(svc.health_url):
                specs.append(self._spec(svc.name))
        if specs:
            self.supervisor = Supervisor(self.state_dir)
            try:
                self.supervisor.start_many(specs)
            except BaseException:
                self.supervisor.stop_all()
                raise
            self.started = [s.name for s in specs]
        if proxy is not None:
            self._populate()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.supervisor is not None:
            self.supervisor.stop_all()
