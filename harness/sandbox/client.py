"""A small client for a running sandbox: submit claims, poll them, read what agents saw.

Used by the sandbox tests, ``harness sandbox`` demo commands and anyone who wants to drive
the sandbox without writing HTTP by hand. It reads files the agents write (ledger, audit,
traces) straight from the state dir, and uses the agents' ``/_control`` endpoints to
make them fail on purpose.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from harness.sandbox.common import read_jsonl


def make_claim(amount: float = 120.0, *, claim_id: str | None = None, description: str = "cracked phone screen",
               name: str = "Ada Lovelace", email: str = "ada@example.com",
               iban: str = "DE89370400440532013000") -> dict[str, Any]:
    return {"claim_id": claim_id or f"C-{uuid.uuid4().hex[:10]}", "amount": amount, "description": description,
            "customer": {"name": name, "email": email, "iban": iban}}


class SandboxClient:
    def __init__(self, urls: dict[str, str], state_dir: Path, timeout_s: float = 10.0) -> None:
        self.urls, self.state_dir = urls, Path(state_dir)
        self.http = httpx.Client(timeout=timeout_s, trust_env=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> SandboxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ claims

    def submit(self, claim: dict[str, Any], key: str | None = None) -> str:
        headers = {"Idempotency-Key": key} if key else {}
        resp = self.http.post(f"{self.urls['orchestrator']}/claims", json=claim, headers=headers)
        resp.raise_for_status()
        return str(resp.json()["workflow_id"])

    def status(self, workflow_id: str) -> dict[str, Any]:
        resp = self.http.get(f"{self.urls['orchestrator']}/claims/{workflow_id}")
        resp.raise_for_status()
        return dict(resp.json())

    def wait(self, workflow_id: str, timeout_s: float = 30.0, states: tuple[str, ...] = ("SUCCESS", "ERROR"),
             stage: str | None = None) -> dict[str, Any]:
        """Poll until the workflow reaches one of ``states`` (or ``stage``); return its last status."""
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                last = self.status(workflow_id)
            except httpx.HTTPError as exc:
                last = {"error": str(exc)}
            if last.get("state") in states or (stage is not None and last.get("stage") == stage):
                return last
            time.sleep(0.1)
        raise TimeoutError(f"workflow {workflow_id} not in {states}/{stage} after {timeout_s}s: {last}")

    # ------------------------------------------------------------ agents

    def fail(self, agent: str, **rule: Any) -> None:
        """Make ``agent`` misbehave (see AgentControls): fail_first, status, retry_after, delay_first ..."""
        self.http.post(f"{self.urls[agent]}/_control/faults", json=rule).raise_for_status()

    def heal(self, agent: str) -> None:
        self.http.delete(f"{self.urls[agent]}/_control/faults").raise_for_status()

    def requests(self, agent: str, claim_id: str | None = None) -> list[dict[str, Any]]:
        """Requests ``agent`` received (optionally only those about ``claim_id``)."""
        resp = self.http.get(f"{self.urls[agent]}/_control/requests")
        resp.raise_for_status()
        return [r for r in resp.json() if claim_id is None or r.get("claim_id") == claim_id]

    def approvals(self) -> list[dict[str, Any]]:
        return list(self.http.get(f"{self.urls['approval']}/v1/approvals").json())

    # ------------------------------------------------------------ files in the state dir

    def ledger(self, claim_id: str | None = None) -> list[dict[str, Any]]:
        rows = read_jsonl(self.state_dir / "payout_ledger.jsonl")
        return [r for r in rows if claim_id is None or r["claim_id"] == claim_id]

    def notifications(self, claim_id: str | None = None) -> list[dict[str, Any]]:
        rows = read_jsonl(self.state_dir / "notify_received.jsonl")
        return [r for r in rows if claim_id is None or r["payload"].get("claim_id") == claim_id]

    def audit(self, claim_id: str | None = None) -> list[dict[str, Any]]:
        rows = read_jsonl(self.state_dir / "audit.jsonl")
        return [r for r in rows if claim_id is None or r.get("claim_id") == claim_id]

    def spans(self, claim_id: str | None = None) -> list[dict[str, Any]]:
        rows = read_jsonl(self.state_dir / "traces.jsonl")
        return [r for r in rows if claim_id is None or r["attributes"].get("claim.id") == claim_id]
