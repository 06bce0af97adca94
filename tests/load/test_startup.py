"""Start-up failures, bad configuration, and the dead-man switch when the harness dies."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

import harness.load.runner as runner_mod
from harness.errors import ConfigError
from harness.load import LoadError, LoadGenerator, Sample
from harness.model.scenario import LoadProfile
from harness.model.system import WorkflowApi
from tests.load.conftest import ClaimsServer


def _ignore(_sample: Sample) -> None:
    return None


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _api(base: str = "http://127.0.0.1:9") -> WorkflowApi:
    return WorkflowApi(submit_url=f"{base}/claims", status_url=f"{base}/claims/{{id}}")


@pytest.mark.parametrize(("profile", "api", "health", "field"), [
    (LoadProfile(tasks={"health": 1}), _api(), None, "load.tasks.health"),
    (LoadProfile(tasks={"submit": 0, "status": 0}), _api(), None, "load.tasks"),
    (LoadProfile(), WorkflowApi(submit_url="127.0.0.1:9/claims", status_url="http://127.0.0.1:9/c/{id}"),
     None, "workflow.submit_url"),
    (LoadProfile(), WorkflowApi(submit_url="http://127.0.0.1:9/claims", status_url="http://127.0.0.1:9/c"),
     None, "workflow.status_url"),
    (LoadProfile(), _api("http://no-such-host.invalid"), None, "workflow.submit_url"),
    (LoadProfile(tasks={"health": 1}), _api(), "ftp://127.0.0.1/h", "health_url"),
    (LoadProfile(master="nohostport"), _api(), None, "load.master"),
    (LoadProfile(master="127.0.0.1:99999"), _api(), None, "load.master"),
    (LoadProfile(think_time_s=(0.5, 0.1)), _api(), None, "load.think_time_s"),
])
def test_bad_config_is_one_clear_config_error(profile: LoadProfile, api: WorkflowApi, health: str | None,
                                              field: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        LoadGenerator(profile, api, out_dir=tmp_path, on_sample=_ignore, health_url=health)
    assert info.value.field == field
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing was started or written


def test_zero_users_starts_nothing(tmp_path: Path) -> None:
    gen = LoadGenerator(LoadProfile(users=0), _api(), out_dir=tmp_path / "x", on_sample=_ignore)
    gen.start()
    assert not gen.running and gen.pids == []
    gen.stop()
    gen.stop()
    assert not (tmp_path / "x").exists()


def test_stop_before_start_is_harmless(tmp_path: Path) -> None:
    gen = LoadGenerator(LoadProfile(), _api(), out_dir=tmp_path, on_sample=_ignore)
    gen.stop()
    assert not gen.running


@pytest.mark.slow
def test_import_error_in_locustfile_is_reported_with_log_tail(claims_server: ClaimsServer, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken_locustfile.py"
    broken.write_text("import harness_module_that_does_not_exist\n")
    monkeypatch.setattr(runner_mod, "LOCUSTFILE", str(broken))
    gen = LoadGenerator(LoadProfile(), claims_server.workflow_api(), out_dir=tmp_path / "out",
                        on_sample=_ignore)
    with pytest.raises(LoadError) as info:
        gen.start()
    msg = str(info.value)
    assert "exited with code" in msg and "harness_module_that_does_not_exist" in msg
    assert str(tmp_path / "out" / "locust.log") in msg
    assert not gen.running and all(_gone(pid) for pid in gen.pids)


@pytest.mark.slow
def test_master_port_in_use_is_reported(claims_server: ClaimsServer, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Force the master onto a port another socket already holds (the only way to make
    # "port in use" deterministic; everything else is the real start-up path).
    squatter = socket.create_server(("127.0.0.1", 0))
    port = squatter.getsockname()[1]
    monkeypatch.setattr("harness.system.ports.free_port", lambda host="127.0.0.1": port)
    profile = LoadProfile(users=2, distributed=1, tasks={"submit": 1})
    gen = LoadGenerator(profile, claims_server.workflow_api(), out_dir=tmp_path, on_sample=_ignore,
                        start_timeout_s=30)
    try:
        with pytest.raises(LoadError) as info:
            gen.start()
    finally:
        squatter.close()
    msg = str(info.value)
    assert "master" in msg and "in use" in msg.lower(), msg
    assert all(_gone(pid) for pid in gen.pids)


_CHILD = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from harness.load import LoadGenerator
    from harness.model.scenario import LoadProfile
    from harness.model.system import WorkflowApi

    base, out = sys.argv[1], Path(sys.argv[2])
    api = WorkflowApi(submit_url=base + "/claims", status_url=base + "/claims/{id}")
    seen = []
    gen = LoadGenerator(LoadProfile(users=2, spawn_rate=10, think_time_s=(0.05, 0.1),
                                    tasks={"submit": 1}),
                        api, out_dir=out, on_sample=seen.append)
    gen.start()
    while not seen:
        time.sleep(0.05)
    print(json.dumps(gen.pids), flush=True)
    time.sleep(60)
""")


@pytest.mark.slow
def test_locust_stops_when_the_harness_is_killed(claims_server: ClaimsServer, tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, claims_server.base_url, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        line = child.stdout.readline() if child.stdout else ""
        pids = json.loads(line)
        assert pids and not any(_gone(pid) for pid in pids)
        os.kill(child.pid, signal.SIGKILL)  # no stop(), no finally: only the dead-man switch is left
        child.wait(5)
        deadline = time.monotonic() + 15
        while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(_gone(pid) for pid in pids), "Locust outlived the harness"
        assert "harness closed the sample stream" in (tmp_path / "locust.log").read_text()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in pids if "pids" in locals() else []:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.parametrize("with_env", [False, True])
def test_locustfile_refuses_to_run_without_a_harness(with_env: bool, tmp_path: Path) -> None:
    from harness.load import LOCUSTFILE
    from harness.system.ports import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_LOAD", "LOCUST_"))}
    if with_env:  # configured, but nobody listens on the sink address
        env.update(HARNESS_LOAD_CONFIG=json.dumps({"submit_url": "http://127.0.0.1:9/claims",
                                                   "status_url": "http://127.0.0.1:9/c/{id}"}),
                   HARNESS_LOAD_SINK=f"127.0.0.1:{free_port()}", HARNESS_LOAD_TOKEN="x")
    proc = subprocess.run([sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "-u", "1", "-t", "5s"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr[-2000:]
    expected = "cannot reach the harness sample sink" if with_env else "started by harness.load.LoadGenerator"
    assert expected in proc.stderr
