"""An OTLP/HTTP trace receiver on loopback that appends received spans to a JSONL file.

It speaks the OTLP/HTTP wire format (``POST /v1/traces``, protobuf or JSON, optionally
gzip), so the OpenTelemetry SDK's ``OTLPSpanExporter`` or a real OpenTelemetry Collector
(``otlphttp`` exporter) can forward to it unchanged. Spans are written in the harness
JSONL shape (docs/telemetry.md) with secrets redacted, one flushed line per span.

A stdlib ``ThreadingHTTPServer`` is enough here: trace export is a few requests per
second, and it keeps the receiver free of an event loop the caller might already run.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import threading
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.telemetry.spans import spans_from_otlp, spans_from_protobuf

MAX_BODY = 32 * 1024 * 1024
TRACES_PATH = "/v1/traces"


class OtlpReceiver:
    """``with OtlpReceiver(path) as rx: ... rx.endpoint`` -- receive until the block ends."""

    def __init__(self, out: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.out = Path(out)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.out.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self.spans_received = 0
        self.requests = 0
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The full URL to give ``OTLPSpanExporter(endpoint=...)``."""
        host = self._server.server_address[0]
        return f"http://{host}:{self.port}{TRACES_PATH}"

    def start(self) -> OtlpReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_until_signalled(self, ready: Callable[[], None] = lambda: None) -> None:
        """Serve from a thread and block the calling (main) thread until SIGINT or SIGTERM.

        ``ready`` runs once the handlers are in place (the CLI prints its banner there, so
        whoever waits for the banner may signal at once).

        The signals only set an event: a KeyboardInterrupt raised wherever the main thread
        happens to be (inside the server's request dispatch, say) could skip the clean stop.
        """
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            ready()
            while not stop.wait(0.2):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def write(self, spans: list[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(s, sort_keys=True, default=str) + "\n" for s in spans)
        with self._lock:
            self._file.write(lines)
            self._file.flush()
            self.spans_received += len(spans)
            self.requests += 1


def decode_body(body: bytes, content_type: str, content_encoding: str) -> list[dict[str, Any]]:
    """OTLP/HTTP body to spans; ``ValueError`` with a readable message when it is not one."""
    encoding = content_encoding.strip().lower()
    if encoding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"bad gzip body: {exc}") from None
    elif encoding not in ("", "identity"):
        raise ValueError(f"unsupported Content-Encoding {content_encoding!r}")
    ctype = content_type.split(";")[0].strip().lower()
    if ctype in ("application/x-protobuf", "application/protobuf"):
        return spans_from_protobuf(body)
    if ctype == "application/json":
        try:
            doc = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"bad JSON body: {exc}") from None
        if not isinstance(doc, dict):
            raise ValueError("JSON body is not an ExportTraceServiceRequest object")
        return list(spans_from_otlp(doc))
    raise ValueError(f"unsupported Content-Type {content_type!r}")


def _handler_for(receiver: OtlpReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            if self.path.split("?")[0] != TRACES_PATH:
                self._reply(404, "text/plain", b"only POST /v1/traces is served\n")
                return
            try:
                body = self._read_body()
            except ValueError as exc:
                self._reply(413 if "too large" in str(exc) else 400, "text/plain", f"{exc}\n".encode())
                self.close_connection = True
                return
            ctype = self.headers.get("Content-Type", "")
            try:
                spans = decode_body(body, ctype, self.headers.get("Content-Encoding", ""))
            except ValueError as exc:
                self._reply(400, "text/plain", f"{exc}\n".encode())
                return
            receiver.write(spans)
            if "json" in ctype:
                self._reply(200, "application/json", b"{}")
            else:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceResponse,
                )

                self._reply(200, "application/x-protobuf", ExportTraceServiceResponse().SerializeToString())

        def _read_body(self) -> bytes:
            """Content-Length or chunked transfer encoding, capped at ``MAX_BODY``."""
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks, total = [], 0
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    total += size
                    if total > MAX_BODY:
                        raise ValueError("body too large")
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ValueError("body too large")
            return self.rfile.read(length)

        def _reply(self, status: int, ctype: str, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI reports counts
            return

    return Handler
