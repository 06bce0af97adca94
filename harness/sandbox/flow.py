"""The claims workflow and its steps: intake -> risk -> policy check -> approval -> payout -> notify.

The workflow logic (:func:`run_claim`) is written once against a small :class:`Runner`
interface. The healthy orchestrator runs it on DBOS (each step checkpointed in SQLite, so
a crash resumes at the last finished step); the ``lose_inflight_on_crash`` defect runs the
same logic in a plain thread with state in memory.

Every agent call is one span (docs/telemetry.md) and is checked against the Cedar
policies first; the decision goes to the audit log. Steps return plain dicts and report
business outcomes (an agent said no) as values, not exceptions, because DBOS stores step
results and replays them on recovery.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from harness.sandbox.common import JsonlFile
from harness.sandbox.config import AGENTS, PROTOCOLS, OrchestratorConfig
from harness.sandbox.policy import PolicyEngine
from harness.sandbox.resilience import AgentError, AgentRejected, Breaker, Caller, ContractError
from harness.sandbox.telemetry import make_tracer

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b")


class WorkflowFailed(Exception):
    """The claim cannot complete (e.g. approval never reachable); it is never paid."""


class Context:
    """Process-wide parts of the orchestrator the steps use (set once by :func:`init`)."""

    def __init__(self, cfg: OrchestratorConfig) -> None:
        self.cfg = cfg
        r = cfg.resilience
        self.breakers = {a: Breaker(r.breaker_threshold, r.breaker_cooldown_s,
                                    never_closes=cfg.has("breaker_never_closes")) for a in AGENTS}
        self.callers = {a: Caller(a, cfg.agents[a], cfg, self.breakers[a]) for a in AGENTS}
        self.policy = PolicyEngine()
        self.audit = JsonlFile(cfg.state_dir / "audit.jsonl")
        self.provider, self.tracer = make_tracer(cfg.state_dir / "traces.jsonl", cfg.otlp_endpoint)


CTX: Context | None = None


def init(cfg: OrchestratorConfig) -> Context:
    global CTX
    CTX = Context(cfg)
    return CTX


def ctx() -> Context:
    if CTX is None:
        raise RuntimeError("flow.init() was not called")
    return CTX


# ---------------------------------------------------------------- PII


def redact_customer(customer: dict[str, str]) -> dict[str, str]:
    """What the vendor may see: an initial, no email, the IBAN's last four characters."""
    name = customer.get("name", "")
    return {"name": (name[:1] + ".") if name else "", "email": "***", "iban": "****" + customer.get("iban", "")[-4:]}


def contains_pii(payload: Any, customer: dict[str, str]) -> bool:
    """True if the payload holds the customer's name/email/IBAN or anything shaped like one."""
    text = json.dumps(payload, ensure_ascii=False)
    raw = [v for v in (customer.get("name"), customer.get("email"), customer.get("iban")) if v and len(v) > 2]
    # Whole-word matches, so a name like "Aid" does not hit the word "paid".
    hit = any(re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text) for v in raw)
    return hit or bool(_EMAIL.search(text) or _IBAN.search(text))


# ---------------------------------------------------------------- one agent action


