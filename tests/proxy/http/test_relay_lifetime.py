"""The relay keeps a connection alive while it works, and closes cleanly if its coroutine is closed.

Regression: a client that sends ``Connection: close`` (or HTTP/1.0) and half-closes leaves the
selector; while the relay then waited on the upstream, nothing strongly referenced its task, so a
garbage collection in that window destroyed it mid-request ("Task was destroyed but it is
pending!"): the client got an empty reply, and the ``await`` in the relay's ``finally`` turned the
close into ``RuntimeError('coroutine ignored GeneratorExit')`` (an unraisable exception). Under CPU
load the window is wide enough for a GC to land in it now and then; here it is forced.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import sys
import threading
import weakref
from collections.abc import Iterator

import pytest

from harness.proxy import http_relay
from harness.proxy.http_relay import relay_http
from tests.proxy.http.relay_host import run_relay

REQUESTS = [
    b"GET /order HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"GET /order HTTP/1.0\r\n\r\n",
]


class HeldUpstream:
    """An upstream that answers each request only when released, after signalling it has read it."""

    def __init__(self) -> None:
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.got = threading.Semaphore(0)
        self.go = threading.Semaphore(0)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            with conn:
                buf = b""
                while b"\r\n\r\n" not in buf and (data := conn.recv(4096)):
                    buf += data
                self.got.release()
                if not self.go.acquire(timeout=5):
                    return
                with contextlib.suppress(OSError):  # the relay may be gone (destroyed-task test)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self) -> None:
        self.go.release()
        with contextlib.suppress(OSError):
            self.srv.shutdown(socket.SHUT_RDWR)
        self.srv.close()
        self.thread.join(5)


@pytest.fixture
def held() -> Iterator[HeldUpstream]:
    up = HeldUpstream()
    try:
        yield up
    finally:
        up.close()


@pytest.mark.parametrize("request_bytes", REQUESTS, ids=["connection-close", "http10"])
def test_gc_while_waiting_on_upstream_does_not_kill_the_connection(held: HeldUpstream,
                                                                  request_bytes: bytes) -> None:
    with run_relay(held.port) as relay:  # a plain asyncio server: it keeps no reference to the task
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", relay.port), timeout=5) as sock:
                sock.sendall(request_bytes)
                sock.shutdown(socket.SHUT_WR)
                assert held.got.acquire(timeout=5)  # the relay forwarded it and now awaits the upstream
                gc.collect()
                held.go.release()
                reply = b""
                while chunk := sock.recv(65536):
                    reply += chunk
            assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"ok"), reply
        assert relay.errors == []


def test_a_destroyed_relay_task_closes_without_awaiting(held: HeldUpstream,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a relay task still be destroyed while pending (here: its keep-alive reference made weak),
    closing its coroutine must end it at once. Awaiting in its cleanup raised ``RuntimeError(
    'coroutine ignored GeneratorExit')``, an unraisable exception when a garbage collection did it."""
    monkeypatch.setattr(http_relay, "_LIVE", weakref.WeakSet(), raising=False)
    unraisable: list[BaseException | None] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: unraisable.append(u.exc_value))
    destroyed: list[str] = []

    async def main() -> bytes:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: destroyed.append(ctx["message"]))

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", held.port)
            await relay_http(reader, writer, up_reader, up_writer, toxics=list, recorder=None, proxy_name="t")

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        writer.write(REQUESTS[0])
        writer.write_eof()
        while not held.got.acquire(blocking=False):  # the relay now awaits the upstream's response
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        gc.collect()  # nothing references the relay's task any more: it is destroyed, pending
        reply = await asyncio.wait_for(reader.read(), 5)  # and its connection is closed
        writer.close()
        server.close()
        await server.wait_closed()
        return reply

    assert asyncio.run(main()) == b""
    assert any("destroyed but it is pending" in m for m in destroyed), destroyed  # the path was taken
    assert unraisable == []
