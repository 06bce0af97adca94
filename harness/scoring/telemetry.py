"""The scorecard's ``telemetry`` section: the intake counts plus what the kept spans could
not give, naming the attribute that was missing.

Retry amplification (``agent_calls_per_workflow``) counts spans whose
``gen_ai.operation.name`` is ``invoke_agent`` or ``execute_tool``; Cedar policy reads
``gen_ai.agent.name``, ``gen_ai.tool.name`` and the resource's ``service.name``
(docs/telemetry.md). Spans without them leave those figures null or judged against
``unknown``; a null with no word of why is how a new user loses an afternoon, so each gap
becomes a warning here. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter

from harness.model.scorecard import Integrity, ScenarioResult, TelemetryIntake
from harness.scoring.data import RunData
from harness.scoring.policy import ACTION_OPERATIONS, AgentAction

AMPLIFICATION = "retry amplification (agent_calls_per_workflow) not measured"
OPERATION = "gen_ai.operation.name"


def telemetry_section(run: RunData, actions: list[AgentAction], scenarios: list[ScenarioResult],
                      integrity: Integrity) -> TelemetryIntake:
    """``run.telemetry`` (or counts of what ``run`` holds, when it was built in memory) with
    the warnings of ``amplification_warnings`` and ``policy_warnings`` appended."""
    base = run.telemetry or TelemetryIntake(spans_read=len(run.spans), spans_kept=len(run.spans),
                                            audit_read=len(run.audit), audit_kept=len(run.audit))
    measured = any(ph.agent_calls_per_workflow is not None
                   for s in scenarios for r in s.repeats for ph in r.phases.values())
    extra = [] if measured or not integrity.submitted else amplification_warnings(run, actions, integrity)
    if run.policies:
        extra += policy_warnings(run, actions)
    return base.model_copy(update={"warnings": list(dict.fromkeys([*base.warnings, *extra]))})


def amplification_warnings(run: RunData, actions: list[AgentAction], integrity: Integrity) -> list[str]:
    """Why no phase has a retry amplification although workflows were submitted."""
    spans = run.spans
    calls = [a for a in actions if a.source == "span"]
    if not spans:
        return [f"{AMPLIFICATION}: no spans of this run were read (system.yaml traces.jsonl, docs/telemetry.md)"]
    if not calls:
        ops = Counter(str((s.get("attributes") or {}).get(OPERATION)) for s in spans
                      if (s.get("attributes") or {}).get(OPERATION) is not None)
        wanted = " or ".join(ACTION_OPERATIONS)
        if not ops:
            named = sum(1 for s in spans if (s.get("attributes") or {}).get("gen_ai.agent.name"))
            hint = (f"; {named} of them name gen_ai.agent.name, so add {OPERATION} to those" if named else "")
            return [f"{AMPLIFICATION}: none of the {len(spans)} spans has the attribute {OPERATION} "
                    f"({wanted}), so no span counts as an agent call{hint}"]
        seen = ", ".join(f"{op} ({n})" for op, n in ops.most_common(5))
        return [f"{AMPLIFICATION}: no span has {OPERATION} {wanted} (seen: {seen})"]
    if not integrity.completed:
        return [f"{AMPLIFICATION}: no submitted workflow completed, so {len(calls)} agent calls "
                "have no workflows to be divided by"]
    return [f"{AMPLIFICATION}: {len(calls)} agent-call spans, but none starts inside a scenario phase "
            "(check the system's clock against the journal)"]


def policy_warnings(run: RunData, actions: list[AgentAction]) -> list[str]:
    """Agent actions Cedar judged with a stand-in name because an attribute was missing, or
    no actions at all although policies are declared."""
    if not actions:
        partial = sum(1 for r in run.audit if not r.get("principal") or not r.get("action"))
        audit = (f"; {partial} audit events lack principal or action" if partial else "")
        return [f"policy adherence not measured: no agent actions (spans need {OPERATION} "
                f"{' or '.join(ACTION_OPERATIONS)}; audit events need principal and action){audit}"]
    out = []
    span_actions = [s for s in run.spans if (s.get("attributes") or {}).get(OPERATION) in ACTION_OPERATIONS]
    gaps = (
        ("gen_ai.agent.name", 'their Cedar resource is Agent::"unknown"', span_actions,
         lambda s: (s.get("attributes") or {}).get("gen_ai.agent.name")),
        ("gen_ai.tool.name", 'their Cedar action is Action::"unknown_tool"',
         [s for s in span_actions if (s.get("attributes") or {}).get(OPERATION) == "execute_tool"],
         lambda s: (s.get("attributes") or {}).get("gen_ai.tool.name")),
        ("resource service.name", 'their Cedar principal is Agent::"unknown"', span_actions,
         lambda s: (s.get("resource") or {}).get("service.name")),
    )
    for attribute, effect, pool, get in gaps:
        missing = sum(1 for s in pool if not get(s))
        if missing:
            out.append(f"{missing} of {len(pool)} agent-call spans have no {attribute}: {effect}")
    return out
