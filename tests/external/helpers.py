"""Writes the trips orchestration's system.yaml and scenarios into a folder, as a user would
keep them next to their code, and runs the harness CLI there as a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import httpx

from harness.system.ports import free_ports

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


@dataclass(frozen=True)
class Ports:
    proxy: int
    trips: int
    flights: int
    hotels: int
    flights_listen: int
    hotels_listen: int


def write_system(folder: Path, *, defect: str = "") -> Ports:
    """``folder/system.yaml`` (free ports) and ``folder/scenarios/*.yaml`` (from ``chaos/``, which is
    not called ``scenarios`` here so that the harness pytest plugin does not collect it under tests/)."""
    ports = Ports(*free_ports(6))
    text = Template((HERE / "system.yaml.template").read_text()).substitute(
        proxy_port=ports.proxy, trips_port=ports.trips, flights_port=ports.flights, hotels_port=ports.hotels,
        flights_listen=ports.flights_listen, hotels_listen=ports.hotels_listen, python=sys.executable,
        app_dir=str(HERE), defect=defect)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "system.yaml").write_text(text)
    shutil.copytree(HERE / "chaos", folder / "scenarios", dirs_exist_ok=True)
    return ports


STALE_TRIP = "T-from-last-week"


def seed_history(folder: Path, *, age_s: float = 7 * 24 * 3600) -> None:
    """Telemetry files that already hold older records, as a long-running system's do: the
    same hotel booked twice for one trip a week ago (a duplicate, but not of this run) and its
    spans. Only the records of a run's own time window may be scored."""
    ts = time.time() - age_s
    telemetry = folder / "telemetry"
    telemetry.mkdir(parents=True, exist_ok=True)
    with (telemetry / "audit.jsonl").open("a") as fh:
        for i in range(2):
            fh.write(json.dumps({"ts": ts + i, "event": "hotel_booked", "trip_id": STALE_TRIP,
                                 "booking_id": f"H-old-{i}"}) + "\n")
    with (telemetry / "spans.jsonl").open("a") as fh:
        for i in range(2):
            start = int((ts + i) * 1e9)
            fh.write(json.dumps({"trace_id": "ab" * 16, "span_id": f"{i:016x}", "parent_span_id": None,
                                 "name": "hotels.book", "kind": "SERVER", "start_ns": start,
                                 "end_ns": start + 1_000_000, "status": "OK",
                                 "attributes": {"gen_ai.agent.name": "hotels", "trip.id": STALE_TRIP},
                                 "events": [], "resource": {"service.name": "hotels"}}) + "\n")


def harness(folder: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``python -m harness ARGS`` in ``folder``, output captured."""
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def wait_answers(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1, trust_env=False).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout_s} s")
