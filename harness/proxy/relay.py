"""The data path: one proxied TCP connection, relayed with asyncio protocols.

Why protocols and not streams: a StreamReader/StreamWriter relay costs a task switch and
two buffer copies per chunk, which made a stream-based relay add 135-250 us per round trip
(benchmarks/bench_proxy.py measures it). Here ``data_received`` on one socket writes
straight into the other transport when the direction has no active toxic (the *fast path*), with the usual
pause/resume flow control between the two transports. As soon as a toxic applies to a
direction, chunks go into that direction's queue and a pump task runs them through the
toxic stages in order (the *slow path*); the fast path resumes once the queue is empty
and no toxic applies any more. Toxics added or removed while a connection is live take
effect on the next chunk, as in Toxiproxy.

HTTP mode: when the proxy records traffic or has an HTTP toxic at accept time, both sockets
get ``HttpSide`` protocols instead. Reads still go through the same Flows (so TCP toxics
apply underneath, on the bytes relay_http reads from either side), but a Flow's output
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
from collections import deque
from typing import TYPE_CHECKING, Any

from harness.proxy.http_relay import relay_http
from harness.proxy.toxics import STAGES, Chunk, Stage

if TYPE_CHECKING:
    from harness.proxy.registry import Proxy, Toxic

log = logging.getLogger(__name__)

HIGH_WATER = 1 << 20  # queued bytes per direction before the source is paused
LOW_WATER = 1 << 18


class Flow:
    """One direction of a connection: source side -> toxic stages -> destination side."""

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn, self.name = conn, name
        self.src: SideBase | None = None
        self.dst: Side | None = None
        self.stages: list[Stage] = []
        self.blocked = 0  # number of active timeout toxics holding this direction
        self.unblocked: asyncio.Event = asyncio.Event()
        self.unblocked.set()
        self.queue: deque[Chunk] = deque()
        self.queued = 0
        self.pump: asyncio.Task[None] | None = None
        self.eof = False  # the source closed (or died)
        self.done = False  # EOF passed on to the destination
        self.fast = False  # until both sockets exist
        self.bytes = 0
        self.reader: asyncio.StreamReader | None = None  # HTTP mode: feed relay_http, not a socket

    def refresh(self) -> None:
        """Recompute whether chunks may skip the queue."""
        self.fast = (not self.stages and not self.blocked and not self.queue and self.pump is None
                     and self.conn.server is not None)

    def feed(self, data: bytes) -> None:
        self.bytes += len(data)
        if self.fast:
            if self.reader is not None:
                self.reader.feed_data(data)
                return
            transport = self.dst.transport if self.dst is not None else None
            if transport is not None:
                transport.write(data)
            return
        self.queue.append(Chunk(data, self.conn.loop.time()))
        self.queued += len(data)
        if self.queued > HIGH_WATER and self.src is not None:
            self.src.set_paused("queue", True)
        self._kick()

    def feed_eof(self) -> None:
        if self.eof:
            return
        self.eof = True
        if self.fast:
            self._finish_now()
        else:
            self._kick()

    def _kick(self) -> None:
        if self.pump is None and self.conn.server is not None:
            self.fast = False
            self.pump = self.conn.loop.create_task(self._run())

    async def _run(self) -> None:
        try:
            while self.queue:
                chunk = self.queue.popleft()
                self.queued -= len(chunk.data)
                if self.queued < LOW_WATER and self.src is not None:
                    self.src.set_paused("queue", False)
                if self.blocked:
                    await self.unblocked.wait()
                if self.conn.closed:
                    return
                await self._through(list(self.stages), 0, chunk)
            if self.eof and not self.done:
                for stage in list(self.stages):
                    await stage.on_eof()
                self._finish_now()
        except Exception:  # a failing stage must not leave a half-open connection behind
            log.exception("toxic stage failed on proxy %s", self.conn.proxy.name)
            self.conn.close()
        finally:
            self.pump = None
            self.refresh()
            if self.queue and not self.conn.closed:  # data arrived during the last await
                self._kick()

    async def _through(self, stages: list[Stage], index: int, chunk: Chunk) -> None:
        if index == len(stages):
            await self._write(chunk.data)
            return
        stage = stages[index]
        if stage.removed:
            await self._through(stages, index + 1, chunk)
            return

        async def send(out: Chunk) -> None:
            await self._through(stages, index + 1, out)

        await stage.process(chunk, send)

    async def _write(self, data: bytes) -> None:
        if self.reader is not None:
            if not self.conn.closed and data:
                self.reader.feed_data(data)
            return
        dst = self.dst
        if self.conn.closed or dst is None or dst.transport is None or not data:
            return
        dst.transport.write(data)
        if dst.write_paused:
            await dst.drained()

    def _finish_now(self) -> None:
        if self.done:
            return
        self.done = True
        if self.reader is not None:
            self.reader.feed_eof()
            return
        dst = self.dst
        if dst is not None and dst.transport is not None and not dst.transport.is_closing():
            if dst.transport.can_write_eof():
                with contextlib.suppress(OSError, RuntimeError):
                    dst.transport.write_eof()
            else:
                dst.transport.close()
        self.conn.maybe_done()


class SideBase:
    """What both socket protocols share: their connection, flow, and reasons to stop reading."""

    conn: Connection
    out: Flow
    transport: Any
    _pause_reasons: set[str]

    def _made(self, transport: Any) -> None:
        self.transport = transport  # uvloop's transports are not asyncio.Transport subclasses
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _lost(self) -> None:
        self.transport = None
        self.out.feed_eof()
        self.conn.side_lost(self)

    def reassert_pause(self) -> None:
        if self._pause_reasons and self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()

    def set_paused(self, reason: str, paused: bool) -> None:
        before = bool(self._pause_reasons)
        if paused:
            self._pause_reasons.add(reason)
        else:
            self._pause_reasons.discard(reason)
        after = bool(self._pause_reasons)
        if before != after and self.transport is not None and not self.transport.is_closing():
            if after:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()


class Side(SideBase, asyncio.Protocol):
    """One socket of a byte-relayed connection; what it reads goes into ``out`` (a Flow)."""

    def __init__(self, conn: Connection, out: Flow) -> None:
        self.conn, self.out = conn, out
        self.transport = None
        self.write_paused = False
        self._pause_reasons = set()
        self._drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._made(transport)

    def data_received(self, data: bytes) -> None:
        self.out.feed(data)

    def eof_received(self) -> bool:
        self.out.feed_eof()
        return True  # keep the transport open for the other direction (half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._wake_drain()
        self._lost()

    # Flow control: the peer's send buffer is full -> stop reading from the peer's source.
    def pause_writing(self) -> None:
        self.write_paused = True
        peer = self.conn.peer_of(self)
        if peer is not None:
            peer.set_paused("write", True)

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_drain()
        peer = self.conn.peer_of(self)
        if peer is not None:
            peer.set_paused("write", False)

    async def drained(self) -> None:
        if not self.write_paused or self.transport is None:
            return
        if self._drain is None or self._drain.done():
            self._drain = self.conn.loop.create_future()
        await self._drain

    def _wake_drain(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)


class HttpSide(SideBase, asyncio.StreamReaderProtocol):
    """A socket of a connection handed to ``relay_http``.

    Reads still go through the Flow (so TCP toxics apply) and end up in the Flow's own
    StreamReader; writes come from relay_http through a StreamWriter on this protocol,
    whose drain() works because StreamReaderProtocol implements the flow control for it.
    The reader given to StreamReaderProtocol itself is a never-fed placeholder.
    """

    def __init__(self, conn: Connection, out: Flow) -> None:
        self._placeholder = asyncio.StreamReader()
        asyncio.StreamReaderProtocol.__init__(self, self._placeholder)
        self.conn, self.out = conn, out
        self.transport = None
        self._pause_reasons = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        asyncio.StreamReaderProtocol.connection_made(self, transport)
        self._made(transport)

    def data_received(self, data: bytes) -> None:
        self.out.feed(data)

    def eof_received(self) -> bool:
        self.out.feed_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        asyncio.StreamReaderProtocol.connection_lost(self, exc)
        self._lost()


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
            reader = asyncio.StreamReader(limit=1 << 20)
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
