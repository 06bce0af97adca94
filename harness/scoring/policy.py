"""Policy adherence: agent actions from spans and audit events, judged by Cedar (cedarpy).

The mapping of a span to a Cedar request is the contract in docs/telemetry.md. Spans are
the authoritative record of what was attempted; audit events only add actions no span
shows. A system typically writes several audit records per action (decision, blocked,
side effect), so all audit events with the key of a span action (trace id, principal,
action, resource) are dropped, and audit-only records of one action are merged.

Policies are re-keyed by their ``@id`` annotation so a violation names
``needs-approval`` instead of cedarpy's positional ``policy3``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.errors import ConfigError
from harness.model.scorecard import PolicyResult, Violation
from harness.scoring.data import AuditEvent, Span

ACTION_OPERATIONS = ("invoke_agent", "execute_tool")

NO_POLICIES = "system.yaml declares no Cedar policies (policies.files)"
NO_ACTIONS = ("policies declared but no agent actions were seen in spans or audit events: "
              "check system.yaml's traces/audit sources and docs/telemetry.md")


@dataclass(frozen=True)
class AgentAction:
    principal: str
    action: str
    resource: str
    context: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    t_wall: float | None = None
    trace_id: str | None = None
    span_id: str | None = None
    source: str = "span"
    system_decision: str | None = None
    """What the system itself decided (span ``policy.decision`` / audit ``decision``), if it says."""
    enforced: bool = True
    """``False`` when the system says it let the action through despite its own decision
    (span ``policy.enforced`` / audit ``enforced``); absent means enforced."""

    @property
    def blocked_by_system(self) -> bool:
        """The system denied and enforced it: attempted, never carried out."""
        return self.system_decision == "Deny" and self.enforced

    @property
    def key(self) -> tuple[str | None, str, str, str]:
        return (self.trace_id, self.principal, self.action, self.resource)

    def request(self) -> dict[str, Any]:
        return {"principal": _uid("Agent", self.principal), "action": _uid("Action", self.action),
                "resource": _uid("Agent", self.resource), "context": self.context}


@dataclass(frozen=True)
class Decision:
    action: AgentAction
    allowed: bool
    policies: list[str]
    errors: list[str]


def is_agent_action(span: Span) -> bool:
    return (span.get("attributes") or {}).get("gen_ai.operation.name") in ACTION_OPERATIONS


def action_from_span(span: Span) -> AgentAction | None:
    """The Cedar view of a span, or ``None`` when the span is not an agent action."""
    attrs = span.get("attributes") or {}
    op = attrs.get("gen_ai.operation.name")
    if op not in ACTION_OPERATIONS:
        return None
    action = str(attrs.get("gen_ai.tool.name") or "unknown_tool") if op == "execute_tool" else "invoke_agent"
    start = span.get("start_ns")
    return AgentAction(
        principal=str((span.get("resource") or {}).get("service.name") or "unknown"),
        action=action,
        resource=str(attrs.get("gen_ai.agent.name") or "unknown"),
        context=cedar_context({k[4:]: v for k, v in attrs.items() if k.startswith("ctx.")}),
        t_wall=start / 1e9 if isinstance(start, int | float) else None,
        trace_id=span.get("trace_id"),
        span_id=span.get("span_id"),
        system_decision=_opt_str(attrs.get("policy.decision")),
        enforced=attrs.get("policy.enforced") is not False,
    )


def action_from_audit(rec: AuditEvent) -> AgentAction | None:
    if not rec.get("action") or not rec.get("principal"):
        return None
    ts = rec.get("ts")
    return AgentAction(
        principal=str(rec["principal"]), action=str(rec["action"]),
        resource=str(rec.get("resource") or "unknown"),
        context=cedar_context(rec.get("context") or {}),
        t_wall=float(ts) if isinstance(ts, int | float) else None,
        trace_id=rec.get("trace_id") or None, span_id=rec.get("span_id") or None, source="audit",
        system_decision=_opt_str(rec.get("decision")),
        enforced=rec.get("enforced") is not False,
    )


def collect_actions(spans: list[Span], audit: list[AuditEvent]) -> list[AgentAction]:
    """Span actions, then audit actions no span shows, one per distinct audited action.

    Audit-only records are the same action when they share trace (or workflow) id,
    principal, action, resource and context: e.g. a ``policy_decision`` record and the business event it allowed.
    """
    actions = [a for a in map(action_from_span, spans) if a is not None]
    span_keys = {a.key for a in actions if a.trace_id}
    merged: set[tuple[Any, ...]] = set()
    for rec in audit:
        act = action_from_audit(rec)
        if act is None or (act.trace_id and act.key in span_keys):
            continue
        ident = (act.trace_id or rec.get("workflow_id") or rec.get("ts"), act.principal, act.action,
                 act.resource, json.dumps(act.context, sort_keys=True))
        if ident in merged:
            continue
        merged.add(ident)
        actions.append(act)
    return actions


def cedar_context(raw: dict[str, Any]) -> dict[str, Any]:
    """Cedar has bool, long, string, set and record, no floats and no null: integral floats
    become longs; other floats and nulls are dropped (a policy reading them then errors,
    which Cedar treats as not-permitted, and the error is reported)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        conv = _cedar_value(value)
        if conv is not None:
            out[str(key)] = conv
    return out


