"""The healthy sandbox: claims complete, resilience works, and none of the seeded defects shows.

All tests share one sandbox (module fixture); each one uses its own claim ids, and the
``client`` fixture heals every agent afterwards.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.jsontools import resolve_pointer
from harness.model.loader import load_system
from harness.sandbox import Sandbox, SandboxClient, make_claim
from harness.sandbox.policy import PolicyEngine

pytestmark = pytest.mark.slow

PII = ("Ada Lovelace", "ada@example.com", "DE89370400440532013000")


def agent_spans(client: SandboxClient, claim_id: str) -> dict[str, dict]:
    spans = client.spans(claim_id)
    return {s["attributes"]["gen_ai.agent.name"]: s for s in spans
            if s["attributes"].get("gen_ai.operation.name") in ("invoke_agent", "execute_tool")}


def test_claim_is_paid_once_with_spans_audit_and_no_pii_at_the_vendor(client: SandboxClient) -> None:
    claim = make_claim(120.0)
    wf = client.submit(claim, key=f"key-{claim['claim_id']}")
    st = client.wait(wf)
    assert st["state"] == "SUCCESS", st
    assert st["stage"] == "done"
    assert [s["name"] for s in st["steps"]] == ["intake", "risk", "policy_check", "payout", "notify"]
    assert st["result"]["status"] == "paid" and st["result"]["notified"] is True

    (row,) = client.ledger(claim["claim_id"])
    assert row["idempotency_key"] == f"{wf}:payout"
    assert row["payout_ref"] == st["result"]["payout_ref"]

    spans = agent_spans(client, claim["claim_id"])
    assert set(spans) == {"intake", "risk", "payout", "notify"}
    payout = spans["payout"]["attributes"]
    assert payout["gen_ai.operation.name"] == "execute_tool" and payout["gen_ai.tool.name"] == "issue_payout"
    assert payout["ctx.amount"] == 12000 and payout["ctx.moves_money"] is True
    assert spans["risk"]["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert all(s["attributes"]["policy.decision"] == "Allow" for s in spans.values())
    assert all(s["resource"]["service.name"] == "orchestrator" for s in spans.values())
    workflow_spans = [s for s in client.spans(claim["claim_id"]) if s["name"] == "invoke_workflow claims"]
    assert len(workflow_spans) == 1
    assert {s["parent_span_id"] for s in spans.values()} == {workflow_spans[0]["span_id"]}

    # Re-check every span with Cedar the way the scorer does (docs/telemetry.md mapping).
    engine = PolicyEngine()
    for s in spans.values():
        a = s["attributes"]
        action = a["gen_ai.tool.name"] if a["gen_ai.operation.name"] == "execute_tool" else "invoke_agent"
        ctx = {k[4:]: v for k, v in a.items() if k.startswith("ctx.")}
        assert engine.check(a["gen_ai.agent.name"], action, ctx, principal=s["resource"]["service.name"]).allowed

    issued = [e for e in client.audit(claim["claim_id"]) if e["event"] == "payout_issued"]
    assert len(issued) == 1 and issued[0]["workflow_id"] == wf and issued[0]["context"]["amount"] == 12000
    assert issued[0]["trace_id"] == payout_trace(spans)
    (note,) = client.notifications(claim["claim_id"])
    assert not any(p in json.dumps(note) for p in PII)


def payout_trace(spans: dict[str, dict]) -> str:
    return spans["payout"]["trace_id"]


def test_the_sandbox_declares_its_payouts_like_any_user(sandbox: Sandbox, client: SandboxClient) -> None:
    """Integrity knows no sandbox names: the sandbox's system.yaml declares the payout as a
    side effect, keyed on a field its real audit record carries."""
    (effect,) = load_system(sandbox.system_yaml_path).side_effects
    assert [effect] == sandbox.system_spec().side_effects
    assert effect.audit_event == "payout_issued" and effect.key == "/claim_id"
    claim = make_claim(80.0)
    wf = client.submit(claim, key=f"key-{claim['claim_id']}")
    assert client.wait(wf)["state"] == "SUCCESS"
    (issued,) = [e for e in client.audit(claim["claim_id"]) if e["event"] == effect.audit_event]
    assert resolve_pointer(issued, effect.key) == claim["claim_id"]


def test_same_idempotency_key_returns_same_workflow_without_new_side_effects(client: SandboxClient) -> None:
    claim = make_claim(80.0)
    key = f"idem-{claim['claim_id']}"
    first = client.submit(claim, key=key)
    client.wait(first)
    again = client.submit(claim, key=key)
    assert again == first
    time.sleep(0.3)
    assert len(client.ledger(claim["claim_id"])) == 1
    assert len(client.requests("intake", claim["claim_id"])) == 1


def test_fifty_concurrent_claims_all_complete_exactly_once(client: SandboxClient) -> None:
    claims = [make_claim(50.0 + i) for i in range(50)]
    with ThreadPoolExecutor(max_workers=50) as pool:
        wfs = list(pool.map(lambda c: client.submit(c, key=f"conc-{c['claim_id']}"), claims))
    assert len(set(wfs)) == 50
    states = [client.wait(wf, timeout_s=120)["state"] for wf in wfs]
    assert states == ["SUCCESS"] * 50
    ledger = client.ledger()
    for c in claims:
        assert sum(1 for r in ledger if r["claim_id"] == c["claim_id"]) == 1


def test_claim_above_threshold_is_paid_only_after_approval(client: SandboxClient) -> None:
    claim = make_claim(5000.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS" and st["result"]["approved"] is True
    assert [s["name"] for s in st["steps"]].index("approval") < [s["name"] for s in st["steps"]].index("payout")
    (approval,) = [a for a in client.approvals() if a["claim_id"] == claim["claim_id"]]
    (paid,) = client.ledger(claim["claim_id"])
    assert approval["approved"] is True and approval["decided_at"] <= paid["ts"]
    (issued,) = [e for e in client.audit(claim["claim_id"]) if e["event"] == "payout_issued"]
    assert issued["context"]["approved"] is True and issued["context"]["amount"] == 500000

    denied = make_claim(5000.0, description="please deny this one")
    st = client.wait(client.submit(denied))
    assert st["state"] == "SUCCESS" and st["result"]["status"] == "denied"
    assert client.ledger(denied["claim_id"]) == []
    assert not [s for s in client.spans(denied["claim_id"]) if s["name"] == "execute_tool issue_payout"]


def test_fails_closed_while_approval_is_down_then_pays_after_it_returns(sandbox: Sandbox,
                                                                      client: SandboxClient) -> None:
    sandbox.supervisor.stop("approval", grace_s=1.0)
    try:
        claim = make_claim(2500.0)
        wf = client.submit(claim)
        st = client.wait(wf, stage="waiting_approval", states=())
        time.sleep(1.5)  # several fail-closed approval rounds
        st = client.status(wf)
        assert st["state"] == "PENDING" and st["stage"] == "waiting_approval"
        assert client.ledger(claim["claim_id"]) == []
    finally:
        sandbox.supervisor.restart("approval")
    st = client.wait(wf, timeout_s=30)
    assert st["state"] == "SUCCESS" and st["result"]["status"] == "paid" and st["result"]["approved"] is True
    assert len(client.ledger(claim["claim_id"])) == 1


def test_transient_failure_is_retried(client: SandboxClient) -> None:
    client.fail("risk", fail_first=1, status=503)
    claim = make_claim(60.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS"
    assert len(client.requests("risk", claim["claim_id"])) == 2


def test_retry_after_is_honoured(client: SandboxClient) -> None:
    client.fail("risk", fail_first=1, status=429, retry_after=0.6)
    claim = make_claim(61.0)
    assert client.wait(client.submit(claim))["state"] == "SUCCESS"
    first, second = client.requests("risk", claim["claim_id"])
    assert second["ts"] - first["ts"] >= 0.6


def test_garbled_json_answer_is_retried(client: SandboxClient) -> None:
    client.fail("approval", fail_first=1, garble=True)
    claim = make_claim(1800.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS" and st["result"]["status"] == "paid"
    assert len(client.requests("approval", claim["claim_id"])) == 2


def test_slow_agent_call_times_out_and_is_retried(client: SandboxClient) -> None:
    client.fail("risk", delay_first=1, delay_s=3.0)
    claim = make_claim(62.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS"
    (risk,) = [s for s in st["steps"] if s["name"] == "risk"]
    assert risk["output"]["attempts"] == 2  # first attempt hit the 2 s timeout


def test_lost_payout_response_is_retried_with_the_same_key_and_pays_once(client: SandboxClient) -> None:
    client.fail("payout", fail_first=1, status=502, after_processing=True)
    claim = make_claim(63.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS"
    assert len(client.requests("payout", claim["claim_id"])) == 2
    assert len(client.ledger(claim["claim_id"])) == 1


def test_notify_fallback_carries_no_pii(client: SandboxClient) -> None:
    client.fail("notify", fail_first=3, status=503, path_prefix="/v1/notifications")
    claim = make_claim(64.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS" and st["result"]["notified"] is True
    (note,) = client.notifications(claim["claim_id"])
    assert note["channel"] == "message"
    assert not any(p in json.dumps(note) for p in PII)


def test_client_errors_are_4xx_and_not_retried(sandbox: Sandbox, client: SandboxClient) -> None:
    orch = sandbox.urls["orchestrator"]
    bad = httpx.post(f"{orch}/claims", json={"claim_id": "x", "amount": -5}, timeout=10)
    assert bad.status_code == 422
    assert httpx.get(f"{orch}/claims/no-such-workflow", timeout=10).status_code == 404
    claim = make_claim(65.0, description="  ")
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS" and st["result"]["status"] == "rejected_by_intake"
    assert len(client.requests("intake", claim["claim_id"])) == 1
    assert client.ledger(claim["claim_id"]) == []


def test_breaker_opens_then_closes_after_cooldown(sandbox: Sandbox, client: SandboxClient) -> None:
    client.fail("risk", fail_first=5, status=503)
    first, second = make_claim(66.0), make_claim(67.0)
    assert client.wait(client.submit(first))["state"] == "ERROR"   # 3 failed attempts
    assert client.wait(client.submit(second))["state"] == "ERROR"  # 2 more -> open -> fast-fail
    assert httpx.get(f"{sandbox.urls['orchestrator']}/breakers", timeout=5).json()["risk"]["state"] == "open"
    time.sleep(0.6)  # > cooldown
    third = make_claim(68.0)
    assert client.wait(client.submit(third))["state"] == "SUCCESS"
    assert httpx.get(f"{sandbox.urls['orchestrator']}/breakers", timeout=5).json()["risk"]["state"] == "closed"


def test_risk_agent_card_publishes_risk_score(sandbox: Sandbox) -> None:
    card = httpx.get(f"{sandbox.urls['risk']}/.well-known/agent-card.json", timeout=5).json()
    schema = card["capabilities"]["extensions"][0]["params"]["output_schema"]
    assert "risk_score" in schema["required"]
    assert card["supportedInterfaces"][0]["protocolBinding"] == "JSONRPC"


def test_payout_tool_has_an_output_schema(sandbox: Sandbox) -> None:
    rpc = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    body = httpx.post(f"{sandbox.urls['payout']}/mcp", json=rpc, timeout=5,
                      headers={"Accept": "application/json, text/event-stream"}).json()
    (tool,) = body["result"]["tools"]
    assert tool["name"] == "issue_payout"
    assert set(tool["outputSchema"]["required"]) >= {"claim_id", "payout_ref", "idempotency_key"}


def test_healthy_run_never_bypasses_policy(client: SandboxClient) -> None:
    """Whatever ran so far in this sandbox: every performed action is allowed by Cedar."""
    client.wait(client.submit(make_claim(1500.0)))
    engine = PolicyEngine()
    actions = [s for s in client.spans() if s["attributes"].get("gen_ai.operation.name")
               in ("invoke_agent", "execute_tool")]
    assert actions
    for s in actions:
        a = s["attributes"]
        assert a["policy.enforced"] is True
        action = a.get("gen_ai.tool.name") or "invoke_agent"
        ctx = {k[4:]: v for k, v in a.items() if k.startswith("ctx.")}
        assert engine.check(a["gen_ai.agent.name"], action, ctx).decision == a["policy.decision"] == "Allow"
    for event in client.audit():
        if "action" in event:
            assert event["decision"] == "Allow", event


finite = st.floats(allow_nan=False, allow_infinity=False)  # JSON has no NaN/Infinity
scalars = st.none() | st.booleans() | st.integers() | finite | st.text(max_size=20)
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=10), kids, max_size=4), max_leaves=12)
claim_like = st.fixed_dictionaries({}, optional={
    "claim_id": st.one_of(st.text(max_size=30), st.integers()),
    "amount": st.one_of(finite, st.integers(), st.text(max_size=5)),
    "customer": json_values, "description": json_values})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(claim_like, json_values))
def test_bad_claim_bodies_get_4xx_never_5xx(sandbox: Sandbox, body: object) -> None:
    resp = httpx.post(f"{sandbox.urls['orchestrator']}/claims", json=body, timeout=10,
                      headers={"Idempotency-Key": "fuzz-" + uuid.uuid4().hex})
    assert resp.status_code in (202, 422), resp.text
    if resp.status_code == 422:
        assert resp.json()["detail"]


rule_like = st.dictionaries(st.sampled_from(["fail_first", "status", "retry_after", "delay_first", "delay_s",
                                             "path_prefix", "after_processing", "garble", "bogus"]), scalars,
                            max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(rule_like, json_values))
def test_agent_fault_rules_are_validated_and_never_break_the_agent(sandbox: Sandbox, body: object) -> None:
    agent = sandbox.urls["notify"]
    try:
        resp = httpx.post(f"{agent}/_control/faults", json=body, timeout=5)
        assert resp.status_code in (200, 400), resp.text
        if (body is not None and not isinstance(body, dict)) or (isinstance(body, dict) and "bogus" in body):
            assert resp.status_code == 400
        if resp.status_code == 400:
            assert "bad fault rule" in resp.json()["error"]
            return
        rule = resp.json()["rule"]
        if rule["delay_first"] and rule["delay_s"] > 1:
            return  # a legitimately slow agent; not worth waiting for here
        # An accepted rule makes the agent answer normally or with the injected status, never crash.
        after = httpx.get(f"{agent}/v1/received", timeout=5)
        assert after.status_code in {200, rule["status"]}
    finally:
        httpx.delete(f"{agent}/_control/faults", timeout=5)
