"""Cedar policies of the sandbox, evaluated by the orchestrator before each agent action.

The request mapping is the one in docs/telemetry.md, so the harness's scorer can re-check
the orchestrator's spans against the same files: principal ``Agent::"orchestrator"``,
action ``Action::"issue_payout"`` for the payout tool else ``Action::"invoke_agent"``,
resource ``Agent::"<callee>"``, context ``{amount (cents), approved, contains_pii,
moves_money}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


def policy_files() -> list[Path]:
    """The shipped ``*.cedar`` files, sorted (package data)."""
    root = Path(str(resources.files("harness.sandbox") / "policies"))
    return sorted(root.glob("*.cedar"))


@dataclass(frozen=True)
class Decision:
    allowed: bool
    decision: str  # "Allow" | "Deny"
    reasons: list[str]
    errors: list[str]


class PolicyEngine:
    """Pre-parsed policy set whose reasons are the policies' ``@id`` annotations."""

    def __init__(self, files: list[Path] | None = None) -> None:
        import cedarpy  # here, not at module level: `harness sandbox status` should not pay for it

        self.files = files if files is not None else policy_files()
        text = "\n".join(p.read_text() for p in self.files)
        est = json.loads(cedarpy.policies_to_json_str(text))
        static = est.get("staticPolicies", {})
        est["staticPolicies"] = {v.get("annotations", {}).get("id", k): v for k, v in static.items()}
        self._policies = cedarpy.PolicySet.from_json_str(json.dumps(est))
        self._entities = cedarpy.Entities.from_json_str("[]")
        self._cedar = cedarpy

    def check(self, callee: str, action: str, context: dict[str, Any], principal: str = "orchestrator") -> Decision:
        request = {"principal": f'Agent::"{principal}"', "action": f'Action::"{action}"',
                   "resource": f'Agent::"{callee}"', "context": context}
        res = self._cedar.is_authorized(request, self._policies, self._entities)
        return Decision(allowed=bool(res.allowed), decision=res.decision.value,
                        reasons=list(res.diagnostics.reasons), errors=list(res.diagnostics.errors))
