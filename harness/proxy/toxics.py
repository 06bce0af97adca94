"""TCP toxics: attribute validation and the per-connection stages that apply them.

Names, attributes and units follow Toxiproxy 2.x exactly (``latency``/``jitter`` in ms,
``rate`` in KB/s with KB = 1000 bytes, slicer ``delay`` in microseconds ...), so a
client written for Toxiproxy gets the same behaviour here.

A *stage* is one toxic applied to one direction of one connection. The relay hands it
each chunk read from the source with ``process(chunk, send)``; the stage calls ``send``
zero or more times (slicer: many, reset_peer: never) and may sleep in between. Sleeps
go through ``Stage.sleep`` so that removing a toxic from a live connection wakes its
pending sleeps at once, as Toxiproxy interrupts a removed toxic's goroutine.
``timeout`` is not a stage: it blocks a whole direction with a timer, see relay.py.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

#: attribute name -> default for every TCP toxic type (Go zero values, as Toxiproxy returns them)
TCP_TOXIC_ATTRIBUTES: dict[str, dict[str, int]] = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
}
TCP_TOXIC_TYPES: frozenset[str] = frozenset(TCP_TOXIC_ATTRIBUTES)


def validate_tcp_toxic(type_: str, attributes: Any) -> dict[str, int]:
    """Return the full attribute dict (defaults filled) or raise ValueError naming the bad field.

    Toxiproxy decodes attributes into int64 struct fields, so strings, booleans and
    fractions are errors there too. Unknown attribute names are rejected here (Toxiproxy
    silently ignores them) because a typo like ``latnecy`` would otherwise inject nothing
    and make a chaos experiment pass for the wrong reason.
    """
    if attributes is None:
        attributes = {}
    if not isinstance(attributes, dict):
        raise ValueError("attributes must be a JSON object")
    defaults = TCP_TOXIC_ATTRIBUTES[type_]
    result = dict(defaults)
    for key, value in attributes.items():
        if key not in defaults:
            raise ValueError(f"unknown attribute '{key}' for toxic type {type_} "
                             f"(expected {', '.join(sorted(defaults))})")
        result[key] = _non_negative_int(key, value)
    if type_ == "slicer":
        if result["average_size"] < 1:
            raise ValueError("attribute 'average_size' must be >= 1 for slicer")
        if result["size_variation"] >= result["average_size"]:
            raise ValueError("attribute 'size_variation' must be less than 'average_size'")
    return result


def _non_negative_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"attribute '{key}' must be an integer, got {type(value).__name__}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"attribute '{key}' must be an integer, got {value!r}")
        value = int(value)
    if value < 0:
        raise ValueError(f"attribute '{key}' must be >= 0, got {value}")
    if value > 2**53:
        raise ValueError(f"attribute '{key}' is too large")
    return value


class Chunk:
    """Bytes read from one side, with the loop time they arrived (latency is relative to it)."""

    __slots__ = ("data", "ts")

    def __init__(self, data: bytes, ts: float) -> None:
        self.data, self.ts = data, ts


Send = Callable[[Chunk], Awaitable[None]]


class ConnectionControl(Protocol):
    """What a stage may do to its connection (implemented by relay.Connection)."""

    def close(self) -> None: ...

    def reset(self) -> None: ...


class Stage:
    """One toxic on one direction of one connection. Subclasses override ``process``/``on_eof``."""

    def __init__(self, attrs: dict[str, int], conn: ConnectionControl) -> None:
        self.attrs, self.conn = attrs, conn
        self.removed = False
        self._waiters: set[asyncio.Future[None]] = set()

    async def process(self, chunk: Chunk, send: Send) -> None:
        await send(chunk)

    async def on_eof(self) -> None:
        """Called once when the source closed, before the EOF is passed on."""

    def remove(self) -> None:
        """The toxic left this connection: finish pending sleeps now."""
        self.removed = True
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)

    async def sleep(self, delay: float) -> None:
        """Sleep ``delay`` seconds unless the toxic is removed meanwhile."""
        if delay <= 0 or self.removed:
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        handle = loop.call_later(delay, _resolve, fut)
        self._waiters.add(fut)
        try:
            await fut
        finally:
            handle.cancel()
            self._waiters.discard(fut)


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def jittered_delay_ms(latency: float, jitter: float,
                      uniform: Callable[[float, float], float] = random.uniform) -> float:
    """``latency`` +- ``jitter`` ms, drawn uniformly from both sides and never negative.

    Why a function of its own: the spread is what a jitter toxic promises, and whether it
    reaches below ``latency`` as well as above cannot be told from wall times on a busy
    machine (scheduling only ever adds delay). Pure, with the draw injectable, it is tested
    as a property. The TCP ``latency`` toxic and the HTTP ``http_delay`` toxic both use it.
    """
    delay = latency + uniform(-jitter, jitter) if jitter else latency
    return max(0.0, float(delay))


class LatencyStage(Stage):
    """Delay each chunk by latency +- jitter ms, measured from when it arrived (so streams pipeline)."""

    async def process(self, chunk: Chunk, send: Send) -> None:
        delay = jittered_delay_ms(self.attrs["latency"], self.attrs["jitter"])
        target = chunk.ts + delay / 1000.0
        await self.sleep(target - asyncio.get_running_loop().time())
        await send(chunk)


class BandwidthStage(Stage):
    """Limit to ``rate`` KB/s (1 KB = 1000 bytes), sending in slices of at most 100 ms worth."""

    def __init__(self, attrs: dict[str, int], conn: ConnectionControl) -> None:
        super().__init__(attrs, conn)
        # Seconds of sending time owed. Oversleeping (a busy CPU waking us late) makes it
        # negative, and the next slices go out sooner: the average rate holds, as in Toxiproxy.
        self._debt = 0.0

    async def process(self, chunk: Chunk, send: Send) -> None:
        rate = self.attrs["rate"] * 1000  # bytes per second
        if rate <= 0:
            await send(chunk)
            return
        loop = asyncio.get_running_loop()
        data, piece = chunk.data, max(1, rate // 10)
        for start in range(0, len(data), piece):
            part = data[start:start + piece]
            self._debt += len(part) / rate
            began = loop.time()
            await self.sleep(self._debt)
            self._debt -= loop.time() - began
            if self.removed:  # removed while sleeping: pass the rest at full speed
                await send(Chunk(data[start:], chunk.ts))
                return
            await send(Chunk(part, chunk.ts))


class SlowCloseStage(Stage):
    """Hold the close for ``delay`` ms after the source closed."""

    async def on_eof(self) -> None:
        await self.sleep(self.attrs["delay"] / 1000.0)


class SlicerStage(Stage):
    """Split each chunk into slices of average_size +- size_variation bytes, ``delay`` us apart."""

    async def process(self, chunk: Chunk, send: Send) -> None:
        data = chunk.data
        cuts = slice_offsets(len(data), self.attrs["average_size"], self.attrs["size_variation"])
        delay = self.attrs["delay"] / 1_000_000
        for i, (start, end) in enumerate(cuts):
            if self.removed:
                await send(Chunk(data[start:], chunk.ts))
                return
            await send(Chunk(data[start:end], chunk.ts))
            if i + 1 < len(cuts):
                await self.sleep(delay)


def slice_offsets(total: int, average: int, variation: int) -> list[tuple[int, int]]:
    """(start, end) pairs covering ``range(total)``, each about ``average`` +- ``variation`` long."""
    out: list[tuple[int, int]] = []
    pos = 0
    while pos < total:
        size = average + (random.randint(-variation, variation) if variation else 0)
        size = max(1, size)
        end = min(total, pos + size)
        out.append((pos, end))
        pos = end
    return out


class LimitDataStage(Stage):
    """Pass exactly ``bytes`` bytes in this direction, then close the connection."""

    def __init__(self, attrs: dict[str, int], conn: ConnectionControl) -> None:
        super().__init__(attrs, conn)
        self._passed = 0

    async def process(self, chunk: Chunk, send: Send) -> None:
        allowed = self.attrs["bytes"] - self._passed
        if len(chunk.data) < allowed:
            self._passed += len(chunk.data)
            await send(chunk)
            return
        if allowed > 0:
            self._passed += allowed
            await send(Chunk(chunk.data[:allowed], chunk.ts))
        self.conn.close()


class ResetPeerStage(Stage):
    """On the first data in this direction, wait ``timeout`` ms and reset the connection (RST)."""

    async def process(self, chunk: Chunk, send: Send) -> None:
        await self.sleep(self.attrs["timeout"] / 1000.0)
        if self.removed:
            await send(chunk)
            return
        self.conn.reset()


STAGES: dict[str, type[Stage]] = {
    "latency": LatencyStage,
    "bandwidth": BandwidthStage,
    "slow_close": SlowCloseStage,
    "slicer": SlicerStage,
    "limit_data": LimitDataStage,
    "reset_peer": ResetPeerStage,
}
