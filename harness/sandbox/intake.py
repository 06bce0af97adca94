"""Intake agent (REST): validates a claim and classifies it.

Rejects claims without a description with 422, a client error the orchestrator must not
retry (the ``wrong_error_mapping`` defect retries it as if it were a 5xx).
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from harness.sandbox.common import AgentControls, agent_arg_parser, serve


class Customer(BaseModel):
    name: str
    email: str
    iban: str


class IntakeRequest(BaseModel):
    claim_id: str = Field(min_length=1)
    amount: float = Field(gt=0)
    description: str
    customer: Customer


class IntakeResult(BaseModel):
    claim_id: str
    accepted: bool
    category: str


def create_app() -> AgentControls:
    app = FastAPI(title="intake agent", version="1.0.0")

    @app.post("/v1/intake", response_model=IntakeResult)
    def intake(req: IntakeRequest) -> IntakeResult:
        if not req.description.strip():
            raise HTTPException(status_code=422, detail="description required")
        category = "large" if req.amount > 1000 else "standard"
        return IntakeResult(claim_id=req.claim_id, accepted=True, category=category)

    return AgentControls(app, "intake")


def main() -> None:
    args = agent_arg_parser("sandbox intake agent").parse_args()
    serve(create_app(), args.host, args.port)


if __name__ == "__main__":
    main()
