"""Durability: SIGKILL the orchestrator mid-workflow, restart it, and the claim completes
with exactly one payout (DBOS resumes at the last finished step; the payout key makes the
re-run payout step harmless)."""

from __future__ import annotations

import os
import signal

import pytest

from harness.sandbox import make_claim
from tests.sandbox.conftest import SandboxFactory

pytestmark = pytest.mark.slow


def test_sigkill_mid_payout_then_restart_completes_with_one_payout(sandbox_factory: SandboxFactory) -> None:
    sb, client = sandbox_factory()
    client.fail("payout", delay_first=1, delay_s=2.0)  # hold the first payout call in flight
    claim = make_claim(90.0)
    wf = client.submit(claim, key=f"crash-{claim['claim_id']}")
    before = client.wait(wf, stage="payout", states=())
    assert before["state"] == "PENDING"
    old_pid = sb.supervisor.pid("orchestrator")
    os.kill(old_pid, signal.SIGKILL)
    sb.supervisor.restart("orchestrator")
    assert sb.supervisor.pid("orchestrator") != old_pid

    st = client.wait(wf, timeout_s=60)
    assert st["state"] == "SUCCESS" and st["result"]["status"] == "paid"
    assert st["recovery_attempts"] >= 2
    assert len(client.ledger(claim["claim_id"])) == 1
    assert len([e for e in client.audit(claim["claim_id"]) if e["event"] == "payout_issued"]) == 1
    # Steps finished before the crash were not run again.
    assert len(client.requests("intake", claim["claim_id"])) == 1
    assert len(client.requests("risk", claim["claim_id"])) == 1
