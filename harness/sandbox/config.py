"""Settings of one sandbox: seeded defects, resilience knobs, where the agents listen.

The orchestrator reads these from a JSON file the :class:`~harness.sandbox.Sandbox` writes
into the state dir, so each edge can point at a proxy listen address instead of the agent.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import ConfigError

#: seeded defect -> what it breaks (also the table in docs/sandbox.md)
DEFECTS: dict[str, str] = {
    "no_retry": "agent calls are tried once; one transient failure fails the claim",
    "no_timeout": "agent calls wait forever on a slow agent instead of timing out",
    "retry_storm": "retries without backoff, ignoring Retry-After, many times",
    "duplicate_payout": "payout retries without the idempotency key, so a lost response pays twice",
    "fail_open_approval": "approval unreachable -> the claim is paid anyway",
    "pii_to_notify_on_fallback": "the notify fallback message carries the customer's PII",
    "schema_drift_risk": "the risk agent renames risk_score to score in its result and card",
    "breaker_never_closes": "a circuit breaker that opened stays open forever",
    "lose_inflight_on_crash": "workflows are not durable: a crash loses in-flight claims",
    "wrong_error_mapping": "4xx errors are surfaced (and retried) as 5xx",
}

AGENTS: tuple[str, ...] = ("intake", "risk", "approval", "payout", "notify")
PROTOCOLS: dict[str, str] = {"intake": "rest", "risk": "a2a", "approval": "rest", "payout": "mcp", "notify": "rest"}


def check_defects(defects: Iterable[str]) -> list[str]:
    """Validated, de-duplicated defect names; unknown names raise ConfigError listing valid ones."""
    out: list[str] = []
    for name in defects:
        if name not in DEFECTS:
            raise ConfigError(f"unknown defect {name!r}; valid: {', '.join(sorted(DEFECTS))}", field="defect")
        if name not in out:
            out.append(name)
    return out


class Resilience(BaseModel):
    """Knobs of the orchestrator's agent calls. Tests shrink them so defects show fast."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(5.0, gt=0, description="per-call timeout")
    max_attempts: int = Field(6, ge=1)
    backoff_base_s: float = Field(0.2, ge=0)
    backoff_max_s: float = Field(2.0, ge=0)
    retry_after_cap_s: float = Field(30.0, ge=0, description="longest Retry-After the orchestrator obeys")
    breaker_threshold: int = Field(5, ge=1, description="consecutive failures that open the breaker")
    breaker_cooldown_s: float = Field(3.0, ge=0, description="open -> half-open after this long")
    approval_threshold: float = Field(1000.0, ge=0, description="claims above this need approval")
    approval_retry_s: float = Field(1.0, gt=0, description="wait between approval attempts (fail-closed)")
    approval_deadline_s: float = Field(600.0, gt=0, description="give up (without paying) after this long")
    storm_attempts: int = Field(20, ge=1, description="attempts made by the retry_storm defect")


class OrchestratorConfig(BaseModel):
    """Everything the orchestrator process needs (written to ``orchestrator.json``)."""

    model_config = ConfigDict(extra="forbid")

    state_dir: Path
    agents: dict[str, str] = Field(description="agent name -> base URL the orchestrator calls")
    defects: list[str] = Field(default_factory=list)
    resilience: Resilience = Field(default_factory=Resilience)
    otlp_endpoint: str | None = None
    app_version: str = "sandbox-v1"

    def has(self, defect: str) -> bool:
        return defect in self.defects
