"""The real HTTP server the HTTP-toxic tests proxy to (Starlette on uvicorn, on a free port)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from harness.system.ports import free_port

ORDER = {"order": {"id": "ord-7f3a", "amount": 42, "currency": "EUR", "paid": False,
                   "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}]}, "ok": True}


@dataclass
class Upstream:
    """A running upstream and the requests it saw (``hits``: method, path, X-Test-Id)."""

    port: int
    hits: list[tuple[str, str, str | None]] = field(default_factory=list)

    def hit_ids(self) -> list[str | None]:
        return [h[2] for h in self.hits]


def build_app(up: Upstream) -> Starlette:
    async def note(request: Request) -> None:
        up.hits.append((request.method, request.url.path, request.headers.get("x-test-id")))

    async def order(request: Request) -> Response:
        await note(request)
        return JSONResponse(ORDER)

    async def rpc(request: Request) -> Response:
        await note(request)
        msg = json.loads(await request.body())
        result = {"method": msg.get("method"), "amount": 10, "status": "completed",
                  "params": msg.get("params")}
        return JSONResponse({"jsonrpc": "2.0", "id": msg.get("id"), "result": result})

    async def echo(request: Request) -> Response:
        await note(request)
        body = await request.body()
        return Response(body, media_type=request.headers.get("content-type", "application/octet-stream"),
                        headers={"x-body-size": str(len(body))})

    async def sse(request: Request) -> Response:
        await note(request)
        n = int(request.query_params.get("n", "5"))

        async def events() -> AsyncIterator[bytes]:
            for i in range(n):
                yield f"id: {i}\ndata: {{\"n\": {i}}}\n\n".encode()
                await asyncio.sleep(0.01)

        return StreamingResponse(events(), media_type="text/event-stream")

    async def chunked_json(request: Request) -> Response:
        await note(request)
        text = json.dumps(ORDER).encode()

        async def parts() -> AsyncIterator[bytes]:
            for i in range(0, len(text), 7):
                yield text[i:i + 7]

        return StreamingResponse(parts(), media_type="application/json")

    async def blob(request: Request) -> Response:
        await note(request)
        n = int(request.query_params.get("n", "1000"))
        return Response(bytes(i % 251 for i in range(n)), media_type="application/octet-stream")

    async def gz(request: Request) -> Response:
        """A server that compresses whatever the client accepts (as some gateways do)."""
        await note(request)
        doc = {**ORDER, "accept_encoding": request.headers.get("accept-encoding")}
        return Response(gzip.compress(json.dumps(doc).encode()), media_type="application/json",
                        headers={"Content-Encoding": "gzip"})

    return Starlette(routes=[
        Route("/gz", gz),
        Route("/order", order), Route("/orders/{oid}", order), Route("/rpc", rpc, methods=["POST"]),
        Route("/echo", echo, methods=["POST", "PUT"]), Route("/sse", sse), Route("/chunked", chunked_json),
        Route("/blob", blob),
    ])


@contextmanager
def run_upstream() -> Iterator[Upstream]:
    """Serve the app with uvicorn in a thread; stop it on exit."""
    up = Upstream(port=free_port())
    config = uvicorn.Config(build_app(up), host="127.0.0.1", port=up.port, log_level="warning",
                            lifespan="off", http="h11", loop="asyncio", timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("upstream did not start")
        time.sleep(0.01)
    try:
        yield up
    finally:
        server.should_exit = True
        thread.join(10)
