"""HTTP/1.1 message framing for the proxy's HTTP-aware relay.

Why our own parser instead of h11: the relay must forward untouched traffic *byte for byte*
(header case, order, chunk sizes and extensions), stream bodies piece by piece as they arrive
(SSE), and only decode what a toxic or the recorder needs. So this module reads heads, works
out the body framing (RFC 9112 section 6) and yields each body piece as ``(raw, data)``: the exact
wire bytes to forward, and the decoded payload they carry.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import cached_property

MAX_CHUNK_LINE = 4096
READ_SIZE = 64 * 1024

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(rb"^HTTP/1\.[01]$")


class HttpParseError(Exception):
    """The peer sent something that is not HTTP/1.x; the relay answers 400 (client) and closes."""


@dataclass
class Head:
    """A parsed request or response head. ``raw`` is the exact bytes received, CRLFCRLF included."""

    raw: bytes
    start: tuple[str, str, str]  # request: (method, target, version); response: (version, status, reason)
    headers: list[tuple[str, str]]
    version: str

    @cached_property
    def _by_name(self) -> dict[str, list[str]]:
        """Values per lower-case name, built once: the relay looks up several headers per message."""
        index: dict[str, list[str]] = {}
        for key, value in self.headers:
            index.setdefault(key.lower(), []).append(value)
        return index

    def get(self, name: str) -> str | None:
        """Value of the first header called ``name`` (case-insensitive), or None."""
        values = self._by_name.get(name.lower())
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        return list(self._by_name.get(name.lower(), ()))

    def tokens(self, name: str) -> list[str]:
        """Comma-separated tokens of every ``name`` header, lower-cased (Connection, Transfer-Encoding)."""
        return [t.strip().lower() for v in self.get_all(name) for t in v.split(",") if t.strip()]

    @property
    def method(self) -> str:
        return self.start[0]

    @property
    def target(self) -> str:
        return self.start[1]

    @property
    def status(self) -> int:
        return int(self.start[1])


@dataclass(frozen=True)
class Framing:
    """How a body is delimited: ``none``, ``length`` (with ``length``), ``chunked`` or ``close`` (to EOF)."""

    kind: str
    length: int = 0


NO_BODY = Framing("none")


class WatchedReader(asyncio.StreamReader):
    """A StreamReader that wakes a waiter on every byte or EOF fed to it, without consuming them.

    The proxy core feeds the relay through these (harness/proxy/relay.py). Between two requests
    the relay waits for whichever comes first, the client's next request head or the upstream
    speaking or closing; with two plain readers that takes two tasks and a cancellation per
    request, with these one future set by ``feed_data``/``feed_eof``.
    """

    waker: asyncio.Future[None] | None = None

    def feed_data(self, data: bytes) -> None:
        super().feed_data(data)
        self._wake()

    def feed_eof(self) -> None:
        super().feed_eof()
        self._wake()

    def set_exception(self, exc: BaseException) -> None:
        super().set_exception(exc)
        self._wake()

    def _wake(self) -> None:
        waker = self.waker
        if waker is not None and not waker.done():
            waker.set_result(None)

    def buffered(self) -> int:
        """Bytes received and not read yet."""
        return len(self._buffer)

    def has_data(self) -> bool:
        """Whether a read would return at once: bytes are buffered, or the peer closed or failed."""
        return bool(self._buffer) or self._eof or self._exception is not None

    def has_head(self) -> bool:
        """Whether reading a message head would return at once (it is buffered, or the peer is gone)."""
        return self._eof or self._exception is not None or self._buffer.find(b"\r\n\r\n") != -1

    async def wait_either(self, other: WatchedReader) -> None:
        """Until this reader has a whole head or ``other`` has any data (both only watched)."""
        while not self.has_head() and not other.has_data():
            waker = asyncio.get_running_loop().create_future()
            self.waker = other.waker = waker
            try:
                await waker
            finally:
                self.waker = other.waker = None


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """Read one message head. None on a clean EOF before any byte (the peer closed an idle connection)."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpParseError("connection closed in the middle of a message head") from None
    except asyncio.LimitOverrunError:
        raise HttpParseError("message head larger than the reader's limit") from None


