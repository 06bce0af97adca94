"""Approval agent (REST): approves or denies a claim and keeps a log of its decisions.

An automatic approver stands in for the human one: it denies claims the risk agent
scored above 0.8 or whose description asks for denial, and approves the rest. The
decision log (``GET /v1/approvals``) lets tests prove a payout came only after approval.
"""

from __future__ import annotations

import threading
import time
import uuid

from pydantic import BaseModel, Field

from harness.sandbox.common import AgentControls, RequestBody, agent_arg_parser, rest_app, serve


class ApprovalRequest(RequestBody):
    claim_id: str = Field(min_length=1)
    amount: float = Field(gt=0)
    risk_score: float = Field(ge=0, le=1)
    description: str = ""


class ApprovalDecision(BaseModel):
    claim_id: str
    approved: bool
    approver: str
    approval_id: str
    decided_at: float


def create_app() -> AgentControls:
    app = rest_app("approval agent")
    log: list[ApprovalDecision] = []
    lock = threading.Lock()

    @app.post("/v1/approvals", response_model=ApprovalDecision)
    def decide(req: ApprovalRequest) -> ApprovalDecision:
        approved = req.risk_score <= 0.8 and "deny" not in req.description.lower()
        decision = ApprovalDecision(claim_id=req.claim_id, approved=approved, approver="auto-approver",
                                    approval_id=f"APR-{uuid.uuid4().hex[:12]}", decided_at=time.time())
        with lock:
            log.append(decision)
        return decision

    @app.get("/v1/approvals", response_model=list[ApprovalDecision])
    def decisions() -> list[ApprovalDecision]:
        with lock:
            return list(log)

    return AgentControls(app, "approval")


def main() -> None:
    args = agent_arg_parser("sandbox approval agent").parse_args()
    serve(create_app(), args.host, args.port)


if __name__ == "__main__":
    main()
