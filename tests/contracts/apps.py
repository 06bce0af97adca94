"""Small real agents the contract tests run against: a REST (FastAPI) agent, an A2A 1.0
agent and an MCP streamable-HTTP server, each with a switch that breaks its contract.

They are real servers on real loopback sockets (uvicorn in a thread), not mocks; they
stand in for the sandbox where a test needs a *specific* defect (an undocumented 500)
or must run without the sandbox's start-up cost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypedDict
from uuid import uuid4

import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator

from harness.system.ports import free_port

SKILL_SCHEMA_EXT = "https://harness.dev/a2a/ext/skill-schema/v1"


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("fixture server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


# --------------------------------------------------------------------------- REST


class Claim(BaseModel):
    claim_id: str = Field(min_length=1, max_length=40)
    amount: float = Field(ge=0, le=1_000_000)

    @field_validator("amount", mode="before")
    @classmethod
    def _no_bool(cls, value: Any) -> Any:
        # pydantic's lax mode would take `true` as 1; the schema says number.
        if isinstance(value, bool):
            raise ValueError("amount must be a number")
        return value


class Intake(BaseModel):
    claim_id: str
    amount: float
    status: str
    ticket: str


def rest_app(*, broken: bool = False) -> FastAPI:
    """Claims intake. ``broken=True`` answers an undocumented 500 for amounts over 1000."""
    app = FastAPI(title="intake", version="1.0")
    store: dict[str, Intake] = {}

    @app.post("/intake", response_model=Intake, status_code=200,
              responses={400: {"description": "malformed body"}})
    def intake(claim: Claim) -> Intake | JSONResponse:
        if broken and claim.amount > 1000:
            return JSONResponse({"detail": "internal error"}, status_code=500)
        item = Intake(claim_id=claim.claim_id, amount=claim.amount, status="received",
                      ticket=f"T-{uuid4().hex[:8]}")
        store[claim.claim_id] = item
        return item

    @app.get("/intake/{claim_id}", response_model=Intake,
             responses={404: {"description": "unknown claim"}})
    def get_intake(claim_id: str) -> Intake:
        if claim_id not in store:
            raise HTTPException(404, "unknown claim")
        return store[claim_id]

    return app


# A user's orchestrator, written the quick way: handlers take and return plain ``dict``, so
# FastAPI documents the responses as ``{"type": "object", "additionalProperties": true}``
# or ``{}``. ``typed_ids="str"`` is a next version that declares its response and makes
# ``booking_id`` a string.


class Booking(BaseModel):
    booking_id: str
    status: str


def untyped_app(*, typed_ids: str | None = None) -> FastAPI:
    """Trip bookings with untyped responses (``typed_ids=None``), or the version that
    declares ``booking_id: str`` (``typed_ids="str"``)."""
    app = FastAPI(title="trips", version="1.0")
    bookings: dict[int, dict[str, Any]] = {}

    if typed_ids == "str":
        @app.post("/bookings", status_code=201, response_model=Booking)
        def book_typed(body: dict) -> Any:  # type: ignore[type-arg]
            return {"booking_id": str(len(bookings) + 1), "status": "CONFIRMED"}
    else:
        @app.post("/bookings", status_code=201)
        def book(body: dict) -> dict:  # type: ignore[type-arg]
            booking = {"booking_id": len(bookings) + 1, "status": "CONFIRMED", "trip": body}
            bookings[booking["booking_id"]] = booking
            return booking

    @app.get("/bookings/{booking_id}", responses={404: {"description": "unknown booking"}})
    def get_booking(booking_id: int):  # type: ignore[no-untyped-def]  # untyped on purpose: schema {}
        if booking_id not in bookings:
            raise HTTPException(404, "unknown booking")
        return bookings[booking_id]

    return app


# --------------------------------------------------------------------------- A2A

RISK_INPUT = {
    "type": "object", "required": ["claim_id", "amount"], "additionalProperties": False,
    "properties": {"claim_id": {"type": "string", "minLength": 1, "maxLength": 20},
                   "amount": {"type": "number", "minimum": 0, "maximum": 100000}},
}
RISK_OUTPUT = {
    "type": "object", "required": ["claim_id", "risk_score", "decision"],
    "properties": {"claim_id": {"type": "string"}, "risk_score": {"type": "number"},
                   "decision": {"type": "string", "enum": ["approve", "review", "reject"]}},
}


def _valid(data: Any, schema: dict[str, Any]) -> bool:
    import jsonschema

    return jsonschema.Draft202012Validator(schema).is_valid(data)


def a2a_app(*, drift: bool = False, lie: bool = False) -> Any:
    """A risk-scoring A2A 1.0 agent. ``drift=True`` renames ``risk_score`` to ``score`` in
    both its result and its declared output schema (the sandbox's schema_drift_risk);
    ``lie=True`` renames it in the result only, so the card no longer tells the truth."""
    from a2a.helpers import new_data_part, new_task_from_user_message, new_text_message
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
    from a2a.types import AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentSkill
    from google.protobuf import json_format
    from starlette.applications import Starlette

    field = "score" if drift else "risk_score"
    result_field = "score" if drift or lie else "risk_score"
    output = {**RISK_OUTPUT, "required": ["claim_id", field, "decision"],
              "properties": {k if k != "risk_score" else field: v
                             for k, v in RISK_OUTPUT["properties"].items()}}

    class Risk(AgentExecutor):
        async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
            data: dict[str, Any] = {}
            for part in context.message.parts if context.message else []:
                if part.HasField("data"):
                    data = json_format.MessageToDict(part.data)
            task = context.current_task or new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
            updater = TaskUpdater(event_queue, task.id, task.context_id)
            await updater.start_work()
            if not _valid(data, RISK_INPUT):
                await updater.failed(new_text_message("invalid claim data", context_id=task.context_id,
                                                      task_id=task.id))
                return
            amount = float(data["amount"])
            result = {"claim_id": str(data.get("claim_id", "")), result_field: min(amount / 10000, 1.0),
                      "decision": "approve" if amount < 5000 else "review"}
            await updater.add_artifact([new_data_part(result)], name="risk")
            await updater.complete(new_text_message("scored", context_id=task.context_id, task_id=task.id))

        async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
            raise RuntimeError("cancel not supported")

    holder: dict[str, Any] = {}

    def card_for(url: str) -> Any:
        from google.protobuf.struct_pb2 import Struct

        params = Struct()
        params.update({"skills": {"assess": {"input": RISK_INPUT, "output": output}}})
        return AgentCard(
            name="risk", description="claim risk scoring", version="1.0.0",
            supported_interfaces=[AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")],
            capabilities=AgentCapabilities(streaming=False, push_notifications=False, extensions=[
                AgentExtension(uri=SKILL_SCHEMA_EXT, description="JSON Schemas of skill data", params=params)]),
            default_input_modes=["application/json"], default_output_modes=["application/json"],
            skills=[AgentSkill(id="assess", name="Assess risk", description="risk of a claim", tags=["claims"])])

    # The card must carry the real URL, which we only know once the port is chosen:
    # build the app lazily on first request through a tiny ASGI shim.
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if "app" not in holder and scope["type"] == "http":
            host, port = scope["server"]
            card = card_for(f"http://{host}:{port}/")
            handler = DefaultRequestHandler(agent_executor=Risk(), task_store=InMemoryTaskStore(),
                                            agent_card=card)
            holder["app"] = Starlette(routes=[*create_agent_card_routes(card),
                                              *create_jsonrpc_routes(handler, rpc_url="/")])
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": message["type"] + ".complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await holder["app"](scope, receive, send)

    return app


# --------------------------------------------------------------------------- MCP


class PayoutResult(TypedDict):
    claim_id: str
    amount: float
    status: str
    payout_ref: str


def mcp_app(*, lie: bool = False, stateful: bool = False) -> Any:
    """A payments MCP server (stateless JSON mode, or ``stateful``: sessions + SSE bodies).
    ``lie=True`` makes issue_payout return structured content that violates its own outputSchema."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer("payments")
    counter = {"n": 0}

    @server.tool()
    def issue_payout(claim_id: str, amount: float) -> PayoutResult:
        """Pay a claim."""
        if amount < 0:
            raise ToolError("amount must not be negative")
        counter["n"] += 1
        return {"claim_id": claim_id, "amount": amount, "status": "paid", "payout_ref": f"PAY-{counter['n']}"}

    inner = server.streamable_http_app(stateless_http=not stateful, json_response=not stateful)
    if not lie:
        return inner

    # The SDK coerces a tool's return value through its output model, so a lying tool
    # needs the lie added on the wire: rename payout_ref in structuredContent (same length,
    # so Content-Length stays right).
    async def lying(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def rewrite(message: dict[str, Any]) -> None:
            body = message.get("body", b"")
            if message["type"] == "http.response.body" and b"structuredContent" in body:
                message = {**message, "body": body.replace(b'"payout_ref"', b'"payout_REF"')}
            await send(message)

        await inner(scope, receive, rewrite)

    return lying
