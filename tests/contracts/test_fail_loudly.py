"""Contract suites never pass for having checked nothing: a stopped service, a selection
that matched nothing, a document that is not OpenAPI are failures that name the service
(console and contracts.json, exit 1); an unknown name or a flag combination that cannot
work is bad input (one line, exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from harness.cli import main
from harness.contracts.results import all_passed, require_checks
from harness.model.scorecard import ContractResult
from harness.system.ports import free_ports
from tests.contracts.apps import serve


def _trips_app() -> FastAPI:
    """The orchestrator of a user's system: an untyped FastAPI app (handlers return dict)."""
    app = FastAPI(title="trips")

    @app.get("/trips/{trip_id}")
    def get_trip(trip_id: str) -> dict:  # type: ignore[type-arg]
        return {"trip_id": trip_id, "status": "DONE"}

    return app


def _system(tmp_path: Path, trips: str, closed: list[int]) -> Path:
    """trips (orchestrator, up), hotels (REST, down), planner (A2A, down), tools (MCP, down),
    notes (REST without an openapi_url: publishes no contract)."""
    hotels, planner, tools = closed
    path = tmp_path / "system.yaml"
    path.write_text(f"""
name: trips
services:
  - {{name: trips, kind: orchestrator, protocol: rest, base_url: "{trips}",
      openapi_url: "{trips}/openapi.json", external: true}}
  - {{name: hotels, kind: agent, protocol: rest, base_url: "http://127.0.0.1:{hotels}",
      openapi_url: "http://127.0.0.1:{hotels}/openapi.json", external: true}}
  - {{name: planner, kind: agent, protocol: a2a, base_url: "http://127.0.0.1:{planner}", external: true}}
  - {{name: tools, kind: agent, protocol: mcp, base_url: "http://127.0.0.1:{tools}", external: true}}
  - {{name: notes, kind: agent, protocol: rest, base_url: "{trips}", external: true}}
""")
    return path


@pytest.fixture(scope="module")
def trips_url() -> Iterator[str]:
    with serve(_trips_app()) as url:
        yield url


