"""The data path: one proxied TCP connection (a client socket, its upstream socket, two Flows).

A ``Connection`` owns the two sockets (protocols in :mod:`harness.proxy.sides`) and the two
directions (:class:`harness.proxy.flow.Flow`), decides which TCP toxics apply to it and when it
ends. Why protocols and not streams: a StreamReader/StreamWriter relay costs a task switch and
two buffer copies per chunk, which made a stream-based relay add 135-250 us per round trip
(benchmarks/bench_proxy.py measures it); a Flow writes straight into the other transport while
no toxic applies. Toxics added or removed while a connection is live take effect on the next
chunk, as in Toxiproxy.

HTTP mode: when the proxy is declared HTTP, records traffic or has an HTTP toxic at accept time,
both sockets get ``HttpSide`` protocols instead. Reads still go through the same Flows (so TCP
toxics apply underneath, on the bytes relay_http reads from either side), but a Flow's output
feeds a StreamReader that ``relay_http`` consumes; relay_http writes to the sockets through
StreamWriters and decides when the connection ends. Limitation: TCP toxics act on what
relay_http *reads*, so ``slicer`` slices its input and its output is re-chunked by it.

Directions use Toxiproxy's names: ``upstream`` is client -> server, ``downstream`` is
server -> client. Whether a toxic applies to a connection (``toxicity``) is rolled once
per connection and toxic (again when the toxic is updated), like Toxiproxy's links.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from typing import TYPE_CHECKING, Any

from harness.proxy.flow import Flow
from harness.proxy.http_parse import WatchedReader
from harness.proxy.http_relay import relay_http
from harness.proxy.sides import HttpSide, Side, SideBase
from harness.proxy.toxics import STAGES, Stage

if TYPE_CHECKING:
    from harness.proxy.registry import Proxy, Toxic

log = logging.getLogger(__name__)


class _Roll:
    """What one connection drew for one toxic generation: its stage, or the direction it blocks."""

    __slots__ = ("blocks", "generation", "stage")

    def __init__(self, generation: int, stage: Stage | None, blocks: str | None) -> None:
        self.generation, self.stage, self.blocks = generation, stage, blocks


class Connection:
    """A client connection and its upstream connection, plus the toxics applied to them."""

    def __init__(self, proxy: Proxy, loop: asyncio.AbstractEventLoop) -> None:
        self.proxy, self.loop = proxy, loop
        self.up = Flow(self, "upstream")
        self.down = Flow(self, "downstream")
        self.client: Any = None  # the accepted socket's protocol, set by its constructor
        self.server: Any = None
        self.http = False  # relayed request by request by relay_http (HTTP mode)
        self.task: asyncio.Task[None] | None = None
        self.closed = False
        self._rolls: dict[int, _Roll] = {}  # toxic id -> what this connection rolled for it
        self._timers: dict[int, asyncio.TimerHandle] = {}

    def peer_of(self, side: SideBase) -> Any:
        return self.server if side is self.client else self.client

    async def connect_upstream(self) -> None:
        """Open the upstream socket; until then the client is not read (see ClientSide)."""
        host, port = self.proxy.upstream_hostport()
        factory = HttpSide if self.http else Side
        try:
            _, server = await self.loop.create_connection(lambda: factory(self, self.down), host, port)
        except (OSError, asyncio.CancelledError):
            self.close()
            return
        if self.closed:
            if server.transport is not None:
                server.transport.close()
            return
        self.server = server
        self.up.dst = server
        self.down.src = server
        if self.http:
            self._start_http(server)
        self.sync_toxics(self.proxy.tcp_toxics())
        self.client.set_paused("connect", False)

    def _start_http(self, server: HttpSide) -> None:
        writers = []
        for flow, side in ((self.up, self.client), (self.down, server)):
            reader = WatchedReader(limit=1 << 20)
            reader.set_transport(side.transport)  # its back-pressure pauses the socket it came from
            flow.reader = reader
            writers.append(asyncio.StreamWriter(side.transport, side, reader, self.loop))
        # client_writer writes to the client socket, upstream_writer to the server socket
        assert self.up.reader is not None and self.down.reader is not None
        self.task = self.loop.create_task(self._run_http(self.up.reader, writers[0], self.down.reader, writers[1]))

    async def _run_http(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                        upstream_reader: asyncio.StreamReader, upstream_writer: asyncio.StreamWriter) -> None:
        try:
            await relay_http(client_reader, client_writer, upstream_reader, upstream_writer,
                            toxics=self.proxy.http_views, recorder=self.proxy.recorder,
                            proxy_name=self.proxy.name)
        except Exception:
            log.exception("HTTP relay failed on proxy %s", self.proxy.name)
        finally:
            self.close()

    def sync_toxics(self, toxics: list[Toxic]) -> None:
        """Apply the proxy's current TCP toxics to this live connection."""
        if self.closed or self.server is None:
            return
        seen: set[int] = set()
        for toxic in toxics:
            seen.add(toxic.id)
            prev = self._rolls.get(toxic.id)
            if prev is not None and prev.generation == toxic.generation:
                continue
            if prev is not None:
                self._drop(toxic.id)
            hit = toxic.view.toxicity >= 1.0 or random.random() < toxic.view.toxicity
            stage: Stage | None = None
            if hit and toxic.view.type in STAGES:
                stage = STAGES[toxic.view.type](toxic.view.attributes, self)
            roll = _Roll(toxic.generation, stage, None)
            self._rolls[toxic.id] = roll
            if hit and toxic.view.type == "timeout":
                roll.blocks = toxic.view.stream
                flow = self.flow(toxic.view.stream)
                flow.blocked += 1
                flow.unblocked.clear()
                ms = toxic.view.attributes["timeout"]
                if ms > 0:
                    self._timers[toxic.id] = self.loop.call_later(ms / 1000.0, self.close)
        for tid in [t for t in self._rolls if t not in seen]:
            self._drop(tid)
        by_dir: dict[str, list[Stage]] = {"upstream": [], "downstream": []}
        for toxic in toxics:  # in the order they were added: the chain order, as in Toxiproxy
            stage = self._rolls[toxic.id].stage
            if stage is not None:
                by_dir[toxic.view.stream].append(stage)
        for flow in (self.up, self.down):
            flow.stages = by_dir[flow.name]
            flow.refresh()
            if (flow.queue or (flow.eof and not flow.done)) and flow.pump is None:
                flow._kick()

    def _drop(self, tid: int) -> None:
        roll = self._rolls.pop(tid)
        if roll.stage is not None:
            roll.stage.remove()
        timer = self._timers.pop(tid, None)
        if timer is not None:
            timer.cancel()
        if roll.blocks is not None:
            flow = self.flow(roll.blocks)
            flow.blocked -= 1
            if flow.blocked == 0:
                flow.unblocked.set()

    def flow(self, stream: str) -> Flow:
        return self.up if stream == "upstream" else self.down

    def side_lost(self, side: SideBase) -> None:
        # A socket died (RST, or closed under us): the other side gets what is queued, then EOF.
        if side is self.client:
            self.up.feed_eof()
        else:
            self.down.feed_eof()
        self.maybe_done()

    def maybe_done(self) -> None:
        """Close once both directions ended, or a dead socket's peer got everything queued for it.

        In HTTP mode relay_http owns the connection's end (it may still be writing a response).
        """
        if self.http:
            return
        client_gone = self.client.transport is None
        server_gone = self.server is None or self.server.transport is None
        if (self.up.done and self.down.done) or (client_gone and self.up.done) or \
                (server_gone and self.down.done):
            self.close()

    def close(self) -> None:
        """Close both sockets gracefully (FIN after buffered data)."""
        self._shutdown(reset=False)

    def reset(self) -> None:
        """Close both sockets with RST (SO_LINGER 0), as Toxiproxy's reset_peer does."""
        self._shutdown(reset=True)

    def _shutdown(self, reset: bool) -> None:
        if self.closed:
            return
        self.closed = True
        for tid in list(self._rolls):
            self._drop(tid)
        for side in (self.client, self.server):
            transport = side.transport if side is not None else None
            if transport is None:
                continue
            if reset:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            else:
                transport.close()
        for flow in (self.up, self.down):
            flow.unblocked.set()
            if flow.pump is not None and flow.pump is not asyncio.current_task():
                flow.pump.cancel()
            if flow.reader is not None:
                flow.reader.feed_eof()
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        self.proxy.connection_closed(self)


class ClientSide(Side):
    """The accepted socket of a byte-relayed connection; starts the upstream connect."""

    def __init__(self, proxy: Proxy) -> None:
        conn = Connection(proxy, asyncio.get_running_loop())
        super().__init__(conn, conn.up)
        _attach_client(conn, self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        _client_connected(self)


class HttpClientSide(HttpSide):
    """The accepted socket of a connection relayed by ``relay_http``."""

    def __init__(self, proxy: Proxy) -> None:
        conn = Connection(proxy, asyncio.get_running_loop())
        conn.http = True
        super().__init__(conn, conn.up)
        _attach_client(conn, self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        _client_connected(self)


def _attach_client(conn: Connection, side: Any) -> None:
    conn.client = side
    conn.up.src = side
    conn.down.dst = side


def _client_connected(side: Any) -> None:
    side.set_paused("connect", True)  # nothing is read before the upstream socket exists
    # uvloop starts reading right after connection_made, undoing a pause made inside it; data
    # that slips through meanwhile just waits in the Flow's queue.
    side.conn.loop.call_soon(side.reassert_pause)
    side.conn.proxy.connection_opened(side.conn)
    side.conn.proxy.spawn(side.conn.connect_upstream())
