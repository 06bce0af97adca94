"""One direction of a proxied connection: bytes from one socket, through the TCP toxics, to the other.

The *fast path*: while no toxic applies to the direction, ``feed`` writes each chunk straight
into the destination transport (or, in HTTP mode, into the StreamReader relay_http reads), with
no task switch and no copy. As soon as a toxic applies, chunks go into the direction's queue and
a pump task runs them through the toxic stages in order (the *slow path*); the fast path resumes
once the queue is empty and no toxic applies any more. The queue pauses its source socket above
``HIGH_WATER`` queued bytes and resumes it below ``LOW_WATER``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING

from harness.proxy.toxics import Chunk, Stage

if TYPE_CHECKING:
    from harness.proxy.relay import Connection
    from harness.proxy.sides import Side, SideBase

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
