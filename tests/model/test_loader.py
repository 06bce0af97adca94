"""The YAML loader: valid files load; broken ones give one line naming file, line and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.model import Scenario, SystemSpec
from harness.model.loader import load_text

GOOD_SCENARIO = """\
title: Risk agent latency
weight: 3
phases: {baseline: 2s, inject: 5, recover: 5s}
steady_state:
  - type: http
    name: health
    url: http://127.0.0.1:8100/healthz
faults:
  - type: latency
    target: {edge: risk}
    params: {latency: 300, jitter: 10}
slos:
  - {metric: availability, phase: inject, min: 0.95}
"""

GOOD_SYSTEM = """\
name: demo
services:
  - name: orchestrator
    kind: orchestrator
    protocol: rest
    base_url: http://127.0.0.1:8100
    external: true
  - name: risk
    kind: agent
    protocol: a2a
    base_url: http://127.0.0.1:8201
    external: true
edges:
  - {caller: orchestrator, callee: risk, proxy: risk, listen: 127.0.0.1:9201, upstream: 127.0.0.1:8201}
"""


def test_good_files_load() -> None:
    scenario = load_text(GOOD_SCENARIO, Scenario, "s.yaml")
    assert scenario.phases.baseline == 2.0
    assert scenario.faults[0].params == {"latency": 300, "jitter": 10}
    system = load_text(GOOD_SYSTEM, SystemSpec, "system.yaml")
    assert system.edge("risk").upstream == "127.0.0.1:8201"
    assert system.edge("orchestrator->risk").proxy == "risk"


def test_error_names_file_line_and_field() -> None:
    broken = GOOD_SCENARIO.replace("target: {edge: risk}", "target: {edge: risk}\n    toxicity: 2")
    with pytest.raises(ConfigError) as info:
        load_text(broken, Scenario, "scenarios/x.yaml")
    message = str(info.value)
    assert message.startswith("scenarios/x.yaml:11: field 'faults[0].toxicity'")
    assert "2" in message


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("type: latency", "type: latensy", "x.yaml:9: field 'faults[0].type': unknown fault type 'latensy'"),
    ("{latency: 300, jitter: 10}", "{latency: 300, jiter: 10}",
     "x.yaml:11: field 'faults[0].params.jiter': fault 'latency': unknown attribute for 'latency'"),
    ("{latency: 300, jitter: 10}", "{latency: -3}",
     "x.yaml:11: field 'faults[0].params.latency': fault 'latency': must be a non-negative integer"),
    ("target: {edge: risk}", "target: {service: risk}", "x.yaml:10: field 'faults[0].target': network fault"),
    ("type: http", "type: htp", "x.yaml:5: field 'steady_state[0].type': unknown probe type 'htp'"),
])
def test_catalog_errors_name_file_line_and_field(tmp_path: Path, old: str, new: str, expected: str) -> None:
    """Fault and probe types are the catalogs' business; `harness validate` still points at the line."""
    from harness.cli.validate import validate_with_catalogs

    path = tmp_path / "x.yaml"
    path.write_text(GOOD_SCENARIO.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        validate_with_catalogs(path)
    assert str(info.value).startswith(f"{tmp_path}/{expected}"), str(info.value)


def test_validate_command_accepts_the_good_scenario_and_refuses_an_unknown_engine(tmp_path: Path) -> None:
    from harness.cli.validate import validate_with_catalogs

    (tmp_path / "s.yaml").write_text(GOOD_SCENARIO, encoding="utf-8")
    assert isinstance(validate_with_catalogs(tmp_path / "s.yaml"), Scenario)
    system = GOOD_SYSTEM + "workflow: {engine: temporall, submit_url: 'http://127.0.0.1:1/w', status_url: x}\n"
    (tmp_path / "system.yaml").write_text(system, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"field 'workflow.engine': unknown workflow engine 'temporall'") as info:
        validate_with_catalogs(tmp_path / "system.yaml")
    assert info.value.line == system.count("\n")


def test_unknown_field_is_named_with_its_line() -> None:
    broken = GOOD_SYSTEM.replace("    protocol: a2a", "    protocol: a2a\n    prtocol: rest")
    with pytest.raises(ConfigError) as info:
        load_text(broken, SystemSpec, "system.yaml")
    assert info.value.line == 11
    assert info.value.field == "services[1].prtocol"


def test_syntax_error_has_a_line() -> None:
    with pytest.raises(ConfigError) as info:
        load_text("title: [unclosed\nweight: 3\n", Scenario, "bad.yaml")
    assert info.value.line is not None and "invalid YAML" in str(info.value)


def test_edge_to_unknown_service_is_rejected() -> None:
    broken = GOOD_SYSTEM.replace("callee: risk", "callee: fraud")
    with pytest.raises(ConfigError, match="unknown service 'fraud'"):
        load_text(broken, SystemSpec, "system.yaml")


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                         st.text(max_size=20))
yaml_trees = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(
                                ["title", "weight", "faults", "type", "target", "edge", "phases",
                                 "services", "name", "kind", "steady_state", "slos", "x"]), inner, max_size=5)),
    max_leaves=20,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=st.text(max_size=300))
def test_fuzzed_text_never_escapes_as_anything_but_config_error(text: str) -> None:
    for model in (Scenario, SystemSpec):
        try:
            load_text(text, model, "fuzz.yaml")
        except ConfigError as exc:
            assert str(exc).startswith("fuzz.yaml")


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(tree=yaml_trees)
def test_fuzzed_structures_give_config_errors_with_lines(tree: object) -> None:
    from io import StringIO

    from ruamel.yaml import YAML

    buf = StringIO()
    YAML().dump(tree, buf)
    for model in (Scenario, SystemSpec):
        try:
            load_text(buf.getvalue(), model, "fuzz.yaml")
        except ConfigError as exc:
            assert str(exc).startswith("fuzz.yaml")
            assert "\n" not in str(exc)


def test_cli_validate_reports_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_SCENARIO.replace("weight: 3", "weight: 30"))
    good = tmp_path / "good.yaml"
    good.write_text(GOOD_SCENARIO)
    proc = subprocess.run([sys.executable, "-m", "harness", "validate", str(good), str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{bad}:2: field 'weight'" in proc.stderr
    assert "good.yaml (Scenario)" in proc.stdout
