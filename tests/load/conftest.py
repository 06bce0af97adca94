"""A small real claims API (FastAPI on uvicorn, free port) for the load tests.

It runs in a thread of the test process: real sockets and real HTTP, and the test can
read exactly which workflow ids it issued. ``fail_every`` makes every k-th submit
answer 500 so failure samples can be checked against the server's own count.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from harness.model.system import WorkflowApi
from harness.system.ports import free_port


@dataclass
class ClaimsServer:
    base_url: str
    issued: dict[str, str] = field(default_factory=dict)  # workflow id -> idempotency key
    keys: list[str] = field(default_factory=list)
    claim_ids: list[str] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)
    fail_every: int = 0
    failed: int = 0
    submits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def workflow_api(self) -> WorkflowApi:
        return WorkflowApi(
            submit_url=f"{self.base_url}/claims",
            body={"claim_id": "c-{n}", "amount": 100, "customer": {"id": "u-{n}"},
                  "description": "load {uuid}"},
            status_url=f"{self.base_url}/claims/{{id}}",
        )

    @property
    def health_url(self) -> str:
        return f"{self.base_url}/healthz"


def _app(state: ClaimsServer) -> FastAPI:
    app = FastAPI()

    @app.post("/claims")
    async def submit(request: Request, idempotency_key: str | None = Header(default=None)) -> JSONResponse:
        body = await request.json()
        with state.lock:
            state.submits += 1
            if state.fail_every and state.submits % state.fail_every == 0:
                state.failed += 1
                return JSONResponse({"error": "injected"}, status_code=500)
            wf = f"wf-{uuid.uuid4().hex[:12]}"
            state.issued[wf] = idempotency_key or ""
            state.keys.append(idempotency_key or "")
            state.claim_ids.append(str(body.get("claim_id")))
        return JSONResponse({"workflow_id": wf})

    @app.get("/claims/{wf}")
    async def status(wf: str) -> JSONResponse:
        with state.lock:
            state.polled.append(wf)
            known = wf in state.issued
        if not known:
            return JSONResponse({"error": "unknown"}, status_code=404)
        return JSONResponse({"state": "SUCCESS", "workflow_id": wf})

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture
def claims_server() -> Iterator[ClaimsServer]:
    port = free_port()
    state = ClaimsServer(base_url=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(_app(state), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="claims-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("claims test server did not start")
        time.sleep(0.02)
    yield state
    server.should_exit = True
    thread.join(10)
