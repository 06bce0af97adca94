"""Every fault in the shipped scenarios builds against a sandbox-shaped system.

Catches drift between the scenario files (written by others) and the registry's
parameter checks before a real run does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.faults.base import Fault
from harness.faults.catalog import build_fault
from harness.model.loader import load_scenario
from harness.model.system import SystemSpec
from tests.faults.client._helpers import ChildSupervisor

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
AGENTS = ("intake", "risk", "approval", "payout", "notify")  # as harness.sandbox.config.AGENTS


def _sandbox_like() -> SystemSpec:
    services = [{"name": "orchestrator", "kind": "orchestrator", "protocol": "rest",
                 "base_url": "http://127.0.0.1:7000", "start": {"command": ["x"]}}]
    services += [{"name": a, "kind": "agent", "protocol": "rest", "base_url": f"http://127.0.0.1:{7001 + i}",
                  "start": {"command": ["x"]}} for i, a in enumerate(AGENTS)]
    edges = [{"caller": "orchestrator", "callee": a, "proxy": a, "upstream": f"127.0.0.1:{7001 + i}"}
             for i, a in enumerate(AGENTS)]
    return SystemSpec.model_validate({"name": "sandbox", "services": services, "edges": edges})


def test_the_sandbox_agents_are_the_ones_assumed_here() -> None:
    from harness.sandbox.config import AGENTS as SANDBOX_AGENTS

    assert tuple(SANDBOX_AGENTS) == AGENTS


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenario_faults_build(path: Path, tmp_path: Path) -> None:
    scenario = load_scenario(path)
    system = _sandbox_like()
    for index, spec in enumerate(scenario.faults):
        fault = build_fault(spec, system, fault_id=f"{path.stem}-f{index}", ttl_s=30,
                            supervisor=ChildSupervisor(tmp_path))
        assert isinstance(fault, Fault) and fault.type == spec.type
