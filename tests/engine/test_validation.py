"""Scenarios are checked against system.yaml before a run touches anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.engine.run import check_against_system
from harness.errors import ConfigError
from harness.model import Scenario, SystemSpec
from harness.model.loader import load_text

SYSTEM = """
name: demo
services:
  - {name: orchestrator, kind: orchestrator, protocol: rest, base_url: "http://127.0.0.1:1", start: {command: [x]}}
  - {name: risk, kind: agent, protocol: a2a, base_url: "http://127.0.0.1:2", start: {command: [x]}}
edges:
  - {caller: orchestrator, callee: risk, proxy: risk, listen: "127.0.0.1:3", upstream: "127.0.0.1:2"}
"""


@pytest.mark.parametrize("faults, expected", [
    ("{type: latency, target: {edge: nope}}", "x.yaml:4: field 'faults[0].target.edge': fault 'latency': unknown edge"),
    ("{type: latency, target: {edge: risk}, params: {latncy: 3}}", "x.yaml:4: field 'faults[0].params.latncy'"),
    ("{type: kill, target: {service: risk}}", "field 'faults[0].target': fault 'kill': service 'risk' is supervised"),
])
def test_faults_that_cannot_be_built_are_config_errors(faults: str, expected: str, tmp_path: Path) -> None:
    system = load_text(SYSTEM, SystemSpec, "system.yaml")
    path = tmp_path / "x.yaml"
    path.write_text(f"title: t\nfaults:\n  - {{type: latency, target: {{edge: risk}}}}\n  - {faults}\n")
    scenario = load_text(path.read_text(), Scenario, str(path))
    with pytest.raises(ConfigError) as info:
        check_against_system([("x", scenario)], [path], system)
    assert expected.replace("faults[0]", "faults[1]") in str(info.value)


def test_valid_scenario_passes_and_probe_services_are_checked() -> None:
    system = load_text(SYSTEM, SystemSpec, "system.yaml")
    good = load_text("title: t\nfaults:\n  - {type: latency, target: {edge: risk}, params: {latency: 3}}\n",
                     Scenario, "x.yaml")
    check_against_system([("x", good)], [Path("x.yaml")], system)
    bad = load_text("title: t\nsteady_state:\n  - {type: http, name: h, service: nope}\n", Scenario, "y.yaml")
    with pytest.raises(ConfigError, match=r"field 'steady_state\[0\]\.service': unknown service 'nope'"):
        check_against_system([("y", bad)], [Path("y.yaml")], system)