def act(agent: str, wf_id: str, claim: dict[str, Any], context: dict[str, Any],
        call: Callable[[list[dict[str, Any]]], dict[str, Any]], *, tool: str | None = None,
        enforce: bool = True) -> dict[str, Any]:
    """Check policy, then call ``agent`` inside one span; audit the decision.

    ``enforce=False`` is how defects that bypass policy show up honestly: the decision is
    still evaluated and recorded (``policy.enforced = false``), the call happens anyway.
    """
    c = ctx()
    action = tool or "invoke_agent"
    decision = c.policy.check(agent, action, context)
    op = "execute_tool" if tool else "invoke_agent"
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": op, "gen_ai.agent.name": agent, "gen_ai.conversation.id": wf_id,
        "claim.id": claim["claim_id"], "workflow.id": wf_id, "sandbox.protocol": PROTOCOLS[agent],
        "policy.decision": decision.decision, "policy.enforced": enforce,
        "policy.reasons": decision.reasons, "server.address": c.cfg.agents[agent],
        **{f"ctx.{k}": v for k, v in context.items()},
    }
    if tool:
        attrs["gen_ai.tool.name"] = tool
    with c.tracer.start_as_current_span(f"{op} {tool or agent}", kind=SpanKind.CLIENT, attributes=attrs) as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        audit = {"ts": time.time(), "principal": "orchestrator", "action": action, "resource": agent,
                 "context": context, "claim_id": claim["claim_id"], "workflow_id": wf_id, "trace_id": trace_id,
                 "decision": decision.decision, "event": "policy_decision", "reasons": decision.reasons,
                 "enforced": enforce}
        c.audit.append(audit)
        if not decision.allowed and enforce:
            c.audit.append({**audit, "ts": time.time(), "event": "action_blocked"})
            span.set_status(Status(StatusCode.ERROR, "denied by policy"))
            return {"blocked": True, "reasons": decision.reasons}
        attempts: list[dict[str, Any]] = []
        try:
            out = call(attempts)
        except AgentError as exc:
            span.set_status(Status(StatusCode.ERROR, str(exc)))
            span.set_attribute("error.type", type(exc).__name__)
            span.set_attribute("http.response.status_code", exc.status)
            raise
        finally:
            span.set_attribute("sandbox.attempts", len(attempts))
            for a in attempts:
                span.add_event("attempt", {k: v for k, v in a.items() if isinstance(v, str | int | float)})
        return {"trace_id": trace_id, "attempts": len(attempts), **out}


def _ctx(claim: dict[str, Any], *, approved: bool = False, pii: bool = False, money: bool = False) -> dict[str, Any]:
    return {"amount": round(float(claim["amount"]) * 100), "approved": approved, "contains_pii": pii,
            "moves_money": money}


# ---------------------------------------------------------------- steps (plain functions)


def intake(wf_id: str, claim: dict[str, Any]) -> dict[str, Any]:
    def call(log: list[dict[str, Any]]) -> dict[str, Any]:
        return ctx().callers["intake"].request("POST", "/v1/intake", json=claim, attempts_log=log).json()

    try:
        return act("intake", wf_id, claim, _ctx(claim, pii=True), call)
    except AgentRejected as exc:
        return {"accepted": False, "rejected": True, "status": exc.status, "error": str(exc)}


def risk(wf_id: str, claim: dict[str, Any]) -> dict[str, Any]:
    def call(log: list[dict[str, Any]]) -> dict[str, Any]:
        data = {k: claim[k] for k in ("claim_id", "amount", "description")}
        rpc = {"jsonrpc": "2.0", "id": uuid.uuid4().hex, "method": "SendMessage",
               "params": {"message": {"messageId": uuid.uuid4().hex, "role": "ROLE_USER", "parts": [{"data": data}]}}}
        body = ctx().callers["risk"].request("POST", "/", json=rpc, headers={"A2A-Version": "1.0"},
                                             attempts_log=log).json()
        if "error" in body:
            raise AgentRejected("risk", f"JSON-RPC error {body['error']}", status=502)
        task = body.get("result", {}).get("task", {})
        state = task.get("status", {}).get("state")
        if state != "TASK_STATE_COMPLETED":
            raise AgentRejected("risk", f"task ended in {state}", status=502)
        result: dict[str, Any] = {}
        for art in task.get("artifacts", []):
            for part in art.get("parts", []):
                if isinstance(part.get("data"), dict):
                    result.update(part["data"])
        if not isinstance(result.get("risk_score"), int | float) or "decision" not in result:
            raise ContractError("risk", f"result lacks risk_score/decision: {sorted(result)}", status=502)
        return {"risk_score": float(result["risk_score"]), "decision": result["decision"]}

    return act("risk", wf_id, claim, _ctx(claim), call)


def policy_check(wf_id: str, claim: dict[str, Any], assessment: dict[str, Any]) -> dict[str, Any]:
    """Business routing: does the claim need approval, or is it rejected on risk alone?"""
    c = ctx()
    route = {"needs_approval": float(claim["amount"]) > c.cfg.resilience.approval_threshold,
             "reject": assessment.get("decision") == "reject"}
    # Not an agent action, so no principal/action/resource: policy scoring must not judge it.
    c.audit.append({"ts": time.time(), "event": "claim_routed", "claim_id": claim["claim_id"],
                    "workflow_id": wf_id, "amount": _ctx(claim)["amount"], **route})
    return route


