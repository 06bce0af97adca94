"""Pieces every sandbox process shares: the command line, the server runner, JSONL files,
and the built-in failure controls of the agents.

Each agent carries a small ASGI middleware, :class:`AgentControls`, with two jobs:

* it logs every request (path, time, claim id) so tests can count attempts per claim;
* it can be told over HTTP (``POST /_control/faults``) to fail the next N requests with a
  status (optionally with ``Retry-After``), to delay them, or to fail *after* the app has
  handled them (a lost response: the side effect happened, the caller sees an error).

These are the agent's own, real failure modes; the fault layer's proxy injects the same
kinds of failures from outside. Tests of the sandbox use the controls so they do not
depend on the proxy.

REST agents build their FastAPI app with :func:`rest_app`, which keeps them true to their
OpenAPI documents (what ``harness contracts openapi`` checks with schemathesis): the
``400`` FastAPI answers for an unparsable body is documented, and a ``405`` lists in
``Allow`` every method of the path, also when they are served by separate routes. Their
request bodies derive from :class:`RequestBody`, which accepts only what the schema allows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from starlette.responses import Response

CONTROL_PREFIX = "/_control"
_CLAIM_RE = re.compile(rb'"claim_id"\s*:\s*"([^"]+)"')


def agent_arg_parser(description: str) -> argparse.ArgumentParser:
    """The arguments every sandbox process accepts."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--defect", action="append", default=[], help="seeded defect (repeatable)")
    return parser


def serve(app: ASGIApp, host: str, port: int) -> None:
    """Run ``app`` with uvicorn, quietly (logs go to the supervisor's log file)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


class RequestBody(BaseModel):
    """Base of the REST agents' request bodies: no lax coercions their JSON Schema does not
    promise (pydantic would take ``true`` or ``"5"`` for a number; an integer still is one)."""

    model_config = ConfigDict(strict=True)


class ErrorDetail(BaseModel):
    """The body of an HTTP error, as FastAPI sends it: {"detail": "what went wrong"}."""

    detail: str


def rest_app(title: str, version: str = "1.0.0") -> FastAPI:
    """A FastAPI app for a REST agent whose answers all match its OpenAPI document.

    * ``400``: FastAPI answers ``{"detail": "There was an error parsing the body"}`` to a
      body it cannot decode (invalid UTF-8, ...) and the HTTP server answers 400 to a
      malformed request on any path, so every operation documents it.
    * ``405``: Starlette's ``Allow`` names the methods of the first route whose path
      matched; the handler here names those of every route of the path (GET and POST on
      one path are two routes).
    """
    from fastapi import FastAPI

    app = FastAPI(title=title, version=version, responses={
        400: {"model": ErrorDetail, "description": "Malformed request (e.g. a body that is not UTF-8 JSON)"}})
    app.add_exception_handler(405, _method_not_allowed)
    return app


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route of ``app`` serves for the request's path, sorted."""
    from starlette.routing import Route, get_route_path

    path = get_route_path(scope)
    methods: set[str] = set()
    for route in app.router.routes:
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return sorted(methods)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException

    detail = exc.detail if isinstance(exc, HTTPException) else None
    headers = dict(getattr(exc, "headers", None) or {})
    allowed = allowed_methods(request.app, request.scope)
    if allowed:
        headers["Allow"] = ", ".join(allowed)
    return await http_exception_handler(request, HTTPException(405, detail, headers=headers))


class JsonlFile:
    """Append-only JSON lines, one ``write()`` per line with O_APPEND.

    Several processes append to ``audit.jsonl``; a single ``write`` of a short line
    on an O_APPEND descriptor is atomic on Linux, so lines never interleave.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)

    def close(self) -> None:
        os.close(self._fd)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete JSON line of ``path`` (a torn last line from a crash is skipped)."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


class FaultRule(BaseModel):
    """What ``POST /_control/faults`` accepts (strict, so a typo is a 400, not a silent no-op)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    fail_first: int = Field(0, ge=0, description="fail the next N matching requests")
    status: int = Field(503, ge=400, le=599)
    retry_after: float | None = Field(None, ge=0)
    after_processing: bool = Field(False, description="run the request, then answer with the error")
    garble: bool = Field(False, description="failures answer 200 with truncated JSON instead of a status")
    delay_first: int = Field(0, ge=0, description="delay the next N matching requests")
    delay_s: float = Field(0.0, ge=0, le=600)
    path_prefix: str | None = None


