"""Each TCP toxic on real sockets: its measured effect matches its setting."""

from __future__ import annotations

import socket
import statistics
import threading
import time

import pytest

from tests.proxy.helpers import (
    ProxyApi,
    ThreadServer,
    added_rtt_ms,
    connect,
    recv_all,
    round_trip,
    settle,
)


@pytest.mark.parametrize("stream", ["downstream", "upstream"])
def test_latency_p50_matches_setting(api: ProxyApi, echo_server: ThreadServer, stream: str) -> None:
    name, port = api.create(echo_server.port)
    _, base_port = api.create(echo_server.port)
    api.toxic(name, "latency", stream=stream, latency=30)
    added_ms = settle(lambda: added_rtt_ms(port, base_port))
    assert abs(added_ms - 30) <= 2, f"added {added_ms:.2f} ms for a 30 ms latency toxic"


def test_latency_jitter_spreads_around_the_setting(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    _, base_port = api.create(echo_server.port)
    api.toxic(name, "latency", latency=20, jitter=4)
    # The median of n uniform(-4, 4) ms draws has a sd of about 4/sqrt(n) ms: 100 samples keep
    # the +-2 ms p50 tolerance 5 sd away from the statistics alone.
    added_ms = settle(lambda: added_rtt_ms(port, base_port, samples=100))
    assert abs(added_ms - 20) <= 2
    with connect(port) as sock:
        rtts = [round_trip(sock) * 1000 for _ in range(20)]
    assert max(rtts) - min(rtts) > 2, "jitter produced no spread"
    assert min(rtts) >= 15  # 20 - 4 ms is the floor (1 ms for timer rounding); scheduling only adds


def test_latency_acts_on_its_direction_only(api: ProxyApi) -> None:
    """Upstream latency delays client->server bytes; downstream latency does not."""
    arrivals: list[float] = []

    def stamp(conn: socket.socket) -> None:
        while data := conn.recv(65536):
            arrivals.append(time.perf_counter())
            conn.sendall(data)

    with ThreadServer(stamp) as server:
        results = {}
        for stream in ("upstream", "downstream"):
            name, port = api.create(server.port)
            api.toxic(name, "latency", stream=stream, latency=40)
            one_way = []
            with connect(port) as sock:
                for _ in range(5):
                    arrivals.clear()
                    sent = time.perf_counter()
                    round_trip(sock)
                    one_way.append(arrivals[0] - sent)
            results[stream] = statistics.median(one_way) * 1000
    assert 38 <= results["upstream"] <= 60, results
    assert results["downstream"] < 15, results


def test_bandwidth_within_five_percent(api: ProxyApi, bulk_server: ThreadServer) -> None:
    name, port = api.create(bulk_server.port)
    api.toxic(name, "bandwidth", rate=400)  # KB/s, 1 KB = 1000 bytes as in Toxiproxy
    total = 600_000

    def measure() -> float:
        with connect(port, timeout=10) as sock:
            start = time.perf_counter()
            sock.sendall(f"{total}\n".encode())
            data = recv_all(sock)
            elapsed = time.perf_counter() - start
        assert len(data) == total
        return total / elapsed / 1000

    rate_kbs = settle(measure)
    assert abs(rate_kbs - 400) <= 400 * 0.05, f"measured {rate_kbs:.1f} KB/s for rate=400"


def test_limit_data_cuts_at_the_exact_byte(api: ProxyApi, bulk_server: ThreadServer) -> None:
    name, port = api.create(bulk_server.port)
    api.toxic(name, "limit_data", bytes=12345)
    with connect(port) as sock:
        sock.sendall(b"100000\n")
        data = recv_all(sock)
    block = bytes(range(256)) * 256
    assert data == block[:12345]


def test_limit_data_upstream_limits_what_the_server_gets(api: ProxyApi) -> None:
    counts: list[int] = []
    done = threading.Event()

    def count(conn: socket.socket) -> None:
        total = 0
        try:
            while data := conn.recv(65536):
                total += len(data)
        finally:
            counts.append(total)
            done.set()

    with ThreadServer(count) as server:
        name, port = api.create(server.port)
        api.toxic(name, "limit_data", stream="upstream", bytes=1000)
        with connect(port) as sock:
            try:
                for _ in range(50):
                    sock.sendall(b"u" * 1000)
                    time.sleep(0.001)
            except OSError:
                pass  # the proxy closed the connection after 1000 bytes, as it should
        assert done.wait(5)
    assert counts == [1000]


def test_downstream_toxic_leaves_upstream_alone(api: ProxyApi) -> None:
    counts: list[int] = []
    done = threading.Event()

    def count(conn: socket.socket) -> None:
        total = 0
        while data := conn.recv(65536):
            total += len(data)
        counts.append(total)
        done.set()

    with ThreadServer(count) as server:
        name, port = api.create(server.port)
        api.toxic(name, "limit_data", stream="downstream", bytes=10)
        with connect(port) as sock:
            for _ in range(50):
                sock.sendall(b"d" * 1000)
            sock.shutdown(socket.SHUT_WR)
            assert recv_all(sock) == b""
        assert done.wait(5)
    assert counts == [50_000]


def test_slicer_splits_writes(api: ProxyApi, bulk_server: ThreadServer) -> None:
    name, port = api.create(bulk_server.port)
    api.toxic(name, "slicer", average_size=100, size_variation=20, delay=5000)
    sizes: list[int] = []
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"2000\n")
        data = b""
        while chunk := sock.recv(65536):
            sizes.append(len(chunk))
            data += chunk
        elapsed = time.perf_counter() - start
    assert data == (bytes(range(256)) * 8)[:2000]
    assert len(sizes) >= 12, sizes  # ~20 slices; a few may coalesce under load
    in_range = [s for s in sizes if 80 <= s <= 120]
    assert len(in_range) >= 0.7 * len(sizes), sizes
    assert elapsed >= 0.005 * (2000 / 120 - 1)  # the us delay between slices was applied


