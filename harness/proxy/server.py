"""Run the embedded proxy: API server + registry on one event loop.

Three ways in, all sharing ``ProxyServer``:
- ``python -m harness.proxy --port P`` / ``harness proxy serve`` -> ``run()``
  (blocking, prints where it listens, clean shutdown on SIGTERM/SIGINT);
- ``async with ProxyServer(...)`` inside an existing loop;
- ``BackgroundProxy`` for synchronous callers (tests, the engine): its own thread and loop.

uvloop is used when available: it roughly halves the per-chunk cost of the relay
(measured by ``python -m benchmarks proxy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.proxy.registry import ApiError, Registry

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class ProxyServer:
    """The Toxiproxy-compatible API plus all proxies it manages."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8474) -> None:
        self.host, self.port = host, port
        self.registry = Registry()
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def api_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind the API socket and serve it in the background of the running loop."""
        import uvicorn

        from harness.proxy.api import build_app

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                              field="--port") from None
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(build_app(self.registry), log_level="warning", lifespan="off",
                                access_log=False, timeout_graceful_shutdown=1)
        self._server = _server_class()(config)
        self._task = asyncio.get_running_loop().create_task(self._serve(sock))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)

    async def _serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._server.serve(sockets=[sock])

    async def populate_file(self, path: Path) -> int:
        """Create the proxies listed in a Toxiproxy config file (a JSON array); returns the count."""
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
        except ValueError as exc:
            raise ConfigError(f"not valid JSON: {exc}", path=str(path)) from None
        try:
            return len(await self.registry.populate(data))
        except ApiError as exc:
            raise ConfigError(exc.message, path=str(path)) from None

    async def stop(self) -> None:
        """Close every proxy and connection, then the API."""
        await self.registry.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 3.0)

    async def __aenter__(self) -> ProxyServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _server_class() -> Any:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """uvicorn without its signal capture: run() owns SIGTERM/SIGINT and stops us via should_exit."""

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            yield

    return QuietServer


def check_api_host(host: str, allow_public: bool) -> None:
    """The admin API stays on loopback unless the caller explicitly asked otherwise."""
    if host not in LOOPBACK and not allow_public:
        raise ConfigError(f"refusing to expose the proxy API on {host}; it accepts unauthenticated "
                          "fault injection. Use --api-host explicitly to allow it", field="--host")


def new_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when available (faster relay), else the default asyncio loop.

    ``HARNESS_PROXY_LOOP=asyncio`` forces the stdlib loop (the benchmark compares both).
    """
    if os.environ.get("HARNESS_PROXY_LOOP") == "asyncio":
        return asyncio.new_event_loop()
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(host: str = "127.0.0.1", port: int = 8474, config: Path | None = None,
        ready: Any = print) -> None:
    """Serve until SIGTERM/SIGINT. ``ready`` receives the line announcing the API address."""
    loop = new_loop()
    asyncio.set_event_loop(loop)

    async def main() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        server = ProxyServer(host, port)
        await server.start()
        try:
            if config is not None:
                count = await server.populate_file(config)
                ready(f"populated {count} proxies from {config}")
            ready(f"harness proxy API listening on {server.api_url}")
            await stop.wait()
        finally:
            await server.stop()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        asyncio.set_event_loop(None)


class BackgroundProxy:
    """A ProxyServer on its own thread and loop, for synchronous code. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.server = ProxyServer(host, port)
        self._loop = new_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="harness-proxy", daemon=True)

    @property
    def api_url(self) -> str:
        return self.server.api_url

    def call(self, coro: Any, timeout: float = 10.0) -> Any:
        """Run a coroutine on the proxy's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> BackgroundProxy:
        self._thread.start()
        self.call(self.server.start())
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):
            self.call(self.server.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> BackgroundProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
