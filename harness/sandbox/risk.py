"""Risk agent (A2A 1.0 JSON-RPC, a2a-sdk 1.x): scores a claim.

The orchestrator sends ``SendMessage`` with one data part ``{claim_id, amount,
description}``; the agent answers with a completed task whose artifact
``risk-assessment`` holds ``{claim_id, risk_score, decision}``. The output schema is
published in the agent card (an extension), so contract tests can see it. The
``schema_drift_risk`` defect renames ``risk_score`` to ``score`` in both the result and
the card, as a careless agent release would.
"""

from __future__ import annotations

from typing import Any

from harness.sandbox.common import AgentControls, agent_arg_parser, serve

SCHEMA_EXTENSION_URI = "urn:harness:sandbox:output-schema"


def score_claim(amount: float, description: str) -> tuple[float, str]:
    """Deterministic risk: suspicious words score high, otherwise it grows with the amount."""
    score = 0.95 if "fraud" in description.lower() else round(min(0.1 + amount / 100000, 0.7), 4)
    decision = "approve" if score < 0.5 else "review" if score < 0.8 else "reject"
    return score, decision


def output_schema(score_field: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"claim_id": {"type": "string"}, score_field: {"type": "number"},
                       "decision": {"type": "string", "enum": ["approve", "review", "reject"]}},
        "required": ["claim_id", score_field, "decision"],
    }


def create_app(base_url: str, defects: list[str]) -> AgentControls:
    from a2a.helpers import new_data_part, new_task_from_user_message, new_text_message
    from a2a.server.agent_execution import AgentExecutor, RequestContext
    from a2a.server.events import EventQueue
    from a2a.server.request_handlers import DefaultRequestHandler
    from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
    from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
    from a2a.types import AgentCapabilities, AgentCard, AgentExtension, AgentInterface, AgentSkill
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.struct_pb2 import Struct
    from starlette.applications import Starlette

    score_field = "score" if "schema_drift_risk" in defects else "risk_score"

    class RiskAgent(AgentExecutor):
        async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
            data: dict[str, Any] = {}
            for part in MessageToDict(context.message).get("parts", []):
                if isinstance(part.get("data"), dict):
                    data.update(part["data"])
            task = context.current_task or new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
            updater = TaskUpdater(event_queue, task.id, task.context_id)
            await updater.start_work()
            try:
                amount = float(data["amount"])
                claim_id = str(data["claim_id"])
            except (KeyError, TypeError, ValueError):
                await updater.failed(new_text_message("expected a data part with claim_id and amount",
                                                      context_id=task.context_id, task_id=task.id))
                return
            score, decision = score_claim(amount, str(data.get("description", "")))
            result = {"claim_id": claim_id, score_field: score, "decision": decision}
            await updater.add_artifact([new_data_part(result)], name="risk-assessment")
            await updater.complete(new_text_message("assessment done", context_id=task.context_id,
                                                    task_id=task.id))

        async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
            raise RuntimeError("cancel not supported")

    params = Struct()
    params.update({"output_schema": output_schema(score_field)})
    card = AgentCard(
        name="risk", description="Scores the fraud risk of an insurance claim.", version="1.0.0",
        supported_interfaces=[AgentInterface(url=base_url + "/", protocol_binding="JSONRPC",
                                             protocol_version="1.0")],
        capabilities=AgentCapabilities(streaming=False, push_notifications=False, extensions=[
            AgentExtension(uri=SCHEMA_EXTENSION_URI, description="JSON Schema of the risk-assessment artifact",
                           required=False, params=params)]),
        default_input_modes=["application/json"], default_output_modes=["application/json"],
        skills=[AgentSkill(id="risk-score", name="Risk scoring",
                           description=f"Returns claim_id, {score_field} (0..1) and decision.",
                           tags=["claims", "risk"], examples=['{"claim_id": "C-1", "amount": 120.0}'])],
    )
    handler = DefaultRequestHandler(agent_executor=RiskAgent(), task_store=InMemoryTaskStore(), agent_card=card)
    app = Starlette(routes=[*create_agent_card_routes(card),
                            *create_jsonrpc_routes(handler, rpc_url="/", enable_v0_3_compat=False)])
    return AgentControls(app, "risk")


def main() -> None:
    args = agent_arg_parser("sandbox risk agent (A2A)").parse_args()
    serve(create_app(f"http://{args.host}:{args.port}", args.defect), args.host, args.port)


if __name__ == "__main__":
    main()
