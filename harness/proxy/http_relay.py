"""The HTTP-aware data path: relays one client connection request by request, applying HTTP toxics.

The core proxy accepts a TCP connection, opens the upstream one and hands both here when a proxy
has HTTP toxics or recording. Untouched traffic is forwarded byte for byte and streamed piece by
piece (SSE keeps flowing); only a toxic that rewrites a JSON body makes the relay buffer a response.

Per request, in this order: the matching toxics are picked (see :mod:`http_rules`); ``http_delay``
sleeps; ``http_status`` / ``fail_first_n`` answer without calling the upstream (the request body is
drained so keep-alive continues); otherwise the request is forwarded; ``http_abort`` without
``after_bytes`` drops the connection instead of the response head; the JSON rewrites run on the
whole body; ``http_abort``'s ``after_bytes`` and ``stream_cut`` close the connection part way
through the body. Malformed HTTP from the client gets a 400 and a close, never an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from harness.proxy.http_cut import Cut, Cutter, cutter_for
from harness.proxy.http_exchange import Exchange, record_line
from harness.proxy.http_json import REWRITES, decode_content
from harness.proxy.http_parse import (
    LAST_CHUNK,
    READ_SIZE,
    Framing,
    Head,
    HttpParseError,
    WatchedReader,
    build_head,
    encode_chunk,
    iter_body,
    keep_alive,
    parse_request_head,
    parse_response_head,
    read_head,
    replace_headers,
    request_framing,
    response_framing,
)
from harness.proxy.http_rules import (
    ANSWER_TOXICS,
    BODY_TOXICS,
    HTTP_TOXIC_TYPES,
    RequestInfo,
    answer_response,
    attrs,
    inspect_body,
    needs_body,
    select,
    take_failure,
)
from harness.proxy.recorder import Recorder
from harness.proxy.toxics import jittered_delay_ms
from harness.proxy.types import ToxicView

#: Request bodies are buffered up to this size when matching or recording needs them; beyond it the
#: rest streams through and body matchers (jsonrpc_method, tool) treat the request as not matching.
BODY_BUFFER_CAP = 4 * 1024 * 1024
class _Relay:
    def __init__(self, cr: asyncio.StreamReader, cw: asyncio.StreamWriter, ur: asyncio.StreamReader,
                 uw: asyncio.StreamWriter, toxics: Callable[[], Sequence[ToxicView]],
                 recorder: Recorder | None, proxy_name: str) -> None:
        self.cr, self.cw, self.ur, self.uw = cr, cw, ur, uw
        self.toxics, self.recorder, self.proxy_name = toxics, recorder, proxy_name
        self.cap = recorder.max_body_bytes if recorder else 0
        self.reset = False

    async def run(self) -> None:
        while True:
            raw = await self._next_head()
            if raw is None:
                return
            t_wall, t_mono = time.time(), time.monotonic()
            try:
                head = parse_request_head(raw)
                framing = request_framing(head)
            except HttpParseError as exc:
                await self._bad_request(str(exc))
                return
            ex = Exchange(head, t_wall, t_mono)
            try:
                again = await self._one(head, framing, ex)
            except Cut:
                again = False
            except HttpParseError as exc:
                ex.error, again = str(exc), False
            finally:
                if self.recorder is not None:
                    self.recorder.record(record_line(ex, self.proxy_name, self.cap))
            if not again:
                return

    async def _next_head(self) -> bytes | None:
        """The next request head; None when the client closes or the upstream drops the idle connection.

        Watching the upstream while idle matters: when it closes a kept-alive connection, the client
        must see the close too, or it would send its next request into a dead connection.
        """
        cr, ur = self.cr, self.ur
        try:
            if isinstance(cr, WatchedReader) and isinstance(ur, WatchedReader):  # the proxy core's readers
                await cr.wait_either(ur)
                if ur.has_data():  # upstream closed (or spoke out of turn) while idle
                    if unsolicited := ur.buffered():
                        self.cw.write(await ur.read(unsolicited))  # e.g. a 408: pass it on, then close
                    return None
                return await read_head(cr)
            head_task = await self._race_idle()
            return None if head_task is None else head_task.result()
        except HttpParseError as exc:
            await self._bad_request(str(exc))
            return None

    async def _race_idle(self) -> asyncio.Task[bytes | None] | None:
        """``_next_head`` for plain StreamReaders: a task per side; None if the upstream won."""
        head_task = asyncio.ensure_future(read_head(self.cr))
        watch = asyncio.ensure_future(self.ur.read(READ_SIZE))
        try:
            await asyncio.wait({head_task, watch}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the core is shutting the connection down: leave no orphans
            for task in (head_task, watch):
                task.cancel()
            raise
        if not watch.done():
            watch.cancel()
            await asyncio.wait({watch})
        if watch.done() and not watch.cancelled():  # upstream closed (or spoke out of turn) while idle
            head_task.cancel()
            await asyncio.wait({head_task})
            if watch.exception() is None and watch.result():
                self.cw.write(watch.result())  # unsolicited bytes (e.g. a 408): pass them on, then close
            return None
        return head_task

    async def _bad_request(self, why: str) -> None:
        body = f"bad request: {why}\n".encode()
        self.cw.write(build_head("HTTP/1.1 400 Bad Request", [
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
            ("Connection", "close")]) + body)
        with contextlib.suppress(ConnectionError):
            await self.cw.drain()

    def _views(self) -> list[ToxicView]:
        try:
            return [v for v in self.toxics() if v.type in HTTP_TOXIC_TYPES]
        except Exception:  # a core bug must not kill live connections; relay untouched instead
            return []

    async def _one(self, head: Head, framing: Framing, ex: Exchange) -> bool:
        """Relay one request and its response. Returns whether the connection stays open."""
        views = self._views()
        target = urlsplit(head.target) if head.target.startswith(("http://", "https://")) else None
        path, _, _ = (target.path if target else head.target).partition("?")
        want_body = self.recorder is not None or any(needs_body(v) for v in views)
        req_head = head.raw
        if (head.get("expect") or "").lower() == "100-continue" and framing.kind != "none":
            self.cw.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # we read the body ourselves, answer for it
            req_head = build_head(" ".join(head.start), replace_headers(head.headers, {"expect"}))

        body_it = iter_body(self.cr, framing).__aiter__()
        buffered, payload, done = bytearray(), bytearray(), framing.kind == "none"
        while want_body and not done and len(buffered) < BODY_BUFFER_CAP:
            try:
                raw, data = await anext(body_it)
            except StopAsyncIteration:
                done = True
                break
            buffered += raw
            payload += data
        ex.req_body, ex.req_size = bytes(payload), len(payload)

        info = RequestInfo(head.method, path)
        if want_body and done:
            info.rpc_methods, info.tools = inspect_body(bytes(payload))
        fired = select(views, info) if views else []
        client_keep = keep_alive(head)

        for view in fired:
            if view.type == "http_delay":
                a = attrs(view) or {}
                await asyncio.sleep(jittered_delay_ms(a.get("delay_ms", 0.0), a.get("jitter_ms", 0.0)) / 1000)
                ex.applied.append(view)
        for view in fired:
            if view.type in ANSWER_TOXICS and (view.type == "http_status" or take_failure(view)):
                async for _raw, data in body_it:  # drain the unread body so the connection stays usable
                    ex.req_size += len(data)
                resp_head, body = answer_response(attrs(view) or {}, head.method, not client_keep)
                self.cw.write(resp_head + body)
                await self.cw.drain()
                ex.applied.append(view)
                ex.resp_head = parse_response_head(resp_head)
                ex.resp_body += body
                ex.resp_size = len(body)
                return client_keep

        rewrites = [v for v in fired if v.type in BODY_TOXICS]
        if rewrites and head.get("accept-encoding") is not None:  # keep the body readable for rewriting
            req_head = build_head(" ".join(head.start), replace_headers(
                parse_request_head(req_head).headers, {"accept-encoding"}, [("Accept-Encoding", "identity")]))
        self.uw.write(req_head + buffered if buffered else req_head)
        if not done:
            async for raw, data in body_it:
                ex.req_size += len(data)
                self.uw.write(raw)
                await self.uw.drain()
        await self.uw.drain()
        return await self._response(head, fired, rewrites, client_keep, ex)

    async def _read_response_head(self, ex: Exchange, abort: ToxicView | None) -> Head | None:
        while True:
            raw = await read_head(self.ur)
            if raw is None:
                ex.error = "upstream closed before responding"
                return None
            resp = parse_response_head(raw)
            if resp.status >= 200 or resp.status == 101 or abort is not None:
                return resp
            self.cw.write(raw)  # interim 1xx (100 Continue, 103 Early Hints): pass through

    async def _response(self, head: Head, fired: list[ToxicView], rewrites: list[ToxicView],
                        client_keep: bool, ex: Exchange) -> bool:
        aborts = [v for v in fired if v.type == "http_abort"]
        early = next((v for v in aborts if (attrs(v) or {}).get("after_bytes") is None), None)
        resp = await self._read_response_head(ex, early)
        if resp is None:
            return False
        if early is not None:
            ex.applied.append(early)
            ex.error = "aborted before the response head (http_abort)"
            self.reset = bool((attrs(early) or {}).get("reset"))
            raise Cut
        ex.resp_head = resp
        framing = response_framing(resp, head.method)
        if resp.status == 101:
            self.cw.write(resp.raw)
            await self._pipe()
            return False
        cutter, cutters = cutter_for([v for v in fired if v.type in ("http_abort", "stream_cut")])
        keep = client_keep and keep_alive(resp) and framing.kind != "close"
        if rewrites and framing.kind != "none":
            await self._rewritten(resp, framing, rewrites, cutter, cutters, ex)
        else:
            await self._streamed(resp, framing, cutter, cutters, ex)
        return keep

    def _cut_now(self, cutters: list[ToxicView], ex: Exchange) -> None:
        ex.applied.extend(cutters)
        ex.error = "response cut by " + ", ".join(v.type for v in cutters)
        self.reset = any((attrs(v) or {}).get("reset") for v in cutters)
        raise Cut

    def _tap(self, ex: Exchange, data: bytes) -> None:
        ex.resp_size += len(data)
        if self.recorder is not None and len(ex.resp_body) <= self.cap:
            ex.resp_body += data[: self.cap + 1 - len(ex.resp_body)]

    async def _streamed(self, resp: Head, framing: Framing, cutter: Cutter | None,
                        cutters: list[ToxicView], ex: Exchange) -> None:
        if cutter is None and framing.kind == "length" and framing.length <= READ_SIZE and \
                isinstance(self.ur, WatchedReader) and self.ur.buffered() >= framing.length:
            body = await self.ur.readexactly(framing.length)  # all here already: one write, one segment
            self.cw.write(resp.raw + body)
            self._tap(ex, body)
            await self.cw.drain()
            return
        self.cw.write(resp.raw)
        if cutter is not None and cutter.keep(b"") == 0:
            self._cut_now(cutters, ex)
        async for raw, data in iter_body(self.ur, framing):
            n = cutter.keep(data) if cutter is not None and data else None
            if n is None:
                self.cw.write(raw)
                self._tap(ex, data)
            else:
                prefix = len(raw) - len(data)
                if framing.kind == "chunked" and prefix > 0:  # this piece opens a chunk: reframe it
                    self.cw.write(encode_chunk(data[:n]) if n else b"")
                else:
                    self.cw.write(data[:n])
                self._tap(ex, data[:n])
                self._cut_now(cutters, ex)
            await self.cw.drain()

    async def _rewritten(self, resp: Head, framing: Framing, rewrites: list[ToxicView],
                         cutter: Cutter | None, cutters: list[ToxicView], ex: Exchange) -> None:
        original = bytearray()
        async for _raw, data in iter_body(self.ur, framing):
            original += data
        body = bytes(original)
        decoded = decode_content(body, resp.get("content-encoding"))
        changed: list[ToxicView] = []
        if decoded is not None:  # None: an encoding we cannot read, so the body is left alone
            new_body = decoded
            for view in rewrites:
                new = REWRITES[view.type](new_body, attrs(view) or {})
                if new is not None:
                    new_body = new
                    changed.append(view)
            if changed:
                ex.applied.extend(changed)
                drop = {"content-length", "transfer-encoding"}
                if decoded is not body:
                    drop.add("content-encoding")
                ex.resp_headers = replace_headers(resp.headers, drop, [("Content-Length", str(len(new_body)))])
                self.cw.write(build_head(" ".join(resp.start).rstrip(), ex.resp_headers))
                framing, body = Framing("length", len(new_body)), new_body
        if not changed:
            self.cw.write(resp.raw)
        n = cutter.keep(body) if cutter is not None else None
        kept = body if n is None else body[:n]
        if framing.kind == "chunked":  # we buffered it; resend as one chunk (plus the end unless cut)
            self.cw.write((encode_chunk(kept) if kept else b"") + (LAST_CHUNK if n is None else b""))
        else:
            self.cw.write(kept)
        self._tap(ex, kept)
        if n is not None:
            self._cut_now(cutters, ex)
        await self.cw.drain()

    async def _pipe(self) -> None:
        """After 101 Switching Protocols (WebSocket): plain bytes both ways until one side closes."""
        async def copy(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()

        tasks = [asyncio.ensure_future(copy(self.cr, self.uw)), asyncio.ensure_future(copy(self.ur, self.cw))]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            t.cancel()
        await asyncio.wait(tasks)

def _close(writer: asyncio.StreamWriter, reset: bool) -> None:
    if reset:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
    writer.close()


#: The tasks running :func:`relay_http` right now. asyncio keeps only weak references to tasks, and
#: once the client has half-closed (its socket leaves the selector) while the relay waits on the
#: upstream, nothing else may reach a connection's task: the garbage collector would then destroy it
#: mid-request, silently dropping the response. Holding them here keeps every live connection alive.
_LIVE: set[asyncio.Task[Any]] = set()


async def relay_http(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
                     upstream_reader: asyncio.StreamReader, upstream_writer: asyncio.StreamWriter, *,
                     toxics: Callable[[], Sequence[ToxicView]], recorder: Recorder | None,
                     proxy_name: str) -> None:
    """Relay one client connection (many HTTP/1.1 requests) until either side closes.

    Applies the proxy's HTTP toxics per request (``toxics()`` is asked each time, so toxics added
    or removed mid-connection take effect on the next request) and records each exchange when a
    ``recorder`` is given. Closes both connections before returning; never raises for bad traffic.
    The running task is kept referenced until then, so callers need not hold it themselves.
    """
    relay = _Relay(client_reader, client_writer, upstream_reader, upstream_writer, toxics, recorder, proxy_name)
    task = asyncio.current_task()
    if task is not None:
        _LIVE.add(task)
    closing = False  # the coroutine itself is being closed (GeneratorExit): it must not await again
    try:
        await relay.run()
    except (ConnectionError, HttpParseError, asyncio.IncompleteReadError, OSError):
        pass  # a peer went away or spoke garbage mid-stream: nothing left to relay
    except GeneratorExit:
        closing = True
        raise
    finally:
        if task is not None:
            _LIVE.discard(task)
        if closing:  # awaiting now would raise "coroutine ignored GeneratorExit": close, don't wait
            for w in (client_writer, upstream_writer):
                with contextlib.suppress(Exception):  # the loop may be closed already
                    w.transport.abort()
        else:
            if relay.reset:
                await _flushed(client_writer)
            _close(client_writer, relay.reset)
            _close(upstream_writer, False)
            for w in (client_writer, upstream_writer):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(w.wait_closed(), 1.0)


async def _flushed(writer: asyncio.StreamWriter, timeout: float = 2.0) -> None:
    """Wait until the kernel has taken every queued byte, so a reset does not eat the kept part."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(Exception):
        await writer.drain()
        while writer.transport.get_write_buffer_size() and time.monotonic() < deadline:
            await asyncio.sleep(0.005)


__all__ = ["BODY_BUFFER_CAP", "relay_http"]