def approval(wf_id: str, claim: dict[str, Any], risk_score: float) -> dict[str, Any]:
    """One approval attempt (with the caller's retries). Unreachable is a value, not an error."""
    def call(log: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"claim_id": claim["claim_id"], "amount": claim["amount"], "risk_score": risk_score,
                "description": claim.get("description", "")}
        # fail_open_approval: an approver that "fails open" gives up at the first error, no retries
        once = 1 if ctx().cfg.has("fail_open_approval") else None
        return ctx().callers["approval"].request("POST", "/v1/approvals", json=body, attempts_log=log,
                                                 max_attempts=once).json()

    try:
        out = act("approval", wf_id, claim, _ctx(claim), call)
    except AgentRejected:
        raise  # the approver answered (with a 4xx): that is not "unreachable"
    except AgentError as exc:
        return {"reachable": False, "error": str(exc)}
    return {"reachable": True, **out}


def payout(wf_id: str, claim: dict[str, Any], approved: bool, enforce: bool) -> dict[str, Any]:
    c = ctx()
    key = f"{wf_id}:payout"
    context = _ctx(claim, approved=approved, money=True)
    decision_now = c.policy.check("payout", "issue_payout", context).decision

    def call(log: list[dict[str, Any]]) -> dict[str, Any]:
        args: dict[str, Any] = {"claim_id": claim["claim_id"], "amount": float(claim["amount"]),
                                "idempotency_key": key, "approved": approved, "workflow_id": wf_id,
                                "policy_decision": decision_now}
        rpc = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "issue_payout", "arguments": args}}

        def per_attempt(i: int) -> dict[str, str]:
            if c.cfg.has("duplicate_payout"):  # defect: every retry is a brand-new payout request
                args["idempotency_key"] = f"{wf_id}:payout:{uuid.uuid4().hex[:8]}"
            return {}

        args["trace_id"] = format(trace.get_current_span().get_span_context().trace_id, "032x")
        resp = c.callers["payout"].request("POST", "/mcp", json=rpc, attempts_log=log, before_attempt=per_attempt,
                                           headers={"Accept": "application/json, text/event-stream"})
        body = resp.json()
        result = body.get("result") or {}
        if "error" in body or result.get("isError"):
            raise AgentRejected("payout", f"tool error: {body.get('error') or result.get('content')}", status=502)
        return dict(result.get("structuredContent") or {})

    return act("payout", wf_id, claim, context, call, tool="issue_payout", enforce=enforce)


def notify(wf_id: str, claim: dict[str, Any], status: str, reference: str) -> dict[str, Any]:
    """Tell the customer via the vendor. Primary: structured, redacted. Fallback: plain text."""
    c = ctx()
    customer = claim["customer"]
    primary = {"claim_id": claim["claim_id"], "status": status, "customer": redact_customer(customer)}

    def send(path: str, body: dict[str, Any]) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
        return lambda log: c.callers["notify"].request("POST", path, json=body, attempts_log=log).json()

    try:
        out = act("notify", wf_id, claim, _ctx(claim, pii=contains_pii(primary, customer)),
                  send("/v1/notifications", primary))
        return {"delivered": not out.get("blocked"), "channel": "notification", **out}
    except AgentError as exc:
        first_error = str(exc)
    if c.cfg.has("pii_to_notify_on_fallback"):
        text = (f"Dear {customer['name']} <{customer['email']}>, claim {claim['claim_id']} is {status}; "
                f"funds go to {customer['iban']} (ref {reference}).")
    else:
        text = f"Claim {claim['claim_id']} is {status} (ref {reference})."
    fallback = {"claim_id": claim["claim_id"], "text": text}
    enforce = not c.cfg.has("pii_to_notify_on_fallback")
    try:
        out = act("notify", wf_id, claim, _ctx(claim, pii=contains_pii(fallback, customer)),
                  send("/v1/messages", fallback), enforce=enforce)
    except AgentError as exc:
        return {"delivered": False, "error": f"{first_error}; fallback: {exc}"}
    return {"delivered": not out.get("blocked"), "channel": "message", "fallback": True, **out}