def test_timeout_holds_then_closes(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    api.toxic(name, "timeout", timeout=300)
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"ping")
        data = recv_all(sock)
        elapsed = time.perf_counter() - start
    assert data == b""  # the echo was held, never delivered
    assert 0.28 <= elapsed < 2.0


def test_timeout_zero_holds_until_removed(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    toxic = api.toxic(name, "timeout", timeout=0)
    with connect(port) as sock:
        sock.sendall(b"ping")
        sock.settimeout(0.8)
        with pytest.raises(TimeoutError):
            sock.recv(100)
        api.remove_toxic(name, toxic["name"])
        sock.settimeout(5)
        assert sock.recv(100) == b"ping"  # held data flows once the toxic is gone


def test_reset_peer_sends_rst(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    api.toxic(name, "reset_peer", timeout=100)
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"ping")
        with pytest.raises(ConnectionResetError):
            recv_all(sock)
        assert time.perf_counter() - start >= 0.09


def test_slow_close_delays_the_fin(api: ProxyApi) -> None:
    def bye(conn: socket.socket) -> None:
        conn.sendall(b"bye")

    with ThreadServer(bye) as server:
        name, port = api.create(server.port)
        api.toxic(name, "slow_close", delay=400)
        with connect(port) as sock:
            start = time.perf_counter()
            assert sock.recv(10) == b"bye"
            first = time.perf_counter() - start
            assert sock.recv(10) == b""
            closed = time.perf_counter() - start
    assert first < 0.3
    assert closed >= 0.38


def _limit_hits(port: int, connections: int) -> int:
    hits = 0
    for _ in range(connections):
        with connect(port) as sock:
            sock.sendall(b"12345678")
            got = recv_all(sock, limit=8)
            assert got in (b"1", b"12345678"), got
            hits += got == b"1"
    return hits


def test_toxicity_half_hits_about_half_of_200_connections(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    api.toxic(name, "limit_data", toxicity=0.5, bytes=1)
    hits = _limit_hits(port, 200)
    # Binomial(200, 0.5): mean 100, sd 7.07; +-5 sd makes a false failure ~1e-6 likely.
    assert 65 <= hits <= 135, hits


@pytest.mark.parametrize(("toxicity", "expected"), [(0.0, 0), (1.0, 20)])
def test_toxicity_extremes(api: ProxyApi, echo_server: ThreadServer, toxicity: float, expected: int) -> None:
    name, port = api.create(echo_server.port)
    api.toxic(name, "limit_data", toxicity=toxicity, bytes=1)
    assert _limit_hits(port, 20) == expected


def test_toxics_apply_to_live_connections(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    with connect(port) as sock:
        assert round_trip(sock) < 0.02
        toxic = api.toxic(name, "latency", latency=50)
        assert round_trip(sock) >= 0.045
        api.remove_toxic(name, toxic["name"])
        assert statistics.median(round_trip(sock) for _ in range(5)) < 0.02


def test_removing_a_toxic_wakes_data_it_was_holding(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    toxic = api.toxic(name, "latency", latency=5000)
    with connect(port) as sock:
        start = time.perf_counter()
        sock.sendall(b"ping")
        time.sleep(0.2)
        api.remove_toxic(name, toxic["name"])
        assert sock.recv(10) == b"ping"
        assert time.perf_counter() - start < 2.0


def test_disabled_proxy_closes_connections_and_listener(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    with connect(port) as sock:
        round_trip(sock)
        resp = api.client.post(f"/proxies/{name}", json={"enabled": False})
        assert resp.status_code == 200 and resp.json()["enabled"] is False
        try:
            assert sock.recv(10) == b""
        except ConnectionResetError:
            pass
    with pytest.raises(ConnectionRefusedError):
        connect(port)
    resp = api.client.post(f"/proxies/{name}", json={"enabled": True})
    assert resp.json()["enabled"] is True
    with connect(port) as sock:
        round_trip(sock)


def test_half_close_and_metrics(api: ProxyApi, echo_server: ThreadServer) -> None:
    name, port = api.create(echo_server.port)
    with connect(port) as sock:
        sock.sendall(b"a" * 3000)
        sock.shutdown(socket.SHUT_WR)  # client done sending; the echo must still come back
        assert recv_all(sock) == b"a" * 3000
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        metrics = api.get(name)["metrics"]
        if metrics["connections_active"] == 0:
            break
        time.sleep(0.02)
    assert metrics == {"connections_total": 1, "connections_active": 0, "bytes_upstream": 3000,
                       "bytes_downstream": 3000, "active_toxics": 0}
    all_metrics = api.client.get("/metrics").json()["proxies"]
    assert all_metrics[name] == metrics


def test_unreachable_upstream_closes_the_client(api: ProxyApi) -> None:
    from harness.system.ports import free_port

    _, port = api.create(free_port())  # nothing listens there
    with connect(port) as sock:
        try:
            assert sock.recv(10) == b""
        except ConnectionResetError:
            pass


def test_bulk_data_intact_through_chained_toxics(api: ProxyApi, bulk_server: ThreadServer,
                                                 echo_server: ThreadServer) -> None:
    name, port = api.create(bulk_server.port)
    api.toxic(name, "latency", latency=5)
    body = {"type": "slicer", "name": "s", "attributes": {"average_size": 50_000, "size_variation": 1000}}
    assert api.client.post(f"/proxies/{name}/toxics", json=body).status_code == 200
    body = {"type": "bandwidth", "name": "b", "attributes": {"rate": 100_000}}
    assert api.client.post(f"/proxies/{name}/toxics", json=body).status_code == 200
    total = 3_000_000
    with connect(port, timeout=20) as sock:
        sock.sendall(f"{total}\n".encode())
        data = recv_all(sock)
    block = bytes(range(256)) * 256
    assert data == (block * (total // len(block) + 1))[:total]

    name, port = api.create(echo_server.port)
    api.toxic(name, "latency", stream="upstream", latency=2)
    payload = bytes(range(256)) * 4000  # 1 MB through the slow path, echoed back
    received = bytearray()
    with connect(port, timeout=20) as sock:
        sender = threading.Thread(target=lambda: (sock.sendall(payload), sock.shutdown(socket.SHUT_WR)))
        sender.start()
        received += recv_all(sock)
        sender.join()
    assert bytes(received) == payload
