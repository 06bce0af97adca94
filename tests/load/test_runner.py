"""LoadGenerator against a real claims server with real Locust subprocesses."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness.load import LoadGenerator, Sample
from harness.model.scenario import LoadProfile
from tests.load.conftest import ClaimsServer


class Collector:
    """on_sample target: records samples with the harness-side arrival time."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.arrival: list[float] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)
            self.arrival.append(time.monotonic())
            self.threads.add(threading.current_thread().name)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.samples) >= count:
                return True
            time.sleep(0.05)
        return False


def _locust_children() -> list[psutil.Process]:
    """Live Locust processes started by this test process."""
    me = psutil.Process()
    return [p for p in me.children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE and "locust" in " ".join(p.cmdline())]


def _assert_no_locust_left(pids: list[int]) -> None:
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid
    assert _locust_children() == []


@pytest.mark.slow
def test_local_run_streams_real_samples(claims_server: ClaimsServer, tmp_path: Path) -> None:
    got = Collector()
    profile = LoadProfile(users=4, spawn_rate=20, think_time_s=(0.02, 0.05),
                          tasks={"submit_claim": 3, "get_claim": 2, "health": 1})
    gen = LoadGenerator(profile, claims_server.workflow_api(), out_dir=tmp_path, seed=7,
                        on_sample=got, health_url=claims_server.health_url)
    assert not gen.running
    t0 = time.monotonic()
    gen.start()
    try:
        assert gen.running
        # Streaming: samples arrive while Locust is still running, not at the end.
        assert got.wait_for(1, timeout=10), "no sample within 10 s of start()"
        assert gen.running
        first_delay = got.arrival[0] - got.samples[0].t_mono
        assert got.wait_for(150, timeout=30)
    finally:
        gen.stop()
    pids = gen.pids
    assert not gen.running
    _assert_no_locust_left(pids)
    assert "gevent" not in sys.modules and "locust" not in sys.modules

    samples = list(got.samples)
    # t_mono is on this process's monotonic clock, and each sample was delivered soon after.
    assert all(t0 < s.t_mono <= time.monotonic() for s in samples)
    assert 0 <= first_delay < 1.0
    assert [s.t_mono for s in samples] == sorted(s.t_mono for s in samples)
    assert got.threads and threading.main_thread().name not in got.threads

    by_name: dict[str, list[Sample]] = {}
    for s in samples:
        by_name.setdefault(s.name, []).append(s)
    assert set(by_name) == {"submit_claim", "get_claim", "health"}
    assert all(s.ok and s.status == 200 and s.error is None and s.latency_ms > 0 for s in samples)

    # Workflow ids come from real submissions; polls only ask for ids this run submitted.
    submitted = [s.workflow_id for s in by_name["submit_claim"]]
    assert all(wf in claims_server.issued for wf in submitted)
    assert len(set(submitted)) == len(submitted)
    assert all(s.workflow_id in set(submitted) | set(claims_server.issued) for s in by_name["get_claim"])
    assert all(s.workflow_id is None for s in by_name["health"])
    assert all(s.method == "GET" for s in by_name["get_claim"] + by_name["health"])
    assert all(s.method == "POST" for s in by_name["submit_claim"])
    # Every submit used a distinct idempotency key and a rendered body template.
    assert len(set(claims_server.keys)) == len(claims_server.keys)
    assert all(k.startswith("load-") for k in claims_server.keys)
    assert all(c.startswith("c-") and c[2:].isdigit() for c in claims_server.claim_ids)
    assert len(set(claims_server.claim_ids)) == len(claims_server.claim_ids)

    # Task mix follows the 3:2:1 weights (get_claim may skip before the first submit).
    n = len(samples)
    assert 0.35 < len(by_name["submit_claim"]) / n < 0.65
    assert 0.18 < len(by_name["get_claim"]) / n < 0.48
    assert 0.06 < len(by_name["health"]) / n < 0.30

    # Logs and the redacted config copy are in out_dir.
    assert (tmp_path / "locust.log").exists()
    assert (tmp_path / "load-config.json").exists()
    gen.stop()  # idempotent
