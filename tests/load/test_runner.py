"""LoadGenerator against a real claims server with real Locust subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness.load import LoadGenerator, Sample
from harness.model.scenario import LoadProfile
from harness.system.ports import free_port
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


def _assert_no_locust_left(pids: list[int], *, allow: tuple[int, ...] = ()) -> None:
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, pid
    assert [p for p in _locust_children() if p.pid not in allow] == []


@pytest.mark.slow
def test_local_run_streams_real_samples(claims_server: ClaimsServer, tmp_path: Path) -> None:
    got = Collector()
    profile = LoadProfile(users=4, spawn_rate=20, think_time_s=(0.02, 0.05),
                          tasks={"submit": 3, "status": 2, "health": 1})
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
    assert set(by_name) == {"submit", "status", "health"}
    assert all(s.ok and s.status == 200 and s.error is None and s.latency_ms > 0 for s in samples)

    # Workflow ids come from real submissions; polls only ask for ids this run submitted.
    submitted = [s.workflow_id for s in by_name["submit"]]
    assert all(wf in claims_server.issued for wf in submitted)
    assert len(set(submitted)) == len(submitted)
    assert all(s.workflow_id in set(submitted) | set(claims_server.issued) for s in by_name["status"])
    assert all(s.workflow_id is None for s in by_name["health"])
    assert all(s.method == "GET" for s in by_name["status"] + by_name["health"])
    assert all(s.method == "POST" for s in by_name["submit"])
    # Every submit used a distinct idempotency key and a rendered body template.
    assert len(set(claims_server.keys)) == len(claims_server.keys)
    assert all(k.startswith("load-") for k in claims_server.keys)
    assert all(c.startswith("c-") and c[2:].isdigit() for c in claims_server.claim_ids)
    assert len(set(claims_server.claim_ids)) == len(claims_server.claim_ids)

    # Task mix follows the 3:2:1 weights (status may skip before the first submit).
    n = len(samples)
    assert 0.35 < len(by_name["submit"]) / n < 0.65
    assert 0.18 < len(by_name["status"]) / n < 0.48
    assert 0.06 < len(by_name["health"]) / n < 0.30

    # Logs and the redacted config copy are in out_dir.
    assert (tmp_path / "locust.log").exists()
    assert (tmp_path / "load-config.json").exists()
    gen.stop()  # idempotent


@pytest.mark.slow
def test_failures_show_status_and_error_without_leaking_secrets(claims_server: ClaimsServer,
                                                                 tmp_path: Path) -> None:
    claims_server.fail_every = 3
    dead_port = free_port()  # nothing listens here: connection refused -> status 0
    secret = "S3cr3tV4lue"
    got = Collector()
    profile = LoadProfile(users=3, spawn_rate=30, think_time_s=(0.02, 0.04),
                          tasks={"submit": 3, "health": 1})
    gen = LoadGenerator(profile, claims_server.workflow_api(), out_dir=tmp_path, on_sample=got,
                        health_url=f"http://127.0.0.1:{dead_port}/healthz?api_key={secret}")
    gen.start()
    try:
        assert got.wait_for(80, timeout=30)
    finally:
        gen.stop()
    _assert_no_locust_left(gen.pids)

    submits = [s for s in got.samples if s.name == "submit"]
    failed = [s for s in submits if not s.ok]
    assert failed and all(s.status == 500 and s.workflow_id is None and "500" in (s.error or "")
                          for s in failed)
    assert all(s.status == 200 and s.workflow_id in claims_server.issued for s in submits if s.ok)
    # Every 500 the server sent shows up, except requests cut off by stop() (at most one per user).
    assert claims_server.failed - profile.users <= len(failed) <= claims_server.failed

    health = [s for s in got.samples if s.name == "health"]
    assert health and all(s.status == 0 and not s.ok and s.error for s in health)
    assert all(secret not in (s.error or "") for s in got.samples)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    # The redacted config still says where traffic went.
    assert "api_key=%5BREDACTED%5D" in (tmp_path / "load-config.json").read_text()
    assert gen.exit_codes and all(code is not None for code in gen.exit_codes)


@pytest.mark.slow
def test_distributed_two_workers(claims_server: ClaimsServer, tmp_path: Path) -> None:
    got = Collector()
    profile = LoadProfile(users=4, spawn_rate=40, think_time_s=(0.02, 0.05), distributed=2,
                          tasks={"submit": 2, "status": 1})
    gen = LoadGenerator(profile, claims_server.workflow_api(), out_dir=tmp_path, seed=3, on_sample=got)
    gen.start()
    try:
        assert len(gen.pids) == 3  # master + 2 workers
        assert got.wait_for(120, timeout=40)
    finally:
        gen.stop(timeout=15)
    _assert_no_locust_left(gen.pids)
    assert "gevent" not in sys.modules

    samples = list(got.samples)
    assert {s.worker for s in samples} == {1, 2}
    assert all(s.ok for s in samples)
    # One time-ordered stream even though two processes produced it.
    assert [s.t_mono for s in samples] == sorted(s.t_mono for s in samples)
    # The {n} counter stays unique across workers, so no two submits share a claim id.
    assert len(set(claims_server.claim_ids)) == len(claims_server.claim_ids) > 10
    submitted = [s.workflow_id for s in samples if s.name == "submit"]
    assert submitted and all(wf in claims_server.issued for wf in submitted)
    assert {p.name for p in tmp_path.glob("*.log")} == {"master.log", "worker-1.log", "worker-2.log"}


@pytest.mark.slow
def test_max_runtime_ends_locust_by_itself(claims_server: ClaimsServer, tmp_path: Path) -> None:
    calls = {"n": 0}
    good: list[Sample] = []

    def flaky_consumer(sample: Sample) -> None:
        calls["n"] += 1
        if calls["n"] % 5 == 0:
            raise RuntimeError("consumer bug")  # must not stop the stream
        good.append(sample)

    profile = LoadProfile(users=2, spawn_rate=20, think_time_s=(0.05, 0.1), tasks={"submit": 1})
    gen = LoadGenerator(profile, claims_server.workflow_api(), out_dir=tmp_path, on_sample=flaky_consumer,
                        max_runtime_s=2)
    gen.start()
    deadline = time.monotonic() + 20
    while gen.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not gen.running, "Locust kept running past --run-time"
    gen.stop()
    _assert_no_locust_left(gen.pids)
    assert calls["n"] >= 10 and gen.callback_errors == calls["n"] // 5
    assert len(good) == calls["n"] - gen.callback_errors
    assert calls["n"] == gen.samples_received
    assert "Run time limit" in (tmp_path / "locust.log").read_text()


@pytest.mark.slow
def test_workers_attach_to_an_existing_master(claims_server: ClaimsServer, tmp_path: Path) -> None:
    # Someone else's master: started here by hand, with the package's locustfile and no harness env.
    from harness.load import LOCUSTFILE

    mport = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_LOAD", "LOCUST_"))}
    with open(tmp_path / "external-master.log", "wb") as log:
        master = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "--master", "-u", "2", "-r", "10",
             "-t", "60s", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(mport),
             "--expect-workers", "1", "--expect-workers-max-wait", "30", "--only-summary"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    got = Collector()
    try:
        profile = LoadProfile(master=f"127.0.0.1:{mport}", think_time_s=(0.02, 0.05),
                              tasks={"submit": 1})
        gen = LoadGenerator(profile, claims_server.workflow_api(), out_dir=tmp_path / "load", on_sample=got)
        gen.start()
        try:
            assert len(gen.pids) == 1
            assert got.wait_for(20, timeout=30), (tmp_path / "external-master.log").read_text()[-2000:]
        finally:
            gen.stop()
        _assert_no_locust_left(gen.pids, allow=(master.pid,))
        assert all(s.worker == 1 and s.ok and s.workflow_id in claims_server.issued for s in got.samples)
        assert master.poll() is None or master.returncode == 0  # our workers left; the master is not ours
    finally:
        master.terminate()
        try:
            master.wait(10)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()


@pytest.mark.slow
def test_n_is_unique_across_load_generators_and_probes(claims_server: ClaimsServer, tmp_path: Path) -> None:
    """Two load generators (two repeats) and the engine's own submissions (probes) render
    ``{n}`` into the same body: every work item still gets its own id."""
    from harness.engine.workflow import WorkflowClient

    api = claims_server.workflow_api()
    profile = LoadProfile(users=2, spawn_rate=20, think_time_s=(0.01, 0.02), tasks={"submit": 1})
    probes = WorkflowClient(api)
    try:
        for repeat in range(2):
            got = Collector()
            gen = LoadGenerator(profile, api, out_dir=tmp_path / f"r{repeat}", seed=7, on_sample=got)
            gen.start()
            try:
                for _ in range(5):
                    probes.submit()
                assert got.wait_for(20, timeout=30)
            finally:
                gen.stop()
    finally:
        probes.close()
    ids = claims_server.claim_ids
    assert len(ids) > 45 and len(set(ids)) == len(ids)
