"""The protocol catalog: every entry is documented, names are unique, and system.yaml's
service protocols are checked against it where contracts use them."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.contracts.catalog import PROTOCOLS, SUITES, check_service_protocols
from harness.contracts.run import run_all
from harness.errors import ConfigError
from harness.model.system import Service, SystemSpec

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"


def test_every_protocol_is_documented_with_its_summary() -> None:
    """A protocol's summary is its documentation (``harness contracts protocols``), so a new one
    is a module and a registration; docs/contracts.md points to the command."""
    assert "harness contracts protocols" in DOCS.read_text(encoding="utf-8")
    assert len(set(SUITES)) == len(SUITES)
    for proto in PROTOCOLS:
        assert proto.name.isidentifier() and proto.summary.strip(), proto


def test_an_unknown_service_protocol_is_refused_naming_the_field() -> None:
    system = SystemSpec(name="s", services=[
        Service(name="a", kind="agent", protocol="a2a", base_url="http://127.0.0.1:1", external=True),
        Service(name="g", kind="agent", protocol="grpc", base_url="http://127.0.0.1:1", external=True)])
    with pytest.raises(ConfigError, match=r"service 'g': unknown protocol 'grpc'; known: a2a, mcp, rest") as info:
        check_service_protocols(system)
    assert "services[1].protocol" in str(info.value)
    with pytest.raises(ConfigError, match="unknown protocol 'grpc'"):
        run_all(system)


def test_harness_validate_refuses_an_unknown_service_protocol_with_its_line(tmp_path) -> None:
    import subprocess
    import sys

    path = tmp_path / "system.yaml"
    path.write_text('name: demo\nservices:\n'
                    '  - {name: o, kind: orchestrator, protocol: rest, base_url: "http://127.0.0.1:1",\n'
                    '     external: true}\n'
                    '  - {name: g, kind: agent, protocol: grpc, base_url: "http://127.0.0.1:2", external: true}\n')
    done = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert f"{path}:5: field 'services[1].protocol': service 'g': unknown protocol 'grpc'" in done.stderr
