"""The two ends of the HTTP benchmark, each run as its own process (``python -m benchmarks.http_load``).

- ``upstream PORT``: a minimal HTTP/1.1 keep-alive server answering every request with the same
  small 200 response. It is an asyncio protocol (on uvloop when installed) that only looks for the
  end of each request head, so it costs far less per request than the proxy it sits behind.
- ``client PORT CONNECTIONS SECONDS MAX_REQUESTS OUT``: opens CONNECTIONS keep-alive connections, each
  sending one GET and waiting for its whole response before the next (no pipelining), for SECONDS
  or until MAX_REQUESTS responses arrived, whichever comes first, after a short warm-up. Writes one
  JSON object to OUT: ``{"requests", "errors", "seconds", "latencies_ns"}`` (per-request round trips).

Both use raw sockets with asyncio protocols rather than an HTTP client library, so the load
generator stays cheap next to what it measures.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

REQUEST = b"GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n"
BODY = b'{"ok": true, "bench": "http"}\n'
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)
WARMUP_S = 0.3
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


def _nodelay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Upstream(asyncio.Protocol):
    """Answers each complete request head with RESPONSE (GET only: request bodies are not read)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport  # uvloop's transports are not asyncio.Transport subclasses
        self.buf = b""
        _nodelay(transport)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        heads = self.buf.count(b"\r\n\r\n")
        if heads:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4:]
            self.transport.write(RESPONSE * heads)


class _Client(asyncio.Protocol):
    """One keep-alive connection: request, whole response, next request, until told to stop."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.buf = b""
        self.sent = 0
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        _nodelay(transport)

    def send(self) -> None:
        assert self.transport is not None
        self.sent = time.perf_counter_ns()
        self.transport.write(REQUEST)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        match = _CONTENT_LENGTH.search(self.buf, 0, end + 2)
        total = end + 4 + (int(match.group(1)) if match else 0)
        if len(self.buf) < total:
            return
        ok = self.buf.startswith(b"HTTP/1.1 200")
        self.buf = self.buf[total:]
        if self.run.done(time.perf_counter_ns() - self.sent, ok):
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.lost()


class _Run:
    """Shared counters of one client run and the moment it ends."""

    def __init__(self, seconds: float, max_requests: int) -> None:
        self.seconds, self.max_requests = seconds, max_requests
        self.latencies: list[int] = []
        self.errors = 0
        self.measuring = False
        self.stop_at = 0.0
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def done(self, latency_ns: int, ok: bool) -> bool:
        """Count one response; whether its connection should send another request."""
        if self.finished.done():
            return False
        if self.measuring:
            if ok:
                self.latencies.append(latency_ns)
            else:
                self.errors += 1
            if len(self.latencies) >= self.max_requests or time.perf_counter() >= self.stop_at:
                self.finished.set_result(None)
                return False
        return True

    def lost(self) -> None:
        if not self.finished.done():
            self.errors += 1
            self.finished.set_result(None)


async def _client(port: int, connections: int, seconds: float, max_requests: int) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    run = _Run(seconds, max_requests)
    clients: list[_Client] = []
    for _ in range(connections):
        _, proto = await loop.create_connection(lambda: _Client(run), "127.0.0.1", port)
        clients.append(proto)
    for proto in clients:
        proto.send()
    await asyncio.sleep(WARMUP_S)
    run.measuring, start = True, time.perf_counter()
    run.stop_at = start + seconds
    try:
        await asyncio.wait_for(asyncio.shield(run.finished), seconds + 10)
    except TimeoutError:
        run.errors += 1  # a stalled connection: report what was measured
    elapsed = time.perf_counter() - start
    for proto in clients:
        if proto.transport is not None:
            proto.transport.close()
    return {"requests": len(run.latencies), "errors": run.errors, "seconds": elapsed,
            "latencies_ns": run.latencies}


async def _serve(port: int) -> None:
    server = await asyncio.get_running_loop().create_server(_Upstream, "127.0.0.1", port, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


def _run(coro: Any) -> Any:
    try:
        import uvloop  # optional: the stdlib loop works too, just slower
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main(argv: list[str]) -> int:
    if argv[:1] == ["upstream"] and len(argv) == 2:
        _run(_serve(int(argv[1])))
        return 0
    if argv[:1] == ["client"] and len(argv) == 6:
        port, connections, seconds, max_requests = int(argv[1]), int(argv[2]), float(argv[3]), int(argv[4])
        result = _run(_client(port, connections, seconds, max_requests))
        Path(argv[5]).write_text(json.dumps(result))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
