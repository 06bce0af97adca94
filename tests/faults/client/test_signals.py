"""A real run process with real faults: Ctrl-C/SIGTERM revert everything; after SIGKILL,
the real ``harness cleanup`` CLI reverts everything from the ledger, and a second run is a no-op."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.faults.ledger import CleanupLedger
from harness.faults.process import find_watchdogs
from tests.faults.client._helpers import ROOT, kill_tree, stopped, wait_for
from tests.faults.client.conftest import ProxyServer

SCRIPT = Path(__file__).with_name("inject_and_wait.py")


@pytest.fixture
def victim() -> Iterator[subprocess.Popen[bytes]]:
    """A process to pause, in its own process group (as a supervised service would be)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(0.05)"],
                            start_new_session=True)
    try:
        yield proc
    finally:
        kill_tree(proc)


def _start_run(ledger: Path, victim_pid: int, server: ProxyServer, proxy: str,
               down: str) -> subprocess.Popen[str]:
    run = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--ledger", str(ledger), "--pause-pid", str(victim_pid),
         "--api", server.api, "--proxy", proxy, "--down-proxy", down, "--ttl", "300", "--prefix", "run"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    assert run.stdout is not None
    line = run.stdout.readline()
    if line.strip() != "ready":
        kill_tree(run)
        pytest.fail(f"run did not get ready: {line!r} {run.stderr.read() if run.stderr else ''}")
    return run


