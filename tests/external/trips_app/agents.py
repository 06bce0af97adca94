"""The booking agents: ``flights`` and ``hotels`` share this code, each in its own process.

``POST /book {"trip_id": ...}`` books once per trip: a repeated request for a trip that is
already booked returns the existing booking and writes nothing (the agent is idempotent on
``trip_id``). A new booking writes one audit record ``{"ts", "event", "trip_id",
"booking_id"}`` to ``$AUDIT_FILE`` and every request one SERVER span to ``$SPANS_FILE``.

Seeded defect (hotels only): ``SEEDED_DEFECT=double_book`` drops the idempotency check, so a
retried request books (and audits) the same trip again.
"""

from __future__ import annotations

import os
import time
import uuid

from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from .telemetry import new_span_id, new_trace_id, parse_traceparent, write_audit, write_span


class BookRequest(BaseModel):
    trip_id: str = Field(min_length=1, max_length=200)


class Booking(BaseModel):
    trip_id: str
    booking_id: str
    agent: str


class Health(BaseModel):
    status: str


def make_agent(name: str, event: str, *, defect_allowed: bool) -> FastAPI:
    app = FastAPI(title=f"{name} agent", version="1.0.0")
    bookings: dict[str, Booking] = {}
    double_book = defect_allowed and os.environ.get("SEEDED_DEFECT") == "double_book"

    @app.get("/health")
    async def health() -> Health:
        return Health(status="ok")

    @app.post("/book", responses={400: {"description": "the body is not JSON"}})
    async def book(req: BookRequest, request: Request) -> Booking:
        start = time.time_ns()
        existing = bookings.get(req.trip_id)
        if existing is not None and not double_book:
            result, booked = existing, False
        else:
            result = Booking(trip_id=req.trip_id, booking_id=f"{name[0].upper()}-{uuid.uuid4().hex[:12]}", agent=name)
            bookings[req.trip_id] = result
            booked = True
            write_audit(event, trip_id=req.trip_id, booking_id=result.booking_id)
        trace_id, parent = parse_traceparent(request.headers.get("traceparent"))
        write_span(service=name, name=f"{name}.book", kind="SERVER", trace_id=trace_id or new_trace_id(),
                   span_id=new_span_id(), parent_span_id=parent, start_ns=start, end_ns=time.time_ns(), ok=True,
                   attributes={"gen_ai.agent.name": name, "trip.id": req.trip_id, "booking.id": result.booking_id,
                               "booking.new": booked})
        return result

    return app
