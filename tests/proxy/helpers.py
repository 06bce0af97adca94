"""Test helpers: threaded TCP servers on free loopback ports and a tiny API client."""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx


class ThreadServer:
    """A blocking TCP server on 127.0.0.1:<free port>; ``handler(conn)`` runs per connection."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler = handler
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port: int = self.sock.getsockname()[1]
        self._stop = False
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            self.handler(conn)

    def __enter__(self) -> ThreadServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop = True
        self.sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.close()


def echo_handler(conn: socket.socket) -> None:
    while data := conn.recv(65536):
        conn.sendall(data)


def bulk_handler(conn: socket.socket) -> None:
    """Reads an ASCII byte count terminated by newline, sends that many bytes, closes."""
    request = b""
    while not request.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            return
        request += chunk
    total = int(request)
    block = bytes(range(256)) * 256
    sent = 0
    while sent < total:
        part = block[: min(len(block), total - sent)]
        conn.sendall(part)
        sent += len(part)


def recv_all(sock: socket.socket, limit: int = 1 << 30) -> bytes:
    out = bytearray()
    while len(out) < limit:
        data = sock.recv(65536)
        if not data:
            break
        out += data
    return bytes(out)


def round_trip(sock: socket.socket, payload: bytes = b"x" * 64) -> float:
    """Seconds for ``payload`` to come back from an echo server."""
    start = time.perf_counter()
    sock.sendall(payload)
    got = 0
    while got < len(payload):
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed during round trip")
        got += len(data)
    return time.perf_counter() - start


class ProxyApi:
    """Minimal client for the proxy's HTTP API that remembers what it created."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.client = httpx.Client(base_url=base, timeout=10)
        self.created: list[str] = []

    def create(self, upstream_port: int, name: str | None = None, **extra: Any) -> tuple[str, int]:
        """Create a proxy to 127.0.0.1:upstream_port; returns (name, listen port)."""
        name = name or f"p-{uuid.uuid4().hex[:8]}"
        body = {"name": name, "upstream": f"127.0.0.1:{upstream_port}", "listen": "127.0.0.1:0", **extra}
        resp = self.client.post("/proxies", json=body)
        assert resp.status_code == 201, resp.text
        self.created.append(name)
        return name, int(resp.json()["listen"].rsplit(":", 1)[1])

    def toxic(self, proxy: str, type_: str, stream: str = "downstream", toxicity: float = 1.0,
              **attributes: Any) -> dict[str, Any]:
        body = {"type": type_, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        resp = self.client.post(f"/proxies/{proxy}/toxics", json=body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        resp = self.client.delete(f"/proxies/{proxy}/toxics/{toxic}")
        assert resp.status_code == 204, resp.text

    def get(self, proxy: str) -> dict[str, Any]:
        resp = self.client.get(f"/proxies/{proxy}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def cleanup(self) -> None:
        for name in self.created:
            with contextlib.suppress(httpx.HTTPError):
                self.client.delete(f"/proxies/{name}")
        self.client.close()


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def settle(measure: Callable[[], float], attempts: int = 3) -> float:
    """Take ``attempts`` timing measurements and return their median.

    Why the median and not the first in-tolerance value: keeping the first of three that fits
    lets a defect that is in tolerance one time in three pass, so every timing test built on it
    would be lenient by construction. The median is in tolerance only when most measurements
    are, which a deterministic toxic effect gives and a defect does not; one load spike on a
    shared 2-core machine still cannot fail the test alone. The tolerance is never widened.
    """
    return statistics.median(measure() for _ in range(attempts))


def added_rtt_ms(toxic_port: int, base_port: int, samples: int = 30, payload: bytes = b"x" * 64) -> float:
    """Median round trip through ``toxic_port`` minus the median through ``base_port``, in ms.

    Samples alternate between the two connections so that load changes hit both alike.
    """
    with connect(toxic_port) as toxic, connect(base_port) as base:
        for _ in range(3):
            round_trip(toxic, payload), round_trip(base, payload)
        slow, fast = [], []
        for _ in range(samples):
            slow.append(round_trip(toxic, payload))
            fast.append(round_trip(base, payload))
    return (statistics.median(slow) - statistics.median(fast)) * 1000


def start_proxy_process(port: int, *extra: str) -> subprocess.Popen[str]:
    """``python -m harness.proxy`` on ``port``; returns once it printed its address."""
    proc = subprocess.Popen([sys.executable, "-m", "harness.proxy", "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"proxy did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return proc


def stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
