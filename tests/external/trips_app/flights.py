"""The ``flights`` agent: ``uvicorn trips_app.flights:app`` (always idempotent on trip_id)."""

from .agents import make_agent

app = make_agent("flights", "flight_booked", defect_allowed=False)
