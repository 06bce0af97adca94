"""Embedded proxy (TCP path) vs direct loopback, measured in one run.

Prints, for the no-toxic path: added round-trip latency p50/p99 of a 64-byte echo, and bulk
throughput as a ratio of direct loopback. The proxy runs as its own process
(``python -m harness.proxy``), as do the echo and bulk servers, so the client's
GIL does not distort the numbers. Run: ``python -m benchmarks proxy``
(``BENCH_PROXY_LOOPS=uvloop,asyncio`` to compare event loops; default both).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from harness.system.ports import free_port

ROUND_TRIPS = int(os.environ.get("BENCH_PROXY_ROUND_TRIPS", "4000"))
BULK_BYTES = int(os.environ.get("BENCH_PROXY_BULK_MB", "400")) * 1_000_000

_SERVERS = r'''
import socket, sys, threading
mode, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(64)
def echo(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while (d := c.recv(65536)):
        c.sendall(d)
    c.close()
def bulk(c):
    total = int(c.recv(64).decode()); buf = b"x" * (1 << 20)
    while total > 0:
        n = min(total, len(buf)); c.sendall(buf[:n] if n < len(buf) else buf); total -= n
    c.close()
print("ready", flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=echo if mode == "echo" else bulk, args=(c,), daemon=True).start()
'''


@contextmanager
def process(args: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the "ready"/"listening" line
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_proxy(api: str, name: str, upstream_port: int, *, http: bool = False) -> int:
    """Create a proxy through the API; its listening port. ``http``: the HTTP-aware relay."""
    spec = {"name": name, "upstream": f"127.0.0.1:{upstream_port}", "listen": "127.0.0.1:0", "http": http}
    body = json.dumps(spec)
    req = urllib.request.Request(api + "/proxies", body.encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return int(json.loads(resp.read())["listen"].rsplit(":", 1)[1])


def _round_trips(port: int, count: int) -> list[float]:
    payload = b"p" * 64
    out = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            start = time.perf_counter()
            sock.sendall(payload)
            got = 0
            while got < len(payload):
                got += len(sock.recv(4096))
            out.append(time.perf_counter() - start)
    return out


def _bulk(port: int, total: int) -> float:
    """Bytes per second received for ``total`` bytes."""
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start = time.perf_counter()
        sock.sendall(str(total).encode())
        got = 0
        while (n := sock.recv_into(view)) > 0:
            got += n
        elapsed = time.perf_counter() - start
    assert got == total, (got, total)
    return total / elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(loop_kind: str) -> dict[str, float]:
    """One full measurement with the proxy on ``loop_kind`` (uvloop or asyncio)."""
    echo_port, bulk_port, api_port = free_port(), free_port(), free_port()
    py = sys.executable
    with process([py, "-c", _SERVERS, "echo", str(echo_port)]), \
            process([py, "-c", _SERVERS, "bulk", str(bulk_port)]), \
            process([py, "-m", "harness.proxy", "--port", str(api_port)],
                     env={"HARNESS_PROXY_LOOP": loop_kind}):
        api = f"http://127.0.0.1:{api_port}"
        p_echo = create_proxy(api, "echo", echo_port)
        p_bulk = create_proxy(api, "bulk", bulk_port)
        _round_trips(echo_port, 300), _round_trips(p_echo, 300)  # warm-up
        direct: list[float] = []
        proxied: list[float] = []
        for _ in range(4):  # interleave so load changes hit both sides alike
            direct += _round_trips(echo_port, ROUND_TRIPS // 4)
            proxied += _round_trips(p_echo, ROUND_TRIPS // 4)
        _bulk(bulk_port, BULK_BYTES // 10), _bulk(p_bulk, BULK_BYTES // 10)
        d_rates, p_rates = [], []
        for _ in range(5):  # interleaved pairs; the median pair ratio resists load bursts
            d_rates.append(_bulk(bulk_port, BULK_BYTES // 5))
            p_rates.append(_bulk(p_bulk, BULK_BYTES // 5))
    d_tp, p_tp = statistics.median(d_rates), statistics.median(p_rates)
    ratio = statistics.median(p / d for p, d in zip(p_rates, d_rates, strict=True))
    return {
        "direct_p50_us": percentile(direct, 0.5) * 1e6, "direct_p99_us": percentile(direct, 0.99) * 1e6,
        "proxied_p50_us": percentile(proxied, 0.5) * 1e6, "proxied_p99_us": percentile(proxied, 0.99) * 1e6,
        "added_p50_us": (percentile(proxied, 0.5) - percentile(direct, 0.5)) * 1e6,
        "added_p99_us": (percentile(proxied, 0.99) - percentile(direct, 0.99)) * 1e6,
        "direct_MBps": d_tp / 1e6, "proxied_MBps": p_tp / 1e6, "throughput_ratio": ratio,
    }


def main() -> None:
    loops = os.environ.get("BENCH_PROXY_LOOPS", "uvloop,asyncio").split(",")
    for kind in loops:
        r = measure(kind)
        print(f"[{kind}] 64-byte round trip: direct p50 {r['direct_p50_us']:.0f} us p99 {r['direct_p99_us']:.0f} us;"
              f" proxied p50 {r['proxied_p50_us']:.0f} us p99 {r['proxied_p99_us']:.0f} us")
        print(f"[{kind}] added latency p50 {r['added_p50_us']:.0f} us (target <= 100), "
              f"p99 {r['added_p99_us']:.0f} us")
        print(f"[{kind}] bulk: direct {r['direct_MBps']:.0f} MB/s, proxied {r['proxied_MBps']:.0f} MB/s, "
              f"ratio {r['throughput_ratio']:.2f} (target >= 0.50)")


if __name__ == "__main__":
    main()