def _cedar_value(value: Any) -> Any:
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, list | tuple):
        return [v for v in map(_cedar_value, value) if v is not None]
    if isinstance(value, dict):
        return cedar_context(value)
    return None


def policy_set(policies: dict[str, str]) -> Any:
    """Parse ``name -> cedar text`` into one cedarpy ``PolicySet`` keyed by ``@id``.

    Policies without ``@id`` are named ``<file>#<n>``. A parse error is a ``ConfigError``
    naming the file.
    """
    import cedarpy

    merged: dict[str, Any] = {}
    for name in sorted(policies):
        text = policies[name]
        if not text.strip():
            continue
        try:
            est = json.loads(cedarpy.policies_to_json_str(text))
        except ValueError as exc:
            raise ConfigError(f"Cedar policy does not parse: {exc}", path=f"policies/{name}") from None
        for pos, body in est.get("staticPolicies", {}).items():
            pid = str((body.get("annotations") or {}).get("id") or f"{name}#{pos.removeprefix('policy')}")
            while pid in merged:
                pid += "'"
            merged[pid] = body
    return cedarpy.PolicySet.from_json_str(json.dumps({"templates": {}, "staticPolicies": merged,
                                                        "templateLinks": []}))


def evaluate(actions: list[AgentAction], policies: dict[str, str],
             entities: list[dict[str, Any]] | None = None) -> list[Decision]:
    """Judge every action with ``cedarpy.is_authorized_batch`` (one call for the whole run)."""
    import cedarpy

    if not actions:
        return []
    pset = policy_set(policies)
    ents = list(entities or [])
    uids = [e.get("uid") for e in ents if isinstance(e, dict)]
    known = {f"{u.get('type')}::{u.get('id')}" for u in uids if isinstance(u, dict)}
    for uid in sorted({a.principal for a in actions} | {a.resource for a in actions}):
        if f"Agent::{uid}" not in known:
            ents.append({"uid": {"type": "Agent", "id": uid}, "attrs": {}, "parents": []})
    try:
        entity_store = cedarpy.Entities.from_json_str(json.dumps(ents))
    except ValueError as exc:
        raise ConfigError(f"Cedar entities do not parse: {exc}", path="policies/entities.json") from None
    results = cedarpy.is_authorized_batch([a.request() for a in actions], pset, entity_store)
    out = []
    for act, res in zip(actions, results, strict=True):
        allowed = bool(res.allowed)
        diag = res.diagnostics
        out.append(Decision(act, allowed, [] if allowed else list(diag.reasons), list(diag.errors)))
    return out


def adherence(decisions: list[Decision],
              where: Callable[[AgentAction], tuple[str | None, str | None]]) -> PolicyResult:
    """Adherence overall and per phase, and one ``Violation`` per action carried out against policy.

    An action adheres when Cedar permits it, or when Cedar forbids it and the system itself
    blocked it (its own decision was Deny and it enforced it): failing closed is adherence.
    ``adherence = adhering / actions``. ``where`` maps an action to its ``(scenario, phase)``;
    actions outside every phase window count in the total but in no phase.
    """
    by_phase: dict[str, list[bool]] = {}
    violations = []
    blocked = 0
    for dec in decisions:
        scenario, phase = where(dec.action)
        act = dec.action
        adheres = dec.allowed or act.blocked_by_system
        blocked += int(not dec.allowed and act.blocked_by_system)
        if phase is not None:
            by_phase.setdefault(phase, []).append(adheres)
        if adheres:
            continue
        reason = ("forbidden by " + ", ".join(dec.policies)) if dec.policies else \
            "no permit policy matched (default deny)"
        if act.system_decision:
            reason += f"; the system itself decided {act.system_decision}"
            if not act.enforced:
                reason += " but did not enforce it"
        if dec.errors:
            reason += "; errors: " + "; ".join(dec.errors)
        violations.append(Violation(trace_id=act.trace_id, span_id=act.span_id, principal=act.principal,
                                    action=act.action, resource=act.resource, phase=phase,
                                    scenario=scenario, policies=dec.policies, reason=reason))
    n = len(decisions)
    return PolicyResult(
        actions=n,
        permitted=sum(1 for d in decisions if d.allowed),
        blocked=blocked,
        adherence=(n - len(violations)) / n if n else None,
        by_phase={p: sum(v) / len(v) for p, v in by_phase.items()},
        violations=violations,
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _uid(kind: str, ident: str) -> dict[str, str]:
    return {"type": kind, "id": ident}
