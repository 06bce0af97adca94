"""End to end on a system that is not the sandbox: the trips orchestration in trips_app/.

The tests write its system.yaml (tests/external/system.yaml.template, free ports) and the
scenario in tests/external/chaos/ into a folder and call the CLI there as a user would:
``harness run --system`` starts the three services and the embedded proxy, puts 1.5 s of
latency on the answers of trips->hotels (trips' client gives up after 1 s and retries), and
stops everything; ``harness gate`` applies the repo's gate.yaml unchanged; ``harness
contracts openapi`` checks the running services.

Healthy, hotels is idempotent on trip_id, so every retried booking returns the first one:
integrity is measured (declared side effects) and clean, and the gate passes although the
system declares no Cedar policies. With ``SEEDED_DEFECT=double_book`` every retry books the
hotel again, which integrity must report and the gate must fail on.

One harness run per variant, shared by the tests of that variant (module-scoped fixtures;
each variant's tests are one xdist group, so ``--dist loadgroup`` does not run it twice).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.model.journal import Event, FaultInjectedEvent, FaultRevertedEvent, ProbeEvent, parse_journal_lines
from harness.model.loader import load_system
from tests.external.helpers import REPO, STALE_TRIP, Ports, harness, seed_history, wait_answers, write_system

pytestmark = pytest.mark.slow

SCENARIO = "scenarios/hotels-slow.yaml"
GATE = str(REPO / "gate.yaml")
HEALTHY = pytest.mark.xdist_group("trips-healthy")
DOUBLE_BOOK = pytest.mark.xdist_group("trips-double-book")


@dataclass
class Run:
    folder: Path
    ports: Ports
    proc: subprocess.CompletedProcess[str]
    run_dir: Path
    events: list[Event]
    scorecard: dict[str, Any]
    audit: list[dict[str, Any]]
    spans: list[dict[str, Any]]

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _run(folder: Path, defect: str) -> Run:
    ports = write_system(folder, defect=defect)
    seed_history(folder)
    started = time.monotonic()
    proc = harness(folder, "run", SCENARIO, "--system", "system.yaml", "--no-progress", "--out", "reports",
                   "--settle", "15")
    print(f"harness run ({defect or 'healthy'}): {time.monotonic() - started:.1f} s, exit {proc.returncode}")
    run_dir = (folder / "reports" / "latest").resolve()
    assert (run_dir / "scorecard.json").exists(), proc.stdout + proc.stderr
    return Run(folder=folder, ports=ports, proc=proc, run_dir=run_dir,
               events=parse_journal_lines((run_dir / "journal.jsonl").read_text().splitlines()),
               scorecard=json.loads((run_dir / "scorecard.json").read_text()),
               audit=_jsonl(run_dir / "audit.jsonl"), spans=_jsonl(run_dir / "traces.jsonl"))


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory.mktemp("trips-healthy"), "")


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory.mktemp("trips-double-book"), "double_book")


def _hotel_bookings(run: Run) -> Counter[str]:
    return Counter(r["trip_id"] for r in run.audit if r.get("event") == "hotel_booked")


# -- healthy ---------------------------------------------------------------------------------


@HEALTHY
def test_the_harness_starts_the_system_lands_the_fault_and_stops_everything(healthy: Run) -> None:
    assert healthy.proc.returncode == 0, healthy.output
    assert "started embedded-proxy, trips, flights, hotels" in healthy.output, healthy.output
    assert "stopped embedded-proxy, trips, flights, hotels" in healthy.output, healthy.output
    injected = [e for e in healthy.events if isinstance(e, FaultInjectedEvent)]
    reverted = [e for e in healthy.events if isinstance(e, FaultRevertedEvent)]
    assert len(injected) == 1 and len(reverted) == 1, (injected, reverted)
    assert injected[0].type == "latency" and injected[0].target == "trips->hotels", injected[0]
    assert reverted[0].ok, reverted[0]
    t0, t2 = injected[0].t_mono, reverted[0].t_mono
    probes = [e for e in healthy.events if isinstance(e, ProbeEvent)]
    # the fault hurt: a trip submitted while hotels answered late did not finish in time ...
    failed_in_fault = [e for e in probes if not e.ok and t0 <= e.t_mono - (e.latency_ms or 0) / 1000 <= t2]
    assert any(e.probe == "trip-completes" for e in failed_in_fault), probes
    # ... the baseline before it was healthy, and every probe holds again at the end
    assert all(e.ok for e in probes if e.t_mono < t0 and e.phase == "baseline"), probes
    for name in ("trips-health", "trip-completes"):
        assert [e for e in probes if e.probe == name][-1].ok, name
    for port in (healthy.ports.proxy, healthy.ports.trips, healthy.ports.flights, healthy.ports.hotels,
                 healthy.ports.flights_listen, healthy.ports.hotels_listen):
        assert _closed(port), f"port {port} is still served after the run"


@HEALTHY
def test_mttr_is_measured(healthy: Run) -> None:
    mttr = healthy.scorecard["mttr"]
    assert mttr is not None and mttr["n"] == 1, mttr
    # impact starts with the fault and ends after it was reverted (6 s inject phase)
    assert 0 < mttr["p50"] <= 15, mttr


@HEALTHY
def test_integrity_is_measured_from_the_declared_side_effects_and_clean(healthy: Run) -> None:
    integrity = healthy.scorecard["integrity"]
    assert integrity["duplicated"] == [], integrity  # measured: [] and not null
    assert integrity["not_measured"] is None, integrity
    assert sorted(integrity["declared"]) == ["flight booked", "hotel booked"], integrity
    assert integrity["lost"] == [] and integrity["completed"] > 0, integrity
    # not vacuous: trips retried hotel bookings during the fault, and each trip was booked once
    attempts = Counter(s["attributes"]["trip.id"] for s in healthy.spans if s.get("name") == "invoke_agent hotels")
    retried = {trip for trip, n in attempts.items() if n > 1}
    assert retried, "no hotel booking was retried: the fault did not reach trips->hotels"
    bookings = _hotel_bookings(healthy)
    assert all(bookings[trip] == 1 for trip in retried), {t: bookings[t] for t in retried}
    assert max(bookings.values()) == 1, bookings.most_common(3)


@HEALTHY
def test_only_the_runs_own_telemetry_is_scored(healthy: Run) -> None:
    """The audit log already held last week's double booking; the run folder and the
    integrity figure see only this run's records."""
    source = (healthy.folder / "telemetry" / "audit.jsonl").read_text()
    assert STALE_TRIP in source
    assert healthy.audit and not [r for r in healthy.audit if r.get("trip_id") == STALE_TRIP]
    assert not [s for s in healthy.spans if (s.get("attributes") or {}).get("trip.id") == STALE_TRIP]
    assert not [d for d in healthy.scorecard["integrity"]["duplicated"] if STALE_TRIP in d["detail"]]


