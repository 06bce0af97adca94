"""The embedded proxy in HTTP mode vs direct, measured in one run: requests/s and added latency.

HTTP mode is the data path the HTTP toxics use (docs/http-toxics.md): a proxy created with
``"http": true`` relays every connection request by request through ``relay_http``. Here it has
no toxic, so the figures are the relay's own cost. Upstream, proxy and load client each run as
their own process (benchmarks/http_load.py), all on loopback; the client keeps its HTTP/1.1
connections alive and sends one request at a time on each, at 1, 16 and 128 connections. For
every connection count the direct and proxied runs alternate, so a load burst on the machine hits
both alike. Each run is bounded by ``BENCH_HTTP_SECONDS`` and ``BENCH_HTTP_MAX_REQUESTS``.

Targets: >= 5k requests/s through the proxy and <= 150 us added p50 (the proxy is one process,
one thread: one core). Run: ``python -m benchmarks proxy_http``. Environment:
``BENCH_HTTP_CONNECTIONS`` (``1,16,128``), ``BENCH_HTTP_ROUNDS`` (3), ``BENCH_HTTP_SECONDS``
(1.0 per run), ``BENCH_HTTP_MAX_REQUESTS`` (50000 per run), ``BENCH_PROXY_LOOPS`` (``uvloop``;
``uvloop,asyncio`` compares the proxy's event loops).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.bench_proxy import create_proxy, percentile, process
from harness.system.ports import free_port

CONNECTIONS = [int(n) for n in os.environ.get("BENCH_HTTP_CONNECTIONS", "1,16,128").split(",")]
ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "3"))
SECONDS = float(os.environ.get("BENCH_HTTP_SECONDS", "1.0"))
MAX_REQUESTS = int(os.environ.get("BENCH_HTTP_MAX_REQUESTS", "50000"))
TARGET_RPS = 5000
TARGET_ADDED_P50_US = 150


@dataclass
class Sample:
    """Every run against one target at one connection count, merged."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_us: list[float] = field(default_factory=list)

    def add(self, run: dict[str, object]) -> None:
        self.requests += int(run["requests"])  # type: ignore[call-overload]
        self.errors += int(run["errors"])  # type: ignore[call-overload]
        self.seconds += float(run["seconds"])  # type: ignore[arg-type]
        self.latencies_us += [ns / 1000 for ns in run["latencies_ns"]]  # type: ignore[attr-defined]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies_us, q) if self.latencies_us else float("nan")


def _load(port: int, connections: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run.json"
        subprocess.run([sys.executable, "-m", "benchmarks.http_load", "client", str(port), str(connections),
                        str(SECONDS), str(MAX_REQUESTS), str(out)], check=True, timeout=SECONDS + 60)
        return json.loads(out.read_text())


def measure(loop_kind: str) -> dict[int, tuple[Sample, Sample]]:
    """(direct, proxied) samples per connection count, with the proxy on ``loop_kind``."""
    upstream_port, api_port = free_port(), free_port()
    py = sys.executable
    results: dict[int, tuple[Sample, Sample]] = {}
    with process([py, "-m", "benchmarks.http_load", "upstream", str(upstream_port)]), \
            process([py, "-m", "harness.proxy", "--port", str(api_port)], env={"HARNESS_PROXY_LOOP": loop_kind}):
        proxy_port = create_proxy(f"http://127.0.0.1:{api_port}", "http_bench", upstream_port, http=True)
        with urllib.request.urlopen(f"http://127.0.0.1:{proxy_port}/bench", timeout=5) as resp:
            assert resp.status == 200 and json.loads(resp.read()) == {"ok": True, "bench": "http"}
        for connections in CONNECTIONS:
            direct, proxied = Sample(), Sample()
            for _ in range(ROUNDS):
                direct.add(_load(upstream_port, connections))
                proxied.add(_load(proxy_port, connections))
            results[connections] = (direct, proxied)
    return results


def _table(loop_kind: str, results: dict[int, tuple[Sample, Sample]]) -> list[str]:
    lines = [f"[{loop_kind}] HTTP mode, keep-alive GET, one request in flight per connection",
             f"{'conns':>5} | {'direct req/s':>12} {'proxy req/s':>11} {'ratio':>5} | "
             f"{'direct p50':>10} {'proxy p50':>9} {'added':>6} | {'direct p99':>10} {'proxy p99':>9} "
             f"{'added':>6} | errors"]
    for connections, (d, p) in results.items():
        ratio = p.rps / d.rps if d.rps else float("nan")
        lines.append(
            f"{connections:>5} | {d.rps:>12,.0f} {p.rps:>11,.0f} {ratio:>5.2f} | "
            f"{d.p(0.5):>8.0f}us {p.p(0.5):>7.0f}us {p.p(0.5) - d.p(0.5):>4.0f}us | "
            f"{d.p(0.99):>8.0f}us {p.p(0.99):>7.0f}us {p.p(0.99) - d.p(0.99):>4.0f}us | {d.errors + p.errors}")
    best = max(p.rps for _, p in results.values())
    lines.append(f"[{loop_kind}] best proxied {best:,.0f} req/s (target >= {TARGET_RPS:,}); added p50 at "
                 f"{min(results)} connection(s) {_added_p50(results):.0f} us (target <= {TARGET_ADDED_P50_US})")
    return lines


def _added_p50(results: dict[int, tuple[Sample, Sample]]) -> float:
    d, p = results[min(results)]
    return p.p(0.5) - d.p(0.5)


def main() -> None:
    for kind in os.environ.get("BENCH_PROXY_LOOPS", "uvloop").split(","):
        print("\n".join(_table(kind, measure(kind))), flush=True)


if __name__ == "__main__":
    main()