class AgentControls:
    """ASGI middleware: request log, ``/healthz``, and injectable failures (see module doc)."""

    def __init__(self, app: ASGIApp, name: str) -> None:
        self.app = app
        self.name = name
        # Bounded: a long load test must not grow an agent's memory without limit.
        self.requests: deque[dict[str, Any]] = deque(maxlen=50_000)
        self.rule: dict[str, Any] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == "/healthz":
            await _send_json(send, 200, {"status": "ok", "agent": self.name})
            return
        if path.startswith(CONTROL_PREFIX):
            await self._control(scope, receive, send)
            return
        body = await _read_body(receive)
        match = _CLAIM_RE.search(body)
        with self._lock:
            self.requests.append({"path": path, "method": scope["method"], "ts": time.time(),
                                  "claim_id": match.group(1).decode() if match else None})
            action = self._take_rule(path)
        replay = _replay(body)
        if action.get("delay_s"):
            await asyncio.sleep(float(action["delay_s"]))
        if action.get("garble"):
            await _send_raw(send, 200, b'{"truncated": ')
            return
        if action.get("status") and not action.get("after_processing"):
            await _send_json(send, int(action["status"]), {"error": "injected failure"},
                             retry_after=action.get("retry_after"))
            return
        if action.get("status"):
            # Lost response: run the app (side effects happen), then answer with an error.
            async def swallow(message: Message) -> None:
                return None

            await self.app(scope, replay, swallow)
            await _send_json(send, int(action["status"]), {"error": "injected failure after processing"})
            return
        await self.app(scope, replay, send)

    def _take_rule(self, path: str) -> dict[str, Any]:
        """Consume one unit of the active rule if it matches ``path``; return what to do."""
        rule = self.rule
        if not rule or not path.startswith(rule.get("path_prefix") or ""):
            return {}
        action: dict[str, Any] = {}
        if rule.get("delay_first", 0) > 0:
            rule["delay_first"] -= 1
            action["delay_s"] = rule.get("delay_s", 0)
        if rule.get("fail_first", 0) > 0:
            rule["fail_first"] -= 1
            action.update(status=rule.get("status", 503), retry_after=rule.get("retry_after"),
                          after_processing=rule.get("after_processing", False), garble=rule.get("garble", False))
        return action

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == f"{CONTROL_PREFIX}/faults" and method == "POST":
            body = await _read_body(receive)
            try:
                rule = FaultRule.model_validate_json(body or b"{}").model_dump()
            except ValueError as exc:
                await _send_json(send, 400, {"error": f"bad fault rule: {exc}"})
                return
            with self._lock:
                self.rule = rule
            await _send_json(send, 200, {"rule": rule})
        elif path == f"{CONTROL_PREFIX}/faults" and method == "DELETE":
            with self._lock:
                self.rule = {}
            await _send_json(send, 200, {"rule": {}})
        elif path == f"{CONTROL_PREFIX}/requests" and method == "GET":
            with self._lock:
                await _send_json(send, 200, list(self.requests))
        else:
            await _send_json(send, 404, {"error": f"unknown control {method} {path}"})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # block like a real client that keeps the connection open
        return {"type": "http.disconnect"}

    return receive


async def _send_json(send: Send, status: int, payload: Any, retry_after: float | None = None) -> None:
    await _send_raw(send, status, json.dumps(payload).encode(), retry_after)


async def _send_raw(send: Send, status: int, body: bytes, retry_after: float | None = None) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
