"""Property tests for HTTP framing: whatever no toxic touches must relay byte for byte.

Each example runs a scripted raw upstream and a raw client on loopback sockets (real TCP, port 0),
with the relay in between, so chunk boundaries, keep-alive sequences and TCP segmentation are all
real. The upstream reads exactly the bytes the client sent, so any change by the relay fails.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.proxy.http_parse import HttpParseError, parse_request_head, parse_response_head
from harness.proxy.http_toxics import relay_http, validate_http_toxic
from harness.proxy.recorder import Recorder, read_recording
from harness.proxy.types import ToxicView

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1,
                max_size=12).filter(lambda s: s.lower() not in ("content-length", "transfer-encoding",
                                                                 "connection", "expect", "accept-encoding"))
VALUE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)
BODY = st.binary(max_size=3000)


@st.composite
def chunked(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` in chunked form with random chunk sizes, hex case, extensions and trailers."""
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=6)))
    out, prev = b"", 0
    for cut in [*cuts, len(body)]:
        piece, prev = body[prev:cut], cut
        if piece:
            size = f"{len(piece):x}"
            size = size.upper() if draw(st.booleans()) else size
            ext = draw(st.sampled_from(["", ";a=b", ";name"]))
            out += f"{size}{ext}\r\n".encode() + piece + b"\r\n"
    trailers = draw(st.sampled_from([b"", b"X-Trailer: 1\r\n"]))
    return out + b"0\r\n" + trailers + b"\r\n"


@st.composite
def message(draw: st.DrawFn, request: bool) -> bytes:
    headers = draw(st.lists(st.tuples(TOKEN, VALUE), max_size=5))
    body = draw(BODY)
    framing = draw(st.sampled_from(["length", "chunked", "none"] if request else ["length", "chunked"]))
    if framing == "none":
        body = b""
    if request:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
        path = "/" + draw(st.text(alphabet="abcxyz019/-_.~%", max_size=20))
        query = draw(st.sampled_from(["", "?a=1", "?x=y&z="]))
        start = f"{method} {path}{query} HTTP/1.1"
    else:
        status = draw(st.sampled_from([200, 201, 400, 404, 429, 500, 503]))
        start = f"HTTP/1.1 {status} {draw(st.sampled_from(['OK', 'Whatever', '']))}".rstrip(" ")
    lines = [start, *(f"{k}: {v}" for k, v in headers)]
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        payload = draw(chunked(body))
    else:
        payload = b""
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def splits(data: st.DataObject, blob: bytes) -> list[bytes]:
    cuts = sorted(set(data.draw(st.lists(st.integers(1, max(1, len(blob) - 1)), max_size=5))))
    pieces, prev = [], 0
    for cut in [*cuts, len(blob)]:
        if cut > prev:
            pieces.append(blob[prev:cut])
            prev = cut
    return pieces


async def _write_pieces(writer: asyncio.StreamWriter, pieces: list[bytes]) -> None:
    for piece in pieces:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(0.0005)  # let pieces leave as separate segments


async def run_through_relay(exchanges: list[tuple[list[bytes], list[bytes]]], views: list[ToxicView],
                            recorder: Recorder | None) -> tuple[bytes, bytes, list[BaseException]]:
    """Send each request (in pieces), answer each with the scripted response (in pieces).

    Returns (bytes the upstream received, bytes the client received, exceptions the relay raised).
    """
    upstream_got = bytearray()
    errors: list[BaseException] = []

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for req_pieces, resp_pieces in exchanges:
            upstream_got.extend(await reader.readexactly(sum(map(len, req_pieces))))
            await _write_pieces(writer, resp_pieces)
        await reader.read()  # until the relay closes
        writer.close()

    finished = asyncio.Event()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", up_port)
            await relay_http(reader, writer, ur, uw, toxics=lambda: views, recorder=recorder, proxy_name="p")
        except BaseException as exc:
            errors.append(exc)
        finally:
            finished.set()

    up_server = await asyncio.start_server(upstream, "127.0.0.1", 0)
    up_port = up_server.sockets[0].getsockname()[1]
    relay_server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    client_got = bytearray()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", relay_server.sockets[0].getsockname()[1])
        for req_pieces, resp_pieces in exchanges:
            await _write_pieces(writer, req_pieces)
            client_got.extend(await asyncio.wait_for(reader.readexactly(sum(map(len, resp_pieces))), 5))
        writer.close()
        await writer.wait_closed()
        await asyncio.wait_for(finished.wait(), 5)  # the relay must end by itself once the client left
    finally:
        relay_server.close()
        up_server.close()
    return bytes(upstream_got), bytes(client_got), errors


def _views(mode: str) -> list[ToxicView]:
    if mode == "head_toxic":  # matched on the head only: bodies stream
        return [ToxicView("s", "http_status", attributes=validate_http_toxic("http_status", {"path": "/nev*"}))]
    if mode == "body_toxic":  # needs the request body: bodies are buffered, then forwarded
        attrs = validate_http_toxic("schema_drift", {"tool": "never", "pointer": "/a"})
        return [ToxicView("d", "schema_drift", attributes=attrs)]
    return []


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), mode=st.sampled_from(["plain", "head_toxic", "body_toxic", "recorder"]),
       count=st.integers(1, 4))
