"""Payout agent (MCP over streamable HTTP, ``mcp`` 2.x): the only agent that moves money.

Tool ``issue_payout(claim_id, amount, idempotency_key)`` is idempotent per key: a repeated
key returns the first payout and moves no money. The ledger lives in
``payout_ledger.jsonl`` in the state dir, so idempotency survives a restart, and every
real money movement is also written as a ``payout_issued`` audit event (docs/telemetry.md),
which is how integrity checks find duplicated payouts. The server runs stateless with
JSON responses so an HTTP proxy can read and rewrite each call.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any, TypedDict

from harness.sandbox.common import AgentControls, JsonlFile, agent_arg_parser, read_jsonl, serve


class PayoutResult(TypedDict):
    claim_id: str
    amount: float
    status: str
    payout_ref: str
    idempotency_key: str


class Ledger:
    """Payouts by idempotency key, persisted as JSON lines."""

    def __init__(self, state_dir: Path) -> None:
        self._file = JsonlFile(state_dir / "payout_ledger.jsonl")
        self._audit = JsonlFile(state_dir / "audit.jsonl")
        self._by_key: dict[str, PayoutResult] = {}
        for row in read_jsonl(self._file.path):
            self._by_key[row["idempotency_key"]] = PayoutResult(**{k: row[k] for k in PayoutResult.__annotations__})
        self._lock = threading.Lock()

    def pay(self, claim_id: str, amount: float, key: str, approved: bool, workflow_id: str,
            trace_id: str, decision: str) -> PayoutResult:
        with self._lock:
            if key in self._by_key:
                return self._by_key[key]
            result = PayoutResult(claim_id=claim_id, amount=amount, status="paid",
                                  payout_ref=f"PAY-{uuid.uuid4().hex[:12]}", idempotency_key=key)
            self._file.append({**result, "ts": time.time()})
            self._audit.append({
                "ts": time.time(), "principal": "orchestrator", "action": "issue_payout", "resource": "payout",
                "context": {"amount": round(amount * 100), "approved": approved, "contains_pii": False,
                            "moves_money": True},
                "claim_id": claim_id, "workflow_id": workflow_id, "trace_id": trace_id,
                "decision": decision, "event": "payout_issued", "payout_ref": result["payout_ref"],
                # money moved: a Deny the orchestrator reported was, by definition, not enforced
                "enforced": decision == "Allow",
            })
            self._by_key[key] = result
            return result

    def all(self) -> list[dict[str, Any]]:
        return read_jsonl(self._file.path)


def create_app(state_dir: Path) -> AgentControls:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from starlette.requests import Request
    from starlette.responses import JSONResponse

    ledger = Ledger(state_dir)
    server = MCPServer("payout")

    @server.tool()
    def issue_payout(claim_id: str, amount: float, idempotency_key: str, approved: bool = False,
                     workflow_id: str = "", trace_id: str = "", policy_decision: str = "Allow") -> PayoutResult:
        """Pay ``amount`` for ``claim_id`` once per ``idempotency_key``.

        ``approved``, ``workflow_id``, ``trace_id`` and ``policy_decision`` only annotate the
        audit event; the orchestrator decides, this agent records what it was told.
        """
        if amount <= 0:
            raise ToolError("amount must be positive")
        if not idempotency_key:
            raise ToolError("idempotency_key required")
        return ledger.pay(claim_id, amount, idempotency_key, approved, workflow_id, trace_id, policy_decision)

    @server.custom_route("/v1/ledger", methods=["GET"])
    async def ledger_route(request: Request) -> JSONResponse:
        return JSONResponse(ledger.all())

    app = server.streamable_http_app(stateless_http=True, json_response=True)
    return AgentControls(app, "payout")


def main() -> None:
    args = agent_arg_parser("sandbox payout agent (MCP)").parse_args()
    serve(create_app(args.state_dir), args.host, args.port)


if __name__ == "__main__":
    main()