def _cleanup_cli(ledger: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "cleanup", "--ledger", str(ledger)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_signal_reverts_everything_before_exit(proxy_server: ProxyServer, victim: subprocess.Popen[bytes],
                                               tmp_path: Path, sig: signal.Signals) -> None:
    toxic_proxy, down_proxy = proxy_server.new_name(), proxy_server.new_name()
    proxy_server.create(toxic_proxy)
    proxy_server.create(down_proxy)
    ledger = tmp_path / "ledger.jsonl"
    run = _start_run(ledger, victim.pid, proxy_server, toxic_proxy, down_proxy)
    try:
        assert stopped(victim.pid)
        assert "run-latency" in proxy_server.toxics(toxic_proxy)
        assert proxy_server.proxy(down_proxy)["enabled"] is False
        run.send_signal(sig)
        code = run.wait(timeout=30)
    finally:
        kill_tree(run)
    assert code == (-signal.SIGINT if sig == signal.SIGINT else 128 + sig), run.stderr.read()
    # everything reverted before the process exited
    assert not stopped(victim.pid)
    assert proxy_server.toxics(toxic_proxy) == {}
    assert proxy_server.proxy(down_proxy)["enabled"] is True
    assert not find_watchdogs("run-pause", victim.pid)
    assert CleanupLedger(ledger).outstanding() == []
    events = [json.loads(x)["event"] for x in ledger.read_text().splitlines()]
    assert events == ["injecting"] * 3 + ["reverted"] * 3


def test_sigkilled_run_is_cleaned_up_by_the_cli(proxy_server: ProxyServer, victim: subprocess.Popen[bytes],
                                                tmp_path: Path) -> None:
    toxic_proxy, down_proxy = proxy_server.new_name(), proxy_server.new_name()
    proxy_server.create(toxic_proxy)
    proxy_server.create(down_proxy)
    ledger = tmp_path / "ledger.jsonl"
    run = _start_run(ledger, victim.pid, proxy_server, toxic_proxy, down_proxy)
    run.kill()  # kill -9: no handler, no finally
    run.wait(timeout=10)
    kill_tree(run)
    # the network faults outlive the run by their lease (the pause watchdog resumes the victim
    # as soon as it sees the run gone); the ledger knows about all of them
    assert "run-latency" in proxy_server.toxics(toxic_proxy)
    assert proxy_server.proxy(down_proxy)["enabled"] is False
    assert {r["fault_id"] for r in CleanupLedger(ledger).outstanding()} == {
        "run-latency", "run-down", "run-pause"}

    result = _cleanup_cli(ledger)
    assert result.returncode == 0, result.stdout + result.stderr
    for fault_id in ("run-latency", "run-down", "run-pause"):
        assert fault_id in result.stdout
    assert result.stdout.count("reverted") >= 3
    assert wait_for(lambda: not stopped(victim.pid))
    assert proxy_server.toxics(toxic_proxy) == {}
    assert proxy_server.proxy(down_proxy)["enabled"] is True
    assert wait_for(lambda: not find_watchdogs("run-pause", victim.pid))
    assert CleanupLedger(ledger).outstanding() == []

    again = _cleanup_cli(ledger)
    assert again.returncode == 0 and "nothing to clean up" in again.stdout


def test_cleanup_cli_exits_nonzero_when_something_is_left(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    record = {"event": "injecting", "fault_id": "x-1", "owner_pid": 999_999_999,
              "entry": {"kind": "toxic", "fault_id": "x-1", "type": "latency", "ttl_s": 5, "proxy": "p",
                        "api_url": "http://127.0.0.1:9"}}
    ledger.write_text(json.dumps(record) + "\n")
    result = _cleanup_cli(ledger)
    assert result.returncode == 1
    assert "failed" in result.stdout and "unreachable" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert [r["fault_id"] for r in CleanupLedger(ledger).outstanding()] == ["x-1"]


def test_a_second_ctrl_c_does_not_cut_the_revert_short(victim: subprocess.Popen[bytes], tmp_path: Path) -> None:
    ledger, marker = tmp_path / "ledger.jsonl", tmp_path / "marker"
    run = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--ledger", str(ledger), "--pause-pid", str(victim.pid),
         "--slow-marker", str(marker)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert run.stdout is not None and run.stdout.readline().strip() == "ready"
        assert marker.exists() and stopped(victim.pid)
        run.send_signal(signal.SIGINT)
        assert run.stdout.readline().strip() == "reverting"  # newest first: the slow one
        run.send_signal(signal.SIGINT)  # impatient user presses Ctrl-C again
        code = run.wait(timeout=30)
    finally:
        kill_tree(run)
    assert code == -signal.SIGINT
    assert not marker.exists() and not stopped(victim.pid)
    assert CleanupLedger(ledger).outstanding() == []


def test_cleanup_cli_bad_ledger_path_is_one_line(tmp_path: Path) -> None:
    result = _cleanup_cli(tmp_path)  # a directory, not a ledger file
    assert result.returncode == 2
    assert "cannot read the cleanup ledger" in result.stderr and str(tmp_path) in result.stderr
    assert "Traceback" not in result.stderr


def test_after_sigkill_the_lease_runs_out_within_five_seconds(proxy_server: ProxyServer,
                                                              victim: subprocess.Popen[bytes],
                                                              tmp_path: Path) -> None:
    """Network faults hold a short lease the live session renews, and the pause watchdog
    watches the run: all alive past the lease while the run lives, all gone (toxic removed,
    proxy back up, victim running, watchdog exited) within 5 s of a SIGKILL, no cleanup run."""
    import time

    toxic_proxy, down_proxy = proxy_server.new_name(), proxy_server.new_name()
    proxy_server.create(toxic_proxy)
    proxy_server.create(down_proxy)
    run = _start_run(tmp_path / "ledger.jsonl", victim.pid, proxy_server, toxic_proxy, down_proxy)
    try:
        time.sleep(4.5)  # longer than the 3 s lease: renewals keep both faults on
        assert "run-latency" in proxy_server.toxics(toxic_proxy)
        assert proxy_server.proxy(down_proxy)["enabled"] is False
        assert stopped(victim.pid)
        run.kill()
        killed_at = time.monotonic()
        run.wait(timeout=10)
        assert wait_for(lambda: proxy_server.toxics(toxic_proxy) == {}
                        and proxy_server.proxy(down_proxy)["enabled"] is True
                        and not stopped(victim.pid) and not find_watchdogs("run-pause", victim.pid),
                        timeout_s=5.0 - (time.monotonic() - killed_at))
    finally:
        kill_tree(run)
        _cleanup_cli(tmp_path / "ledger.jsonl")
