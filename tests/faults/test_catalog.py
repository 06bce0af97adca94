"""The fault and probe catalogs: every kind documented and exported, in step with the proxy,
extensible by a real installed distribution's entry points, and free of import cycles."""

from __future__ import annotations

import ast
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli.validate import scenario_schema, validate_with_catalogs
from harness.engine import probes as probe_catalog
from harness.engine.probes import ProbeSet, probe_kinds
from harness.errors import ConfigError
from harness.faults import catalog
from harness.faults.catalog import build_fault, fault_kinds
from harness.faults.network_kinds import HttpMatch
from harness.faults.session import FaultSession
from harness.model.loader import load_text
from harness.model.scenario import Scenario
from harness.model.system import SystemSpec
from harness.proxy import http_rules
from harness.proxy.toxics import STAGES, TCP_TOXIC_ATTRIBUTES
from tests.plugin_dist import install_plugin, plugin_site

SYSTEM = """
name: demo
services:
  - {name: orchestrator, kind: orchestrator, protocol: rest, base_url: "http://127.0.0.1:1", start: {command: [x]}}
"""


def test_every_fault_kind_is_documented_and_in_the_exported_schema() -> None:
    schema = scenario_schema()
    spec = schema["$defs"]["FaultSpec"]
    assert spec["properties"]["type"]["enum"] == sorted(fault_kinds())
    params_of = {rule["if"]["properties"]["type"]["const"]: rule["then"]["properties"]["params"]["$ref"]
                 for rule in spec["allOf"]}
    for name, kind in fault_kinds().items():
        assert kind.doc.strip() and "\n" not in kind.doc, name
        ref = params_of[name].removeprefix("#/$defs/")
        assert set(schema["$defs"][ref].get("properties", {})) == {
            info.alias or field for field, info in kind.params.model_fields.items()}, name


def test_every_probe_kind_is_documented_and_in_the_exported_schema() -> None:
    schema = scenario_schema()
    refs = {item["$ref"].removeprefix("#/$defs/") for item in schema["properties"]["steady_state"]["items"]["oneOf"]}
    for name, kind in probe_kinds().items():
        assert kind.doc.strip() and "\n" not in kind.doc, name
        assert kind.spec.__name__ in refs, name
        assert schema["$defs"][kind.spec.__name__]["properties"]["type"].get("const", name) == name


def test_network_and_http_kinds_agree_with_the_proxy() -> None:
    """The proxy implements the types; the catalog must offer exactly those, with the same attributes."""
    kinds = fault_kinds()
    tcp = {n: k for n, k in kinds.items() if k.family == "network" and n != "down"}
    http = {n: k for n, k in kinds.items() if k.family == "http"}
    assert set(tcp) == set(TCP_TOXIC_ATTRIBUTES)
    assert set(STAGES) <= set(tcp)
    assert set(http) == set(http_rules.HTTP_TOXIC_TYPES)
    for name, kind in tcp.items():
        assert set(kind.params.model_fields) == set(TCP_TOXIC_ATTRIBUTES[name]), name
    for name, kind in http.items():
        assert set(kind.params.model_fields) == set(http_rules._COMMON) | set(http_rules._DEFAULTS[name]), name
    assert set(HttpMatch.model_fields) == set(http_rules._COMMON)


