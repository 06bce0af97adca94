"""The issue's "done when", on the real sandbox (real processes, the real proxy recording).

Healthy sandbox: drive a few claims through the proxies with recording on, generate pacts
from that recording, verify every provider, and pass the A2A and MCP suites. Drifted
sandbox (``schema_drift_risk``): pact verification and the A2A checks fail naming the
renamed field, and ``harness contracts diff`` of the two risk cards reports it as breaking.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli import main
from harness.contracts import generate_pacts, run_all, snapshot, verify_pacts
from harness.contracts.run import set_recording
from harness.model.system import SystemSpec
from harness.sandbox import Sandbox, SandboxClient, make_claim

pytestmark = pytest.mark.slow
AGENTS = ("intake", "risk", "approval", "payout", "notify")


@dataclass
class Healthy:
    sandbox: Sandbox
    spec: SystemSpec
    recording: Path
    contracts: Path


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Healthy]:
    root = tmp_path_factory.mktemp("contracts-sandbox")
    recording = root / "traffic.jsonl"
    with Sandbox(root / "healthy", with_proxy=True) as sb:
        assert sb.proxy_api_url, "the sandbox must run its proxy for recording"
        system_yaml = sb.write_system_yaml()
        with pytest.raises(SystemExit) as exc:
            main(["contracts", "record", "--system", str(system_yaml), "--to", str(recording)])
        assert exc.value.code == 0
        with SandboxClient(sb.urls, sb.state_dir) as client:
            # 5000 needs approval, so every agent is called at least once
            ids = [client.submit(make_claim(amount)) for amount in (120.0, 5000.0, 300.0)]
            for wf in ids:
                client.wait(wf, timeout_s=60)
                assert client.status(wf)["state"] == "SUCCESS"
        assert set_recording(sb.system_spec(), None) == list(AGENTS)
        spec = sb.system_spec()
        contracts = root / "contracts"
        snapshot(spec, contracts)
        generate_pacts([recording], contracts / "pacts", system=spec)
        yield Healthy(sb, spec, recording, contracts)


def test_recording_covers_every_edge(healthy: Healthy) -> None:
    proxies = {json.loads(line)["proxy"] for line in healthy.recording.read_text().splitlines()}
    assert proxies == set(AGENTS)
    names = sorted(p.name for p in (healthy.contracts / "pacts").glob("*.json"))
    assert names == [f"orchestrator-{a}.json" for a in sorted(AGENTS)]


def test_generated_pacts_all_verify_on_the_healthy_sandbox(healthy: Healthy) -> None:
    results = verify_pacts(healthy.spec, [healthy.contracts / "pacts"])
    assert {r.edge for r in results} == {f"orchestrator->{a}" for a in AGENTS}
    for r in results:
        assert (r.edge, r.failed, r.failures) == (r.edge, 0, [])
        assert r.passed >= 1


def test_a2a_and_mcp_suites_pass_on_the_healthy_sandbox(healthy: Healthy) -> None:
    results = run_all(healthy.spec, suites=["a2a", "mcp"], contracts_dir=healthy.contracts, examples=5)
    assert sorted((r.suite, r.edge) for r in results) == [("a2a", "orchestrator->risk"),
                                                          ("mcp", "orchestrator->payout")]
    for r in results:
        assert (r.suite, r.failures, r.breaking_changes) == (r.suite, [], [])
        assert r.passed > 20


def test_openapi_suite_passes_on_the_healthy_sandbox(healthy: Healthy, tmp_path: Path) -> None:
    results = run_all(healthy.spec, suites=["openapi"], openapi_examples=5, report_dir=tmp_path)
    edges = {r.edge for r in results}
    assert {"orchestrator->intake", "orchestrator->approval", "orchestrator->notify"} < edges
    assert len(edges) == 4, edges  # and the orchestrator's own API
    assert [f.message for r in results for f in r.failures] == []


def test_cli_run_writes_contracts_json(healthy: Healthy, tmp_path: Path) -> None:
    system_yaml = healthy.sandbox.write_system_yaml()
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "run", "--system", str(system_yaml), "--out", str(tmp_path), "--suite", "a2a",
              "--suite", "mcp", "--suite", "pact", "--contracts", str(healthy.contracts), "-n", "3"])
    assert exc.value.code == 0
    results = json.loads((tmp_path / "contracts.json").read_text())
    assert {r["suite"] for r in results} == {"a2a", "mcp", "pact"} and all(r["failed"] == 0 for r in results)


def test_schema_drift_is_caught_by_pact_a2a_diff_and_can_i_deploy(
        healthy: Healthy, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Sandbox(tmp_path / "drifted", defects=["schema_drift_risk"], with_proxy=False) as sb:
        spec = sb.system_spec()
        (pact,) = verify_pacts(spec, [healthy.contracts / "pacts"], services=["risk"])
        (a2a,) = run_all(spec, suites=["a2a"], services=["risk"], contracts_dir=healthy.contracts, examples=3)
        snapshot(spec, tmp_path / "new", services=["risk"])
    assert pact.failed >= 1
    assert "Actual map is missing the following keys: risk_score" in pact.failures[0].message
    assert '"score"' in pact.failures[0].message
    assert a2a.breaking_changes == [
        "skill 'risk-score' output.risk_score: field 'risk_score' removed (possibly renamed to 'score')"]

    old, new = healthy.contracts / "a2a" / "risk.card.json", tmp_path / "new" / "a2a" / "risk.card.json"
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "diff", str(old), str(new)])
    assert exc.value.code == 1
    assert "BREAKING skill 'risk-score' output.risk_score: field 'risk_score' removed" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "can-i-deploy", "--provider", "risk", "--contract", str(new),
              "--pacts", str(healthy.contracts / "pacts")])
    assert exc.value.code == 1
    assert "field 'risk_score' the consumer received is not promised" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["contracts", "can-i-deploy", "--provider", "risk", "--contract", str(old),
              "--pacts", str(healthy.contracts / "pacts")])
    assert exc.value.code == 0
