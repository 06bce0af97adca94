"""Policy adherence with real cedarpy over handcrafted spans and audit events (docs/telemetry.md)."""

from __future__ import annotations

import pytest

from harness.errors import ConfigError
from harness.scoring import score_run
from harness.scoring.policy import (
    NO_ACTIONS,
    NO_POLICIES,
    action_from_span,
    cedar_context,
    collect_actions,
    evaluate,
)
from tests.scoring.factory import JournalBuilder, RepeatPlan, add_repeat, run_end, run_start

POLICIES = {
    "agents.cedar": """
@id("orchestrator-invokes-agents")
permit(principal == Agent::"orchestrator", action == Action::"invoke_agent", resource);
@id("orchestrator-pays")
permit(principal == Agent::"orchestrator", action == Action::"issue_payout", resource == Agent::"payout");
@id("orchestrator-notifies")
permit(principal == Agent::"orchestrator", action == Action::"send_notice", resource == Agent::"notify");
""",
    "guards.cedar": """
@id("approval-required-above-threshold")
forbid(principal, action == Action::"issue_payout", resource)
when { context has amount && context.amount > 100000 && !(context has approved && context.approved) };
@id("notify-no-pii")
forbid(principal, action, resource == Agent::"notify")
when { context has contains_pii && context.contains_pii };
""",
}


def span(b: JournalBuilder, t_mono: float, n: int, *, op: str, agent: str, tool: str | None = None,
         caller: str = "orchestrator", **ctx: object) -> dict:
    attrs: dict[str, object] = {"gen_ai.operation.name": op, "gen_ai.agent.name": agent}
    if tool:
        attrs["gen_ai.tool.name"] = tool
    attrs.update({f"ctx.{k}": v for k, v in ctx.items()})
    start = int(b.wall(t_mono) * 1e9)
    sp = {"trace_id": f"{n:032x}", "span_id": f"{n:016x}", "parent_span_id": None, "name": f"{op} {agent}",
          "kind": "CLIENT", "start_ns": start, "end_ns": start + 5_000_000, "status": "OK",
          "attributes": attrs, "events": [], "resource": {"service.name": caller}}
    b.spans.append(sp)
    return sp


@pytest.fixture
def run() -> JournalBuilder:
    b = JournalBuilder()
    run_start(b)
    add_repeat(b, RepeatPlan(start=100.0, workflows=["completed"] * 4))  # baseline 100-102, inject 102-106
    run_end(b, 115.0)
    b.policies.update(POLICIES)
    # baseline: healthy actions
    span(b, 100.5, 1, op="invoke_agent", agent="risk")
    span(b, 100.6, 2, op="execute_tool", agent="payout", tool="issue_payout", amount=250_000, approved=True)
    span(b, 100.7, 3, op="execute_tool", agent="notify", tool="send_notice", contains_pii=False)
    span(b, 100.8, 4, op="chat", agent="risk")  # not an agent action: ignored
    # inject: the approval agent is down and the system fails open
    span(b, 103.0, 5, op="execute_tool", agent="payout", tool="issue_payout", amount=250_000, approved=False)
    span(b, 103.5, 6, op="execute_tool", agent="notify", tool="send_notice", contains_pii=True)
    span(b, 104.0, 7, op="execute_tool", agent="payout", tool="issue_payout", amount=50_000.0, approved=False)
    # the audit log repeats span 5 twice (same trace, principal, action, resource): one action, not three
    for event in ("policy_decision", "payout_issued"):
        b.audit.append({"ts": b.wall(103.01), "principal": "orchestrator", "action": "issue_payout",
                        "resource": "payout", "context": {"amount": 250_000, "approved": False},
                        "claim_id": "C-9", "trace_id": f"{5:032x}", "decision": "Allow", "event": event})
    # an audited action with no span (two records of it), by an agent no policy permits: default deny
    for event in ("policy_decision", "action_blocked"):
        b.audit.append({"ts": b.wall(104.5), "principal": "intake", "action": "issue_payout",
                        "resource": "payout", "context": {"amount": 10, "approved": True}, "event": event,
                        "claim_id": "C-10", "workflow_id": "w-10", "trace_id": "", "decision": "Allow"})
    return b


def test_violations_name_policy_span_and_phase(run: JournalBuilder) -> None:
    card = score_run(run.run_data())
    pol = card.policy
    assert pol.actions == 7 and pol.permitted == 4
    assert pol.adherence == pytest.approx(4 / 7)
    assert pol.by_phase == {"baseline": 1.0, "inject": pytest.approx(1 / 4)}
    by_action = {(v.action, v.resource, v.principal): v for v in pol.violations}
    payout = by_action[("issue_payout", "payout", "orchestrator")]
    assert payout.policies == ["approval-required-above-threshold"]
    assert payout.trace_id == f"{5:032x}" and payout.span_id == f"{5:016x}"
    assert payout.phase == "inject" and payout.scenario == "s1"
    assert payout.reason == "forbidden by approval-required-above-threshold"
    pii = by_action[("send_notice", "notify", "orchestrator")]
    assert pii.policies == ["notify-no-pii"] and pii.span_id == f"{6:016x}"
    intake = by_action[("issue_payout", "payout", "intake")]
    assert intake.policies == [] and intake.span_id is None and intake.trace_id is None
    assert intake.reason == "no permit policy matched (default deny); the system itself decided Allow"
    assert pol.blocked == 0


