"""Notify agent (REST): an "external vendor" that sends customer messages.

It must never receive personal data. It records every payload it receives (in memory
and in ``notify_received.jsonl`` in the state dir) so tests can look for PII in them.
``/v1/notifications`` is the structured primary path; ``/v1/messages`` takes plain text
and is the orchestrator's fallback.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from pydantic import BaseModel, Field

from harness.sandbox.common import AgentControls, JsonlFile, RequestBody, agent_arg_parser, rest_app, serve


class Notification(RequestBody):
    claim_id: str = Field(min_length=1)
    status: str
    customer: dict[str, str] = Field(default_factory=dict)
    template: str = "claim-status"


class PlainMessage(RequestBody):
    claim_id: str = Field(min_length=1)
    text: str


class Receipt(BaseModel):
    claim_id: str
    delivered: bool
    channel: str


def create_app(record: JsonlFile | None = None) -> AgentControls:
    app = rest_app("notify agent (external vendor)")
    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    def keep(channel: str, payload: dict[str, Any]) -> None:
        entry = {"ts": time.time(), "channel": channel, "payload": payload}
        with lock:
            received.append(entry)
        if record is not None:
            record.append(entry)

    @app.post("/v1/notifications", response_model=Receipt)
    def notify(msg: Notification) -> Receipt:
        keep("notification", msg.model_dump())
        return Receipt(claim_id=msg.claim_id, delivered=True, channel="notification")

    @app.post("/v1/messages", response_model=Receipt)
    def message(msg: PlainMessage) -> Receipt:
        keep("message", msg.model_dump())
        return Receipt(claim_id=msg.claim_id, delivered=True, channel="message")

    @app.get("/v1/received")
    def all_received() -> list[dict[str, Any]]:
        with lock:
            return list(received)

    return AgentControls(app, "notify")


def main() -> None:
    args = agent_arg_parser("sandbox notify agent").parse_args()
    serve(create_app(JsonlFile(args.state_dir / "notify_received.jsonl")), args.host, args.port)


if __name__ == "__main__":
    main()
