"""Contract suites never pass for having checked nothing: a stopped service, a selection
that matched nothing, a document that is not OpenAPI are failures that name the service."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from harness.system.ports import free_ports


def _system(tmp_path: Path, trips_port: int, hotels_port: int) -> Path:
    path = tmp_path / "system.yaml"
    path.write_text(f"""
name: trips
services:
  - {{name: trips, kind: orchestrator, protocol: rest, base_url: "http://127.0.0.1:{trips_port}",
      openapi_url: "http://127.0.0.1:{trips_port}/openapi.json", external: true}}
  - {{name: hotels, kind: agent, protocol: rest, base_url: "http://127.0.0.1:{hotels_port}",
      openapi_url: "http://127.0.0.1:{hotels_port}/openapi.json", external: true}}
  - {{name: notes, kind: agent, protocol: rest, base_url: "http://127.0.0.1:{hotels_port}", external: true}}
""")
    return path


@pytest.fixture
def trips_up() -> Iterator[tuple[int, int]]:
    """The orchestrator runs (an untyped FastAPI app); the hotels agent's port is closed."""
    app = FastAPI(title="trips")

    @app.get("/trips/{trip_id}")
    def get_trip(trip_id: str) -> dict:  # type: ignore[type-arg]
        return {"trip_id": trip_id, "status": "DONE"}

    trips_port, hotels_port = free_ports(2)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=trips_port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    yield trips_port, hotels_port
    server.should_exit = True
    thread.join(10)


def _harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=300,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.slow
def test_a_stopped_service_fails_naming_it_and_the_orchestrator_is_covered(
        trips_up: tuple[int, int], tmp_path: Path) -> None:
    system = _system(tmp_path, *trips_up)
    proc = _harness("contracts", "openapi", "--system", str(system), "-n", "3", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"hotels: OpenAPI document http://127.0.0.1:{trips_up[1]}/openapi.json unreachable" in proc.stdout
    results = json.loads((tmp_path / "out" / "contracts.json").read_text())
    by_edge = {r["edge"]: r for r in results}
    assert by_edge["hotels"]["failed"] == 1 and by_edge["hotels"]["failures"][0]["name"] == "document"
    assert by_edge["trips"]["failed"] == 0 and by_edge["trips"]["passed"] > 0  # the orchestrator, checked


@pytest.mark.slow
def test_a_selection_that_matched_nothing_fails(trips_up: tuple[int, int], tmp_path: Path) -> None:
    system = _system(tmp_path, *trips_up)
    proc = _harness("contracts", "openapi", "--system", str(system), "--service", "notes", "--out", "out",
                    cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "nothing to check: services notes offer no contract" in proc.stdout
    unknown = _harness("contracts", "openapi", "--system", str(system), "--service", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown service 'nope'" in unknown.stdout + unknown.stderr