@HEALTHY
def test_a_system_without_policies_reads_not_measured_and_passes_the_shipped_gate(healthy: Run) -> None:
    policy = healthy.scorecard["policy"]
    assert policy["adherence"] is None and policy["declared"] is False and policy["not_measured"], policy
    gate = harness(healthy.folder, "gate", "reports/latest", "--rules", GATE)
    out = gate.stdout + gate.stderr
    assert gate.returncode == 0, out
    assert "gate passed" in out and "not measured" in out and "policy.adherence" in out, out


# -- seeded defect: hotels books again on a retry --------------------------------------------


@DOUBLE_BOOK
def test_a_double_booking_hotels_agent_is_reported_as_duplicated_work(defective: Run) -> None:
    assert defective.proc.returncode == 1, defective.output  # integrity floor: the scenario fails
    integrity = defective.scorecard["integrity"]
    duplicated = integrity["duplicated"]
    assert duplicated, integrity
    bookings = _hotel_bookings(defective)
    hotel_items = [d for d in duplicated if d["detail"].startswith("hotel booked ")]
    assert hotel_items, duplicated
    for item in hotel_items:
        trip = item["detail"].rsplit(" ", 1)[-1]
        assert bookings[trip] >= 2, (item, bookings[trip])
        assert f"hotel booked {bookings[trip]} times for trip_id {trip}" == item["detail"], item
    # the flights agent stayed idempotent: only the defect is reported
    assert not [d for d in duplicated if not d["detail"].startswith("hotel booked ")], duplicated
    assert defective.scorecard["verdict"] == "fail", defective.scorecard["verdict"]


@DOUBLE_BOOK
def test_the_shipped_gate_fails_the_double_booking_build_naming_integrity(defective: Run) -> None:
    gate = harness(defective.folder, "gate", "reports/latest", "--rules", GATE)
    out = gate.stdout + gate.stderr
    assert gate.returncode == 1, out
    assert "FAIL integrity.duplicated" in out, out
    assert "policy.adherence" in out and "not measured" in out, out  # still not a failure by itself


# -- contracts: a stopped agent is a failure naming it ----------------------------------------


def test_contracts_fail_loudly_naming_a_stopped_agent(tmp_path: Path) -> None:
    """The user runs their services themselves (the start commands of system.yaml), stops
    hotels, and checks the OpenAPI contracts: the running ones pass, hotels fails by name."""
    write_system(tmp_path)
    spec = load_system(tmp_path / "system.yaml")
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for svc in spec.services:
            assert svc.start is not None
            procs[svc.name] = subprocess.Popen(svc.start.command, cwd=tmp_path, env={**os.environ, **svc.start.env},
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                               start_new_session=True)
        for svc in spec.services:
            assert svc.health_url is not None
            wait_answers(svc.health_url, 60)
        procs["hotels"].send_signal(signal.SIGTERM)
        procs["hotels"].wait(20)
        proc = harness(tmp_path, "contracts", "openapi", "--system", "system.yaml", "-n", "5", "--out", "out")
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1, out
        assert "FAIL [openapi trips->hotels] document: hotels:" in out, out
        results = {r["edge"]: r for r in json.loads((tmp_path / "out" / "contracts.json").read_text())}
        assert set(results) == {"trips", "trips->flights", "trips->hotels"}, results
        hotels = results["trips->hotels"]
        assert hotels["failed"] >= 1 and any("hotels" in f["message"] for f in hotels["failures"]), hotels
        for edge in ("trips", "trips->flights"):  # what runs still passes: only the stopped agent fails
            assert results[edge]["failed"] == 0 and results[edge]["passed"] > 0, results[edge]
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