def _parse_headers(lines: list[bytes]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for line in lines:
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise HttpParseError(f"malformed header line {line[:60]!r}")
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return headers


def parse_request_head(raw: bytes) -> Head:
    """Parse a request head (``raw`` ends with CRLFCRLF). Raises HttpParseError on anything invalid."""
    lines = raw[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1] or not _VERSION.match(parts[2]):
        raise HttpParseError(f"malformed request line {lines[0][:80]!r}")
    method, target, version = (p.decode("latin-1") for p in parts)
    return Head(raw, (method, target, version), _parse_headers(lines[1:]), version)


def parse_response_head(raw: bytes) -> Head:
    """Parse a response head. Raises HttpParseError if the upstream did not speak HTTP/1.x."""
    lines = raw[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    status, _, reason = rest.partition(b" ")
    if not _VERSION.match(version) or len(status) != 3 or not status.isdigit():
        raise HttpParseError(f"malformed status line {lines[0][:80]!r}")
    start = (version.decode("latin-1"), status.decode("latin-1"), reason.decode("latin-1"))
    return Head(raw, start, _parse_headers(lines[1:]), start[0])


def _content_length(head: Head) -> int | None:
    values = {v.strip() for raw in head.get_all("content-length") for v in raw.split(",")}
    if not values:
        return None
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise HttpParseError(f"invalid Content-Length {sorted(values)!r}")
    return int(next(iter(values)))


def request_framing(head: Head) -> Framing:
    """Body framing of a request: chunked, Content-Length, or none (requests never read to EOF)."""
    codings = head.tokens("transfer-encoding")
    if codings:
        if codings[-1] != "chunked":
            raise HttpParseError("request Transfer-Encoding must end with chunked")
        return Framing("chunked")
    length = _content_length(head)
    return Framing("length", length) if length else NO_BODY


def response_framing(head: Head, request_method: str) -> Framing:
    """Body framing of a response to ``request_method`` (HEAD, 1xx, 204 and 304 carry no body)."""
    status = head.status
    if request_method == "HEAD" or status < 200 or status in (204, 304):
        return NO_BODY
    codings = head.tokens("transfer-encoding")
    if codings:
        return Framing("chunked") if codings[-1] == "chunked" else Framing("close")
    length = _content_length(head)
    if length is None:
        return Framing("close")
    return Framing("length", length) if length else NO_BODY


def keep_alive(head: Head) -> bool:
    """Whether the connection may carry another message after this one (HTTP/1.1 defaults to yes)."""
    tokens = head.tokens("connection")
    if "close" in tokens:
        return False
    return head.version == "HTTP/1.1" or "keep-alive" in tokens


async def iter_body(reader: asyncio.StreamReader, framing: Framing) -> AsyncIterator[tuple[bytes, bytes]]:
    """Yield ``(raw, data)`` pieces of a body as they arrive, without buffering the whole body.

    ``raw`` is exactly what came over the wire (chunk size lines, extensions and trailers included),
    ``data`` the payload bytes inside it. Raises HttpParseError if the peer closes early or sends a
    broken chunk.
    """
    if framing.kind == "length":
        remaining = framing.length
        while remaining:
            piece = await reader.read(min(remaining, READ_SIZE))
            if not piece:
                raise HttpParseError(f"connection closed with {remaining} body bytes missing")
            remaining -= len(piece)
            yield piece, piece
    elif framing.kind == "close":
        while piece := await reader.read(READ_SIZE):
            yield piece, piece
    elif framing.kind == "chunked":
        async for item in _iter_chunked(reader):
            yield item


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        line = await reader.readuntil(b"\r\n")
    except asyncio.IncompleteReadError:
        raise HttpParseError("connection closed inside a chunked body") from None
    except asyncio.LimitOverrunError:
        raise HttpParseError("chunk size line too long") from None
    if len(line) > MAX_CHUNK_LINE:
        raise HttpParseError("chunk size line too long")
    return line


async def _iter_chunked(reader: asyncio.StreamReader) -> AsyncIterator[tuple[bytes, bytes]]:
    while True:
        line = await _read_line(reader)
        size_text = line[:-2].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise HttpParseError(f"bad chunk size {size_text[:20]!r}") from None
        if size < 0 or not size_text.isalnum():
            raise HttpParseError(f"bad chunk size {size_text[:20]!r}")
        if size == 0:
            trailer = bytearray(line)
            while True:  # trailer fields, then the final empty line
                tline = await _read_line(reader)
                trailer += tline
                if tline == b"\r\n":
                    break
            yield bytes(trailer), b""
            return
        prefix = line
        remaining = size
        while remaining:
            piece = await reader.read(min(remaining, READ_SIZE))
            if not piece:
                raise HttpParseError("connection closed inside a chunk")
            remaining -= len(piece)
            yield prefix + piece, piece
            prefix = b""
        try:
            crlf = await reader.readexactly(2)
        except asyncio.IncompleteReadError:
            raise HttpParseError("connection closed after a chunk") from None
        if crlf != b"\r\n":
            raise HttpParseError("chunk data not followed by CRLF")
        yield crlf, b""


def encode_chunk(data: bytes) -> bytes:
    """One chunk in wire form (empty data would end the body, so callers skip it)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


def build_head(start_line: str, headers: list[tuple[str, str]]) -> bytes:
    """Serialize a head from a start line and header pairs."""
    lines = [start_line, *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def replace_headers(headers: list[tuple[str, str]], drop: set[str],
                    add: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Headers without those named in ``drop`` (lower-case), then ``add`` appended."""
    return [(k, v) for k, v in headers if k.lower() not in drop] + list(add)