def _imports(path: Path) -> set[str]:
    """Every ``harness.faults.*`` module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("harness.faults"):
            if node.module == "harness.faults":
                found |= {f"harness.faults.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("harness.faults.")}
    return found


def test_the_fault_modules_import_each_other_without_a_cycle() -> None:
    root = Path(catalog.__file__).parent
    graph = {f"harness.faults.{p.stem}": _imports(p) for p in root.glob("*.py") if p.stem != "__init__"}
    done: set[str] = set()

    def visit(module: str, stack: tuple[str, ...]) -> None:
        assert module not in stack, f"import cycle: {' -> '.join((*stack, module))}"
        if module in done:
            return
        for dep in graph.get(module, ()):
            visit(dep, (*stack, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    assert "harness.faults.catalog" in graph["harness.faults.ledger"]


PLUGIN = '''
from pathlib import Path
from typing import Any

from pydantic import Field

from harness.faults.base import Fault, FaultKind, FaultParams, FaultRequest
from harness.engine.probes import ProbeKind, ProbeResult
from harness.model.scenario import ProbeSpec


class MarkerParams(FaultParams):
    path: str = Field(description="file that exists while the fault is on")


class MarkerFault(Fault):
    type = "marker"

    def __init__(self, path: str, fault_id: str) -> None:
        self.path, self.fault_id, self.ttl_s = Path(path), fault_id, 0.0

    def inject(self) -> None:
        self.path.write_text("on")

    def revert(self) -> None:
        self.path.unlink(missing_ok=True)

    def ledger_entry(self) -> dict[str, Any]:
        return {"kind": "marker_file", "fault_id": self.fault_id, "type": self.type, "path": str(self.path)}


def build(request: FaultRequest) -> Fault:
    return MarkerFault(request.params.path, request.fault_id)


KIND = FaultKind("marker", "process", MarkerParams, build, "a file exists while the fault is on",
                 {"marker_file": lambda entry, _sup: MarkerFault(entry["path"], entry["fault_id"])})


class FileProbe(ProbeSpec):
    path: str


PROBES = [ProbeKind("file_absent", FileProbe, lambda spec, ctx: ProbeResult(not Path(spec.path).exists(), 0.0),
                    "ok while a file does not exist")]
'''


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    with plugin_site(tmp_path, [catalog.reset, probe_catalog.reset_probe_kinds]) as path:
        yield path


def test_a_plugin_fault_and_probe_are_used_in_a_scenario(site: Path, tmp_path: Path) -> None:
    install_plugin(site, """
        [harness.faults]
        marker = harness_user_plugin:KIND
        [harness.probes]
        file_absent = harness_user_plugin:PROBES
        """, PLUGIN)
    marker = tmp_path / "marker"
    text = f"""title: t
steady_state:
  - {{type: file_absent, name: no-marker, path: "{marker}", interval_s: 0.05}}
faults:
  - {{type: marker, target: {{service: orchestrator}}, params: {{path: "{marker}"}}}}
"""
    (tmp_path / "s.yaml").write_text(text)
    scenario = validate_with_catalogs(tmp_path / "s.yaml")
    assert isinstance(scenario, Scenario)
    assert "marker" in scenario_schema()["$defs"]["FaultSpec"]["properties"]["type"]["enum"]
    assert "FileProbe" in scenario_schema()["$defs"]
    system = load_text(SYSTEM, SystemSpec, "system.yaml")
    fault = build_fault(scenario.faults[0], system, fault_id="m1", ttl_s=5)
    events: list[dict[str, object]] = []
    probes = ProbeSet(list(scenario.steady_state), lambda kind, **kw: events.append(kw), None)
    probes.start()
    with FaultSession(tmp_path / "ledger.jsonl", handle_signals=False) as session:
        session.inject(fault)
        assert marker.read_text() == "on"
        deadline = time.monotonic() + 5
        while not any(e["ok"] is False for e in events) and time.monotonic() < deadline:
            time.sleep(0.02)
    probes.stop()
    assert not marker.exists()  # the session reverted it
    assert events[0]["ok"] is True and any(e["ok"] is False for e in events)
    bad = text.replace("params: {path:", "params: {pth:")
    (tmp_path / "s.yaml").write_text(bad)
    expected = r"s.yaml:5: field 'faults\[0\].params.path': fault 'marker': 'path' is required"
    with pytest.raises(ConfigError, match=expected):
        validate_with_catalogs(tmp_path / "s.yaml")


@pytest.mark.parametrize(("entry", "module", "expected"), [
    ("marker = no_such_plugin_module:KIND", "", "entry point 'marker' = 'no_such_plugin_module:KIND' "
     "(group harness.faults) cannot be loaded: ModuleNotFoundError"),
    ("marker = harness_user_plugin:OTHER", "OTHER = 3\n", "names int, not a FaultKind"),
    ("latency = harness_user_plugin:KIND", PLUGIN.replace('FaultKind("marker"', 'FaultKind("latency"'),
     "fault type 'latency' is registered twice"),
])
def test_a_broken_fault_plugin_is_a_config_error_naming_it(site: Path, entry: str, module: str,
                                                           expected: str) -> None:
    install_plugin(site, f"[harness.faults]\n{entry}\n", module)
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        fault_kinds()
