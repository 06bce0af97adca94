"""``harness init`` against running FastAPI apps: the file it writes validates, and a
generated scenario runs against the system through the embedded proxy."""

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


def _serve(app: FastAPI, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        threading.Event().wait(0.05)
    return server


@pytest.fixture
def two_apps() -> Iterator[tuple[int, int]]:
    trips, hotels = FastAPI(title="Trips API"), FastAPI(title="hotels")

    @trips.get("/health")
    def trips_health() -> dict:  # type: ignore[type-arg]
        return {"status": "ok"}

    @hotels.get("/healthz")
    def hotels_health() -> dict:  # type: ignore[type-arg]
        return {"status": "ok"}

    ports = free_ports(2)
    servers = [_serve(trips, ports[0]), _serve(hotels, ports[1])]
    yield ports[0], ports[1]
    for server in servers:
        server.should_exit = True


def _harness(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=240,
                          cwd=cwd, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.slow
def test_init_writes_a_system_that_validates_and_runs(two_apps: tuple[int, int], tmp_path: Path) -> None:
    trips, hotels = two_apps
    proc = _harness("init", "--url", f"http://127.0.0.1:{trips}", "--url", f"http://127.0.0.1:{hotels}",
                    "--name", "trips", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    system = (tmp_path / "system.yaml").read_text()
    assert "name: trips-api" in system and f"health_url: http://127.0.0.1:{hotels}/healthz" in system
    assert f"openapi_url: http://127.0.0.1:{trips}/openapi.json" in system
    scenario = tmp_path / "scenarios" / "hotels-latency.yaml"
    assert scenario.exists() and (tmp_path / "scenarios" / "hotels-down.yaml").exists()
    check = _harness("validate", "system.yaml", *sorted(str(p) for p in (tmp_path / "scenarios").glob("*.yaml")),
                     cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr
    # shorter phases for the test; the generated file is otherwise used as written
    scenario.write_text(scenario.read_text().replace("{baseline: 5s, inject: 10s, recover: 10s}",
                                                     "{baseline: 1s, inject: 2s, recover: 2s}"))
    run = _harness("run", str(scenario), "--system", "system.yaml", "--no-progress", "--out", "reports",
                   "--settle", "1", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    events = [json.loads(line) for line in (tmp_path / "reports" / "latest" / "journal.jsonl").open()]
    assert any(e["kind"] == "fault_injected" and e.get("type") == "latency" for e in events)
    again = _harness("init", "--url", f"http://127.0.0.1:{trips}", "--url", f"http://127.0.0.1:{hotels}",
                     cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stdout + again.stderr


def test_init_refuses_an_unreachable_url(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    proc = _harness("init", "--url", f"http://127.0.0.1:{port}", "--url", f"http://127.0.0.1:{port}", cwd=tmp_path)
    assert proc.returncode == 2
    assert "unreachable" in proc.stdout + proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "system.yaml").exists()
