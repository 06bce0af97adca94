"""The ``trips`` orchestrator: ``uvicorn trips_app.trips:app``.

``POST /trips {"trip_id": ...}`` accepts a trip (202, ``PENDING``) and books it in the
background: first a flight, then a hotel, each through the agent URL in ``$FLIGHTS_URL`` /
``$HOTELS_URL`` (the harness points these at its proxy). Each call has a client timeout of
``$CALL_TIMEOUT_S`` (default 1 s); an error, a 5xx or a timeout is retried with exponential
backoff (``$BACKOFF_S`` doubling up to ``$BACKOFF_MAX_S``) up to ``$MAX_ATTEMPTS`` attempts,
after which the trip is ``FAILED``. ``GET /trips/{id}`` returns the trip (404 if unknown).

Every attempt is one CLIENT span ``invoke_agent <agent>`` (``gen_ai.operation.name:
invoke_agent``, ``gen_ai.agent.name``) in ``$SPANS_FILE``; the agents' SERVER spans join the
same trace through the ``traceparent`` header.
"""

from __future__ import annotations

import asyncio
import os
import time
from contextlib import asynccontextmanager
from typing import Literal

import httpx
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from .telemetry import new_span_id, new_trace_id, write_span

State = Literal["PENDING", "DONE", "FAILED"]


class TripRequest(BaseModel):
    trip_id: str = Field(min_length=1, max_length=200)
    traveller: str | None = None


class Trip(BaseModel):
    trip_id: str
    status: State
    flight_booking: str | None = None
    hotel_booking: str | None = None
    attempts: int = 0
    error: str | None = None


class Health(BaseModel):
    status: str


def _setting(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


CALL_TIMEOUT_S = _setting("CALL_TIMEOUT_S", 1.0)
MAX_ATTEMPTS = int(_setting("MAX_ATTEMPTS", 12))
BACKOFF_S = _setting("BACKOFF_S", 0.2)
BACKOFF_MAX_S = _setting("BACKOFF_MAX_S", 1.0)

trips: dict[str, Trip] = {}
tasks: set[asyncio.Task[None]] = set()
client: httpx.AsyncClient | None = None


@asynccontextmanager
async def lifespan(_app: FastAPI):  # type: ignore[no-untyped-def]
    global client
    client = httpx.AsyncClient(timeout=CALL_TIMEOUT_S, trust_env=False)
    try:
        yield
    finally:
        for task in list(tasks):
            task.cancel()
        await client.aclose()


app = FastAPI(title="trips orchestrator", version="1.0.0", lifespan=lifespan)


async def _book(agent: str, base_url: str, trip: Trip, trace_id: str) -> str:
    """Book with ``agent`` until it answers 2xx; return its booking id. Raises after the last attempt."""
    assert client is not None
    last_error = "no attempt"
    for attempt in range(1, MAX_ATTEMPTS + 1):
        trip.attempts += 1
        span_id, start = new_span_id(), time.time_ns()
        ok = False
        try:
            resp = await client.post(f"{base_url.rstrip('/')}/book", json={"trip_id": trip.trip_id},
                                     headers={"traceparent": f"00-{trace_id}-{span_id}-01"})
            if resp.status_code < 300:
                ok = True
                return str(resp.json()["booking_id"])
            last_error = f"{agent}: HTTP {resp.status_code}"
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            last_error = f"{agent}: {type(exc).__name__}"
        finally:
            write_span(service="trips", name=f"invoke_agent {agent}", kind="CLIENT", trace_id=trace_id,
                       span_id=span_id, parent_span_id=None, start_ns=start, end_ns=time.time_ns(), ok=ok,
                       attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent,
                                   "trip.id": trip.trip_id, "workflow.id": trip.trip_id, "retry.attempt": attempt})
        await asyncio.sleep(min(BACKOFF_MAX_S, BACKOFF_S * 2 ** (attempt - 1)))
    raise RuntimeError(last_error)


async def _process(trip: Trip) -> None:
    trace_id = new_trace_id()
    try:
        trip.flight_booking = await _book("flights", os.environ["FLIGHTS_URL"], trip, trace_id)
        trip.hotel_booking = await _book("hotels", os.environ["HOTELS_URL"], trip, trace_id)
        trip.status = "DONE"
    except Exception as exc:  # any failure ends the trip, visibly
        trip.status, trip.error = "FAILED", str(exc)


@app.get("/health")
async def health() -> Health:
    return Health(status="ok")


@app.post("/trips", status_code=202, responses={400: {"description": "the body is not JSON"}})
async def submit(req: TripRequest) -> Trip:
    existing = trips.get(req.trip_id)
    if existing is not None:  # a resubmitted trip is the same trip
        return existing
    trip = trips[req.trip_id] = Trip(trip_id=req.trip_id, status="PENDING")
    task = asyncio.create_task(_process(trip))
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return trip


@app.get("/trips/{trip_id}", responses={404: {"description": "no such trip"}})
async def status(trip_id: str) -> Trip:
    trip = trips.get(trip_id)
    if trip is None:
        raise HTTPException(404, f"no trip {trip_id!r}")
    return trip
