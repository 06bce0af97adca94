"""A tiny asyncio listener that hands each connection to ``relay_http``: the proxy core's role,
reduced to what these tests need, so the HTTP layer is tested on real sockets on its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.proxy.http_toxics import relay_http
from harness.proxy.recorder import Recorder
from harness.proxy.types import ToxicView


@dataclass
class RelayHost:
    """Toxics and recorder are read per request, so tests change them between requests."""

    upstream_port: int
    views: list[ToxicView] = field(default_factory=list)
    recorder: Recorder | None = None
    connections: int = 0
    errors: list[BaseException] = field(default_factory=list)
    finished: int = 0
    port: int = 0

    def add(self, type_: str, name: str | None = None, toxicity: float = 1.0, **attributes: Any) -> ToxicView:
        from harness.proxy.http_toxics import validate_http_toxic

        view = ToxicView(name=name or f"{type_}_{len(self.views)}", type=type_, toxicity=toxicity,
                         attributes=validate_http_toxic(type_, attributes))
        self.views.append(view)
        return view

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            await relay_http(reader, writer, up_reader, up_writer, toxics=lambda: list(self.views),
                             recorder=self.recorder, proxy_name="test-proxy")
        except BaseException as exc:  # the relay promises not to raise: any escape is a test failure
            self.errors.append(exc)
            raise
        finally:
            self.finished += 1

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server


@contextmanager
def run_relay(upstream_port: int, recorder: Recorder | None = None) -> Iterator[RelayHost]:
    """Run a RelayHost on its own event loop thread (the tests drive it with sync httpx)."""
    host = RelayHost(upstream_port, recorder=recorder)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server = asyncio.run_coroutine_threadsafe(host.start(), loop).result(10)
    try:
        yield host
    finally:
        async def stop() -> None:
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        assert not [e for e in host.errors if not isinstance(e, asyncio.CancelledError)], host.errors
