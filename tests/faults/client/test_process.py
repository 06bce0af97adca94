"""Process faults on real child processes: SIGKILL, SIGSTOP/SIGCONT, restart, external commands."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.faults.base import FaultError
from harness.faults.catalog import build_fault, fault_from_ledger
from harness.faults.process import (
    CrashOrchestratorFault,
    ExternalCommandFault,
    KillFault,
    ManualActionRequired,
    PauseFault,
    ProcessControl,
    RestartFault,
    find_watchdogs,
    process_state,
)
from harness.model.scenario import FaultSpec, FaultTarget
from harness.model.system import SystemSpec
from tests.faults.client._helpers import ChildSupervisor, reachable, stopped, wait_for


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[ChildSupervisor]:
    supervisor = ChildSupervisor(tmp_path)
    try:
        yield supervisor
    finally:
        supervisor.close()


def test_child_supervisor_is_process_control(sup: ChildSupervisor) -> None:
    assert isinstance(sup, ProcessControl)


def test_kill_really_kills_and_revert_restarts(sup: ChildSupervisor) -> None:
    url = sup.start("agent")
    old = sup.pid("agent")
    fault = KillFault("agent", fault_id="k1", supervisor=sup)
    entry = fault.ledger_entry()
    assert entry["pid"] == old and entry["kind"] == "process_kill" and entry["starttime"]
    fault.inject()
    assert sup.procs["agent"].wait(timeout=5) == -9  # really SIGKILL
    assert not reachable(url)
    fault.inject()  # idempotent: already dead is fine
    fault.revert()
    assert sup.restarts["agent"] == 1
    assert sup.pid("agent") != old and reachable(url)
    fault.revert()  # idempotent: running again, no second restart
    assert sup.restarts["agent"] == 1


def test_kill_takes_the_whole_process_group(sup: ChildSupervisor) -> None:
    sup.start("agent", group=True)
    child = sup.child_pid("agent")
    fault = KillFault("agent", fault_id="k2", supervisor=sup)
    fault.inject()
    sup.pid("agent")  # reap the leader
    assert wait_for(lambda: process_state(child) in (None, "Z"))
    fault.revert()


def test_pause_stops_the_group_and_revert_continues_it(sup: ChildSupervisor) -> None:
    url = sup.start("agent", group=True)
    pid, child = sup.pid("agent"), sup.child_pid("agent")
    fault = PauseFault("agent", fault_id="p1", supervisor=sup, ttl_s=0)
    fault.ledger_entry()
    fault.inject()
    try:
        assert stopped(pid) and wait_for(lambda: stopped(child))
        assert not reachable(url, timeout_s=0.3)  # a stopped server does not answer
    finally:
        fault.revert()
    assert not stopped(pid) and wait_for(lambda: not stopped(child))
    assert reachable(url, timeout_s=3)
    fault.revert()  # idempotent


def test_pause_ttl_watchdog_resumes_without_revert(sup: ChildSupervisor) -> None:
    sup.start("agent")
    pid = sup.pid("agent")
    fault = PauseFault("agent", fault_id="p-ttl", supervisor=sup, ttl_s=0.5)
    fault.inject()
    assert stopped(pid)
    assert find_watchdogs("p-ttl", pid)
    # nobody reverts: the detached watchdog sends SIGCONT when the TTL expires
    assert wait_for(lambda: not stopped(pid), timeout_s=5)
    fault.revert()
    assert not find_watchdogs("p-ttl", pid)


def test_pause_revert_from_ledger_continues_and_stops_watchdog(sup: ChildSupervisor) -> None:
    sup.start("agent")
    pid = sup.pid("agent")
    fault = PauseFault("agent", fault_id="p-ledger", supervisor=sup, ttl_s=300)
    entry = fault.ledger_entry()
    fault.inject()
    assert stopped(pid)
    # another process (cleanup) only has the entry, no supervisor
    fault_from_ledger(entry, supervisor=None).revert()
    assert wait_for(lambda: not stopped(pid))
    assert wait_for(lambda: not find_watchdogs("p-ledger", pid))
    fault._watchdog.wait(timeout=5)  # type: ignore[union-attr]  # reap our killed child


def test_pause_never_signals_a_recycled_pid(sup: ChildSupervisor) -> None:
    sup.start("agent")
    pid = sup.pid("agent")
    entry = PauseFault("agent", fault_id="p-re", supervisor=sup).ledger_entry()
    entry["starttime"] = str(int(entry["starttime"]) + 1)  # as if the pid now belonged to another process
    sup.procs["agent"].send_signal(19)  # SIGSTOP by hand
    try:
        assert wait_for(lambda: stopped(pid))
        fault_from_ledger(entry).revert()
        assert not wait_for(lambda: not stopped(pid), timeout_s=0.5)  # not ours any more: left alone
    finally:
        sup.procs["agent"].send_signal(18)


def test_restart_and_crash_orchestrator(sup: ChildSupervisor) -> None:
    url = sup.start("orch")
    old = sup.pid("orch")
    restart = RestartFault("orch", fault_id="r1", supervisor=sup)
    restart.inject()
    assert sup.pid("orch") != old and reachable(url)
    restart.revert()  # running: nothing to do
    assert sup.restarts["orch"] == 1
    mid = sup.pid("orch")
    crash = CrashOrchestratorFault("orch", fault_id="c1", supervisor=sup, restart_after_s=0.1)
    crash.ledger_entry()
    crash.inject()
    assert sup.pid("orch") not in (old, mid) and reachable(url)
    assert sup.restarts["orch"] == 2
    crash.revert()
    assert sup.restarts["orch"] == 2


def test_kill_from_ledger_without_supervisor_needs_a_person(sup: ChildSupervisor) -> None:
    sup.start("agent")
    fault = KillFault("agent", fault_id="k3", supervisor=sup)
    entry = fault.ledger_entry()
    fault.inject()
    with pytest.raises(ManualActionRequired, match="harness sandbox up"):
        fault_from_ledger(entry).revert()
    fault_from_ledger(entry, supervisor=sup).revert()  # with a supervisor it restarts
    assert sup.restarts["agent"] == 1


def _external_system(commands: dict[str, list[str]] | None) -> SystemSpec:
    svc = {"name": "ext", "kind": "agent", "protocol": "rest", "base_url": "http://127.0.0.1:9",
           "external": True}
    if commands is not None:
        svc["commands"] = commands
    return SystemSpec.model_validate({"name": "s", "services": [svc]})


def test_external_pause_runs_only_declared_commands(sup: ChildSupervisor) -> None:
    sup.start("agent")
    pid = sup.pid("agent")
    system = _external_system({"pause": ["kill", "-STOP", str(pid)], "resume": ["kill", "-CONT", str(pid)]})
    spec = FaultSpec(type="pause", target=FaultTarget(service="ext"))
    fault = build_fault(spec, system, fault_id="e1", ttl_s=30)
    assert isinstance(fault, ExternalCommandFault)
    entry = fault.ledger_entry()
    fault.inject()
    assert wait_for(lambda: stopped(pid))
    fault_from_ledger(entry).revert()  # cleanup path: the entry holds the resume command
    assert wait_for(lambda: not stopped(pid))


def test_external_without_commands_is_refused() -> None:
    spec = FaultSpec(type="kill", target=FaultTarget(service="ext"))
    with pytest.raises(ConfigError, match=r"declares no commands\.kill and commands\.restart"):
        build_fault(spec, _external_system(None), fault_id="e2", ttl_s=30)
    with pytest.raises(ConfigError, match=r"commands\.resume"):
        build_fault(FaultSpec(type="pause", target=FaultTarget(service="ext")),
                    _external_system({"pause": ["true"]}), fault_id="e3", ttl_s=30)


def test_external_command_failure_is_a_fault_error() -> None:
    fault = ExternalCommandFault("ext", "kill", fault_id="e4",
                                 inject_cmd=[sys.executable, "-c", "import sys; sys.exit('boom')"],
                                 revert_cmd=None)
    with pytest.raises(FaultError, match="exited 1: boom"):
        fault.inject()
    with pytest.raises(FaultError, match="not found"):
        ExternalCommandFault("ext", "kill", fault_id="e5", inject_cmd=["/nonexistent/cmd"],
                             revert_cmd=None).inject()


def test_secrets_in_commands_never_reach_the_ledger() -> None:
    argv = ["svcctl", "--token=abc", "--password", "hunter2", "API_KEY=xyz", "resume", "agent"]
    fault = ExternalCommandFault("ext", "pause", fault_id="e6", inject_cmd=["true"], revert_cmd=argv)
    entry = fault.ledger_entry()
    assert "abc" not in str(entry) and "hunter2" not in str(entry) and "xyz" not in str(entry)
    with pytest.raises(ManualActionRequired, match="secret"):
        fault_from_ledger(entry).revert()


# --------------------------------------------------------------------------- the project's supervisor

@pytest.fixture
def real_sup(tmp_path: Path) -> Iterator[tuple[Any, str]]:
    from harness.system.ports import free_port
    from harness.system.supervisor import ProcessSpec, Supervisor

    port = free_port()
    supervisor = Supervisor(tmp_path / "state")
    url = f"http://127.0.0.1:{port}/"
    supervisor.start(ProcessSpec(name="agent", argv=[sys.executable, "-m", "http.server", str(port),
                                                     "--bind", "127.0.0.1"],
                                 health_url=url, cwd=str(tmp_path), ready_timeout_s=20))
    try:
        yield supervisor, url
    finally:
        supervisor.stop_all(grace_s=1)


def _supervised_system() -> SystemSpec:
    return SystemSpec.model_validate({"name": "s", "services": [
        {"name": "agent", "kind": "agent", "protocol": "rest", "base_url": "http://127.0.0.1:1",
         "start": {"command": ["unused"]}}]})


def test_with_the_sandbox_supervisor_cleanup_restarts_a_killed_service(real_sup: tuple[Any, str]) -> None:
    supervisor, url = real_sup
    old = supervisor.pid("agent")
    spec = FaultSpec(type="kill", target=FaultTarget(service="agent"))
    fault = build_fault(spec, _supervised_system(), fault_id="rk", ttl_s=30, supervisor=supervisor)
    entry = fault.ledger_entry()
    assert entry["supervisor_state_dir"] == str(supervisor.state_dir)
    fault.inject()
    assert not supervisor.is_running("agent") and not reachable(url)
    # cleanup in "another process": only the entry; it reattaches through the state file
    fault_from_ledger(entry).revert()
    from harness.system.supervisor import Supervisor

    assert Supervisor.load(supervisor.state_dir).pid("agent") != old and reachable(url)
    supervisor.records = Supervisor.load(supervisor.state_dir).records  # let the fixture stop it


def test_with_the_sandbox_supervisor_pause_and_stopped_system(real_sup: tuple[Any, str]) -> None:
    supervisor, url = real_sup
    spec = FaultSpec(type="pause", target=FaultTarget(service="agent"))
    fault = build_fault(spec, _supervised_system(), fault_id="rp", ttl_s=30, supervisor=supervisor)
    fault.inject()
    assert stopped(supervisor.pid("agent")) and not reachable(url, timeout_s=0.3)
    fault.revert()
    assert reachable(url, timeout_s=3)
    kill = build_fault(FaultSpec(type="kill", target=FaultTarget(service="agent")), _supervised_system(),
                       fault_id="rk2", ttl_s=30, supervisor=supervisor)
    entry = kill.ledger_entry()
    kill.inject()
    supervisor.stop_all(grace_s=1)  # `harness sandbox down` happened since: nothing to bring back
    fault_from_ledger(entry).revert()
    assert not reachable(url)


def test_faults_on_a_stopped_service_fail_cleanly(real_sup: tuple[Any, str], tmp_path: Path) -> None:
    from harness.faults.ledger import CleanupLedger
    from harness.faults.session import FaultSession

    supervisor, _url = real_sup
    supervisor.stop("agent", grace_s=1)
    for kind in ("kill", "pause", "restart"):
        fault = build_fault(FaultSpec(type=kind, target=FaultTarget(service="agent")), _supervised_system(),
                            fault_id=f"stopped-{kind}", ttl_s=30, supervisor=supervisor)
        with FaultSession(tmp_path / "l.jsonl", handle_signals=False) as session, \
                pytest.raises(FaultError, match="'agent' is not running"):
            session.inject(fault)
        assert not supervisor.is_running("agent")  # a failed kill does not start the service
    assert CleanupLedger(tmp_path / "l.jsonl").outstanding() == []


def test_same_fault_id_on_two_processes_keeps_watchdogs_apart(sup: ChildSupervisor) -> None:
    # concurrent runs of one scenario (or xdist workers) reuse fault ids
    sup.start("a")
    sup.start("b")
    fa = PauseFault("a", fault_id="same", supervisor=sup, ttl_s=300)
    fb = PauseFault("b", fault_id="same", supervisor=sup, ttl_s=300)
    fa.inject()
    fb.inject()
    try:
        fault_from_ledger(fa.ledger_entry()).revert()  # cleanup of a's entry
        assert not stopped(sup.pid("a")) and stopped(sup.pid("b"))
        assert not wait_for(lambda: not find_watchdogs("same", sup.pid("b")), timeout_s=0.3)
    finally:
        fa.revert()
        fb.revert()
    assert not find_watchdogs("same")