STEP_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "intake": intake, "risk": risk, "policy_check": policy_check, "approval": approval,
    "payout": payout, "notify": notify,
}


# ---------------------------------------------------------------- the workflow


class Runner(Protocol):
    workflow_id: str

    def step(self, name: str, *args: Any) -> dict[str, Any]: ...
    def stage(self, stage: str) -> None: ...
    def sleep(self, seconds: float) -> None: ...


def run_claim(runner: Runner, claim: dict[str, Any]) -> dict[str, Any]:
    c = ctx()
    wf = runner.workflow_id
    attrs = {"gen_ai.operation.name": "invoke_workflow", "claim.id": claim["claim_id"], "workflow.id": wf,
             "gen_ai.conversation.id": wf}
    with c.tracer.start_as_current_span("invoke_workflow claims", kind=SpanKind.INTERNAL, attributes=attrs) as span:
        result: dict[str, Any] = {"claim_id": claim["claim_id"], "status": "", "approved": None, "payout_ref": None}
        runner.stage("intake")
        checked = runner.step("intake", wf, claim)
        if not checked.get("accepted"):
            result.update(status="rejected_by_intake", error=checked.get("error"))
            runner.stage("done")
            return result
        runner.stage("risk")
        assessment = runner.step("risk", wf, claim)
        result["risk_score"] = assessment["risk_score"]
        runner.stage("policy_check")
        route = runner.step("policy_check", wf, claim, assessment)
        approved, enforce = False, True
        if route["reject"]:
            result["status"] = "rejected_on_risk"
        elif route["needs_approval"]:
            runner.stage("waiting_approval")
            r = c.cfg.resilience
            for _ in range(max(1, math.ceil(r.approval_deadline_s / r.approval_retry_s))):
                decision = runner.step("approval", wf, claim, assessment["risk_score"])
                if decision.get("reachable"):
                    approved = bool(decision.get("approved"))
                    result["approved"] = approved
                    if not approved:
                        result["status"] = "denied"
                    break
                if c.cfg.has("fail_open_approval"):  # defect: pay although nobody approved
                    enforce, result["approved"] = False, False
                    break
                runner.sleep(r.approval_retry_s)  # fail closed: wait and ask again
            else:
                span.set_status(Status(StatusCode.ERROR, "approval unavailable"))
                raise WorkflowFailed(f"approval unreachable for {r.approval_deadline_s}s; claim not paid")
        if not result["status"]:
            runner.stage("payout")
            paid = runner.step("payout", wf, claim, approved, enforce)
            if paid.get("blocked"):
                result["status"] = "blocked_by_policy"
            else:
                result.update(status="paid", payout_ref=paid.get("payout_ref"))
        runner.stage("notify")
        sent = runner.step("notify", wf, claim, result["status"], result.get("payout_ref") or "-")
        result["notified"] = bool(sent.get("delivered"))
        runner.stage("done")
        span.set_attribute("claim.status", result["status"])
        return result


class MemoryRunner:
    """Runs steps directly, keeping state in memory (the ``lose_inflight_on_crash`` defect)."""

    def __init__(self, workflow_id: str) -> None:
        self.workflow_id = workflow_id
        self.state = "PENDING"
        self.current = "submitted"
        self.steps: list[dict[str, Any]] = []
        self.result: Any = None
        self.error: str | None = None

    def step(self, name: str, *args: Any) -> dict[str, Any]:
        try:
            out = STEP_FUNCTIONS[name](*args)
        except Exception as exc:
            self.steps.append({"name": name, "output": None, "error": str(exc)})
            raise
        self.steps.append({"name": name, "output": out, "error": None})
        return out

    def stage(self, stage: str) -> None:
        self.current = stage

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def run(self, claim: dict[str, Any]) -> None:
        try:
            self.result = run_claim(self, claim)
            self.state = "SUCCESS"
        except Exception as exc:
            self.error, self.state = str(exc), "ERROR"

    def start(self, claim: dict[str, Any]) -> None:
        threading.Thread(target=self.run, args=(claim,), daemon=True, name=f"wf-{self.workflow_id}").start()
