"""Intake agent (REST): validates a claim and classifies it.

Rejects claims without a description (empty or only whitespace) with 422, a client error
the orchestrator must not retry (the ``wrong_error_mapping`` defect retries it as if it
were a 5xx). The rule is part of the request schema (``pattern``), so the 422 is FastAPI's
documented validation error and schemathesis knows that blank descriptions are invalid.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from harness.sandbox.common import AgentControls, RequestBody, agent_arg_parser, rest_app, serve

# Not blank: some character that str.strip() keeps. Spelled out because \S differs between
# regex dialects: JSON Schema's ECMA-262 (and schemathesis's validator) and Rust's regex
# (pydantic's) count U+001C..U+001F and U+0085 as text, Python's re as whitespace.
NOT_BLANK = r"[^\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"


class Customer(RequestBody):
    name: str
    email: str
    iban: str


class IntakeRequest(RequestBody):
    claim_id: str = Field(min_length=1)
    amount: float = Field(gt=0)
    description: str = Field(pattern=NOT_BLANK, description="what happened; must not be blank")
    customer: Customer


class IntakeResult(BaseModel):
    claim_id: str
    accepted: bool
    category: str


def create_app() -> AgentControls:
    app = rest_app("intake agent")

    @app.post("/v1/intake", response_model=IntakeResult)
    def intake(req: IntakeRequest) -> IntakeResult:
        category = "large" if req.amount > 1000 else "standard"
        return IntakeResult(claim_id=req.claim_id, accepted=True, category=category)

    return AgentControls(app, "intake")


def main() -> None:
    args = agent_arg_parser("sandbox intake agent").parse_args()
    serve(create_app(), args.host, args.port)


if __name__ == "__main__":
    main()