def test_untouched_traffic_relays_byte_identical(data: st.DataObject, mode: str, count: int) -> None:
    exchanges = []
    for _ in range(count):
        req, resp = data.draw(message(request=True)), data.draw(message(request=False))
        exchanges.append((splits(data, req), splits(data, resp)))
    with tempfile.TemporaryDirectory() as tmp:
        recorder = Recorder(Path(tmp) / "r.jsonl") if mode == "recorder" else None
        upstream_got, client_got, errors = asyncio.run(run_through_relay(exchanges, _views(mode), recorder))
        if recorder is not None:
            recorder.close()
            lines = read_recording(Path(tmp) / "r.jsonl")
            assert [ln["response"]["status"] for ln in lines] == [
                int(b"".join(r).split(b"\r\n")[0].split(b" ")[1]) for _, r in exchanges]
    assert not errors
    assert upstream_got == b"".join(b"".join(q) for q, _ in exchanges)
    assert client_got == b"".join(b"".join(r) for _, r in exchanges)


async def _garbage_run(blob: bytes) -> tuple[list[BaseException], bool]:
    errors: list[BaseException] = []
    done = asyncio.Event()

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        writer.close()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", up_port)
            await relay_http(reader, writer, ur, uw, toxics=lambda: _views("body_toxic"), recorder=None,
                             proxy_name="p")
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    up_server = await asyncio.start_server(upstream, "127.0.0.1", 0)
    up_port = up_server.sockets[0].getsockname()[1]
    relay_server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", relay_server.sockets[0].getsockname()[1])
        writer.write(blob)
        writer.write_eof()
        finished = True
        try:
            await asyncio.wait_for(done.wait(), 5)
        except TimeoutError:
            finished = False
        writer.close()
    finally:
        relay_server.close()
        up_server.close()
    return errors, finished


GARBAGE = st.one_of(
    st.binary(max_size=400),
    st.lists(st.sampled_from([b"GET / HTTP/1.1\r\n", b"Content-Length: 5\r\n", b"Content-Length: -1\r\n",
                              b"Transfer-Encoding: chunked\r\n", b"\r\n", b"5\r\nabc", b"zz\r\n", b": x\r\n",
                              b"POST /x HTTP/1.0\r\n", b"0\r\n\r\n", b"\x00\xff", b"hello"]),
             max_size=12).map(b"".join),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blob=GARBAGE)
def test_malformed_client_bytes_never_crash_the_relay(blob: bytes) -> None:
    errors, finished = asyncio.run(_garbage_run(blob))
    assert not errors
    assert finished  # the relay ended once the client was done, it did not hang


@given(raw=st.binary(max_size=200))
def test_head_parsers_reject_cleanly(raw: bytes) -> None:
    for parse in (parse_request_head, parse_response_head):
        try:
            head = parse(raw + b"\r\n\r\n")
        except HttpParseError:
            continue
        assert head.raw == raw + b"\r\n\r\n"


async def run_mixed(exchanges: list[tuple[bytes, bytes, bool]], views: list[ToxicView]) -> tuple[
        bytes, list[bytes], list[BaseException]]:
    """One client connection; requests flagged ``hit`` must be answered by the toxic, the rest relayed."""
    upstream_got = bytearray()
    errors: list[BaseException] = []
    relayed = [(q, r) for q, r, hit in exchanges if not hit]

    async def upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for req, resp in relayed:
            upstream_got.extend(await reader.readexactly(len(req)))
            writer.write(resp)
            await writer.drain()
        await reader.read()
        writer.close()

    finished = asyncio.Event()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", up_port)
            await relay_http(reader, writer, ur, uw, toxics=lambda: views, recorder=None, proxy_name="p")
        except BaseException as exc:
            errors.append(exc)
        finally:
            finished.set()

    up_server = await asyncio.start_server(upstream, "127.0.0.1", 0)
    up_port = up_server.sockets[0].getsockname()[1]
    relay_server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    replies: list[bytes] = []
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", relay_server.sockets[0].getsockname()[1])
        for req, resp, hit in exchanges:
            writer.write(req)
            if hit:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                replies.append(head + await reader.readexactly(length))
            else:
                replies.append(await asyncio.wait_for(reader.readexactly(len(resp)), 5))
        writer.close()
        await writer.wait_closed()
        await asyncio.wait_for(finished.wait(), 5)  # the relay must end by itself once the client left
    finally:
        relay_server.close()
        up_server.close()
    return bytes(upstream_got), replies, errors


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), count=st.integers(1, 6))
def test_random_request_sequences_on_one_connection(data: st.DataObject, count: int) -> None:
    """Toxics hit exactly the matching requests; the others on the same connection relay untouched."""
    attrs = validate_http_toxic("http_status", {"path": "/hit*", "status": 503, "body": {"e": 1}})
    views = [ToxicView("s", "http_status", attributes=attrs)]
    exchanges = []
    for _ in range(count):
        req = data.draw(message(request=True))
        hit = data.draw(st.booleans())
        method, rest = req.split(b" ", 1)
        req = method + b" /hit" + rest if hit else req.replace(b" /", b" /miss", 1)
        exchanges.append((req, data.draw(message(request=False)), hit))
    upstream_got, replies, errors = asyncio.run(run_mixed(exchanges, views))
    assert not errors
    assert upstream_got == b"".join(q for q, _, hit in exchanges if not hit)
    for (_, resp, hit), reply in zip(exchanges, replies, strict=True):
        if hit:
            assert reply.startswith(b"HTTP/1.1 503 ") and reply.endswith(b'{"e": 1}')
        else:
            assert reply == resp
