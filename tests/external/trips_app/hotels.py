"""The ``hotels`` agent: ``uvicorn trips_app.hotels:app``; ``SEEDED_DEFECT=double_book`` makes
a retried booking book the trip again (see agents.py)."""

from .agents import make_agent

app = make_agent("hotels", "hotel_booked", defect_allowed=True)