@pytest.fixture
def closed() -> list[int]:
    """Three free ports nothing listens on: services that are down."""
    return free_ports(3)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def _by_edge(path: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {r["edge"]: r for r in json.loads(path.read_text())}


@pytest.mark.slow
def test_stopped_services_fail_naming_them_and_the_orchestrator_is_covered(
        trips_url: str, closed: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    system = _system(tmp_path, trips_url, closed)
    code, out, _ = _cli(["contracts", "run", "--system", str(system), "--openapi-examples", "3", "-n", "2",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 1, out
    hotels, planner, tools = closed
    lines = out.splitlines()
    for expected in (f"hotels: OpenAPI document http://127.0.0.1:{hotels}/openapi.json unreachable: "
                     "connection refused",
                     f"planner: A2A agent card http://127.0.0.1:{planner}/.well-known/agent-card.json "
                     "unreachable: connection refused",
                     f"tools: MCP endpoint http://127.0.0.1:{tools}/mcp unreachable: connection refused"):
        assert any(line.startswith("FAIL [") and line.endswith(expected) for line in lines), (expected, out)
    results = _by_edge(tmp_path / "out" / "contracts.json")
    for edge in ("hotels", "planner", "tools"):
        assert results[edge]["failed"] >= 1 and results[edge]["passed"] == 0
        assert results[edge]["failures"][0]["name"] == "document"
        assert results[edge]["failures"][0]["message"].startswith(f"{edge}: ")
    # the orchestrator (kind: orchestrator) is tested like any service with an openapi_url
    assert results["trips"]["suite"] == "openapi"
    assert results["trips"]["failed"] == 0 and results["trips"]["passed"] > 0


@pytest.mark.slow
def test_openapi_command_covers_the_orchestrator_and_fails_on_a_stopped_service(
        trips_url: str, closed: list[int], tmp_path: Path) -> None:
    """The user's report, end to end in a fresh process: ``--service trips`` checks the
    orchestrator; the full system run fails on hotels, with the reason on the console."""
    system = _system(tmp_path, trips_url, closed)
    env = {**os.environ, "COLUMNS": "200"}
    only = subprocess.run([sys.executable, "-m", "harness", "contracts", "openapi", "--system", str(system),
                           "--service", "trips", "-n", "3", "--out", "one"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=env)
    assert only.returncode == 0, only.stdout + only.stderr
    assert _by_edge(tmp_path / "one" / "contracts.json")["trips"]["passed"] > 0
    every = subprocess.run([sys.executable, "-m", "harness", "contracts", "openapi", "--system", str(system),
                            "-n", "3"], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert every.returncode == 1, every.stdout + every.stderr
    assert f"hotels: OpenAPI document http://127.0.0.1:{closed[0]}/openapi.json unreachable: connection " \
           "refused" in every.stdout
    assert "Traceback" not in every.stdout + every.stderr


def test_a_url_that_is_down_fails_in_one_line(closed: list[int], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed[0]}/openapi.json"
    code, out, _ = _cli(["contracts", "openapi", "--url", url, "--out", str(tmp_path)], capsys)
    assert code == 1 and f"document: OpenAPI document {url} unreachable: connection refused" in out
    (result,) = json.loads((tmp_path / "contracts.json").read_text())
    assert result["failed"] == 1 and result["passed"] == 0
    code, out, _ = _cli(["contracts", "mcp", "--url", f"http://127.0.0.1:{closed[1]}/mcp"], capsys)
    assert code == 1 and f"MCP endpoint http://127.0.0.1:{closed[1]}/mcp unreachable: connection refused" in out


def test_a_document_that_is_not_openapi_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = FastAPI()

    @app.get("/doc.json")
    def doc() -> dict:  # type: ignore[type-arg]
        return {"hello": "world"}

    with serve(app) as url:
        code, out, _ = _cli(["contracts", "openapi", "--url", f"{url}/doc.json"], capsys)
    assert code == 1
    assert f"{url}/doc.json is not an OpenAPI document (no 'openapi' or 'swagger' field)" in out


def test_selections_that_matched_nothing_fail(trips_url: str, closed: list[int], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    system = _system(tmp_path, trips_url, closed)
    code, out, _ = _cli(["contracts", "openapi", "--system", str(system), "--service", "notes",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 1
    assert "notes: nothing to check: no openapi contract covers this service; a rest service publishes a " \
           "contract only with an openapi_url" in out
    (result,) = json.loads((tmp_path / "out" / "contracts.json").read_text())
    assert result["failures"][0]["name"] == "selection" and result["failed"] == 1

    only_rest = tmp_path / "rest.yaml"
    only_rest.write_text(f"name: s\nservices:\n  - {{name: trips, kind: orchestrator, protocol: rest, "
                         f"base_url: '{trips_url}', external: true}}\n")
    code, out, _ = _cli(["contracts", "run", "--system", str(only_rest), "--suite", "mcp"], capsys)
    assert code == 1
    assert "nothing to check: the mcp suite was chosen but no service of system.yaml offers one" in out
    (tmp_path / "pacts").mkdir()
    code, out, _ = _cli(["contracts", "run", "--system", str(only_rest), "--suite", "pact",
                         "--pacts", str(tmp_path / "pacts")], capsys)
    assert code == 1 and "nothing to check: the pact suite was chosen but no pact files" in out


def test_unknown_names_and_impossible_flag_combinations_are_exit_2(
        trips_url: str, closed: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    system = str(_system(tmp_path, trips_url, closed))
    url = f"{trips_url}/openapi.json"
    cases = [
        (["contracts", "openapi", "--system", system, "--service", "nope"], "unknown service 'nope'; known: "),
        (["contracts", "run", "--system", system, "--service", "nope"], "unknown service 'nope'"),
        (["contracts", "verify", "--system", system, "--pacts", str(tmp_path), "--provider", "nope"],
         "unknown service 'nope'"),
        (["contracts", "openapi", "--url", url, "--service", "trips"], "--service selects services of --system"),
        (["contracts", "openapi", "--system", system, "--base-url", trips_url], "--base-url goes with --url"),
        (["contracts", "a2a", "--system", system, "--baseline", system], "--baseline goes with --url"),
        (["contracts", "mcp", "--url", url, "--contracts", str(tmp_path)], "--contracts holds the baselines"),
        (["contracts", "run", "--system", system, "--suite", "openapi", "--pacts", str(tmp_path)],
         "--pacts is only read by the pact suite"),
    ]
    for argv, message in cases:
        code, out, err = _cli(argv, capsys)
        assert code == 2, (argv, out, err)
        assert message in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err


def test_verify_with_no_matching_pact_or_a_stopped_provider_fails(trips_url: str, closed: list[int], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    system = str(_system(tmp_path, trips_url, closed))
    pacts = tmp_path / "pacts"
    pacts.mkdir()
    code, out, _ = _cli(["contracts", "verify", "--system", system, "--pacts", str(pacts), "--provider",
                         "hotels"], capsys)
    assert code == 1 and "nothing to check: no pact in" in out and "names providers hotels" in out
    (pacts / "web-hotels.json").write_text(json.dumps({
        "consumer": {"name": "web"}, "provider": {"name": "hotels"}, "metadata": {"pactSpecification": {
            "version": "4.0"}}, "interactions": [{"type": "Synchronous/HTTP", "description": "GET /rooms -> 200",
                                                  "request": {"method": "GET", "path": "/rooms"},
                                                  "response": {"status": 200}}]}))
    code, out, _ = _cli(["contracts", "verify", "--system", system, "--pacts", str(pacts)], capsys)
    assert code == 1
    assert f"service: hotels: service http://127.0.0.1:{closed[0]} unreachable: connection refused" in out


def test_snapshot_of_a_stopped_service_fails_naming_it(trips_url: str, closed: list[int], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    system = str(_system(tmp_path, trips_url, closed))
    code, out, err = _cli(["contracts", "snapshot", "--system", system, "--out", str(tmp_path / "c")], capsys)
    assert code == 1, err
    assert f"wrote {tmp_path / 'c' / 'openapi' / 'trips.json'}" in out  # the live ones are still saved
    assert f"hotels: OpenAPI document http://127.0.0.1:{closed[0]}/openapi.json unreachable: connection " \
           "refused" in err
    assert "planner: A2A agent card" in err and "tools: MCP tool list" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_result_that_ran_no_checks_is_a_failure() -> None:
    empty = ContractResult(suite="a2a", edge="orchestrator->planner")
    failed = require_checks(empty, "planner")
    assert (failed.passed, failed.failed) == (0, 1)
    assert failed.failures[0].name == "no checks"
    assert failed.failures[0].message.startswith("planner: the a2a suite ran no checks")
    assert not all_passed([empty]) and not all_passed([])
    assert all_passed([ContractResult(suite="a2a", edge="x", passed=1)])


def test_harness_run_contracts_says_the_reason_and_fails(trips_url: str, closed: list[int],
                                                         tmp_path: Path) -> None:
    """``harness run --contracts ...`` goes through the engine's contract step: the reason is
    said on the console, contracts.json has the failure, and the step reports it failed."""
    from harness.engine.run import _run_contracts
    from harness.model.loader import load_system

    spec = load_system(_system(tmp_path, trips_url, closed))
    said: list[str] = []
    held = _run_contracts(spec, ("a2a",), tmp_path, 0, said.append)
    assert held is False
    assert any(f"planner: A2A agent card http://127.0.0.1:{closed[1]}/.well-known/agent-card.json unreachable: "
               "connection refused" in line for line in said), said
    (result,) = json.loads((tmp_path / "contracts.json").read_text())
    assert result["edge"] == "planner" and result["failed"] == 1
