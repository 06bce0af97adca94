"""The socket protocols of a proxied connection: what they read goes into a Flow.

``Side`` is a socket of a byte-relayed connection and implements pause/resume flow control
between the two transports. ``HttpSide`` is a socket of a connection relayed by relay_http: its
reads still go through the Flow (so TCP toxics apply underneath), its writes come from a
StreamWriter. Both set TCP_NODELAY, since the proxy forwards small request/response chunks that
Nagle's algorithm would otherwise hold back for an ACK.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.proxy.flow import Flow
    from harness.proxy.relay import Connection


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
