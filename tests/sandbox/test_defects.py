"""One test per seeded defect: each starts its own sandbox with that defect on and shows the
behaviour the name promises. The healthy counterparts live in test_healthy.py (same
failure, opposite outcome) and test_crash.py.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time

import httpx
import pytest

from harness.errors import ConfigError
from harness.sandbox import DEFECTS, Sandbox, make_claim
from tests.sandbox.conftest import SandboxFactory

pytestmark = pytest.mark.slow


def test_unknown_defect_is_a_config_error_listing_valid_names(tmp_path) -> None:
    with pytest.raises(ConfigError) as err:
        Sandbox(tmp_path, defects=["no_retry", "nope"])
    assert "nope" in str(err.value) and all(name in str(err.value) for name in DEFECTS)


def test_no_retry_fails_on_one_transient_error(sandbox_factory: SandboxFactory) -> None:
    _, client = sandbox_factory("no_retry")
    client.fail("risk", fail_first=1, status=503)
    claim = make_claim(70.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "ERROR"
    assert len(client.requests("risk", claim["claim_id"])) == 1
    assert client.ledger(claim["claim_id"]) == []


def test_no_timeout_waits_out_a_slow_agent(sandbox_factory: SandboxFactory) -> None:
    _, client = sandbox_factory("no_timeout")
    client.fail("risk", delay_first=1, delay_s=3.0)
    claim = make_claim(71.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS"
    (risk,) = [s for s in st["steps"] if s["name"] == "risk"]
    assert risk["output"]["attempts"] == 1  # healthy: 2 (the 2 s timeout fires, the retry succeeds)
    assert len(client.requests("risk", claim["claim_id"])) == 1


def test_retry_storm_hammers_without_backoff_or_retry_after(sandbox_factory: SandboxFactory) -> None:
    _, client = sandbox_factory("retry_storm", breaker_threshold=100)
    client.fail("risk", fail_first=1000, status=503, retry_after=1.0)
    claim = make_claim(72.0)
    assert client.wait(client.submit(claim))["state"] == "ERROR"
    hits = client.requests("risk", claim["claim_id"])
    assert len(hits) == 12  # storm_attempts; healthy: max_attempts (3), each after Retry-After
    gaps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(hits)]
    assert max(gaps) < 1.0  # Retry-After: 1 s was ignored every time


def test_duplicate_payout_pays_twice_after_a_lost_response(sandbox_factory: SandboxFactory) -> None:
    _, client = sandbox_factory("duplicate_payout")
    client.fail("payout", fail_first=1, status=502, after_processing=True)
    claim = make_claim(73.0)
    assert client.wait(client.submit(claim))["state"] == "SUCCESS"
    rows = client.ledger(claim["claim_id"])
    assert len(rows) == 2 and rows[0]["idempotency_key"] != rows[1]["idempotency_key"]
    assert len([e for e in client.audit(claim["claim_id"]) if e["event"] == "payout_issued"]) == 2


def test_fail_open_approval_pays_unapproved_claim(sandbox_factory: SandboxFactory) -> None:
    sb, client = sandbox_factory("fail_open_approval")
    sb.supervisor.stop("approval", grace_s=1.0)
    claim = make_claim(5000.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "SUCCESS" and st["result"]["status"] == "paid" and st["result"]["approved"] is False
    assert len(client.ledger(claim["claim_id"])) == 1
    (span,) = [s for s in client.spans(claim["claim_id"]) if s["name"] == "execute_tool issue_payout"]
    a = span["attributes"]
    assert a["ctx.approved"] is False and a["ctx.amount"] == 500000
    assert a["policy.decision"] == "Deny" and a["policy.enforced"] is False


def test_pii_reaches_notify_on_fallback(sandbox_factory: SandboxFactory) -> None:
    _, client = sandbox_factory("pii_to_notify_on_fallback")
    client.fail("notify", fail_first=3, status=503, path_prefix="/v1/notifications")
    claim = make_claim(74.0)
    assert client.wait(client.submit(claim))["state"] == "SUCCESS"
    (note,) = client.notifications(claim["claim_id"])
    text = json.dumps(note)
    assert note["channel"] == "message" and "ada@example.com" in text and "DE89370400440532013000" in text
    sent = [s for s in client.spans(claim["claim_id"])
            if s["attributes"].get("gen_ai.agent.name") == "notify" and s["status"] != "ERROR"]
    assert sent and sent[-1]["attributes"]["ctx.contains_pii"] is True
    assert sent[-1]["attributes"]["policy.decision"] == "Deny"


def test_schema_drift_risk_renames_the_field_in_result_and_card(sandbox_factory: SandboxFactory) -> None:
    sb, client = sandbox_factory("schema_drift_risk")
    card = httpx.get(f"{sb.urls['risk']}/.well-known/agent-card.json", timeout=5).json()
    schema = card["capabilities"]["extensions"][0]["params"]["output_schema"]
    assert "score" in schema["required"] and "risk_score" not in schema["properties"]
    claim = make_claim(75.0)
    st = client.wait(client.submit(claim))
    assert st["state"] == "ERROR" and "risk_score" in st["error"]
    assert client.ledger(claim["claim_id"]) == []


def test_breaker_never_closes_after_cooldown(sandbox_factory: SandboxFactory) -> None:
    sb, client = sandbox_factory("breaker_never_closes")
    client.fail("risk", fail_first=5, status=503)
    assert client.wait(client.submit(make_claim(76.0)))["state"] == "ERROR"
    assert client.wait(client.submit(make_claim(77.0)))["state"] == "ERROR"
    time.sleep(0.6)  # > cooldown; the agent is healthy again
    late = make_claim(78.0)
    assert client.wait(client.submit(late))["state"] == "ERROR"
    assert client.requests("risk", late["claim_id"]) == []  # never even probed
    assert httpx.get(f"{sb.urls['orchestrator']}/breakers", timeout=5).json()["risk"]["state"] == "open"


def test_lose_inflight_on_crash_forgets_the_claim(sandbox_factory: SandboxFactory) -> None:
    sb, client = sandbox_factory("lose_inflight_on_crash")
    client.fail("risk", delay_first=1, delay_s=3.0)
    claim = make_claim(79.0)
    wf = client.submit(claim)
    client.wait(wf, stage="risk", states=())
    os.kill(sb.supervisor.pid("orchestrator"), signal.SIGKILL)
    sb.supervisor.restart("orchestrator")
    assert httpx.get(f"{sb.urls['orchestrator']}/claims/{wf}", timeout=5).status_code == 404
    time.sleep(3.5)  # the delayed risk call has long finished; nobody carries the claim on
    assert client.ledger(claim["claim_id"]) == []


def test_wrong_error_mapping_surfaces_and_retries_4xx_as_5xx(sandbox_factory: SandboxFactory) -> None:
    sb, client = sandbox_factory("wrong_error_mapping")
    orch = sb.urls["orchestrator"]
    assert httpx.post(f"{orch}/claims", json={"claim_id": "x", "amount": -5}, timeout=10).status_code == 500
    assert httpx.get(f"{orch}/claims/no-such-workflow", timeout=10).status_code == 500
    claim = make_claim(80.0, description="  ")
    st = client.wait(client.submit(claim))
    assert st["state"] == "ERROR"  # healthy: SUCCESS with status rejected_by_intake after 1 call
    assert len(client.requests("intake", claim["claim_id"])) == 3