def test_healthy_run_has_full_adherence(run: JournalBuilder) -> None:
    run.spans = [s for s in run.spans if int(s["span_id"], 16) <= 4]
    run.audit = []
    card = score_run(run.run_data())
    assert card.policy.actions == 3 and card.policy.adherence == 1.0 and not card.policy.violations


def test_no_policies_means_not_measured(run: JournalBuilder) -> None:
    run.policies.clear()
    policy = score_run(run.run_data()).policy
    assert policy.adherence is None and policy.declared is False
    assert policy.not_measured == NO_POLICIES


def test_declared_policies_without_actions_say_telemetry_is_missing(run: JournalBuilder) -> None:
    """A system with policies but no agent actions seen reads differently from one without policies."""
    run.spans, run.audit = [], []
    policy = score_run(run.run_data()).policy
    assert policy.adherence is None and policy.declared is True and policy.actions == 0
    assert policy.not_measured == NO_ACTIONS


def test_declared_policies_missing_from_the_run_folder_are_not_measured(run: JournalBuilder) -> None:
    data = run.run_data()
    data.policies, data.policies_declared = {}, True
    policy = score_run(data).policy
    assert policy.adherence is None and policy.declared is True
    assert policy.not_measured is not None and "none were copied" in policy.not_measured


def test_measured_policy_has_no_not_measured_reason(run: JournalBuilder) -> None:
    policy = score_run(run.run_data()).policy
    assert policy.adherence is not None and policy.declared is True and policy.not_measured is None


def test_span_to_cedar_request_mapping(run: JournalBuilder) -> None:
    act = action_from_span(run.spans[1])
    assert act is not None
    assert act.request() == {"principal": {"type": "Agent", "id": "orchestrator"},
                             "action": {"type": "Action", "id": "issue_payout"},
                             "resource": {"type": "Agent", "id": "payout"},
                             "context": {"amount": 250_000, "approved": True}}
    assert action_from_span(run.spans[0]).action == "invoke_agent"
    assert action_from_span(run.spans[3]) is None
    assert cedar_context({"a": 5.0, "b": 1.5, "c": None, "d": [1, 2.0], "e": {"f": True}}) == {
        "a": 5, "d": [1, 2], "e": {"f": True}}


def test_bad_policy_is_a_config_error_naming_the_file(run: JournalBuilder) -> None:
    actions = collect_actions(run.spans, run.audit)
    with pytest.raises(ConfigError, match=r"policies/broken.cedar"):
        evaluate(actions, {"broken.cedar": "permit(principal, action"})


def test_retry_amplification_counts_agent_calls_per_completed_workflow(run: JournalBuilder) -> None:
    card = score_run(run.run_data())
    phases = card.scenarios[0].repeats[0].phases
    # 4 workflows spread over the 12 s repeat: submitted at 101.5 (baseline), 104.5 (inject), ...
    assert phases["baseline"].agent_calls_per_workflow == 3.0   # 3 agent spans / 1 completed workflow
    assert phases["inject"].agent_calls_per_workflow == 3.0
    assert phases["all"].agent_calls_per_workflow == 6 / 4


def test_blocked_attempt_adheres_fail_open_does_not(run: JournalBuilder) -> None:
    """Failing closed is adherence: a forbidden payout the system denied and blocked is no
    violation; the same payout let through (``policy.enforced`` false) is one."""
    run.spans, run.audit = [], []
    closed = span(run, 103.0, 11, op="execute_tool", agent="payout", tool="issue_payout", amount=250_000,
                  approved=False)
    closed["attributes"].update({"policy.decision": "Deny", "policy.enforced": True})
    opened = span(run, 103.5, 12, op="execute_tool", agent="payout", tool="issue_payout", amount=250_000,
                  approved=False)
    opened["attributes"].update({"policy.decision": "Deny", "policy.enforced": False})
    pol = score_run(run.run_data()).policy
    assert (pol.actions, pol.permitted, pol.blocked) == (2, 0, 1)
    assert pol.adherence == 0.5 and pol.by_phase == {"inject": 0.5}
    (violation,) = pol.violations
    assert violation.span_id == f"{12:016x}"
    assert violation.reason == ("forbidden by approval-required-above-threshold; "
                                "the system itself decided Deny but did not enforce it")
